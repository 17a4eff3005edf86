//! The `central` binary: `serve` on an ephemeral port, importing accountants on file, revoking
//! credentials.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use common::{Applicant, Backend, Server, TestDb, on_both_backends};
use serde_json::json;

fn central(db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_central"));
    cmd.arg("--db").arg(db_url).env("CENTRAL_LOG", "info");
    cmd
}

fn serve_answers_health_on_the_address_it_logs(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    let mut child = central(&db.url())
        .args(["serve", "--listen", "127.0.0.1:0", "--sms-file"])
        .arg(dir.path().join("sms.txt"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    while addr.is_none() && stderr.read_line(&mut line).unwrap() > 0 {
        addr = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("addr="))
            .map(str::to_owned);
        line.clear();
    }
    let addr = addr.expect("the server did not log its address");
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");
}

fn imported_accountants_bind_a_phone_and_revoked_tokens_stop_working(backend: Backend) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let who = Applicant::new(30);
    let mut import = central(&server.db_url())
        .args([
            "account",
            "import",
            "--id-number",
            &who.id_number,
            "--name",
            &who.name,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(import.stdin.take().unwrap(), "{}", who.password).unwrap();
    let out = import.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(!printed.contains(&who.id_number) && !printed.contains(&who.name));

    let login = server.post(
        "/v1/accounts/login",
        &device,
        &json!({ "id_number": who.id_number, "password": who.password }),
    );
    assert_eq!(login.status, 200, "{login:?}");
    assert_eq!(login.body["phone_binding_required"], true);
    server.log_in(&device, &who);

    // Submitting before a phone is bound is refused at the mobile field.
    let resp = server.put(
        &format!("/v1/submissions/{}", common::key()),
        &device,
        &who.submission(0),
    );
    assert_eq!(resp.status, 400, "{resp:?}");
    assert_eq!(resp.body["issues"][0]["field"], "basic.mobile");

    let id = device.split('.').nth(1).unwrap();
    let revoked = central(&server.db_url())
        .args(["device", "revoke", id])
        .output()
        .unwrap();
    assert!(revoked.status.success(), "{revoked:?}");
    assert_eq!(server.get("/v1/accounts/me", Some(&device)).status, 401);
    let unknown = central(&server.db_url())
        .args(["reviewer", "revoke", id])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
}

on_both_backends!(
    serve_answers_health_on_the_address_it_logs,
    imported_accountants_bind_a_phone_and_revoked_tokens_stop_working,
);
