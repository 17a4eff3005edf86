//! `cargo run -p kiosk-ime --example quality -- [--simp] [--misses] [FILE]`: the quality figures
//! on a phrase list (default `ime/tests/fixtures/phrases.txt`), overall and per category group.

use kiosk_ime::quality::{evaluate, parse_phrases};
use kiosk_ime::{RimeConfig, RimeSession, Schema};

fn main() -> Result<(), kiosk_ime::Error> {
    let mut config = RimeConfig::default();
    let mut misses = false;
    let mut file = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/phrases.txt").to_string();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--simp" => config.schema = Schema::PinyinSimp,
            "--misses" => misses = true,
            _ => file = arg,
        }
    }
    let text = std::fs::read_to_string(&file).expect("phrase file");
    let phrases = parse_phrases(&text);
    let mut session = RimeSession::start(&config)?;
    type Group = (&'static str, fn(&str) -> bool);
    let groups: [Group; 4] = [
        ("all", |_| true),
        ("TECH-NOTES 54", |c| {
            !c.starts_with("yn-") && c != "held-out"
        }),
        ("domain (yn-*)", |c| c.starts_with("yn-")),
        ("held-out (not in the lexicon)", |c| c == "held-out"),
    ];
    for (name, keep) in groups {
        let subset: Vec<_> = phrases
            .iter()
            .filter(|p| keep(&p.category))
            .cloned()
            .collect();
        if subset.is_empty() {
            continue;
        }
        let s = evaluate(&mut session, &subset);
        println!(
            "{name}: {} phrases; full pinyin first {:.1} %; initials first {:.1} %, first page {:.1} %",
            s.total,
            s.percent(s.full_first),
            s.percent(s.abbr_first),
            s.percent(s.abbr_first_page)
        );
        if misses && name == "all" {
            for (p, mode, page) in &s.misses {
                println!("  miss {mode} {p}: {}", page.join(" "));
            }
        }
    }
    session.end()
}
