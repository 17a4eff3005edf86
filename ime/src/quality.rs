//! The quality measure of TECH-NOTES.md: type a phrase's whole pinyin without separators (or its
//! initials only) into a clean composition and look for the phrase among the candidates.

use crate::{PinyinEngine, first_page, initials};

/// One line of `tests/fixtures/phrases.txt`: `category<TAB>phrase<TAB>pinyin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    /// Free-form category (`employer`, `school`, `yn-division`…).
    pub category: String,
    /// The phrase.
    pub phrase: String,
    /// Its pinyin, syllables separated by spaces.
    pub pinyin: String,
}

/// Parses the phrase list; `#` lines and blank lines are skipped.
pub fn parse_phrases(text: &str) -> Vec<Phrase> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some(Phrase {
                category: f.next()?.trim().to_string(),
                phrase: f.next()?.trim().to_string(),
                pinyin: f.next()?.trim().to_string(),
            })
        })
        .collect()
}

/// What a quality run found.
#[derive(Debug, Default, Clone)]
pub struct Score {
    /// Phrases measured.
    pub total: usize,
    /// Full pinyin: the phrase is the first candidate.
    pub full_first: usize,
    /// Initials: the phrase is on the first page.
    pub abbr_first_page: usize,
    /// Initials: the phrase is the first candidate.
    pub abbr_first: usize,
    /// Misses, for the report: (phrase, "full" or "abbr", first page).
    pub misses: Vec<(String, &'static str, Vec<String>)>,
}

impl Score {
    /// Percentage of `n` over the total.
    pub fn percent(&self, n: usize) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            100.0 * n as f64 / self.total as f64
        }
    }
}

/// Runs the measure over `phrases`.
pub fn evaluate(engine: &mut dyn PinyinEngine, phrases: &[Phrase]) -> Score {
    let mut score = Score::default();
    for p in phrases {
        score.total += 1;
        let full: String = p
            .pinyin
            .chars()
            .filter(|c| c.is_ascii_alphabetic())
            .collect();
        let page = first_page(engine, &full);
        if page.first() == Some(&p.phrase) {
            score.full_first += 1;
        } else {
            score.misses.push((p.phrase.clone(), "full", page));
        }
        let page = first_page(engine, &initials(&p.pinyin));
        if page.first() == Some(&p.phrase) {
            score.abbr_first += 1;
        }
        if page.contains(&p.phrase) {
            score.abbr_first_page += 1;
        } else {
            score.misses.push((p.phrase.clone(), "abbr", page));
        }
    }
    score
}
