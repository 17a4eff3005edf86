//! The kiosk's local store: SQLCipher (encrypted at rest), WAL with `synchronous=FULL` so a power
//! cut keeps every committed draft, `secure_delete` so deleted personal data is overwritten.
//!
//! Drafts are saved at every step and found again by ID number; material files live beside them
//! in the same encrypted database. `Connection` is not `Sync`: one `Store` per thread.

mod key;
mod process_lock;
mod schema;

pub use process_lock::StoreLock;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use kiosk_domain::record::MaterialFile;
use kiosk_domain::{Application, ReviewState, idnumber, materials};
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::sync::ApplicantSession;

pub use schema::CURRENT_VERSION as SCHEMA_VERSION;

const DB_FILE: &str = "kiosk.db";

#[derive(Debug, Error)]
pub enum StoreError {
    #[error(
        "the store key does not open the local database (wrong key file, or the file is not a kiosk store)"
    )]
    WrongKey,
    #[error("cannot read or create the key file {0}: {1}")]
    KeyFile(PathBuf, std::io::Error),
    #[error("the key file {0} is damaged (expected 64 hexadecimal characters)")]
    KeyFileCorrupt(PathBuf),
    #[error("cannot prepare the data directory {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    #[error(
        "the local database was written by a newer kiosk (schema {found}, this build knows {supported})"
    )]
    NewerSchema { found: i64, supported: i64 },
    #[error("a draft needs an ID number before it can be saved")]
    NoIdNumber,
    #[error("no draft exists for this ID number")]
    NoSuchDraft,
    #[error("a saved draft cannot be read: {0}")]
    Corrupt(String),
    #[error("only a submitted collection goes to the outbox")]
    NotSubmitted,
    #[error("a material file of the submission is missing from the store")]
    MissingMaterial,
    #[error("another kiosk process uses the store in {0}")]
    InUse(PathBuf),
    #[error("local database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// What the kiosk tells the applicant or staff, in plain Chinese.
    pub fn message_zh(&self) -> &'static str {
        match self {
            StoreError::WrongKey | StoreError::KeyFileCorrupt(_) => {
                "本机数据无法解密，请联系工作人员（密钥文件不匹配）"
            }
            StoreError::KeyFile(..) | StoreError::DataDir(..) => "本机存储不可用，请联系工作人员",
            StoreError::NewerSchema { .. } => "本机数据版本较新，请联系工作人员升级软件",
            StoreError::InUse(_) => {
                "本机已有一个自助终端程序在运行，不能再启动第二个；请关闭另一个程序或重启本机"
            }
            StoreError::NoIdNumber => "请先填写证件号码",
            StoreError::NoSuchDraft => "未找到该证件号码的草稿",
            StoreError::NotSubmitted => "请先完成全部步骤再提交",
            StoreError::MissingMaterial => "有材料文件未能保存，请重新拍摄或上传后再提交",
            StoreError::Sqlite(e) if sqlite_code(e) == Some(rusqlite::ErrorCode::DiskFull) => {
                "本机存储空间已满，未能保存最新的修改；此前已保存的内容未丢失，请联系工作人员"
            }
            StoreError::Sqlite(e) if sqlite_code(e) == Some(rusqlite::ErrorCode::ReadOnly) => {
                "本机存储暂时无法写入，未能保存最新的修改；此前已保存的内容未丢失，请联系工作人员"
            }
            StoreError::Corrupt(_) | StoreError::Sqlite(_) => {
                "本机存储出错，已填写的内容未丢失，请联系工作人员"
            }
        }
    }
}

fn sqlite_code(error: &rusqlite::Error) -> Option<rusqlite::ErrorCode> {
    error.sqlite_error_code()
}

/// Metadata of a saved draft: nothing personal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DraftInfo {
    pub revision: i64,
    pub updated_at: i64,
}

/// An account row of the local account service.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredAccount {
    pub id_number: String,
    pub id_type: String,
    pub name: String,
    pub mobile: String,
    pub password_hash: String,
}

pub struct Store {
    conn: Connection,
}

