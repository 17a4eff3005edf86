//! A real server on 127.0.0.1 with an ephemeral port, on SQLite or PostgreSQL, a tiny HTTP/1.1
//! client, and invented applicants.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use kiosk_domain::samples::{self, Branch};
use kiosk_domain::{Application, MaterialKind, idnumber};
use kiosk_server::postgres::PgStore;
use kiosk_server::sms::FileSender;
use kiosk_server::sqlite::SqliteStore;
use kiosk_server::store::{Role, Store};
use kiosk_server::{auth, canonical, util};
use serde_json::{Value, json};

pub mod jpeg;
pub mod logs;

/// The longest a test waits for what takes milliseconds when all is well (a server starting, a
/// byte arriving, another upload finishing): far beyond that something is broken, and a machine
/// under full load still gets there well within it.
pub const WAIT_AT_MOST: Duration = Duration::from_secs(60);

/// Checks `condition` every few milliseconds until it holds; panics, naming `what` it waited
/// for, if it does not within [`WAIT_AT_MOST`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT_AT_MOST;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "waited {WAIT_AT_MOST:?} for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The PostgreSQL server the tests create their databases on: a superuser URL.
pub const POSTGRES_URL_VAR: &str = "KIOSK_TEST_POSTGRES_URL";

/// The store a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Instantiates each listed test function (taking a [`Backend`]) once per backend, as
/// `sqlite::NAME` and `postgres::NAME`, so that one suite checks both stores.
// The bench includes this module too and has no tests.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($test:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $test() {
                    super::$test($crate::common::Backend::Sqlite)
                }
            )+
        }
        mod postgres {
            $(
                #[test]
                fn $test() {
                    super::$test($crate::common::Backend::Postgres)
                }
            )+
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_backends;

/// Runs the ignored test `name` (its path in this binary, as `memory::hashing_rss_child`) alone
/// in a child process of this test binary, with `env` added; returns what it printed. For a test
/// that must not share its process with the others running at once here: one that measures the
/// process's memory, or changes what is the process's (its umask).
pub fn run_alone(name: &str, env: &[(&str, &std::ffi::OsStr)]) -> String {
    let exe = std::env::current_exe().expect("the test executable");
    let output = std::process::Command::new(exe)
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ALONE_VAR, name)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("running {name} in a child process: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} failed in its child process:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // `--exact` with a name that matches nothing passes, having run nothing: a test renamed or
    // moved to another module must not pass unseen.
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{name} did not run in its child process:\n{stdout}"
    );
    stdout
}

/// Set, to the test's name, in the child process of [`run_alone`].
const ALONE_VAR: &str = "KIOSK_TEST_ALONE";

/// Whether this process is the child [`run_alone`] started for the test `name`, so that the test
/// may change what is the process's. `false` when it runs among others, as under
/// `cargo test -- --include-ignored`.
pub fn is_alone(name: &str) -> bool {
    std::env::var_os(ALONE_VAR).is_some_and(|alone| alone == name)
}

/// The admin URL of the test PostgreSQL. Fails the test when it is not configured: a silently
/// skipped PostgreSQL run would hide the backend's bugs.
pub fn postgres_admin_url() -> String {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{POSTGRES_URL_VAR} is not set, so the PostgreSQL variant of this test cannot run. \
             Run ./scripts/test, which starts a private PostgreSQL and sets it, or first \
             `source scripts/postgres.sh && ensure_test_postgres`."
        ),
    }
}

