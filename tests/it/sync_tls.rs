//! The kiosk against the real central server over HTTPS with the hall's private CA, made the
//! way hall IT makes it (`central ca init` / `ca issue`, here through the library): the pinned
//! CA delivers, a certificate from another CA is refused and reported as a certificate problem,
//! plain HTTP to the TLS port fails cleanly. Loopback only.

use crate::sync_support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kiosk::accounts::{AccountError, Accounts as _};
use kiosk::store::OutboxState;
use kiosk::sync::Worker;
use kiosk::sync::accounts::RemoteAccounts;
use kiosk::sync::http::Endpoint;
use kiosk_server::tls;
use sync_support::{Applicant, Central, capture_logs, config, open_store, submit};

/// An HTTPS front on the database of a plain [`Central`] (which keeps its helpers: devices,
/// accounts, the submissions it stored).
struct TlsFront {
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TlsFront {
    fn start(central: &Central, cert: &Path, key: &Path) -> TlsFront {
        let tls = tls::server_config(cert, key).expect("server certificate");
        let sms = Arc::new(kiosk_server::sms::FileSender::new(
            central.db.with_extension("sms"),
        ));
        let state = kiosk_server::state(central.store.clone(), sms, central.blobs.clone());
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
            let _ = kiosk_server::serve_tls(listener, tls, state, std::future::pending()).await;
        });
        TlsFront {
            addr,
            runtime: Some(runtime),
        }
    }

    fn https(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// A hall's CA in `dir` and a server certificate for 127.0.0.1 signed by it.
fn hall(dir: &Path) -> (PathBuf, tls::Written) {
    let ca = tls::ca_init(dir).expect("ca init");
    let server = tls::ca_issue(dir, &["127.0.0.1".to_owned()]).expect("ca issue");
    (ca.cert, server)
}

#[test]
fn the_pinned_ca_delivers_end_to_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    let central = Central::start(&dir.path().join("central.db"));
    let (ca, server) = hall(&dir.path().join("hall"));
    let front = TlsFront::start(&central, &server.cert, &server.key);
    let token = central.device("hall-tls-1");
    let who = Applicant::new(31);
    central.register(&who);

    let kiosk_dir = dir.path().join("kiosk");
    let mut store = open_store(&kiosk_dir);
    let receipt = submit(&mut store, &who);
    let mut sync = config(&front.https(), &token);
    sync.server_ca = Some(ca.clone());
    let mut worker = Worker::new(open_store(&kiosk_dir), sync).expect("worker");
    assert!(
        worker
            .run_until_idle(sync_support::SETTLE_BOUND)
            .expect("runs"),
        "delivered over HTTPS"
    );
    assert_eq!(worker.status().online, Some(true));
    let on_server = central.submissions();
    assert_eq!(on_server.len(), 1);
    assert_eq!(on_server[0].idempotency_key, receipt.idempotency_key);
    let rows = store.outbox_rows().expect("rows");
    assert_eq!(rows[0].state, OutboxState::Acked);

    // The account service builds its client in the same place and trusts the same CA.
    let mut accounts = RemoteAccounts::new(
        Endpoint::new(&front.https(), Some(&ca)),
        &token,
        open_store(&kiosk_dir),
    )
    .expect("client");
    assert!(matches!(
        accounts.log_in(&who.id_number, "not-the-password-1"),
        Err(AccountError::WrongCredentials)
    ));
}

