//! The kiosk's local store: SQLCipher (encrypted at rest), WAL with `synchronous=FULL` so a power
//! cut keeps every committed draft, `secure_delete` so deleted personal data is overwritten.
//!
//! Drafts are saved at every step and found again by ID number; material files live beside them
//! in the same encrypted database. `Connection` is not `Sync`: one `Store` per thread.
//!
//! This file opens the store and holds what all of it shares; each table family has a module
//! with an `impl Store` block of its own: `drafts`, `materials`, `accounts`, `staff_lock`, and
//! `outbox` (the sync worker's queue).

mod accounts;
mod drafts;
mod key;
mod materials;
mod outbox;
mod process_lock;
mod schema;
mod staff_lock;
mod voice;

pub use accounts::StoredAccount;
pub use drafts::DraftInfo;
pub use outbox::{OutboxCounts, OutboxPayload, OutboxReceipt, OutboxRow, OutboxState};
pub use process_lock::StoreLock;
pub use staff_lock::{StaffLock, StaffLockRules};
pub use voice::VoiceSettings;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, ErrorCode, params};
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
    #[error("the key file {0} is missing but a store exists; no new key is made over it")]
    KeyFileMissing(PathBuf),
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
    /// A saved draft's record does not parse: the database holds something this build cannot
    /// read as a draft. Only where and how it fails is kept, never serde's message.
    #[error(
        "a saved draft cannot be read: {problem} at line {line}, column {column} of its record"
    )]
    Corrupt {
        problem: &'static str,
        line: usize,
        column: usize,
    },
    /// A record could not be turned into JSON: a bug of this build, nothing was written.
    #[error("cannot encode {what} for the local database: {source}")]
    Encode {
        what: &'static str,
        source: serde_json::Error,
    },
    /// The operating system had no random bytes for an identifier: nothing was written, and a
    /// later try may succeed.
    #[error("no random bytes from the operating system for {what}: {source}")]
    Randomness {
        what: &'static str,
        source: getrandom::Error,
    },
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
            StoreError::KeyFileMissing(_) => {
                "本机数据的密钥文件不见了，已保存的数据无法打开，也没有被改动，请联系工作人员"
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
            StoreError::Corrupt { .. } => "本机保存的草稿已损坏，无法读取，请联系工作人员",
            StoreError::Randomness { .. } => {
                "本机暂时无法完成这一步，已填写的内容未丢失，请稍后再试；如仍不行，请联系工作人员"
            }
            StoreError::Encode { .. } | StoreError::Sqlite(_) => {
                "本机存储出错，已填写的内容未丢失，请联系工作人员"
            }
        }
    }

    /// The error for a stored draft record that does not parse. serde's own message is left
    /// out: it can quote the record's values (a name, an ID number), and error texts reach logs.
    fn corrupt_draft(error: &serde_json::Error) -> StoreError {
        use serde_json::error::Category;
        let problem = match error.classify() {
            Category::Syntax => "not valid JSON",
            Category::Eof => "the record ends too early",
            Category::Data => "JSON that is not a draft of this build",
            Category::Io => "a read error",
        };
        StoreError::Corrupt {
            problem,
            line: error.line(),
            column: error.column(),
        }
    }

    /// For `map_err` on encoding `what` to JSON.
    fn encode(what: &'static str) -> impl FnOnce(serde_json::Error) -> StoreError {
        move |source| StoreError::Encode { what, source }
    }
}

/// 16 random bytes in hex, for `what` (a material file's id, a submission's idempotency key).
fn random_id(what: &'static str) -> Result<String, StoreError> {
    random_id_from(getrandom::fill, what)
}

fn random_id_from(
    fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
    what: &'static str,
) -> Result<String, StoreError> {
    let mut raw = [0u8; 16];
    fill(&mut raw).map_err(|source| StoreError::Randomness { what, source })?;
    Ok(key::hex(&raw))
}

fn sqlite_code(error: &rusqlite::Error) -> Option<rusqlite::ErrorCode> {
    error.sqlite_error_code()
}
pub struct Store {
    conn: Connection,
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
        let db_path = data_dir.join(DB_FILE);
        // A store without its key cannot be opened again; a new key would only hide that, and
        // the pending submissions in it, behind a "wrong key".
        if db_path.exists() && !key_file.exists() {
            return Err(StoreError::KeyFileMissing(key_file.to_owned()));
        }
        let key = key::load_or_create(key_file)?;
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

