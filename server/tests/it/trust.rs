//! What the server refuses to trust (issue 14): submissions bound to the applicant's session,
//! atomic and layered throttles, single-use SMS codes, bounded password hashing, strict record
//! parsing, reviewers scoped to their bureau, and an append-only audit log written with every
//! decision. Each test fails on the server before these controls.

use crate::common;

use common::{Applicant, Backend, Server, Session, granted, key, on_both_backends};
use kiosk_domain::RulesEdition;
use kiosk_server::store::{AuditEntry, NewAccount};
use serde_json::json;

fn setup(backend: Backend, n: u32) -> (Server, String, Applicant, Session) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let who = Applicant::new(n);
    let registered = server.register(&device, &who);
    assert_eq!(registered.status, 201, "{registered:?}");
    let session = Session::from_answer(&registered).expect("registration opens a session");
    (server, device, who, session)
}

/// An applicant whose account is on file with a bound phone, without a registration SMS holding
/// the phone's 60-second slot.
fn seeded(backend: Backend, n: u32) -> (Server, String, Applicant) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let who = Applicant::new(n);
    server
        .store
        .insert_account(
            &NewAccount {
                id_type: "resident_id_card".into(),
                id_number: who.id_number.clone(),
                name: who.name.clone(),
                mobile: Some(who.mobile.clone()),
                password_hash: kiosk_server::auth::hash_password(&who.password).unwrap(),
            },
            &AuditEntry::new("cli:test", "import account", "test", "ok", 0),
        )
        .unwrap();
    (server, device, who)
}

fn audit_rows(server: &Server) -> Vec<AuditEntry> {
    server.store.audit_log(10_000).unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. A submission is bound to a logged-in applicant.

fn a_device_token_alone_files_nothing(backend: Backend) {
    let (server, device, who, _) = setup(backend, 40);
    let body = who.submission(0);
    let resp = server.put_raw(&format!("/v1/submissions/{}", key()), &device, &body);
    assert_eq!(resp.status, 403, "no grant: {resp:?}");
    assert_eq!(resp.body["error"], "grant_required");
    let forged =
        json!({ "session_id": "ses_000000000000000000000000", "signature": "0".repeat(64) });
    let mut body = who.submission(0);
    body["grant"] = forged;
    let resp = server.put_raw(&format!("/v1/submissions/{}", key()), &device, &body);
    assert_eq!(resp.status, 403, "made-up grant: {resp:?}");
    assert_eq!(resp.body["error"], "grant_invalid");
    assert!(server.store.submissions(None, None).unwrap().is_empty());
}

fn a_session_files_only_its_own_applicants_record(backend: Backend) {
    let (server, device, _who, session) = setup(backend, 41);
    // Another registered applicant: the first applicant's session must not file their record.
    let other = Applicant::new(42);
    assert_eq!(server.register(&device, &other).status, 201);
    let k = key();
    let body = granted(other.submission(0), &k, &session);
    let resp = server.put_raw(&format!("/v1/submissions/{k}"), &device, &body);
    assert_eq!(resp.status, 403, "{resp:?}");
    assert_eq!(resp.body["error"], "applicant_mismatch");
    assert!(server.store.submissions(None, None).unwrap().is_empty());
}

fn a_session_works_only_from_the_kiosk_it_was_issued_to(backend: Backend) {
    let (server, device, who, session) = setup(backend, 43);
    let elsewhere = server.device("hall-2");
    let k = key();
    let body = granted(who.submission(0), &k, &session);
    let resp = server.put_raw(&format!("/v1/submissions/{k}"), &elsewhere, &body);
    assert_eq!(resp.status, 403, "{resp:?}");
    let me = server.request(
        "GET",
        "/v1/accounts/me",
        Some(&elsewhere),
        &[("X-Applicant-Session", &session.token)],
        None,
    );
    assert_eq!(
        me.status, 401,
        "a session is not usable from another kiosk: {me:?}"
    );
    // From its own kiosk it works.
    let resp = server.put_raw(&format!("/v1/submissions/{k}"), &device, &body);
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.body["idempotency_key"], k.as_str());
    assert_eq!(resp.body["content_sha256"], body["content_sha256"]);
}

