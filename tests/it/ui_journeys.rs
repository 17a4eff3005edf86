//! The whole employed and not-employed journeys, driven through accessible labels to submit;
//! validation messages next to their fields; the idle countdown and wipe.

use crate::ui_support;

use i_slint_backend_testing::mock_elapsed_time;
use kiosk::app::ui::{self, Screen};
use slint::ComponentHandle;
use std::time::Duration;
use ui_support::{Harness, start};

const ID: &str = "110101199003070011";
const ID_MASKED: &str = "1101**********0011";
const NAME: &str = "张三";
const MOBILE: &str = "13800138000";

/// Consent, eligibility, registration: up to the basic page.
fn register(h: &Harness, holds_qualification: bool, does_accounting_work: bool) {
    assert_eq!(h.screen(), Screen::Welcome);
    h.tap("开始采集");
    assert_eq!(h.screen(), Screen::Notice);
    h.next();
    assert_eq!(h.screen(), Screen::Notice, "consent is required");
    h.tap("我已阅读采集须知，同意按上述规则处理我的个人信息（含敏感个人信息）");
    h.next();
    assert_eq!(h.screen(), Screen::Eligibility);
    let yes_no = |b: bool| if b { "是" } else { "否" };
    h.tap(&format!(
        "您是否取得会计专业技术资格（初级、中级、高级、正高级）？：{}",
        yes_no(holds_qualification)
    ));
    h.tap(&format!(
        "您是否从事下列会计工作？：{}",
        yes_no(does_accounting_work)
    ));
    h.next();
    assert_eq!(h.screen(), Screen::Account);
    h.tap("登录方式：注册");
    h.pick("证件类型", &["居民身份证"]);
    h.fill("证件号码", ID);
    h.fill("姓名", NAME);
    h.fill("手机号码", MOBILE);
    h.tap("获取短信验证码");
    let banner = h.banner();
    let code: String = banner.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(code.len(), 6, "development SMS hint in {banner:?}");
    h.fill("短信验证码", &code);
    h.fill("密码", "abc12345");
    h.fill("再次输入密码", "abc12345");
    h.tap("注册并登录");
    assert_eq!(h.screen(), Screen::Basic, "{}", h.banner());
}

fn basic(h: &Harness) {
    // Registration data is read-only here, the ID number masked.
    let id = h.find("证件号码").expect("id field");
    assert_eq!(id.accessible_value().as_deref(), Some(ID_MASKED));
    assert_eq!(id.accessible_read_only(), Some(true));
    h.tap("性别：男");
    h.pick("民族", &["汉族"]);
    h.date("出生日期", (1990, 3, 7));
    h.fill("通讯地址", "云南省昆明市五华区人民中路1号");
    h.pick("所属会计管理部门（财政局）", &["昆明市", "五华区财政局"]);
    h.next();
    assert_eq!(h.screen(), Screen::Work, "{}", h.banner());
}

fn education_and_qualification(h: &Harness) {
    assert_eq!(h.screen(), Screen::Education);
    h.next();
    assert_eq!(h.screen(), Screen::Qualification);
    h.tap("资格级别：中级");
    h.fill("资格证书编号或管理号", "Z20165300001");
    h.date("取得资格日期", (2016, 10, 20));
    h.next();
    assert_eq!(h.screen(), Screen::Materials, "{}", h.banner());
}

fn materials_and_submit(h: &Harness, expected: &[&str]) {
    use slint::Model;
    let listed: Vec<String> = h
        .kiosk
        .window
        .global::<ui::Wizard>()
        .get_materials()
        .iter()
        .map(|m| m.label.to_string())
        .collect();
    assert_eq!(listed, expected);
    h.next();
    assert_eq!(h.screen(), Screen::Materials, "materials are required");
    for label in expected {
        h.tap(&format!("{label}：添加（开发模式）"));
    }
    h.next();
    assert_eq!(h.screen(), Screen::Summary, "{}", h.banner());
    let summary = h.all_visible_text().join("\n");
    assert!(
        summary.contains(ID_MASKED) && !summary.contains(ID),
        "summary masks the ID number"
    );
    h.next();
    assert_eq!(h.screen(), Screen::Review);
    let status = h.find("审核状态").and_then(|e| e.accessible_value());
    assert_eq!(status.as_deref(), Some("审核中"));
}

