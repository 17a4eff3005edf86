//! librime behaviour, privacy and quality. librime allows one session per process, so every test
//! takes `LOCK` first.

use std::sync::{Mutex, MutexGuard};

use kiosk_ime::quality::{evaluate, parse_phrases};
use kiosk_ime::rime::{PAGE_SIZE, check_data};
use kiosk_ime::{Error, PinyinEngine, RimeConfig, RimeSession, Schema, first_page, first_pages};

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn start() -> RimeSession {
    RimeSession::start(&RimeConfig::default()).expect("Rime session")
}

fn type_all(e: &mut dyn PinyinEngine, letters: &str) {
    for c in letters.chars() {
        assert_eq!(e.type_key(c), None, "letter {c} must not commit");
    }
}

#[test]
fn backspace_edits_the_pinyin_buffer() {
    let _g = lock();
    let mut s = start();
    type_all(&mut s, "kuaijix");
    assert_eq!(s.input(), "kuaijix");
    assert!(s.backspace());
    assert_eq!(s.input(), "kuaiji");
    assert!(s.composition().contains("kuai"), "{}", s.composition());
    assert_eq!(s.candidates().first().map(String::as_str), Some("会计"));
    for _ in 0..6 {
        assert!(s.backspace());
    }
    assert!(s.input().is_empty());
    assert!(s.candidates().is_empty());
    assert!(!s.backspace(), "nothing left: the field deletes instead");
    s.end().unwrap();
}

#[test]
fn paging_moves_through_the_candidates() {
    let _g = lock();
    let mut s = start();
    type_all(&mut s, "shi");
    let first = s.candidates();
    assert_eq!(first.len(), PAGE_SIZE);
    assert!(!s.page_prev(), "already on the first page");
    assert!(s.page_next());
    let second = s.candidates();
    assert!(!second.is_empty());
    assert_ne!(first, second);
    assert!(s.page_prev());
    assert_eq!(s.candidates(), first);
    // Selecting on the second page picks from that page.
    assert!(s.page_next());
    let pick = s.candidates()[2].clone();
    assert_eq!(s.select(2), Some(pick));
    s.end().unwrap();
}

#[test]
fn partial_selection_keeps_composing_the_rest() {
    let _g = lock();
    let mut s = start();
    type_all(&mut s, "kuaijizhongxin");
    let page = s.candidates();
    let (index, part) = page
        .iter()
        .enumerate()
        .find(|(_, c)| c.as_str() == "会计")
        .map(|(i, c)| (i, c.clone()))
        .unwrap_or_else(|| panic!("会计 on the first page: {page:?}"));
    assert_eq!(s.select(index), None, "only the start is chosen");
    assert!(s.composition().starts_with(&part), "{}", s.composition());
    assert!(s.composition().contains("zhong"), "{}", s.composition());
    assert_eq!(s.candidates().first().map(String::as_str), Some("中心"));
    assert_eq!(s.select(0).as_deref(), Some("会计中心"));
    assert!(s.composition().is_empty());
    assert!(s.select(0).is_none(), "nothing to select");
    s.end().unwrap();
}

#[test]
fn raw_commit_punctuation_digits_and_clear() {
    let _g = lock();
    let mut s = start();
    type_all(&mut s, "kiosk");
    assert_eq!(s.commit_raw(), "kiosk");
    assert!(s.composition().is_empty());
    assert_eq!(s.commit_raw(), "");
    // Full-width punctuation, alone and ending a composition.
    assert_eq!(s.type_key(',').as_deref(), Some("，"));
    type_all(&mut s, "kuaiji");
    assert_eq!(s.type_key('.').as_deref(), Some("会计。"));
    // Digits are inserted as they are.
    assert_eq!(s.type_key('5').as_deref(), Some("5"));
    type_all(&mut s, "ren");
    assert_eq!(s.type_key('1').as_deref(), Some("人1"));
    type_all(&mut s, "caizheng");
    s.clear();
    assert!(s.composition().is_empty() && s.candidates().is_empty());
    assert_eq!(s.select(0), None);
    s.end().unwrap();
}

