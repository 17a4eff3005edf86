//! The kiosk's local store: SQLCipher (encrypted at rest), WAL with `synchronous=FULL` so a power
//! cut keeps every committed draft, `secure_delete` so deleted personal data is overwritten.
//!
//! Drafts are saved at every step and found again by ID number; material files live beside them
//! in the same encrypted database. `Connection` is not `Sync`: one `Store` per thread.

mod key;
mod schema;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use kiosk_domain::record::MaterialFile;
use kiosk_domain::{Application, idnumber};
use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use sha2::{Digest, Sha256};
use thiserror::Error;

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
            StoreError::NoIdNumber => "请先填写证件号码",
            StoreError::NoSuchDraft => "未找到该证件号码的草稿",
            StoreError::Corrupt(_) | StoreError::Sqlite(_) => {
                "本机存储出错，已填写的内容未丢失，请联系工作人员"
            }
        }
    }
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

fn is_not_a_database(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::NotADatabase)
}

impl Store {
    /// Opens (or creates) the store in `data_dir` with the key in `key_file` (created if missing).
    pub fn open(data_dir: &Path, key_file: &Path) -> Result<Store, StoreError> {
        prepare_dir(data_dir)?;
        let key = key::load_or_create(key_file)?;
        let db_path = data_dir.join(DB_FILE);
        let mut conn = Connection::open(&db_path)?;
        // SQLite gives the WAL and shared-memory files the database file's mode.
        restrict_to_owner(&db_path).map_err(|e| StoreError::DataDir(db_path.clone(), e))?;
        conn.pragma_update(None, "key", key.pragma_value())
            .map_err(StoreError::from)?;
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

    /// Writes the WAL back into the database and truncates it.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
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
