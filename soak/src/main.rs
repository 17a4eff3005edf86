//! The soak harness (issue 18; docs/reliability.md): headless kiosk processes and a real
//! `central` process, through proxies that cut a share of the requests at random bytes, with
//! the kiosks SIGKILLed at random moments and `central` SIGKILLed and restarted, on SQLite and
//! on PostgreSQL. At the end both sides are read: every submission a kiosk acknowledged to its
//! applicant must be on the server exactly once with the same hash, nothing pending, no staged
//! file left, nothing personal left on a kiosk. Prints a table; exits 1 if the promise broke.

#[path = "../../tests/it/sync_support/mod.rs"]
mod sync_support;

mod central;
mod check;
mod kiosk;
mod proxy;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use kiosk_server::store::Role;

use central::{CentralProcess, Database};
use check::{KioskSide, Verdict};
use kiosk::{Applicants, KioskArgs, Phase};
use proxy::{Proxy, RequestKind, Stats};
use sync_support::Rng;

#[derive(Parser)]
#[command(
    name = "kiosk-soak",
    about = "Kills kiosks and the server at random, then checks exactly-once delivery"
)]
struct Cli {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Runs a soak and prints its table.
    Run(RunArgs),
    /// One kiosk process (started by `run`, killed by it).
    #[command(hide = true)]
    Kiosk {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        url: String,
        /// The device token, from the environment: a command line is readable by every user.
        #[arg(long, env = "KIOSK_SOAK_DEVICE_TOKEN", hide_env_values = true)]
        token: String,
        #[arg(long)]
        first: u32,
        #[arg(long)]
        count: u32,
        #[arg(long)]
        scan_bytes: usize,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Stores {
    Sqlite,
    Postgres,
    Both,
}

#[derive(clap::Args)]
struct RunArgs {
    /// SIGKILLs of a kiosk process, per store.
    #[arg(long, default_value_t = 40)]
    kills: u32,
    /// SIGKILLs and restarts of `central`, per store, spread over the kiosk kills.
    #[arg(long, default_value_t = 5)]
    restarts: u32,
    /// Percent of requests the proxies cut (at a random byte of the request, or after the
    /// server has answered).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=90))]
    cut_percent: u64,
    /// Kiosks at once, each with its own device token and applicants.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=8))]
    kiosks: u32,
    /// Applicants per kiosk (at most 500 in all).
    #[arg(long, default_value_t = 12)]
    applicants: u32,
    /// Bytes of each scanned page (the photo is 15,000).
    #[arg(long, default_value_t = 200_000)]
    scan_bytes: usize,
    #[arg(long, value_enum, default_value_t = Stores::Both)]
    store: Stores,
    /// The PostgreSQL cluster to make a database on (`scripts/postgres.sh` starts one).
    #[arg(long, env = "KIOSK_TEST_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// The `central` to run; by default the one beside this program.
    #[arg(long)]
    central: Option<PathBuf>,
    /// Seed of every random choice; by default from the clock (printed, to replay a run).
    #[arg(long)]
    seed: Option<u64>,
    /// Negative control: the server forgets idempotency keys, so the run must report
    /// duplicates (needs a `central` built with the `fault-injection` feature).
    #[arg(long)]
    forget_idempotency: bool,
    /// Seconds the last delivery may take after the last kill.
    #[arg(long, default_value_t = 180)]
    drain_secs: u64,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Mode::Kiosk {
            dir,
            url,
            token,
            first,
            count,
            scan_bytes,
        } => kiosk::run_until_killed(&KioskArgs {
            dir: &dir,
            url: &url,
            token: &token,
            applicants: Applicants { first, count },
            scan_bytes,
        }),
        Mode::Run(args) => run(&args),
    }
}

fn run(args: &RunArgs) -> anyhow::Result<()> {
    if args.kiosks * args.applicants > 500 {
        bail!("at most 500 applicants in all (the invented ID numbers run out)");
    }
    let central = match &args.central {
        Some(path) => path.clone(),
        None => central::default_exe()?,
    };
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    println!("seed {seed} (--seed {seed} replays the random choices)");
    let mut reports = Vec::new();
    if args.store != Stores::Postgres {
        reports.push(soak_one(args, &central, seed, Backend::Sqlite)?);
        say_done(&reports);
    }
    if args.store != Stores::Sqlite {
        let Some(url) = &args.postgres_url else {
            bail!(
                "no PostgreSQL: set KIOSK_TEST_POSTGRES_URL (`source scripts/postgres.sh && \
                 ensure_test_postgres`) or pass --store sqlite"
            );
        };
        reports.push(soak_one(
            args,
            &central,
            seed,
            Backend::Postgres(url.clone()),
        )?);
    }
    print_table(args, &reports);
    for report in &reports {
        for finding in report.verdict.findings.iter().take(20) {
            println!("{}: {finding}", report.store);
        }
    }
    if reports.iter().all(|r| r.verdict.holds() && r.crashed == 0) {
        println!("exactly once held");
        Ok(())
    } else {
        println!("EXACTLY ONCE BROKEN");
        std::process::exit(1);
    }
}

/// A line as each store's run ends (the tables come once all have).
fn say_done(reports: &[Report]) {
    if let Some(r) = reports.last() {
        let v = &r.verdict;
        println!(
            "{}: done in {:.0} s ({} status polls): {} submissions, {} lost, {} duplicated, {} pending, {} orphaned, {} with data left",
            r.store,
            r.wall.as_secs_f64(),
            r.stats.status_polls.load(Ordering::Relaxed),
            v.submissions,
            v.lost,
            v.duplicated,
            v.pending,
            v.orphaned,
            v.personal_data_left
        );
    }
}

enum Backend {
    Sqlite,
    Postgres(String),
}

/// What a kill waits for: a sixth of the kills come at any moment, the others wait for one
/// of the moments the promise is most likely to break at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aim {
    Anywhere,
    DraftSave,
    OutboxCommit,
    FileUpload,
    RecordUpload,
    StatusPoll,
}