/// A database of its own for one test on the test PostgreSQL, dropped with it.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create() -> PgDatabase {
        PgDatabase::create_on(&postgres_admin_url())
    }

    /// A database of its own on the cluster of `admin_url` (a superuser URL).
    pub fn create_on(admin_url: &str) -> PgDatabase {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let admin_url = admin_url.to_owned();
        // Unique across test binaries running at once and across reruns after a crash.
        let name = format!(
            "kiosk_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            util::hex(&util::random_bytes::<4>())
        );
        let mut admin = ::postgres::Client::connect(&admin_url, ::postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL: {e}"));
        // Identifiers cannot be parameters; the name is ours and only [a-z0-9_].
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let url = kiosk_server::postgres::with_database(&admin_url, &name);
        PgDatabase {
            admin_url,
            name,
            url,
        }
    }

    /// Runs SQL on this database as the server's own role would (test set-up).
    pub fn execute(&self, sql: &str) {
        self.try_execute(sql).unwrap();
    }

    pub fn try_execute(&self, sql: &str) -> Result<(), ::postgres::Error> {
        let mut client = ::postgres::Client::connect(&self.url, ::postgres::NoTls)?;
        client.batch_execute(sql)
    }

    /// Every row of every table as PostgreSQL's text form, like a data-only dump: what a
    /// database administrator or a stolen backup would see.
    pub fn dump(&self) -> String {
        let mut client = ::postgres::Client::connect(&self.url, ::postgres::NoTls).unwrap();
        let tables: Vec<String> = client
            .query(
                "SELECT table_name::TEXT FROM information_schema.tables \
                 WHERE table_schema = 'public' ORDER BY 1",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut dump = String::new();
        for table in tables {
            let rows = client
                .query(&format!("SELECT t::TEXT FROM \"{table}\" t"), &[])
                .unwrap();
            for row in rows {
                dump.push_str(row.get::<_, &str>(0));
                dump.push('\n');
            }
        }
        dump
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // FORCE ends the connections the test server still holds. Best effort: a leftover
        // database only costs disk in the test cluster.
        if let Ok(mut admin) = ::postgres::Client::connect(&self.admin_url, ::postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A test's database: a file in the test's directory or a PostgreSQL database of its own.
pub enum TestDb {
    Sqlite(PathBuf),
    Postgres(PgDatabase),
}

impl TestDb {
    /// A new, empty database for `backend`; a SQLite file goes into `dir`.
    pub fn create(backend: Backend, dir: &Path) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::Sqlite(dir.join("central.db")),
            Backend::Postgres => TestDb::Postgres(PgDatabase::create()),
        }
    }

    /// The value of `central --db`.
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite(path) => format!("sqlite://{}", path.display()),
            TestDb::Postgres(db) => db.url.clone(),
        }
    }

    pub fn open(&self) -> Arc<dyn Store> {
        match self {
            TestDb::Sqlite(path) => Arc::new(SqliteStore::open(path).unwrap()),
            TestDb::Postgres(db) => Arc::new(PgStore::connect(&db.url).unwrap()),
        }
    }

    /// Everything the database holds as bytes: for SQLite the file and its WAL, for PostgreSQL
    /// every row in text form. For searching for what must never be stored.
    pub fn stored_bytes(&self) -> Vec<u8> {
        match self {
            TestDb::Sqlite(path) => {
                let mut wal = path.clone().into_os_string();
                wal.push("-wal");
                let mut bytes = std::fs::read(path).unwrap_or_default();
                bytes.extend(std::fs::read(wal).unwrap_or_default());
                bytes
            }
            TestDb::Postgres(db) => db.dump().into_bytes(),
        }
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub backend: Backend,
    pub store: Arc<dyn Store>,
    pub db: TestDb,
    pub sms_file: PathBuf,
    pub dir: tempfile::TempDir,
    /// Where the server stages submissions' files.
    pub blobs: Arc<kiosk_server::blobs::DiskBlobs>,
    /// Applicant sessions this test obtained, by (device token, ID number): `put` grants a
    /// submission with the applicant's session as a kiosk does.
    sessions: std::sync::Mutex<std::collections::HashMap<(String, String), Session>>,
    /// The `central` process serving, when the server is not in this process.
    process: Option<std::process::Child>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A receipt code of the right shape, drawn at random (a row made without a real session).
pub fn random_receipt_code() -> String {
    util::random_bytes::<{ kiosk_wire::receipt::LEN }>()
        .iter()
        .map(|b| char::from(kiosk_wire::receipt::ALPHABET[usize::from(b & 31)]))
        .collect()
}

/// An applicant session as log-in or registration answers it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub token: String,
}

impl Session {
    pub fn from_answer(resp: &Resp) -> Option<Session> {
        Some(Session {
            id: resp.body["session_id"].as_str()?.to_owned(),
            token: resp.body["session_token"].as_str()?.to_owned(),
        })
    }

    /// The grant a kiosk sends with a submission under `key`.
    pub fn grant(&self, key: &str, body: &Value) -> Value {
        let hash = body["content_sha256"].as_str().unwrap_or_default();
        json!({
            "session_id": self.id,
            "signature": kiosk_wire::grant::sign(&self.token, &self.id, key, hash),
        })
    }
}

/// `body` with the grant of `session` on `key`.
pub fn granted(mut body: Value, key: &str, session: &Session) -> Value {
    body["grant"] = session.grant(key, &body);
    body
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub raw: String,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.raw)
    }
}

