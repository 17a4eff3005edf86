//! Chinese input on the on-screen keyboard with the real librime engine: type pinyin key by key,
//! page the candidates, select, partial selection, 中/英, and a fresh engine for the next visit.
//! One test only: librime allows one session per process.

use crate::ui_support;

use kiosk::app::ui::{self, Screen};
use kiosk_ime::{PinyinEngine, RimeConfig, RimeSession};
use slint::{ComponentHandle, Model};

fn candidates(h: &ui_support::Harness) -> Vec<String> {
    h.kiosk
        .window
        .global::<ui::Keys>()
        .get_candidates()
        .iter()
        .map(|c| c.to_string())
        .collect()
}

#[test]
fn type_a_phrase_in_pinyin_and_select_it() {
    let factory: kiosk::app::session::PinyinFactory = Box::new(|| {
        RimeSession::start(&RimeConfig::default())
            .map(|s| Box::new(s) as Box<dyn PinyinEngine>)
            .map_err(|e| e.to_string())
    });
    let h = ui_support::start_with(None, Some(factory));
    h.kiosk.session.borrow_mut().services.handwriting =
        Some(kiosk_ime::handwriting::Recognizer::open_default().expect("zinnia model"));
    {
        let mut s = h.kiosk.session.borrow_mut();
        kiosk::app::screenshots::at(
            &mut s,
            kiosk_domain::Step::Work,
            kiosk_domain::samples::Branch::Employed,
        );
        let _ = s
            .visit
            .app
            .edit(|d| d.work.employment.employer_name.clear());
    }
    h.kiosk.refresh();
    assert_eq!(h.screen(), Screen::Work);
    h.tap("工作单位名称");
    let keys = h.kiosk.window.global::<ui::Keys>();
    assert!(keys.get_chinese(), "a Chinese field starts in Chinese mode");

    // Key by key: the composition shows the pinyin, the bar at least 8 candidates.
    h.type_keys("kunming");
    assert!(
        keys.get_composing().contains("kun"),
        "{}",
        keys.get_composing()
    );
    let first = candidates(&h);
    assert!(first.len() >= 8, "{first:?}");
    assert_eq!(first[0], "昆明");
    // Paging forward and back.
    h.tap("下一页候选");
    let second = candidates(&h);
    assert_ne!(second, first);
    h.tap("上一页候选");
    assert_eq!(candidates(&h), first);
    // Backspace edits the pinyin, not the field.
    h.tap("删除");
    assert!(!keys.get_composing().contains("ming"));
    h.type_keys("g");
    h.tap("候选：昆明");
    assert_eq!(keys.get_composing(), "");

    // A partial selection keeps composing the rest.
    h.type_keys("kunmingshi");
    if !candidates(&h).iter().any(|c| c == "昆明") {
        h.tap("下一页候选");
    }
    h.tap("候选：昆明");
    assert!(
        keys.get_composing().contains("shi"),
        "{}",
        keys.get_composing()
    );
    assert!(
        candidates(&h).iter().any(|c| c == "市"),
        "{:?}",
        candidates(&h)
    );
    h.tap("候选：市");
    assert_eq!(keys.get_composing(), "");

    // Space takes the first candidate.
    h.type_keys("yunnancaijingdaxue");
    let page = candidates(&h);
    assert_eq!(
        page.first().map(String::as_str),
        Some("云南财经大学"),
        "{page:?}"
    );
    h.type_keys(" ");
    // Digits and English go straight in; 中/英 switches.
    h.tap("切换中英文");
    assert!(!keys.get_chinese());
    h.type_keys("abc");
    h.tap("切换中英文");
    h.tap("完成");
    let value = h
        .find("工作单位名称")
        .and_then(|e| e.accessible_value())
        .map(|v| v.to_string());
    assert_eq!(value.as_deref(), Some("昆明昆明市云南财经大学abc"));

    // Handwriting: 十 written on the pad (a 300 x 300 pad; strokes as the finger draws them).
    h.tap("工作单位名称");
    h.tap("手写输入");
    assert!(keys.get_handwriting());
    assert!(h.exists("手写板"));
    for (from, to) in [
        ((40.0, 140.0), (260.0, 140.0)),
        ((150.0, 30.0), (150.0, 280.0)),
    ] {
        keys.invoke_stroke_start(from.0, from.1, 300.0, 300.0);
        for i in 1..=10 {
            let t = i as f32 / 10.0;
            keys.invoke_stroke_point(from.0 + (to.0 - from.0) * t, from.1 + (to.1 - from.1) * t);
        }
        keys.invoke_stroke_end();
    }
    assert!(keys.get_ink().starts_with('M'), "the ink is drawn");
    let written = candidates(&h);
    assert_eq!(written.len(), 10, "{written:?}");
    assert!(written.iter().any(|c| c == "十"), "{written:?}");
    h.tap("候选：十");
    assert_eq!(
        keys.get_ink(),
        "",
        "the pad is cleared for the next character"
    );
    h.tap("返回拼音键盘");
    assert!(!keys.get_handwriting());
    h.tap("完成");
    let value = h
        .find("工作单位名称")
        .and_then(|e| e.accessible_value())
        .map(|v| v.to_string());
    assert_eq!(value.as_deref(), Some("昆明昆明市云南财经大学abc十"));

    // The next visit gets a fresh engine: this one (and its learning) is gone.
    assert!(h.kiosk.session.borrow().visit.pinyin.is_some());
    h.kiosk.session.borrow_mut().wipe();
    assert!(h.kiosk.session.borrow().visit.pinyin.is_none());
    let again = RimeSession::start(&RimeConfig::default());
    assert!(
        again.is_ok(),
        "the engine was released at the end of the visit"
    );
}
