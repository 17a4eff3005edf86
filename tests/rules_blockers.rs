//! Paths that stopped real applicants (issue 24), driven on the session as the account page
//! drives it.

mod ui_support;

use kiosk::app::session::{AccountMode, Screen};
use kiosk_domain::{Field, Step, idnumber};

fn with_check(first17: &str) -> String {
    format!(
        "{first17}{}",
        idnumber::check_character(first17).expect("17 digits")
    )
}

/// A holder of a residence permit or a foreign permanent resident card types the number to log
/// in (no card in the reader): the number is judged for its own document type, not refused as
/// a bad resident ID.
#[test]
fn a_permit_or_foreign_card_number_can_be_typed_to_log_in() {
    let h = ui_support::start();
    let mut s = h.kiosk.session.borrow_mut();
    s.visit.screen = Screen::Step(Step::Account);
    for number in [
        with_check("81000019900101001"),
        with_check("93303619900101001"),
    ] {
        for mode in [AccountMode::LogIn, AccountMode::Register] {
            s.visit.account_mode = mode;
            s.visit.account.data.basic.id_type = None;
            s.visit.account.data.basic.id_number = number.clone();
            s.visit.account.password = "secret123".into();
            let issues = s.account_issues();
            assert!(
                !issues.iter().any(|i| i.field == Field::IdNumber),
                "{mode:?} {issues:?}"
            );
        }
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
    assert_eq!(h.screen(), kiosk::app::ui::Screen::Education);
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
    assert_eq!(h.screen(), kiosk::app::ui::Screen::Eligibility);
    h.tap("您是否从事下列会计工作？：是");
    h.next();
    assert_eq!(
        h.screen(),
        kiosk::app::ui::Screen::Eligibility,
        "a skipped question stops here"
    );
    h.tap("您是否取得会计专业技术资格（初级、中级、高级、正高级）？：是");
    h.next();
    assert_eq!(
        h.screen(),
        kiosk::app::ui::Screen::Account,
        "{}",
        h.banner()
    );
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
    assert_eq!(h.screen(), kiosk::app::ui::Screen::Work);
    h.next();
    assert_eq!(
        h.screen(),
        kiosk::app::ui::Screen::Education,
        "{}",
        h.banner()
    );
}
