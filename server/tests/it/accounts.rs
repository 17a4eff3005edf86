//! Registration, login, forgotten passwords, first-login phone binding and throttling.

use crate::common;

use common::{Applicant, Backend, Server, on_both_backends};
use kiosk_server::auth;
use kiosk_server::store::{AuditEntry, NewAccount};
use kiosk_server::util;
use serde_json::json;

fn login(server: &Server, device: &str, id_number: &str, password: &str) -> common::Resp {
    server.post(
        "/v1/accounts/login",
        device,
        &json!({ "id_number": id_number, "password": password }),
    )
}

fn register_then_log_in_and_taken_id_numbers(backend: Backend) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let who = Applicant::new(2);

    let registered = server.register(&device, &who);
    assert_eq!(registered.status, 201, "{registered:?}");
    assert_eq!(registered.body["phone_binding_required"], false);
    assert!(registered.body["session_token"].as_str().unwrap().len() >= 32);

    // The same ID number again with a wrong code: only the code is judged, so that nobody
    // without the phone learns whether the ID number has an account.
    let guess = server.post(
        "/v1/accounts",
        &device,
        &json!({
            "id_number": who.id_number, "name": who.name, "mobile": "13900139077",
            "sms_code": "123456", "password": "other1234", "password_confirm": "other1234",
        }),
    );
    assert_eq!(guess.status, 400, "{guess:?}");
    // With a real code for the phone in hand: told to log in.
    let sent = server.post(
        "/v1/sms/codes",
        &device,
        &json!({ "mobile": "13900139077", "purpose": "register" }),
    );
    assert_eq!(sent.status, 202, "{sent:?}");
    let code = server.last_sms_code("13900139077");
    let again = server.post(
        "/v1/accounts",
        &device,
        &json!({
            "id_number": who.id_number, "name": who.name, "mobile": "13900139077",
            "sms_code": code, "password": "other1234", "password_confirm": "other1234",
        }),
    );
    assert_eq!(again.status, 409, "{again:?}");
    assert_eq!(again.body["error"], "id_number_taken");

    let ok = login(&server, &device, &who.id_number, &who.password);
    assert_eq!(ok.status, 200, "{ok:?}");
    let session = ok.body["session_token"].as_str().unwrap().to_owned();
    let me = server.request(
        "GET",
        "/v1/accounts/me",
        Some(&device),
        &[("X-Applicant-Session", &session)],
        None,
    );
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(
        me.body["mobile_masked"],
        kiosk_domain::privacy::mask_mobile(&who.mobile)
    );
    // The kiosk the applicant logged in at gets their own data back, to fill the locked fields.
    assert_eq!(me.body["id_number"], who.id_number.as_str());
    assert_eq!(me.body["mobile"], who.mobile.as_str());
    assert_eq!(me.body["id_type"], "resident_id_card");

    assert_eq!(
        login(&server, &device, &who.id_number, "wrong1234").status,
        401
    );

    // Forgot password: SMS code to the bound phone, then a new password.
    let sent = server.post(
        "/v1/sms/codes",
        &device,
        &json!({ "mobile": who.mobile, "purpose": "reset_password", "id_number": who.id_number }),
    );
    // The registration code went out less than 60 s ago.
    assert_eq!(sent.status, 429, "{sent:?}");
    assert!(sent.header("retry-after").unwrap().parse::<u64>().unwrap() <= 60);
}

fn forgotten_password_is_reset_with_an_sms_code(backend: Backend) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let who = Applicant::new(3);
    // Seed the account directly so that no registration SMS holds the 60 s slot.
    server
        .store
        .insert_account(
            &NewAccount {
                id_type: "resident_id_card".into(),
                id_number: who.id_number.clone(),
                name: who.name.clone(),
                mobile: Some(who.mobile.clone()),
                password_hash: auth::hash_password("forgotten1").unwrap(),
            },
            &AuditEntry::new("cli:test", "import account", "test", "ok", util::now()),
        )
        .unwrap();
    let sent = server.post(
        "/v1/sms/codes",
        &device,
        &json!({ "mobile": who.mobile, "purpose": "reset_password", "id_number": who.id_number }),
    );
    assert_eq!(sent.status, 202, "{sent:?}");
    let code = server.last_sms_code(&who.mobile);

    let mismatch = server.post(
        "/v1/accounts/password-reset",
        &device,
        &json!({ "id_number": who.id_number, "mobile": who.mobile, "sms_code": code,
                 "new_password": "newpass12", "new_password_confirm": "newpass13" }),
    );
    assert_eq!(mismatch.status, 400, "{mismatch:?}");
    assert_eq!(
        mismatch.body["issues"][0]["field"],
        "account.password_confirm"
    );

    let wrong_code = if code == "000000" { "111111" } else { "000000" };
    let bad = server.post(
        "/v1/accounts/password-reset",
        &device,
        &json!({ "id_number": who.id_number, "mobile": who.mobile, "sms_code": wrong_code,
                 "new_password": "newpass12", "new_password_confirm": "newpass12" }),
    );
    assert_eq!(bad.status, 400, "{bad:?}");
    assert_eq!(bad.body["issues"][0]["field"], "account.sms_code");

    let reset = server.post(
        "/v1/accounts/password-reset",
        &device,
        &json!({ "id_number": who.id_number, "mobile": who.mobile, "sms_code": code,
                 "new_password": "newpass12", "new_password_confirm": "newpass12" }),
    );
    assert_eq!(reset.status, 200, "{reset:?}");
    assert_eq!(
        login(&server, &device, &who.id_number, "forgotten1").status,
        401
    );
    assert_eq!(
        login(&server, &device, &who.id_number, "newpass12").status,
        200
    );

    // A code is good once.
    let replay = server.post(
        "/v1/accounts/password-reset",
        &device,
        &json!({ "id_number": who.id_number, "mobile": who.mobile, "sms_code": code,
                 "new_password": "newpass99", "new_password_confirm": "newpass99" }),
    );
    assert_eq!(replay.status, 400, "{replay:?}");
}