impl Server {
    pub fn start_on(backend: Backend) -> Server {
        Server::start_with_limits(backend, kiosk_server::Limits::default(), None)
    }

    /// A server whose state `adjust` may change first (e.g. a smaller hashing pool).
    pub fn start_with(
        backend: Backend,
        adjust: impl FnOnce(kiosk_server::AppState) -> kiosk_server::AppState,
    ) -> Server {
        Server::start_full(backend, kiosk_server::Limits::default(), None, adjust)
    }

    /// A server within `limits`, over TLS with `tls` (plain HTTP without).
    pub fn start_with_limits(
        backend: Backend,
        limits: kiosk_server::Limits,
        tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    ) -> Server {
        Server::start_full(backend, limits, tls, |state| state)
    }

    /// A server whose every log line, at every level, goes to `logs` (and no other server's).
    /// The calling thread's lines go there too: the set-up before the server runs logs on it.
    pub fn start_capturing_logs(backend: Backend, logs: &logs::Logs) -> Server {
        logs.capture_this_thread();
        Server::start_logging(
            backend,
            kiosk_server::Limits::default(),
            None,
            |state| state,
            Some(logs.clone()),
        )
    }

    fn start_full(
        backend: Backend,
        limits: kiosk_server::Limits,
        tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
        adjust: impl FnOnce(kiosk_server::AppState) -> kiosk_server::AppState,
    ) -> Server {
        Server::start_logging(backend, limits, tls, adjust, None)
    }

