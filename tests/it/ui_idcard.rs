//! A simulated reader on a real pseudo-terminal, the real polling service, and the kiosk window:
//! a card placed on the welcome page fills and locks the card's fields.

use crate::ui_support;

use std::time::{Duration, Instant};

use i_slint_backend_testing::mock_elapsed_time;
use kiosk::app::ui::{self, Screen};
use kiosk_hardware::idcard::{IdCardService, ReaderConfig, SimConfig, Simulator, sim::load_card};
use slint::ComponentHandle;
use ui_support::Harness;

/// Lets real time pass for the reader thread and mock time for the UI's timers.
fn wait_until(h: &Harness, what: &str, done: impl Fn(&Harness) -> bool) {
    // Ends when `done`; the bound is for a real failure on a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done(h) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
        mock_elapsed_time(Duration::from_millis(200));
    }
}

fn fast_config(path: std::path::PathBuf) -> ReaderConfig {
    ReaderConfig {
        poll_interval: Duration::from_millis(50),
        reopen_interval: Duration::from_millis(100),
        ..ReaderConfig::with_path(path)
    }
}

#[test]
fn a_card_on_the_welcome_page_fills_and_locks_the_form() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let card = load_card(&root.join("hardware/cards/resident.json")).expect("card file");
    let sim = Simulator::spawn(SimConfig::default()).expect("simulator on a pty");
    let port = sim.path().expect("pty path");
    let service = IdCardService::start(fast_config(port)).expect("reader service");
    let h = ui_support::start_with_reader(Some(Box::new(service)));

    wait_until(&h, "the reader to connect", |h| {
        h.find("读卡器状态")
            .and_then(|e| e.accessible_value())
            .is_some_and(|v| v.contains("请将身份证放在读卡区"))
    });
    sim.place(card).expect("place the card");
    wait_until(&h, "the card to start the visit", |h| {
        h.screen() == Screen::Notice
    });
    // Nothing from the card is used before consent.
    assert!(
        h.kiosk
            .session
            .borrow()
            .visit
            .app
            .data()
            .basic
            .name
            .is_empty()
    );
    h.tap("我已阅读采集须知，同意按上述规则处理我的个人信息（含敏感个人信息）");
    h.next();
    h.tap("您是否取得会计专业技术资格（初级、中级、高级、正高级）？：是");
    h.tap("您是否从事下列会计工作？：是");
    h.next();
    assert_eq!(h.screen(), Screen::Account);
    // No account yet for this ID number: registration, with the card's fields locked.
    let mode = h.kiosk.window.global::<ui::Wizard>().get_account_mode();
    assert_eq!(mode, ui::AccountMode::Register);
    let id = h.find("证件号码").expect("id field");
    assert_eq!(id.accessible_value().as_deref(), Some("1101**********0011"));
    assert_eq!(id.accessible_read_only(), Some(true));
    assert_eq!(
        h.find("姓名").and_then(|e| e.accessible_value()).as_deref(),
        Some("张三")
    );
    assert!(h.exists("来自身份证"));

    h.fill("手机号码", "13800138000");
    h.tap("获取短信验证码");
    h.finish_registration();
    // Gender, ethnicity and birth date came from the card and are locked.
    for (field, value) in [("民族", "汉族"), ("出生日期", "1990-03-07")] {
        let e = h.find(field).unwrap_or_else(|| panic!("{field}"));
        assert_eq!(e.accessible_value().as_deref(), Some(value), "{field}");
        assert_eq!(e.accessible_read_only(), Some(true), "{field}");
    }
    let address = h.find("通讯地址").and_then(|e| e.accessible_value());
    assert_eq!(
        address.as_deref(),
        Some("北京市东城区景山前街4号"),
        "the card's address is offered"
    );
    let data = h.kiosk.session.borrow().visit.app.data().clone();
    assert_eq!(data.basic.gender, Some(kiosk_domain::catalog::Gender::Male));
    assert!(data.basic.from_id_card);

    // The next visit with the same card logs in instead of registering.
    h.kiosk.session.borrow_mut().wipe();
    h.kiosk.refresh();
    sim.remove().expect("lift the card");
    let card = load_card(&root.join("hardware/cards/resident.json")).expect("card file");
    sim.place(card).expect("place it again");
    wait_until(&h, "the second visit", |h| h.screen() == Screen::Notice);
    h.tap("我已阅读采集须知，同意按上述规则处理我的个人信息（含敏感个人信息）");
    h.next();
    h.tap("您是否取得会计专业技术资格（初级、中级、高级、正高级）？：是");
    h.tap("您是否从事下列会计工作？：是");
    h.next();
    assert_eq!(h.screen(), Screen::Account);
    assert_eq!(
        h.kiosk.window.global::<ui::Wizard>().get_account_mode(),
        ui::AccountMode::LogIn
    );
    h.fill("密码", "abc12345");
    h.tap("登录");
    // The saved draft is resumed with the address typed before.
    assert_eq!(h.screen(), Screen::Basic, "{}", h.banner());
}

#[test]
fn an_unplugged_reader_is_shown_and_a_disagreeing_card_is_flagged() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let card = load_card(&root.join("hardware/cards/resident.json")).expect("card file");
    // The reader is named by a link, as udev names it on the kiosk: once unplugged, the driver's
    // retries find nothing, not a pty another test has since been given the number of.
    let links = tempfile::tempdir().expect("temp dir");
    let link = links.path().join("idcard");
    let sim = Simulator::spawn(SimConfig {
        link: Some(link.clone()),
        ..SimConfig::default()
    })
    .expect("simulator on a pty");
    let service = IdCardService::start(fast_config(link)).expect("reader service");
    let h = ui_support::start_with_reader(Some(Box::new(service)));
    wait_until(&h, "the reader to connect", |h| {
        h.kiosk.session.borrow().reader_online == Some(true)
    });
    sim.unplug().expect("unplug");
    wait_until(&h, "读卡器未连接", |h| {
        h.find("读卡器状态")
            .and_then(|e| e.accessible_value())
            .is_some_and(|v| v.contains("读卡器未连接"))
    });

    // A signed-in applicant whose draft says female: the card (male) is flagged, not applied.
    {
        let mut s = h.kiosk.session.borrow_mut();
        s.visit.signed_in = true;
        let _ = s.visit.app.edit(|d| {
            *d = kiosk_domain::samples::complete(kiosk_domain::samples::Branch::Employed);
            d.basic.gender = Some(kiosk_domain::catalog::Gender::Female);
        });
        s.visit.screen = kiosk::app::session::Screen::Step(kiosk_domain::Step::Basic);
        s.card_read(kiosk::idcard::identity(&card));
    }
    h.kiosk.refresh();
    let banner = h.banner();
    assert!(
        banner.contains("不一致") && banner.contains("性别"),
        "{banner}"
    );
    let data = h.kiosk.session.borrow().visit.app.data().clone();
    assert_eq!(
        data.basic.gender,
        Some(kiosk_domain::catalog::Gender::Female)
    );
    assert!(!data.basic.from_id_card);
}
