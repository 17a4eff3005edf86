//! The reviewer console's pages and forms over real HTTP (issue 15): log-in and its throttle,
//! the session cookie, CSRF on every form, scoping by bureau (also by guessing URLs), the queue's
//! filters, counts and pages, the submission page, and decisions that reach the kiosk's status.

use crate::common;

use common::{Applicant, Backend, Resp, Server, key, on_both_backends};
use kiosk_server::store::{AuditEntry, NewSubmission, ReviewerChange, ReviewerRole, SubmitOutcome};
use kiosk_server::util;

const WUHUA: u32 = 530102;
const DALI_CITY: u32 = 532901;
const PASSWORD: &str = "review-2026-pass";

/// A browser in miniature: keeps the console's cookies between requests.
struct Visitor<'a> {
    server: &'a Server,
    cookies: Vec<(String, String)>,
}

impl<'a> Visitor<'a> {
    fn new(server: &'a Server) -> Visitor<'a> {
        Visitor {
            server,
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, resp: &Resp) {
        for (name, value) in &resp.headers {
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = value.split(';').next().unwrap_or_default();
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            self.cookies.retain(|(k, _)| k != n);
            if !v.is_empty() {
                self.cookies.push((n.to_owned(), v.to_owned()));
            }
        }
    }

    fn get(&mut self, path: &str) -> Resp {
        let cookie = self.cookie_header();
        let resp = self
            .server
            .request_bytes("GET", path, None, &[("Cookie", &cookie)], b"", None);
        self.keep_cookies(&resp);
        resp
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let cookie = self.cookie_header();
        let resp = self.server.request_bytes(
            "POST",
            path,
            None,
            &[("Cookie", &cookie)],
            body.as_bytes(),
            Some("application/x-www-form-urlencoded"),
        );
        self.keep_cookies(&resp);
        resp
    }

    /// The value of the hidden `csrf` field on the last page.
    fn csrf_of(page: &Resp) -> String {
        let at = page
            .raw
            .find(r#"name="csrf" value=""#)
            .unwrap_or_else(|| panic!("no csrf field on {}", page.raw));
        let rest = &page.raw[at + r#"name="csrf" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    fn log_in(&mut self, name: &str, password: &str) -> Resp {
        let form = self.get("/console/login");
        assert_eq!(form.status, 200, "{form:?}");
        let csrf = Self::csrf_of(&form);
        self.post(
            "/console/login",
            &[("csrf", &csrf), ("name", name), ("password", password)],
        )
    }

    /// Logs in and returns the session's CSRF token (from the queue page's log-out form).
    fn signed_in(server: &'a Server, name: &str) -> (Visitor<'a>, String) {
        let mut visitor = Visitor::new(server);
        let resp = visitor.log_in(name, PASSWORD);
        assert_eq!(resp.status, 303, "{resp:?}");
        let queue = visitor.get("/console");
        assert_eq!(queue.status, 200, "{queue:?}");
        let csrf = Self::csrf_of(&queue);
        (visitor, csrf)
    }
}

fn account(server: &Server, name: &str, role: ReviewerRole) {
    let hash = kiosk_server::auth::hash_password(PASSWORD).unwrap();
    let audit = AuditEntry::new("cli:test", "add console account", name, "ok", util::now());
    server
        .store
        .insert_reviewer(name, role, &hash, &audit)
        .unwrap()
        .expect("a new name");
}

/// A real submission through the API (blobs, grant, checks) for applicant `n`; its id
/// (The sample applicant's bureau is 五华区.)
fn submitted(server: &Server, device: &str, n: u32) -> String {
    let who = Applicant::new(n);
    assert_eq!(server.register(device, &who).status, 201);
    let body = who.submission(0);
    let resp = server.put(&format!("/v1/submissions/{}", key()), device, &body);
    assert_eq!(resp.status, 200, "{resp:?}");
    resp.body["submission_id"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------------

fn logging_in_sets_a_strict_http_only_session_and_a_wrong_password_does_not(backend: Backend) {
    let server = Server::start_on(backend);
    account(&server, "li.ming", ReviewerRole::Bureau(WUHUA));
    let mut visitor = Visitor::new(&server);
    let refused = visitor.log_in("li.ming", "wrong-password-1");
    assert_eq!(refused.status, 401);
    assert!(refused.raw.contains("用户名或密码错误"), "{}", refused.raw);
    assert!(!visitor.cookies.iter().any(|(n, _)| n == "console_session"));

    let resp = visitor.log_in("li.ming", PASSWORD);
    assert_eq!(resp.status, 303, "{resp:?}");
    assert_eq!(resp.header("location"), Some("/console"));
    let cookie = resp
        .headers
        .iter()
        .find(|(n, v)| n.eq_ignore_ascii_case("set-cookie") && v.starts_with("console_session="))
        .map(|(_, v)| v.clone())
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/console"), "{cookie}");
    let queue = visitor.get("/console");
    assert_eq!(queue.status, 200);
    assert!(
        queue.raw.contains("五华区财政局 · 审核列表"),
        "{}",
        queue.raw
    );
    assert_eq!(queue.header("cache-control"), Some("no-store"));
    assert!(
        queue
            .header("content-security-policy")
            .is_some_and(|c| c.contains("frame-ancestors 'none'"))
    );
    let log = server.store.audit_log(100).unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "console login" && e.outcome == "ok")
    );
    assert!(log.iter().any(|e| e.action == "console login failed"));
}

fn without_a_session_every_page_sends_the_visitor_to_log_in(backend: Backend) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let id = submitted(&server, &device, 1);
    let mut stranger = Visitor::new(&server);
    for path in [
        "/console".to_owned(),
        format!("/console/submissions/{id}"),
        format!("/console/submissions/{id}/files/{}", "0".repeat(64)),
    ] {
        let resp = stranger.get(&path);
        assert_eq!(resp.status, 303, "{path}: {resp:?}");
        assert_eq!(resp.header("location"), Some("/console/login?ended=1"));
    }
    let resp = stranger.post(
        &format!("/console/submissions/{id}/decide"),
        &[("decision", "approve")],
    );
    assert_eq!(resp.status, 303);
    assert_eq!(
        server.store.submission(&id).unwrap().unwrap().review,
        kiosk_domain::ReviewState::UnderReview
    );
    // A device token is not a console session either.
    let resp = server.get("/console", Some(&device));
    assert_eq!(resp.status, 303);
}

fn every_form_refuses_a_missing_or_wrong_csrf_token(backend: Backend) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let id = submitted(&server, &device, 2);
    account(&server, "li.ming", ReviewerRole::Bureau(WUHUA));

    // Log-in: a form posted from elsewhere has neither the cookie nor its token.
    let mut visitor = Visitor::new(&server);
    let resp = visitor.post(
        "/console/login",
        &[
            ("csrf", &"a".repeat(64)),
            ("name", "li.ming"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(resp.status, 403, "{resp:?}");
    assert!(resp.raw.contains("页面已过期"));

    let (mut visitor, csrf) = Visitor::signed_in(&server, "li.ming");
    let decide = format!("/console/submissions/{id}/decide");
    for form in [
        vec![("decision", "approve")],
        vec![
            ("decision", "approve"),
            ("csrf", "b".repeat(64).leak() as &str),
        ],
    ] {
        let resp = visitor.post(&decide, &form);
        assert_eq!(resp.status, 403, "{resp:?}");
    }
    assert_eq!(
        server.store.submission(&id).unwrap().unwrap().review,
        kiosk_domain::ReviewState::UnderReview,
        "nothing decided without the token"
    );
    let resp = visitor.post("/console/logout", &[]);
    assert_eq!(resp.status, 403);
    assert_eq!(visitor.get("/console").status, 200, "still logged in");

    let resp = visitor.post("/console/logout", &[("csrf", &csrf)]);
    assert_eq!(resp.status, 303);
    assert_eq!(resp.header("location"), Some("/console/login?out=1"));
    assert_eq!(visitor.get("/console").status, 303, "logged out");
}

fn a_reviewer_of_another_bureau_finds_nothing_even_by_guessing_urls(backend: Backend) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let id = submitted(&server, &device, 3);
    let materials = server.store.materials(&id).unwrap();
    let sha = &materials[0].sha256;
    account(&server, "dali", ReviewerRole::Bureau(DALI_CITY));
    account(&server, "wuhua", ReviewerRole::Bureau(WUHUA));

    let (mut dali, dali_csrf) = Visitor::signed_in(&server, "dali");
    let queue = dali.get("/console");
    assert!(!queue.raw.contains(&id), "not in another bureau's queue");
    for path in [
        format!("/console/submissions/{id}"),
        format!("/console/submissions/{id}/materials/{sha}"),
        format!("/console/submissions/{id}/files/{sha}"),
    ] {
        let resp = dali.get(&path);
        assert_eq!(resp.status, 404, "{path}: {resp:?}");
        assert!(!resp.raw.contains("张三") && !resp.raw.contains("李四"));
    }
    let resp = dali.post(
        &format!("/console/submissions/{id}/decide"),
        &[("csrf", &dali_csrf), ("decision", "approve")],
    );
    assert_eq!(resp.status, 404);

    let (mut wuhua, _) = Visitor::signed_in(&server, "wuhua");
    assert!(wuhua.get("/console").raw.contains(&id));
    assert_eq!(wuhua.get(&format!("/console/submissions/{id}")).status, 200);
    let file = wuhua.get(&format!("/console/submissions/{id}/files/{sha}"));
    assert_eq!(file.status, 200);
    assert_eq!(file.header("cache-control"), Some("private, no-store"));
    assert!(
        file.header("content-type")
            .is_some_and(|t| t.starts_with("image/"))
    );
    // Of the same submission, only its own files.
    let other = wuhua.get(&format!(
        "/console/submissions/{id}/files/{}",
        "f".repeat(64)
    ));
    assert_eq!(other.status, 404);
}

fn a_rejection_with_two_reasons_reaches_the_kiosk_word_for_word_and_one_decision_wins(
    backend: Backend,
) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let id = submitted(&server, &device, 4);
    account(&server, "a", ReviewerRole::Bureau(WUHUA));
    account(&server, "b", ReviewerRole::Province);
    let (mut first, first_csrf) = Visitor::signed_in(&server, "a");
    let (mut second, second_csrf) = Visitor::signed_in(&server, "b");

    // Both have the page open; the first decides.
    let page = first.get(&format!("/console/submissions/{id}"));
    assert!(page.raw.contains("应交材料") && page.raw.contains("审核决定"));
    assert!(second.get(&format!("/console/submissions/{id}")).status == 200);
    let decide = format!("/console/submissions/{id}/decide");
    let empty = first.post(&decide, &[("csrf", &first_csrf), ("decision", "reject")]);
    assert_eq!(empty.status, 400, "a rejection needs a reason");
    let resp = first.post(
        &decide,
        &[
            ("csrf", &first_csrf),
            ("decision", "reject"),
            ("reason", "photo"),
            ("reason", "unclear"),
        ],
    );
    assert_eq!(resp.status, 303, "{resp:?}");
    let status = server.get(&format!("/v1/submissions/{id}/status"), Some(&device));
    assert_eq!(status.body["status"]["state"], "rejected");
    assert_eq!(
        status.body["status"]["reason"],
        "照片不符合要求；材料不清晰"
    );

    let late = second.post(&decide, &[("csrf", &second_csrf), ("decision", "approve")]);
    assert_eq!(late.status, 409);
    assert!(late.raw.contains("其他审核人员已作出决定"), "{}", late.raw);
    assert!(late.raw.contains("审核失败"));

    let log = server.store.audit_of(&id, 100).unwrap();
    let decisions: Vec<_> = log
        .iter()
        .filter(|e| e.action == "reject" || e.action == "approve")
        .map(|e| (e.actor.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(
        decisions,
        [
            ("console:a", "rejected"),
            ("console:b", "refused: rejected")
        ]
    );
    let page = first.get(&format!("/console/submissions/{id}"));
    assert!(page.raw.contains("驳回原因：照片不符合要求；材料不清晰"));
    assert!(
        !page.raw.contains("审核决定"),
        "no form on a decided submission"
    );
}

fn the_queue_filters_counts_and_pages(backend: Backend) {
    let server = Server::start_on(backend);
    // Rows straight into the store: sixty real submissions through the API would spend the
    // test's time decoding images.
    let t0 = 1_796_572_800; // 2026-12-07 00:00 in China
    for n in 0..61i64 {
        let id_number = format!("53010219900101{:04}", n);
        let name = if n == 7 { "欧阳明" } else { "张三" };
        let application = serde_json::json!({ "data": { "basic": { "name": name } } });
        let outcome = server
            .store
            .submit(&NewSubmission {
                id: format!("sub_{n:04}"),
                device_id: "dev".into(),
                idempotency_key: format!("key-{n:04}-0000000000"),
                content_sha256: format!("{n:064}"),
                applicant: id_number,
                application_json: application.to_string(),
                materials: Vec::new(),
                response_json: "{}".into(),
                received_at: t0 - 86_400 + n * 1200,
                bureau: Some(WUHUA),
                session_id: "ses".into(),
                version: None,
                receipt_code: common::random_receipt_code(),
                audit: AuditEntry::new("device:dev", "submit", &format!("sub_{n:04}"), "ok", 0),
            })
            .unwrap();
        assert!(
            matches!(outcome, SubmitOutcome::Created { .. }),
            "{outcome:?}"
        );
    }
    for n in 0..5 {
        let decision = if n % 2 == 0 {
            kiosk_server::store::Decision::Approve
        } else {
            kiosk_server::review::rejection("材料不清晰").unwrap()
        };
        let id = format!("sub_{n:04}");
        kiosk_server::review::decide(&*server.store, &id, &decision, "cli:test", None)
            .unwrap()
            .unwrap();
    }
    account(&server, "r", ReviewerRole::Bureau(WUHUA));
    let (mut visitor, _) = Visitor::signed_in(&server, "r");

    let first = visitor.get("/console");
    assert!(first.raw.contains("第 1 / 2 页，共 61 条"), "{}", first.raw);
    // Newest first: the last one in, not the first.
    assert!(first.raw.contains("sub_0060") && !first.raw.contains("sub_0000"));
    for (n, word) in [
        (61, "全部"),
        (56, "待审核"),
        (0, "审核中"),
        (2, "审核失败"),
        (3, "审核成功"),
    ] {
        let shown = format!(r#"<span class="n">{n}</span><span class="w">{word}</span>"#);
        assert!(first.raw.contains(&shown), "count {word}: {}", first.raw);
    }
    // Opened by a reviewer, a submission under review moves from 待审核 to 审核中.
    assert_eq!(visitor.get("/console/submissions/sub_0010").status, 200);
    let opened = visitor.get("/console?state=under_review");
    assert!(
        opened.raw.contains("共 1 条") && opened.raw.contains("sub_0010"),
        "{}",
        opened.raw
    );
    assert!(
        visitor
            .get("/console?state=pending")
            .raw
            .contains("共 55 条")
    );
    let second = visitor.get("/console?page=2");
    assert!(second.raw.contains("sub_0000") && second.raw.contains("第 2 / 2 页"));

    let rejected = visitor.get("/console?state=rejected");
    assert!(rejected.raw.contains("共 2 条"), "{}", rejected.raw);
    assert!(rejected.raw.contains("sub_0001") && rejected.raw.contains("sub_0003"));

    let by_name = visitor.get("/console?q=%E6%AC%A7%E9%98%B3");
    assert!(by_name.raw.contains("共 1 条") && by_name.raw.contains("sub_0007"));
    let by_digits = visitor.get("/console?q=0042");
    assert!(by_digits.raw.contains("共 1 条") && by_digits.raw.contains("sub_0042"));
    let by_id = visitor.get("/console?q=sub_0013");
    assert!(by_id.raw.contains("共 1 条"), "{}", by_id.raw);
    // A '%' typed in the search box is a character, not a wildcard.
    assert!(visitor.get("/console?q=%25").raw.contains("共 0 条"));

    // Every row arrived on the 6th of December, China time (the last at 20:00).
    let day = visitor.get("/console?from=2026-12-06&to=2026-12-06");
    assert!(day.raw.contains("共 61 条"), "{}", day.raw);
    assert!(
        visitor
            .get("/console?to=2026-12-05")
            .raw
            .contains("共 0 条")
    );
    assert!(
        visitor
            .get("/console?from=2026-12-07")
            .raw
            .contains("共 0 条")
    );

    for bad in [
        "/console?state=draft",
        "/console?page=0",
        "/console?from=31.12.2026",
        "/console?sort=name",
        "/console?q=a&q=b",
    ] {
        assert_eq!(visitor.get(bad).status, 400, "{bad}");
    }
}

fn a_disabled_account_or_a_new_password_ends_open_sessions_and_an_admin_reviews_nothing(
    backend: Backend,
) {
    let server = Server::start_on(backend);
    account(&server, "r", ReviewerRole::Bureau(WUHUA));
    account(&server, "boss", ReviewerRole::Admin);
    let (mut visitor, _) = Visitor::signed_in(&server, "r");
    let audit = AuditEntry::new(
        "cli:test",
        "disable console account",
        "r",
        "ok",
        util::now() + 1,
    );
    assert!(
        server
            .store
            .change_reviewer("r", &ReviewerChange::Disable, &audit)
            .unwrap()
    );
    assert_eq!(visitor.get("/console").status, 303, "disabled: logged out");
    assert_eq!(Visitor::new(&server).log_in("r", PASSWORD).status, 401);

    let enable = AuditEntry::new("cli:test", "enable", "r", "ok", util::now() + 1);
    server
        .store
        .change_reviewer("r", &ReviewerChange::Enable, &enable)
        .unwrap();
    // A session begun in the millisecond of the change would be ended by it.
    let changed_at = server
        .store
        .reviewer_by_name("r")
        .unwrap()
        .expect("the account")
        .changed_at;
    common::wait_until("the clock to pass the change", || {
        util::now_millis() > changed_at
    });
    let (mut visitor, _) = Visitor::signed_in(&server, "r");
    let hash = kiosk_server::auth::hash_password("another-pass-1").unwrap();
    let reset = AuditEntry::new("cli:test", "reset", "r", "ok", util::now() + 1);
    server
        .store
        .change_reviewer("r", &ReviewerChange::Password { hash }, &reset)
        .unwrap();
    assert_eq!(
        visitor.get("/console").status,
        303,
        "new password: logged out"
    );

    let (mut admin, _) = Visitor::signed_in_forbidden(&server, "boss");
    let resp = admin.get("/console");
    assert_eq!(resp.status, 303, "an admin starts at the accounts");
    assert_eq!(resp.header("location"), Some("/console/reviewers"));
    for path in [
        "/console?state=approved",
        "/console/stats",
        "/console/export.csv",
    ] {
        let resp = admin.get(path);
        assert!(
            resp.status == 403 || resp.header("location") == Some("/console/reviewers"),
            "{path}: {resp:?}"
        );
    }
}

impl<'a> Visitor<'a> {
    /// Logs in an account whose queue page is refused (an admin's).
    fn signed_in_forbidden(server: &'a Server, name: &str) -> (Visitor<'a>, ()) {
        let mut visitor = Visitor::new(server);
        assert_eq!(visitor.log_in(name, PASSWORD).status, 303);
        (visitor, ())
    }
}

fn failed_log_ins_are_throttled_even_before_the_right_password(backend: Backend) {
    let server = Server::start_on(backend);
    account(&server, "r", ReviewerRole::Bureau(WUHUA));
    let mut visitor = Visitor::new(&server);
    for _ in 0..kiosk_server::api::LOGIN_MAX_FAILURES {
        assert_eq!(visitor.log_in("r", "guess-guess-1").status, 401);
    }
    let resp = visitor.log_in("r", PASSWORD);
    assert_eq!(resp.status, 429, "{resp:?}");
    assert!(resp.raw.contains("密码错误次数过多"));
    // Another account is not held back by it.
    account(&server, "s", ReviewerRole::Bureau(WUHUA));
    assert_eq!(Visitor::new(&server).log_in("s", PASSWORD).status, 303);
}

fn the_public_status_page_shows_the_status_and_reasons_and_nothing_else(backend: Backend) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let who = Applicant::new(6);
    assert_eq!(server.register(&device, &who).status, 201);
    let submission_key = key();
    let body = who.submission(0);
    let answer = server.put(&format!("/v1/submissions/{submission_key}"), &device, &body);
    assert_eq!(answer.status, 200, "{answer:?}");
    let id = answer.body["submission_id"].as_str().unwrap().to_owned();
    let code = answer.body["receipt_code"].as_str().unwrap().to_owned();
    assert!(kiosk_wire::receipt::is_code(&code), "{code}");
    // The code the kiosk printed before sending: derived from the applicant's session.
    let session = server.session_for(&device, &body).expect("a session");
    assert_eq!(
        code,
        kiosk_wire::receipt::code_for_session(&session.token, &session.id, &submission_key)
    );
    // Sent again, the same submission answers with the same code.
    let again = server.put(&format!("/v1/submissions/{submission_key}"), &device, &body);
    assert_eq!(again.body["receipt_code"].as_str(), Some(code.as_str()));

    let page = server.get(&format!("/s/{code}"), None);
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.raw.contains("审核中"));
    let never = [
        who.name.as_str(),
        who.id_number.as_str(),
        &who.id_number[who.id_number.len() - 4..],
        who.mobile.as_str(),
        "五华区",
        id.as_str(),
    ];
    for secret in never {
        assert!(!page.raw.contains(secret), "{secret} on the public page");
    }
    assert_eq!(page.header("cache-control"), Some("no-store"));

    account(&server, "r", ReviewerRole::Bureau(WUHUA));
    let (mut reviewer, csrf) = Visitor::signed_in(&server, "r");
    let resp = reviewer.post(
        &format!("/console/submissions/{id}/decide"),
        &[
            ("csrf", &csrf),
            ("decision", "reject"),
            ("reason", "bureau"),
            ("other", "请选择昆明市财政局"),
        ],
    );
    assert_eq!(resp.status, 303);
    let page = server.get(&format!("/s/{}", code.to_lowercase()), None);
    assert_eq!(page.status, 200);
    assert!(page.raw.contains("审核失败"));
    assert!(
        page.raw.contains("属地选择错误；请选择昆明市财政局"),
        "{}",
        page.raw
    );
    for secret in never {
        assert!(!page.raw.contains(secret), "{secret} on the public page");
    }

    // An unknown code and a malformed one look the same.
    let unknown = server.get(&format!("/s/{}", common::random_receipt_code()), None);
    let malformed = server.get("/s/..%2F..%2Fetc", None);
    assert_eq!(unknown.status, 404);
    assert_eq!(malformed.status, 404);
    assert_eq!(unknown.raw, malformed.raw);
}

/// Guessing codes is bounded for the whole server: far more lookups than fit in a second get 429.
fn the_public_status_page_is_rate_limited(backend: Backend) {
    let server = Server::start_on(backend);
    let limit = kiosk_server::console::session::STATUS_LOOKUPS_PER_SECOND as usize;
    // Lookups until one is refused, not a fixed number of them: on a loaded machine fewer than
    // the limit may fit into one second, and a fixed burst would then never reach it.
    let mut answers: Vec<u16> = Vec::new();
    let deadline = std::time::Instant::now() + common::WAIT_AT_MOST;
    while !answers.contains(&429) {
        assert!(
            std::time::Instant::now() < deadline,
            "never refused: {answers:?}"
        );
        answers.push(
            server
                .get(&format!("/s/{}", common::random_receipt_code()), None)
                .status,
        );
    }
    assert!(
        answers.iter().all(|s| *s == 404 || *s == 429),
        "{answers:?}"
    );
    // Refused only once the second's lookups were used up.
    assert!(
        answers.iter().filter(|s| **s == 404).count() >= limit,
        "{answers:?}"
    );
    // The window under test: the next second lets lookups through again (a sleep only ever
    // lasts longer on a loaded machine, never shorter).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        server
            .get(&format!("/s/{}", common::random_receipt_code()), None)
            .status,
        404
    );
}

/// Rows straight into the store for bureau `bureau`, received `ago` seconds before now.
fn stored(server: &Server, n: i64, name: &str, bureau: u32, ago: i64) -> String {
    let id = format!("sub_{bureau}_{n:04}");
    let application = serde_json::json!({ "data": { "basic": { "name": name } } });
    let outcome = server
        .store
        .submit(&NewSubmission {
            id: id.clone(),
            device_id: "dev".into(),
            idempotency_key: format!("key-{bureau}-{n:04}-0000000000"),
            content_sha256: format!("{bureau}{n:058}"),
            applicant: format!("{bureau}19900101{n:04}"),
            application_json: application.to_string(),
            materials: Vec::new(),
            response_json: "{}".into(),
            received_at: util::now() - ago,
            bureau: Some(bureau),
            session_id: "ses".into(),
            version: None,
            receipt_code: common::random_receipt_code(),
            audit: AuditEntry::new("device:dev", "submit", &id, "ok", 0),
        })
        .unwrap();
    assert!(
        matches!(outcome, SubmitOutcome::Created { .. }),
        "{outcome:?}"
    );
    id
}

fn the_statistics_and_the_csv_export_count_the_bureau_and_only_it(backend: Backend) {
    let server = Server::start_on(backend);
    for n in 0..6 {
        let name = if n == 5 { "=SUM(A1)" } else { "张三" };
        let id = stored(&server, n, name, WUHUA, 3600 * (n + 1));
        let decision = match n {
            0 | 1 => Some(kiosk_server::review::rejection("照片不符合要求；材料不清晰").unwrap()),
            2 => Some(kiosk_server::review::rejection("材料不清晰").unwrap()),
            3 => Some(kiosk_server::store::Decision::Approve),
            _ => None,
        };
        if let Some(decision) = decision {
            kiosk_server::review::decide(&*server.store, &id, &decision, "cli:test", None)
                .unwrap()
                .unwrap();
        }
    }
    stored(&server, 9, "李四", DALI_CITY, 60);
    account(&server, "r", ReviewerRole::Bureau(WUHUA));
    let (mut visitor, _) = Visitor::signed_in(&server, "r");

    let stats = visitor.get("/console/stats?days=7");
    assert_eq!(stats.status, 200, "{stats:?}");
    let text = &stats.raw;
    assert!(text.contains("五华区财政局 · 统计"));
    // 6 received, 1 of 4 decided approved, 2 waiting.
    for figure in [
        r#"<div class="big">6</div>"#,
        r#"<div class="big">25.0%</div>"#,
        r#"<div class="big">2</div>"#,
    ] {
        assert!(text.contains(figure), "{figure}: {text}");
    }
    assert!(text.contains("<svg"), "charts drawn in the page");
    let first = text.find(">材料不清晰<").expect("reason on the chart");
    let second = text.find(">照片不符合要求<").expect("reason on the chart");
    assert!(first < second, "the commonest reason first");
    assert_eq!(visitor.get("/console/stats?days=8").status, 400);

    let csv = visitor.get("/console/export.csv?state=pending");
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(csv.raw.starts_with('\u{feff}'), "a BOM for Excel");
    let lines: Vec<&str> = csv.raw.trim_end().split("\r\n").collect();
    assert_eq!(
        lines[0],
        "\u{feff}提交编号,提交时间,姓名,证件号码,财政局,状态,审核时间"
    );
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains(",'=SUM(A1),")),
        "no formula: {lines:?}"
    );
    assert!(!csv.raw.contains("5301021990010100"), "ID numbers masked");
    assert!(!csv.raw.contains("李四"), "not another bureau's");
    let all = visitor.get("/console/export.csv");
    assert_eq!(all.raw.trim_end().split("\r\n").count(), 7);
    assert!(
        server
            .store
            .audit_log(100)
            .unwrap()
            .iter()
            .any(|e| e.action == "export"),
        "an export is audited"
    );
}

fn an_admin_adds_disables_and_resets_accounts_and_nobody_else_can(backend: Backend) {
    let server = Server::start_on(backend);
    account(&server, "boss", ReviewerRole::Admin);
    account(&server, "r", ReviewerRole::Bureau(WUHUA));
    let mut admin = Visitor::new(&server);
    assert_eq!(admin.log_in("boss", PASSWORD).status, 303);
    let page = admin.get("/console/reviewers");
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.raw.contains("审核人员账号") && page.raw.contains("五华区财政局审核人员"));
    let csrf = Visitor::csrf_of(&page);

