//! `docs/rules.md` traces every rule finding to the collection notice or to the product: a new
//! `IssueCode` must get a row there before this passes.

use std::path::Path;

use kiosk_domain::IssueCode;

#[test]
fn every_issue_code_has_a_row_in_the_rules_document() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rules.md");
    let document = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    // Only table rows count: a code named in passing prose is not traced.
    let rows: Vec<&str> = document
        .lines()
        .filter(|line| line.trim_start().starts_with('|'))
        .collect();
    let missing: Vec<String> = IssueCode::ALL
        .iter()
        .map(|code| format!("{code:?}"))
        .filter(|name| {
            let quoted = format!("`{name}`");
            !rows.iter().any(|row| row.contains(&quoted))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/rules.md has no table row naming these IssueCode variants (in backticks): {}",
        missing.join(", ")
    );
}
