//! The SQLite store: one file, WAL, `synchronous=FULL`, one connection behind a mutex.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use kiosk_domain::ReviewState;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::store::{
    Account, AuditEntry, BureauScope, CHINA_OFFSET_SECS, Credential, DecideError, Decision,
    MaterialInfo, NewAccount, NewSession, NewSubmission, QUEUE_STATE, QueuePage, QueueQuery,
    QueueRow, ReviewerAccount, ReviewerChange, ReviewerRole, Role, SessionRow, SmsCheck, SmsCode,
    SqlValue, Stats, Store, StoreError, StoreResult, SubmissionRow, SubmitOutcome, ThrottleBucket,
    in_scope, numbered, queue_conditions, queue_total, state_tag, stats_conditions,
};
use crate::store::{
    decide_next, decision_audit, is_stale, replay_outcome, stale_audit, stored_version,
};
use crate::util::now_millis;

/// Append-only migrations; the index + 1 is the `user_version` after applying one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    id_type TEXT NOT NULL,
    id_number TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    mobile TEXT,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE login_failures (key TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX login_failures_key ON login_failures (key, at);
CREATE TABLE sms_codes (
    mobile TEXT NOT NULL,
    purpose TEXT NOT NULL,
    code_sha256 TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (mobile, purpose)
);
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    expires_at INTEGER NOT NULL
);
CREATE TABLE submissions (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    applicant TEXT NOT NULL,
    application_json TEXT NOT NULL,
    response_json TEXT NOT NULL,
    review_json TEXT NOT NULL,
    state TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    decided_at INTEGER,
    reviewer TEXT,
    UNIQUE (device_id, idempotency_key)
);
CREATE INDEX submissions_applicant ON submissions (applicant, state);
CREATE TABLE materials (
    submission_id TEXT NOT NULL REFERENCES submissions (id),
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (submission_id, kind, sha256)
);
CREATE TABLE audit (
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL
);
"#,
    r#"
ALTER TABLE credentials ADD COLUMN bureau INTEGER;
DROP TABLE login_failures;
CREATE TABLE throttle_attempts (attempt TEXT NOT NULL, key TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX throttle_attempts_key ON throttle_attempts (key, at);
CREATE INDEX throttle_attempts_attempt ON throttle_attempts (attempt);
-- Sessions live 30 minutes and now carry their device and grant key: older rows are dropped.
DROP TABLE sessions;
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    session_id TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    device_id TEXT NOT NULL,
    signing_key TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE TABLE session_kept_keys (
    session_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    PRIMARY KEY (session_id, idempotency_key)
);
ALTER TABLE submissions ADD COLUMN bureau INTEGER;
ALTER TABLE submissions ADD COLUMN session_id TEXT;
UPDATE submissions SET bureau = json_extract(application_json, '$.data.basic.finance_bureau');
CREATE INDEX submissions_bureau ON submissions (bureau, state);
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#,
    r#"
-- The applicant's version of the collection; rows from before count in arrival order.
ALTER TABLE submissions ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
UPDATE submissions SET version = (
    SELECT COUNT(*) FROM submissions AS earlier
    WHERE earlier.applicant = submissions.applicant
    AND (earlier.received_at < submissions.received_at
         OR (earlier.received_at = submissions.received_at AND earlier.rowid <= submissions.rowid))
);
CREATE INDEX submissions_applicant_version ON submissions (applicant, version);
CREATE INDEX submissions_key ON submissions (idempotency_key);
"#,
    r#"
-- The reviewer console (issue 15): its accounts, the queue's filters and the audit per object.
CREATE TABLE reviewers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    bureau INTEGER,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    changed_at INTEGER NOT NULL
);
ALTER TABLE submissions ADD COLUMN applicant_name TEXT NOT NULL DEFAULT '';
UPDATE submissions
SET applicant_name = coalesce(json_extract(application_json, '$.data.basic.name'), '');
DROP INDEX submissions_bureau;
CREATE INDEX submissions_bureau_state_arrival ON submissions (bureau, state, received_at);
CREATE INDEX submissions_bureau_arrival ON submissions (bureau, received_at);
CREATE INDEX submissions_state_arrival ON submissions (state, received_at);
CREATE INDEX submissions_arrival ON submissions (received_at);
CREATE INDEX audit_target ON audit (target);
-- The public status page finds a submission by its receipt's code (NULL before receipts).
ALTER TABLE submissions ADD COLUMN receipt_code TEXT;
CREATE UNIQUE INDEX submissions_receipt ON submissions (receipt_code);
-- When a reviewer first opened it: under review splits into 待审核 and 审核中 in the queue.
ALTER TABLE submissions ADD COLUMN opened_at INTEGER;
-- The queue's counts per state read these alone.
CREATE INDEX submissions_bureau_state_opened ON submissions (bureau, state, opened_at);
CREATE INDEX submissions_state_opened ON submissions (state, opened_at);
"#,
];

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Db(e.to_string())
}