impl Aim {
    const ALL: [Aim; 6] = [
        Aim::Anywhere,
        Aim::DraftSave,
        Aim::OutboxCommit,
        Aim::FileUpload,
        Aim::RecordUpload,
        Aim::StatusPoll,
    ];
}

/// Where the kiosk kills landed, counted.
#[derive(Debug, Default)]
struct KillMoments {
    starting: u32,
    draft_save: u32,
    outbox_commit: u32,
    file_upload: u32,
    record_upload: u32,
    status_poll: u32,
    between_requests: u32,
}

impl KillMoments {
    fn count(&mut self, phase: Phase, in_flight: Option<RequestKind>) {
        let slot = match (phase, in_flight) {
            (Phase::Starting, _) => &mut self.starting,
            (Phase::DraftSave, _) => &mut self.draft_save,
            (Phase::OutboxCommit, _) => &mut self.outbox_commit,
            (Phase::Syncing, Some(RequestKind::FileUpload)) => &mut self.file_upload,
            (Phase::Syncing, Some(RequestKind::RecordUpload)) => &mut self.record_upload,
            (Phase::Syncing, Some(RequestKind::StatusPoll)) => &mut self.status_poll,
            (Phase::Syncing, _) => &mut self.between_requests,
        };
        *slot += 1;
    }
}

struct Report {
    store: &'static str,
    kills: u32,
    restarts: u32,
    crashed: u32,
    moments: KillMoments,
    stats: Arc<Stats>,
    payload_bytes: u64,
    verdict: Verdict,
    wall: Duration,
}

struct KioskSlot {
    dir: PathBuf,
    device_id: String,
    token: String,
    applicants: Applicants,
    proxy: Proxy,
    child: Option<Child>,
}

