//! `cargo run -p kiosk-ime --example bench`: timings for docs/benchmarks-ime.md.
//!
//! Deploys into a fresh cache (the cold start), then times session start/end, key presses
//! (`type_key` + `candidates`, what the keyboard does per key), candidate pages (`page_next` +
//! `candidates`), selections and handwriting recognition.

use std::time::{Duration, Instant};

use kiosk_ime::handwriting::Recognizer;
use kiosk_ime::quality::parse_phrases;
use kiosk_ime::{PinyinEngine, RimeConfig, RimeSession, Schema};

fn stats(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let n = v.len();
    let mean = v.iter().sum::<Duration>() / n as u32;
    println!(
        "{name:<34} n={n:<6} mean {:>8.3} ms  median {:>8.3} ms  p95 {:>8.3} ms  max {:>8.3} ms",
        ms(mean),
        ms(v[n / 2]),
        ms(v[n * 95 / 100]),
        ms(v[n - 1])
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> Result<(), kiosk_ime::Error> {
    let cache = std::env::temp_dir().join(format!("kiosk-ime-bench-{}", std::process::id()));
    let mut config = RimeConfig {
        cache_root: cache.clone(),
        ..RimeConfig::default()
    };
    if std::env::args().any(|a| a == "--simp") {
        config.schema = Schema::PinyinSimp;
    }
    println!("schema {}", config.schema.id());
    let t = Instant::now();
    let first = RimeSession::start(&config)?;
    println!(
        "first session incl. setup + deployment (cold cache): {:.0} ms",
        ms(t.elapsed())
    );
    first.end()?;

    let mut starts = Vec::new();
    let mut ends = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let s = RimeSession::start(&config)?;
        starts.push(t.elapsed());
        let t = Instant::now();
        s.end()?;
        ends.push(t.elapsed());
    }
    stats("session start (deployed)", starts);
    stats("session end (finalize + wipe)", ends);

    let phrases = parse_phrases(include_str!("../tests/fixtures/phrases.txt"));
    let mut s = RimeSession::start(&config)?;
    let (mut keys, mut pages, mut selects, mut backs) = (vec![], vec![], vec![], vec![]);
    for _ in 0..3 {
        for p in &phrases {
            let letters: String = p
                .pinyin
                .chars()
                .filter(|c| c.is_ascii_alphabetic())
                .collect();
            s.clear();
            for c in letters.chars() {
                let t = Instant::now();
                s.type_key(c);
                let page = s.candidates();
                keys.push(t.elapsed());
                std::hint::black_box(page);
            }
            for _ in 0..3 {
                let t = Instant::now();
                let moved = s.page_next();
                let page = s.candidates();
                if moved {
                    pages.push(t.elapsed());
                }
                std::hint::black_box(page);
            }
            let t = Instant::now();
            s.backspace();
            let page = s.candidates();
            backs.push(t.elapsed());
            std::hint::black_box(page);
            let t = Instant::now();
            let out = s.select(0);
            let page = s.candidates();
            selects.push(t.elapsed());
            std::hint::black_box((out, page));
        }
    }
    s.end()?;
    stats("key press (type_key + candidates)", keys);
    stats("next page (page_next + candidates)", pages);
    stats("backspace + candidates", backs);
    stats("select + candidates", selects);

    let t = Instant::now();
    let rec = Recognizer::open_default()?;
    println!("zinnia model load: {:.0} ms", ms(t.elapsed()));
    let stroke = |a: (i32, i32), b: (i32, i32)| -> Vec<(i32, i32)> {
        (0..=10)
            .map(|i| (a.0 + (b.0 - a.0) * i / 10, a.1 + (b.1 - a.1) * i / 10))
            .collect()
    };
    let strokes = vec![
        stroke((40, 140), (260, 140)),
        stroke((150, 30), (150, 280)),
        stroke((60, 220), (240, 220)),
    ];
    let mut hw = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        std::hint::black_box(rec.candidates(&strokes, 300)?);
        hw.push(t.elapsed());
    }
    stats("handwriting, 3 strokes, 10 results", hw);
    let _ = std::fs::remove_dir_all(&cache);
    Ok(())
}