fn registration_refuses_invalid_fields_and_wrong_codes(backend: Backend) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let invalid = server.post(
        "/v1/accounts",
        &device,
        &json!({ "id_number": "110101199003070012", "name": "张三", "mobile": "12345",
                 "sms_code": "12", "password": "short", "password_confirm": "other" }),
    );
    assert_eq!(invalid.status, 400, "{invalid:?}");
    let fields: Vec<&str> = invalid.body["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["field"].as_str().unwrap())
        .collect();
    for field in [
        "basic.id_number",
        "basic.mobile",
        "account.password",
        "account.password_confirm",
        "account.sms_code",
    ] {
        assert!(fields.contains(&field), "{field} not in {fields:?}");
    }
    assert!(
        invalid.body["issues"][0]["message"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| c > '\u{2e80}')
    );

    let who = Applicant::new(4);
    let no_code = server.post(
        "/v1/accounts",
        &device,
        &json!({ "id_number": who.id_number, "name": who.name, "mobile": who.mobile,
                 "sms_code": "123456", "password": "secret123", "password_confirm": "secret123" }),
    );
    assert_eq!(no_code.status, 400, "{no_code:?}");
    assert_eq!(no_code.body["issues"][0]["field"], "account.sms_code");
}

fn five_wrong_passwords_then_429_with_retry_after(backend: Backend) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let who = Applicant::new(5);
    assert_eq!(server.register(&device, &who).status, 201);
    for _ in 0..5 {
        assert_eq!(
            login(&server, &device, &who.id_number, "wrong1234").status,
            401
        );
    }
    let locked = login(&server, &device, &who.id_number, &who.password);
    assert_eq!(locked.status, 429, "{locked:?}");
    let wait: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    // Another ID number is not affected.
    let other = Applicant::new(6);
    assert_eq!(login(&server, &device, &other.id_number, "x").status, 401);
}

fn one_sms_per_phone_per_minute(backend: Backend) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let body = json!({ "mobile": "13900139000", "purpose": "register" });
    assert_eq!(server.post("/v1/sms/codes", &device, &body).status, 202);
    let again = server.post("/v1/sms/codes", &device, &body);
    assert_eq!(again.status, 429);
    let wait: i64 = again.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    // Another purpose for the same phone is throttled too; another phone is not.
    let bind = json!({ "mobile": "13900139000", "purpose": "bind_phone" });
    assert_eq!(server.post("/v1/sms/codes", &device, &bind).status, 429);
    let other = json!({ "mobile": "13900139001", "purpose": "register" });
    assert_eq!(server.post("/v1/sms/codes", &device, &other).status, 202);
    let sms = std::fs::read_to_string(&server.sms_file).unwrap();
    assert!(sms.lines().all(|l| l.starts_with("code 139****")), "{sms}");
    assert!(!sms.contains("13900139000"));
}

fn accountants_on_file_bind_a_phone_at_first_login(backend: Backend) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let who = Applicant::new(7);
    server
        .store
        .insert_account(
            &NewAccount {
                id_type: "resident_id_card".into(),
                id_number: who.id_number.clone(),
                name: who.name.clone(),
                mobile: None,
                password_hash: auth::hash_password(&who.password).unwrap(),
            },
            &AuditEntry::new("cli:test", "import account", "test", "ok", util::now()),
        )
        .unwrap();
    let ok = login(&server, &device, &who.id_number, &who.password);
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.body["phone_binding_required"], true);
    let session = ok.body["session_token"].as_str().unwrap().to_owned();
    let headers = [("X-Applicant-Session", session.as_str())];

    // Without a session: 401.
    let anonymous = server.post(
        "/v1/accounts/phone",
        &device,
        &json!({ "mobile": who.mobile }),
    );
    assert_eq!(anonymous.status, 401);

    let sent = server.post(
        "/v1/sms/codes",
        &device,
        &json!({ "mobile": who.mobile, "purpose": "bind_phone" }),
    );
    assert_eq!(sent.status, 202);
    let code = server.last_sms_code(&who.mobile);
    let bind = json!({ "mobile": who.mobile, "sms_code": code });
    let bound = server.request(
        "POST",
        "/v1/accounts/phone",
        Some(&device),
        &headers,
        Some(&bind),
    );
    assert_eq!(bound.status, 200, "{bound:?}");
    let twice = server.request(
        "POST",
        "/v1/accounts/phone",
        Some(&device),
        &headers,
        Some(&bind),
    );
    assert_eq!(twice.status, 409, "{twice:?}");

    let again = login(&server, &device, &who.id_number, &who.password);
    assert_eq!(again.body["phone_binding_required"], false);
}

on_both_backends!(
    register_then_log_in_and_taken_id_numbers,
    forgotten_password_is_reset_with_an_sms_code,
    registration_refuses_invalid_fields_and_wrong_codes,
    five_wrong_passwords_then_429_with_retry_after,
    one_sms_per_phone_per_minute,
    accountants_on_file_bind_a_phone_at_first_login,
);
