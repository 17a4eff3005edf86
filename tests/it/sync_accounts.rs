//! `RemoteAccounts` against the real central server, a server that is down, and the worker's
//! handling of `Retry-After`.

use crate::sync_support;

use std::io::Write;
use std::time::{Duration, Instant};

use kiosk::accounts::{AccountError, Accounts, Registration, SmsPurpose};
use kiosk::store::{OutboxState, now_ms};
use kiosk::sync::Worker;
use kiosk::sync::accounts::RemoteAccounts;
use kiosk_domain::catalog::IdType;
use sync_support::{Applicant, Central, config, open_store, submit};

fn last_code(central: &Central, mobile: &str) -> String {
    let masked = kiosk_domain::privacy::mask_mobile(mobile);
    let text = std::fs::read_to_string(central.db.with_extension("sms")).expect("sms file");
    text.lines()
        .rev()
        .find_map(|line| {
            let parts: Vec<&str> = line.split(' ').collect();
            (parts.len() == 3 && parts[0] == "code" && parts[1] == masked)
                .then(|| parts[2].to_owned())
        })
        .expect("a code was sent")
}

#[test]
fn register_and_log_in_on_the_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let central = Central::start(&dir.path().join("central.db"));
    let token = central.device("hall-accounts");
    let store = open_store(&dir.path().join("kiosk"));
    let mut accounts = RemoteAccounts::new(&central.url(), &token, store)
        .expect("client")
        .with_dev_sms_file(Some(central.db.with_extension("sms")));
    let who = Applicant::new(20);
    accounts
        .send_sms_code_for(&who.mobile, SmsPurpose::Register, "")
        .expect("code sent");
    let code = last_code(&central, &who.mobile);
    assert_eq!(accounts.development_sms_hint(), Some(code.clone()));
    let registration = Registration {
        id_type: IdType::ResidentIdCard,
        id_number: &who.id_number,
        name: &who.name,
        mobile: &who.mobile,
        sms_code: &code,
        password: "secret123",
    };
    // The server tells nobody who is registered: a card read opens log-in with 注册 beside it.
    assert_eq!(accounts.is_registered(&who.id_number).expect("asks"), None);
    let profile = accounts.register(&registration).expect("registered");
    assert!(
        profile.session.is_some(),
        "registration logs the applicant in"
    );
    assert_eq!(accounts.is_registered(&who.id_number).expect("asks"), None);
    assert_eq!(profile.id_number, who.id_number);
    // The kiosk keeps no copy of the account: the server holds it.
    sync_support::assert_nothing_of(&who, &dir.path().join("kiosk"));
    // The same registration again: its code is used up, and the server judges the code before
    // it would tell anyone that the ID number is taken.
    assert!(matches!(
        accounts.register(&registration),
        Err(AccountError::WrongSmsCode)
    ));
    let logged_in = accounts
        .log_in(&who.id_number, "secret123")
        .expect("logs in");
    assert!(logged_in.session.is_some(), "log-in opens a session");
    assert!(
        logged_in.session != profile.session,
        "a new session per log-in"
    );
    let without_session = |p: &kiosk::accounts::Profile| kiosk::accounts::Profile {
        session: None,
        ..p.clone()
    };
    assert!(
        without_session(&logged_in) == without_session(&profile),
        "the profile registered here"
    );
    // Another kiosk of the hall, which never saw this applicant, gets the profile from the server.
    let other_store = open_store(&dir.path().join("other-kiosk"));
    let mut other = RemoteAccounts::new(&central.url(), &token, other_store).expect("client");
    let elsewhere = other
        .log_in(&who.id_number, "secret123")
        .expect("logs in elsewhere");
    assert!(
        without_session(&elsewhere) == without_session(&profile),
        "the same profile on another kiosk"
    );
    assert!(matches!(
        accounts.log_in(&who.id_number, "wrong1234"),
        Err(AccountError::WrongCredentials)
    ));
    // A second code within the server's minute is throttled.
    assert!(matches!(
        accounts.send_sms_code_for(&who.mobile, SmsPurpose::ResetPassword, &who.id_number),
        Err(AccountError::Throttled)
    ));
}

