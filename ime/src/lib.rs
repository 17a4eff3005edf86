//! Chinese input for the kiosk's on-screen keyboard (issue 7, the engine half).
//!
//! * [`PinyinEngine`]: what the keyboard needs from a pinyin engine; [`rime::RimeSession`]
//!   implements it with librime, one applicant per session, learning wiped at the end.
//! * [`handwriting::Recognizer`]: handwriting through zinnia, 10 candidates per character.
//! * [`first_pages`]: the diagnostic behind `kiosk ime [--abbr] PINYIN...`.
//!
//! The pinyin engine knows the kiosk's domain words (Yunnan's divisions, universities, majors,
//! agencies, accounting posts): see `data/SOURCES.md`.

mod error;
pub mod handwriting;
pub mod quality;
pub mod rime;

pub use error::Error;
pub use rime::{RimeConfig, RimeSession, Schema};

/// What the on-screen keyboard needs from a pinyin engine.
///
/// The engine owns the composition (the letters being typed); the keyboard shows
/// [`composition`](PinyinEngine::composition) and the current page of
/// [`candidates`](PinyinEngine::candidates), and inserts whatever text the calls return.
pub trait PinyinEngine {
    /// Types one key. Letters extend the composition (returns `None`). Anything else first
    /// commits the composition as it stands, then: ASCII punctuation becomes full-width Chinese
    /// punctuation (`,` → `，`), digits, spaces and other characters are inserted as they are.
    /// Returns the text to insert, if any.
    fn type_key(&mut self, c: char) -> Option<String>;
    /// Deletes the last letter of the composition. Returns `false` when there was no
    /// composition (the keyboard then deletes a character of the field instead).
    fn backspace(&mut self) -> bool;
    /// The composition to show above the candidates: Chinese already selected followed by the
    /// pinyin still being composed (for example `中国gong shang`). Empty when idle.
    fn composition(&self) -> String;
    /// The current page of candidates, best first (at most [`rime::PAGE_SIZE`]).
    fn candidates(&self) -> Vec<String>;
    /// Shows the next page. Returns `false` on the last page.
    fn page_next(&mut self) -> bool;
    /// Shows the previous page. Returns `false` on the first page.
    fn page_prev(&mut self) -> bool;
    /// Selects a candidate of the current page. Returns the committed text when the whole
    /// composition is done; `None` when the candidate covered only the start of the pinyin (the
    /// rest stays in the composition, with new candidates) or the index is out of range.
    fn select(&mut self, index: usize) -> Option<String>;
    /// Commits the letters as typed (the keyboard's Return key) and ends the composition.
    fn commit_raw(&mut self) -> String;
    /// Drops the composition without committing anything.
    fn clear(&mut self);
}

/// Reduces pinyin to its initials: the first letter of each syllable, where syllables are
/// separated by spaces, apostrophes or hyphens (`zhong'guo` → `zg`).
pub fn initials(pinyin: &str) -> String {
    pinyin
        .split([' ', '\'', '-'])
        .filter_map(|s| s.chars().next())
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Splits pinyin into syllables the way the engine does (its composition after typing the
/// letters), e.g. `zhongguo` → `zhong guo`.
pub fn syllables(engine: &mut dyn PinyinEngine, letters: &str) -> String {
    engine.clear();
    for c in letters.chars().filter(|c| c.is_ascii_alphabetic()) {
        engine.type_key(c);
    }
    let split = engine.composition();
    engine.clear();
    split
}

/// Types `letters` into a clean composition and returns the first page of candidates.
pub fn first_page(engine: &mut dyn PinyinEngine, letters: &str) -> Vec<String> {
    engine.clear();
    for c in letters.chars().filter(|c| c.is_ascii_alphabetic()) {
        engine.type_key(c);
    }
    let page = engine.candidates();
    engine.clear();
    page
}

/// The diagnostic `kiosk ime [--abbr] PINYIN...`: for each argument, the first page of
/// candidates, best first, from a fresh session. With `abbr`, each argument is reduced to its
/// initials first: syllables separated by `'`, `-` or spaces (`zhong'guo` → `zg`), or, without
/// separators, split the way Rime splits them (`zhongguo` → `zhong guo` → `zg`). Without `abbr`,
/// separators are dropped and the letters typed as they are.
pub fn first_pages(
    config: &RimeConfig,
    inputs: &[String],
    abbr: bool,
) -> Result<Vec<(String, Vec<String>)>, Error> {
    let mut session = RimeSession::start(config)?;
    let out = inputs
        .iter()
        .map(|arg| {
            let letters = if abbr && arg.contains([' ', '\'', '-']) {
                initials(arg)
            } else if abbr {
                initials(&syllables(&mut session, arg))
            } else {
                arg.chars().filter(|c| c.is_ascii_alphabetic()).collect()
            };
            let page = first_page(&mut session, &letters);
            (letters, page)
        })
        .collect();
    session.end()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_of_separated_pinyin() {
        assert_eq!(initials("zhong'guo"), "zg");
        assert_eq!(initials("Shi chang-jian du"), "scjd");
        assert_eq!(initials("lü chun"), "lc");
        assert_eq!(initials(""), "");
    }

    #[test]
    fn phrase_lines() {
        let p = quality::parse_phrases("# c\n\nschool\t云南大学\tyun nan da xue\nbroken line\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].phrase, "云南大学");
        assert_eq!(initials(&p[0].pinyin), "yndx");
    }
}