/// Where an outbox row stands. `Pending` → `Acked` (the server answered with a submission id)
/// → `Done` (the applicant's session is over and the local personal data was deleted);
/// `Pending` → `Failed` when the server refused it for good (kept for staff, never retried).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    Pending,
    Acked,
    Done,
    Failed,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Acked => "acked",
            OutboxState::Done => "done",
            OutboxState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> OutboxState {
        match s {
            "acked" => OutboxState::Acked,
            "done" => OutboxState::Done,
            "failed" => OutboxState::Failed,
            _ => OutboxState::Pending,
        }
    }
}

/// What `submit_to_outbox` committed: nothing personal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxReceipt {
    pub id: i64,
    pub idempotency_key: String,
    pub content_sha256: String,
}

/// A pending row with everything needed to send it.
pub struct OutboxPayload {
    pub id: i64,
    pub idempotency_key: String,
    pub application_json: String,
    pub content_sha256: String,
    pub attempts: i64,
    /// `(session id, grant)` of the applicant's session; `None` for a row made without one.
    pub grant: Option<(String, String)>,
    /// The applicant's version of this submission; `None` for a row made without a session.
    pub version: Option<i64>,
    /// `(kind key, sha256, bytes)`; `None` bytes when the file has gone missing.
    pub materials: Vec<(String, String, Option<Vec<u8>>)>,
}

/// An outbox row as staff and tests see it (nothing personal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub idempotency_key: String,
    pub content_sha256: String,
    pub state: OutboxState,
    pub attempts: i64,
    pub next_attempt_at_ms: i64,
    pub last_error: Option<String>,
    pub submission_id: Option<String>,
    pub review: Option<ReviewState>,
    pub session_over: bool,
}

/// Wrong staff PINs and the lock they led to (nothing personal). Kept in the store so that
/// neither an idle wipe nor a restart of the kiosk resets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StaffLock {
    /// Wrong PINs since the last right one or the last timed lock.
    pub recent_failures: u32,
    /// Wrong PINs since the last right one or the hall admin's unlock.
    pub total_failures: u32,
    /// A timed lock runs until then (ms since the epoch); 0 when none was set since the last
    /// right PIN or unlock.
    pub locked_until_ms: i64,
    /// Only the hall admin lifts this lock (`kiosk staff unlock`).
    pub admin_locked: bool,
}

/// How wrong staff PINs lock: `attempts` in a row lock for `lockout_ms`; `admin_after` without a
/// right one in between lock until the hall admin lifts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffLockRules {
    pub attempts: u32,
    pub lockout_ms: i64,
    pub admin_after: u32,
}

