//! Storage behind a small synchronous trait, implemented by SQLite (`sqlite.rs`) and PostgreSQL
//! (`postgres.rs`) without the HTTP layer knowing which. Handlers call the store on tokio's
//! blocking pool, never across an `.await`.

use kiosk_domain::ReviewState;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(String),
    #[error("the database was written by a newer build (schema {found}, this build knows {known})")]
    TooNew { found: i64, known: i64 },
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Who holds a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A kiosk: submits and reads its own submissions; calls the account routes for applicants.
    Device,
    /// A finance-bureau reviewer: lists, reads and decides submissions.
    Reviewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Device => "device",
            Role::Reviewer => "reviewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "device" => Some(Role::Device),
            "reviewer" => Some(Role::Reviewer),
            _ => None,
        }
    }
}

/// An enrolled kiosk or reviewer. Only the SHA-256 of the secret is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub secret_sha256: String,
    pub revoked: bool,
    /// A reviewer's finance bureau (division code); `None`: the province (every bureau). Always
    /// `None` for a kiosk.
    pub bureau: Option<u32>,
}

/// One row of the audit log: who did what to which object, and how it ended. Never a full ID
/// number, a name or a phone number; a masked ID number at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    /// `device:<id>`, `reviewer:<id>`, `session:<id>`, `cli:<os user>`.
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
}

impl AuditEntry {
    pub fn new(actor: &str, action: &str, target: &str, outcome: &str, at: i64) -> AuditEntry {
        AuditEntry {
            at,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            outcome: outcome.to_owned(),
        }
    }
}

/// An applicant session as stored: found by the SHA-256 of its token, named in grants by its
/// public id.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSession {
    pub token_sha256: String,
    pub session_id: String,
    pub account_id: i64,
    /// The kiosk the applicant logged in on; the session works only with its device token.
    pub device_id: String,
    /// `kiosk_wire::grant::signing_key_hex` of the token.
    pub signing_key: String,
    pub expires_at: i64,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("session_id", &self.session_id)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub session_id: String,
    pub account_id: i64,
    pub device_id: String,
    pub signing_key: String,
    pub expires_at: i64,
    /// Set at log-out, at the kiosk's idle wipe and at a password reset.
    pub revoked_at: Option<i64>,
}

impl std::fmt::Debug for SessionRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRow")
            .field("session_id", &self.session_id)
            .field("device_id", &self.device_id)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// One counter of a throttle: at most `limit` attempts under `key` within the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleBucket {
    pub key: String,
    pub limit: i64,
}

/// The outcome of presenting an SMS code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsCheck {
    /// The code was right and is now used up.
    Accepted,
    /// Wrong, expired, used, burnt by too many wrong tries, or never sent.
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// serde name of `kiosk_domain::catalog::IdType`.
    pub id_type: String,
    /// Normalised ID number.
    pub id_number: String,
    pub name: String,
    /// `None` for accountants already on file who have not bound a phone yet.
    pub mobile: Option<String>,
    /// Argon2id PHC string.
    pub password_hash: String,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub mobile: Option<String>,
    pub password_hash: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use kiosk_domain::privacy::{mask_id_number, mask_mobile, mask_name};
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("id_number", &mask_id_number(&self.id_number))
            .field("name", &mask_name(&self.name))
            .field("mobile", &self.mobile.as_deref().map(mask_mobile))
            .finish_non_exhaustive()
    }
}