#[test]
fn a_server_that_is_down_is_reported_quickly_and_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let store = open_store(dir.path());
    let mut accounts =
        RemoteAccounts::new(&format!("http://127.0.0.1:{port}"), "ck1.a.b", store).expect("client");
    let started = Instant::now();
    let Err(error) = accounts.log_in("530102199003070011", "secret123") else {
        panic!("logged in without a server");
    };
    assert!(matches!(error, AccountError::Offline));
    assert_eq!(error.message_zh(), "无法连接服务器，请稍后再试");
    assert!(started.elapsed() < Duration::from_secs(6));
}

/// Answers every request with `status` and `Retry-After: 7`.
fn busy_server(status: &'static str) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            sync_support::read_request(&stream);
            let answer = r#"{"error":"busy","message":"服务器繁忙"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nRetry-After: 7\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    addr
}

#[test]
fn retry_after_is_honoured() {
    for status in ["503 Service Unavailable", "429 Too Many Requests"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = open_store(dir.path());
        submit(&mut store, &Applicant::new(21));
        let addr = busy_server(status);
        let mut worker = Worker::new(
            open_store(dir.path()),
            config(&format!("http://{addr}"), "t"),
        )
        .expect("worker");
        let before = now_ms();
        let pass = worker.run_once().expect("runs");
        assert_eq!((pass.attempts, pass.retried), (1, 1));
        let row = &store.outbox_rows().expect("rows")[0];
        assert_eq!(row.state, OutboxState::Pending);
        assert!(
            row.next_attempt_at_ms >= before + 7_000,
            "{status}: retried after {} ms",
            row.next_attempt_at_ms - before
        );
        assert!(
            row.last_error
                .as_deref()
                .unwrap_or("")
                .contains(&status[..3])
        );
        assert_eq!(worker.status().queued, 1);
        assert_eq!(
            worker.run_once().expect("runs").attempts,
            0,
            "not before its time"
        );
    }
}

#[test]
fn an_accountant_on_file_binds_a_phone_at_first_log_in() {
    let dir = tempfile::tempdir().expect("temp dir");
    let central = Central::start(&dir.path().join("central.db"));
    let token = central.device("hall-binding");
    let who = Applicant::new(21);
    // Imported by the finance bureau: no phone yet.
    central.import(&who, "initial123", None);
    let store = open_store(&dir.path().join("kiosk"));
    let mut accounts = RemoteAccounts::new(&central.url(), &token, store)
        .expect("client")
        .with_dev_sms_file(Some(central.db.with_extension("sms")));

    let ticket = match accounts.log_in(&who.id_number, "initial123") {
        Err(AccountError::PhoneBindingRequired(ticket)) => ticket,
        other => panic!(
            "expected a binding request, got {:?}",
            other.map(|_| "a profile")
        ),
    };
    assert_eq!(
        format!("{ticket:?}"),
        "BindingTicket(..)",
        "the token is not logged"
    );
    accounts
        .send_sms_code_for(&who.mobile, SmsPurpose::BindPhone, &who.id_number)
        .expect("code sent");
    let code = last_code(&central, &who.mobile);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert!(matches!(
        accounts.bind_phone(&ticket, &who.mobile, wrong),
        Err(AccountError::WrongSmsCode)
    ));
    let profile = accounts
        .bind_phone(&ticket, &who.mobile, &code)
        .expect("bound");
    assert_eq!(profile.id_number, who.id_number);
    assert_eq!(profile.mobile, who.mobile);
    assert_eq!(profile.name, who.name);
    // From now on the account logs in directly.
    let again = accounts
        .log_in(&who.id_number, "initial123")
        .expect("logs in");
    assert_eq!(again.mobile, who.mobile);
}
