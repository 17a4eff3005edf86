//! Paths that stopped real applicants (issue 24), driven on the session as the account page
//! drives it.

use crate::ui_support;

use kiosk::app::ui::{self, Screen};
use kiosk_domain::{Step, idnumber};
use slint::ComponentHandle;
use ui_support::Harness;

fn with_check(first17: &str) -> String {
    format!(
        "{first17}{}",
        idnumber::check_character(first17).expect("17 digits")
    )
}

/// Consent and eligibility, then the account page in `mode` ("注册" or "登录").
fn to_account_page(h: &Harness, mode: &str) {
    h.tap("开始采集");
    h.tap("我已阅读采集须知，同意按上述规则处理我的个人信息（含敏感个人信息）");
    h.next();
    h.tap("您是否取得会计专业技术资格（初级、中级、高级、正高级）？：是");
    h.tap("您是否从事下列会计工作？：是");
    h.next();
    assert_eq!(h.screen(), Screen::Account, "{}", h.banner());
    h.tap(&format!("登录方式：{mode}"));
}

/// Registers by typing, the document type chosen or left to the number.
fn register(h: &Harness, id_type: Option<&str>, number: &str) {
    to_account_page(h, "注册");
    if let Some(id_type) = id_type {
        h.pick("证件类型", &[id_type]);
    }
    h.fill("证件号码", number);
    h.fill("姓名", "张三");
    h.fill("手机号码", "13800138000");
    h.tap("获取短信验证码");
    h.finish_registration();
}

/// Issue 24, blocker 1, in the wizard: holders of a residence permit and of both forms of the
/// foreign permanent resident card register and, on a later visit, log in by typing the number
/// on the keyboard the number needs, without the card in the reader. The permit's number tells
/// its type; the 2017 foreign card's three letters need the full keyboard, which choosing the
/// type opens, and are typed in lower case as the keys show them.
#[test]
fn a_permit_or_foreign_card_number_can_be_typed_to_log_in() {
    let permit = with_check("81000019900101001");
    let foreign_2023 = with_check("93303619900101001");
    let mut h = ui_support::start();
    for (id_type, typed, stored) in [
        (None, permit.as_str(), permit.as_str()),
        (None, foreign_2023.as_str(), foreign_2023.as_str()),
        (
            Some("外国人永久居留身份证"),
            "usa531290123456",
            "USA531290123456",
        ),
    ] {
        register(&h, id_type, typed);
        assert_eq!(
            h.kiosk.session.borrow().visit.app.data().basic.id_number,
            stored
        );
        h = h.restart();
        to_account_page(&h, "登录");
        if let Some(id_type) = id_type {
            h.pick("证件类型", &[id_type]);
        }
        h.tap("证件号码");
        assert_eq!(
            h.kiosk.window.global::<ui::Keys>().get_kind(),
            if id_type.is_some() {
                ui::KeyboardKind::Letters
            } else {
                ui::KeyboardKind::IdNumber
            },
            "{typed}"
        );
        h.type_keys(typed);
        h.tap("完成");
        h.fill("密码", "abc12345");
        h.tap("登录");
        assert_eq!(h.screen(), Screen::Basic, "{typed}: {}", h.banner());
        h = h.restart();
    }
}

/// An older diploma's number has letters: the certificate number field opens the full keyboard
/// (in Latin mode), and the letters are typed key by key with real taps.
#[test]
fn a_certificate_number_with_letters_can_be_typed() {
    let h = ui_support::start();
    {
        let mut s = h.kiosk.session.borrow_mut();
        kiosk::app::screenshots::at(
            &mut s,
            Step::Education,
            kiosk_domain::samples::Branch::Employed,
        );
        let _ = s
            .visit
            .app
            .edit(|d| d.education.full_time.certificate_number.clear());
    }
    h.kiosk.refresh();
    assert_eq!(h.screen(), Screen::Education);
    h.tap("学历证书编号");
    h.type_keys("ZS2003A0915");
    h.tap("完成");
    let s = h.kiosk.session.borrow();
    assert_eq!(
        s.visit.app.data().education.full_time.certificate_number,
        "ZS2003A0915"
    );
}

/// Issue 24, blocker 4, in the wizard: "是" to the work question with the qualification question
/// skipped does not move on; both answered, it does.
#[test]
fn the_eligibility_page_waits_for_both_answers() {
    let h = ui_support::start();
    h.tap("开始采集");
    h.tap("我已阅读采集须知，同意按上述规则处理我的个人信息（含敏感个人信息）");
    h.next();
    assert_eq!(h.screen(), Screen::Eligibility);
    h.tap("您是否从事下列会计工作？：是");
    h.next();
    assert_eq!(
        h.screen(),
        Screen::Eligibility,
        "a skipped question stops here"
    );
    h.tap("您是否取得会计专业技术资格（初级、中级、高级、正高级）？：是");
    h.next();
    assert_eq!(h.screen(), Screen::Account, "{}", h.banner());
}

/// Issue 24, blocker 3, in the wizard: a qualified person whose only post is 不从事会计工作岗位
/// leaves the date of starting accounting work empty and moves on.
#[test]
fn the_work_page_asks_no_start_date_of_a_qualified_person_outside_accounting() {
    use kiosk_domain::catalog::AccountingPost;
    let h = ui_support::start();
    {
        let mut s = h.kiosk.session.borrow_mut();
        kiosk::app::screenshots::at(&mut s, Step::Work, kiosk_domain::samples::Branch::Employed);
        let _ = s.visit.app.edit(|d| {
            d.eligibility.holds_qualification = Some(true);
            d.work.employment.posts = [AccountingPost::NoAccountingPost].into();
            d.work.employment.work_start = None;
        });
    }
    h.kiosk.refresh();
    assert_eq!(h.screen(), Screen::Work);
    h.next();
    assert_eq!(h.screen(), Screen::Education, "{}", h.banner());
}
