//! Slow and silent clients cannot hold the server: request heads, request bodies and TLS
//! handshakes have deadlines, connections a cap, and a normal request gets through while a
//! hundred clients trickle their headers. Real servers on 127.0.0.1 with short limits, so the
//! whole file runs in a few seconds.
//!
//! The deadlines are the behaviour under test, so these tests do wait on the clock; their bounds
//! are wide enough for a machine under full load. A deadline is met when the connection closes
//! after it (never before: the client's clock starts first) and before [`LATE`]; a request is
//! "not held up" when it is answered while the clients that would hold it are still connected.

use crate::common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Applicant, Backend, Server, key};
use kiosk_server::Limits;
use serde_json::json;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::{self, ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// Longest wait of any read in this file, so a server that never answers fails the test
/// instead of hanging it.
const READ_LIMIT: Duration = Duration::from_secs(30);

/// The latest a connection may close for a deadline of about a second to count as met: seconds
/// of slack for a loaded machine, yet short of the defaults (10 s for a head or a handshake,
/// 60 s for a body), so a limit that was not applied still fails.
const LATE: Duration = Duration::from_secs(8);

fn short(limits: impl FnOnce(&mut Limits)) -> Limits {
    let mut chosen = Limits::default();
    limits(&mut chosen);
    chosen
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(READ_LIMIT)).expect("timeout");
    stream
}

/// Reads until the server closes the connection; what it sent, or the read error (a timeout
/// when the server kept the connection open).
fn read_until_closed(stream: &mut TcpStream) -> Result<Vec<u8>, std::io::Error> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(received),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            // A server that closes with unread bytes may reset instead of FIN: closed all the same.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(received),
            Err(e) => return Err(e),
        }
    }
}

/// Whether the server still holds `stream` open: nothing to read, and no end of stream.
fn still_open(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).expect("nonblocking");
    let mut byte = [0u8; 1];
    let open = matches!(stream.peek(&mut byte), Err(e) if e.kind() == ErrorKind::WouldBlock);
    stream.set_nonblocking(false).expect("blocking");
    open
}

fn assert_closed_after(
    stream: &mut TcpStream,
    opened: Instant,
    at_least: Duration,
    at_most: Duration,
) -> Vec<u8> {
    let received = read_until_closed(stream)
        .unwrap_or_else(|e| panic!("the server kept the connection open ({e})"));
    let elapsed = opened.elapsed();
    assert!(
        elapsed >= at_least && elapsed <= at_most,
        "closed after {elapsed:?}, expected between {at_least:?} and {at_most:?}"
    );
    received
}

#[test]
fn a_hundred_slow_clients_do_not_delay_a_normal_request() {
    // Heads that never end, held far longer than the normal requests can take: the slow clients
    // are dropped only at this deadline, so a request that had to wait for them would be
    // answered after it, with them gone.
    let server = Server::start_with_limits(
        Backend::Sqlite,
        short(|l| l.header_read_timeout = Duration::from_secs(120)),
        None,
    );
    let device = server.device("hall-1");
    let applicant = Applicant::new(2);
    let registered = server.register(&device, &applicant);
    assert_eq!(registered.status, 201, "{registered:?}");
    let submission = applicant.submission(0);
    let slow: Vec<TcpStream> = (0..100).map(|_| connect(server.addr)).collect();
    let stop = Arc::new(AtomicBool::new(false));
    // Bytes each slow client has sent so far.
    let sent = Arc::new(AtomicUsize::new(0));
    let head = b"GET /health HTTP/1.1\r\nHost: slow.example\r\nX-Slow: 1\r\n";
    let trickler = {
        let (stop, sent) = (stop.clone(), sent.clone());
        std::thread::spawn(move || {
            let mut slow = slow;
            for byte in head.chunks(1) {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                for stream in &mut slow {
                    let _ = stream.write_all(byte);
                }
                sent.fetch_add(1, Ordering::Relaxed);
                // The slowness under test: a byte a second.
                std::thread::sleep(Duration::from_secs(1));
            }
            slow
        })
    };
    common::wait_until("every slow client to begin its head", || {
        sent.load(Ordering::Relaxed) > 0
    });

    let started = Instant::now();
    let health = server.get("/health", None);
    let health_took = started.elapsed();
    let started = Instant::now();
    let stranger = Applicant::new(1);
    let login = server.post(
        "/v1/accounts/login",
        &device,
        &json!({ "id_number": stranger.id_number, "password": stranger.password }),
    );
    let login_took = started.elapsed();
    let started = Instant::now();
    let submitted = server.put(&format!("/v1/submissions/{}", key()), &device, &submission);
    let submit_took = started.elapsed();
    let heads_sent = sent.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let slow = trickler.join().expect("trickler");
    eprintln!(
        "with 100 slow clients: GET {health_took:?}, POST {login_took:?}, PUT {submit_took:?}"
    );

    assert_eq!(health.status, 200, "{health:?}");
    // An unknown applicant: the body was read and judged.
    assert!(
        (400..500).contains(&login.status) && login.status != 408,
        "{login:?}"
    );
    assert_eq!(submitted.status, 200, "{submitted:?}");
    // Served while every slow client was still connected and its head unfinished.
    assert!(
        heads_sent < head.len(),
        "the slow heads were all sent first"
    );
    let dropped = slow.iter().filter(|s| !still_open(s)).count();
    assert_eq!(
        dropped, 0,
        "slow clients were dropped before the requests were served"
    );
}