#[test]
fn a_certificate_from_another_ca_is_refused_and_reported_as_such() {
    let dir = tempfile::tempdir().expect("temp dir");
    let central = Central::start(&dir.path().join("central.db"));
    let (_, server) = hall(&dir.path().join("hall"));
    // The kiosk pins a different hall's CA: the server's certificate does not chain to it.
    let (other_ca, _) = hall(&dir.path().join("other-hall"));
    let front = TlsFront::start(&central, &server.cert, &server.key);
    let token = central.device("hall-tls-2");
    let who = Applicant::new(32);
    central.register(&who);

    let kiosk_dir = dir.path().join("kiosk");
    let mut store = open_store(&kiosk_dir);
    submit(&mut store, &who);
    let ((), logs) = capture_logs(tracing::Level::INFO, || {
        let mut sync = config(&front.https(), &token);
        sync.server_ca = Some(other_ca.clone());
        let mut worker = Worker::new(open_store(&kiosk_dir), sync).expect("worker");
        let pass = worker.run_once().expect("runs");
        assert_eq!((pass.attempts, pass.acked, pass.retried), (1, 0, 1));
        assert_eq!(worker.status().online, Some(false));

        let mut accounts = RemoteAccounts::new(
            Endpoint::new(&front.https(), Some(&other_ca)),
            &token,
            open_store(&kiosk_dir),
        )
        .expect("client");
        assert!(matches!(
            accounts.log_in(&who.id_number, "not-the-password-1"),
            Err(AccountError::Offline)
        ));
    });

    assert!(central.submissions().is_empty(), "nothing delivered");
    let rows = store.outbox_rows().expect("rows");
    assert_eq!(
        rows[0].state,
        OutboxState::Pending,
        "kept and retried later"
    );
    let why = rows[0].last_error.clone().unwrap_or_default();
    assert!(why.starts_with("TLS certificate refused"), "{why}");
    let logs = logs.text();
    assert!(
        logs.contains("TLS certificate problem") && logs.contains("context=\"sync\""),
        "{logs}"
    );
    assert!(logs.contains("context=\"accounts\""), "{logs}");
    assert!(
        !logs.contains(&who.id_number) && !logs.contains(&who.name),
        "nothing personal in the logs"
    );

    // Without server_ca the system roots are used, and they do not know the hall's CA either.
    let attempts = store.outbox_rows().expect("rows")[0].attempts;
    let mut worker =
        Worker::new(open_store(&kiosk_dir), config(&front.https(), &token)).expect("worker");
    assert!(
        !worker.run_until_idle(Duration::from_secs(1)).expect("runs"),
        "never delivered"
    );
    let row = store.outbox_rows().expect("rows").remove(0);
    assert!(row.attempts > attempts, "tried again");
    let why = row.last_error.unwrap_or_default();
    assert!(why.starts_with("TLS certificate refused"), "{why}");
    assert!(central.submissions().is_empty());
}

#[test]
fn plain_http_to_the_tls_port_fails_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let central = Central::start(&dir.path().join("central.db"));
    let (ca, server) = hall(&dir.path().join("hall"));
    let front = TlsFront::start(&central, &server.cert, &server.key);
    let token = central.device("hall-tls-3");
    let who = Applicant::new(33);
    central.register(&who);

    let kiosk_dir = dir.path().join("kiosk");
    let mut store = open_store(&kiosk_dir);
    submit(&mut store, &who);
    let mut sync = config(&format!("http://{}", front.addr), &token);
    sync.server_ca = Some(ca.clone());
    let mut worker = Worker::new(open_store(&kiosk_dir), sync).expect("worker");
    let pass = worker.run_once().expect("runs");
    assert_eq!((pass.acked, pass.retried), (0, 1));
    assert_eq!(worker.status().online, Some(false));
    let rows = store.outbox_rows().expect("rows");
    assert_eq!(rows[0].state, OutboxState::Pending);
    // The server's TLS stack drops the connection: an unreachable server, not a certificate.
    let why = rows[0].last_error.clone().unwrap_or_default();
    assert!(!why.is_empty() && !why.starts_with("TLS"), "{why}");
    assert!(central.submissions().is_empty());

    // The server shrugged it off: the same row goes through once the URL is right.
    let mut sync = config(&front.https(), &token);
    sync.server_ca = Some(ca);
    let mut worker = Worker::new(open_store(&kiosk_dir), sync).expect("worker");
    assert!(
        worker
            .run_until_idle(sync_support::SETTLE_BOUND)
            .expect("runs")
    );
    assert_eq!(central.submissions().len(), 1);
}
