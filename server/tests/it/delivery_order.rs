//! The delivery rules across kiosks: an applicant's submissions are ordered by the version the
//! applicant made, so a version queued on an offline kiosk cannot replace a newer one; and a
//! replay is recognised by key, content and applicant, so a kiosk re-enrolled under a new
//! device credential gets the first answer again.

use crate::common;

use common::{Applicant, Backend, Server, key, on_both_backends};
use serde_json::{Value, json};

/// `body` as a kiosk sends it when the applicant's latest submission at log-in had version
/// `version - 1` (none: 0).
fn versioned(mut body: Value, version: i64) -> Value {
    body["version"] = json!(version);
    body
}

fn latest_of(server: &Server, device: &str, who: &Applicant) -> Value {
    let session = server.log_in(device, who);
    let me = server.request(
        "GET",
        "/v1/accounts/me",
        Some(device),
        &[("X-Applicant-Session", &session.token)],
        None,
    );
    assert_eq!(me.status, 200, "{me:?}");
    me.body["latest_submission"].clone()
}

fn submissions_held(server: &Server) -> usize {
    let reviewer = server.reviewer();
    let list = server.get("/v1/review/submissions", Some(&reviewer));
    assert_eq!(list.status, 200, "{list:?}");
    list.body["submissions"].as_array().unwrap().len()
}

fn an_older_version_arriving_late_is_refused_and_the_newer_stays_latest(backend: Backend) {
    let server = Server::start_on(backend);
    let kiosk_1 = server.device("hall-1");
    let kiosk_2 = server.device("hall-2");
    let who = Applicant::new(40);
    assert_eq!(server.register(&kiosk_1, &who).status, 201);
    // Version A is queued on kiosk 1, which is offline: it saw no submission at log-in.
    let key_a = key();
    let body_a = versioned(who.submission(1), 1);

    // Meanwhile the applicant submits B at kiosk 2 (which also saw none), and it is rejected.
    server.log_in(&kiosk_2, &who);
    let b = server.put(
        &format!("/v1/submissions/{}", key()),
        &kiosk_2,
        &versioned(who.submission(2), 1),
    );
    assert_eq!(b.status, 200, "{b:?}");
    let id_b = b.body["submission_id"].as_str().unwrap().to_owned();
    let reviewer = server.reviewer();
    let rejected = server.post(
        &format!("/v1/review/submissions/{id_b}/reject"),
        &reviewer,
        &json!({ "reason": "工作证明未盖章" }),
    );
    assert_eq!(rejected.status, 200, "{rejected:?}");

    // Kiosk 1 comes back online and delivers A.
    let path_a = format!("/v1/submissions/{key_a}");
    let a = server.put(&path_a, &kiosk_1, &body_a);
    assert_eq!(a.status, 409, "{a:?}");
    assert_eq!(a.body["error"], "stale_version");
    assert!(a.body["message"].as_str().unwrap().contains("旧版本"));
    assert!(a.header("idempotent-replayed").is_none());
    // The refusal is final: a retry of A gets the same answer, not a replay.
    assert_eq!(server.put(&path_a, &kiosk_1, &body_a).status, 409);

    assert_eq!(submissions_held(&server), 1);
    let latest = latest_of(&server, &kiosk_2, &who);
    assert_eq!(latest["id"], id_b.as_str(), "{latest}");
    assert_eq!(latest["version"], 1);
    assert_eq!(latest["review"]["state"], "rejected");
    let stored = server.store.latest_submission_of(&who_id(&who)).unwrap();
    assert_eq!(stored.map(|row| row.id), Some(id_b.clone()));

    let refusals: Vec<_> = server
        .store
        .audit_log(20)
        .unwrap()
        .into_iter()
        .filter(|row| row.action == "submit" && row.outcome.contains("stale_version"))
        .collect();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert!(
        refusals
            .iter()
            .all(|row| !row.outcome.contains(&who.id_number)),
        "{refusals:?}"
    );

    // The applicant corrects B, made from the version they saw: accepted, and now the latest.
    let c = server.put(
        &format!("/v1/submissions/{}", key()),
        &kiosk_2,
        &versioned(who.submission(3), 2),
    );
    assert_eq!(c.status, 200, "{c:?}");
    let latest = latest_of(&server, &kiosk_2, &who);
    assert_eq!(latest["id"], c.body["submission_id"]);
    assert_eq!(latest["version"], 2);
}

fn who_id(who: &Applicant) -> String {
    kiosk_domain::idnumber::normalize(&who.id_number)
}

