//! From the kiosk to the bureau and back (issue 15): a kiosk's sync delivers a submission to
//! `central`; a reviewer in a real Chromium logs in to the console, finds it in the queue and
//! rejects it with two standard reasons; the kiosk's next poll brings the status back, and when
//! the applicant logs in on the touch screen (real taps on the Slint window) the page they resume
//! at shows both reasons word for word.

use crate::sync_support;
use crate::ui_support;

#[path = "../../server/tests/it/browser.rs"]
mod browser;

use kiosk::app::ui::Screen;
use kiosk_server::store::{AuditEntry, ReviewerRole, Store as _};
use sync_support::{Applicant, open_store};

const PASSWORD: &str = "wuhua-review-2026";

#[test]
fn a_rejection_in_the_browser_reaches_the_kiosk_review_screen_word_for_word() {
    let h = ui_support::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let central = sync_support::Central::start(&dir.path().join("central.db"));
    let token = central.device("hall-1");
    let who = Applicant::new(33);
    central.import(&who, "secret123", Some(&who.mobile));
    let hash = kiosk_server::auth::hash_password(PASSWORD).expect("hash");
    central
        .store
        .insert_reviewer(
            "wuhua.reviewer",
            ReviewerRole::Bureau(530102),
            &hash,
            &AuditEntry::new("cli:test", "add console account", "wuhua.reviewer", "ok", 0),
        )
        .expect("store")
        .expect("new account");

    // The kiosk delivers the applicant's submission, and the visit ends.
    let data = h.data_dir();
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
        s.services
            .store
            .outbox_end_session(&who.id_number)
            .expect("visit over");
    }
    let id = central.submissions()[0].id.clone();

    // The reviewer, in the browser.
    let browser = browser::Browser::start(1366, 768);
    browser.goto(&format!("{}/console/login", central.url()));
    browser.fill("#name", "wuhua.reviewer");
    browser.fill("#password", PASSWORD);
    browser.click_to_next_page("button[type=submit].primary");
    browser.fill("input[name=q]", &who.name);
    browser.click_to_next_page("form.filter button[type=submit]");
    assert!(
        browser.page_text().contains("共 1 条"),
        "{}",
        browser.page_text()
    );
    browser.click_to_next_page(&format!("a[href='/console/submissions/{id}']"));
    browser.check("input[name=reason][value=photo]");
    browser.check("input[name=reason][value=work_certificate]");
    browser.click_to_next_page("button[value=reject]");
    assert!(
        browser.page_text().contains("审核决定已保存"),
        "{}",
        browser.page_text()
    );
    drop(browser);

    // The kiosk's next poll brings the decision; the delivered copy is then deleted.
    worker.run_once().expect("polls");
    worker.run_once().expect("purges");

    // The applicant logs in on the touch screen.
    {
        let mut s = h.kiosk.session.borrow_mut();
        s.services.accounts = Box::new(
            kiosk::sync::accounts::RemoteAccounts::new(&central.url(), &token, open_store(&data))
                .expect("client"),
        );
    }
    h.tap("开始采集");
    h.tap("我已阅读采集须知，同意按上述规则处理我的个人信息（含敏感个人信息）");
    h.next();
    h.tap("您是否取得会计专业技术资格（初级、中级、高级、正高级）？：是");
    h.tap("您是否从事下列会计工作？：是");
    h.next();
    assert_eq!(h.screen(), Screen::Account, "{}", h.banner());
    h.tap("登录方式：登录");
    h.fill("证件号码", &who.id_number);
    h.fill("密码", "secret123");
    h.tap("登录");
    // The collection is open again at its first incomplete step (the files stay on the server
    // and are taken again), and the reviewer's reasons are on screen.
    assert_eq!(h.screen(), Screen::Materials);
    let shown = h.all_visible_text().join("\n");
    assert!(
        shown.contains("审核意见：照片不符合要求；缺少工作证明。请按意见修改后重新提交。"),
        "both reasons, word for word: {shown}"
    );
    assert_eq!(
        *h.kiosk.session.borrow().visit.app.review(),
        kiosk_domain::ReviewState::Rejected {
            reason: "照片不符合要求；缺少工作证明".into()
        }
    );
}