#[test]
fn employed_journey_to_submit() {
    let h = start();
    register(&h, true, true);
    basic(&h);
    h.tap("是否在岗：是");
    h.fill("工作单位名称", "云南某某科技有限公司");
    h.fill("单位统一社会信用代码", "91350100M000100Y43");
    h.pick("单位性质", &["民营企业"]);
    h.pick("单位所在地区", &["昆明市", "五华区"]);
    h.date("参加会计工作日期", (2012, 7, 1));
    h.tap("会计工作岗位（可多选）：出纳");
    h.tap("会计工作岗位（可多选）：总账");
    h.tap("是否为会计机构负责人或总会计师：否");
    h.next();
    education_and_qualification(&h);
    materials_and_submit(
        &h,
        &[
            "近期白底1寸证件照",
            "身份证正面",
            "身份证反面",
            "工作证明（盖章）",
            "会计专业技术资格证书",
        ],
    );
    // Leaving the review clears the session.
    h.tap("完成");
    assert_eq!(h.screen(), Screen::Welcome);
    let left = h.all_visible_text().join("\n");
    assert!(
        !left.contains(NAME) && !left.contains("1101"),
        "nothing personal stays on screen"
    );
}

#[test]
fn staff_confirm_an_early_credit_code_that_fails_its_check() {
    let h = start();
    register(&h, true, true);
    basic(&h);
    h.tap("是否在岗：是");
    h.fill("单位统一社会信用代码", "91350100M000100Y44");
    h.next();
    assert_eq!(h.screen(), Screen::Work);
    assert!(h.exists("单位统一社会信用代码错误：统一社会信用代码校验未通过，请与营业执照逐位核对；确认无误请工作人员确认"));
    h.tap("单位统一社会信用代码：请工作人员确认");
    let staff = h.kiosk.window.global::<ui::Staff>();
    assert!(staff.get_open());
    // A wrong PIN is refused and the dialog stays.
    h.type_keys("1111");
    h.tap("完成");
    assert!(staff.get_open());
    assert!(h.banner().contains("确认码不正确"));
    h.type_keys(ui_support::STAFF_PIN);
    assert_eq!(staff.get_digits(), 4);
    h.tap("完成");
    assert!(!staff.get_open());
    assert!(h.find("单位统一社会信用代码：请工作人员确认").is_none());
    assert!(
        h.kiosk
            .session
            .borrow()
            .visit
            .app
            .data()
            .work
            .employment
            .credit_code_confirmed_by_staff
    );
}

#[test]
fn not_employed_journey_to_submit() {
    let h = start();
    register(&h, true, false);
    basic(&h);
    h.tap("是否在岗：否");
    h.tap("人员类别：其他人员（已取得会计专业技术资格）");
    h.pick("学籍、户籍或居住地所在地区", &["昆明市", "五华区"]);
    h.next();
    education_and_qualification(&h);
    materials_and_submit(
        &h,
        &[
            "近期白底1寸证件照",
            "身份证正面",
            "身份证反面",
            "居住证、户口簿或学生证（本人信息页）",
            "会计专业技术资格证书",
        ],
    );
}

#[test]
fn validation_messages_appear_next_to_their_fields() {
    let h = start();
    register(&h, true, true);
    h.fill("电子邮箱", "zhang@");
    h.next();
    assert_eq!(h.screen(), Screen::Basic);
    for (field, message) in [
        ("通讯地址", "此项为必填项"),
        ("电子邮箱", "电子邮箱格式不正确，例如 name@example.com"),
        ("性别", "此项为必填项"),
    ] {
        let error = h
            .find(&format!("{field}错误：{message}"))
            .unwrap_or_else(|| panic!("no message for {field}"));
        let label = h
            .find(field)
            .or_else(|| h.find(&format!("{field}：男")))
            .unwrap_or_else(|| {
                let labels: Vec<String> =
                    i_slint_backend_testing::ElementQuery::from_root(&h.kiosk.window)
                        .match_descendants()
                        .find_all()
                        .into_iter()
                        .filter_map(|e| {
                            e.accessible_label().map(|l| {
                                format!("{l}={:?}@{:?}", e.accessible_role(), e.absolute_position())
                            })
                        })
                        .collect();
                panic!("no field {field}: {labels:#?}")
            });
        let (field_y, error_y) = (label.absolute_position().y, error.absolute_position().y);
        assert!(
            error_y > field_y && error_y - field_y < 200.0,
            "{field}: message at {error_y}, field at {field_y}"
        );
    }
    // Fixing a field removes its message.
    h.tap("电子邮箱");
    for _ in 0..6 {
        h.tap("删除");
    }
    h.type_keys("zhang@example.com");
    h.tap("完成");
    assert!(
        h.find("电子邮箱错误：电子邮箱格式不正确，例如 name@example.com")
            .is_none()
    );
}

#[test]
fn going_back_loses_nothing() {
    let h = start();
    register(&h, true, true);
    h.fill("通讯地址", "云南省昆明市五华区人民中路1号");
    h.tap("上一步");
    assert_eq!(h.screen(), Screen::Eligibility);
    h.next();
    assert_eq!(h.screen(), Screen::Basic);
    let address = h.find("通讯地址").and_then(|e| e.accessible_value());
    assert_eq!(address.as_deref(), Some("云南省昆明市五华区人民中路1号"));
}

