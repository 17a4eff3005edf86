//! Files `central` writes at rest are 0600 even under a umask that would let every user read
//! them: the SQLite database with its -wal and -shm files, the development SMS file (its codes
//! log phones in) and the keys of `central ca init|issue`.
//!
//! The umask is the process's, and the other tests of this binary create files at the same time:
//! each check runs alone in a child process (`common::run_alone`), which sets umask 000.

use crate::common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use kiosk_server::sms::{FileSender, SmsSender as _};
use kiosk_server::sqlite::SqliteStore;
use kiosk_server::store::Role;
use kiosk_server::{auth, tls, util};

/// Runs the check `name` of `alone` below in a child process of its own.
fn under_umask_000(name: &str) {
    common::run_alone(&format!("file_modes::alone::{name}"), &[]);
}

#[test]
fn the_database_and_its_wal_and_shm_are_private() {
    under_umask_000("the_database_and_its_wal_and_shm_are_private");
}

#[test]
fn the_development_sms_file_is_private() {
    under_umask_000("the_development_sms_file_is_private");
}

#[test]
fn ca_keys_are_private() {
    under_umask_000("ca_keys_are_private");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The checks, each run alone in a process by the test of the same name above.
mod alone {
    use super::*;

    /// Sets the umask to 000 when this process is the child `common::run_alone` started for the
    /// check `name`. Among other tests (`--include-ignored`) it changes nothing and the check is
    /// skipped: the others' files would be created world-readable.
    fn permissive_umask(name: &str) -> bool {
        if !common::is_alone(&format!("file_modes::alone::{name}")) {
            return false;
        }
        // SAFETY: umask only swaps the process's file-creation mask; it touches no memory.
        unsafe {
            libc::umask(0);
        }
        true
    }

    #[test]
    #[ignore = "run alone under umask 000 by the test of the same name above"]
    fn the_database_and_its_wal_and_shm_are_private() {
        if !permissive_umask("the_database_and_its_wal_and_shm_are_private") {
            return;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("central.db");
        let store = SqliteStore::open(&path).expect("open");
        // A write, so the WAL holds something while the store is open.
        auth::enrol(
            &store,
            "hall-1",
            Role::Device,
            None,
            "cli:test",
            util::now(),
        )
        .expect("enrol");
        for file in [
            path.clone(),
            with_suffix(&path, "-wal"),
            with_suffix(&path, "-shm"),
        ] {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        drop(store);
        // Reopened, the file keeps its mode.
        drop(SqliteStore::open(&path).expect("reopen"));
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    #[ignore = "run alone under umask 000 by the test of the same name above"]
    fn the_development_sms_file_is_private() {
        if !permissive_umask("the_development_sms_file_is_private") {
            return;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sms.txt");
        let sender = FileSender::new(&path);
        sender.send_code("13800138000", "123456").expect("send");
        sender
            .send_code("13800138001", "654321")
            .expect("send again");
        assert_eq!(mode(&path), 0o600);
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 2, "{text}");
    }

    #[test]
    #[ignore = "run alone under umask 000 by the test of the same name above"]
    fn ca_keys_are_private() {
        if !permissive_umask("ca_keys_are_private") {
            return;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = tls::ca_init(dir.path()).expect("ca init");
        let server = tls::ca_issue(dir.path(), &["127.0.0.1".to_owned()]).expect("ca issue");
        assert_eq!(mode(&ca.key), 0o600);
        assert_eq!(mode(&server.key), 0o600);
        // Certificates are public by design.
        assert_eq!(mode(&ca.cert), 0o644);
        // Reissuing replaces the key and keeps it private.
        let again = tls::ca_issue(dir.path(), &["127.0.0.1".to_owned()]).expect("reissue");
        assert_eq!(mode(&again.key), 0o600);
    }
}