/// A stored SMS code (only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsCode {
    pub mobile: String,
    pub purpose: String,
    pub code_sha256: String,
    pub sent_at: i64,
    pub expires_at: i64,
    pub attempts: i64,
    pub used: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMaterial {
    pub kind: String,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

/// A validated submission, ready to be stored.
#[derive(Debug, Clone)]
pub struct NewSubmission {
    pub id: String,
    pub device_id: String,
    pub idempotency_key: String,
    pub content_sha256: String,
    /// The applicant's normalised ID number: the collection a submission belongs to.
    pub applicant: String,
    pub application_json: String,
    pub materials: Vec<NewMaterial>,
    /// The answer given to the first request, replayed verbatim for repeats.
    pub response_json: String,
    pub received_at: i64,
    /// The finance bureau the record names (`finance_bureau`); reviewers see their bureau's.
    pub bureau: Option<u32>,
    /// The applicant session whose grant authorised it.
    pub session_id: String,
    /// The applicant's version of their collection as the kiosk names it (one more than the
    /// version of the latest submission the kiosk showed them at log-in); `None` from a kiosk
    /// that does not say: the store then counts it one above the applicant's latest.
    pub version: Option<i64>,
    /// The code of the applicant's receipt (`kiosk_wire::receipt::code`), unique.
    pub receipt_code: String,
    pub audit: AuditEntry,
}

/// What happened to a submission request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    Created {
        response_json: String,
    },
    /// This key already came with this content for this applicant (from this kiosk, or from
    /// the same kiosk under an earlier credential): the first answer.
    Replayed {
        response_json: String,
    },
    /// This key already came with other content (or for another applicant).
    KeyReused,
    /// The applicant already has a submission of this version or a later one with other
    /// content: this one was made before it and must not replace it. Audited.
    StaleVersion,
    /// The applicant's collection is approved (final) or under review (not editable now).
    ApplicantLocked(ReviewState),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionRow {
    pub id: String,
    pub device_id: String,
    pub idempotency_key: String,
    pub content_sha256: String,
    pub applicant: String,
    pub application_json: String,
    pub response_json: String,
    pub review: ReviewState,
    pub received_at: i64,
    pub decided_at: Option<i64>,
    pub reviewer: Option<String>,
    pub bureau: Option<u32>,
    /// The applicant's version of the collection (see [`NewSubmission::version`]); an
    /// applicant's submissions are ordered by it, then by arrival.
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaterialInfo {
    pub kind: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecideError {
    NotFound,
    /// Only a submission under review can be decided.
    NotUnderReview(ReviewState),
}

/// Which bureau's submissions a reviewer may see: `None` is the province (all of them).
pub type BureauScope = Option<u32>;

/// What a reviewer account may do in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewerRole {
    /// Reviews the submissions of one finance bureau (division code).
    Bureau(u32),
    /// Reviews every bureau's submissions.
    Province,
    /// Manages reviewer accounts; reviews nothing (one person never both grants and uses access).
    Admin,
}

impl ReviewerRole {
    /// The role as stored: a tag and, for a bureau reviewer, the division code.
    pub fn stored(self) -> (&'static str, Option<u32>) {
        match self {
            ReviewerRole::Bureau(code) => ("bureau", Some(code)),
            ReviewerRole::Province => ("province", None),
            ReviewerRole::Admin => ("admin", None),
        }
    }

    pub fn from_stored(tag: &str, bureau: Option<u32>) -> StoreResult<ReviewerRole> {
        match (tag, bureau) {
            ("bureau", Some(code)) => Ok(ReviewerRole::Bureau(code)),
            ("province", None) => Ok(ReviewerRole::Province),
            ("admin", None) => Ok(ReviewerRole::Admin),
            _ => Err(StoreError::Corrupt(format!("reviewer role {tag}"))),
        }
    }

    /// The submissions this role reviews: `None` when it reviews none.
    pub fn scope(self) -> Option<BureauScope> {
        match self {
            ReviewerRole::Bureau(code) => Some(Some(code)),
            ReviewerRole::Province => Some(None),
            ReviewerRole::Admin => None,
        }
    }
}

/// A person who logs in to the reviewer console with a name and a password.
#[derive(Clone, PartialEq, Eq)]
pub struct ReviewerAccount {
    pub id: i64,
    /// What they log in with, shown in the console and named in the audit log.
    pub name: String,
    pub role: ReviewerRole,
    /// argon2id PHC string.
    pub password_hash: String,
    pub disabled: bool,
    /// When (milliseconds since the epoch) the password last changed or the account was
    /// disabled or enabled, 0 if never: console sessions begun before it end.
    pub changed_at: i64,
}

impl std::fmt::Debug for ReviewerAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewerAccount")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A change to a reviewer account by name.
#[derive(Clone, PartialEq, Eq)]
pub enum ReviewerChange {
    Disable,
    Enable,
    Password { hash: String },
}

/// One page of the review queue: newest first, within a scope, filtered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueQuery {
    pub scope: BureauScope,
    /// A queue state (`pending`, `under_review`, `rejected`, `approved`; see [`QUEUE_STATE`]);
    /// `None` is every state.
    pub state: Option<String>,
    /// Received at or after (seconds since the epoch).
    pub from: Option<i64>,
    /// Received before.
    pub until: Option<i64>,
    /// Part of the applicant's name or ID number, or a whole submission id.
    pub text: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

/// What a queue row shows; the record itself stays on the submission page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRow {
    pub id: String,
    pub applicant: String,
    pub name: String,
    pub state: String,
    pub received_at: i64,
    pub decided_at: Option<i64>,
    pub bureau: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueuePage {
    pub rows: Vec<QueueRow>,
    /// Rows matching the whole query, all pages.
    pub total: i64,
    /// Rows per queue state ([`QUEUE_STATE`]) matching the query without its state filter.
    pub counts: Vec<(String, i64)>,
}

/// A bureau's (or the province's) figures since a moment, for the statistics page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Submissions received per day (China time): (days since the epoch, count), oldest first.
    pub per_day: Vec<(i64, i64)>,
    /// Rows per state tag.
    pub counts: Vec<(String, i64)>,
    /// Median seconds from arrival to decision, of those decided.
    pub median_decision_secs: Option<i64>,
    /// Rejection reasons as stored (several standard reasons joined by "；"), with counts.
    pub reasons: Vec<(String, i64)>,
}

