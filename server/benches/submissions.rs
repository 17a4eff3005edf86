//! Throughput with durability on (issue 18, part 3): submissions as the kiosk delivers them
//! (each file `PUT /v1/blobs/…`, fsynced before it is acknowledged, then `PUT
//! /v1/submissions/{key}` with the record) with realistic submissions (a 20,000 B photo and six
//! 200,000 B material files at the kiosk's limits: an employed applicant's five materials, the
//! work certificate on two pages), from 16 and from 64 kiosks at once, to the real `central`
//! binary as a process of its own, on SQLite (`synchronous=FULL`) and on PostgreSQL with
//! `fsync=on` and `synchronous_commit=on`. In the same run it measures the machine's limits: the
//! SHA-256 throughput of one core, the fsynced sequential write bandwidth of the disk the
//! databases are on, and how fast one core decodes a submission's files (the server decodes
//! every material in full).
//!
//! Run: `scripts/bench-server`, which starts a PostgreSQL cluster of its own with those
//! settings and sets `KIOSK_BENCH_POSTGRES_URL`; the bench refuses a cluster without them.
//! Prints tables for `docs/benchmarks.md`.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Applicant, Backend, Server, key};
use kiosk_domain::MaterialKind;
use serde_json::Value;

/// (kiosks at once, submissions per kiosk): about 200 submissions a run.
const LOADS: [(usize, usize); 2] = [(16, 12), (64, 3)];

/// The durable PostgreSQL cluster `scripts/bench-server` starts.
const BENCH_POSTGRES_URL_VAR: &str = "KIOSK_BENCH_POSTGRES_URL";

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

/// One store's run at one load.
struct Measured {
    backend: Backend,
    kiosks: usize,
    submissions: usize,
    body_bytes: usize,
    wall: Duration,
    /// Sorted, shortest first.
    latencies: Vec<Duration>,
    /// The `central` process's peak resident memory during the load (VmHWM), in bytes.
    server_peak_rss: u64,
    /// CPU time (user and system) the `central` process spent on the load.
    server_cpu: Duration,
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

/// A PostgreSQL database on the durable bench cluster, after checking that it is durable.
fn durable_postgres() -> common::TestDb {
    let url = std::env::var(BENCH_POSTGRES_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{BENCH_POSTGRES_URL_VAR} is not set: run scripts/bench-server, which starts a \
             PostgreSQL cluster with fsync=on and synchronous_commit=on for this bench"
        )
    });
    let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls)
        .unwrap_or_else(|e| panic!("connecting to {BENCH_POSTGRES_URL_VAR}: {e}"));
    for setting in ["fsync", "synchronous_commit", "full_page_writes"] {
        let value: String = client
            .query_one(&format!("SHOW {setting}"), &[])
            .map(|row| row.get(0))
            .unwrap_or_default();
        assert_eq!(value, "on", "the bench cluster must run with {setting}=on");
    }
    common::TestDb::Postgres(common::PgDatabase::create_on(&url))
}

/// VmHWM (peak resident set) of process `pid`, in bytes.
fn peak_rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// User and system CPU time of process `pid` so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces) in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Duration::from_secs_f64((ticks(11) + ticks(12)) as f64 / per_second)
}

