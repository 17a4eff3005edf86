//! Idempotent submissions, validation, review and the lock after approval; the CLI on the same
//! database.

use crate::common;

use std::process::Command;

use common::{Applicant, Backend, Server, envelope, key, on_both_backends};
use serde_json::{Value, json};

fn setup(backend: Backend, n: u32) -> (Server, String, Applicant) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let who = Applicant::new(n);
    assert_eq!(server.register(&device, &who).status, 201);
    (server, device, who)
}

fn a_replay_returns_the_first_answer_and_stores_once(backend: Backend) {
    let (server, device, who) = setup(backend, 10);
    let k = key();
    let path = format!("/v1/submissions/{k}");
    let body = who.submission(0);
    let first = server.put(&path, &device, &body);
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body["status"]["state"], "under_review");
    assert_eq!(first.body["status_label"], "审核中");
    assert!(first.header("idempotent-replayed").is_none());

    for _ in 0..3 {
        let again = server.put(&path, &device, &body);
        assert_eq!(again.status, 200, "{again:?}");
        assert_eq!(again.raw, first.raw);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
    }
    let reviewer = server.reviewer();
    let list = server.get("/v1/review/submissions", Some(&reviewer));
    assert_eq!(
        list.body["submissions"].as_array().unwrap().len(),
        1,
        "{list:?}"
    );

    // The first answer even after the review moved on.
    let id = first.body["submission_id"].as_str().unwrap();
    let approved = server.post(
        &format!("/v1/review/submissions/{id}/approve"),
        &reviewer,
        &json!({}),
    );
    assert_eq!(approved.status, 200, "{approved:?}");
    assert_eq!(server.put(&path, &device, &body).raw, first.raw);
}

fn concurrent_requests_with_one_key_store_one_submission(backend: Backend) {
    let (server, device, who) = setup(backend, 18);
    let path = format!("/v1/submissions/{}", key());
    let body = who.submission(0);
    let answers: Vec<common::Resp> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| scope.spawn(|| server.put(&path, &device, &body)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for answer in &answers {
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.raw, answers[0].raw);
    }
    let replays = answers
        .iter()
        .filter(|a| a.header("idempotent-replayed").is_some())
        .count();
    assert_eq!(replays, answers.len() - 1);
    let reviewer = server.reviewer();
    let list = server.get("/v1/review/submissions", Some(&reviewer));
    assert_eq!(list.body["submissions"].as_array().unwrap().len(), 1);
}

fn the_same_key_with_other_content_is_refused(backend: Backend) {
    let (server, device, who) = setup(backend, 11);
    let path = format!("/v1/submissions/{}", key());
    assert_eq!(server.put(&path, &device, &who.submission(0)).status, 200);
    let other = server.put(&path, &device, &who.submission(1));
    assert_eq!(other.status, 422, "{other:?}");
    assert_eq!(other.body["error"], "idempotency_key_reused");
}

fn missing_and_malformed_keys_are_400(backend: Backend) {
    let (server, device, who) = setup(backend, 12);
    let body = who.submission(0);
    for path in [
        "/v1/submissions",
        "/v1/submissions/",
        "/v1/submissions/short",
        "/v1/submissions/bad%20key%20with%20spaces",
    ] {
        let resp = server.put(path, &device, &body);
        assert_eq!(resp.status, 400, "{path}: {resp:?}");
    }
}

fn hash_mismatches_are_422(backend: Backend) {
    let (server, device, who) = setup(backend, 13);
    let mut body = who.submission(0);
    body["content_sha256"] = json!("0".repeat(64));
    let resp = server.put(&format!("/v1/submissions/{}", key()), &device, &body);
    assert_eq!(resp.status, 422, "{resp:?}");
    assert_eq!(resp.body["error"], "content_hash_mismatch");

    // The declared material hash (and so the content hash) is consistent, but the bytes are
    // not: the blob upload is refused (`blobs.rs`), so the record finds it missing.
    // (Variant 1's work certificate was not staged by the request above.)
    let body = who.submission(1);
    let mut uploads = body["materials"].as_array().unwrap().clone();
    let page = uploads
        .iter_mut()
        .find(|u| u["kind"] == "work_certificate")
        .unwrap();
    page["bytes_base64"] = json!("/9j/AAAA");
    let tampered = envelope(body["application"].clone(), uploads);
    let resp = server.put(&format!("/v1/submissions/{}", key()), &device, &tampered);
    assert_eq!(resp.status, 409, "{resp:?}");
    assert_eq!(resp.body["error"], "blobs_missing");
}