impl StaffLock {
    /// The lock after one more wrong PIN at `now_ms`.
    pub fn after_failure(self, now_ms: i64, rules: StaffLockRules) -> StaffLock {
        let recent = self.recent_failures.saturating_add(1);
        let total = self.total_failures.saturating_add(1);
        if self.admin_locked || total >= rules.admin_after {
            return StaffLock {
                recent_failures: recent,
                total_failures: total,
                admin_locked: true,
                ..self
            };
        }
        if recent >= rules.attempts {
            return StaffLock {
                recent_failures: 0,
                total_failures: total,
                locked_until_ms: now_ms.saturating_add(rules.lockout_ms),
                admin_locked: false,
            };
        }
        StaffLock {
            recent_failures: recent,
            total_failures: total,
            ..self
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: i64,
    pub acked: i64,
    pub failed: i64,
    pub done: i64,
}

/// Milliseconds since the Unix epoch (the outbox's clock).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn draft_key(app: &Application) -> Result<String, StoreError> {
    let key = idnumber::normalize(&app.data().basic.id_number);
    if key.is_empty() {
        Err(StoreError::NoIdNumber)
    } else {
        Ok(key)
    }
}

/// Opens the database file and hands SQLCipher the key.
///
/// The key pragma fails without touching the file when SQLCipher cannot set up its crypto
/// context (its random source or allocator had a transient failure; seen once on a loaded CI
/// machine, on a fresh database). A new connection is tried twice more before giving up: the
/// key itself is never empty, so the failure is not ours to report as a wrong key.
fn open_keyed(db_path: &Path, key: &key::StoreKey) -> Result<Connection, StoreError> {
    const ATTEMPTS: u32 = 3;
    let mut attempt = 1;
    loop {
        let conn = Connection::open(db_path)?;
        // SQLite gives the WAL and shared-memory files the database file's mode.
        restrict_to_owner(db_path).map_err(|e| StoreError::DataDir(db_path.to_owned(), e))?;
        let key_pragma = key.pragma_value();
        match conn.pragma_update(None, "key", key_pragma.as_str()) {
            Ok(()) => return Ok(conn),
            Err(e) if attempt < ATTEMPTS && is_key_setup_failure(&e) => {
                tracing::warn!(attempt, error = %e, "SQLCipher could not take the key; retrying");
                drop(conn);
                std::thread::sleep(std::time::Duration::from_millis(50 * u64::from(attempt)));
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn is_key_setup_failure(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::Unknown)
}

fn is_not_a_database(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::NotADatabase)
}

impl Store {
    /// Opens (or creates) the store in `data_dir` with the key in `key_file` (created if missing).
    pub fn open(data_dir: &Path, key_file: &Path) -> Result<Store, StoreError> {
        prepare_dir(data_dir)?;
        let key = key::load_or_create(key_file)?;
        let db_path = data_dir.join(DB_FILE);
        let mut conn = open_keyed(&db_path, &key)?;
        drop(key);
        // The first read decrypts page 1: a wrong key fails here, as "not a database".
        let check: Result<i64, _> =
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0));
        match check {
            Err(e) if is_not_a_database(&e) => return Err(StoreError::WrongKey),
            other => other?,
        };
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Sorts and temporary tables stay in memory, never in clear temp files.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        Ok(Store { conn })
    }

    /// Saves the draft (insert or replace) in one transaction; returns its new revision.
    pub fn save_draft(&mut self, app: &Application) -> Result<DraftInfo, StoreError> {
        let id = draft_key(app)?;
        let record = serde_json::to_string(app).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = now_unix();
        let tx = self.conn.transaction()?;
        let revision: i64 = tx.query_row(
            "INSERT INTO drafts (id_number, record, revision, updated_at) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT(id_number) DO UPDATE SET record = excluded.record,
                 revision = drafts.revision + 1, updated_at = excluded.updated_at
             RETURNING revision",
            params![id, record, now],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(DraftInfo {
            revision,
            updated_at: now,
        })
    }

    /// The draft saved for this ID number (any spacing or case of x).
    pub fn load_draft(
        &self,
        id_number: &str,
    ) -> Result<Option<(Application, DraftInfo)>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT record, revision, updated_at FROM drafts WHERE id_number = ?1",
                params![idnumber::normalize(id_number)],
                |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(record, revision, updated_at)| {
            let app =
                serde_json::from_str(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok((
                app,
                DraftInfo {
                    revision,
                    updated_at,
                },
            ))
        })
        .transpose()
    }

    /// Deletes a draft and its material files. Returns whether there was one.
    pub fn delete_draft(&mut self, id_number: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "DELETE FROM drafts WHERE id_number = ?1",
            params![idnumber::normalize(id_number)],
        )?;
        if n > 0 {
            // Move the deleted pages out of the WAL into the (secure-deleted) database.
            self.checkpoint()?;
        }
        Ok(n > 0)
    }