    fn start_logging(
        backend: Backend,
        limits: kiosk_server::Limits,
        tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
        adjust: impl FnOnce(kiosk_server::AppState) -> kiosk_server::AppState,
        logs: Option<logs::Logs>,
    ) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::create(backend, dir.path());
        let sms_file = dir.path().join("sms.txt");
        let store = db.open();
        let blobs =
            Arc::new(kiosk_server::blobs::DiskBlobs::open(&dir.path().join("blobs")).unwrap());
        let state = adjust(kiosk_server::state(
            store.clone(),
            Arc::new(FileSender::new(&sms_file)),
            blobs.clone(),
        ));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut runtime = tokio::runtime::Builder::new_multi_thread();
            if let Some(logs) = logs {
                // This thread runs the accept loop; the runtime's workers and blocking threads
                // (every request's store and hashing work) start later.
                logs.capture_this_thread();
                runtime.on_thread_start(move || logs.capture_this_thread());
            }
            let runtime = runtime.worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                kiosk_server::serve_with(listener, state, tls, limits, std::future::pending())
                    .await
                    .unwrap();
            });
        });
        Server {
            addr,
            backend,
            store,
            db,
            sms_file,
            dir,
            blobs,
            sessions: Default::default(),
            process: None,
        }
    }

    /// The `central` binary at `exe` serving `db` as a process of its own (so that its memory
    /// can be measured apart from the clients'), on a free loopback port, with `extra`
    /// arguments to `serve`. Returns once it answers `/health`.
    pub fn spawn_central(exe: &Path, db: TestDb, dir: tempfile::TempDir, extra: &[&str]) -> Server {
        let sms_file = dir.path().join("sms.txt");
        let blob_dir = dir.path().join("blobs");
        let store = db.open();
        let blobs = Arc::new(kiosk_server::blobs::DiskBlobs::open(&blob_dir).unwrap());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let process = std::process::Command::new(exe)
            .args(["serve", "--listen", &addr.to_string()])
            .arg("--sms-file")
            .arg(&sms_file)
            .arg("--blob-dir")
            .arg(&blob_dir)
            .args(extra)
            .env("CENTRAL_DB", db.url())
            .env("CENTRAL_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", exe.display()));
        let backend = match db {
            TestDb::Sqlite(_) => Backend::Sqlite,
            TestDb::Postgres(_) => Backend::Postgres,
        };
        let server = Server {
            addr,
            backend,
            store,
            db,
            sms_file,
            dir,
            blobs,
            sessions: Default::default(),
            process: Some(process),
        };
        wait_until("central to listen", || TcpStream::connect(addr).is_ok());
        server
    }

    /// The process id of the `central` process, if the server is one.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(std::process::Child::id)
    }

    /// The value of `central --db` for this server's database.
    pub fn db_url(&self) -> String {
        self.db.url()
    }

    pub fn enrol(&self, name: &str, role: Role) -> String {
        auth::enrol(&*self.store, name, role, None, "cli:test", util::now())
            .unwrap()
            .token
    }

    pub fn device(&self, name: &str) -> String {
        self.enrol(name, Role::Device)
    }

    /// A province-level reviewer (every bureau).
    pub fn reviewer(&self) -> String {
        self.enrol("bureau-reviewer", Role::Reviewer)
    }

    /// A reviewer of one finance bureau.
    pub fn bureau_reviewer(&self, bureau: u32) -> String {
        auth::enrol(
            &*self.store,
            "bureau-reviewer",
            Role::Reviewer,
            Some(bureau),
            "cli:test",
            util::now(),
        )
        .unwrap()
        .token
    }

    /// Logs `who` in on the kiosk of `device` (with `who.password`).
    pub fn log_in(&self, device: &str, who: &Applicant) -> Session {
        let resp = self.post(
            "/v1/accounts/login",
            device,
            &json!({ "id_number": who.id_number, "password": who.password }),
        );
        let session = Session::from_answer(&resp).unwrap_or_else(|| panic!("log-in: {resp:?}"));
        self.remember(device, &who.id_number, &session);
        session
    }

    fn remember(&self, device: &str, id_number: &str, session: &Session) {
        self.sessions.lock().unwrap().insert(
            (device.to_owned(), idnumber::normalize(id_number)),
            session.clone(),
        );
    }

    /// The session this test holds for the applicant of a submission body on `device`, if any.
    pub fn session_for(&self, device: &str, body: &Value) -> Option<Session> {
        let id = body["application"]["data"]["basic"]["id_number"].as_str()?;
        self.sessions
            .lock()
            .unwrap()
            .get(&(device.to_owned(), idnumber::normalize(id)))
            .cloned()
    }

    /// One request on a fresh connection (`Connection: close`, read to the end).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        extra: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Resp {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let content_type = (!body.is_empty()).then_some("application/json");
        self.request_bytes(method, path, token, extra, body.as_bytes(), content_type)
    }

    /// One request with a body of raw bytes, on a fresh connection.
    pub fn request_bytes(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        extra: &[(&str, &str)],
        body: &[u8],
        content_type: Option<&str>,
    ) -> Resp {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if let Some(content_type) = content_type {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        if let Some(token) = token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        parse_response(&raw)
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request("GET", path, token, &[], None)
    }

    pub fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.request("POST", path, Some(token), &[], Some(body))
    }

    /// A PUT as a kiosk makes it: a submission without a grant gets the grant of the session
    /// this test holds for its applicant on this device (see `register` and `log_in`).
    pub fn put(&self, path: &str, token: &str, body: &Value) -> Resp {
        let key = path.strip_prefix("/v1/submissions/").unwrap_or_default();
        if body.get("grant").is_none()
            && !key.is_empty()
            && let Some(session) = self.session_for(token, body)
        {
            return self.put_raw(path, token, &granted(body.clone(), key, &session));
        }
        self.put_raw(path, token, body)
    }

    /// A PUT of `body` as the record: the files it carries inline (`bytes_base64`, this tests'
    /// own form) are first uploaded as blobs under its grant, if it has one, as a kiosk does,
    /// and left out of the record.
    pub fn put_raw(&self, path: &str, token: &str, body: &Value) -> Resp {
        let key = path.strip_prefix("/v1/submissions/").unwrap_or_default();
        if !key.is_empty() {
            self.stage_files(token, key, body);
        }
        self.request(
            "PUT",
            path,
            Some(token),
            &[],
            Some(&without_inline_files(body)),
        )
    }

    /// Uploads each file `body` carries inline as a blob, whole, with the body's grant on `key`.
    pub fn stage_files(&self, token: &str, key: &str, body: &Value) {
        let Some(grant) = body.get("grant") else {
            return;
        };
        for m in body["materials"].as_array().into_iter().flatten() {
            let (Some(sha), Some(inline)) = (m["sha256"].as_str(), m["bytes_base64"].as_str())
            else {
                continue;
            };
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(inline) else {
                continue;
            };
            let headers = blob_headers(key, body, grant);
            // As a kiosk does: a file another upload is writing right now is tried again a
            // little later, not skipped, so the record never arrives before its files. Bounded:
            // after that the record is sent all the same, and its answer tells what is missing.
            let deadline = Instant::now() + WAIT_AT_MOST;
            loop {
                let answer = self.put_blob(token, sha, 0, bytes.len() as u64, &bytes, &headers);
                if answer.body["error"] != "blob_busy" || Instant::now() >= deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// `PUT /v1/blobs/{sha}` of `bytes`, starting at `offset` of a blob of `length` bytes.
    pub fn put_blob(
        &self,
        token: &str,
        sha: &str,
        offset: u64,
        length: u64,
        bytes: &[u8],
        grant_headers: &[(String, String)],
    ) -> Resp {
        let offset = offset.to_string();
        let length = length.to_string();
        let mut extra: Vec<(&str, &str)> = grant_headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        extra.extend([
            ("Blob-Offset", offset.as_str()),
            ("Blob-Length", length.as_str()),
        ]);
        self.request_bytes(
            "PUT",
            &format!("/v1/blobs/{sha}"),
            Some(token),
            &extra,
            bytes,
            Some("application/octet-stream"),
        )
    }

    /// The last code the development sender wrote for this phone (found by its masked form).
    pub fn last_sms_code(&self, mobile: &str) -> String {
        let masked = kiosk_domain::privacy::mask_mobile(mobile);
        let text = std::fs::read_to_string(&self.sms_file).unwrap();
        assert!(
            !text.contains(mobile),
            "the SMS file holds a full phone number"
        );
        text.lines()
            .rev()
            .find_map(|line| {
                let mut parts = line.split(' ');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some("code"), Some(m), Some(code)) if m == masked => Some(code.to_owned()),
                    _ => None,
                }
            })
            .expect("no SMS code for this phone")
    }

    /// Registers an applicant through the API.
    pub fn register(&self, device: &str, who: &Applicant) -> Resp {
        let sent = self.post(
            "/v1/sms/codes",
            device,
            &json!({ "mobile": who.mobile, "purpose": "register" }),
        );
        assert_eq!(sent.status, 202, "{sent:?}");
        let code = self.last_sms_code(&who.mobile);
        let resp = self.post(
            "/v1/accounts",
            device,
            &json!({
                "id_type": "resident_id_card",
                "id_number": who.id_number,
                "name": who.name,
                "mobile": who.mobile,
                "sms_code": code,
                "password": who.password,
                "password_confirm": who.password,
            }),
        );
        if let Some(session) = Session::from_answer(&resp) {
            self.remember(device, &who.id_number, &session);
        }
        resp
    }
}