/// Seconds China time is ahead of UTC: days on the statistics page begin at midnight there.
pub const CHINA_OFFSET_SECS: i64 = 8 * 3600;

/// `text` made safe inside a `LIKE '%…%' ESCAPE '\'` pattern: the user's `%` and `_` are
/// literal.
pub fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// How every submission id begins (`api/submissions.rs` makes them).
pub const SUBMISSION_ID_PREFIX: &str = "sub_";

/// A submission's state as the queue shows it: the stored tag, with `pending` for one under
/// review that no reviewer has opened yet.
pub const QUEUE_STATE: &str =
    "(CASE WHEN state = 'under_review' AND opened_at IS NULL THEN 'pending' ELSE state END)";

/// A value bound into a queue query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    Int(i64),
    Text(String),
}

/// The conditions of a queue query (without its state filter unless `with_state`), as SQL with
/// a `?` for each value in order; each store numbers the marks its own way ([`numbered`]). Only
/// the filters that are set become conditions, so that the planner sees the indexed columns.
pub fn queue_conditions(query: &QueueQuery, with_state: bool) -> (String, Vec<SqlValue>) {
    let mut conditions = vec!["1 = 1".to_owned()];
    let mut values = Vec::new();
    if let Some(bureau) = query.scope {
        conditions.push("bureau = ?".into());
        values.push(SqlValue::Int(bureau.into()));
    }
    if let Some(state) = query.state.as_ref().filter(|_| with_state) {
        // Under review splits in two for the console: no reviewer has opened it yet (待审核),
        // or one has (审核中).
        // Written so that the indexes on (state, opened_at) serve them.
        match state.as_str() {
            "pending" => {
                conditions.push("state = 'under_review' AND opened_at IS NULL".into());
            }
            "under_review" => {
                conditions.push("state = 'under_review' AND opened_at IS NOT NULL".into());
            }
            _ => {
                conditions.push("state = ?".into());
                values.push(SqlValue::Text(state.clone()));
            }
        }
    }
    if let Some(from) = query.from {
        conditions.push("received_at >= ?".into());
        values.push(SqlValue::Int(from));
    }
    if let Some(until) = query.until {
        conditions.push("received_at < ?".into());
        values.push(SqlValue::Int(until));
    }
    let text = query
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(id) = text.filter(|t| t.starts_with(SUBMISSION_ID_PREFIX)) {
        // A submission number is looked up by its key, not searched for in every row.
        conditions.push("id = ?".into());
        values.push(SqlValue::Text(id.to_owned()));
    } else if let Some(text) = text {
        conditions
            .push("(applicant LIKE ? ESCAPE '\\' OR applicant_name LIKE ? ESCAPE '\\')".into());
        // ID numbers are stored upper-case (the X check digit).
        values.push(SqlValue::Text(like_pattern(&text.to_uppercase())));
        values.push(SqlValue::Text(like_pattern(text)));
    }
    (conditions.join(" AND "), values)
}