#[test]
fn initials_and_the_diagnostic() {
    let _g = lock();
    let cfg = RimeConfig::default();
    let out = first_pages(
        &cfg,
        &["zhongjikuaijishi".into(), "zhong'ji'kuai'ji'shi".into()],
        false,
    )
    .unwrap();
    assert_eq!(out[0].1[0], "中级会计师");
    assert_eq!(out[1].0, "zhongjikuaijishi");
    let out = first_pages(&cfg, &["shi chang jian du guan li ju".into()], true).unwrap();
    assert_eq!(out[0].0, "scjdglj");
    assert!(
        out[0].1.contains(&"市场监督管理局".to_string()),
        "{:?}",
        out[0].1
    );
    // Without separators, Rime's own syllable split gives the initials.
    let out = first_pages(&cfg, &["zhongnancaijingzhengfadaxue".into()], true).unwrap();
    assert_eq!(out[0].0, "zncjzfdx");
    assert_eq!(out[0].1[0], "中南财经政法大学");
}

#[test]
fn one_session_per_process() {
    let _g = lock();
    let s = start();
    assert!(matches!(
        RimeSession::start(&RimeConfig::default()),
        Err(Error::Busy)
    ));
    s.end().unwrap();
    start().end().unwrap();
}

#[test]
fn missing_data_names_the_debian_package() {
    let empty = tempfile::tempdir().unwrap();
    let err = check_data(empty.path(), &[Schema::LunaPinyinSimp]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("rime-prelude"), "{msg}");
    // Prelude present, schema missing.
    for f in [
        "default.yaml",
        "punctuation.yaml",
        "key_bindings.yaml",
        "symbols.yaml",
        "essay.txt",
    ] {
        std::fs::write(empty.path().join(f), "").unwrap();
    }
    let msg = check_data(empty.path(), &[Schema::PinyinSimp])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("rime-data-pinyin-simp"), "{msg}");
    // And a session refuses to start on it.
    let _g = lock();
    let cfg = RimeConfig {
        shared_data_dir: empty.path().to_path_buf(),
        ..RimeConfig::default()
    };
    let msg = RimeSession::start(&cfg).unwrap_err().to_string();
    assert!(msg.contains("install the Debian package"), "{msg}");
}

/// Position of `word` among the candidates of `letters` (searching a few pages).
fn rank(s: &mut RimeSession, letters: &str, word: &str) -> Option<usize> {
    s.clear();
    type_all(s, letters);
    let mut base = 0;
    loop {
        let page = s.candidates();
        if let Some(i) = page.iter().position(|c| c == word) {
            s.clear();
            return Some(base + i);
        }
        base += page.len();
        if base > 5 * PAGE_SIZE || !s.page_next() {
            s.clear();
            return None;
        }
    }
}

fn select_word(s: &mut RimeSession, letters: &str, word: &str) {
    s.clear();
    type_all(s, letters);
    loop {
        if let Some(i) = s.candidates().iter().position(|c| c == word) {
            assert_eq!(s.select(i).as_deref(), Some(word));
            return;
        }
        assert!(s.page_next(), "{word} not found");
    }
}

