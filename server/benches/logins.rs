//! What 200 log-ins at the same instant cost the server: their answers, their latency and the
//! process's peak memory, with the hashing pool sized for the machine (as `central serve` runs)
//! and, for comparison, with a pool that lets all 200 argon2id hashes run at once (as the server
//! did before the bound). Run: `cargo bench -p kiosk-server --bench logins`. Prints a table; the
//! figures go to `docs/benchmarks.md`.
//!
//! The peak is the whole bench process's (server, its database and the 200 client threads), reset
//! before each run through `/proc/self/clear_refs`.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{Applicant, Backend, Server};
use kiosk_server::auth::HashingPool;
use serde_json::json;

const LOGINS: usize = 200;
const DEVICES: usize = 20;

struct Measured {
    pool: String,
    ok: usize,
    busy: usize,
    other: usize,
    wall: Duration,
    /// Of the answered `200`s, sorted.
    latencies: Vec<Duration>,
    rss_before_mib: f64,
    peak_rss_mib: f64,
}

fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn reset_peak_rss() {
    // "5" resets the peak resident set size (Linux 4.0 and later).
    if std::fs::write("/proc/self/clear_refs", "5").is_err() {
        eprintln!("cannot reset the peak RSS: the figures include earlier peaks");
    }
}

fn measure(pool: HashingPool, label: &str) -> Measured {
    let pool = Arc::new(pool);
    let server = Server::start_with(Backend::Sqlite, |mut state| {
        state.hashing = pool.clone();
        state
    });
    let devices: Vec<String> = (0..DEVICES)
        .map(|d| server.device(&format!("hall-{d}")))
        .collect();
    let applicants: Vec<Applicant> = (0..LOGINS as u32).map(Applicant::new).collect();
    for (n, who) in applicants.iter().enumerate() {
        let registered = server.register(&devices[n % DEVICES], who);
        assert_eq!(registered.status, 201, "{registered:?}");
    }

    reset_peak_rss();
    let rss_before_mib = proc_status_kib("VmRSS:") as f64 / 1024.0;
    let start = Barrier::new(LOGINS + 1);
    let (started, answers) = std::thread::scope(|scope| {
        let handles: Vec<_> = applicants
            .iter()
            .enumerate()
            .map(|(n, who)| {
                let (server, device, start) = (&server, &devices[n % DEVICES], &start);
                scope.spawn(move || {
                    let body = json!({ "id_number": who.id_number, "password": who.password });
                    start.wait();
                    let t = Instant::now();
                    let answer = server.post("/v1/accounts/login", device, &body);
                    (answer.status, t.elapsed())
                })
            })
            .collect();
        start.wait();
        let started = Instant::now();
        let answers: Vec<(u16, Duration)> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or((0, Duration::ZERO)))
            .collect();
        (started, answers)
    });
    let wall = started.elapsed();
    let peak_rss_mib = proc_status_kib("VmHWM:") as f64 / 1024.0;
    let mut latencies: Vec<Duration> = answers
        .iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, t)| *t)
        .collect();
    latencies.sort();
    let count = |wanted: u16| answers.iter().filter(|(s, _)| *s == wanted).count();
    Measured {
        pool: label.to_owned(),
        ok: count(200),
        busy: count(503),
        other: answers.len() - count(200) - count(503),
        wall,
        latencies,
        rss_before_mib,
        peak_rss_mib,
    }
}

fn millis(sorted: &[Duration], p: f64) -> String {
    if sorted.is_empty() {
        return "–".to_owned();
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    format!(
        "{:.0} ms",
        sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
    )
}

fn main() {
    // As `central` does at start.
    kiosk_server::memory::return_large_buffers_to_the_os();
    let machine = HashingPool::for_this_machine();
    let machine_label = format!(
        "bounded: {} at once, {} waiting",
        machine.permits(),
        machine.permits() * 32
    );
    let runs = [
        measure(machine, &machine_label),
        measure(
            HashingPool::new(LOGINS, 0),
            &format!("unbounded: {LOGINS} at once"),
        ),
    ];
    let row = |label: &str, cell: &dyn Fn(&Measured) -> String| {
        let cells: Vec<String> = runs.iter().map(cell).collect();
        println!("| {label} | {} |", cells.join(" | "));
    };
    row(&format!("{LOGINS} log-ins at once"), &|m| m.pool.clone());
    println!("|---|---|---|");
    row("answered 200", &|m| m.ok.to_string());
    row("answered 503 (retry)", &|m| m.busy.to_string());
    row("other answers", &|m| m.other.to_string());
    row("all answered in", &|m| {
        format!("{:.2} s", m.wall.as_secs_f64())
    });
    row("p50 of the 200s", &|m| millis(&m.latencies, 0.5));
    row("max of the 200s", &|m| millis(&m.latencies, 1.0));
    row("RSS before the log-ins", &|m| {
        format!("{:.0} MiB", m.rss_before_mib)
    });
    row("peak RSS of the process", &|m| {
        format!("{:.0} MiB", m.peak_rss_mib)
    });
}