fn an_incomplete_application_is_refused_with_field_messages(backend: Backend) {
    let (server, device, who) = setup(backend, 14);
    let body = who.submission(0);
    let mut application = body["application"].clone();
    application["data"]["basic"]["postal_address"] = json!("");
    application["data"]["work"]["employment"]["employer_credit_code"] = json!("");
    application["data"]["consent"] = Value::Null;
    let mut uploads = body["materials"].as_array().unwrap().clone();
    uploads.retain(|u| u["kind"] != "photo");
    let resp = server.put(
        &format!("/v1/submissions/{}", key()),
        &device,
        &envelope(application, uploads),
    );
    assert_eq!(resp.status, 400, "{resp:?}");
    let issues = resp.body["issues"].as_array().unwrap();
    let fields: Vec<&str> = issues
        .iter()
        .map(|i| i["field"].as_str().unwrap())
        .collect();
    for field in [
        "notice.consent",
        "basic.postal_address",
        "work.employer_credit_code",
        "materials.photo",
    ] {
        assert!(fields.contains(&field), "{field} not in {fields:?}");
    }
    assert!(
        issues
            .iter()
            .all(|i| !i["message"].as_str().unwrap().is_empty())
    );

    // An applicant with no account has no session, so nothing grants the submission.
    let stranger = Applicant::new(15);
    let resp = server.put(
        &format!("/v1/submissions/{}", key()),
        &device,
        &stranger.submission(0),
    );
    assert_eq!(resp.status, 403, "{resp:?}");
    assert_eq!(resp.body["error"], "grant_required");
}

fn review_decisions_show_in_the_status_and_approval_locks(backend: Backend) {
    let (server, device, who) = setup(backend, 16);
    let reviewer = server.reviewer();
    let first = server.put(
        &format!("/v1/submissions/{}", key()),
        &device,
        &who.submission(0),
    );
    assert_eq!(first.status, 200, "{first:?}");
    let id = first.body["submission_id"].as_str().unwrap().to_owned();
    let status = |token: &str| server.get(&format!("/v1/submissions/{id}/status"), Some(token));

    // Under review: a second submission for the same applicant waits.
    let early = server.put(
        &format!("/v1/submissions/{}", key()),
        &device,
        &who.submission(1),
    );
    assert_eq!(early.status, 409, "{early:?}");
    assert_eq!(early.body["error"], "collection_under_review");

    let show = server.get(&format!("/v1/review/submissions/{id}"), Some(&reviewer));
    assert_eq!(show.status, 200, "{show:?}");
    assert_eq!(
        show.body["application"]["data"]["basic"]["name"],
        who.name.as_str()
    );
    assert_eq!(
        show.body["materials"].as_array().unwrap().len(),
        first_len(&who)
    );

    let no_reason = server.post(
        &format!("/v1/review/submissions/{id}/reject"),
        &reviewer,
        &json!({ "reason": " " }),
    );
    assert_eq!(no_reason.status, 400);
    let rejected = server.post(
        &format!("/v1/review/submissions/{id}/reject"),
        &reviewer,
        &json!({ "reason": "工作证明未盖章" }),
    );
    assert_eq!(rejected.status, 200, "{rejected:?}");
    let seen = status(&device);
    assert_eq!(
        seen.body["status"],
        json!({ "state": "rejected", "reason": "工作证明未盖章" })
    );
    assert_eq!(seen.body["status_label"], "审核失败");
    let twice = server.post(
        &format!("/v1/review/submissions/{id}/approve"),
        &reviewer,
        &json!({}),
    );
    assert_eq!(twice.status, 409);

    // Rejected: the applicant edits and resubmits under a new key.
    let second = server.put(
        &format!("/v1/submissions/{}", key()),
        &device,
        &who.submission(2),
    );
    assert_eq!(second.status, 200, "{second:?}");
    let id2 = second.body["submission_id"].as_str().unwrap().to_owned();
    let approved = server.post(
        &format!("/v1/review/submissions/{id2}/approve"),
        &reviewer,
        &json!({}),
    );
    assert_eq!(approved.status, 200);
    let seen = server.get(&format!("/v1/submissions/{id2}/status"), Some(&device));
    assert_eq!(seen.body["status"]["state"], "approved");
    assert_eq!(seen.body["status_label"], "审核成功");
    let status: kiosk_domain::ReviewState =
        serde_json::from_value(seen.body["status"].clone()).unwrap();
    assert_eq!(status, kiosk_domain::ReviewState::Approved);

    // Approved: locked for good, from any kiosk.
    let other_kiosk = server.device("hall-2");
    server.log_in(&other_kiosk, &who);
    let locked = server.put(
        &format!("/v1/submissions/{}", key()),
        &other_kiosk,
        &who.submission(3),
    );
    assert_eq!(locked.status, 409, "{locked:?}");
    assert_eq!(locked.body["error"], "collection_approved");

    // Even an incomplete resubmission is told it is locked, not what to fix.
    let mut incomplete = who.submission(4);
    incomplete["application"]["data"]["consent"] = Value::Null;
    let uploads = incomplete["materials"].as_array().unwrap().clone();
    let incomplete = envelope(incomplete["application"].clone(), uploads);
    let locked = server.put(&format!("/v1/submissions/{}", key()), &device, &incomplete);
    assert_eq!(locked.status, 409, "{locked:?}");

    let list = server.get("/v1/review/submissions?state=approved", Some(&reviewer));
    let list = list.body["submissions"].as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    assert!(!list[0].to_string().contains(&who.id_number));
}