/// The file path of a `--db` value: `sqlite://PATH`, `sqlite:PATH` or a plain path.
pub fn path_from_url(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

const SUBMISSION_COLUMNS: &str = "id, device_id, idempotency_key, content_sha256, applicant, \
     application_json, response_json, review_json, received_at, decided_at, reviewer, bureau, \
     version";

fn submission_row(row: &Row<'_>) -> rusqlite::Result<(SubmissionRow, String)> {
    let review_json: String = row.get(7)?;
    Ok((
        SubmissionRow {
            id: row.get(0)?,
            device_id: row.get(1)?,
            idempotency_key: row.get(2)?,
            content_sha256: row.get(3)?,
            applicant: row.get(4)?,
            application_json: row.get(5)?,
            response_json: row.get(6)?,
            review: ReviewState::Draft,
            received_at: row.get(8)?,
            decided_at: row.get(9)?,
            reviewer: row.get(10)?,
            bureau: row.get(11)?,
            version: row.get(12)?,
        },
        review_json,
    ))
}

fn finish_row((mut row, review_json): (SubmissionRow, String)) -> StoreResult<SubmissionRow> {
    row.review = serde_json::from_str(&review_json)
        .map_err(|e| StoreError::Corrupt(format!("review state of {}: {e}", row.id)))?;
    Ok(row)
}

fn account_row(row: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: row.get(0)?,
        id_type: row.get(1)?,
        id_number: row.get(2)?,
        name: row.get(3)?,
        mobile: row.get(4)?,
        password_hash: row.get(5)?,
    })
}

/// See [`Store::submission_by_key`].
fn submission_under_key(
    conn: &Connection,
    device_id: &str,
    key: &str,
) -> StoreResult<Option<SubmissionRow>> {
    conn.query_row(
        &format!(
            "SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE idempotency_key = ?2 \
             ORDER BY device_id = ?1 DESC, received_at, rowid LIMIT 1"
        ),
        [device_id, key],
        submission_row,
    )
    .optional()
    .map_err(db)?
    .map(finish_row)
    .transpose()
}

/// See [`Store::latest_submission_of`].
fn latest_of(conn: &Connection, applicant: &str) -> StoreResult<Option<SubmissionRow>> {
    conn.query_row(
        &format!(
            "SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE applicant = ?1 \
             ORDER BY version DESC, received_at DESC, rowid DESC LIMIT 1"
        ),
        [applicant],
        submission_row,
    )
    .optional()
    .map_err(db)?
    .map(finish_row)
    .transpose()
}

/// An approved collection wins over one under review.
fn lock_of(conn: &Connection, applicant: &str) -> StoreResult<Option<ReviewState>> {
    let locked: Option<String> = conn
        .query_row(
            "SELECT review_json FROM submissions WHERE applicant = ?1 \
             AND state IN ('approved', 'under_review') \
             ORDER BY state = 'approved' DESC LIMIT 1",
            [applicant],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    locked
        .map(|json| {
            serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("review state: {e}")))
        })
        .transpose()
}

const SESSION_COLUMNS: &str =
    "session_id, account_id, device_id, signing_key, expires_at, revoked_at";

fn session_row(row: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        session_id: row.get(0)?,
        account_id: row.get(1)?,
        device_id: row.get(2)?,
        signing_key: row.get(3)?,
        expires_at: row.get(4)?,
        revoked_at: row.get(5)?,
    })
}

fn audit_row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        at: r.get(0)?,
        actor: r.get(1)?,
        action: r.get(2)?,
        target: r.get(3)?,
        outcome: r.get(4)?,
    })
}

fn write_audit(conn: &Connection, e: &AuditEntry) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO audit (at, actor, action, target, outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![e.at, e.actor, e.action, e.target, e.outcome],
    )
    .map_err(db)?;
    Ok(())
}

const REVIEWER_COLUMNS: &str = "id, name, role, bureau, password_hash, disabled, changed_at";