#[test]
fn a_partial_or_missing_head_is_closed_after_the_header_timeout() {
    let server = Server::start_with_limits(
        Backend::Sqlite,
        short(|l| l.header_read_timeout = Duration::from_secs(1)),
        None,
    );
    let opened = Instant::now();
    let mut partial = connect(server.addr);
    partial
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let mut silent = connect(server.addr);

    let answer = assert_closed_after(&mut partial, opened, Duration::from_millis(900), LATE);
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    assert_closed_after(&mut silent, opened, Duration::from_millis(900), LATE);
    // The server carries on.
    assert_eq!(server.get("/health", None).status, 200);
}

/// Starts a login whose body announces `announced` bytes; sends `first` of them.
fn start_login(server: &Server, device: &str, announced: usize, first: &[u8]) -> TcpStream {
    let mut stream = connect(server.addr);
    let head = format!(
        "POST /v1/accounts/login HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {device}\r\n\
         Content-Type: application/json\r\nContent-Length: {announced}\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).expect("head");
    stream.write_all(first).expect("first bytes");
    stream
}

fn assert_timed_out(answer: &[u8]) {
    let text = String::from_utf8_lossy(answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains(r#""error":"request_timeout""#), "{text}");
}

#[test]
fn a_stalled_body_is_answered_408_and_cut() {
    let server = Server::start_with_limits(
        Backend::Sqlite,
        short(|l| l.body_read_timeout = Duration::from_secs(1)),
        None,
    );
    let device = server.device("hall-1");
    let opened = Instant::now();
    let mut stalled = start_login(&server, &device, 200, br#"{"id_number":"#);
    let answer = assert_closed_after(&mut stalled, opened, Duration::from_millis(900), LATE);
    assert_timed_out(&answer);
}

#[test]
fn a_trickled_body_is_cut_at_its_deadline() {
    let server = Server::start_with_limits(
        Backend::Sqlite,
        short(|l| l.body_read_timeout = Duration::from_secs(1)),
        None,
    );
    let device = server.device("hall-1");
    let opened = Instant::now();
    let mut trickled = start_login(&server, &device, 200, b"{");
    // A byte every 200 ms never leaves the connection idle for long, but the body as a whole
    // is late.
    let mut writer = trickled.try_clone().expect("clone");
    let trickler = std::thread::spawn(move || {
        for _ in 0..20 {
            // The trickle under test.
            std::thread::sleep(Duration::from_millis(200));
            if writer.write_all(b" ").is_err() {
                break;
            }
        }
    });
    let answer = assert_closed_after(&mut trickled, opened, Duration::from_millis(900), LATE);
    trickler.join().expect("trickler");
    assert_timed_out(&answer);
}

#[test]
fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let header_timeout = Duration::from_millis(1500);
    let server = Server::start_with_limits(
        Backend::Sqlite,
        short(|l| {
            l.max_connections = 2;
            l.header_read_timeout = header_timeout;
        }),
        None,
    );
    // The kernel queues connections in order and the server accepts in that order, so the
    // holders take both slots before the request's connection is accepted, whenever that is.
    let connected = Instant::now();
    let _holders: Vec<TcpStream> = (0..2).map(|_| connect(server.addr)).collect();
    let health = server.get("/health", None);
    let waited = connected.elapsed();
    assert_eq!(health.status, 200, "{health:?}");
    // Served once the silent holders' header timeout freed their slots, not before.
    assert!(
        waited >= header_timeout - Duration::from_millis(100) && waited < LATE,
        "served {waited:?} after the holders connected"
    );
}

#[test]
fn shutdown_stops_accepting_and_returns_with_idle_connections_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = common::TestDb::create(Backend::Sqlite, dir.path());
    let blobs = kiosk_server::blobs::DiskBlobs::open(&dir.path().join("blobs")).expect("blobs");
    let state = kiosk_server::state(
        db.open(),
        Arc::new(kiosk_server::sms::DisabledSender),
        Arc::new(blobs),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let shutdown = async {
                let _ = stopped.await;
            };
            kiosk_server::serve_with(listener, state, None, Limits::default(), shutdown).await
        })
    });
    // A keep-alive connection that has had its answer and now idles.
    let mut idle = connect(addr);
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).expect("answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));

    let asked = Instant::now();
    stop.send(()).expect("server running");
    let result = server.join().expect("server thread");
    let took = asked.elapsed();
    result.expect("serve returns Ok");
    // Waiting for the idle connection would take its header timeout, 10 s.
    assert!(took < LATE, "shutdown took {took:?}");
    assert!(TcpStream::connect(addr).is_err(), "still accepting");
    assert!(
        read_until_closed(&mut idle).is_ok(),
        "idle connection left open"
    );
}