    let add = |admin: &mut Visitor, name: &str, role: &str, password: &str, confirm: &str| {
        admin.post(
            "/console/reviewers/add",
            &[
                ("csrf", csrf.as_str()),
                ("name", name),
                ("role", role),
                ("password", password),
                ("confirm", confirm),
            ],
        )
    };
    let added = add(
        &mut admin,
        "dali.one",
        "532901",
        "dali-pass-2026",
        "dali-pass-2026",
    );
    assert_eq!(added.status, 303, "{added:?}");
    assert_eq!(
        added.header("location"),
        Some("/console/reviewers?done=added")
    );
    let made = server.store.reviewer_by_name("dali.one").unwrap().unwrap();
    assert_eq!(made.role, ReviewerRole::Bureau(DALI_CITY));
    for (name, role, password, confirm) in [
        ("dali.one", "province", "dali-pass-2026", "dali-pass-2026"),
        ("x", "999999", "long-enough-1", "long-enough-1"),
        ("y", "province", "short", "short"),
        ("z", "province", "long-enough-1", "long-enough-2"),
        ("李明", "province", "long-enough-1", "long-enough-1"),
    ] {
        assert_eq!(
            add(&mut admin, name, role, password, confirm).status,
            400,
            "{name} {role}"
        );
    }
    let missing_token = admin.post(
        "/console/reviewers/add",
        &[
            ("name", "w"),
            ("role", "province"),
            ("password", "long-enough-1"),
            ("confirm", "long-enough-1"),
        ],
    );
    assert_eq!(missing_token.status, 403);
    assert!(server.store.reviewer_by_name("w").unwrap().is_none());