fn reviewer_row(r: &Row<'_>) -> rusqlite::Result<(ReviewerAccount, String, Option<u32>)> {
    Ok((
        ReviewerAccount {
            id: r.get(0)?,
            name: r.get(1)?,
            role: ReviewerRole::Province,
            password_hash: r.get(4)?,
            disabled: r.get(5)?,
            changed_at: r.get(6)?,
        },
        r.get(2)?,
        r.get(3)?,
    ))
}

fn finish_reviewer(
    (mut account, tag, bureau): (ReviewerAccount, String, Option<u32>),
) -> StoreResult<ReviewerAccount> {
    account.role = ReviewerRole::from_stored(&tag, bureau)?;
    Ok(account)
}

fn sql_values(values: Vec<SqlValue>) -> Vec<rusqlite::types::Value> {
    values
        .into_iter()
        .map(|v| match v {
            SqlValue::Int(n) => rusqlite::types::Value::Integer(n),
            SqlValue::Text(t) => rusqlite::types::Value::Text(t),
        })
        .collect()
}

fn sqlite_marks(sql: &str) -> String {
    numbered(sql, |n| format!("?{n}"))
}

const ACCOUNT_COLUMNS: &str = "id, id_type, id_number, name, mobile, password_hash";

impl SqliteStore {
    /// Opens (creating if needed, 0600) the database file and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<SqliteStore> {
        let path = path.as_ref();
        crate::files::create_private_database(path)
            .map_err(|e| StoreError::Db(format!("creating {}: {e}", path.display())))?;
        let conn = Connection::open(path).map_err(db)?;
        Self::init(conn)
    }

    /// An in-memory database, for tests.
    pub fn in_memory() -> StoreResult<SqliteStore> {
        Self::init(Connection::open_in_memory().map_err(db)?)
    }

    fn init(mut conn: Connection) -> StoreResult<SqliteStore> {
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db)?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                found: version,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            tx.execute_batch(sql).map_err(db)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)
                .map_err(db)?;
            tx.commit().map_err(db)?;
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SqliteStore {
    fn immediate<T>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let value = work(&tx)?;
        tx.commit().map_err(db)?;
        Ok(value)
    }
}

