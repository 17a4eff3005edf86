//! The session's side of sync: "已提交" only after the outbox commit, the indicator, and the end
//! of the session handed to sync. Driven on the session directly, with the UI harness.

use crate::sync_support;
use crate::ui_support;

use std::time::{Duration, Instant};

use kiosk::app::session::{Screen, Tone};
use kiosk::store::OutboxState;
use kiosk_domain::wizard::Progress;
use kiosk_domain::{Context, MaterialKind, ReviewState, Step, Wizard};
use kiosk_server::store::Store as _;
use sync_support::{Applicant, complete_draft, open_store};

/// Puts a signed-in applicant with a complete draft on the summary page.
fn on_summary(h: &ui_support::Harness, who: &Applicant) {
    let mut s = h.kiosk.session.borrow_mut();
    let app = complete_draft(&mut s.services.store, who);
    let progress = Progress {
        validation: Context::new(kiosk_server::util::today()),
        signed_in: true,
    };
    let mut wizard = Wizard::resume(&app, &progress);
    wizard
        .go_to(Step::Summary, &app, &progress)
        .expect("complete");
    s.visit.app = app;
    s.visit.signed_in = true;
    s.visit.applicant_session = Some(who.session());
    s.visit.wizard = wizard;
    s.visit.screen = Screen::Step(Step::Summary);
}

#[test]
fn submit_commits_to_the_outbox_and_the_indicator_shows_the_queue() {
    let h = ui_support::start();
    let data = h.dir.path().join("data");
    // A server nobody answers on: the submission waits in the outbox.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let handle = kiosk::sync::spawn(
        &data,
        &data.join("kiosk.key"),
        sync_support::config(&format!("http://127.0.0.1:{port}"), "ck1.a.b"),
    )
    .expect("worker");
    h.kiosk.session.borrow_mut().attach_sync(handle);
    assert_eq!(
        h.kiosk.session.borrow().sync_status().map(|s| s.queued),
        Some(0)
    );

    let who = Applicant::new(30);
    on_summary(&h, &who);
    h.kiosk.session.borrow_mut().submit();
    {
        let s = h.kiosk.session.borrow();
        let banner = s.visit.banner.clone().expect("banner");
        assert_eq!(banner.tone, Tone::Success);
        assert!(
            banner.message.key.contains("已提交"),
            "{:?}",
            banner.message
        );
        assert_eq!(s.visit.screen, Screen::Step(Step::Review));
    }
    let store = open_store(&data);
    let rows = store.outbox_rows().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, OutboxState::Pending);
    let (draft, _) = store
        .load_draft(&who.id_number)
        .expect("reads")
        .expect("draft");
    assert_eq!(*draft.review(), ReviewState::Submitted);

    // The worker tried, and the indicator says so (and nothing more).
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let status = h.kiosk.session.borrow().sync_status().expect("sync on");
        if status.online == Some(false) || Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!((status.queued, status.online), (1, Some(false)));
    assert_eq!(status.label_zh(), "待上传 1 份 · 网络未连接");

    // The session ends: sync is told, the unacknowledged draft stays.
    h.kiosk.session.borrow_mut().wipe();
    assert!(store.outbox_rows().expect("rows")[0].session_over);
    assert_eq!(store.draft_count().expect("count"), 1);
}

#[test]
fn a_failed_commit_is_not_reported_as_saved() {
    let h = ui_support::start();
    let who = Applicant::new(31);
    on_summary(&h, &who);
    {
        let mut s = h.kiosk.session.borrow_mut();
        let photo = s.visit.app.data().materials[&MaterialKind::Photo][0]
            .blob_id
            .clone();
        s.services.store.delete_material(&photo).expect("delete");
        s.submit();
        let banner = s.visit.banner.clone().expect("banner");
        assert_eq!(banner.tone, Tone::Error);
        assert!(
            !banner.message.key.contains("已提交"),
            "{:?}",
            banner.message
        );
        assert_eq!(s.visit.screen, Screen::Step(Step::Summary));
        assert!(s.visit.app.review().is_editable(), "not marked submitted");
    }
    let data = h.dir.path().join("data");
    assert!(open_store(&data).outbox_rows().expect("rows").is_empty());
}

