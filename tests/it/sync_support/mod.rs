//! Shared by the sync tests: the real central server in-process (restartable on the same
//! database), invented applicants registered on it, and submitted drafts in a kiosk store.

#![allow(dead_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use kiosk::store::{OutboxReceipt, Store};
use kiosk::sync::ApplicantSession;
use kiosk_domain::samples::{self, Branch};
use kiosk_domain::wizard::Progress;
use kiosk_domain::{Application, Context, MaterialKind, Step, Wizard, idnumber};
use kiosk_server::sqlite::SqliteStore;
use kiosk_server::store::{
    AuditEntry, NewAccount, NewSession, Role, Store as ServerStore, SubmissionRow,
};

/// A running `central` on 127.0.0.1 (its own multi-thread runtime on its own thread).
pub struct Central {
    pub db: PathBuf,
    pub addr: SocketAddr,
    pub store: Arc<SqliteStore>,
    /// Where the server stages submissions' files (`<db>-blobs`).
    pub blobs: Arc<kiosk_server::blobs::DiskBlobs>,
    runtime: Option<tokio::runtime::Runtime>,
    /// The device id of the last kiosk enrolled: accounts made afterwards get a session there.
    last_device: Mutex<Option<String>>,
}

/// The blob directory of the server on `db`, as `central serve` makes it by default.
pub fn blob_dir(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}-blobs", db.display()))
}

fn audit(action: &str) -> AuditEntry {
    AuditEntry::new("cli:test", action, "test", "ok", kiosk_server::util::now())
}

impl Central {
    pub fn start(db: &Path) -> Central {
        let store = Arc::new(SqliteStore::open(db).expect("server db"));
        let sms = Arc::new(kiosk_server::sms::FileSender::new(db.with_extension("sms")));
        let blobs =
            Arc::new(kiosk_server::blobs::DiskBlobs::open(&blob_dir(db)).expect("server blob dir"));
        let state = kiosk_server::state(store.clone(), sms, blobs.clone());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("server runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        runtime.spawn(async move {
            let _ = kiosk_server::serve(listener, state, std::future::pending()).await;
        });
        Central {
            db: db.to_owned(),
            addr,
            store,
            blobs,
            runtime: Some(runtime),
            last_device: Mutex::new(None),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops abruptly (connections dropped, no graceful shutdown) and starts again on the same
    /// database, on a new port.
    pub fn restart(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
        let last_device = self.last_device.lock().expect("device").take();
        *self = Central::start(&self.db.clone());
        *self.last_device.lock().expect("device") = last_device;
    }

    pub fn device(&self, name: &str) -> String {
        let enrolled = kiosk_server::auth::enrol(
            &*self.store,
            name,
            Role::Device,
            None,
            "cli:test",
            kiosk_server::util::now(),
        )
        .expect("enrol");
        *self.last_device.lock().expect("device") = Some(enrolled.id.clone());
        enrolled.token
    }

    /// The applicant's session (`Applicant::session`) as the server issues it at log-in on the
    /// last kiosk enrolled.
    pub fn open_session(&self, who: &Applicant) {
        let Some(device_id) = self.last_device.lock().expect("device").clone() else {
            return;
        };
        insert_session_of(&*self.store, &device_id, who, 1800);
    }

    /// An account with a bound phone, as registration leaves it.
    pub fn register(&self, who: &Applicant) {
        insert_account_of(&*self.store, who);
        self.open_session(who);
    }

    /// An account with a real password, as the finance bureau imports it (`mobile` `None`: an
    /// accountant on file who binds a phone at first log-in).
    pub fn import(&self, who: &Applicant, password: &str, mobile: Option<&str>) {
        let account = NewAccount {
            id_type: "resident_id_card".into(),
            id_number: who.id_number.clone(),
            name: who.name.clone(),
            mobile: mobile.map(str::to_owned),
            password_hash: kiosk_server::auth::hash_password(password).expect("hash"),
        };
        self.store
            .insert_account(&account, &audit("import account"))
            .expect("insert account");
        self.open_session(who);
    }

    pub fn submissions(&self) -> Vec<SubmissionRow> {
        self.store.submissions(None, None).expect("list")
    }
}

impl Drop for Central {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// `who`'s account with a bound phone, as registration leaves it, on any server store.
pub fn insert_account_of(store: &dyn ServerStore, who: &Applicant) {
    let account = NewAccount {
        id_type: "resident_id_card".into(),
        id_number: who.id_number.clone(),
        name: who.name.clone(),
        mobile: Some(who.mobile.clone()),
        password_hash: "$argon2id$not-used".into(),
    };
    store
        .insert_account(&account, &audit("register"))
        .expect("insert account");
}

/// The session `Applicant::session` names, as the server issues it at log-in on the kiosk
/// `device_id`, valid for `lifetime_secs`.
pub fn insert_session_of(
    store: &dyn ServerStore,
    device_id: &str,
    who: &Applicant,
    lifetime_secs: i64,
) {
    let Some(account) = store.account_by_id_number(&who.id_number).expect("account") else {
        return;
    };
    let session = who.session();
    store
        .insert_session(
            &NewSession {
                token_sha256: kiosk_server::util::sha256_hex(session.token.as_bytes()),
                session_id: session.session_id.clone(),
                account_id: account.id,
                device_id: device_id.to_owned(),
                signing_key: kiosk_wire::grant::signing_key_hex(&session.token),
                expires_at: kiosk_server::util::now() + lifetime_secs,
            },
            &audit("login"),
        )
        .expect("session");
}

/// xorshift64*: a tiny seeded generator, so a failing fault test or soak can be replayed by its
/// seed (which must not be 0).
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform enough in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// An invented applicant: a distinct, valid ID number (the sample's birth date and gender).
#[derive(Debug, Clone)]
pub struct Applicant {
    pub n: u32,
    pub id_number: String,
    pub name: String,
    pub mobile: String,
}

impl Applicant {
    pub fn new(n: u32) -> Applicant {
        // Odd sequence numbers: the sample applicant is male, born 1990-03-07.
        let first17 = format!("53010219900307{:03}", 2 * n + 1);
        let check = idnumber::check_character(&first17).expect("check character");
        Applicant {
            n,
            id_number: format!("{first17}{check}"),
            name: ["钱七", "孙八", "周九", "吴十"][n as usize % 4].to_owned(),
            mobile: format!("1390087{:04}", 1000 + n),
        }
    }