    pub fn draft_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM drafts", [], |r| r.get(0))?)
    }

    /// Stores a material file for the draft of `id_number`; returns its reference (without the
    /// image size, which the caller knows).
    pub fn put_material(
        &mut self,
        id_number: &str,
        content: &[u8],
    ) -> Result<MaterialFile, StoreError> {
        let sha256 = key::hex(&Sha256::digest(content));
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let blob_id = key::hex(&raw);
        let owner = idnumber::normalize(id_number);
        let exists: bool = self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM drafts WHERE id_number = ?1)",
            params![owner],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(StoreError::NoSuchDraft);
        }
        self.conn.execute(
            "INSERT INTO material_blobs (blob_id, id_number, sha256, content, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![blob_id, owner, sha256, content, now_unix()],
        )?;
        Ok(MaterialFile {
            blob_id,
            bytes: content.len() as u64,
            width: 0,
            height: 0,
            sha256,
        })
    }

    pub fn material(&self, blob_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT content FROM material_blobs WHERE blob_id = ?1",
                params![blob_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn delete_material(&mut self, blob_id: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "DELETE FROM material_blobs WHERE blob_id = ?1",
            params![blob_id],
        )?;
        Ok(n > 0)
    }

    /// Adds an account; `false` if the ID number is taken.
    pub fn insert_account(&mut self, account: &StoredAccount) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "INSERT INTO accounts (id_number, id_type, name, mobile, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id_number) DO NOTHING",
            params![
                account.id_number,
                account.id_type,
                account.name,
                account.mobile,
                account.password_hash,
                now_unix()
            ],
        )?;
        Ok(n == 1)
    }

    pub fn account(&self, id_number: &str) -> Result<Option<StoredAccount>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id_number, id_type, name, mobile, password_hash FROM accounts WHERE id_number = ?1",
                params![idnumber::normalize(id_number)],
                |r| {
                    Ok(StoredAccount {
                        id_number: r.get(0)?,
                        id_type: r.get(1)?,
                        name: r.get(2)?,
                        mobile: r.get(3)?,
                        password_hash: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn set_password_hash(&mut self, id_number: &str, hash: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE accounts SET password_hash = ?2 WHERE id_number = ?1",
            params![idnumber::normalize(id_number), hash],
        )?;
        Ok(n == 1)
    }

    /// The staff PIN's failures and lock as last committed.
    pub fn staff_lock(&self) -> Result<StaffLock, StoreError> {
        read_staff_lock(&self.conn)
    }

    /// Counts one wrong staff PIN and commits it (with the lock it leads to) before returning,
    /// so the answer shown for a PIN is never ahead of what a restart would find.
    pub fn staff_pin_wrong(
        &mut self,
        now_ms: i64,
        rules: StaffLockRules,
    ) -> Result<StaffLock, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let lock = read_staff_lock(&tx)?.after_failure(now_ms, rules);
        write_staff_lock(&tx, &lock)?;
        tx.commit()?;
        Ok(lock)
    }

    /// A right staff PIN clears the counts and the timed lock, but never the admin's lock.
    pub fn staff_pin_right(&mut self) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE staff_lock SET recent = 0, total = 0, locked_until = 0, updated_at = ?1
             WHERE id = 1 AND admin_locked = 0",
            params![now_unix()],
        )?;
        Ok(())
    }

    /// The hall admin lifts every staff lock; returns what it was.
    pub fn staff_unlock(&mut self) -> Result<StaffLock, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let before = read_staff_lock(&tx)?;
        write_staff_lock(&tx, &StaffLock::default())?;
        tx.commit()?;
        Ok(before)
    }

    /// Submits: saves the (submitted) draft and writes its outbox row in ONE transaction, so the
    /// applicant is told "saved" only for a submission that will be sent. The idempotency key is
    /// made here, once; the content hash is the server's canonical hash of exactly what will be
    /// sent. Refuses a draft that is not marked submitted, and one whose files are missing.
    /// `session` is the logged-in applicant's session with the central server: its grant on
    /// this key and hash goes into the row (the server refuses a submission without one).
    pub fn submit_to_outbox(
        &mut self,
        app: &Application,
        session: Option<&ApplicantSession>,
    ) -> Result<OutboxReceipt, StoreError> {
        if *app.review() != ReviewState::Submitted {
            return Err(StoreError::NotSubmitted);
        }
        let id = draft_key(app)?;
        let application =
            serde_json::to_value(app).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let application_json = application.to_string();
        let record = serde_json::to_string(app).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let idempotency_key = key::hex(&raw);
        let now = now_unix();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO drafts (id_number, record, revision, updated_at) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT(id_number) DO UPDATE SET record = excluded.record,
                 revision = drafts.revision + 1, updated_at = excluded.updated_at",
            params![id, record, now],
        )?;
        let mut files = Vec::new();
        for (kind, file) in materials::submission_files(app.data()) {
            let stored: Option<String> = tx
                .query_row(
                    "SELECT sha256 FROM material_blobs WHERE blob_id = ?1 AND id_number = ?2",
                    params![file.blob_id, id],
                    |r| r.get(0),
                )
                .optional()?;
            if stored.as_deref() != Some(file.sha256.as_str()) {
                return Err(StoreError::MissingMaterial);
            }
            files.push((
                kind.key().to_owned(),
                file.sha256.clone(),
                file.blob_id.clone(),
            ));
        }
        let declared: Vec<(String, String)> = files
            .iter()
            .map(|(k, h, _)| (k.clone(), h.clone()))
            .collect();
        let content_sha256 = crate::sync::canonical::content_sha256(&application, &declared);
        let grant = session.map(|s| {
            (
                s.session_id.clone(),
                kiosk_wire::grant::sign(&s.token, &s.session_id, &idempotency_key, &content_sha256),
            )
        });
        let (grant_session_id, grant_signature) = grant.unzip();
        let outbox_id: i64 = tx.query_row(
            "INSERT INTO outbox (idempotency_key, draft_id, application_json, content_sha256,
                 state, attempts, next_attempt_at, created_at, grant_session_id, grant_signature,
                 version)
             VALUES (?1, ?2, ?3, ?4, 'pending', 0, 0, ?5, ?6, ?7, ?8) RETURNING id",
            params![
                idempotency_key,
                id,
                application_json,
                content_sha256,
                now,
                grant_session_id,
                grant_signature,
                session.map(ApplicantSession::next_version)
            ],
            |r| r.get(0),
        )?;
        for (position, (kind, sha256, blob_id)) in files.iter().enumerate() {
            tx.execute(
                "INSERT INTO outbox_materials (outbox_id, position, kind, sha256, blob_id)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![outbox_id, position as i64, kind, sha256, blob_id],
            )?;
        }
        tx.commit()?;
        Ok(OutboxReceipt {
            id: outbox_id,
            idempotency_key,
            content_sha256,
        })
    }

    /// The oldest pending row after `after_id` that is due (`next_attempt_at <= now_ms`), with
    /// its files.
    ///
    /// Due times are wall-clock instants. A row due later than `now_ms + longest_wait_ms`, longer
    /// ahead than any wait the worker ever schedules, was scheduled before the clock was stepped
    /// back (a wrong RTC corrected, say): it is due now rather than parked until the clock
    /// catches up. A clock stepped forward makes rows due early, which only sends them sooner.
    pub fn outbox_next_due(
        &self,
        now_ms: i64,
        longest_wait_ms: i64,
        after_id: i64,
    ) -> Result<Option<OutboxPayload>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT id, idempotency_key, application_json, content_sha256, attempts,
                        grant_session_id, grant_signature, version
                 FROM outbox WHERE state = 'pending' AND id > ?2
                   AND (next_attempt_at <= ?1 OR next_attempt_at > ?1 + ?3)
                 ORDER BY id LIMIT 1",
                params![now_ms, after_id, longest_wait_ms],
                |r| {
                    let session: Option<String> = r.get(5)?;
                    let signature: Option<String> = r.get(6)?;
                    Ok(OutboxPayload {
                        id: r.get(0)?,
                        idempotency_key: r.get(1)?,
                        application_json: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        content_sha256: r.get(3)?,
                        attempts: r.get(4)?,
                        grant: session.zip(signature),
                        version: r.get(7)?,
                        materials: Vec::new(),
                    })
                },
            )
            .optional()?;
        let Some(mut payload) = row else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare(
            "SELECT m.kind, m.sha256, b.content FROM outbox_materials m
             LEFT JOIN material_blobs b ON b.blob_id = m.blob_id
             WHERE m.outbox_id = ?1 ORDER BY m.position",
        )?;
        payload.materials = stmt
            .query_map(params![payload.id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some(payload))
    }

    /// When the earliest pending row is due (ms), if any.
    pub fn outbox_next_attempt_at(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    /// A failed attempt that will be retried at `next_attempt_at_ms`.
    pub fn outbox_retry_later(
        &mut self,
        id: i64,
        next_attempt_at_ms: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
             WHERE id = ?1 AND state = 'pending'",
            params![id, next_attempt_at_ms, error],
        )?;
        Ok(())
    }

    /// The server refused the row for good: kept, with the server's message, for staff.
    pub fn outbox_failed(&mut self, id: i64, error: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2
             WHERE id = ?1 AND state = 'pending'",
            params![id, error],
        )?;
        Ok(())
    }

    /// The server refused the row's submission itself: the row is kept for staff, and the
    /// applicant's draft, if still here, becomes editable again with `reason` as what happened.
    pub fn outbox_refused(&mut self, id: i64, error: &str, reason: &str) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2
             WHERE id = ?1 AND state = 'pending'",
            params![id, error],
        )?;
        if n == 1 {
            let reopened = ReviewState::Rejected {
                reason: reason.to_owned(),
            };
            apply_review_to_draft(&tx, id, &reopened)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Staff put refused rows back in the queue, due now; returns how many.
    pub fn outbox_retry_failed(&mut self) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = 0 WHERE state = 'failed'",
            [],
        )?)
    }

    /// The server has the submission: records its id and status, and brings the status into the
    /// draft (when this row is the draft's latest submission), in one transaction.
    pub fn outbox_acked(
        &mut self,
        id: i64,
        submission_id: &str,
        review: &ReviewState,
        next_poll_at_ms: i64,
    ) -> Result<(), StoreError> {
        let review_json =
            serde_json::to_string(review).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE outbox SET state = 'acked', attempts = attempts + 1, submission_id = ?2,
                 review_json = ?3, next_poll_at = ?4, acked_at = ?5, last_error = NULL
             WHERE id = ?1 AND state = 'pending'",
            params![id, submission_id, review_json, next_poll_at_ms, now_unix()],
        )?;
        if n == 1 {
            apply_review_to_draft(&tx, id, review)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Acknowledged rows whose review is not decided yet and whose poll is due:
    /// `(row id, submission id)`.
    /// A poll due later than `now_ms + longest_wait_ms` is due now, as in [`Self::outbox_next_due`].
    pub fn outbox_to_poll(
        &self,
        now_ms: i64,
        longest_wait_ms: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, submission_id, review_json FROM outbox
             WHERE state = 'acked' AND submission_id IS NOT NULL
               AND (next_poll_at <= ?1 OR next_poll_at > ?1 + ?2)
             ORDER BY next_poll_at, id",
        )?;
        let rows = stmt
            .query_map(params![now_ms, longest_wait_ms], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows
            .into_iter()
            .filter(|(_, _, review)| !is_decided(review.as_deref()))
            .map(|(id, sub, _)| (id, sub))
            .collect())
    }

    /// The status the server reported for an acknowledged row; brought into the draft.
    pub fn outbox_review(
        &mut self,
        id: i64,
        review: &ReviewState,
        next_poll_at_ms: i64,
    ) -> Result<(), StoreError> {
        let review_json =
            serde_json::to_string(review).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE outbox SET review_json = ?2, next_poll_at = ?3 WHERE id = ?1 AND state = 'acked'",
            params![id, review_json, next_poll_at_ms],
        )?;
        // Applied at every poll (it is idempotent): a draft saved meanwhile by the session
        // gets the server's status back.
        if n == 1 {
            apply_review_to_draft(&tx, id, review)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The applicant's session at the screen is over (the UI wiped it).
    /// The keys of rows granted by `session_id` that the server has not acknowledged yet: at
    /// log-out the server is told to keep honouring these grants.
    pub fn outbox_pending_keys_of_session(
        &self,
        session_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT idempotency_key FROM outbox
             WHERE grant_session_id = ?1 AND state = 'pending' ORDER BY id",
        )?;
        let keys = stmt
            .query_map(params![session_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(keys)
    }

    pub fn outbox_end_session(&mut self, id_number: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET session_over = 1 WHERE draft_id = ?1",
            params![idnumber::normalize(id_number)],
        )?;
        Ok(())
    }

    /// The applicant is back at the screen (logged in again): keep their data until this
    /// session ends too.
    pub fn outbox_reopen_session(&mut self, id_number: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET session_over = 0 WHERE draft_id = ?1 AND state != 'done'",
            params![idnumber::normalize(id_number)],
        )?;
        Ok(())
    }

    /// No session survives a restart: called when the sync worker starts.
    pub fn outbox_end_all_sessions(&mut self) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET session_over = 1 WHERE session_over = 0",
            [],
        )?;
        Ok(())
    }

    /// Deletes the draft and material files of every applicant whose submissions the server has
    /// all acknowledged and whose session is over; their rows become `done` and lose their
    /// personal columns. Returns the number of drafts deleted.
    pub fn outbox_purge(&mut self) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let drafts: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT DISTINCT o.draft_id FROM outbox o
                 WHERE o.draft_id IS NOT NULL AND o.state = 'acked' AND o.session_over = 1
                   AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.draft_id = o.draft_id
                                   AND p.state IN ('pending', 'failed'))",
            )?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        let now = now_unix();
        for draft in &drafts {
            // Material files go with the draft (ON DELETE CASCADE).
            tx.execute("DELETE FROM drafts WHERE id_number = ?1", params![draft])?;
            tx.execute(
                "DELETE FROM outbox_materials WHERE outbox_id IN
                     (SELECT id FROM outbox WHERE draft_id = ?1)",
                params![draft],
            )?;
            tx.execute(
                "UPDATE outbox SET state = CASE state WHEN 'acked' THEN 'done' ELSE state END,
                     draft_id = NULL, application_json = NULL, done_at = ?2
                 WHERE draft_id = ?1",
                params![draft, now],
            )?;
        }
        tx.commit()?;
        if !drafts.is_empty() {
            self.checkpoint()?;
        }
        Ok(drafts.len())
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let mut counts = OutboxCounts::default();
        let mut stmt = self
            .conn
            .prepare("SELECT state, count(*) FROM outbox GROUP BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (state, n) = row?;
            match OutboxState::parse(&state) {
                OutboxState::Pending => counts.pending = n,
                OutboxState::Acked => counts.acked = n,
                OutboxState::Failed => counts.failed = n,
                OutboxState::Done => counts.done = n,
            }
        }
        Ok(counts)
    }

    /// Every outbox row, oldest first.
    pub fn outbox_rows(&self) -> Result<Vec<OutboxRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, idempotency_key, content_sha256, state, attempts, next_attempt_at,
                 last_error, submission_id, review_json, session_over
             FROM outbox ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(OutboxRow {
                    id: r.get(0)?,
                    idempotency_key: r.get(1)?,
                    content_sha256: r.get(2)?,
                    state: OutboxState::parse(&r.get::<_, String>(3)?),
                    attempts: r.get(4)?,
                    next_attempt_at_ms: r.get(5)?,
                    last_error: r.get(6)?,
                    submission_id: r.get(7)?,
                    review: r
                        .get::<_, Option<String>>(8)?
                        .and_then(|j| serde_json::from_str(&j).ok()),
                    session_over: r.get::<_, i64>(9)? != 0,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    pub fn material_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM material_blobs", [], |r| r.get(0))?)
    }

    /// The `table.column`s in which `needle` occurs, as text or inside a blob: the check that a
    /// finished visit left nothing of the applicant behind.
    pub fn columns_containing(&self, needle: &str) -> Result<Vec<String>, StoreError> {
        let tables: Vec<String> = {
            let mut stmt = self.conn.prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        let mut found = Vec::new();
        for table in tables {
            let columns: Vec<String> = {
                let mut stmt = self
                    .conn
                    .prepare("SELECT name FROM pragma_table_info(?1)")?;
                stmt.query_map(params![table], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            for column in columns {
                // Names come from the schema itself, quoted; the needle is a parameter.
                let sql = format!(
                    "SELECT EXISTS(SELECT 1 FROM \"{table}\"
                     WHERE instr(CAST(\"{column}\" AS BLOB), CAST(?1 AS BLOB)) > 0)"
                );
                let hit: bool = self.conn.query_row(&sql, params![needle], |r| r.get(0))?;
                if hit {
                    found.push(format!("{table}.{column}"));
                }
            }
        }
        Ok(found)
    }

    /// Deletes the drafts last changed before `cutoff_unix`, with their material files, unless a
    /// submission of theirs is still on its way or kept for staff (the outbox needs its files).
    /// Returns how many were deleted.
    pub fn delete_drafts_unchanged_since(&mut self, cutoff_unix: i64) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Material files go with the draft (ON DELETE CASCADE).
        let n = tx.execute(
            "DELETE FROM drafts WHERE updated_at < ?1
               AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.draft_id = drafts.id_number
                               AND o.state IN ('pending', 'acked', 'failed'))",
            params![cutoff_unix],
        )?;
        tx.commit()?;
        if n > 0 {
            self.checkpoint()?;
        }
        Ok(n)
    }

    /// TEST ONLY: the database may grow no further on this connection, as on a full disk.
    #[doc(hidden)]
    pub fn fill_up_for_tests(&self) -> Result<(), StoreError> {
        let pages: i64 = self.conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        self.conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
        Ok(())
    }

    /// TEST ONLY: every write on this connection fails, as on a file system remounted read-only.
    #[doc(hidden)]
    pub fn refuse_writes_for_tests(&self) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "query_only", true)?;
        Ok(())
    }

    /// Writes the WAL back into the database and truncates it.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

fn read_staff_lock(conn: &Connection) -> Result<StaffLock, StoreError> {
    let lock = conn
        .query_row(
            "SELECT recent, total, locked_until, admin_locked FROM staff_lock WHERE id = 1",
            [],
            |r| {
                Ok(StaffLock {
                    recent_failures: r.get(0)?,
                    total_failures: r.get(1)?,
                    locked_until_ms: r.get(2)?,
                    admin_locked: r.get::<_, i64>(3)? != 0,
                })
            },
        )
        .optional()?;
    Ok(lock.unwrap_or_default())
}

fn write_staff_lock(conn: &Connection, lock: &StaffLock) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO staff_lock (id, recent, total, locked_until, admin_locked, updated_at)
         VALUES (1, ?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET recent = excluded.recent, total = excluded.total,
             locked_until = excluded.locked_until, admin_locked = excluded.admin_locked,
             updated_at = excluded.updated_at",
        params![
            lock.recent_failures,
            lock.total_failures,
            lock.locked_until_ms,
            lock.admin_locked as i64,
            now_unix()
        ],
    )?;
    Ok(())
}

fn is_decided(review_json: Option<&str>) -> bool {
    review_json
        .and_then(|j| serde_json::from_str::<ReviewState>(j).ok())
        .is_some_and(|r| matches!(r, ReviewState::Approved | ReviewState::Rejected { .. }))
}

/// Applies a review status to the draft of outbox row `id`, when that row is the draft's latest
/// submission (an older submission's status must not overwrite a newer one's).
fn apply_review_to_draft(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    review: &ReviewState,
) -> Result<(), StoreError> {
    let draft: Option<Option<String>> = tx
        .query_row(
            "SELECT draft_id FROM outbox o WHERE id = ?1
               AND id = (SELECT max(id) FROM outbox WHERE draft_id = o.draft_id)",
            params![id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(Some(draft)) = draft else {
        return Ok(());
    };
    let record: Option<String> = tx
        .query_row(
            "SELECT record FROM drafts WHERE id_number = ?1",
            params![draft],
            |r| r.get(0),
        )
        .optional()?;
    let Some(record) = record else {
        return Ok(());
    };
    let mut app: Application =
        serde_json::from_str(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if app.review() == review {
        return Ok(());
    }
    if let Err(e) = app.apply_review(review.clone()) {
        tracing::warn!(error = %e, "review status not applied to the draft");
        return Ok(());
    }
    let record = serde_json::to_string(&app).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.execute(
        "UPDATE drafts SET record = ?2, revision = revision + 1, updated_at = ?3
         WHERE id_number = ?1",
        params![draft, record, now_unix()],
    )?;
    Ok(())
}

fn prepare_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| StoreError::DataDir(dir.to_owned(), e))?;
    restrict_to_owner(dir).map_err(|e| StoreError::DataDir(dir.to_owned(), e))
}

fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o700 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_sqlcipher_cannot_take_is_told_apart_from_other_failures() {
        // An empty key is refused by the same path as a failed crypto set-up: same error shape.
        let conn = Connection::open_in_memory().expect("in-memory database");
        let refused = conn
            .pragma_update(None, "key", "")
            .expect_err("an empty key is refused");
        assert!(is_key_setup_failure(&refused), "{refused:?}");
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        assert!(!is_key_setup_failure(&busy));
    }
}