    // The new account works; disabling it ends its open page; a reset changes its password.
    let mut dali = Visitor::new(&server);
    assert_eq!(dali.log_in("dali.one", "dali-pass-2026").status, 303);
    assert_eq!(dali.get("/console").status, 200);
    let disabled = admin.post(
        "/console/reviewers/change",
        &[("csrf", &csrf), ("name", "dali.one"), ("change", "disable")],
    );
    assert_eq!(disabled.status, 303);
    assert_eq!(dali.get("/console").status, 303, "logged out at once");
    let enabled = admin.post(
        "/console/reviewers/change",
        &[("csrf", &csrf), ("name", "dali.one"), ("change", "enable")],
    );
    assert_eq!(enabled.status, 303);
    let mut dali = Visitor::new(&server);
    assert_eq!(dali.log_in("dali.one", "dali-pass-2026").status, 303);
    let reset = admin.post(
        "/console/reviewers/password",
        &[
            ("csrf", &csrf),
            ("name", "dali.one"),
            ("password", "new-dali-pass-1"),
            ("confirm", "new-dali-pass-1"),
        ],
    );
    assert_eq!(reset.status, 303, "{reset:?}");
    assert_eq!(
        dali.get("/console").status,
        303,
        "the reset ends the open page"
    );
    assert_eq!(
        Visitor::new(&server)
            .log_in("dali.one", "dali-pass-2026")
            .status,
        401
    );
    assert_eq!(
        Visitor::new(&server)
            .log_in("dali.one", "new-dali-pass-1")
            .status,
        303
    );
    let yourself = admin.post(
        "/console/reviewers/change",
        &[("csrf", &csrf), ("name", "boss"), ("change", "disable")],
    );
    assert_eq!(yourself.status, 400, "an admin cannot lock themselves out");