#[test]
fn what_one_applicant_typed_is_not_suggested_to_the_next() {
    let _g = lock();
    // A rare phrase: far down the list for its pinyin in a fresh engine.
    let (letters, word) = ("zhongji", "中脊");
    let mut a = start();
    let fresh_page = first_page(&mut a, letters);
    let fresh = rank(&mut a, letters, word).expect("rare phrase in the first pages");
    assert!(fresh >= 3, "pick a rarer phrase: fresh rank {fresh}");
    for _ in 0..3 {
        select_word(&mut a, letters, word);
    }
    let learnt = rank(&mut a, letters, word).unwrap();
    assert!(
        learnt < fresh,
        "Rime learns within a session ({fresh} -> {learnt})"
    );
    let dir = a.user_dir().to_path_buf();
    assert!(std::fs::read_dir(&dir).unwrap().next().is_some());
    a.end().unwrap();
    assert!(!dir.exists(), "the session's user directory is wiped");

    let mut b = start();
    assert_eq!(
        rank(&mut b, letters, word),
        Some(fresh),
        "back to the fresh ranking"
    );
    assert_eq!(first_page(&mut b, letters), fresh_page);
    b.end().unwrap();
}

#[test]
fn drop_also_wipes_the_user_directory() {
    let _g = lock();
    let s = start();
    let dir = s.user_dir().to_path_buf();
    assert!(dir.exists());
    drop(s);
    assert!(!dir.exists());
}

/// Floors of the brief: with full pinyin the phrase comes first in at least 98 % of cases; with
/// the initials it is on the first page in at least 80 %. Checked on the whole fixture, on the 54
/// TECH-NOTES phrases and on the 54 + domain phrases. Caveat: 38 of the 54 are domain words and
/// are in the lexicon too. The held-out everyday words (not in the lexicon) are held to what they
/// reach today (96.1 % and 68.6 %, the same as without the lexicon), as a regression guard.
#[test]
fn quality_floors() {
    let _g = lock();
    let phrases = parse_phrases(include_str!("../fixtures/phrases.txt"));
    let pick = |keep: fn(&str) -> bool| -> Vec<_> {
        phrases
            .iter()
            .filter(|p| keep(&p.category))
            .cloned()
            .collect()
    };
    let floor_set = pick(|c| c != "held-out");
    let everything = pick(|_| true);
    let common = pick(|c| !c.starts_with("yn-") && c != "held-out");
    let held_out = pick(|c| c == "held-out");
    assert_eq!(common.len(), 54);
    assert!(floor_set.len() >= 54 + 60, "{} phrases", floor_set.len());
    assert!(held_out.len() >= 50);
    let mut s = start();
    let results = [
        ("all", evaluate(&mut s, &everything), 98.0, 80.0),
        ("54 + domain", evaluate(&mut s, &floor_set), 98.0, 80.0),
        ("TECH-NOTES 54", evaluate(&mut s, &common), 98.0, 80.0),
        ("held-out", evaluate(&mut s, &held_out), 95.0, 65.0),
    ];
    s.end().unwrap();
    for (name, score, full_floor, abbr_floor) in results {
        let full = score.percent(score.full_first);
        let abbr = score.percent(score.abbr_first_page);
        eprintln!("{name}: full first {full:.1} %, initials first page {abbr:.1} %");
        assert!(
            full >= full_floor,
            "{name}: full pinyin first {full:.1} % < {full_floor} %: {:?}",
            score.misses
        );
        assert!(
            abbr >= abbr_floor,
            "{name}: initials first page {abbr:.1} % < {abbr_floor} %: {:?}",
            score.misses
        );
    }
}

#[test]
fn leftovers_of_a_killed_process_are_wiped_at_the_next_start() {
    let _g = lock();
    let root = tempfile::tempdir().unwrap();
    let dead = root.path().join("kiosk-ime-session-999999999-1-0");
    std::fs::create_dir(&dead).unwrap();
    std::fs::write(dead.join("luna_pinyin.userdb"), "typed words").unwrap();
    let unrelated = root.path().join("something-else");
    std::fs::create_dir(&unrelated).unwrap();
    let cfg = RimeConfig {
        session_root: root.path().to_path_buf(),
        ..RimeConfig::default()
    };
    let s = RimeSession::start(&cfg).unwrap();
    assert!(!dead.exists());
    assert!(unrelated.exists());
    assert!(s.user_dir().starts_with(root.path()));
    s.end().unwrap();
}
