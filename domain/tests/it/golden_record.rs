//! The record's JSON as the kiosk writes it, pinned in `wire/golden/record-v{RECORD_FORMAT}/`.
//!
//! The server's side of the same files is `server/tests/it/submissions.rs`
//! (`the_golden_records_are_read_as_written`).

use std::fs;
use std::path::PathBuf;

use kiosk_domain::record::RECORD_FORMAT;
use kiosk_domain::samples::golden_records;
use kiosk_domain::{Application, ReviewState};
use serde_json::Value;
use time::macros::date;

fn golden_dir(version: u32) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../wire/golden/record-v{version}"))
}

#[test]
fn the_kiosk_writes_each_record_exactly_as_pinned() {
    let dir = golden_dir(RECORD_FORMAT);
    if std::env::var_os("KIOSK_BLESS_GOLDEN").is_some() {
        bless(&dir);
    }
    let records = golden_records(date!(2026 - 12 - 01));
    assert!(
        records.len() >= 4,
        "one record per document type and branch"
    );
    for (name, app) in records {
        assert_eq!(*app.review(), ReviewState::Submitted, "{name} is submitted");
        let path = dir.join(format!("{name}.json"));
        let text = fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{} cannot be read ({e}): write it with KIOSK_BLESS_GOLDEN=1",
                path.display()
            )
        });
        let pinned: Value = serde_json::from_str(&text).expect("golden file is JSON");
        let written = serde_json::to_value(&app).expect("a record serialises");
        assert!(
            written == pinned,
            "the record's JSON shape changed ({name}): raise RECORD_FORMAT in \
             domain/src/record.rs to {next} and write wire/golden/record-v{next}/ with \
             KIOSK_BLESS_GOLDEN=1; the server must be taught the new shape in the same change.\n\
             written: {written:#}",
            next = RECORD_FORMAT + 1
        );
        let read: Application = serde_json::from_value(pinned).expect("the pinned JSON reads");
        assert_eq!(read, app, "{name} reads back as the same record");
    }
}

#[test]
fn every_pinned_version_is_kept_beside_the_current_one() {
    for version in 1..=RECORD_FORMAT {
        let dir = golden_dir(version);
        let files = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{} is missing: {e}", dir.display()))
            .count();
        assert!(files >= 4, "{} holds {files} records", dir.display());
    }
    assert!(
        !golden_dir(RECORD_FORMAT + 1).exists(),
        "golden files of a version this build does not write"
    );
}

/// Writes the current version's files once; an existing version is never rewritten, so a
/// change of shape cannot hide under the old number.
fn bless(dir: &PathBuf) {
    if dir.exists() {
        panic!(
            "{} exists: a pinned version is not rewritten; raise RECORD_FORMAT to write the new shape",
            dir.display()
        );
    }
    fs::create_dir_all(dir).expect("golden dir");
    for (name, app) in golden_records(date!(2026 - 12 - 01)) {
        let text = serde_json::to_string_pretty(&app).expect("a record serialises");
        fs::write(dir.join(format!("{name}.json")), text + "\n").expect("write golden file");
    }
}
