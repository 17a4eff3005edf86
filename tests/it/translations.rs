//! Every `@tr` string of the UI has an English translation in the bundled `.po` file.

use std::collections::HashSet;
use std::path::Path;

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

/// The string literals following `@tr(` in a .slint source, still escaped.
fn tr_strings(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("@tr(\"") {
        rest = &rest[start + 5..];
        let mut literal = String::new();
        let mut escaped = false;
        for c in rest.chars() {
            if escaped {
                literal.push('\\');
                literal.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                break;
            } else {
                literal.push(c);
            }
        }
        found.push(literal);
    }
    found
}

fn po_entries(po: &str) -> Vec<(String, String)> {
    let mut entries = Vec::new();
    let mut msgid = None;
    for line in po.lines() {
        if let Some(id) = line
            .strip_prefix("msgid \"")
            .and_then(|l| l.strip_suffix('"'))
        {
            msgid = Some(id.to_owned());
        } else if let Some(text) = line
            .strip_prefix("msgstr \"")
            .and_then(|l| l.strip_suffix('"'))
            && let Some(id) = msgid.take()
        {
            entries.push((id, text.to_owned()));
        }
    }
    entries
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
    let po = std::fs::read_to_string(root.join("translations/en/LC_MESSAGES/kiosk.po"))
        .expect("read po");
    let entries = po_entries(&po);
    let translated: HashSet<&str> = entries
        .iter()
        .filter(|(id, text)| !id.is_empty() && !text.trim().is_empty())
        .map(|(id, _)| id.as_str())
        .collect();
    let mut missing: Vec<&String> = wanted
        .iter()
        .filter(|s| !translated.contains(s.as_str()))
        .collect();
    missing.sort();
    assert!(missing.is_empty(), "untranslated: {missing:?}");
    // No Chinese left in an English string.
    for (id, text) in &entries {
        assert!(
            !text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{id:?} is translated with Chinese: {text:?}"
        );
    }
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
