//! Health, the OpenAPI document, device authentication and isolation.

use crate::common;

use common::{Applicant, Backend, Server, key, on_both_backends};
use kiosk_server::store::Role;

fn health_answers_without_credentials(backend: Backend) {
    let server = Server::start_on(backend);
    let resp = server.get("/health", None);
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.body["status"], "ok");
}

fn served_openapi_equals_the_committed_file_and_lists_every_route(backend: Backend) {
    let server = Server::start_on(backend);
    let resp = server.get("/openapi.json", None);
    assert_eq!(resp.status, 200);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/api/openapi.json"
    ))
    .unwrap();
    assert_eq!(resp.raw, committed);
    let doc: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (method, path) in kiosk_server::api::ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from docs/api/openapi.json"
        );
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(documented, kiosk_server::api::ROUTES.len());
}

fn missing_or_bad_tokens_are_401_and_roles_are_enforced(backend: Backend) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let path = "/v1/submissions/sub_000000000000000000000000/status";

    let none = server.get(path, None);
    assert_eq!(none.status, 401, "{none:?}");
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));

    let mut forged = device.clone();
    let last = if forged.ends_with('0') { '1' } else { '0' };
    forged.pop();
    forged.push(last);
    assert_eq!(server.get(path, Some(&forged)).status, 401);
    assert_eq!(server.get(path, Some("ck1.nothing.here")).status, 401);
    assert_eq!(
        server
            .request(
                "GET",
                path,
                None,
                &[("Authorization", &format!("Basic {device}"))],
                None
            )
            .status,
        401
    );

    // A valid device token: authenticated, the submission just does not exist.
    assert_eq!(server.get(path, Some(&device)).status, 404);
    // A device may not use the reviewer API, nor a reviewer submit.
    assert_eq!(
        server.get("/v1/review/submissions", Some(&device)).status,
        403
    );
    let reviewer = server.enrol("reviewer", Role::Reviewer);
    let body = Applicant::new(0).submission(0);
    let resp = server.put(&format!("/v1/submissions/{}", key()), &reviewer, &body);
    assert_eq!(resp.status, 403, "{resp:?}");
}

fn a_device_reads_only_its_own_submissions(backend: Backend) {
    let server = Server::start_on(backend);
    let kiosk_a = server.device("hall-a");
    let kiosk_b = server.device("hall-b");
    let who = Applicant::new(1);
    assert_eq!(server.register(&kiosk_a, &who).status, 201);
    let resp = server.put(
        &format!("/v1/submissions/{}", key()),
        &kiosk_a,
        &who.submission(0),
    );
    assert_eq!(resp.status, 200, "{resp:?}");
    let id = resp.body["submission_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/submissions/{id}/status");

    let own = server.get(&path, Some(&kiosk_a));
    assert_eq!(own.status, 200, "{own:?}");
    assert_eq!(own.body["status"]["state"], "under_review");
    assert_eq!(own.body["status_label"], "审核中");

    let other = server.get(&path, Some(&kiosk_b));
    assert_eq!(other.status, 404, "{other:?}");

    let reviewer = server.reviewer();
    assert_eq!(server.get(&path, Some(&reviewer)).status, 200);
}

on_both_backends!(
    health_answers_without_credentials,
    served_openapi_equals_the_committed_file_and_lists_every_route,
    missing_or_bad_tokens_are_401_and_roles_are_enforced,
    a_device_reads_only_its_own_submissions,
);
