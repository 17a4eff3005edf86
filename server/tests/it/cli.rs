//! The `central` binary: `serve` on an ephemeral port (plain HTTP only on loopback unless
//! asked), importing accountants on file (the ID number never in argv), revoking credentials.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Applicant, Backend, Server, TestDb, on_both_backends};
use serde_json::json;

fn central(db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_central"));
    cmd.arg("--db").arg(db_url).env("CENTRAL_LOG", "info");
    cmd
}

/// Writes `text` to the standard input of `child` and closes it. A command that does not read it
/// (one that refuses its arguments first) may have exited already: its status and output are what
/// the test checks, so a broken pipe is no failure.
fn feed(child: &mut std::process::Child, text: &str) {
    let mut stdin = child.stdin.take().expect("a piped standard input");
    match stdin.write_all(text.as_bytes()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => panic!("writing to central's standard input: {e}"),
    }
}

/// `central account import ARGS` with the applicant's three lines on standard input.
fn import(db_url: &str, args: &[&str], who: &Applicant) -> std::process::Output {
    let mut child = central(db_url)
        .args(["account", "import"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    feed(
        &mut child,
        &format!("{}\n{}\n{}\n", who.id_number, who.name, who.password),
    );
    child.wait_with_output().unwrap()
}

fn login_status(server: &Server, device: &str, who: &Applicant) -> u16 {
    server
        .post(
            "/v1/accounts/login",
            device,
            &json!({ "id_number": who.id_number, "password": who.password }),
        )
        .status
}

/// Arguments are readable by every user of the machine (`ps`, /proc/PID/cmdline): the ID
/// number comes from standard input or a file, and the old flags are refused with a pointer
/// there, before anything is stored.
fn import_takes_the_id_number_from_stdin_or_a_file_never_from_arguments(backend: Backend) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");

    let who = Applicant::new(31);
    let refused = central(&server.db_url())
        .args([
            "account",
            "import",
            "--id-number",
            &who.id_number,
            "--name",
            &who.name,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!refused.status.success(), "{refused:?}");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("standard input"), "{said}");
    assert!(!said.contains(&who.id_number), "{said}");
    assert_eq!(login_status(&server, &device, &who), 401);

    let from_file = Applicant::new(32);
    let input = server.dir.path().join("import.txt");
    std::fs::write(
        &input,
        format!(
            "{}\r\n{}\r\n{}\r\n",
            from_file.id_number, from_file.name, from_file.password
        ),
    )
    .unwrap();
    let out = central(&server.db_url())
        .args(["account", "import", "--from"])
        .arg(&input)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(login_status(&server, &device, &from_file), 200);

    // Two lines: the password is missing, nothing is imported.
    let short = Applicant::new(33);
    let mut child = central(&server.db_url())
        .args(["account", "import"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    feed(
        &mut child,
        &format!("{}\n{}\n", short.id_number, short.name),
    );
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("password"),
        "{out:?}"
    );
    assert_eq!(login_status(&server, &device, &short), 401);
}

fn serve_answers_health_on_the_address_it_logs(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    let mut child = central(&db.url())
        .args(["serve", "--listen", "127.0.0.1:0", "--sms-file"])
        .arg(dir.path().join("sms.txt"))
        .arg("--blob-dir")
        .arg(dir.path().join("blobs"))
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
    let out = import(&server.db_url(), &[], &who);
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

/// `central reviewer add|disable|enable|reset|list ...` with the password on standard input.
fn reviewer(db_url: &str, args: &[&str], password: &str) -> std::process::Output {
    let mut child = central(db_url)
        .arg("reviewer")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    feed(&mut child, &format!("{password}\n"));
    child.wait_with_output().unwrap()
}

/// The first console account is made from the command line, its password from standard input;
/// disabling and resetting take effect for the web log-in at once.
fn console_accounts_are_added_disabled_and_reset_from_the_command_line(backend: Backend) {
    use kiosk_server::store::ReviewerRole;
    let server = Server::start_on(backend);
    let db = server.db_url();
    let added = reviewer(
        &db,
        &["add", "--bureau", "530102", "--name", "li.ming"],
        "first-pass-2026",
    );
    assert!(added.status.success(), "{added:?}");
    let account = server.store.reviewer_by_name("li.ming").unwrap().unwrap();
    assert_eq!(account.role, ReviewerRole::Bureau(530102));
    assert!(kiosk_server::auth::verify_password(
        "first-pass-2026",
        &account.password_hash
    ));

    let again = reviewer(
        &db,
        &["add", "--province", "--name", "li.ming"],
        "other-pass-2026",
    );
    assert!(!again.status.success(), "the name is taken");
    let short = reviewer(&db, &["add", "--province", "--name", "wang"], "short");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10"));
    let unknown = reviewer(
        &db,
        &["add", "--bureau", "999999", "--name", "x"],
        "long-enough-1",
    );
    assert!(!unknown.status.success(), "not a bureau of Yunnan");
    let no_role = reviewer(&db, &["add", "--name", "y"], "long-enough-1");
    assert!(!no_role.status.success(), "a role is required");

    assert!(
        reviewer(&db, &["disable", "--name", "li.ming"], "")
            .status
            .success()
    );
    assert!(
        server
            .store
            .reviewer_by_name("li.ming")
            .unwrap()
            .unwrap()
            .disabled
    );
    assert!(
        reviewer(&db, &["enable", "--name", "li.ming"], "")
            .status
            .success()
    );
    let reset = reviewer(&db, &["reset", "--name", "li.ming"], "second-pass-2026");
    assert!(reset.status.success(), "{reset:?}");
    let account = server.store.reviewer_by_name("li.ming").unwrap().unwrap();
    assert!(!account.disabled);
    assert!(kiosk_server::auth::verify_password(
        "second-pass-2026",
        &account.password_hash
    ));
    assert!(
        !reviewer(&db, &["reset", "--name", "nobody"], "second-pass-2026")
            .status
            .success()
    );

    let listed = reviewer(&db, &["list"], "");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("li.ming\t五华区财政局审核人员\t启用"),
        "{listed}"
    );
    let log = server.store.audit_log(100).unwrap();
    for action in [
        "add console account",
        "disable console account",
        "reset console account",
    ] {
        assert!(log.iter().any(|e| e.action == action), "{action}");
    }
    assert!(
        log.iter().all(|e| !e.outcome.contains("pass-2026")),
        "no password in the audit log"
    );
}

on_both_backends!(
    serve_answers_health_on_the_address_it_logs,
    imported_accountants_bind_a_phone_and_revoked_tokens_stop_working,
    import_takes_the_id_number_from_stdin_or_a_file_never_from_arguments,
    console_accounts_are_added_disabled_and_reset_from_the_command_line,
);

/// Waits at most `limit` for `child` to exit; kills it and returns `None` if it does not.
fn exit_within(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn serve_refuses_plain_http_beyond_loopback_without_insecure_http() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let db_url = format!("sqlite://{}", db.display());
    let mut refused = central(&db_url)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = exit_within(&mut refused, common::WAIT_AT_MOST);
    let mut said = String::new();
    refused
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    let status = status.expect("plain HTTP on 0.0.0.0 was served");
    assert!(!status.success());
    assert!(
        said.contains("plain HTTP")
            && said.contains("--insecure-http")
            && said.contains("--tls-cert"),
        "{said}"
    );
    assert!(!db.exists(), "the database was created before refusing");

    // With TLS any address is fine: the start goes on to the certificate (missing here).
    let tls = central(&db_url)
        .args(["serve", "--listen", "0.0.0.0:0", "--tls-cert"])
        .arg(dir.path().join("server.pem"))
        .arg("--tls-key")
        .arg(dir.path().join("server-key.pem"))
        .output()
        .unwrap();
    assert!(!tls.status.success());
    let said = String::from_utf8_lossy(&tls.stderr);
    assert!(
        said.contains("TLS certificate") && !said.contains("plain HTTP"),
        "{said}"
    );

    // --insecure-http: served (it logs its address; no traffic is sent to it).
    let mut insecure = central(&db_url)
        .args(["serve", "--listen", "0.0.0.0:0", "--insecure-http"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = BufReader::new(insecure.stderr.take().unwrap());
    let mut line = String::new();
    let mut listening = false;
    while !listening && log.read_line(&mut line).unwrap() > 0 {
        listening = line.contains("central server listening");
        line.clear();
    }
    insecure.kill().unwrap();
    insecure.wait().unwrap();
    assert!(listening, "--insecure-http did not start the server");
}