fn parse_response(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("no status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    let raw = String::from_utf8_lossy(&body).into_owned();
    let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        raw,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..end])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
}

/// An invented applicant. `n` picks a distinct ID number (valid check character), phone and
/// name; everything else is the domain's employed sample.
#[derive(Debug, Clone)]
pub struct Applicant {
    pub id_number: String,
    pub name: String,
    pub mobile: String,
    pub password: String,
}

impl Applicant {
    pub fn new(n: u32) -> Applicant {
        // Odd sequence numbers: the sample applicant is male.
        let first17 = format!("11010119900307{:03}", 2 * n + 1);
        let check = idnumber::check_character(&first17).unwrap();
        Applicant {
            id_number: format!("{first17}{check}"),
            name: ["张三", "李四", "王五", "赵六"][n as usize % 4].to_owned(),
            mobile: format!("1380013{:04}", 8000 + n),
            password: "secret123".to_owned(),
        }
    }

    /// A complete application and its uploads; `variant` changes the work certificate's bytes
    /// (and so the content) without making the application incomplete.
    pub fn submission(&self, variant: u8) -> Value {
        self.submission_with(
            |kind, seed| {
                if kind == MaterialKind::Photo {
                    jpeg::jpeg_of_length(true, 15_000, seed)
                } else {
                    jpeg::jpeg_of_length(false, 2_000, seed)
                }
            },
            |kind| {
                if kind == MaterialKind::WorkCertificate {
                    variant
                } else {
                    0
                }
            },
            0,
        )
    }

