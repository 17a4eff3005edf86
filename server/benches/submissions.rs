//! Throughput and latency of a submission as the kiosk delivers it (each file `PUT /v1/blobs/…`,
//! then `PUT /v1/submissions/{key}` with the record) with realistic submissions (a 20,000 B
//! photo and six 200,000 B material files at the kiosk's limits: an employed applicant's five
//! materials, the work certificate on two pages) from many kiosks at once,
//! on the SQLite store and then on the PostgreSQL store, one after the other on the same machine.
//! Run: `source scripts/postgres.sh && ensure_test_postgres && cargo bench -p kiosk-server
//! --bench submissions` (PostgreSQL from `KIOSK_TEST_POSTGRES_URL`). Prints a table with a
//! column per store; the figures go to `docs/benchmarks.md`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Applicant, Backend, Server, key};
use kiosk_domain::MaterialKind;
use serde_json::Value;

const KIOSKS: usize = 16;
const PER_KIOSK: usize = 12;

/// An employed applicant's submission with every file at its byte limit, the work certificate
/// on two pages. Every applicant's files are their own, as real photos and scans are: a file
/// shared by two submissions in flight would be collected with the first one filed.
fn realistic(who: &Applicant, applicant: usize) -> Value {
    who.submission_with(
        |kind, seed| {
            let file = if kind == MaterialKind::Photo {
                common::jpeg::jpeg_of_length(true, 20_000, seed)
            } else {
                common::jpeg::scan_of_length(200_000, seed)
            };
            stamped(file, applicant)
        },
        |_| 0,
        1,
    )
}

/// `file` with `applicant` written, as four letters, over the start of its first comment
/// segment (the test JPEGs open with one of at least four bytes, right after SOI).
fn stamped(mut file: Vec<u8>, applicant: usize) -> Vec<u8> {
    assert_eq!(file[2..4], [0xff, 0xfe], "a test JPEG opens with a comment");
    let mut n = applicant;
    for byte in &mut file[6..10] {
        *byte = b'a' + (n % 26) as u8;
        n /= 26;
    }
    file
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One store's run.
struct Measured {
    backend: Backend,
    submissions: usize,
    body_bytes: usize,
    wall: Duration,
    /// Sorted, shortest first.
    latencies: Vec<Duration>,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.submissions as f64 / self.wall.as_secs_f64()
    }

    fn megabytes_per_second(&self) -> f64 {
        self.per_second() * self.body_bytes as f64 / 1e6
    }

    fn millis(&self, p: f64) -> f64 {
        percentile(&self.latencies, p).as_secs_f64() * 1e3
    }
}

fn measure(backend: Backend) -> Measured {
    let server = Server::start_on(backend);
    let devices: Vec<String> = (0..KIOSKS)
        .map(|k| server.device(&format!("hall-{k}")))
        .collect();
    // Accounts first (not timed): a submission needs a registered applicant with a bound phone.
    let mut work: Vec<Vec<Value>> = vec![Vec::new(); KIOSKS];
    for n in 0..KIOSKS * PER_KIOSK {
        let who = Applicant::new(n as u32);
        let registered = server.register(&devices[n % KIOSKS], &who);
        assert_eq!(registered.status, 201, "{registered:?}");
        work[n % KIOSKS].push(realistic(&who, n));
    }
    // What travels: the files' own bytes and the record without them.
    let body_bytes = {
        let body = &work[0][0];
        let files: usize = body["materials"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["bytes_base64"].as_str())
            .map(|b| b.len() / 4 * 3)
            .sum();
        files
            + serde_json::to_vec(&common::without_inline_files(body))
                .map(|b| b.len())
                .unwrap_or(0)
    };

    let started = Instant::now();
    let mut latencies: Vec<Duration> = std::thread::scope(|scope| {
        let handles: Vec<_> = work
            .iter()
            .zip(&devices)
            .map(|(bodies, device)| {
                let server = &server;
                scope.spawn(move || {
                    bodies
                        .iter()
                        .map(|body| {
                            let t = Instant::now();
                            let path = format!("/v1/submissions/{}", key());
                            let answer = server.put(&path, device, body);
                            assert_eq!(answer.status, 200, "{answer:?}");
                            t.elapsed()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| panic!("a kiosk's submission was not accepted"))
            })
            .collect()
    });
    let wall = started.elapsed();
    latencies.sort();
    Measured {
        backend,
        submissions: latencies.len(),
        body_bytes,
        wall,
        latencies,
    }
}

fn main() {
    // Fail before the SQLite run rather than after it when PostgreSQL is not set up.
    common::postgres_admin_url();
    let runs: Vec<Measured> = [Backend::Sqlite, Backend::Postgres]
        .into_iter()
        .map(measure)
        .collect();
    let row = |label: &str, cell: &dyn Fn(&Measured) -> String| {
        let cells: Vec<String> = runs.iter().map(cell).collect();
        println!("| {label} | {} |", cells.join(" | "));
    };
    let names: Vec<&str> = runs.iter().map(|m| m.backend.name()).collect();
    println!("| {KIOSKS} kiosks at once | {} |", names.join(" | "));
    println!("|---|{}", "---|".repeat(runs.len()));
    row("submissions", &|m| m.submissions.to_string());
    row("payload", &|m| {
        format!("{:.2} MB", m.body_bytes as f64 / 1e6)
    });
    row("throughput", &|m| {
        format!(
            "{:.1} /s ({:.1} MB/s)",
            m.per_second(),
            m.megabytes_per_second()
        )
    });
    row("p50", &|m| format!("{:.0} ms", m.millis(0.5)));
    row("p99", &|m| format!("{:.0} ms", m.millis(0.99)));
    row("max", &|m| format!("{:.0} ms", m.millis(1.0)));
}
