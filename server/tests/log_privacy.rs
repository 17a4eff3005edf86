//! No ID number, name or phone in the server's log output across register, login, submit and
//! review, on both stores. The only tests in this binary, so they may install the global
//! subscriber.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use common::{Applicant, Backend, Server, key, on_both_backends};
use serde_json::json;

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log output of the whole binary. The server logs on its own threads, so the subscriber
/// must be the global one, installed once for both backends' tests; each test looks for its
/// own applicant in it.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let writer = Capture(buffer.clone());
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            buffer
        })
        .clone()
}

fn logs_carry_no_id_number_name_or_phone(backend: Backend) {
    let buffer = captured_logs();
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let reviewer = server.reviewer();
    // A different applicant per backend, so that each test finds its own masked ID number.
    let who = Applicant::new(match backend {
        Backend::Sqlite => 20,
        Backend::Postgres => 21,
    });

    assert_eq!(server.register(&device, &who).status, 201);
    let login = |password: &str| {
        server.post(
            "/v1/accounts/login",
            &device,
            &json!({ "id_number": who.id_number, "password": password }),
        )
    };
    assert_eq!(login("wrong1234").status, 401);
    assert_eq!(login(&who.password).status, 200);
    let submitted = server.put(
        &format!("/v1/submissions/{}", key()),
        &device,
        &who.submission(0),
    );
    assert_eq!(submitted.status, 200, "{submitted:?}");
    let id = submitted.body["submission_id"].as_str().unwrap();
    let again = server.put(
        &format!("/v1/submissions/{}", key()),
        &device,
        &who.submission(1),
    );
    assert_eq!(again.status, 409);
    let shown = server.get(&format!("/v1/review/submissions/{id}"), Some(&reviewer));
    assert_eq!(shown.status, 200);
    let rejected = server.post(
        &format!("/v1/review/submissions/{id}/reject"),
        &reviewer,
        &json!({ "reason": "照片不清晰" }),
    );
    assert_eq!(rejected.status, 200);

    let logs = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    // The capture works: the masked forms are there.
    let masked_id = kiosk_domain::privacy::mask_id_number(&who.id_number);
    assert!(logs.contains(&masked_id), "{logs}");
    assert!(logs.contains("submission received"), "{logs}");
    for secret in [&who.id_number, &who.name, &who.mobile, &who.password] {
        assert!(
            !logs.contains(secret.as_str()),
            "{secret} found in logs:\n{logs}"
        );
    }
    // Not even the birth-date and sequence digits of the ID number.
    assert!(!logs.contains(&who.id_number[6..14]), "{logs}");
}

on_both_backends!(logs_carry_no_id_number_name_or_phone,);