/// The hall's CA and a server certificate for 127.0.0.1 in `dir`.
fn tls_files(dir: &Path) -> Arc<rustls::ServerConfig> {
    kiosk_server::tls::ca_init(dir).expect("ca init");
    let written = kiosk_server::tls::ca_issue(dir, &["127.0.0.1".to_owned()]).expect("issue");
    kiosk_server::tls::server_config(&written.cert, &written.key).expect("server config")
}

fn tls_health(addr: SocketAddr, ca_pem: &Path) -> String {
    let mut roots = RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca_pem).expect("ca.pem") {
        roots.add(cert.expect("certificate")).expect("a root");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let client = ClientConnection::new(Arc::new(config), name).expect("client");
    let mut tls = StreamOwned::new(client, connect(addr));
    write!(
        tls,
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => panic!("TLS request failed: {e}"),
    }
    String::from_utf8_lossy(&raw)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn silent_tls_clients_are_dropped_at_the_handshake_timeout_and_hold_up_no_one() {
    let certs = tempfile::tempdir().expect("temp dir");
    let config = tls_files(certs.path());
    let handshake_timeout = Duration::from_secs(3);
    let server = Server::start_with_limits(
        Backend::Sqlite,
        short(|l| l.tls_handshake_timeout = handshake_timeout),
        Some(config),
    );
    let opened = Instant::now();
    // Queued before the request, so a server that handshakes one at a time meets them first.
    let mut silent: Vec<TcpStream> = (0..50).map(|_| connect(server.addr)).collect();

    let started = Instant::now();
    let status = tls_health(server.addr, &certs.path().join(kiosk_server::tls::CA_CERT));
    eprintln!(
        "TLS request with 50 silent clients: {:?}",
        started.elapsed()
    );
    assert_eq!(status, "HTTP/1.1 200 OK");
    // Answered while the silent clients were all still waiting for their deadline.
    let dropped = silent.iter().filter(|s| !still_open(s)).count();
    assert_eq!(
        dropped, 0,
        "silent clients were dropped before the request was served"
    );
    for stream in &mut silent {
        assert_closed_after(
            stream,
            opened,
            handshake_timeout - Duration::from_millis(100),
            LATE,
        );
    }
}
