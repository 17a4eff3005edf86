//! One kiosk, headless: the kiosk's own store and sync worker (the code the kiosk binary runs
//! behind its screens), with applicants who each save a complete draft with its files, submit
//! it, and are synced, one after another, until the process is SIGKILLed. A restarted kiosk
//! carries on where the last one stopped, as a kiosk does after a power cut.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use kiosk::store::Store;
use kiosk::sync::Worker;
use kiosk_domain::ReviewState;

use crate::sync_support::{
    Applicant, complete_draft_with_scans_of, config, mark_submitted, open_store,
};

/// What a kiosk process is doing, as it writes it to its phase file for the harness to read at
/// the moment it kills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    Starting = 0,
    DraftSave = 1,
    OutboxCommit = 2,
    Syncing = 3,
}

impl Phase {
    pub fn read(dir: &Path) -> Phase {
        match std::fs::read(dir.join("phase"))
            .ok()
            .and_then(|b| b.first().copied())
        {
            Some(1) => Phase::DraftSave,
            Some(2) => Phase::OutboxCommit,
            Some(3) => Phase::Syncing,
            _ => Phase::Starting,
        }
    }
}

struct PhaseFile(File);

impl PhaseFile {
    fn open(dir: &Path) -> anyhow::Result<PhaseFile> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(dir.join("phase"))?;
        let phase = PhaseFile(file);
        phase.set(Phase::Starting);
        Ok(phase)
    }

    fn set(&self, phase: Phase) {
        // A hint for the table only: not synced, a lost write costs nothing.
        let _ = self.0.write_at(&[phase as u8], 0);
    }
}

/// Which applicants of this kiosk have started and which have had their submission committed,
/// as lines `S n` and `C n` appended (and synced) to a file beside the store.
pub struct Progress {
    path: PathBuf,
    committed: Vec<u32>,
}

impl Progress {
    pub fn open(dir: &Path) -> anyhow::Result<Progress> {
        let path = dir.join("progress");
        let mut committed = Vec::new();
        if let Ok(file) = File::open(&path) {
            // A torn last line (a kill mid-append) is simply not a line.
            for line in BufReader::new(file).lines().map_while(Result::ok) {
                if let Some(n) = line.strip_prefix("C ").and_then(|n| n.parse().ok()) {
                    committed.push(n);
                }
            }
        }
        Ok(Progress { path, committed })
    }

    fn append(&mut self, line: &str) -> anyhow::Result<()> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(format!("{line}\n").as_bytes())?;
        file.sync_data()?;
        Ok(())
    }

    pub fn is_committed(&self, n: u32) -> bool {
        self.committed.contains(&n)
    }

    fn committed(&mut self, n: u32) -> anyhow::Result<()> {
        self.append(&format!("C {n}"))?;
        self.committed.push(n);
        Ok(())
    }
}

/// The applicants of one kiosk: `count` of them from `first`.
#[derive(Debug, Clone, Copy)]
pub struct Applicants {
    pub first: u32,
    pub count: u32,
}

impl Applicants {
    pub fn all(self) -> impl Iterator<Item = Applicant> {
        (self.first..self.first + self.count).map(Applicant::new)
    }
}

/// Before any sync pass of this process: an applicant whose draft is stored as submitted had
/// the outbox commit (the same transaction) and is marked so, whether or not the last process
/// got to write it down. No pass has run yet, so nothing committed can have been purged.
fn settle(store: &Store, progress: &mut Progress, applicants: Applicants) -> anyhow::Result<()> {
    for who in applicants.all() {
        if progress.is_committed(who.n) {
            continue;
        }
        if let Ok(Some((app, _))) = store.load_draft(&who.id_number)
            && *app.review() != ReviewState::Draft
        {
            progress.committed(who.n)?;
        }
    }
    Ok(())
}

/// Saves the next applicant's complete draft and commits it to the outbox; false when every
/// applicant of this kiosk is committed.
fn submit_next(
    store: &mut Store,
    progress: &mut Progress,
    applicants: Applicants,
    scan_bytes: usize,
    phase: &PhaseFile,
) -> anyhow::Result<bool> {
    let Some(who) = applicants.all().find(|who| !progress.is_committed(who.n)) else {
        return Ok(false);
    };
    // The last applicant watched the review status until now (the worker asks the server for
    // it while the session lasts); the next one steps up and that session ends.
    if who.n > applicants.first {
        store.outbox_end_session(&Applicant::new(who.n - 1).id_number)?;
    }
    phase.set(Phase::DraftSave);
    let mut app = complete_draft_with_scans_of(store, &who, scan_bytes);
    phase.set(Phase::OutboxCommit);
    mark_submitted(&mut app);
    store
        .submit_to_outbox(&app, Some(&who.session()))
        .context("committing to the outbox")?;
    progress.committed(who.n)?;
    Ok(true)
}

pub struct KioskArgs<'a> {
    pub dir: &'a Path,
    pub url: &'a str,
    pub token: &'a str,
    pub applicants: Applicants,
    pub scan_bytes: usize,
}

/// How long an applicant stays at the review screen after submitting.
const DWELL: Duration = Duration::from_millis(250);

fn sync_config(url: &str, token: &str) -> kiosk::sync::SyncConfig {
    let mut config = config(url, token);
    // Statuses are asked for now and then, as on a kiosk, not on every pass.
    config.poll_interval = Duration::from_millis(100);
    config
}

/// The kiosk process: runs until killed.
pub fn run_until_killed(args: &KioskArgs) -> anyhow::Result<()> {
    let phase = PhaseFile::open(args.dir)?;
    let mut progress = Progress::open(args.dir)?;
    let mut store = open_store(args.dir);
    settle(&store, &mut progress, args.applicants)?;
    // As `kiosk::sync::spawn` at the kiosk's start: no applicant session survives a restart.
    store.outbox_end_all_sessions()?;
    let mut worker = Worker::new(open_store(args.dir), sync_config(args.url, args.token))?;
    loop {
        submit_next(
            &mut store,
            &mut progress,
            args.applicants,
            args.scan_bytes,
            &phase,
        )?;
        phase.set(Phase::Syncing);
        // The applicant looks at the review status for a moment before the next one steps up:
        // the worker delivers and asks for the status meanwhile.
        let dwell = std::time::Instant::now() + DWELL;
        while std::time::Instant::now() < dwell {
            let _ = worker.run_once();
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// After the last kill: every applicant still waiting is submitted, and everything is
/// delivered through the same faults. False if something is still pending at `timeout`.
pub fn finish(args: &KioskArgs, timeout: Duration) -> anyhow::Result<bool> {
    let phase = PhaseFile::open(args.dir)?;
    let mut progress = Progress::open(args.dir)?;
    let mut store = open_store(args.dir);
    settle(&store, &mut progress, args.applicants)?;
    while submit_next(
        &mut store,
        &mut progress,
        args.applicants,
        args.scan_bytes,
        &phase,
    )? {}
    store.outbox_end_all_sessions()?;
    let mut worker = Worker::new(open_store(args.dir), sync_config(args.url, args.token))?;
    let idle = worker.run_until_idle(timeout)?;
    // The pass that found nothing pending may have come before the last acknowledgement's
    // purge: one more deletes whatever may now be deleted.
    worker.run_once()?;
    Ok(idle)
}