fn a_grant_signs_one_key_and_one_content(backend: Backend) {
    let (server, device, who, session) = setup(backend, 44);
    let k = key();
    let body = granted(who.submission(0), &k, &session);
    // The same grant under another key, or on other content, does not verify.
    let resp = server.put_raw(&format!("/v1/submissions/{}", key()), &device, &body);
    assert_eq!(resp.status, 403, "{resp:?}");
    let mut other = who.submission(1);
    other["grant"] = body["grant"].clone();
    let resp = server.put_raw(&format!("/v1/submissions/{k}"), &device, &other);
    assert_eq!(resp.status, 403, "{resp:?}");
}

fn logout_revokes_but_keeps_what_was_pending(backend: Backend) {
    let (server, device, who, session) = setup(backend, 45);
    let pending = key();
    let queued = granted(who.submission(0), &pending, &session);
    let late = key();
    let unlisted = granted(who.submission(1), &late, &session);
    let out = server.request(
        "POST",
        "/v1/accounts/logout",
        Some(&device),
        &[("X-Applicant-Session", &session.token)],
        Some(&json!({ "pending_keys": [pending] })),
    );
    assert_eq!(out.status, 204, "{out:?}");
    let me = server.request(
        "GET",
        "/v1/accounts/me",
        Some(&device),
        &[("X-Applicant-Session", &session.token)],
        None,
    );
    assert_eq!(me.status, 401, "revoked: {me:?}");
    // A grant made before log-out and declared pending is still delivered; one not declared
    // (made with a stolen token after log-out, say) is not.
    let resp = server.put_raw(&format!("/v1/submissions/{late}"), &device, &unlisted);
    assert_eq!(resp.status, 403, "{resp:?}");
    assert_eq!(resp.body["error"], "grant_expired");
    let resp = server.put_raw(&format!("/v1/submissions/{pending}"), &device, &queued);
    assert_eq!(resp.status, 200, "{resp:?}");
    // The accepted key replays for ever, whatever became of the session.
    let again = server.put_raw(&format!("/v1/submissions/{pending}"), &device, &queued);
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}

fn a_grant_outlives_its_session_for_the_offline_kiosk(backend: Backend) {
    let (server, device, who, session) = setup(backend, 46);
    let k = key();
    let body = granted(who.submission(0), &k, &session);
    // The session expired an hour ago (the kiosk was offline): the grant is still honoured.
    expire_session(&server, &session, kiosk_server::util::now() - 3600);
    let resp = server.put_raw(&format!("/v1/submissions/{k}"), &device, &body);
    assert_eq!(resp.status, 200, "{resp:?}");
    // Beyond the grace period it is not.
    let (server, device, who, session) = setup(backend, 47);
    let k = key();
    let body = granted(who.submission(0), &k, &session);
    let long_ago = kiosk_server::util::now() - kiosk_server::api::GRANT_GRACE_SECS - 3600;
    expire_session(&server, &session, long_ago);
    let resp = server.put_raw(&format!("/v1/submissions/{k}"), &device, &body);
    assert_eq!(resp.status, 403, "{resp:?}");
    assert_eq!(resp.body["error"], "grant_expired");
}