    /// The session this applicant logs in with in these tests (registered on the server by
    /// `Central::register`, `Central::import` or `Central::open_session`).
    pub fn session(&self) -> ApplicantSession {
        ApplicantSession::new(
            &format!("ses_test_{:06}", self.n),
            &format!("test-session-token-{:06}", self.n),
        )
    }
}

fn today() -> time::Date {
    kiosk_server::util::today()
}

/// A fake JPEG of `size` bytes, distinct per applicant and kind.
#[path = "../../../server/tests/it/common/jpeg.rs"]
mod test_jpeg;

/// Saves a complete draft with its material files in `store` (not submitted).
pub fn complete_draft(store: &mut Store, who: &Applicant) -> Application {
    complete_draft_with_scans_of(store, who, 2_000)
}

/// As [`complete_draft`], each scan `scan_bytes` long (the photo 15,000).
pub fn complete_draft_with_scans_of(
    store: &mut Store,
    who: &Applicant,
    scan_bytes: usize,
) -> Application {
    let mut data = samples::complete(Branch::Employed);
    data.basic.id_number = who.id_number.clone();
    data.basic.name = who.name.clone();
    data.basic.mobile = who.mobile.clone();
    let mut app = Application::new();
    app.edit(|d| *d = data.clone()).expect("editable");
    store.save_draft(&app).expect("save draft");
    let mut materials = data.materials.clone();
    for (kind, files) in materials.iter_mut() {
        for (i, file) in files.iter_mut().enumerate() {
            let size = if *kind == MaterialKind::Photo {
                15_000
            } else {
                scan_bytes
            };
            let seed = (who.n as u8).wrapping_mul(7) ^ (kind.key().len() as u8) ^ (i as u8);
            let stored = store
                .put_material(
                    &who.id_number,
                    &test_jpeg::jpeg_of_length(*kind == MaterialKind::Photo, size, seed),
                )
                .expect("put material");
            *file = kiosk_domain::record::MaterialFile {
                width: file.width,
                height: file.height,
                ..stored
            };
        }
    }
    app.edit(|d| d.materials = materials).expect("editable");
    store.save_draft(&app).expect("save draft");
    app
}

/// Marks the draft submitted through the wizard, as the kiosk's submit button does.
pub fn mark_submitted(app: &mut Application) {
    let progress = Progress {
        validation: Context::new(today()),
        signed_in: true,
    };
    let mut wizard = Wizard::resume(app, &progress);
    wizard
        .go_to(Step::Summary, app, &progress)
        .expect("every step complete");
    wizard.submit(app, &progress).expect("submits");
}

/// A complete draft, submitted to the outbox (what the applicant sees as "已提交").
pub fn submit(store: &mut Store, who: &Applicant) -> OutboxReceipt {
    let mut app = complete_draft(store, who);
    mark_submitted(&mut app);
    store
        .submit_to_outbox(&app, Some(&who.session()))
        .expect("committed to the outbox")
}

/// Runs a sync worker on the kiosk store in `data` until nothing is left to send.
pub fn deliver(data: &Path, url: &str, token: &str) {
    let mut worker =
        kiosk::sync::Worker::new(open_store(data), config(url, token)).expect("worker");
    assert!(worker.run_until_idle(SETTLE_BOUND).expect("runs"));
}

pub fn open_store(dir: &Path) -> Store {
    Store::open(dir, &dir.join("kiosk.key")).expect("kiosk store")
}

/// The upper bound of a wait for the outbox to settle. Waits return as soon as nothing is
/// pending, so the bound only decides how long a real failure takes to be reported; it is wide
/// because a loaded two-core machine running the whole suite once took over 30 s for what takes
/// 10 s alone.
pub const SETTLE_BOUND: std::time::Duration = std::time::Duration::from_secs(180);

/// Waits until the outbox's next retry is due (a test's backoff is capped at 300 ms).
pub fn wait_until_due(store: &Store) {
    let deadline = std::time::Instant::now() + SETTLE_BOUND;
    while let Some(at) = store.outbox_next_attempt_at().expect("next attempt") {
        if at <= kiosk::store::now_ms() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the retry never came due"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A quick worker configuration for tests.
pub fn config(url: &str, token: &str) -> kiosk::sync::SyncConfig {
    let mut config = kiosk::sync::SyncConfig::new(url, token);
    config.connect_timeout = std::time::Duration::from_secs(2);
    config.request_timeout = std::time::Duration::from_secs(5);
    config.backoff_base = std::time::Duration::from_millis(20);
    config.backoff_cap = std::time::Duration::from_millis(300);
    config.poll_interval = std::time::Duration::ZERO;
    config
}

/// Collects every log line written through it (a `tracing` writer), to search the logs for
/// personal data.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

thread_local! {
    /// The capture of this thread's log lines, and the least severe level it takes.
    static CAPTURE: std::cell::RefCell<Option<(tracing::Level, Captured)>> =
        const { std::cell::RefCell::new(None) };
}

/// Writes a log line into the calling thread's capture, or nowhere.
struct ThreadCapture;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ThreadCapture {
    type Writer = Box<dyn Write>;
    fn make_writer(&'a self) -> Self::Writer {
        match CAPTURE.with_borrow(|c| c.as_ref().map(|(_, logs)| logs.clone())) {
            Some(logs) => Box::new(logs),
            None => Box::new(std::io::sink()),
        }
    }
}

/// Runs `f` with the log lines this thread writes at `level` or above collected.
///
/// One subscriber serves the whole test binary and asks at each event whether its thread is
/// capturing. A subscriber per test (`with_default`) is not enough once many tests share a
/// process: tracing caches per call site whether anyone listens, and a line first met on a
/// thread without a subscriber could then be lost to a capture on another.
pub fn capture_logs<R>(level: tracing::Level, f: impl FnOnce() -> R) -> (R, Captured) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::{Layer, util::SubscriberInitExt};
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // Asked at every event: a filter that answered once per call site would cache the
        // answer of whichever thread met the call site first.
        let wanted = tracing_subscriber::filter::dynamic_filter_fn(|meta, _| {
            CAPTURE.with_borrow(|c| c.as_ref().is_some_and(|(level, _)| meta.level() <= level))
        })
        .with_callsite_filter(|_| tracing::subscriber::Interest::sometimes());
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(ThreadCapture)
            .with_filter(wanted);
        let _ = tracing_subscriber::registry().with(layer).try_init();
    });
    let logs = Captured::default();
    CAPTURE.set(Some((level, logs.clone())));
    // Cleared even if `f` panics, so a failed test does not leave its capture on the thread.
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            CAPTURE.set(None);
        }
    }
    let _clear = Clear;
    (f(), logs)
}