#[test]
fn an_accountant_on_file_binds_a_phone_on_the_account_page() {
    use kiosk::app::session::AccountMode;
    let h = ui_support::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let central = sync_support::Central::start(&dir.path().join("central.db"));
    let token = central.device("hall-session-binding");
    let who = Applicant::new(31);
    central.import(&who, "initial123", None);
    let sms = central.db.with_extension("sms");
    {
        let mut s = h.kiosk.session.borrow_mut();
        s.services.accounts = Box::new(
            kiosk::sync::accounts::RemoteAccounts::new(
                &central.url(),
                &token,
                open_store(&h.dir.path().join("data")),
            )
            .expect("client")
            .with_dev_sms_file(Some(sms.clone())),
        );
        s.start();
        s.visit.screen = Screen::Step(Step::Account);
        s.visit.account.data.basic.id_number = who.id_number.clone();
        s.visit.account.password = "initial123".into();
        s.account_submit();
        assert_eq!(s.visit.account_mode, AccountMode::BindPhone);
        assert!(!s.visit.signed_in);
        assert_eq!(s.account_fields().len(), 2, "mobile and SMS code only");
        s.visit.account.data.basic.mobile = who.mobile.clone();
        s.send_sms_code();
        let code = s
            .services
            .accounts
            .development_sms_hint()
            .expect("development code");
        s.visit.account.sms_code = code;
        s.account_submit();
        assert!(s.visit.signed_in, "{:?}", s.visit.banner);
        assert_eq!(s.visit.app.data().basic.mobile, who.mobile);
        assert!(
            s.visit.binding.is_none(),
            "the ticket is gone after binding"
        );
    }
}

/// A kiosk whose copy of `who`'s collection was delivered, decided by `decision` and deleted;
/// then `who` logs in again there.
fn log_in_after_deletion(
    decision: kiosk_server::store::Decision,
) -> (ui_support::Harness, Applicant) {
    let h = ui_support::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let central = sync_support::Central::start(&dir.path().join("central.db"));
    let token = central.device("hall-returning");
    let who = Applicant::new(32);
    central.import(&who, "secret123", Some(&who.mobile));
    let data = h.dir.path().join("data");
    let mut worker = kiosk::sync::Worker::new(
        open_store(&data),
        sync_support::config(&central.url(), &token),
    )
    .expect("worker");
    {
        let mut s = h.kiosk.session.borrow_mut();
        sync_support::submit(&mut s.services.store, &who);
        assert!(
            worker
                .run_until_idle(sync_support::SETTLE_BOUND)
                .expect("runs")
        );
        let id = central.submissions()[0].id.clone();
        kiosk_server::review::decide(&*central.store, &id, &decision, "reviewer:test", None)
            .expect("store")
            .expect("decided");
        s.services
            .store
            .outbox_end_session(&who.id_number)
            .expect("visit over");
        worker.run_once().expect("polls");
        worker.run_once().expect("purges");
        assert_eq!(s.services.store.draft_count().expect("count"), 0, "deleted");

        s.services.accounts = Box::new(
            kiosk::sync::accounts::RemoteAccounts::new(&central.url(), &token, open_store(&data))
                .expect("client"),
        );
        s.start();
        s.visit.screen = Screen::Step(Step::Account);
        s.visit.account.data.basic.id_number = who.id_number.clone();
        s.visit.account.password = "secret123".into();
        s.account_submit();
        assert!(s.visit.signed_in, "{:?}", s.visit.banner);
    }
    (h, who)
}

#[test]
fn a_returning_applicant_sees_the_rejection_and_corrects_without_old_files() {
    let reason = "工作证明未盖章".to_owned();
    let (h, who) = log_in_after_deletion(kiosk_server::store::Decision::Reject {
        reason: reason.clone(),
    });
    let s = h.kiosk.session.borrow();
    assert_eq!(*s.visit.app.review(), ReviewState::Rejected { reason });
    assert_eq!(
        s.visit.app.data().basic.name,
        who.name,
        "the answers came back"
    );
    assert!(
        s.visit.app.data().materials.is_empty(),
        "the files stay on the server: they are taken again"
    );
    assert_eq!(
        s.services.store.draft_count().expect("count"),
        1,
        "an editable collection is a draft to resume"
    );
}