fn first_len(who: &Applicant) -> usize {
    who.submission(0)["materials"].as_array().unwrap().len()
}

fn central(server: &Server, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_central"))
        .arg("--db")
        .arg(server.db_url())
        .args(args)
        .env("CENTRAL_LOG", "warn")
        .output()
        .unwrap()
}

fn the_cli_enrols_devices_and_reviews_on_the_same_database(backend: Backend) {
    let server = Server::start_on(backend);
    let out = central(&server, &["device", "enrol", "hall-cli"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .unwrap()
        .to_owned();
    // Only a hash is stored.
    let secret = token.rsplit('.').next().unwrap();
    let stored = server.db.stored_bytes();
    assert!(!stored.is_empty());
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_bytes()));

    let who = Applicant::new(17);
    assert_eq!(server.register(&token, &who).status, 201);
    let resp = server.put(
        &format!("/v1/submissions/{}", key()),
        &token,
        &who.submission(0),
    );
    assert_eq!(resp.status, 200, "{resp:?}");
    let id = resp.body["submission_id"].as_str().unwrap().to_owned();

    let list = central(&server, &["review", "list"]);
    let listed = String::from_utf8(list.stdout).unwrap();
    assert!(listed.contains(&id), "{listed}");
    assert!(!listed.contains(&who.id_number));

    let no_reason = central(&server, &["review", "reject", &id, "--reason", ""]);
    assert!(!no_reason.status.success());
    let rejected = central(
        &server,
        &["review", "reject", &id, "--reason", "照片不清晰"],
    );
    assert!(rejected.status.success(), "{rejected:?}");
    let seen = server.get(&format!("/v1/submissions/{id}/status"), Some(&token));
    assert_eq!(seen.body["status"]["reason"], "照片不清晰");
    let again = central(&server, &["review", "approve", &id]);
    assert!(!again.status.success());

    let second = server.put(
        &format!("/v1/submissions/{}", key()),
        &token,
        &who.submission(1),
    );
    let id2 = second.body["submission_id"].as_str().unwrap().to_owned();
    assert!(
        central(&server, &["review", "approve", &id2])
            .status
            .success()
    );
    let seen = server.get(&format!("/v1/submissions/{id2}/status"), Some(&token));
    assert_eq!(seen.body["status_label"], "审核成功");
}

on_both_backends!(
    a_replay_returns_the_first_answer_and_stores_once,
    concurrent_requests_with_one_key_store_one_submission,
    the_same_key_with_other_content_is_refused,
    missing_and_malformed_keys_are_400,
    hash_mismatches_are_422,
    an_incomplete_application_is_refused_with_field_messages,
    review_decisions_show_in_the_status_and_approval_locks,
    the_cli_enrols_devices_and_reviews_on_the_same_database,
);

/// The server's side of `domain/tests/it/golden_record.rs`: each pinned record of the current shape
/// is accepted by the strict parser and read as exactly what was written.
#[test]
fn the_golden_records_are_read_as_written() {
    use kiosk_domain::record::RECORD_FORMAT;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../wire/golden/record-v{RECORD_FORMAT}"));
    let mut read = 0;
    for entry in std::fs::read_dir(&dir).expect("golden records") {
        let path = entry.expect("golden entry").path();
        let pinned: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read"))
            .expect("golden file is JSON");
        let app = kiosk_server::api::strict_application(&pinned)
            .unwrap_or_else(|e| panic!("{} refused: {e:?}", path.display()));
        assert_eq!(
            serde_json::to_value(&app).expect("serialises"),
            pinned,
            "{}",
            path.display()
        );
        read += 1;
    }
    assert!(read >= 4, "{read} golden records");
}