    // A reviewer is not an admin.
    let (mut reviewer, reviewer_csrf) = Visitor::signed_in(&server, "r");
    assert_eq!(reviewer.get("/console/reviewers").status, 403);
    let sneaky = reviewer.post(
        "/console/reviewers/add",
        &[
            ("csrf", &reviewer_csrf),
            ("name", "mine"),
            ("role", "province"),
            ("password", "long-enough-1"),
            ("confirm", "long-enough-1"),
        ],
    );
    assert_eq!(sneaky.status, 403);
    assert!(server.store.reviewer_by_name("mine").unwrap().is_none());
    let log = server.store.audit_log(200).unwrap();
    for action in [
        "add console account",
        "disabled console account",
        "enabled console account",
        "reset console account",
    ] {
        assert!(
            log.iter()
                .any(|e| e.action == action && e.actor == "console:boss"),
            "{action}"
        );
    }
}

on_both_backends!(
    logging_in_sets_a_strict_http_only_session_and_a_wrong_password_does_not,
    without_a_session_every_page_sends_the_visitor_to_log_in,
    every_form_refuses_a_missing_or_wrong_csrf_token,
    a_reviewer_of_another_bureau_finds_nothing_even_by_guessing_urls,
    a_rejection_with_two_reasons_reaches_the_kiosk_word_for_word_and_one_decision_wins,
    the_queue_filters_counts_and_pages,
    a_disabled_account_or_a_new_password_ends_open_sessions_and_an_admin_reviews_nothing,
    failed_log_ins_are_throttled_even_before_the_right_password,
    the_public_status_page_shows_the_status_and_reasons_and_nothing_else,
    the_public_status_page_is_rate_limited,
    the_statistics_and_the_csv_export_count_the_bureau_and_only_it,
    an_admin_adds_disables_and_resets_accounts_and_nobody_else_can,
);