/// The conditions of the statistics' rows: the scope, received since `since`.
pub fn stats_conditions(scope: BureauScope, since: i64) -> (String, Vec<SqlValue>) {
    queue_conditions(
        &QueueQuery {
            scope,
            from: Some(since),
            ..QueueQuery::default()
        },
        false,
    )
}

/// `sql` with its `?` marks replaced by `mark(1)`, `mark(2)`, ...
pub fn numbered(sql: &str, mark: impl Fn(usize) -> String) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&mark(n));
        } else {
            out.push(c);
        }
    }
    out
}

/// The page's total from its counts: the state's count, or all of them.
pub fn queue_total(counts: &[(String, i64)], state: Option<&str>) -> i64 {
    counts
        .iter()
        .filter(|(tag, _)| state.is_none_or(|s| s == tag))
        .map(|(_, n)| n)
        .sum()
}

/// The storage the server needs. Every method is one transaction; a method that takes an
/// [`AuditEntry`] writes it in that same transaction.
pub trait Store: Send + Sync {
    fn insert_credential(&self, credential: &Credential, audit: &AuditEntry) -> StoreResult<()>;
    fn credential(&self, id: &str) -> StoreResult<Option<Credential>>;
    /// Revokes a credential; `false` (and no audit row) when there is none with this id.
    fn revoke_credential(&self, id: &str, audit: &AuditEntry) -> StoreResult<bool>;

