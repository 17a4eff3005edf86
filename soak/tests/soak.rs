//! The short soak of the test command (the full one is `scripts/soak`), and its negative
//! control: the same harness against a server that forgets idempotency keys must fail.
//!
//! Both run the real `central` from the same target directory: `cargo test --workspace` builds
//! it (with this crate's `fault-injection` feature) before any test runs. A build of the server
//! alone (`cargo test -p kiosk-server`) leaves a `central` without the feature there, which
//! refuses to start when the negative control asks it for faults: build both together again.

use std::process::Command;

/// One store's row of the soak's first table, as numbers where they are numbers.
struct Row {
    kills: u64,
    restarts: u64,
    cut: u64,
    answers_lost: u64,
    submissions: u64,
    lost: u64,
    duplicated: u64,
    pending: u64,
    orphaned: u64,
    personal_data_left: u64,
    sent_per_payload: f64,
}

fn row_of(output: &str, store: &str) -> Row {
    let line = output
        .lines()
        .find(|l| l.starts_with(&format!("| {store} | ")))
        .unwrap_or_else(|| panic!("no {store} row in:\n{output}"));
    let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
    let n = |i: usize| -> u64 {
        cells[i]
            .parse()
            .unwrap_or_else(|_| panic!("cell {i} of {line}"))
    };
    Row {
        kills: n(1),
        restarts: n(2),
        cut: n(4),
        answers_lost: n(5),
        submissions: n(6),
        lost: n(7),
        duplicated: n(8),
        pending: n(9),
        orphaned: n(10),
        personal_data_left: n(11),
        sent_per_payload: cells[12].parse().expect("ratio"),
    }
}

fn soak(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kiosk-soak"))
        .arg("run")
        .args(args)
        .output()
        .expect("running kiosk-soak");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{text}");
    (output.status.success(), text)
}

#[test]
fn a_short_soak_keeps_exactly_once_on_both_stores() {
    assert!(
        std::env::var("KIOSK_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()),
        "KIOSK_TEST_POSTGRES_URL is not set: run ./scripts/test, which starts the test PostgreSQL"
    );
    let (ok, output) = soak(&[
        "--kills",
        "40",
        "--restarts",
        "5",
        "--applicants",
        "10",
        "--scan-bytes",
        "60000",
        "--store",
        "both",
    ]);
    assert!(ok, "the soak found a broken promise");
    for store in ["SQLite", "PostgreSQL"] {
        let row = row_of(&output, store);
        assert_eq!(
            (row.kills, row.restarts),
            (40, 5),
            "{store}: faults as asked"
        );
        assert!(
            row.cut > 0 && row.answers_lost > 0,
            "{store}: cuts happened"
        );
        assert_eq!(
            row.submissions, 20,
            "{store}: every applicant on the server"
        );
        assert_eq!(
            (
                row.lost,
                row.duplicated,
                row.pending,
                row.orphaned,
                row.personal_data_left
            ),
            (0, 0, 0, 0, 0),
            "{store}"
        );
        assert!(
            row.sent_per_payload < 1.5,
            "{store}: cut uploads resume ({})",
            row.sent_per_payload
        );
    }
}

#[test]
fn the_soak_reports_duplicates_when_the_server_forgets_keys() {
    let (ok, output) = soak(&[
        "--kills",
        "10",
        "--restarts",
        "1",
        "--applicants",
        "8",
        "--scan-bytes",
        "30000",
        "--cut-percent",
        "40",
        "--store",
        "sqlite",
        // A bound, not a wait: the run ends as soon as every kiosk is idle.
        "--drain-secs",
        "60",
        "--forget-idempotency",
    ]);
    assert!(!ok, "a server without idempotency must fail the soak");
    let row = row_of(&output, "SQLite");
    assert!(
        row.answers_lost > 0,
        "answers were lost, so retries happened"
    );
    assert!(row.duplicated > 0, "the duplicates are reported");
}
