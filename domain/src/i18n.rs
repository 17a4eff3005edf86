//! The one way the kiosk's text is translated.
//!
//! Chinese is the source language: a message's key is its Chinese text, exactly as Slint's
//! `@tr` keys its strings, so a reader of the code sees the sentence the applicant sees. Every
//! other language has one gettext catalogue, `translations/<lang>/LC_MESSAGES/kiosk.po`, which
//! Slint bundles into the UI at build time and this module reads for everything Rust says
//! (the domain's findings, the session's notices, device and media errors, and the spoken
//! prompts). Arguments are written `{0}`, `{1}`… (or `{}` in order) in the key and filled in
//! after translation, so a translation may move them.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::OnceLock;

use crate::Lang;

const ENGLISH_CATALOGUE: &str = include_str!("../../translations/en/LC_MESSAGES/kiosk.po");

/// A message for the screen or the voice: its catalogue key and the arguments of its
/// placeholders, already formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub key: &'static str,
    pub args: Vec<String>,
}

impl Message {
    pub fn new(key: &'static str) -> Self {
        Message {
            key,
            args: Vec::new(),
        }
    }

    pub fn with(key: &'static str, args: &[&dyn Display]) -> Self {
        Message {
            key,
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// The message in `lang`, its placeholders filled.
    pub fn text(&self, lang: Lang) -> String {
        fill(tr(lang, self.key), &self.args)
    }
}

/// `key` in `lang`. A key the catalogue lacks is shown as it is (in Chinese): the tests that
/// read every key of the sources keep that from reaching a screen.
pub fn tr(lang: Lang, key: &str) -> &str {
    match lang {
        Lang::Zh => key,
        Lang::En => english().get(key).map(String::as_str).unwrap_or(key),
    }
}

/// `key` in `lang` with its placeholders filled from `args`.
pub fn tr_args(lang: Lang, key: &str, args: &[&dyn Display]) -> String {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    fill(tr(lang, key), &args)
}

/// Whether the catalogue of `lang` has `key` (always, for the source language).
pub fn has_translation(lang: Lang, key: &str) -> bool {
    match lang {
        Lang::Zh => true,
        Lang::En => english().contains_key(key),
    }
}

/// Every entry of the English catalogue: (key, translation).
pub fn english_entries() -> impl Iterator<Item = (&'static str, &'static str)> {
    english().iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// Whether `text` holds a Chinese (CJK) character or CJK punctuation.
pub fn has_cjk(text: &str) -> bool {
    text.chars().any(|c| {
        matches!(c as u32,
            0x3000..=0x303f      // CJK punctuation (、。「」)
            | 0x3400..=0x4dbf    // extension A
            | 0x4e00..=0x9fff    // unified ideographs
            | 0xf900..=0xfaff    // compatibility ideographs
            | 0xff00..=0xffef    // full-width forms (，：（）)
            | 0x20000..=0x2fa1f) // extensions B–F
    })
}

fn english() -> &'static HashMap<String, String> {
    static CATALOGUE: OnceLock<HashMap<String, String>> = OnceLock::new();
    CATALOGUE.get_or_init(|| parse_po(ENGLISH_CATALOGUE))
}

/// Fills `{}` (in order) and `{n}` placeholders; a placeholder without an argument stays.
fn fill(template: &str, args: &[String]) -> String {
    if args.is_empty() {
        return template.to_owned();
    }
    let mut out = String::with_capacity(template.len() + 16);
    let mut next = 0;
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inside = &after[..close];
        let index = if inside.is_empty() {
            next += 1;
            Some(next - 1)
        } else {
            inside.parse::<usize>().ok()
        };
        match index.and_then(|i| args.get(i)) {
            Some(arg) => out.push_str(arg),
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The entries of a gettext catalogue: `msgid`/`msgstr` pairs with continuation lines; the
/// header (empty msgid) and untranslated entries are left out.
fn parse_po(po: &str) -> HashMap<String, String> {
    enum Part {
        None,
        Id,
        Str,
    }
    let mut entries = HashMap::new();
    let (mut id, mut text, mut part) = (String::new(), String::new(), Part::None);
    let mut finish = |id: &mut String, text: &mut String| {
        if !id.is_empty() && !text.is_empty() {
            entries.insert(std::mem::take(id), std::mem::take(text));
        }
        id.clear();
        text.clear();
    };
    for line in po.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("msgid ") {
            finish(&mut id, &mut text);
            id = unquote(rest);
            part = Part::Id;
        } else if let Some(rest) = line.strip_prefix("msgstr ") {
            text = unquote(rest);
            part = Part::Str;
        } else if line.starts_with('"') {
            match part {
                Part::Id => id.push_str(&unquote(line)),
                Part::Str => text.push_str(&unquote(line)),
                Part::None => {}
            }
        } else if line.is_empty() || line.starts_with('#') {
            part = Part::None;
        }
    }
    finish(&mut id, &mut text);
    entries
}

fn unquote(quoted: &str) -> String {
    let inner = quoted
        .trim()
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or("");
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_reads_entries_escapes_and_continuation_lines() {
        let po = "msgid \"\"\nmsgstr \"\"\n\"Language: en\\n\"\n\n# note\nmsgid \"上一步\"\nmsgstr \"Back\"\n\nmsgid \"说\\\"好\\\"\\n\"\n\"吗\"\nmsgstr \"Say \\\"yes\\\"\\n\"\n\"?\"\n\nmsgid \"未译\"\nmsgstr \"\"\n";
        let entries = parse_po(po);
        assert_eq!(entries.len(), 2, "{entries:?}");
        assert_eq!(entries["上一步"], "Back");
        assert_eq!(entries["说\"好\"\n吗"], "Say \"yes\"\n?");
    }

    #[test]
    fn placeholders_are_filled_in_order_or_by_position() {
        let args = ["3".to_owned(), "7".to_owned()];
        assert_eq!(fill("第 {} 步 / 共 {} 步", &args), "第 3 步 / 共 7 步");
        assert_eq!(fill("{1} of {0}", &args), "7 of 3");
        assert_eq!(fill("{2} stays, {x} too", &args), "{2} stays, {x} too");
        assert_eq!(fill("open {", &args), "open {");
    }

    #[test]
    fn english_comes_from_the_catalogue_and_chinese_is_the_key() {
        assert_eq!(tr(Lang::En, "下一步"), "Next");
        assert_eq!(tr(Lang::Zh, "下一步"), "下一步");
        assert_eq!(tr(Lang::En, "没有这一条"), "没有这一条");
        assert!(!has_translation(Lang::En, "没有这一条"));
    }

    #[test]
    fn cjk_is_told_from_latin_text() {
        assert!(has_cjk("出纳"));
        assert!(has_cjk("Name："));
        assert!(!has_cjk("Name: Zhang San, 138****5678 (No. 1)"));
    }
}