    /// Inserts an account; `Ok(None)` (and no audit row) when the ID number is already taken.
    fn insert_account(&self, account: &NewAccount, audit: &AuditEntry) -> StoreResult<Option<i64>>;
    fn account(&self, id: i64) -> StoreResult<Option<Account>>;
    fn account_by_id_number(&self, id_number: &str) -> StoreResult<Option<Account>>;
    /// Sets the password and revokes every session of the account.
    fn set_password(
        &self,
        account: i64,
        password_hash: &str,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    fn set_mobile(&self, account: i64, mobile: &str, audit: &AuditEntry) -> StoreResult<()>;

    /// Counts one attempt in every bucket, atomically, unless one of them already holds its
    /// limit of attempts since `since`: then `Err(seconds until the oldest of those leaves the
    /// window)` and nothing is counted. `Ok(attempt)` names the counted attempt for
    /// [`Store::throttle_finish`].
    fn throttle_attempt(
        &self,
        buckets: &[ThrottleBucket],
        since: i64,
        window: i64,
        now: i64,
    ) -> StoreResult<Result<String, i64>>;
    /// Ends an attempt: `forgive` takes it out of the counts (a successful log-in), otherwise it
    /// stays counted; the audit row is written in the same transaction.
    fn throttle_finish(
        &self,
        attempt: &str,
        forgive: bool,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;

    /// Stores a new code unless a code went to the same phone less than `min_interval` seconds
    /// ago; then `Err(seconds to wait)`.
    fn put_sms_code(&self, code: &SmsCode, min_interval: i64) -> StoreResult<Result<(), i64>>;
    fn sms_code(&self, mobile: &str, purpose: &str) -> StoreResult<Option<SmsCode>>;
    /// Presents a code, atomically: a right one that is unused, unexpired and not burnt is used
    /// up; a wrong one counts a try, and `max_attempts` wrong tries burn the code.
    fn sms_code_consume(
        &self,
        mobile: &str,
        purpose: &str,
        code_sha256: &str,
        now: i64,
        max_attempts: i64,
    ) -> StoreResult<SmsCheck>;

    fn insert_session(&self, session: &NewSession, audit: &AuditEntry) -> StoreResult<()>;
    /// The session whose token hashes to `token_sha256`.
    fn session(&self, token_sha256: &str) -> StoreResult<Option<SessionRow>>;
    fn session_by_id(&self, session_id: &str) -> StoreResult<Option<SessionRow>>;
    /// Revokes a session. `pending_keys` are the idempotency keys the kiosk holds grants of
    /// this session for and has not delivered yet: only those stay acceptable after revocation.
    /// `false` when there is no such live session (already revoked, or unknown).
    fn revoke_session(
        &self,
        token_sha256: &str,
        pending_keys: &[String],
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
    /// Whether `key` was declared pending when the session was revoked.
    fn session_kept_key(&self, session_id: &str, key: &str) -> StoreResult<bool>;

    /// The submission stored under a key: the one `device_id` sent if there is one, else the
    /// first one any kiosk sent (see [`replay_outcome`]).
    fn submission_by_key(&self, device_id: &str, key: &str) -> StoreResult<Option<SubmissionRow>>;
    /// Dedups by key (see [`replay_outcome`]), refuses a stale version, checks the applicant's
    /// lock, and stores record, materials and the audit row, all in one transaction. A stale
    /// version's refusal writes its own audit row ([`stale_audit`]) in that transaction.
    fn submit(&self, submission: &NewSubmission) -> StoreResult<SubmitOutcome>;
    /// Whether the applicant's collection is approved or under review (and so not submittable).
    fn applicant_lock(&self, applicant: &str) -> StoreResult<Option<ReviewState>>;
    fn submission(&self, id: &str) -> StoreResult<Option<SubmissionRow>>;
    /// Submissions in arrival order within a reviewer's scope, optionally only those in one
    /// state (`under_review`, ...).
    fn submissions(
        &self,
        state: Option<&str>,
        scope: BureauScope,
    ) -> StoreResult<Vec<SubmissionRow>>;
    /// The applicant's latest submission by version, then arrival (their collection as the
    /// province has it).
    fn latest_submission_of(&self, applicant: &str) -> StoreResult<Option<SubmissionRow>>;
    fn materials(&self, submission: &str) -> StoreResult<Vec<MaterialInfo>>;
    /// Decides a submission under review within the reviewer's scope (outside it: `NotFound`),
    /// and writes the audit row (actor `reviewer`, the outcome) in the same transaction.
    fn decide(
        &self,
        id: &str,
        decision: &Decision,
        reviewer: &str,
        scope: BureauScope,
        now: i64,
    ) -> StoreResult<Result<ReviewState, DecideError>>;

    /// Inserts a console account; `Ok(None)` (and no audit row) when the name is taken.
    fn insert_reviewer(
        &self,
        name: &str,
        role: ReviewerRole,
        password_hash: &str,
        audit: &AuditEntry,
    ) -> StoreResult<Option<i64>>;
    fn reviewer_by_name(&self, name: &str) -> StoreResult<Option<ReviewerAccount>>;
    fn reviewer_account(&self, id: i64) -> StoreResult<Option<ReviewerAccount>>;
    /// Changes an account and sets its `changed_at`; `false` (and no audit row) when there is
    /// no account of that name.
    fn change_reviewer(
        &self,
        name: &str,
        change: &ReviewerChange,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
    /// Every console account, by name.
    fn reviewer_accounts(&self) -> StoreResult<Vec<ReviewerAccount>>;
    /// One page of the review queue with its counts.
    fn queue(&self, query: &QueueQuery) -> StoreResult<QueuePage>;
    /// Every submission of an applicant, newest first.
    fn submissions_of(&self, applicant: &str) -> StoreResult<Vec<SubmissionRow>>;
    /// The audit rows about one object, oldest first, at most `limit`.
    fn audit_of(&self, target: &str, limit: i64) -> StoreResult<Vec<AuditEntry>>;
    /// Figures of the submissions in `scope` received at or after `since`.
    fn stats(&self, scope: BureauScope, since: i64) -> StoreResult<Stats>;
    /// Writes a reviewer's `view` audit row and, the first time, when the submission was opened
    /// (from then on it is 审核中 rather than 待审核 in the queue), in one transaction.
    fn record_view(&self, id: &str, audit: &AuditEntry) -> StoreResult<()>;
    /// The submission a receipt code names.
    fn submission_by_receipt(&self, code: &str) -> StoreResult<Option<SubmissionRow>>;
    /// A stored material's bytes.
    fn material_bytes(&self, submission: &str, sha256: &str) -> StoreResult<Option<Vec<u8>>>;

    /// Appends a row to the audit log on its own (for events that change nothing else).
    fn audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// The newest `limit` rows of the audit log, newest first.
    fn audit_log(&self, limit: i64) -> StoreResult<Vec<AuditEntry>>;
}

/// What an earlier submission under the same key makes of a request with `content_sha256`
/// from `device_id` for `applicant`. A replay is recognised by key, content and applicant, not
/// by device: a kiosk enrolled again under a new credential keeps its queue, and its retry of
/// a delivered submission must get the first answer, not become a second submission. The
/// answer repeats only what the first one carried (ids, hash and status, nothing personal).
pub fn replay_outcome(
    earlier: &SubmissionRow,
    device_id: &str,
    content_sha256: &str,
    applicant: Option<&str>,
) -> SubmitOutcome {
    let same_applicant =
        earlier.device_id == device_id || applicant == Some(earlier.applicant.as_str());
    if earlier.content_sha256 == content_sha256 && same_applicant {
        SubmitOutcome::Replayed {
            response_json: earlier.response_json.clone(),
        }
    } else {
        SubmitOutcome::KeyReused
    }
}

/// Whether a submission of `version` with `content_sha256` is older than the applicant's
/// `latest`: at most its version, with other content. Equal versions were both made from the
/// same earlier one, and the first to arrive won.
pub fn is_stale(
    version: Option<i64>,
    content_sha256: &str,
    latest: Option<&SubmissionRow>,
) -> bool {
    match (version, latest) {
        (Some(version), Some(latest)) => {
            version <= latest.version && latest.content_sha256 != content_sha256
        }
        _ => false,
    }
}

/// The version a submission is stored with: the kiosk's, but at most one above the applicant's
/// latest (no kiosk can have seen more), so that a kiosk claiming a huge version cannot make
/// every later one look stale; without one, one above the latest.
pub fn stored_version(version: Option<i64>, latest: Option<&SubmissionRow>) -> i64 {
    let next = latest.map_or(1, |row| row.version.saturating_add(1));
    version.map_or(next, |version| version.min(next))
}

/// The audit row of a stale version's refusal: its target is the newer submission.
pub fn stale_audit(s: &NewSubmission, latest: &SubmissionRow) -> AuditEntry {
    AuditEntry::new(
        &s.audit.actor,
        &s.audit.action,
        &latest.id,
        &format!(
            "refused: stale_version {} <= {}; key {}; {}",
            s.version.unwrap_or_default(),
            latest.version,
            s.idempotency_key,
            s.audit.outcome
        ),
        s.audit.at,
    )
}

/// Whether a submission for `bureau` is within a reviewer's scope.
pub fn in_scope(scope: BureauScope, bureau: Option<u32>) -> bool {
    scope.is_none() || scope == bureau
}

/// The `state` tag of a review state as stored and filtered on.
pub fn state_tag(state: &ReviewState) -> &'static str {
    match state {
        ReviewState::Draft => "draft",
        ReviewState::Submitted => "submitted",
        ReviewState::UnderReview => "under_review",
        ReviewState::Rejected { .. } => "rejected",
        ReviewState::Approved => "approved",
    }
}

/// The Chinese label of a review state as the applicant sees it.
pub fn state_label(state: &ReviewState) -> &'static str {
    match state {
        ReviewState::Draft => "草稿",
        ReviewState::Submitted => "已提交",
        ReviewState::UnderReview => "审核中",
        ReviewState::Rejected { .. } => "审核失败",
        ReviewState::Approved => "审核成功",
    }
}

/// The state a decision leads to, if the submission may be decided.
pub fn decide_next(current: &ReviewState, decision: &Decision) -> Result<ReviewState, DecideError> {
    if *current != ReviewState::UnderReview {
        return Err(DecideError::NotUnderReview(current.clone()));
    }
    Ok(match decision {
        Decision::Approve => ReviewState::Approved,
        Decision::Reject { reason } => ReviewState::Rejected {
            reason: reason.clone(),
        },
    })
}

/// The audit row of a decision, whatever its result.
pub fn decision_audit(
    id: &str,
    decision: &Decision,
    reviewer: &str,
    result: &Result<ReviewState, DecideError>,
    now: i64,
) -> AuditEntry {
    let action = match decision {
        Decision::Approve => "approve",
        Decision::Reject { .. } => "reject",
    };
    let outcome = match result {
        Ok(state) => state_tag(state).to_owned(),
        Err(DecideError::NotFound) => "not_found".to_owned(),
        Err(DecideError::NotUnderReview(state)) => format!("refused: {}", state_tag(state)),
    };
    AuditEntry::new(reviewer, action, id, &outcome, now)
}