    /// An employed applicant's complete submission: `make_file(kind, seed)` makes each file (the
    /// seed differs per file), `variant` is mixed into each kind's seeds, and
    /// `extra_work_pages` more pages of the work certificate.
    pub fn submission_with(
        &self,
        make_file: impl Fn(MaterialKind, u8) -> Vec<u8>,
        variant: impl Fn(MaterialKind) -> u8,
        extra_work_pages: usize,
    ) -> Value {
        let mut data = samples::complete(Branch::Employed);
        data.basic.id_number = self.id_number.clone();
        data.basic.name = self.name.clone();
        data.basic.mobile = self.mobile.clone();
        if let Some(pages) = data.materials.get_mut(&MaterialKind::WorkCertificate)
            && let Some(first) = pages.first().cloned()
        {
            pages.extend(std::iter::repeat_n(first, extra_work_pages));
        }
        let mut uploads = Vec::new();
        for (kind, files) in data.materials.iter_mut() {
            for (i, file) in files.iter_mut().enumerate() {
                let seed = (kind.key().len() as u8)
                    .wrapping_add((i as u8).wrapping_mul(17))
                    .wrapping_add(variant(*kind));
                let bytes = make_file(*kind, seed);
                file.bytes = bytes.len() as u64;
                file.sha256 = util::sha256_hex(&bytes);
                uploads.push(json!({
                    "kind": kind,
                    "sha256": file.sha256,
                    "bytes_base64": base64::engine::general_purpose::STANDARD.encode(&bytes),
                }));
            }
        }
        let mut app = Application::new();
        app.edit(|d| *d = data).unwrap();
        let mut application = serde_json::to_value(&app).unwrap();
        // As the kiosk sends it: submitted through the wizard.
        application["review"] = json!({ "state": "submitted" });
        envelope(application, uploads)
    }
}

/// The headers that carry `body`'s grant on `key` for a blob upload.
pub fn blob_headers(key: &str, body: &Value, grant: &Value) -> Vec<(String, String)> {
    [
        ("Kiosk-Submission-Key", key),
        (
            "Kiosk-Content-Sha256",
            body["content_sha256"].as_str().unwrap_or_default(),
        ),
        (
            "Kiosk-Grant-Session",
            grant["session_id"].as_str().unwrap_or_default(),
        ),
        (
            "Kiosk-Grant-Signature",
            grant["signature"].as_str().unwrap_or_default(),
        ),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v.to_owned()))
    .collect()
}

/// `body` without the files it carries inline: the record as the server takes it.
pub fn without_inline_files(body: &Value) -> Value {
    let mut record = body.clone();
    if let Some(materials) = record["materials"].as_array_mut() {
        for m in materials {
            if let Some(m) = m.as_object_mut() {
                m.remove("bytes_base64");
            }
        }
    }
    record
}

/// Wraps an application and uploads into a request body with the right content hash.
pub fn envelope(application: Value, uploads: Vec<Value>) -> Value {
    let declared: Vec<(String, String)> = uploads
        .iter()
        .map(|u| {
            let kind: MaterialKind = serde_json::from_value(u["kind"].clone()).unwrap();
            (
                kind.key().to_owned(),
                u["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let hash = canonical::content_sha256(&application, &declared);
    json!({ "application": application, "materials": uploads, "content_sha256": hash })
}

/// A fresh idempotency key.
pub fn key() -> String {
    format!("k-{}", util::hex(&util::random_bytes::<16>()))
}