#[test]
fn idle_countdown_then_wipe_leaves_no_applicant_text() {
    let h = start();
    register(&h, true, true);
    h.fill("通讯地址", "云南省昆明市五华区人民中路1号");
    let idle = h.kiosk.window.global::<ui::Idle>();
    // A touch in between restarts the clock.
    for _ in 0..60 {
        mock_elapsed_time(Duration::from_secs(1));
    }
    assert!(!idle.get_warning());
    h.tap("性别：男");
    for _ in 0..89 {
        mock_elapsed_time(Duration::from_secs(1));
    }
    assert!(!idle.get_warning(), "warned before 90 s without a touch");
    mock_elapsed_time(Duration::from_secs(1));
    assert!(idle.get_warning());
    assert_eq!(idle.get_seconds_left(), 30);
    assert!(h.exists("继续"));
    // "继续" keeps the session.
    h.tap("继续");
    assert!(!idle.get_warning());
    assert_eq!(h.screen(), Screen::Basic);
    for _ in 0..(90 + 30) {
        mock_elapsed_time(Duration::from_secs(1));
    }
    assert_eq!(h.screen(), Screen::Welcome);
    assert!(!idle.get_warning());
    let text = h.all_visible_text().join("\n");
    for secret in [NAME, ID, ID_MASKED, MOBILE, "人民中路"] {
        assert!(
            !text.contains(secret),
            "{secret} is still on screen after the wipe"
        );
    }
    let session = h.kiosk.session.borrow();
    assert!(session.visit.app.data().basic.id_number.is_empty());
    assert!(!session.visit.signed_in);
}

/// Every page the screenshots show is the page it names: none carries an error it was not set
/// up to show (the review scene once showed 有材料文件未能保存… over the summary, because its
/// sample record named files no store held), and a saved collection reaches the review screen.
#[test]
fn screenshot_scenes_show_their_page_without_unintended_errors() {
    use kiosk::app::session::Tone;
    const ABOUT_AN_ERROR: [&str; 6] = [
        "07-basic-errors",
        "07-basic-errors-keyboard",
        "17-materials-after-rejection",
        // A credit code that fails its check, which hall staff confirm against the licence.
        "21-staff-confirmation",
        "25-capture-photo-rejected",
        "30-staff-locked",
    ];
    let h = start();
    for scene in kiosk::app::screenshots::scenes() {
        {
            let mut s = h.kiosk.session.borrow_mut();
            s.wipe();
            (scene.setup)(&mut s);
        }
        h.kiosk.refresh();
        let s = h.kiosk.session.borrow();
        if !ABOUT_AN_ERROR.contains(&scene.name) {
            let error = s.visit.banner.as_ref().filter(|b| b.tone == Tone::Error);
            assert!(error.is_none(), "{}: shows {error:?}", scene.name);
        }
        if scene.name == "19-review" {
            assert_eq!(
                s.visit.screen,
                kiosk::app::session::Screen::Step(kiosk_domain::Step::Review),
                "the review scene is the review"
            );
            drop(s);
            assert_eq!(h.screen(), Screen::Review, "and the window shows it");
        }
    }
}

/// The summary shows the mobile number masked on the public screen and in full only while the
/// applicant's finger is on it, with real pointer events, through the idle clock's repaints
/// (which used to build the summary's lists anew, dropping the row under the finger).
#[test]
fn the_summary_masks_the_mobile_number_and_shows_it_while_held() {
    let h = start();
    h.at(
        kiosk_domain::Step::Summary,
        kiosk_domain::samples::Branch::Employed,
    );
    let label = "手机号码：按住显示完整号码";
    let row = h.find(label).expect("the mobile number's row");
    let value = || {
        h.find(label)
            .and_then(|e| e.accessible_value())
            .unwrap_or_default()
    };
    let on_screen = || h.all_visible_text().join("\n");
    assert_eq!(value(), "138****8000");
    assert!(!on_screen().contains("13800138000"), "not in full at rest");

    let at = Harness::centre_of(&row);
    h.press_at(at);
    // The summary scrolls: its Flickable hands a press to the row once it is not a flick.
    mock_elapsed_time(Duration::from_millis(200));
    assert_eq!(value(), "13800138000", "in full while held");
    for step in 1..=4 {
        // Across the idle clock's 1 s ticks, each a full refresh of the window's data, and a
        // finger that rests unsteadily.
        mock_elapsed_time(Duration::from_millis(600));
        h.kiosk.refresh();
        h.move_to(slint::LogicalPosition::new(at.x + step as f32, at.y));
        assert_eq!(
            value(),
            "13800138000",
            "still in full after {} ms",
            step * 600
        );
    }
    h.release_at(at);
    assert_eq!(value(), "138****8000", "masked again once let go");
    assert!(!on_screen().contains("13800138000"));
}