impl KioskSlot {
    fn spawn(&mut self, args: &RunArgs) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("kiosk.log"))?;
        let child = Command::new(std::env::current_exe()?)
            .arg("kiosk")
            .arg("--dir")
            .arg(&self.dir)
            .args(["--url", &self.proxy.url()])
            .env("KIOSK_SOAK_DEVICE_TOKEN", &self.token)
            .args(["--first", &self.applicants.first.to_string()])
            .args(["--count", &self.applicants.count.to_string()])
            .args(["--scan-bytes", &args.scan_bytes.to_string()])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting a kiosk process")?;
        self.child = Some(child);
        Ok(())
    }

    /// Waits for the moment `aim` names (at most 1 s, then any moment will do), and a little
    /// more, so that kills land anywhere within it.
    fn wait_for(&self, aim: Aim, rng: &mut Rng) {
        let deadline = Instant::now() + Duration::from_secs(1);
        let at = |kiosk: &KioskSlot| {
            let phase = Phase::read(&kiosk.dir);
            let in_flight = kiosk.proxy.in_flight();
            match aim {
                Aim::Anywhere => unreachable!("not waited for"),
                Aim::DraftSave => phase == Phase::DraftSave,
                Aim::OutboxCommit => phase == Phase::OutboxCommit,
                Aim::FileUpload => in_flight == Some(RequestKind::FileUpload),
                Aim::RecordUpload => in_flight == Some(RequestKind::RecordUpload),
                Aim::StatusPoll => in_flight == Some(RequestKind::StatusPoll),
            }
        };
        if aim == Aim::Anywhere {
            std::thread::sleep(Duration::from_millis(100 + rng.below(500)));
            return;
        }
        while Instant::now() < deadline && !at(self) {
            std::thread::sleep(Duration::from_micros(500));
        }
        std::thread::sleep(Duration::from_micros(rng.below(2000)));
    }

    /// SIGKILLs the kiosk, counting where it was; false if it had already ended by itself
    /// (a crash).
    fn kill(&mut self, moments: &mut KillMoments) -> bool {
        if self
            .child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
        {
            moments.count(Phase::read(&self.dir), self.proxy.in_flight());
        }
        self.stop()
    }

    /// SIGKILLs the kiosk; false if it had already ended by itself.
    fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return false;
        }
        let _ = child.kill();
        let _ = child.wait();
        true
    }
}

fn soak_one(
    args: &RunArgs,
    central_exe: &Path,
    seed: u64,
    backend: Backend,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let work = tempfile::Builder::new().prefix("kiosk-soak-").tempdir()?;
    let database = match &backend {
        Backend::Sqlite => Database::Sqlite(work.path().join("central.db")),
        Backend::Postgres(url) => Database::create_postgres(url)?,
    };
    let result = soak_on(args, central_exe, seed, &database, work.path(), started);
    database.drop_it();
    result
}

