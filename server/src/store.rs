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
}

/// What happened to a submission request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    Created {
        response_json: String,
    },
    /// The same device already sent this key with this content: the first answer.
    Replayed {
        response_json: String,
    },
    /// The same device already sent this key with other content.
    KeyReused,
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

/// The storage the server needs. Every method is one transaction.
pub trait Store: Send + Sync {
    fn insert_credential(&self, credential: &Credential, now: i64) -> StoreResult<()>;
    fn credential(&self, id: &str) -> StoreResult<Option<Credential>>;
    /// Revokes a credential; `false` when there is none with this id.
    fn revoke_credential(&self, id: &str) -> StoreResult<bool>;

    /// Inserts an account; `Ok(None)` when the ID number is already taken.
    fn insert_account(&self, account: &NewAccount, now: i64) -> StoreResult<Option<i64>>;
    fn account(&self, id: i64) -> StoreResult<Option<Account>>;
    fn account_by_id_number(&self, id_number: &str) -> StoreResult<Option<Account>>;
    fn set_password(&self, account: i64, password_hash: &str) -> StoreResult<()>;
    fn set_mobile(&self, account: i64, mobile: &str) -> StoreResult<()>;

    /// Failed logins for a throttling key since `since`, oldest first.
    fn login_failures_since(&self, key: &str, since: i64) -> StoreResult<Vec<i64>>;
    fn add_login_failure(&self, key: &str, at: i64) -> StoreResult<()>;
    fn clear_login_failures(&self, key: &str) -> StoreResult<()>;

    /// Stores a new code unless a code went to the same phone less than `min_interval` seconds
    /// ago; then `Err(seconds to wait)`.
    fn put_sms_code(&self, code: &SmsCode, min_interval: i64) -> StoreResult<Result<(), i64>>;
    fn sms_code(&self, mobile: &str, purpose: &str) -> StoreResult<Option<SmsCode>>;
    fn sms_code_failed(&self, mobile: &str, purpose: &str) -> StoreResult<()>;
    fn sms_code_used(&self, mobile: &str, purpose: &str) -> StoreResult<()>;

    fn insert_session(&self, token_sha256: &str, account: i64, expires_at: i64) -> StoreResult<()>;
    /// The account and expiry of a session.
    fn session(&self, token_sha256: &str) -> StoreResult<Option<(i64, i64)>>;
    fn delete_sessions(&self, account: i64) -> StoreResult<()>;

    /// The submission a device sent under a key, if any.
    fn submission_by_key(&self, device_id: &str, key: &str) -> StoreResult<Option<SubmissionRow>>;
    /// Dedups by (device, key), checks the applicant's lock, and stores record and materials,
    /// all in one transaction.
    fn submit(&self, submission: &NewSubmission) -> StoreResult<SubmitOutcome>;
    /// Whether the applicant's collection is approved or under review (and so not submittable).
    fn applicant_lock(&self, applicant: &str) -> StoreResult<Option<ReviewState>>;
    fn submission(&self, id: &str) -> StoreResult<Option<SubmissionRow>>;
    /// Submissions in arrival order, optionally only those in one state (`under_review`, ...).
    fn submissions(&self, state: Option<&str>) -> StoreResult<Vec<SubmissionRow>>;
    /// The applicant's most recent submission (their collection as the province has it).
    fn latest_submission_of(&self, applicant: &str) -> StoreResult<Option<SubmissionRow>>;
    fn materials(&self, submission: &str) -> StoreResult<Vec<MaterialInfo>>;
    fn decide(
        &self,
        id: &str,
        decision: &Decision,
        reviewer: &str,
        now: i64,
    ) -> StoreResult<Result<ReviewState, DecideError>>;

    /// Appends to the audit log (who, what, on what, result). Never a full ID number.
    fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        outcome: &str,
        now: i64,
    ) -> StoreResult<()>;
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