    #[test]
    fn no_random_bytes_is_a_randomness_failure_not_corruption() {
        let failed = random_id_from(|_| Err(getrandom::Error::UNSUPPORTED), "a test id")
            .expect_err("no bytes, no id");
        assert!(
            matches!(
                failed,
                StoreError::Randomness {
                    what: "a test id",
                    ..
                }
            ),
            "{failed:?}"
        );
        assert!(failed.to_string().contains("a test id"), "{failed}");
        assert!(
            failed.message_zh().contains("未丢失"),
            "{}",
            failed.message_zh()
        );
        let id = random_id_from(
            |raw| {
                raw.fill(0xab);
                Ok(())
            },
            "a test id",
        )
        .expect("bytes, an id");
        assert_eq!(id, "ab".repeat(16));
    }

    #[test]
    fn a_record_that_cannot_be_encoded_is_an_encode_failure_not_corruption() {
        // JSON objects take only string keys: the one encoding failure serde_json has to offer.
        let unencodable = std::collections::HashMap::from([((1u8, 2u8), 3u8)]);
        let failed = serde_json::to_string(&unencodable)
            .map_err(StoreError::encode("a test record"))
            .expect_err("tuple keys do not encode");
        assert!(
            matches!(
                failed,
                StoreError::Encode {
                    what: "a test record",
                    ..
                }
            ),
            "{failed:?}"
        );
        assert!(
            failed.message_zh().contains("未丢失"),
            "{}",
            failed.message_zh()
        );
    }

    /// One error of each kind (and each SQLite case `message_zh` tells apart).
    fn one_of_each() -> Vec<StoreError> {
        let path = || PathBuf::from("/data");
        let io = || std::io::Error::other("test");
        let json = || serde_json::from_str::<u8>("x").expect_err("not a number");
        let sqlite = |code| {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(code),
                None,
            ))
        };
        vec![
            StoreError::WrongKey,
            StoreError::KeyFile(path(), io()),
            StoreError::KeyFileCorrupt(path()),
            StoreError::KeyFileMissing(path()),
            StoreError::DataDir(path(), io()),
            StoreError::NewerSchema {
                found: 2,
                supported: 1,
            },
            StoreError::NoIdNumber,
            StoreError::NoSuchDraft,
            StoreError::corrupt_draft(&json()),
            StoreError::Encode {
                what: "a test record",
                source: json(),
            },
            StoreError::Randomness {
                what: "a test id",
                source: getrandom::Error::UNSUPPORTED,
            },
            StoreError::NotSubmitted,
            StoreError::MissingMaterial,
            StoreError::InUse(path()),
            sqlite(rusqlite::ffi::SQLITE_FULL),
            sqlite(rusqlite::ffi::SQLITE_READONLY),
            sqlite(rusqlite::ffi::SQLITE_IOERR),
        ]
    }

    /// The kiosk's English texts are looked up in the catalogue by the Chinese sentence.
    #[test]
    fn every_message_has_an_english_entry_in_the_catalogue() {
        let po = include_str!("../../translations/en/LC_MESSAGES/kiosk.po");
        let missing: Vec<&str> = one_of_each()
            .iter()
            .map(StoreError::message_zh)
            .filter(|zh| !po.contains(&format!("msgid \"{zh}\"\nmsgstr \"")))
            .collect();
        assert!(missing.is_empty(), "not in kiosk.po: {missing:#?}");
    }

    #[test]
    fn disk_full_and_read_only_keep_their_own_messages() {
        let sqlite = |code| {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(code),
                None,
            ))
        };
        assert!(
            sqlite(rusqlite::ffi::SQLITE_FULL)
                .message_zh()
                .contains("存储空间已满")
        );
        assert!(
            sqlite(rusqlite::ffi::SQLITE_READONLY)
                .message_zh()
                .contains("无法写入")
        );
        assert_eq!(
            sqlite(rusqlite::ffi::SQLITE_IOERR).message_zh(),
            "本机存储出错，已填写的内容未丢失，请联系工作人员"
        );
    }
}
