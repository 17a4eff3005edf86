//! The verdict of a run, read from both sides: each kiosk's outbox and files, and the server's
//! database and blob directory.

use std::path::Path;

use kiosk::store::{OutboxRow, OutboxState};
use kiosk_server::blobs::{BlobStore, DiskBlobs};
use kiosk_server::store::{Store, SubmissionRow};

use crate::kiosk::Applicants;
use crate::sync_support::open_store;

/// What went wrong, counted; all zero when the promise held.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Submissions the server holds.
    pub submissions: usize,
    /// Committed at a kiosk, not on the server.
    pub lost: usize,
    /// Delivered more than once: stored twice, stored under a key the kiosk never kept, or
    /// refused as a second submission of a collection the server already holds.
    pub duplicated: usize,
    /// Outbox rows not acknowledged, or applicants without exactly one outbox row.
    pub pending: usize,
    /// Staged files left on the server once everything is delivered.
    pub orphaned: usize,
    /// Applicants of finished sessions of whom a kiosk still holds something.
    pub personal_data_left: usize,
    /// One line per problem, for the log of a failed run.
    pub findings: Vec<String>,
}

impl Verdict {
    pub fn holds(&self) -> bool {
        self.lost + self.duplicated + self.pending + self.orphaned + self.personal_data_left == 0
    }
}

/// One kiosk: its directory, its device id on the server, its applicants.
pub struct KioskSide<'a> {
    pub dir: &'a Path,
    pub device_id: &'a str,
    pub applicants: Applicants,
}

pub fn judge(kiosks: &[KioskSide], server: &dyn Store, blob_dir: &Path) -> anyhow::Result<Verdict> {
    let stored = server.submissions(None, None)?;
    let mut verdict = Verdict {
        submissions: stored.len(),
        ..Verdict::default()
    };
    let mut committed = 0;
    for kiosk in kiosks {
        let store = open_store(kiosk.dir);
        let rows = store.outbox_rows()?;
        committed += rows.len();
        let expected = kiosk.applicants.count as usize;
        if rows.len() != expected {
            // Too few: someone's submission never reached the outbox. Too many: an applicant
            // was committed twice at the kiosk.
            verdict.pending += expected.saturating_sub(rows.len());
            verdict.duplicated += rows.len().saturating_sub(expected);
            verdict.findings.push(format!(
                "{}: {} outbox rows for {} applicants",
                kiosk.dir.display(),
                rows.len(),
                kiosk.applicants.count
            ));
        }
        let ours: Vec<&SubmissionRow> = stored
            .iter()
            .filter(|s| s.device_id == kiosk.device_id)
            .collect();
        for row in &rows {
            judge_row(row, &ours, &mut verdict);
        }
        for who in kiosk.applicants.all() {
            let mut left = Vec::new();
            for needle in [&who.id_number, &who.name, &who.mobile] {
                left.extend(store.columns_containing(needle)?);
            }
            if !left.is_empty() {
                verdict.personal_data_left += 1;
                verdict.findings.push(format!(
                    "applicant {}: still on the kiosk in {left:?}",
                    who.n
                ));
            }
        }
        drop(store);
        verdict.personal_data_left += files_in_the_clear(kiosk, &mut verdict.findings);
    }
    if stored.len() > committed {
        verdict.findings.push(format!(
            "{} on the server for {committed} committed",
            stored.len()
        ));
    }
    let blobs = DiskBlobs::open(blob_dir)?;
    verdict.orphaned = blobs.count()?;
    if verdict.orphaned > 0 {
        verdict.findings.push(format!(
            "{} staged files left on the server",
            verdict.orphaned
        ));
    }
    Ok(verdict)
}

fn judge_row(row: &OutboxRow, ours: &[&SubmissionRow], verdict: &mut Verdict) {
    if !matches!(row.state, OutboxState::Acked | OutboxState::Done) {
        verdict.pending += 1;
        verdict.findings.push(format!(
            "row {}: {:?} ({:?})",
            row.id, row.state, row.last_error
        ));
    }
    let by_key: Vec<_> = ours
        .iter()
        .filter(|s| s.idempotency_key == row.idempotency_key)
        .collect();
    let by_content = ours
        .iter()
        .filter(|s| s.content_sha256 == row.content_sha256)
        .count();
    let refused_as_second = by_content > 0
        && row
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("collection_under_review"));
    if by_content > 1 || refused_as_second || (by_key.is_empty() && by_content > 0) {
        verdict.duplicated += 1;
        verdict.findings.push(format!(
            "row {}: delivered more than once ({by_content} stored, {} under its key{})",
            row.id,
            by_key.len(),
            if refused_as_second {
                ", a retry refused as a second submission"
            } else {
                ""
            }
        ));
        return;
    }
    match by_key.as_slice() {
        [one] if one.content_sha256 == row.content_sha256 => {
            if row.submission_id.as_deref().is_some_and(|id| id != one.id) {
                verdict.lost += 1;
                verdict.findings.push(format!(
                    "row {}: acknowledged as another submission",
                    row.id
                ));
            }
        }
        [] => {
            verdict.lost += 1;
            verdict
                .findings
                .push(format!("row {}: not on the server", row.id));
        }
        _ => {
            verdict.lost += 1;
            verdict
                .findings
                .push(format!("row {}: other content under its key", row.id));
        }
    }
}

/// Files of the kiosk's data directory that hold an applicant's ID number or phone number in
/// the clear (the store is encrypted, so none should).
fn files_in_the_clear(kiosk: &KioskSide, findings: &mut Vec<String>) -> usize {
    let Ok(entries) = std::fs::read_dir(kiosk.dir) else {
        return 0;
    };
    let mut found = 0;
    for entry in entries.flatten() {
        let Ok(bytes) = std::fs::read(entry.path()) else {
            continue;
        };
        for who in kiosk.applicants.all() {
            for needle in [&who.id_number, &who.mobile] {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    found += 1;
                    findings.push(format!(
                        "{} holds applicant {} in the clear",
                        entry.path().display(),
                        who.n
                    ));
                }
            }
        }
    }
    found
}