fn expire_session(server: &Server, session: &Session, at: i64) {
    let sql = format!(
        "UPDATE sessions SET expires_at = {at} WHERE session_id = '{}'",
        session.id
    );
    match &server.db {
        common::TestDb::Sqlite(path) => {
            rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(&sql)
                .unwrap();
        }
        common::TestDb::Postgres(db) => db.execute(&sql),
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Throttles are atomic and layered.

fn fifty_parallel_wrong_passwords_are_fifty_attempts(backend: Backend) {
    let (server, device, who, _) = setup(backend, 48);
    let answers: Vec<common::Resp> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let (server, device, who) = (&server, &device, &who);
                scope.spawn(move || {
                    server.post(
                        "/v1/accounts/login",
                        device,
                        &json!({ "id_number": who.id_number, "password": format!("wrong{i:04}") }),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let checked = answers.iter().filter(|a| a.status == 401).count();
    let throttled: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(
        checked,
        kiosk_server::api::LOGIN_MAX_FAILURES as usize,
        "only the allowed number of guesses is checked: {answers:?}"
    );
    assert_eq!(checked + throttled.len(), 50, "{answers:?}");
    for answer in throttled {
        let wait: i64 = answer.header("retry-after").unwrap().parse().unwrap();
        assert!(
            wait > 0 && wait <= kiosk_server::api::LOGIN_WINDOW_SECS,
            "{answer:?}"
        );
    }
    // The right password is throttled too now.
    let right = server.post(
        "/v1/accounts/login",
        &device,
        &json!({ "id_number": who.id_number, "password": who.password }),
    );
    assert_eq!(right.status, 429, "{right:?}");
}

fn one_kiosk_cannot_guess_across_many_id_numbers(backend: Backend) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let limit = kiosk_server::api::LOGIN_MAX_FAILURES_PER_DEVICE as usize;
    // Four wrong passwords each for many different ID numbers: under the per-ID limit, but the
    // kiosk's own limit stops it.
    let mut statuses = Vec::new();
    for n in 0..(limit as u32 / 4 + 2) {
        let who = Applicant::new(100 + n);
        for _ in 0..4 {
            statuses.push(
                server
                    .post(
                        "/v1/accounts/login",
                        &device,
                        &json!({ "id_number": who.id_number, "password": "wrong123" }),
                    )
                    .status,
            );
        }
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), limit);
    assert!(
        statuses.iter().skip(limit).all(|s| *s == 429),
        "{statuses:?}"
    );
    // Another kiosk is not affected.
    let other = server.device("hall-2");
    let resp = server.post(
        "/v1/accounts/login",
        &other,
        &json!({ "id_number": Applicant::new(1).id_number, "password": "wrong123" }),
    );
    assert_eq!(resp.status, 401, "{resp:?}");
}

// ---------------------------------------------------------------------------------------------
// 3. Bounded password hashing.

fn password_hashing_beyond_its_bound_answers_503(backend: Backend) {
    let server = Server::start_with(backend, |mut state| {
        state.hashing = std::sync::Arc::new(kiosk_server::auth::HashingPool::new(1, 1));
        state
    });
    let device = server.device("hall-1");
    let answers: Vec<common::Resp> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let (server, device) = (&server, &device);
                scope.spawn(move || {
                    server.post(
                        "/v1/accounts/login",
                        device,
                        &json!({ "id_number": Applicant::new(200 + i).id_number, "password": "wrong123" }),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let busy: Vec<_> = answers.iter().filter(|a| a.status == 503).collect();
    assert!(
        !busy.is_empty(),
        "12 parallel hashes on 1 permit + 1 waiting: {answers:?}"
    );
    for answer in &busy {
        assert_eq!(answer.body["error"], "busy");
        assert!(answer.header("retry-after").is_some());
    }
    assert!(
        answers.iter().all(|a| a.status == 401 || a.status == 503),
        "{answers:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. SMS codes are single-use, atomically.

fn two_parallel_uses_of_one_code_one_succeeds(backend: Backend) {
    let (server, device, who) = seeded(backend, 49);
    let sent = server.post(
        "/v1/sms/codes",
        &device,
        &json!({ "mobile": who.mobile, "purpose": "reset_password", "id_number": who.id_number }),
    );
    assert_eq!(sent.status, 202, "{sent:?}");
    let code = server.last_sms_code(&who.mobile);
    let reset = json!({
        "id_number": who.id_number, "mobile": who.mobile, "sms_code": code,
        "new_password": "newpass123", "new_password_confirm": "newpass123",
    });
    let answers: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    server
                        .post("/v1/accounts/password-reset", &device, &reset)
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        answers.iter().filter(|s| **s == 200).count(),
        1,
        "{answers:?}"
    );
    // The others: the code is used up (400), or the ID number's reset limit answered first (429).
    assert!(
        answers.iter().all(|s| [200, 400, 429].contains(s)),
        "{answers:?}"
    );
}

fn wrong_tries_burn_a_code(backend: Backend) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let who = Applicant::new(50);
    let sent = server.post(
        "/v1/sms/codes",
        &device,
        &json!({ "mobile": who.mobile, "purpose": "register" }),
    );
    assert_eq!(sent.status, 202, "{sent:?}");
    let code = server.last_sms_code(&who.mobile);
    let attempt = |code: &str| {
        server.post(
            "/v1/accounts",
            &device,
            &json!({
                "id_type": "resident_id_card", "id_number": who.id_number, "name": who.name,
                "mobile": who.mobile, "sms_code": code,
                "password": who.password, "password_confirm": who.password,
            }),
        )
    };
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..kiosk_server::api::SMS_MAX_ATTEMPTS {
        assert_eq!(attempt(wrong).status, 400);
    }
    let late = attempt(&code);
    assert_eq!(
        late.status, 400,
        "the right code after too many wrong tries is burnt: {late:?}"
    );
    assert_eq!(late.body["issues"][0]["code"], "SmsCodeWrong");
    assert!(
        server
            .store
            .account_by_id_number(&who.id_number)
            .unwrap()
            .is_none()
    );
}

// ---------------------------------------------------------------------------------------------
// 6. The record is parsed strictly; the server owns the review state.

fn unknown_fields_padding_and_review_state_are_refused(backend: Backend) {
    let (server, device, who, _) = setup(backend, 51);
    // A 2 MB padded record.
    let body = who.submission(0);
    let mut application = body["application"].clone();
    application["data"]["basic"]["padding"] = json!("x".repeat(2 * 1024 * 1024));
    let padded = common::envelope(application, body["materials"].as_array().unwrap().clone());
    let resp = server.put(&format!("/v1/submissions/{}", key()), &device, &padded);
    assert_eq!(resp.status, 422, "{}", resp.status);
    assert!(!resp.raw.contains("xxxxxxxx"), "nothing echoed back");
    // A small unknown field.
    let mut application = body["application"].clone();
    application["data"]["basic"]["approved_by"] = json!("me");
    let extra = common::envelope(application, body["materials"].as_array().unwrap().clone());
    let resp = server.put(&format!("/v1/submissions/{}", key()), &device, &extra);
    assert_eq!(resp.status, 422, "{resp:?}");
    assert_eq!(resp.body["error"], "application_unknown_fields");
    // A review state the kiosk may not set.
    let mut application = body["application"].clone();
    application["review"] = json!({ "state": "approved" });
    let approved = common::envelope(application, body["materials"].as_array().unwrap().clone());
    let resp = server.put(&format!("/v1/submissions/{}", key()), &device, &approved);
    assert_eq!(resp.status, 422, "{resp:?}");
    assert_eq!(resp.body["error"], "review_state_not_settable");
    // An unknown member of the envelope.
    let mut envelope = body.clone();
    envelope["status"] = json!("approved");
    let resp = server.put(&format!("/v1/submissions/{}", key()), &device, &envelope);
    assert_eq!(resp.status, 400, "{resp:?}");
    // And of an account body.
    let resp = server.post(
        "/v1/accounts/login",
        &device,
        &json!({ "id_number": who.id_number, "password": who.password, "role": "admin" }),
    );
    assert_eq!(resp.status, 400, "{resp:?}");
    // A value of the wrong type is not quoted back (serde's message would quote it).
    let digits = who.id_number.trim_end_matches('X').to_owned();
    let raw = format!(r#"{{"id_number": {digits}, "password": "x"}}"#);
    let resp = server.request(
        "POST",
        "/v1/accounts/login",
        Some(&device),
        &[],
        Some(&serde_json::from_str(&raw).unwrap()),
    );
    assert_eq!(resp.status, 400, "{resp:?}");
    assert!(!resp.raw.contains(&digits[..12]), "{resp:?}");
    assert!(server.store.submissions(None, None).unwrap().is_empty());
}

/// The record names the rules edition it was checked with; the server judges it by that edition's
/// limits, refuses one it does not know (a kiosk updated before its server), and reads a record
/// queued before editions existed as the first.
fn a_record_is_judged_by_the_rules_edition_it_names(backend: Backend) {
    let (server, device, who, _) = setup(backend, 53);
    let body = who.submission(0);
    assert_eq!(
        body["application"]["rules"],
        json!(RulesEdition::CURRENT.name()),
        "a submitted record carries its edition"
    );
    let uploads = body["materials"].as_array().unwrap().clone();
    let mut application = body["application"].clone();
    application["rules"] = json!("yn-rules-2099.1");
    let newer = common::envelope(application, uploads.clone());
    let resp = server.put(&format!("/v1/submissions/{}", key()), &device, &newer);
    assert_eq!(resp.status, 422, "{resp:?}");
    assert_eq!(resp.body["error"], "rules_edition_unknown");
    assert!(server.store.submissions(None, None).unwrap().is_empty());
    let mut application = body["application"].clone();
    application.as_object_mut().unwrap().remove("rules");
    let before_editions = common::envelope(application, uploads);
    let resp = server.put(
        &format!("/v1/submissions/{}", key()),
        &device,
        &before_editions,
    );
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(server.store.submissions(None, None).unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 10. Reviewers are scoped to their bureau.

/// 五华区 (Kunming) and 大理市 (Dali): bureaus of different prefectures.
const WUHUA: u32 = 530102;
const DALI_CITY: u32 = 532901;

fn a_reviewer_sees_and_decides_only_their_bureau(backend: Backend) {
    let (server, device, who, _) = setup(backend, 52);
    let mut body = who.submission(0);
    assert_eq!(
        body["application"]["data"]["basic"]["finance_bureau"],
        json!(WUHUA),
        "the sample applicant is collected in 五华区"
    );
    let application = body["application"].clone();
    body = common::envelope(application, body["materials"].as_array().unwrap().clone());
    let resp = server.put(&format!("/v1/submissions/{}", key()), &device, &body);
    assert_eq!(resp.status, 200, "{resp:?}");
    let id = resp.body["submission_id"].as_str().unwrap().to_owned();

    let dali = server.bureau_reviewer(DALI_CITY);
    let list = server.get("/v1/review/submissions", Some(&dali));
    assert_eq!(list.body["submissions"], json!([]), "{list:?}");
    assert_eq!(
        server
            .get(&format!("/v1/review/submissions/{id}"), Some(&dali))
            .status,
        404
    );
    assert_eq!(
        server
            .get(&format!("/v1/submissions/{id}/status"), Some(&dali))
            .status,
        404
    );
    let decided = server.post(
        &format!("/v1/review/submissions/{id}/approve"),
        &dali,
        &json!({}),
    );
    assert_eq!(decided.status, 404, "{decided:?}");
    let rejected = server.post(
        &format!("/v1/review/submissions/{id}/reject"),
        &dali,
        &json!({ "reason": "照片不清晰" }),
    );
    assert_eq!(rejected.status, 404, "{rejected:?}");

    let wuhua = server.bureau_reviewer(WUHUA);
    let list = server.get("/v1/review/submissions", Some(&wuhua));
    assert_eq!(
        list.body["submissions"].as_array().unwrap().len(),
        1,
        "{list:?}"
    );
    let province = server.reviewer();
    let list = server.get("/v1/review/submissions", Some(&province));
    assert_eq!(
        list.body["submissions"].as_array().unwrap().len(),
        1,
        "{list:?}"
    );
    let decided = server.post(
        &format!("/v1/review/submissions/{id}/approve"),
        &wuhua,
        &json!({}),
    );
    assert_eq!(decided.status, 200, "{decided:?}");
}

// ---------------------------------------------------------------------------------------------
// 8. The audit log: one row per action, in the same transaction, append-only, no PII.

fn every_action_writes_its_audit_row(backend: Backend) {
    let (server, device, who, _) = setup(backend, 53);
    let failed = server.post(
        "/v1/accounts/login",
        &device,
        &json!({ "id_number": who.id_number, "password": "wrong123" }),
    );
    assert_eq!(failed.status, 401);
    server.log_in(&device, &who);
    let resp = server.put(
        &format!("/v1/submissions/{}", key()),
        &device,
        &who.submission(0),
    );
    assert_eq!(resp.status, 200, "{resp:?}");
    let id = resp.body["submission_id"].as_str().unwrap().to_owned();
    let reviewer = server.reviewer();
    let rejected = server.post(
        &format!("/v1/review/submissions/{id}/reject"),
        &reviewer,
        &json!({ "reason": "照片不清晰" }),
    );
    assert_eq!(rejected.status, 200, "{rejected:?}");

    let rows = audit_rows(&server);
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    for expected in [
        "register",
        "session after registration",
        "login failed",
        "login",
        "submit",
        "reject",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let submit = rows.iter().find(|r| r.action == "submit").unwrap();
    assert!(submit.actor.starts_with("session:ses_"), "{submit:?}");
    assert_eq!(submit.target, id);
    let reject = rows.iter().find(|r| r.action == "reject").unwrap();
    assert!(reject.actor.starts_with("reviewer:"), "{reject:?}");
    assert!(
        rows.iter().all(|r| r.actor != "cli" && r.actor != "admin"),
        "{rows:?}"
    );
    let text = format!("{rows:?}");
    assert!(
        !text.contains(&who.id_number),
        "no full ID number in the audit log"
    );
    assert!(!text.contains(&who.name), "no name in the audit log");
    assert!(
        !text.contains(&who.mobile),
        "no phone number in the audit log"
    );
}

fn the_audit_log_is_append_only(backend: Backend) {
    let (server, _device, _who, _) = setup(backend, 54);
    assert!(!audit_rows(&server).is_empty());
    for sql in ["UPDATE audit SET outcome = 'forged'", "DELETE FROM audit"] {
        let refused = match &server.db {
            common::TestDb::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(sql)
                .is_err(),
            common::TestDb::Postgres(db) => db.try_execute(sql).is_err(),
        };
        assert!(refused, "{sql} was allowed");
    }
    assert!(audit_rows(&server).iter().all(|r| r.outcome != "forged"));
}

on_both_backends!(
    a_device_token_alone_files_nothing,
    a_session_files_only_its_own_applicants_record,
    a_session_works_only_from_the_kiosk_it_was_issued_to,
    a_grant_signs_one_key_and_one_content,
    logout_revokes_but_keeps_what_was_pending,
    a_grant_outlives_its_session_for_the_offline_kiosk,
    fifty_parallel_wrong_passwords_are_fifty_attempts,
    one_kiosk_cannot_guess_across_many_id_numbers,
    password_hashing_beyond_its_bound_answers_503,
    two_parallel_uses_of_one_code_one_succeeds,
    wrong_tries_burn_a_code,
    unknown_fields_padding_and_review_state_are_refused,
    a_record_is_judged_by_the_rules_edition_it_names,
    a_reviewer_sees_and_decides_only_their_bureau,
    every_action_writes_its_audit_row,
    the_audit_log_is_append_only,
);
