//! The encrypted store: reopening, wrong keys, no personal data in clear on disk, and drafts that
//! survive a SIGKILL in the middle of saving.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use kiosk::store::{StaffLock, StaffLockRules, Store, StoreError};
use kiosk_domain::samples::{self, Branch};
use kiosk_domain::{Application, MaterialKind};

const ID: &str = "110101199003070011";
const NAME: &str = "张三";

fn sample() -> Application {
    let mut app = Application::new();
    app.edit(|d| *d = samples::complete(Branch::Employed))
        .expect("a new application is editable");
    app
}

fn open(dir: &Path) -> Result<Store, StoreError> {
    Store::open(dir, &dir.join("kiosk.key"))
}

/// Every file below `dir`, read whole.
fn all_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(all_bytes(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[test]
fn drafts_survive_reopening_and_are_found_by_id_number() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = sample();
    {
        let mut store = open(dir.path()).expect("creates");
        assert_eq!(store.save_draft(&app).expect("saves").revision, 1);
        assert_eq!(store.save_draft(&app).expect("saves").revision, 2);
    }
    let store = open(dir.path()).expect("reopens");
    let (loaded, info) = store
        .load_draft("110101 19900307 0011")
        .expect("reads")
        .expect("the draft is there");
    assert_eq!(loaded, app);
    assert_eq!(info.revision, 2);
    assert!(
        store
            .load_draft("11010519491231002X")
            .expect("reads")
            .is_none()
    );
}

#[test]
fn wrong_staff_pins_and_their_lock_survive_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = StaffLockRules {
        attempts: 5,
        lockout_ms: 600_000,
        admin_after: 10,
    };
    let now = 1_800_000_000_000;
    {
        let mut store = open(dir.path()).expect("open");
        for _ in 0..4 {
            store.staff_pin_wrong(now, rules).expect("counted");
        }
    }
    let mut store = open(dir.path()).expect("reopen");
    let four = StaffLock {
        recent_failures: 4,
        total_failures: 4,
        locked_until_ms: 0,
        admin_locked: false,
    };
    assert_eq!(store.staff_lock().expect("read"), four);
    // A right PIN clears the counts while the admin's lock is not on.
    store.staff_pin_right().expect("cleared");
    assert_eq!(store.staff_lock().expect("read"), StaffLock::default());
    for _ in 0..4 {
        store.staff_pin_wrong(now, rules).expect("counted");
    }
    let timed = store.staff_pin_wrong(now, rules).expect("counted");
    assert_eq!(
        timed,
        StaffLock {
            recent_failures: 0,
            total_failures: 5,
            locked_until_ms: now + 600_000,
            admin_locked: false,
        }
    );
    let mut lock = timed;
    for _ in 0..5 {
        lock = store
            .staff_pin_wrong(now + 700_000, rules)
            .expect("counted");
    }
    assert!(lock.admin_locked);
    assert_eq!(lock.total_failures, 10);
    // Only the admin's unlock lifts it, not a right PIN nor a reopening.
    store.staff_pin_right().expect("runs");
    assert_eq!(
        open(dir.path())
            .expect("reopen")
            .staff_lock()
            .expect("read"),
        lock
    );
    assert_eq!(store.staff_unlock().expect("unlocked"), lock);
    assert_eq!(
        open(dir.path())
            .expect("reopen")
            .staff_lock()
            .expect("read"),
        StaffLock::default()
    );
}

#[test]
fn a_wrong_key_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    open(dir.path())
        .expect("creates")
        .save_draft(&sample())
        .expect("saves");
    // Another store's key (a missing key file is refused before any key is tried).
    let other = tempfile::tempdir().expect("temp dir");
    drop(open(other.path()).expect("another store"));
    let wrong = Store::open(dir.path(), &other.path().join("kiosk.key"));
    assert!(
        matches!(wrong, Err(StoreError::WrongKey)),
        "{:?}",
        wrong.err()
    );
    let message = StoreError::WrongKey.message_zh();
    assert!(message.contains("无法解密"));
    std::fs::write(dir.path().join("kiosk.key"), "not a key").expect("write");
    assert!(matches!(
        open(dir.path()),
        Err(StoreError::KeyFileCorrupt(_))
    ));
}

#[test]
fn a_store_whose_key_file_is_gone_is_refused_untouched_and_no_new_key_is_made() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open(dir.path()).expect("creates");
    store.save_draft(&kiosk_domain::Application::default()).ok();
    drop(store);
    let db = dir.path().join("kiosk.db");
    let before = std::fs::read(&db).expect("the store's file");
    std::fs::remove_file(dir.path().join("kiosk.key")).expect("the key goes");
    let refused = open(dir.path());
    assert!(
        matches!(refused, Err(StoreError::KeyFileMissing(_))),
        "{:?}",
        refused.err()
    );
    assert!(
        !dir.path().join("kiosk.key").exists(),
        "no new key was made"
    );
    assert_eq!(std::fs::read(&db).expect("still there"), before);
    assert!(
        StoreError::KeyFileMissing(db)
            .message_zh()
            .contains("没有被改动")
    );
}

