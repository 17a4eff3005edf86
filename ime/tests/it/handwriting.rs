//! zinnia with strokes written by hand (in a 300 x 300 box), in the right stroke order.

use kiosk_ime::handwriting::{CANDIDATES, Recognizer};

fn line(from: (i32, i32), to: (i32, i32)) -> Vec<(i32, i32)> {
    (0..=10)
        .map(|i| {
            (
                from.0 + (to.0 - from.0) * i / 10,
                from.1 + (to.1 - from.1) * i / 10,
            )
        })
        .collect()
}

fn check(rec: &Recognizer, expected: &str, strokes: &[Vec<(i32, i32)>]) {
    let c = rec.candidates(strokes, 300).unwrap();
    assert!(c.len() <= CANDIDATES && !c.is_empty());
    assert!(c.iter().any(|x| x == expected), "{expected} not in {c:?}");
}

#[test]
fn simple_characters_are_in_the_top_ten() {
    let rec = Recognizer::open_default().expect("zinnia model");
    // 一: one horizontal stroke.
    check(&rec, "一", &[line((40, 150), (260, 150))]);
    // 十: horizontal, then vertical.
    check(
        &rec,
        "十",
        &[line((40, 140), (260, 140)), line((150, 30), (150, 280))],
    );
    // 口 (smaller than the box, or it reads as the enclosure 囗): left vertical, top-right
    // turn, bottom.
    check(
        &rec,
        "口",
        &[
            line((95, 95), (95, 215)),
            [line((95, 95), (205, 95)), line((205, 95), (205, 215))].concat(),
            line((95, 210), (205, 210)),
        ],
    );
    // 二: short top, long bottom.
    check(
        &rec,
        "二",
        &[line((80, 100), (220, 100)), line((40, 210), (260, 210))],
    );
    // 人: left-falling (straight down, then sweeping left), right-falling from its middle.
    check(
        &rec,
        "人",
        &[
            [line((150, 40), (140, 120)), line((140, 120), (50, 250))].concat(),
            line((142, 110), (250, 250)),
        ],
    );
}

#[test]
fn no_strokes_no_candidates_and_a_missing_model_names_the_package() {
    let rec = Recognizer::open_default().unwrap();
    assert!(rec.candidates(&[], 300).unwrap().is_empty());
    assert!(rec.candidates(&[vec![]], 300).unwrap().is_empty());
    let err = Recognizer::open(std::path::Path::new("/nonexistent/model"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("tegaki-zinnia-simplified-chinese"), "{err}");
}
