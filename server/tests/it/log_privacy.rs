//! No ID number, name or phone in the server's log output across register, login, submit and
//! review, on both stores. Each test reads its own server's lines only (`common::logs`): the other
//! tests of this binary run their servers in this process at the same time.

use crate::common;

use common::logs::Logs;
use common::{Applicant, Backend, Server, key, on_both_backends};
use serde_json::json;

fn logs_carry_no_id_number_name_or_phone(backend: Backend) {
    let captured = Logs::default();
    let server = Server::start_capturing_logs(backend, &captured);
    let device = server.device("hall-1");
    let reviewer = server.reviewer();
    let who = Applicant::new(20);

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

    let logs = captured.text();
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