#[test]
fn the_key_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    open(dir.path()).expect("creates");
    let mode = std::fs::metadata(dir.path().join("kiosk.key"))
        .expect("key file exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn no_personal_data_in_clear_anywhere_in_the_data_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut app = sample();
    let mut store = open(dir.path()).expect("creates");
    store.save_draft(&app).expect("saves");
    let photo = format!("JPEG of {NAME} {ID}").into_bytes();
    let file = store.put_material(ID, &photo).expect("stores the file");
    app.edit(|d| d.materials.insert(MaterialKind::Photo, vec![file]))
        .expect("editable");
    store.save_draft(&app).expect("saves");
    let needles: [(&str, Vec<u8>); 6] = [
        ("id", ID.as_bytes().to_vec()),
        ("id utf-16", utf16le(ID)),
        ("name", NAME.as_bytes().to_vec()),
        ("name utf-16", utf16le(NAME)),
        ("mobile", b"13800138000".to_vec()),
        ("employer", "云南某某科技有限公司".as_bytes().to_vec()),
    ];
    let check = |when: &str| {
        let files = all_bytes(dir.path());
        assert!(files.iter().any(|(p, _)| p.ends_with("kiosk.db-wal")) || when == "closed");
        for (path, bytes) in &files {
            for (what, needle) in &needles {
                assert!(
                    !contains(bytes, needle),
                    "{what} in clear in {path} ({when})"
                );
            }
        }
    };
    check("open");
    drop(store);
    check("closed");
    // The control: the same search does find the data once decrypted.
    let store = open(dir.path()).expect("reopens");
    let (loaded, _) = store.load_draft(ID).expect("reads").expect("exists");
    assert_eq!(loaded.data().basic.name, NAME);
}

#[test]
fn materials_belong_to_their_draft_and_go_with_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open(dir.path()).expect("creates");
    assert!(matches!(
        store.put_material(ID, b"x"),
        Err(StoreError::NoSuchDraft)
    ));
    store.save_draft(&sample()).expect("saves");
    let file = store.put_material(ID, b"image bytes").expect("stores");
    assert_eq!(file.bytes, 11);
    assert_eq!(file.sha256.len(), 64);
    assert_eq!(
        store.material(&file.blob_id).expect("reads"),
        Some(b"image bytes".to_vec())
    );
    assert!(store.delete_draft(ID).expect("deletes"));
    assert_eq!(store.material(&file.blob_id).expect("reads"), None);
    assert_eq!(store.draft_count().expect("counts"), 0);
    assert!(!store.delete_draft(ID).expect("deletes nothing"));
}

const CHILD_ENV: &str = "KIOSK_STORE_CHILD_DIR";

/// Run as a child process by `a_sigkill_mid_save_keeps_the_last_committed_draft`: saves drafts
/// in a loop and reports each commit on stdout. Does nothing when run normally.
#[test]
fn child_saves_drafts_until_killed() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut store = open(Path::new(&dir)).expect("child opens the store");
    let mut app = sample();
    for n in 1.. {
        app.edit(|d| {
            d.basic.postal_address = format!("云南省昆明市五华区人民中路{n}号");
            // Bulk so each commit writes many pages and a kill lands mid-write.
            d.education.full_time.major = "会计学".repeat(30);
        })
        .expect("editable");
        let info = store.save_draft(&app).expect("child saves");
        println!("committed {} {n}", info.revision);
    }
}

#[test]
fn a_sigkill_mid_save_keeps_the_last_committed_draft() {
    let dir = tempfile::tempdir().expect("temp dir");
    open(dir.path()).expect("creates");
    let exe = std::env::current_exe().expect("test binary");
    let mut last_revision = 0;
    for round in 0..5 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "store::child_saves_drafts_until_killed",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("piped");
        let mut committed = None;
        // Kill after a varying number of commits so the kill lands at different points.
        let target = 20 + round * 37;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("line");
            if let Some(rest) = line.strip_prefix("committed ") {
                let mut parts = rest.split(' ');
                let revision: i64 = parts.next().and_then(|p| p.parse().ok()).expect("revision");
                let n: u64 = parts.next().and_then(|p| p.parse().ok()).expect("counter");
                committed = Some((revision, n));
                if n >= target {
                    child.kill().expect("SIGKILL");
                    break;
                }
            }
        }
        let _ = child.wait();
        let (revision, n) = committed.expect("the child committed something");
        let store = open(dir.path()).expect("reopens after SIGKILL");
        let (app, info) = store
            .load_draft(ID)
            .expect("reads")
            .expect("draft survives");
        // The kill may land after a commit that was not yet reported, never before a reported one.
        assert!(
            info.revision >= revision,
            "round {round}: lost a committed draft"
        );
        assert!(info.revision > last_revision);
        let address = &app.data().basic.postal_address;
        let stored_n: u64 = address
            .trim_start_matches("云南省昆明市五华区人民中路")
            .trim_end_matches('号')
            .parse()
            .expect("intact record");
        // The child may be a few commits ahead of what this side has read from the pipe.
        assert!(
            stored_n >= n,
            "round {round}: stored {stored_n}, reported {n}"
        );
        last_revision = info.revision;
    }
}