#[test]
fn a_returning_applicant_sees_the_approval_and_the_kiosk_keeps_nothing() {
    let (h, who) = log_in_after_deletion(kiosk_server::store::Decision::Approve);
    let mut s = h.kiosk.session.borrow_mut();
    assert_eq!(*s.visit.app.review(), ReviewState::Approved);
    assert_eq!(
        s.current_step(),
        Some(Step::Review),
        "straight to the status"
    );
    s.wipe();
    assert_eq!(
        s.services.store.draft_count().expect("count"),
        0,
        "a collection shown from the server is not written to the kiosk"
    );
    drop(s);
    sync_support::assert_nothing_of(&who, &h.data_dir());
}

/// The applicant's session, from the log-in on the account page, grants the submission; the
/// idle wipe ends the session on the server and declares the still-queued submission, which is
/// then delivered with the grant although the session is over.
#[test]
fn the_visits_session_grants_its_submission_and_the_wipe_ends_it() {
    let h = ui_support::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let central = sync_support::Central::start(&dir.path().join("central.db"));
    let token = central.device("hall-session-grant");
    let who = Applicant::new(33);
    central.import(&who, "secret123", Some(&who.mobile));
    let data = h.dir.path().join("data");
    let session_id = {
        let mut s = h.kiosk.session.borrow_mut();
        let draft = complete_draft(&mut s.services.store, &who);
        s.services.accounts = Box::new(
            kiosk::sync::accounts::RemoteAccounts::new(&central.url(), &token, open_store(&data))
                .expect("client"),
        );
        s.start();
        s.visit.screen = Screen::Step(Step::Account);
        s.visit.account.data.basic.id_number = who.id_number.clone();
        s.visit.account.password = "secret123".into();
        s.account_submit();
        assert!(s.visit.signed_in, "{:?}", s.visit.banner);
        let session = s.visit.applicant_session.clone().expect("a session");
        // This visit's consent (the notice page) is the one that counts.
        s.visit
            .app
            .edit(|d| d.consent = draft.data().consent.clone())
            .expect("editable");
        let progress = Progress {
            validation: Context::new(kiosk_server::util::today()),
            signed_in: true,
        };
        let app = s.visit.app.clone();
        s.visit
            .wizard
            .go_to(Step::Summary, &app, &progress)
            .expect("complete");
        s.visit.screen = Screen::Step(Step::Summary);
        s.submit();
        assert_eq!(
            s.visit.screen,
            Screen::Step(Step::Review),
            "{:?}",
            s.visit.banner
        );
        s.wipe();
        assert!(s.visit.applicant_session.is_none());
        session.session_id
    };
    // The wipe's log-out runs on its own thread: wait for the server to record it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let revoked = loop {
        let row = central.store.session_by_id(&session_id).expect("reads");
        if row.as_ref().is_some_and(|r| r.revoked_at.is_some()) || Instant::now() > deadline {
            break row.and_then(|r| r.revoked_at);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        revoked.is_some(),
        "the wipe ended the session on the server"
    );
    let rows = open_store(&data).outbox_rows().expect("rows");
    assert_eq!(rows.len(), 1);
    assert!(
        central
            .store
            .session_kept_key(&session_id, &rows[0].idempotency_key)
            .expect("reads"),
        "the queued submission was declared pending at log-out"
    );
    sync_support::deliver(&data, &central.url(), &token);
    let rows = open_store(&data).outbox_rows().expect("rows");
    assert!(
        matches!(rows[0].state, OutboxState::Acked | OutboxState::Done),
        "{rows:?}"
    );
    let on_server = central.submissions();
    assert_eq!(on_server.len(), 1);
    let audit = central.store.audit_log(100).expect("audit");
    let submit = audit
        .iter()
        .find(|r| r.action == "submit")
        .expect("audited");
    assert_eq!(submit.actor, format!("session:{session_id}"));
    sync_support::assert_nothing_of(&who, &data);
}
