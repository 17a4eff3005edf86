//! Staff mode on the real window: the hall PIN opens a panel of device health and queue counts
//! (never applicant data), refused submissions can be queued again, wrong PINs lock staff mode
//! for a while even across visits and restarts, ten of them until the hall admin runs
//! `kiosk staff unlock`, and an idle kiosk closes the panel.

use crate::sync_support;
use crate::ui_support;

use kiosk::app::ui::{self, Screen};
use kiosk::store::OutboxState;
use std::process::{Command, Output};

use slint::{ComponentHandle, Model};
use ui_support::{STAFF_PIN, start};

/// The `kiosk` binary on the harness's data directory, as the hall admin runs it on the machine.
fn kiosk_cli(h: &ui_support::Harness, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(args)
        .env("KIOSK_DATA_DIR", h.data_dir())
        .env("KIOSK_LOG", "info")
        .env_remove("KIOSK_CONFIG")
        .output()
        .expect("run kiosk")
}

fn staff_status(h: &ui_support::Harness) -> serde_json::Value {
    let out = kiosk_cli(h, &["staff", "status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn tick(h: &ui_support::Harness, secs: u32) {
    for _ in 0..secs {
        h.kiosk.session.borrow_mut().tick();
    }
    h.kiosk.refresh();
}

fn enter_pin(h: &ui_support::Harness, pin: &str) {
    h.tap("工作人员入口");
    assert!(h.kiosk.window.global::<ui::Staff>().get_for_mode());
    h.type_keys(pin);
    h.tap("完成");
}

fn health(h: &ui_support::Harness) -> Vec<(String, String, bool)> {
    h.kiosk
        .window
        .global::<ui::Staff>()
        .get_health()
        .iter()
        .map(|r| (r.label.to_string(), r.value.to_string(), r.ok))
        .collect()
}

#[test]
fn the_panel_shows_devices_and_the_queue_and_requeues_refused_submissions() {
    let h = start();
    let who = sync_support::Applicant::new(3);
    let receipt = {
        let mut s = h.kiosk.session.borrow_mut();
        let receipt = sync_support::submit(&mut s.services.store, &who);
        s.services
            .store
            .outbox_failed(receipt.id, "refused by the server")
            .unwrap();
        receipt
    };
    h.kiosk.refresh();
    assert_eq!(h.screen(), Screen::Welcome);
    enter_pin(&h, STAFF_PIN);
    let staff = h.kiosk.window.global::<ui::Staff>();
    assert!(staff.get_panel_open());
    let rows = health(&h);
    let value = |label: &str| {
        rows.iter()
            .find(|r| r.0 == label)
            .unwrap_or_else(|| panic!("no {label} in {rows:?}"))
            .clone()
    };
    assert_eq!(value("身份证读卡器").1, "未配置");
    assert_eq!(value("中央服务器").1, "未配置（单机模式）");
    assert_eq!(
        value("被服务器拒绝的提交"),
        ("被服务器拒绝的提交".into(), "1".into(), false)
    );
    assert_eq!(value("待发送的提交").1, "0");
    // Nothing about the applicant is on screen.
    let text = h.all_visible_text().join("\n");
    for secret in [&who.id_number, &who.name, &who.mobile] {
        assert!(
            !text.contains(secret.as_str()),
            "staff panel shows {secret}"
        );
    }

    h.tap("重新发送被拒绝的提交");
    assert!(
        h.banner().contains("已将 1 份提交重新加入发送队列"),
        "{}",
        h.banner()
    );
    let rows = health(&h);
    assert!(rows.iter().any(|r| r.0 == "待发送的提交" && r.1 == "1"));
    assert!(
        rows.iter()
            .any(|r| r.0 == "被服务器拒绝的提交" && r.1 == "0" && r.2)
    );
    let state = h
        .kiosk
        .session
        .borrow()
        .services
        .store
        .outbox_rows()
        .unwrap()[0]
        .state;
    assert_eq!(state, OutboxState::Pending);
    assert_eq!(
        h.kiosk
            .session
            .borrow()
            .services
            .store
            .outbox_rows()
            .unwrap()[0]
            .id,
        receipt.id
    );

    h.tap("退出工作人员模式");
    assert!(!staff.get_panel_open());
}

#[test]
fn wrong_pins_lock_staff_mode_even_across_visits() {
    let h = start();
    for attempt in 1..=4 {
        enter_pin(&h, "0000");
        assert!(h.banner().contains("确认码不正确"), "attempt {attempt}");
        // An idle wipe between attempts does not reset the count.
        h.kiosk.session.borrow_mut().wipe();
        h.kiosk.refresh();
    }
    enter_pin(&h, "0000");
    assert!(h.banner().contains("10分钟内不可用"), "{}", h.banner());
    // The right PIN is refused while locked.
    h.tap("工作人员入口");
    assert!(!h.kiosk.window.global::<ui::Staff>().get_open());
    assert!(h.banner().contains("暂不可用"));
    // After the lockout it works again.
    for _ in 0..kiosk::app::session::STAFF_MODE_LOCKOUT_SECS {
        h.kiosk.session.borrow_mut().tick();
    }
    h.kiosk.refresh();
    enter_pin(&h, STAFF_PIN);
    assert!(h.kiosk.window.global::<ui::Staff>().get_panel_open());
}

#[test]
fn wrong_pins_still_count_and_lock_after_a_restart() {
    let mut h = start();
    for _ in 0..3 {
        enter_pin(&h, "0000");
        assert!(h.banner().contains("确认码不正确"), "{}", h.banner());
    }
    h = h.restart();
    for _ in 0..2 {
        enter_pin(&h, "0000");
    }
    assert!(h.banner().contains("10分钟内不可用"), "{}", h.banner());
    // A restart during the lockout does not end it.
    h = h.restart();
    h.tap("工作人员入口");
    assert!(!h.kiosk.window.global::<ui::Staff>().get_open());
    assert!(
        h.banner().contains("工作人员模式暂不可用，请10分钟后再试"),
        "{}",
        h.banner()
    );
    tick(&h, 60);
    h.tap("工作人员入口");
    assert!(h.banner().contains("请9分钟后再试"), "{}", h.banner());
}

#[test]
fn ten_wrong_pins_lock_staff_mode_until_the_admin_unlocks_it() {
    let mut h = start();
    for _ in 0..kiosk::app::session::STAFF_MODE_ATTEMPTS {
        enter_pin(&h, "0000");
    }
    assert!(h.banner().contains("10分钟内不可用"), "{}", h.banner());
    tick(&h, kiosk::app::session::STAFF_MODE_LOCKOUT_SECS);
    for _ in 0..4 {
        enter_pin(&h, "0000");
        assert!(h.banner().contains("确认码不正确"), "{}", h.banner());
    }
    enter_pin(&h, "0000");
    assert!(
        h.banner().contains("工作人员模式已锁定，请联系管理员解锁"),
        "{}",
        h.banner()
    );
    // Neither waiting nor a restart lifts it.
    tick(&h, 2 * kiosk::app::session::STAFF_MODE_LOCKOUT_SECS);
    h = h.restart();
    h.tap("工作人员入口");
    assert!(!h.kiosk.window.global::<ui::Staff>().get_open());
    assert_eq!(h.banner(), "工作人员模式已锁定，请联系管理员解锁");
    let status = staff_status(&h);
    assert_eq!(status["admin_locked"], true, "{status}");
    assert_eq!(status["wrong_pins"], 10, "{status}");

    // The hall admin unlocks on the machine while the kiosk runs.
    let out = kiosk_cli(&h, &["staff", "unlock"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    // The audit line (its fields may be coloured).
    assert!(
        log.contains("staff PIN unlocked by the hall admin")
            && log.contains("\"staff-mode\"")
            && log.contains("was_admin_locked"),
        "{log}"
    );
    assert_eq!(staff_status(&h)["admin_locked"], false);
    enter_pin(&h, STAFF_PIN);
    assert!(h.kiosk.window.global::<ui::Staff>().get_panel_open());
}

#[test]
fn an_idle_kiosk_closes_the_staff_panel() {
    let h = start();
    enter_pin(&h, STAFF_PIN);
    assert!(h.kiosk.window.global::<ui::Staff>().get_panel_open());
    let timeout = h.kiosk.session.borrow().services.idle_timeout_secs
        + kiosk::app::session::IDLE_COUNTDOWN_SECS;
    for _ in 0..timeout {
        h.kiosk.session.borrow_mut().tick();
    }
    h.kiosk.refresh();
    assert!(!h.kiosk.window.global::<ui::Staff>().get_panel_open());
}