/// Nothing of `who` is left in the kiosk's store at `data`: no table holds their ID number, name
/// or phone number, and no file of the store holds them in the clear.
pub fn assert_nothing_of(who: &Applicant, data: &Path) {
    let mut store = open_store(data);
    store.outbox_purge().ok();
    for needle in [&who.id_number, &who.name, &who.mobile] {
        let found = store.columns_containing(needle).expect("scan");
        assert!(found.is_empty(), "still on the kiosk in {found:?}");
    }
    drop(store);
    for entry in std::fs::read_dir(data).expect("data dir").flatten() {
        let Ok(bytes) = std::fs::read(entry.path()) else {
            continue;
        };
        for needle in [&who.id_number, &who.name, &who.mobile] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} holds it in the clear",
                entry.path().display()
            );
        }
    }
}

/// Reads one HTTP/1.1 request from `stream` as the test servers here receive it: its request
/// line (trimmed, e.g. `PUT /v1/submissions/k HTTP/1.1`) and its body (by `Content-Length`).
pub fn read_request(stream: &std::net::TcpStream) -> (String, Vec<u8>) {
    use std::io::{BufRead, BufReader, Read};
    let Ok(clone) = stream.try_clone() else {
        return (String::new(), Vec::new());
    };
    let mut reader = BufReader::new(clone);
    let mut request_line = String::new();
    let _ = reader.read_line(&mut request_line);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    (request_line.trim().to_owned(), body)
}
