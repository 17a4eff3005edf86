//! Every screen and every message in English: no Chinese character is left on the screen, except
//! what the applicant typed or the ID card holds (their name, address, employer, school) and
//! Yunnan's place names, which are proper names in both languages.

use crate::ui_support;

use i_slint_backend_testing::ElementQuery;
use kiosk::app::screenshots::scenes;
use kiosk_domain::i18n::has_cjk;
use kiosk_domain::region;
use kiosk_domain::{Lang, samples};

/// The Chinese a scene may show in English: the applicant's own data and place names.
fn own_words() -> Vec<String> {
    let mut words = Vec::new();
    let today = time::Date::from_calendar_date(2026, time::Month::December, 7).expect("a date");
    for (_, sample) in samples::golden_records(today) {
        let d = sample.data();
        words.extend([
            d.basic.name.clone(),
            d.basic.postal_address.clone(),
            d.work.employment.employer_name.clone(),
        ]);
        for entry in [&d.education.full_time, &d.education.part_time] {
            words.extend([entry.school.clone(), entry.major.clone()]);
        }
    }
    words.extend(
        region::divisions()
            .iter()
            .flat_map(|d| [d.name.to_owned(), d.full_name(), d.bureau_name()]),
    );
    // The language switch names the language it switches to; the reviewer's reasons are the
    // reviewer's own words; the pinyin scene has typed 云南 into a field.
    words.extend(["中文", "照片不符合要求；缺少工作证明", "云南"].map(str::to_owned));
    words.retain(|w| !w.trim().is_empty());
    // Longest first, so that a full name is taken out before a part of it.
    words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    words
}

fn without_own_words(text: &str, words: &[String]) -> String {
    let mut left = text.to_owned();
    for word in words {
        if left.contains(word.as_str()) {
            left = left.replace(word.as_str(), "");
        }
    }
    left
}

#[test]
fn every_screen_in_english_shows_no_chinese_but_the_applicants_own() {
    let h = ui_support::start();
    let words = own_words();
    let mut offenders = Vec::new();
    let mut texts = 0;
    for elder in [false, true] {
        for scene in scenes() {
            {
                let mut s = h.kiosk.session.borrow_mut();
                s.wipe();
                s.lang = Lang::En;
                s.elder = elder;
                (scene.setup)(&mut s);
            }
            h.kiosk.refresh();
            for e in ElementQuery::from_root(&h.kiosk.window)
                .match_descendants()
                .find_all()
            {
                let size = e.size();
                if size.width <= 0.0 || size.height <= 0.0 {
                    continue;
                }
                for text in [
                    e.accessible_label(),
                    e.accessible_value(),
                    e.accessible_description(),
                    e.accessible_placeholder_text(),
                ]
                .into_iter()
                .flatten()
                {
                    texts += 1;
                    let left = without_own_words(&text, &words);
                    if has_cjk(&left) {
                        offenders.push(format!("{} (elder={elder}): {text:?}", scene.name));
                    }
                }
            }
        }
    }
    assert!(texts > 2000, "only {texts} texts read");
    offenders.sort();
    offenders.dedup();
    assert!(
        offenders.is_empty(),
        "{} Chinese texts on English screens:\n{}",
        offenders.len(),
        offenders.join("\n")
    );
}

/// A banner holds its message, so switching the language shows it in the new one.
#[test]
fn a_banner_follows_a_language_switch() {
    let h = ui_support::start();
    let mut s = h.kiosk.session.borrow_mut();
    s.start();
    s.next(); // the notice without consent: refused, with a banner
    let zh = kiosk::app::view::build(&s).banner.expect("a banner").text;
    assert!(has_cjk(&zh), "{zh}");
    s.set_lang(Lang::En);
    let en = kiosk::app::view::build(&s)
        .banner
        .expect("still a banner")
        .text;
    assert!(!en.is_empty() && !has_cjk(&en), "{en}");
    s.set_lang(Lang::Zh);
    assert_eq!(
        kiosk::app::view::build(&s).banner.expect("a banner").text,
        zh
    );
}
