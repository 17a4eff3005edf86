//! Every text the kiosk shows has an English translation in the one catalogue
//! (`translations/en/LC_MESSAGES/kiosk.po`): the `@tr` strings of the UI and every Chinese string
//! literal of the Rust code that reaches a screen, which are catalogue keys by construction.

use std::collections::HashSet;
use std::path::Path;

use kiosk_domain::Lang;

fn slint_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read ui dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            slint_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "slint") {
            out.push(path);
        }
    }
}

/// The string literals following `@tr(` in a .slint source, unescaped as Slint reads them.
fn tr_strings(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("@tr(\"") {
        rest = &rest[start + 5..];
        let mut literal = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => literal.push('\n'),
                    Some(other) => literal.push(other),
                    None => {}
                },
                c => literal.push(c),
            }
        }
        found.push(literal);
    }
    found
}

#[test]
fn every_ui_string_has_an_english_translation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    slint_files(&root.join("ui"), &mut files);
    let mut wanted = HashSet::new();
    for file in &files {
        let source = std::fs::read_to_string(file).expect("read slint");
        wanted.extend(tr_strings(&source));
    }
    assert!(wanted.len() > 40, "found only {} @tr strings", wanted.len());
    let mut missing: Vec<&String> = wanted
        .iter()
        .filter(|s| !kiosk_domain::i18n::has_translation(Lang::En, s))
        .collect();
    missing.sort();
    assert!(missing.is_empty(), "untranslated: {missing:?}");
    // No Chinese left in an English string.
    for (id, text) in kiosk_domain::i18n::english_entries() {
        assert!(
            !kiosk_domain::i18n::has_cjk(text),
            "{id:?} is translated with Chinese: {text:?}"
        );
    }
}

/// The Rust sources whose Chinese literals reach the screen (or the voice), and so must be
/// catalogue keys. Left out, each for its reason: command-line tools and the text demo (their
/// users are staff at a terminal), the screenshot scenes' sample data, the invented sample
/// applicants, Yunnan's place names (proper names, shown as they are in both languages) and the
/// card reader's ethnicity table (the domain's own list is what is shown).
const KEY_SOURCES: [&str; 10] = [
    "src/app",
    "src/accounts.rs",
    "src/store",
    "domain/src",
    "media/src/error.rs",
    "media/src/photo.rs",
    "hardware/src/idcard",
    "hardware/src/camera",
    "hardware/src/printer",
    "src/receipt.rs",
];
const NOT_SHOWN: [&str; 6] = [
    "src/app/screenshots.rs",
    "domain/src/samples.rs",
    "domain/src/region.rs",
    "domain/src/i18n.rs",
    "hardware/src/idcard/sim.rs",
    "hardware/src/idcard/bin",
];

fn rust_files(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("read dir").flatten() {
            rust_files(&entry.path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_owned());
    }
}

/// The string literals of `source` outside comments and its `#[cfg(test)]` module, unescaped
/// as Rust reads them (`\` line continuations joined).
fn rust_literals(source: &str) -> Vec<(usize, String)> {
    let code = source.split("#[cfg(test)]").next().unwrap_or("");
    let mut found = Vec::new();
    let mut chars = code.char_indices().peekable();
    let mut line = 1;
    while let Some((_, c)) = chars.next() {
        match c {
            '\n' => line += 1,
            '/' if chars.peek().is_some_and(|(_, n)| *n == '/') => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '\'' => {
                // A char literal ('"', '\\') or a lifetime: skip a closed char literal only.
                let rest: String = chars.clone().take(3).map(|(_, c)| c).collect();
                if rest.starts_with('\\') {
                    chars.nth(2);
                } else if rest.chars().nth(1) == Some('\'') {
                    chars.nth(1);
                }
            }
            '"' => {
                let start = line;
                let mut text = String::new();
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('n') => text.push('\n'),
                            Some('\n') => {
                                line += 1;
                                while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
                                    if chars.next().is_some_and(|(_, c)| c == '\n') {
                                        line += 1;
                                    }
                                }
                            }
                            Some(other) => text.push(other),
                            None => {}
                        },
                        '\n' => {
                            line += 1;
                            text.push(c);
                        }
                        c => text.push(c),
                    }
                }
                found.push((start, text));
            }
            _ => {}
        }
    }
    found
}

#[test]
fn every_chinese_text_of_the_code_is_a_key_with_an_english_translation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for source in KEY_SOURCES {
        rust_files(&root.join(source), &mut files);
    }
    files.retain(|f| !NOT_SHOWN.iter().any(|n| f.starts_with(root.join(n))));
    assert!(files.len() > 30, "found only {} source files", files.len());
    let mut keys = 0;
    let mut missing = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).expect("read source");
        for (line, text) in rust_literals(&source) {
            if !kiosk_domain::i18n::has_cjk(&text) {
                continue;
            }
            keys += 1;
            let english = kiosk_domain::tr(Lang::En, &text);
            if !kiosk_domain::i18n::has_translation(Lang::En, &text)
                || kiosk_domain::i18n::has_cjk(english)
            {
                let shown = file.strip_prefix(root).unwrap_or(file).display();
                missing.push(format!("{shown}:{line}: {text:?}"));
            }
        }
    }
    assert!(keys > 300, "found only {keys} Chinese literals");
    assert!(
        missing.is_empty(),
        "{} Chinese texts without an English entry in kiosk.po:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

/// Colours live in the theme global only: pages and widgets name tokens, never literals.
#[test]
fn no_colour_literal_outside_the_theme() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    slint_files(&root.join("ui"), &mut files);
    let mut offenders = Vec::new();
    for file in files.iter().filter(|f| !f.ends_with("theme.slint")) {
        let source = std::fs::read_to_string(file).expect("read slint");
        for (n, line) in source.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let literal = code.match_indices('#').any(|(i, _)| {
                let hex = code[i + 1..]
                    .chars()
                    .take_while(char::is_ascii_hexdigit)
                    .count();
                matches!(hex, 3 | 4 | 6 | 8)
            });
            if literal || code.contains("rgb(") || code.contains("rgba(") {
                offenders.push(format!("{}:{}", file.display(), n + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "colour literals outside theme.slint: {offenders:?}"
    );
}