fn soak_on(
    args: &RunArgs,
    central_exe: &Path,
    seed: u64,
    database: &Database,
    work: &Path,
    started: Instant,
) -> anyhow::Result<Report> {
    println!(
        "{}: preparing {} kiosks × {} applicants",
        database.label(),
        args.kiosks,
        args.applicants
    );
    let stats = Arc::new(Stats::default());
    let mut rng = Rng::new(seed);
    let mut central = CentralProcess::start(central_exe, database, work, args.forget_idempotency)?;
    let mut kiosks = Vec::new();
    {
        let server = database.open()?;
        for k in 0..args.kiosks {
            let enrolled = kiosk_server::auth::enrol(
                &*server,
                &format!("soak-kiosk-{k}"),
                Role::Device,
                None,
                "cli:soak",
                kiosk_server::util::now(),
            )?;
            let applicants = Applicants {
                first: k * args.applicants,
                count: args.applicants,
            };
            for who in applicants.all() {
                sync_support::insert_account_of(&*server, &who);
                sync_support::insert_session_of(&*server, &enrolled.id, &who, 12 * 3600);
            }
            let dir = work.join(format!("kiosk-{k}"));
            std::fs::create_dir_all(&dir)?;
            kiosks.push(KioskSlot {
                dir,
                device_id: enrolled.id,
                token: enrolled.token,
                applicants,
                proxy: Proxy::start(central.addr, args.cut_percent, rng.next(), stats.clone())?,
                child: None,
            });
        }
    }
    for kiosk in &mut kiosks {
        kiosk.spawn(args)?;
    }
    let restart_every = args
        .kills
        .checked_div(args.restarts)
        .map_or(u32::MAX, |every| every.max(1));
    let (mut moments, mut restarts, mut crashed) = (KillMoments::default(), 0, 0);
    for kill in 1..=args.kills {
        let slot = &mut kiosks[rng.below(args.kiosks as u64) as usize];
        let aim = Aim::ALL[rng.below(Aim::ALL.len() as u64) as usize];
        slot.wait_for(aim, &mut rng);
        if !slot.kill(&mut moments) {
            crashed += 1;
            println!(
                "a kiosk process ended by itself: see {}",
                slot.dir.join("kiosk.log").display()
            );
        }
        slot.spawn(args)?;
        if kill % restart_every == 0 && restarts < args.restarts {
            central.restart()?;
            restarts += 1;
            for kiosk in &kiosks {
                kiosk.proxy.retarget(central.addr);
            }
        }
        if kill % 100 == 0 {
            println!(
                "{}: {kill} kills, {restarts} restarts, {:?}",
                database.label(),
                started.elapsed()
            );
        }
    }
    let mut pending_at_end = false;
    for kiosk in &mut kiosks {
        if !kiosk.stop() {
            crashed += 1;
        }
    }
    for kiosk in &kiosks {
        let idle = kiosk::finish(
            &KioskArgs {
                dir: &kiosk.dir,
                url: &kiosk.proxy.url(),
                token: &kiosk.token,
                applicants: kiosk.applicants,
                scan_bytes: args.scan_bytes,
            },
            Duration::from_secs(args.drain_secs),
        )?;
        pending_at_end |= !idle;
    }
    let server = database.open()?;
    let sides: Vec<KioskSide> = kiosks
        .iter()
        .map(|k| KioskSide {
            dir: &k.dir,
            device_id: &k.device_id,
            applicants: k.applicants,
        })
        .collect();
    let mut verdict = check::judge(&sides, &*server, central.blob_dir())?;
    if pending_at_end && verdict.pending == 0 {
        verdict.findings.push("the last delivery timed out".into());
        verdict.pending += 1;
    }
    let payload_bytes = payload_bytes(&*server)?;
    Ok(Report {
        store: database.label(),
        kills: args.kills,
        restarts,
        crashed,
        moments,
        stats,
        payload_bytes,
        verdict,
        wall: started.elapsed(),
    })
}

/// What had to cross the network once: every stored submission's files and record.
fn payload_bytes(server: &dyn kiosk_server::store::Store) -> anyhow::Result<u64> {
    let mut total = 0;
    for submission in server.submissions(None, None)? {
        total += submission.application_json.len() as u64;
        total += server
            .materials(&submission.id)?
            .iter()
            .map(|m| m.bytes)
            .sum::<u64>();
    }
    Ok(total)
}

fn print_table(args: &RunArgs, reports: &[Report]) {
    println!();
    println!(
        "{} kiosks × {} applicants, scans of {} B, {} % of requests cut{}",
        args.kiosks,
        args.applicants,
        args.scan_bytes,
        args.cut_percent,
        if args.forget_idempotency {
            ", SERVER FORGETS IDEMPOTENCY KEYS (negative control)"
        } else {
            ""
        }
    );
    println!();
    println!(
        "| store | kiosk kills | server restarts | requests | cut before the answer | answers lost | submissions | lost | duplicated | pending | orphaned | personal data left | sent / payload | wall time |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in reports {
        let s = &r.stats;
        let ratio = s.bytes_up.load(Ordering::Relaxed) as f64 / r.payload_bytes.max(1) as f64;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {ratio:.3} | {:.0} s |",
            r.store,
            r.kills,
            r.restarts,
            s.requests.load(Ordering::Relaxed),
            s.cut_requests.load(Ordering::Relaxed),
            s.cut_answers.load(Ordering::Relaxed),
            r.verdict.submissions,
            r.verdict.lost,
            r.verdict.duplicated,
            r.verdict.pending,
            r.verdict.orphaned,
            r.verdict.personal_data_left,
            r.wall.as_secs_f64()
        );
    }
    println!();
    println!(
        "| store | kiosk killed while starting | saving a draft | committing to the outbox | uploading a file | sending the record | asking a status | between requests | kiosk crashes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in reports {
        let m = &r.moments;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.store,
            m.starting,
            m.draft_save,
            m.outbox_commit,
            m.file_upload,
            m.record_upload,
            m.status_poll,
            m.between_requests,
            r.crashed
        );
    }
    println!();
}