/// Starts counting VmHWM afresh (Linux ≥ 4.0), so that account set-up is not counted.
fn reset_peak_rss(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

fn measure(backend: Backend, kiosks: usize, per_kiosk: usize) -> Measured {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let db = match backend {
        Backend::Sqlite => common::TestDb::Sqlite(dir.path().join("central.db")),
        Backend::Postgres => durable_postgres(),
    };
    let server = Server::spawn_central(
        std::path::Path::new(env!("CARGO_BIN_EXE_central")),
        db,
        dir,
        &[],
    );
    let pid = server.pid().expect("a process");
    let devices: Vec<String> = (0..kiosks)
        .map(|k| server.device(&format!("hall-{k}")))
        .collect();
    // Accounts first (not timed): a submission needs a registered applicant with a bound phone.
    let mut work: Vec<Vec<Value>> = vec![Vec::new(); kiosks];
    for n in 0..kiosks * per_kiosk {
        let who = Applicant::new(n as u32);
        let registered = server.register(&devices[n % kiosks], &who);
        assert_eq!(registered.status, 201, "{registered:?}");
        work[n % kiosks].push(realistic(&who, n));
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
    reset_peak_rss(pid);
    let cpu_before = cpu_time(pid);

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
        kiosks,
        submissions: latencies.len(),
        body_bytes,
        wall,
        latencies,
        server_peak_rss: peak_rss(pid),
        server_cpu: cpu_time(pid).saturating_sub(cpu_before),
    }
}

/// What the machine can do at most, measured in the same run.
struct MachineLimits {
    /// SHA-256 over large buffers, one core, MB/s.
    sha256_one_core: f64,
    /// Sequential writes of 1 MiB, each made durable (`O_DSYNC`), on the databases' disk, MB/s.
    fsynced_write: f64,
    /// A submission's files (photo and six scans) decoded in full, one core, submissions/s.
    decode_one_core: f64,
    /// The same on every core at once (two vCPUs may share one physical core).
    decode_all_cores: f64,
}

fn measure_limits(sample: &Value) -> MachineLimits {
    let buffer = vec![0x5au8; 8 << 20];
    let started = Instant::now();
    let mut hashed = 0usize;
    while started.elapsed() < Duration::from_secs(2) {
        // The server's own hash (blobs are checked with it as they arrive).
        std::hint::black_box(kiosk_server::util::sha256_hex(&buffer));
        hashed += buffer.len();
    }
    let sha256_one_core = hashed as f64 / started.elapsed().as_secs_f64() / 1e6;

    let fsynced_write = {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .custom_flags(libc::O_DSYNC)
            .open(dir.path().join("dsync"))
            .expect("open");
        let block = vec![0xa5u8; 1 << 20];
        let started = Instant::now();
        let mut written = 0usize;
        while started.elapsed() < Duration::from_secs(3) && written < 1 << 30 {
            file.write_all(&block).expect("write");
            written += block.len();
        }
        written as f64 / started.elapsed().as_secs_f64() / 1e6
    };

    let files: Vec<(MaterialKind, Vec<u8>)> = sample["materials"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let kind: MaterialKind = serde_json::from_value(m["kind"].clone()).ok()?;
            let bytes = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                m["bytes_base64"].as_str()?,
            )
            .ok()?;
            Some((kind, bytes))
        })
        .collect();
    assert!(files.len() >= 7, "the sample carries its files");
    let decode_for_two_seconds = || {
        let started = Instant::now();
        let mut decoded = 0;
        while started.elapsed() < Duration::from_secs(2) {
            for (kind, bytes) in &files {
                kiosk_server::material_check::check_material(*kind, bytes).expect("a valid file");
            }
            decoded += 1;
        }
        decoded as f64 / started.elapsed().as_secs_f64()
    };
    let decode_one_core = decode_for_two_seconds();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let decode_all_cores = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..cores)
            .map(|_| scope.spawn(decode_for_two_seconds))
            .collect();
        threads.into_iter().map(|t| t.join().unwrap_or(0.0)).sum()
    });
    MachineLimits {
        sha256_one_core,
        fsynced_write,
        decode_one_core,
        decode_all_cores,
    }
}

fn main() {
    // Fail before the SQLite runs rather than after them when PostgreSQL is not set up.
    drop(durable_postgres());
    let sample = realistic(&Applicant::new(0), 0);
    let limits = measure_limits(&sample);
    let mut runs = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        for (kiosks, per_kiosk) in LOADS {
            runs.push(measure(backend, kiosks, per_kiosk));
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("Machine limits ({cores} cores):");
    println!();
    println!("| limit | measured |");
    println!("|---|---|");
    println!("| SHA-256, one core | {:.0} MB/s |", limits.sha256_one_core);
    println!(
        "| fsynced sequential write (1 MiB, O_DSYNC) | {:.0} MB/s |",
        limits.fsynced_write
    );
    let submission_mb = runs[0].body_bytes as f64 / 1e6;
    println!(
        "| decoding a submission's 7 files, one core | {:.1} /s ({:.1} MB/s) |",
        limits.decode_one_core,
        limits.decode_one_core * submission_mb,
    );
    println!(
        "| the same on all {cores} cores at once | {:.1} /s ({:.1} MB/s) |",
        limits.decode_all_cores,
        limits.decode_all_cores * submission_mb,
    );
    println!();
    let io_limit = limits.sha256_one_core.min(limits.fsynced_write);
    let row = |label: &str, cell: &dyn Fn(&Measured) -> String| {
        let cells: Vec<String> = runs.iter().map(cell).collect();
        println!("| {label} | {} |", cells.join(" | "));
    };
    let names: Vec<String> = runs
        .iter()
        .map(|m| format!("{}, {} kiosks", m.backend.name(), m.kiosks))
        .collect();
    println!(
        "| {submission_mb:.2} MB submissions, durability on | {} |",
        names.join(" | ")
    );
    println!("|---|{}", "---|".repeat(runs.len()));
    row("submissions", &|m| m.submissions.to_string());
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
    row("server CPU per submission", &|m| {
        let per = m.server_cpu.as_secs_f64() / m.submissions.max(1) as f64;
        format!(
            "{:.0} ms ({:.0} /s on {cores} cores alone)",
            per * 1e3,
            cores as f64 / per.max(1e-9)
        )
    });
    row("server peak RSS", &|m| {
        format!("{:.0} MB", m.server_peak_rss as f64 / 1e6)
    });
    row("MB/s ÷ min(SHA-256, fsynced write)", &|m| {
        format!("{:.0} %", 100.0 * m.megabytes_per_second() / io_limit)
    });
    row("submissions/s ÷ decoding on all cores", &|m| {
        format!("{:.0} %", 100.0 * m.per_second() / limits.decode_all_cores)
    });
}