impl Store for SqliteStore {
    fn insert_credential(&self, c: &Credential, audit: &AuditEntry) -> StoreResult<()> {
        self.immediate(|tx| {
            tx.execute(
                "INSERT INTO credentials (id, name, role, secret_sha256, created_at, revoked, bureau) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    c.id,
                    c.name,
                    c.role.as_str(),
                    c.secret_sha256,
                    audit.at,
                    c.revoked,
                    c.bureau
                ],
            )
            .map_err(db)?;
            write_audit(tx, audit)
        })
    }

    fn credential(&self, id: &str) -> StoreResult<Option<Credential>> {
        let row = self
            .conn()
            .query_row(
                "SELECT id, name, role, secret_sha256, revoked, bureau FROM credentials \
                 WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, bool>(4)?,
                        r.get::<_, Option<u32>>(5)?,
                    ))
                },
            )
            .optional()
            .map_err(db)?;
        row.map(|(id, name, role, secret_sha256, revoked, bureau)| {
            let role = Role::parse(&role)
                .ok_or_else(|| StoreError::Corrupt(format!("role {role:?} of {id}")))?;
            Ok(Credential {
                id,
                name,
                role,
                secret_sha256,
                revoked,
                bureau,
            })
        })
        .transpose()
    }

    fn revoke_credential(&self, id: &str, audit: &AuditEntry) -> StoreResult<bool> {
        self.immediate(|tx| {
            let changed = tx
                .execute("UPDATE credentials SET revoked = 1 WHERE id = ?1", [id])
                .map_err(db)?;
            if changed == 1 {
                write_audit(tx, audit)?;
            }
            Ok(changed == 1)
        })
    }

    fn insert_account(&self, a: &NewAccount, audit: &AuditEntry) -> StoreResult<Option<i64>> {
        self.immediate(|tx| {
            let inserted = tx
                .execute(
                    "INSERT INTO accounts (id_type, id_number, name, mobile, password_hash, \
                     created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id_number) DO NOTHING",
                    params![
                        a.id_type,
                        a.id_number,
                        a.name,
                        a.mobile,
                        a.password_hash,
                        audit.at
                    ],
                )
                .map_err(db)?;
            if inserted != 1 {
                return Ok(None);
            }
            let id = tx.last_insert_rowid();
            write_audit(tx, audit)?;
            Ok(Some(id))
        })
    }

    fn account(&self, id: i64) -> StoreResult<Option<Account>> {
        self.conn()
            .query_row(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1"),
                [id],
                account_row,
            )
            .optional()
            .map_err(db)
    }

    fn account_by_id_number(&self, id_number: &str) -> StoreResult<Option<Account>> {
        self.conn()
            .query_row(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id_number = ?1"),
                [id_number],
                account_row,
            )
            .optional()
            .map_err(db)
    }

    fn set_password(
        &self,
        account: i64,
        password_hash: &str,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        self.immediate(|tx| {
            tx.execute(
                "UPDATE accounts SET password_hash = ?2 WHERE id = ?1",
                params![account, password_hash],
            )
            .map_err(db)?;
            tx.execute(
                "UPDATE sessions SET revoked_at = ?2 WHERE account_id = ?1 AND revoked_at IS NULL",
                params![account, audit.at],
            )
            .map_err(db)?;
            write_audit(tx, audit)
        })
    }

    fn set_mobile(&self, account: i64, mobile: &str, audit: &AuditEntry) -> StoreResult<()> {
        self.immediate(|tx| {
            tx.execute(
                "UPDATE accounts SET mobile = ?2 WHERE id = ?1",
                params![account, mobile],
            )
            .map_err(db)?;
            write_audit(tx, audit)
        })
    }

    fn throttle_attempt(
        &self,
        buckets: &[ThrottleBucket],
        since: i64,
        window: i64,
        now: i64,
    ) -> StoreResult<Result<String, i64>> {
        self.immediate(|tx| {
            for bucket in buckets {
                tx.execute(
                    "DELETE FROM throttle_attempts WHERE key = ?1 AND at < ?2",
                    params![bucket.key, since],
                )
                .map_err(db)?;
                let (count, oldest): (i64, Option<i64>) = tx
                    .query_row(
                        "SELECT count(*), min(at) FROM (SELECT at FROM throttle_attempts \
                         WHERE key = ?1 ORDER BY at DESC LIMIT ?2)",
                        params![bucket.key, bucket.limit],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .map_err(db)?;
                if count >= bucket.limit {
                    return Ok(Err(oldest.unwrap_or(now) + window - now));
                }
            }
            let attempt = crate::util::hex(&crate::util::random_bytes::<12>());
            for bucket in buckets {
                tx.execute(
                    "INSERT INTO throttle_attempts (attempt, key, at) VALUES (?1, ?2, ?3)",
                    params![attempt, bucket.key, now],
                )
                .map_err(db)?;
            }
            Ok(Ok(attempt))
        })
    }

    fn throttle_finish(
        &self,
        attempt: &str,
        forgive: bool,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        self.immediate(|tx| {
            if forgive {
                tx.execute(
                    "DELETE FROM throttle_attempts WHERE attempt = ?1",
                    [attempt],
                )
                .map_err(db)?;
            }
            match audit {
                Some(entry) => write_audit(tx, entry),
                None => Ok(()),
            }
        })
    }

    fn put_sms_code(&self, code: &SmsCode, min_interval: i64) -> StoreResult<Result<(), i64>> {
        self.immediate(|tx| {
            let last: Option<i64> = tx
                .query_row(
                    "SELECT max(sent_at) FROM sms_codes WHERE mobile = ?1",
                    [&code.mobile],
                    |r| r.get(0),
                )
                .map_err(db)?;
            if let Some(last) = last {
                let wait = last + min_interval - code.sent_at;
                if wait > 0 {
                    return Ok(Err(wait));
                }
            }
            tx.execute(
                "INSERT INTO sms_codes (mobile, purpose, code_sha256, sent_at, expires_at, \
                 attempts, used) VALUES (?1, ?2, ?3, ?4, ?5, 0, 0) \
                 ON CONFLICT (mobile, purpose) DO UPDATE SET code_sha256 = excluded.code_sha256, \
                 sent_at = excluded.sent_at, expires_at = excluded.expires_at, attempts = 0, \
                 used = 0",
                params![
                    code.mobile,
                    code.purpose,
                    code.code_sha256,
                    code.sent_at,
                    code.expires_at
                ],
            )
            .map_err(db)?;
            Ok(Ok(()))
        })
    }

    fn sms_code(&self, mobile: &str, purpose: &str) -> StoreResult<Option<SmsCode>> {
        self.conn()
            .query_row(
                "SELECT mobile, purpose, code_sha256, sent_at, expires_at, attempts, used \
                 FROM sms_codes WHERE mobile = ?1 AND purpose = ?2",
                [mobile, purpose],
                |r| {
                    Ok(SmsCode {
                        mobile: r.get(0)?,
                        purpose: r.get(1)?,
                        code_sha256: r.get(2)?,
                        sent_at: r.get(3)?,
                        expires_at: r.get(4)?,
                        attempts: r.get(5)?,
                        used: r.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(db)
    }

    fn sms_code_consume(
        &self,
        mobile: &str,
        purpose: &str,
        code_sha256: &str,
        now: i64,
        max_attempts: i64,
    ) -> StoreResult<SmsCheck> {
        self.immediate(|tx| {
            // One statement decides and uses up: two requests with the same code cannot both
            // see it unused.
            let used = tx
                .execute(
                    "UPDATE sms_codes SET used = 1 WHERE mobile = ?1 AND purpose = ?2 \
                     AND code_sha256 = ?3 AND used = 0 AND expires_at > ?4 AND attempts < ?5",
                    params![mobile, purpose, code_sha256, now, max_attempts],
                )
                .map_err(db)?;
            if used == 1 {
                return Ok(SmsCheck::Accepted);
            }
            tx.execute(
                "UPDATE sms_codes SET attempts = attempts + 1 WHERE mobile = ?1 AND purpose = ?2",
                [mobile, purpose],
            )
            .map_err(db)?;
            Ok(SmsCheck::Refused)
        })
    }

    fn insert_session(&self, s: &NewSession, audit: &AuditEntry) -> StoreResult<()> {
        self.immediate(|tx| {
            tx.execute(
                "INSERT INTO sessions (token_sha256, session_id, account_id, device_id, \
                 signing_key, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    s.token_sha256,
                    s.session_id,
                    s.account_id,
                    s.device_id,
                    s.signing_key,
                    s.expires_at
                ],
            )
            .map_err(db)?;
            write_audit(tx, audit)
        })
    }

    fn session(&self, token_sha256: &str) -> StoreResult<Option<SessionRow>> {
        self.conn()
            .query_row(
                &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_sha256 = ?1"),
                [token_sha256],
                session_row,
            )
            .optional()
            .map_err(db)
    }

    fn session_by_id(&self, session_id: &str) -> StoreResult<Option<SessionRow>> {
        self.conn()
            .query_row(
                &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE session_id = ?1"),
                [session_id],
                session_row,
            )
            .optional()
            .map_err(db)
    }

    fn revoke_session(
        &self,
        token_sha256: &str,
        pending_keys: &[String],
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        self.immediate(|tx| {
            let session_id: Option<String> = tx
                .query_row(
                    "UPDATE sessions SET revoked_at = ?2 WHERE token_sha256 = ?1 \
                     AND revoked_at IS NULL RETURNING session_id",
                    params![token_sha256, audit.at],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            let Some(session_id) = session_id else {
                return Ok(false);
            };
            for key in pending_keys {
                tx.execute(
                    "INSERT OR IGNORE INTO session_kept_keys (session_id, idempotency_key) \
                     VALUES (?1, ?2)",
                    params![session_id, key],
                )
                .map_err(db)?;
            }
            write_audit(tx, audit)?;
            Ok(true)
        })
    }

    fn session_kept_key(&self, session_id: &str, key: &str) -> StoreResult<bool> {
        self.conn()
            .query_row(
                "SELECT 1 FROM session_kept_keys WHERE session_id = ?1 AND idempotency_key = ?2",
                [session_id, key],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(db)
    }

    fn submission_by_key(&self, device_id: &str, key: &str) -> StoreResult<Option<SubmissionRow>> {
        submission_under_key(&self.conn(), device_id, key)
    }

    fn submit(&self, s: &NewSubmission) -> StoreResult<SubmitOutcome> {
        self.immediate(|tx| {
            if let Some(earlier) = submission_under_key(tx, &s.device_id, &s.idempotency_key)? {
                return Ok(replay_outcome(
                    &earlier,
                    &s.device_id,
                    &s.content_sha256,
                    Some(&s.applicant),
                ));
            }
            let latest = latest_of(tx, &s.applicant)?;
            if let Some(newer) = latest
                .as_ref()
                .filter(|l| is_stale(s.version, &s.content_sha256, Some(l)))
            {
                write_audit(tx, &stale_audit(s, newer))?;
                return Ok(SubmitOutcome::StaleVersion);
            }
            if let Some(state) = lock_of(tx, &s.applicant)? {
                return Ok(SubmitOutcome::ApplicantLocked(state));
            }
            let review = ReviewState::UnderReview;
            let review_json =
                serde_json::to_string(&review).map_err(|e| StoreError::Db(e.to_string()))?;
            tx.execute(
                "INSERT INTO submissions (id, device_id, idempotency_key, content_sha256, \
                 applicant, application_json, response_json, review_json, state, received_at, \
                 bureau, session_id, version, applicant_name, receipt_code) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, \
                 coalesce(json_extract(?6, '$.data.basic.name'), ''), ?14)",
                params![
                    s.id,
                    s.device_id,
                    s.idempotency_key,
                    s.content_sha256,
                    s.applicant,
                    s.application_json,
                    s.response_json,
                    review_json,
                    state_tag(&review),
                    s.received_at,
                    s.bureau,
                    s.session_id,
                    stored_version(s.version, latest.as_ref()),
                    s.receipt_code
                ],
            )
            .map_err(db)?;
            for m in &s.materials {
                tx.execute(
                    "INSERT OR IGNORE INTO materials (submission_id, kind, sha256, bytes) \
                     VALUES (?1, ?2, ?3, ?4)",
                    params![s.id, m.kind, m.sha256, m.bytes],
                )
                .map_err(db)?;
            }
            write_audit(tx, &s.audit)?;
            Ok(SubmitOutcome::Created {
                response_json: s.response_json.clone(),
            })
        })
    }

    fn applicant_lock(&self, applicant: &str) -> StoreResult<Option<ReviewState>> {
        lock_of(&self.conn(), applicant)
    }

    fn submission(&self, id: &str) -> StoreResult<Option<SubmissionRow>> {
        self.conn()
            .query_row(
                &format!("SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE id = ?1"),
                [id],
                submission_row,
            )
            .optional()
            .map_err(db)?
            .map(finish_row)
            .transpose()
    }

    fn submissions(
        &self,
        state: Option<&str>,
        scope: BureauScope,
    ) -> StoreResult<Vec<SubmissionRow>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {SUBMISSION_COLUMNS} FROM submissions \
                 WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR bureau = ?2) \
                 ORDER BY received_at, rowid"
            ))
            .map_err(db)?;
        let rows = stmt
            .query_map(params![state, scope], submission_row)
            .map_err(db)?;
        rows.map(|r| r.map_err(db).and_then(finish_row)).collect()
    }

    fn latest_submission_of(&self, applicant: &str) -> StoreResult<Option<SubmissionRow>> {
        latest_of(&self.conn(), applicant)
    }

    fn materials(&self, submission: &str) -> StoreResult<Vec<MaterialInfo>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT kind, sha256, length(bytes) FROM materials WHERE submission_id = ?1 \
                 ORDER BY kind, sha256",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([submission], |r| {
                Ok(MaterialInfo {
                    kind: r.get(0)?,
                    sha256: r.get(1)?,
                    bytes: r.get::<_, i64>(2)?.max(0) as u64,
                })
            })
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    fn decide(
        &self,
        id: &str,
        decision: &Decision,
        reviewer: &str,
        scope: BureauScope,
        now: i64,
    ) -> StoreResult<Result<ReviewState, DecideError>> {
        self.immediate(|tx| {
            let current: Option<(String, Option<u32>)> = tx
                .query_row(
                    "SELECT review_json, bureau FROM submissions WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db)?;
            let result = match current {
                Some((current, bureau)) if in_scope(scope, bureau) => {
                    let current: ReviewState = serde_json::from_str(&current)
                        .map_err(|e| StoreError::Corrupt(format!("review state: {e}")))?;
                    decide_next(&current, decision)
                }
                _ => Err(DecideError::NotFound),
            };
            if let Ok(next) = &result {
                let next_json =
                    serde_json::to_string(next).map_err(|e| StoreError::Db(e.to_string()))?;
                tx.execute(
                    "UPDATE submissions SET review_json = ?2, state = ?3, decided_at = ?4, \
                     reviewer = ?5 WHERE id = ?1",
                    params![id, next_json, state_tag(next), now, reviewer],
                )
                .map_err(db)?;
            }
            write_audit(tx, &decision_audit(id, decision, reviewer, &result, now))?;
            Ok(result)
        })
    }

    fn insert_reviewer(
        &self,
        name: &str,
        role: ReviewerRole,
        password_hash: &str,
        audit: &AuditEntry,
    ) -> StoreResult<Option<i64>> {
        let (tag, bureau) = role.stored();
        self.immediate(|tx| {
            let inserted = tx
                .execute(
                    "INSERT INTO reviewers (name, role, bureau, password_hash, created_at, \
                     changed_at) VALUES (?1, ?2, ?3, ?4, ?5, 0) ON CONFLICT (name) DO NOTHING",
                    params![name, tag, bureau, password_hash, audit.at],
                )
                .map_err(db)?;
            if inserted == 0 {
                return Ok(None);
            }
            write_audit(tx, audit)?;
            Ok(Some(tx.last_insert_rowid()))
        })
    }

    fn reviewer_by_name(&self, name: &str) -> StoreResult<Option<ReviewerAccount>> {
        self.conn()
            .query_row(
                &format!("SELECT {REVIEWER_COLUMNS} FROM reviewers WHERE name = ?1"),
                [name],
                reviewer_row,
            )
            .optional()
            .map_err(db)?
            .map(finish_reviewer)
            .transpose()
    }

    fn reviewer_account(&self, id: i64) -> StoreResult<Option<ReviewerAccount>> {
        self.conn()
            .query_row(
                &format!("SELECT {REVIEWER_COLUMNS} FROM reviewers WHERE id = ?1"),
                [id],
                reviewer_row,
            )
            .optional()
            .map_err(db)?
            .map(finish_reviewer)
            .transpose()
    }

    fn change_reviewer(
        &self,
        name: &str,
        change: &ReviewerChange,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        self.immediate(|tx| {
            let changed = match change {
                ReviewerChange::Disable | ReviewerChange::Enable => tx.execute(
                    "UPDATE reviewers SET disabled = ?2, changed_at = ?3 WHERE name = ?1",
                    params![name, *change == ReviewerChange::Disable, now_millis()],
                ),
                ReviewerChange::Password { hash } => tx.execute(
                    "UPDATE reviewers SET password_hash = ?2, changed_at = ?3 WHERE name = ?1",
                    params![name, hash, now_millis()],
                ),
            }
            .map_err(db)?;
            if changed == 0 {
                return Ok(false);
            }
            write_audit(tx, audit)?;
            Ok(true)
        })
    }

    fn reviewer_accounts(&self) -> StoreResult<Vec<ReviewerAccount>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {REVIEWER_COLUMNS} FROM reviewers ORDER BY name"
            ))
            .map_err(db)?;
        let rows = stmt.query_map([], reviewer_row).map_err(db)?;
        rows.map(|r| r.map_err(db).and_then(finish_reviewer))
            .collect()
    }

    fn queue(&self, query: &QueueQuery) -> StoreResult<QueuePage> {
        let conn = self.conn();
        let (without_state, values) = queue_conditions(query, false);
        let mut stmt = conn
            .prepare(&sqlite_marks(&format!(
                "SELECT {QUEUE_STATE} AS tag, COUNT(*) FROM submissions WHERE {without_state} \
                 GROUP BY tag"
            )))
            .map_err(db)?;
        let counts = stmt
            .query_map(rusqlite::params_from_iter(sql_values(values)), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        let (conditions, mut values) = queue_conditions(query, true);
        values.push(SqlValue::Int(query.limit));
        values.push(SqlValue::Int(query.offset));
        let mut stmt = conn
            .prepare(&sqlite_marks(&format!(
                "SELECT id, applicant, applicant_name, {QUEUE_STATE}, received_at, decided_at, bureau \
                 FROM submissions WHERE {conditions} \
                 ORDER BY received_at DESC, rowid DESC LIMIT ? OFFSET ?"
            )))
            .map_err(db)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(sql_values(values)), |r| {
                Ok(QueueRow {
                    id: r.get(0)?,
                    applicant: r.get(1)?,
                    name: r.get(2)?,
                    state: r.get(3)?,
                    received_at: r.get(4)?,
                    decided_at: r.get(5)?,
                    bureau: r.get(6)?,
                })
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        Ok(QueuePage {
            total: queue_total(&counts, query.state.as_deref()),
            rows,
            counts,
        })
    }

    fn submissions_of(&self, applicant: &str) -> StoreResult<Vec<SubmissionRow>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE applicant = ?1 \
                 ORDER BY version DESC, received_at DESC, rowid DESC"
            ))
            .map_err(db)?;
        let rows = stmt.query_map([applicant], submission_row).map_err(db)?;
        rows.map(|r| r.map_err(db).and_then(finish_row)).collect()
    }

    fn audit_of(&self, target: &str, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT at, actor, action, target, outcome FROM audit WHERE target = ?1 \
                 ORDER BY rowid LIMIT ?2",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![target, limit], audit_row)
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    fn stats(&self, scope: BureauScope, since: i64) -> StoreResult<Stats> {
        let conn = self.conn();
        let (scoped, values) = stats_conditions(scope, since);
        let values = sql_values(values);
        let query = |sql: String| -> StoreResult<Vec<(rusqlite::types::Value, i64)>> {
            let mut stmt = conn.prepare(&sqlite_marks(&sql)).map_err(db)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(values.iter()), |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        };
        let int = |v: rusqlite::types::Value| match v {
            rusqlite::types::Value::Integer(n) => n,
            _ => 0,
        };
        let text = |v: rusqlite::types::Value| match v {
            rusqlite::types::Value::Text(t) => t,
            _ => String::new(),
        };
        let per_day = query(format!(
            "SELECT (received_at + {CHINA_OFFSET_SECS}) / 86400 AS day, COUNT(*) FROM submissions \
             WHERE {scoped} GROUP BY day ORDER BY day"
        ))?
        .into_iter()
        .map(|(d, n)| (int(d), n))
        .collect();
        let counts = query(format!(
            "SELECT state, COUNT(*) FROM submissions WHERE {scoped} GROUP BY state"
        ))?
        .into_iter()
        .map(|(s, n)| (text(s), n))
        .collect();
        let reasons = query(format!(
            "SELECT json_extract(review_json, '$.reason') AS reason, COUNT(*) FROM submissions \
             WHERE {scoped} AND state = 'rejected' GROUP BY reason ORDER BY 2 DESC LIMIT 200"
        ))?
        .into_iter()
        .map(|(r, n)| (text(r), n))
        .collect();
        let decided: i64 = query(format!(
            "SELECT 0, COUNT(*) FROM submissions WHERE {scoped} AND decided_at IS NOT NULL"
        ))?
        .first()
        .map_or(0, |(_, n)| *n);
        let median_decision_secs = if decided == 0 {
            None
        } else {
            query(format!(
                "SELECT decided_at - received_at AS waited, 0 FROM submissions \
                 WHERE {scoped} AND decided_at IS NOT NULL ORDER BY waited \
                 LIMIT 1 OFFSET {}",
                decided / 2
            ))?
            .into_iter()
            .next()
            .map(|(w, _)| int(w))
        };
        Ok(Stats {
            per_day,
            counts,
            median_decision_secs,
            reasons,
        })
    }

    fn record_view(&self, id: &str, audit: &AuditEntry) -> StoreResult<()> {
        self.immediate(|tx| {
            tx.execute(
                "UPDATE submissions SET opened_at = ?2 WHERE id = ?1 AND opened_at IS NULL",
                params![id, audit.at],
            )
            .map_err(db)?;
            write_audit(tx, audit)
        })
    }

    fn submission_by_receipt(&self, code: &str) -> StoreResult<Option<SubmissionRow>> {
        self.conn()
            .query_row(
                &format!("SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE receipt_code = ?1"),
                [code],
                submission_row,
            )
            .optional()
            .map_err(db)?
            .map(finish_row)
            .transpose()
    }

    fn material_bytes(&self, submission: &str, sha256: &str) -> StoreResult<Option<Vec<u8>>> {
        self.conn()
            .query_row(
                "SELECT bytes FROM materials WHERE submission_id = ?1 AND sha256 = ?2 LIMIT 1",
                [submission, sha256],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)
    }

    fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        write_audit(&self.conn(), entry)
    }

    fn audit_log(&self, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT at, actor, action, target, outcome FROM audit \
                 ORDER BY rowid DESC LIMIT ?1",
            )
            .map_err(db)?;
        let rows = stmt.query_map([limit], audit_row).map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(path_from_url("sqlite:///var/lib/c.db"), "/var/lib/c.db");
        assert_eq!(path_from_url("sqlite://c.db"), "c.db");
        assert_eq!(path_from_url("c.db"), "c.db");
    }

    #[test]
    fn reopen_keeps_schema_and_refuses_newer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        drop(SqliteStore::open(&path).unwrap());
        drop(SqliteStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            SqliteStore::open(&path),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }
}