/// A choice in a picker, held across the idle clock's ticks and released with real pointer
/// events, is taken: the picker's list is updated in place, so the button under the finger
/// survives the repaints.
#[test]
fn a_picker_choice_held_across_ticks_is_taken() {
    let h = start();
    h.at(
        kiosk_domain::Step::Work,
        kiosk_domain::samples::Branch::Employed,
    );
    h.tap("单位性质");
    let choice = h.find("国有企业").expect("the choice");
    let at = Harness::centre_of(&choice);
    h.press_at(at);
    for _ in 0..3 {
        mock_elapsed_time(Duration::from_millis(500));
        h.kiosk.refresh();
        h.move_to(slint::LogicalPosition::new(at.x + 1.0, at.y));
    }
    h.release_at(slint::LogicalPosition::new(at.x + 1.0, at.y));
    mock_elapsed_time(Duration::from_millis(50));
    let employer_type = h
        .kiosk
        .session
        .borrow()
        .visit
        .app
        .data()
        .work
        .employment
        .employer_type;
    assert_eq!(
        employer_type.map(|t| kiosk_domain::catalog::Choice::label(t, kiosk_domain::Lang::Zh)),
        Some("国有企业"),
        "the held choice is taken"
    );
}

/// Keys pressed and held on the on-screen keyboard across the idle clock's ticks, each a full
/// refresh, and released with real pointer events: every key types once.
#[test]
fn keys_held_across_ticks_type_once_each() {
    let h = start();
    h.at(
        kiosk_domain::Step::Basic,
        kiosk_domain::samples::Branch::Employed,
    );
    h.tap("电子邮箱");
    for key in ["z", "s", "@", "1"] {
        let at = Harness::centre_of(&h.find(key).expect("the key on the keyboard"));
        h.press_at(at);
        for step in 1..=3 {
            mock_elapsed_time(Duration::from_millis(450));
            h.kiosk.refresh();
            h.move_to(slint::LogicalPosition::new(at.x + step as f32, at.y));
        }
        h.release_at(slint::LogicalPosition::new(at.x + 3.0, at.y));
        mock_elapsed_time(Duration::from_millis(50));
    }
    h.tap("完成");
    let email = h
        .kiosk
        .session
        .borrow()
        .visit
        .app
        .data()
        .basic
        .email
        .clone();
    assert_eq!(email, "zs@1", "each held key typed once");
}

/// The summary shows the photo and every stored page as a picture; 重拍 on one page, pressed and
/// released with real pointer events across a tick, replaces that page alone.
#[test]
fn the_summary_shows_each_stored_page_and_retakes_one() {
    use slint::Model;
    let h = start();
    h.at(
        kiosk_domain::Step::Summary,
        kiosk_domain::samples::Branch::Employed,
    );
    kiosk::app::screenshots::with_saved_files(&mut h.kiosk.session.borrow_mut());
    h.kiosk.refresh();
    let files = || h.kiosk.session.borrow().visit.app.data().materials.clone();
    let before = files();
    let pictures = h.kiosk.window.global::<ui::Wizard>().get_summary_pictures();
    assert_eq!(
        pictures.row_count(),
        before.values().map(Vec::len).sum::<usize>(),
        "one picture per stored file"
    );
    for p in pictures.iter() {
        let size = p.picture.size();
        assert!(p.has_picture, "{} has a preview", p.label);
        assert_eq!(size.width.max(size.height), 240, "{}: {size:?}", p.label);
    }
    let photo =
        kiosk_domain::Choice::label(kiosk_domain::MaterialKind::Photo, kiosk_domain::Lang::Zh);
    assert!(h.exists(photo), "the photo is shown: {photo}");

    let (kind, _) = before
        .iter()
        .find(|(kind, _)| !kiosk::app::session::single_file(**kind))
        .expect("a material of pages");
    let label = format!(
        "重拍：{} 第 1 页",
        kiosk_domain::Choice::label(*kind, kiosk_domain::Lang::Zh)
    );
    let at = Harness::centre_of(&h.find_reachable(&label).expect("its 重拍 button"));
    h.press_at(at);
    mock_elapsed_time(Duration::from_millis(600));
    h.kiosk.refresh();
    mock_elapsed_time(Duration::from_millis(600));
    h.release_at(at);
    mock_elapsed_time(Duration::from_millis(50));

    let after = files();
    assert_eq!(h.screen(), Screen::Summary, "still on the summary");
    for (k, pages) in &before {
        let now = &after[k];
        assert_eq!(now.len(), pages.len(), "{k:?} keeps its number of pages");
        let changed = now[0].blob_id != pages[0].blob_id;
        assert_eq!(changed, k == kind, "{k:?}: only the retaken page is new");
    }
}