fn a_kiosk_without_versions_is_ordered_by_arrival(backend: Backend) {
    let server = Server::start_on(backend);
    let kiosk = server.device("hall-1");
    let who = Applicant::new(41);
    assert_eq!(server.register(&kiosk, &who).status, 201);
    let first = server.put(
        &format!("/v1/submissions/{}", key()),
        &kiosk,
        &who.submission(1),
    );
    assert_eq!(first.status, 200, "{first:?}");
    let id = first.body["submission_id"].as_str().unwrap();
    let reviewer = server.reviewer();
    let rejected = server.post(
        &format!("/v1/review/submissions/{id}/reject"),
        &reviewer,
        &json!({ "reason": "照片不清晰" }),
    );
    assert_eq!(rejected.status, 200, "{rejected:?}");
    let second = server.put(
        &format!("/v1/submissions/{}", key()),
        &kiosk,
        &who.submission(2),
    );
    assert_eq!(second.status, 200, "{second:?}");
    let latest = latest_of(&server, &kiosk, &who);
    assert_eq!(latest["id"], second.body["submission_id"]);
    assert_eq!(latest["version"], 2);

    // A kiosk cannot claim more than one above the latest, or every later version would be stale.
    let id = second.body["submission_id"].as_str().unwrap();
    let rejected = server.post(
        &format!("/v1/review/submissions/{id}/reject"),
        &reviewer,
        &json!({ "reason": "照片不清晰" }),
    );
    assert_eq!(rejected.status, 200, "{rejected:?}");
    let claimed = server.put(
        &format!("/v1/submissions/{}", key()),
        &kiosk,
        &versioned(who.submission(3), 1_000_000),
    );
    assert_eq!(claimed.status, 200, "{claimed:?}");
    assert_eq!(latest_of(&server, &kiosk, &who)["version"], 3);
    let malformed = server.put(
        &format!("/v1/submissions/{}", key()),
        &kiosk,
        &versioned(who.submission(4), 0),
    );
    assert_eq!(malformed.status, 400, "{malformed:?}");
    assert_eq!(malformed.body["error"], "malformed_version");
}

fn a_replay_from_a_re_enrolled_kiosk_is_answered_as_the_first(backend: Backend) {
    let server = Server::start_on(backend);
    let before = server.device("hall-3");
    let who = Applicant::new(42);
    assert_eq!(server.register(&before, &who).status, 201);
    let path = format!("/v1/submissions/{}", key());
    let body = who.submission(0);
    // Delivered, but the answer never reached the kiosk.
    let first = server.put(&path, &before, &body);
    assert_eq!(first.status, 200, "{first:?}");

    // The same hall kiosk, enrolled again under a new credential, retries with a fresh grant.
    let after = server.device("hall-3 (re-enrolled)");
    server.log_in(&after, &who);
    let again = server.put(&path, &after, &body);
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.raw, first.raw);
    assert_eq!(again.body["submission_id"], first.body["submission_id"]);
    // The answer carries what the first one did, and nothing about the applicant (the receipt
    // code opens the public status page: the status and reasons only).
    let mut fields: Vec<&str> = again
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "content_sha256",
            "idempotency_key",
            "receipt_code",
            "status",
            "status_label",
            "submission_id"
        ]
    );
    assert!(!again.raw.contains(&who.id_number) && !again.raw.contains(&who.mobile));
    assert_eq!(submissions_held(&server), 1);

    // Status lookups stay with the kiosk that submitted.
    let id = first.body["submission_id"].as_str().unwrap();
    let status_path = format!("/v1/submissions/{id}/status");
    assert_eq!(server.get(&status_path, Some(&before)).status, 200);
    assert_eq!(server.get(&status_path, Some(&after)).status, 404);
}

fn the_same_key_from_another_kiosk_with_other_content_is_422(backend: Backend) {
    let server = Server::start_on(backend);
    let before = server.device("hall-4");
    let who = Applicant::new(43);
    assert_eq!(server.register(&before, &who).status, 201);
    let path = format!("/v1/submissions/{}", key());
    let first = server.put(&path, &before, &who.submission(0));
    assert_eq!(first.status, 200, "{first:?}");

    let after = server.device("hall-4 (re-enrolled)");
    server.log_in(&after, &who);
    let other = server.put(&path, &after, &who.submission(1));
    assert_eq!(other.status, 422, "{other:?}");
    assert_eq!(other.body["error"], "idempotency_key_reused");
    assert!(other.header("idempotent-replayed").is_none());

    // Nor does the key answer for another applicant's record.
    let stranger = Applicant::new(44);
    assert_eq!(server.register(&after, &stranger).status, 201);
    let theirs = server.put(&path, &after, &stranger.submission(0));
    assert_eq!(theirs.status, 422, "{theirs:?}");
    assert!(!theirs.raw.contains("sub_"), "{theirs:?}");
    assert_eq!(submissions_held(&server), 1);
}

on_both_backends!(
    an_older_version_arriving_late_is_refused_and_the_newer_stays_latest,
    a_kiosk_without_versions_is_ordered_by_arrival,
    a_replay_from_a_re_enrolled_kiosk_is_answered_as_the_first,
    the_same_key_from_another_kiosk_with_other_content_is_422,
);
