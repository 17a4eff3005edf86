//! `central ca init` / `ca issue` make files that `central serve --tls-cert --tls-key` serves
//! with, and a TLS client that trusts only the hall's CA gets `/health`; a client trusting
//! another CA is refused.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::{self, ClientConfig, ClientConnection, RootCertStore, StreamOwned};

fn central() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_central"));
    cmd.env("CENTRAL_LOG", "info");
    cmd
}

fn ca(dir: &Path, args: &[&str]) -> std::process::Output {
    central()
        .args(["ca"])
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .expect("runs central ca")
}

/// A client config that trusts exactly the CA certificates in `ca_pem`.
fn client_trusting(ca_pem: &Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca_pem).expect("ca.pem") {
        roots.add(cert.expect("certificate")).expect("a root");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// `GET path` over TLS; the status line, or the TLS error.
fn get(addr: &str, config: Arc<ClientConfig>, path: &str) -> Result<String, std::io::Error> {
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let conn = ClientConnection::new(config, name).expect("client");
    let tcp = TcpStream::connect(addr)?;
    // Fails a server that never answers rather than hanging; generous for a loaded machine.
    tcp.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut tls = StreamOwned::new(conn, tcp);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        // A peer that closes without close_notify still sent its whole answer.
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    let text = String::from_utf8_lossy(&raw);
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

/// Starts `central serve` and returns it with the address it logged.
fn serve(db: &Path, extra: &[&std::ffi::OsStr]) -> (Child, String) {
    let mut child = central()
        .arg("--db")
        .arg(format!("sqlite://{}", db.display()))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .expect("central serve");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    let mut addr = None;
    while addr.is_none() && stderr.read_line(&mut line).expect("log") > 0 {
        if line.contains("tls=true") {
            addr = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("addr="))
                .map(str::to_owned);
        }
        line.clear();
    }
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (child, addr.expect("the server did not log a TLS address"))
}

#[test]
fn ca_files_serve_https_to_a_client_that_trusts_only_the_hall_ca() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hall = dir.path().join("hall");

    let init = ca(&hall, &["init"]);
    assert!(init.status.success(), "{init:?}");
    let again = ca(&hall, &["init"]);
    assert!(!again.status.success(), "an existing CA is never replaced");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists already"),
        "{again:?}"
    );
    let issue = ca(
        &hall,
        &[
            "issue",
            "--host",
            "127.0.0.1",
            "--host",
            "central.hall.example",
        ],
    );
    assert!(issue.status.success(), "{issue:?}");
    use std::os::unix::fs::PermissionsExt as _;
    for key in ["ca-key.pem", "server-key.pem"] {
        let mode = std::fs::metadata(hall.join(key))
            .expect("key written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }

    let (mut child, addr) = serve(
        &dir.path().join("c.db"),
        &[
            "--tls-cert".as_ref(),
            hall.join("server.pem").as_os_str(),
            "--tls-key".as_ref(),
            hall.join("server-key.pem").as_os_str(),
        ],
    );
    let status = get(&addr, client_trusting(&hall.join("ca.pem")), "/health");

    // Another hall's CA: the same server is not trusted.
    let other = dir.path().join("other");
    assert!(ca(&other, &["init"]).status.success());
    let refused = get(&addr, client_trusting(&other.join("ca.pem")), "/health");
    // Plain HTTP to the TLS port gets no HTTP answer, and the server carries on.
    let mut plain = TcpStream::connect(&addr).expect("connect");
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = plain.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    let after = get(&addr, client_trusting(&hall.join("ca.pem")), "/health");
    let _ = child.kill();
    let _ = child.wait();

    assert_eq!(status.expect("TLS with the hall CA"), "HTTP/1.1 200 OK");
    let refused = refused.expect_err("another CA is refused");
    assert!(refused.to_string().contains("UnknownIssuer"), "{refused}");
    assert!(!String::from_utf8_lossy(&answer).starts_with("HTTP/"));
    assert_eq!(after.expect("still serving"), "HTTP/1.1 200 OK");
}

#[test]
fn serve_refuses_half_or_wrong_tls_settings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", dir.path().join("c.db").display());
    let half = central()
        .args([
            "--db",
            &db,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
        ])
        .arg(dir.path().join("server.pem"))
        .output()
        .expect("runs");
    assert!(!half.status.success(), "a certificate without its key");
    let missing = central()
        .args(["--db", &db, "serve", "--listen", "127.0.0.1:0"])
        .arg("--tls-cert")
        .arg(dir.path().join("server.pem"))
        .arg("--tls-key")
        .arg(dir.path().join("server-key.pem"))
        .output()
        .expect("runs");
    assert!(!missing.status.success(), "missing files stop the start");
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("TLS certificate"),
        "{missing:?}"
    );
}
