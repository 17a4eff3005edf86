//! Exactly once under faults: a seeded TCP proxy between the kiosk and the server delays
//! requests and cuts connections (RST) at random points, before and after the server commits;
//! kiosk sync processes are SIGKILLed many times mid-sync; the server is restarted. At the end
//! every submission committed to the outbox is on the server exactly once, with its hash, and
//! nothing is pending. The negative control (a new idempotency key per attempt) must fail the
//! same check.

use crate::sync_support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiosk::store::{OutboxState, Store};
use kiosk::sync::Worker;
use kiosk_domain::ReviewState;
use sync_support::{Applicant, Central, Rng, complete_draft, config, mark_submitted, open_store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Per-connection fault probabilities, in percent.
#[derive(Clone, Copy)]
struct Faults {
    refuse: u64,
    cut_request: u64,
    cut_after_commit: u64,
    max_delay_ms: u64,
}

impl Faults {
    const NONE: Faults = Faults {
        refuse: 0,
        cut_request: 0,
        cut_after_commit: 0,
        max_delay_ms: 0,
    };
}

/// The fault-injecting proxy on a fixed port; the server behind it may move.
struct Proxy {
    addr: SocketAddr,
    target: Arc<Mutex<SocketAddr>>,
    cuts_after_commit: Arc<AtomicU64>,
    faults_on: Arc<AtomicBool>,
    _runtime: tokio::runtime::Runtime,
}

impl Proxy {
    fn start(target: SocketAddr, seed: u64, faults: Faults) -> Proxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let target = Arc::new(Mutex::new(target));
        let cuts = Arc::new(AtomicU64::new(0));
        let faults_on = Arc::new(AtomicBool::new(true));
        let (t, c, on) = (target.clone(), cuts.clone(), faults_on.clone());
        runtime.spawn(async move {
            let mut rng = Rng(seed | 1);
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = *t.lock().expect("target");
                let conn_seed = rng.next() | 1;
                let faults = if on.load(Ordering::Relaxed) {
                    faults
                } else {
                    Faults::NONE
                };
                tokio::spawn(relay(client, upstream, conn_seed, faults, c.clone()));
            }
        });
        Proxy {
            addr,
            target,
            cuts_after_commit: cuts,
            faults_on,
            _runtime: runtime,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn retarget(&self, to: SocketAddr) {
        *self.target.lock().expect("target") = to;
    }
}

fn reset(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}

async fn relay(
    mut client: TcpStream,
    upstream: SocketAddr,
    seed: u64,
    faults: Faults,
    cuts: Arc<AtomicU64>,
) {
    let mut rng = Rng(seed);
    let roll = rng.below(100);
    tokio::time::sleep(Duration::from_millis(rng.below(faults.max_delay_ms + 1))).await;
    if roll < faults.refuse {
        reset(&client);
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        reset(&client);
        return;
    };
    let cut_request = roll < faults.refuse + faults.cut_request;
    let cut_after =
        !cut_request && roll < faults.refuse + faults.cut_request + faults.cut_after_commit;
    // Forward the request; when cutting it, after a random number of bytes.
    let mut budget = if cut_request {
        1 + rng.below(3000) as usize
    } else {
        usize::MAX
    };
    let mut up = vec![0u8; 16 * 1024];
    let mut down = vec![0u8; 16 * 1024];
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let mut response_started = false;
    let mut is_put = None;
    loop {
        tokio::select! {
            n = cr.read(&mut up) => {
                let Ok(n) = n else { break };
                if n == 0 {
                    let _ = sw.shutdown().await;
                    continue;
                }
                is_put.get_or_insert(up.starts_with(b"PUT "));
                let take = n.min(budget);
                if sw.write_all(&up[..take]).await.is_err() { break; }
                budget -= take;
                if budget == 0 {
                    // Cut mid-request: both sides get a reset.
                    break;
                }
            }
            n = sr.read(&mut down), if !response_started || !cut_after => {
                let Ok(n) = n else { break };
                if n == 0 { break; }
                response_started = true;
                if cut_after {
                    // The server has answered (so it committed): the kiosk never hears it.
                    if is_put == Some(true) {
                        cuts.fetch_add(1, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(rng.below(faults.max_delay_ms + 1))).await;
                    break;
                }
                if cw.write_all(&down[..n]).await.is_err() { break; }
            }
        }
    }
    reset(&client);
    reset(&server);
}

const CHILD_DIR: &str = "KIOSK_SYNC_CHILD_DIR";
const CHILD_URL: &str = "KIOSK_SYNC_CHILD_URL";
const CHILD_TOKEN: &str = "KIOSK_SYNC_CHILD_TOKEN";
const CHILD_COUNT: &str = "KIOSK_SYNC_CHILD_COUNT";
const FIRST: u32 = 100;

/// Submits the first draft still open among `count` applicants; true if one was submitted.
fn submit_next(store: &mut Store, count: u32) -> bool {
    for n in FIRST..FIRST + count {
        let who = Applicant::new(n);
        let Ok(Some((mut app, _))) = store.load_draft(&who.id_number) else {
            continue;
        };
        if *app.review() == ReviewState::Draft {
            mark_submitted(&mut app);
            store
                .submit_to_outbox(&app, Some(&who.session()))
                .expect("committed to the outbox");
            return true;
        }
    }
    false
}

/// Run as a child by `exactly_once_through_kills_cuts_and_restarts`: applicants submit one by
/// one while the worker syncs, until SIGKILL. Does nothing when run normally.
#[test]
fn child_syncs_until_killed() {
    let (Ok(dir), Ok(url), Ok(token), Ok(count)) = (
        std::env::var(CHILD_DIR),
        std::env::var(CHILD_URL),
        std::env::var(CHILD_TOKEN),
        std::env::var(CHILD_COUNT),
    ) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let count: u32 = count.parse().expect("count");
    let mut store = open_store(&dir);
    let mut worker = Worker::new(open_store(&dir), config(&url, &token)).expect("worker");
    loop {
        submit_next(&mut store, count);
        let _ = worker.run_once();
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What is wrong between the kiosk's outbox and the server; empty when exactly once holds.
fn violations(store: &Store, central: &Central) -> Vec<String> {
    let rows = store.outbox_rows().expect("rows");
    let server = central.submissions();
    let mut found = Vec::new();
    for row in &rows {
        if row.state != OutboxState::Acked {
            found.push(format!(
                "row {}: {:?} ({:?})",
                row.id, row.state, row.last_error
            ));
        }
        let by_key: Vec<_> = server
            .iter()
            .filter(|s| s.idempotency_key == row.idempotency_key)
            .collect();
        let by_content = server
            .iter()
            .filter(|s| s.content_sha256 == row.content_sha256)
            .count();
        if by_content > 1 {
            found.push(format!("row {}: stored {by_content} times", row.id));
        }
        if by_content > 0
            && row
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("collection_under_review"))
        {
            // The server holds this content, and the kiosk delivered it again under another
            // key: the server's applicant lock turned the duplicate into a 409.
            found.push(format!(
                "row {}: duplicate delivery refused by the server (collection_under_review)",
                row.id
            ));
        }
        match by_key.as_slice() {
            [one] if one.content_sha256 == row.content_sha256 => {
                if row.submission_id.as_deref().is_some_and(|id| id != one.id) {
                    found.push(format!(
                        "row {}: acknowledged as another submission",
                        row.id
                    ));
                }
            }
            [] if by_content > 0 => found.push(format!(
                "row {}: duplicate delivery, stored under a key the kiosk never kept",
                row.id
            )),
            [] => found.push(format!("row {}: not on the server", row.id)),
            _ => found.push(format!("row {}: wrong content under its key", row.id)),
        }
    }
    if server.len() != rows.len() {
        found.push(format!(
            "{} on the server for {} committed",
            server.len(),
            rows.len()
        ));
    }
    found
}

fn prepare(dir: &std::path::Path, count: u32) -> (Central, String) {
    let central = Central::start(&dir.join("central.db"));
    let token = central.device("crash-test-kiosk");
    let mut store = open_store(&dir.join("kiosk"));
    for n in FIRST..FIRST + count {
        let who = Applicant::new(n);
        central.register(&who);
        complete_draft(&mut store, &who);
    }
    (central, token)
}

#[test]
fn exactly_once_through_kills_cuts_and_restarts() {
    let started = Instant::now();
    let seed = std::env::var("KIOSK_SYNC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026);
    eprintln!("seed {seed} (set KIOSK_SYNC_SEED to replay)");
    let count = 20;
    let dir = tempfile::tempdir().expect("temp dir");
    let kiosk_dir = dir.path().join("kiosk");
    let (mut central, token) = prepare(dir.path(), count);
    let faults = Faults {
        refuse: 10,
        cut_request: 15,
        cut_after_commit: 30,
        max_delay_ms: 40,
    };
    let proxy = Proxy::start(central.addr, seed, faults);
    let exe = std::env::current_exe().expect("test binary");
    let mut rng = Rng(seed ^ 0xdead_beef);
    let mut kills = 0;
    let mut restarts = 0;
    for round in 0..16 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "sync_crash::child_syncs_until_killed",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, &kiosk_dir)
            .env(CHILD_URL, proxy.url())
            .env(CHILD_TOKEN, &token)
            .env(CHILD_COUNT, count.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        std::thread::sleep(Duration::from_millis(150 + rng.below(450)));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        kills += 1;
        if round % 6 == 5 {
            central.restart();
            proxy.retarget(central.addr);
            restarts += 1;
        }
    }
    // Whatever the children did not get to: submitted and synced here, still through the proxy.
    let mut store = open_store(&kiosk_dir);
    while submit_next(&mut store, count) {}
    let mut worker =
        Worker::new(open_store(&kiosk_dir), config(&proxy.url(), &token)).expect("worker");
    assert!(
        worker
            .run_until_idle(sync_support::SETTLE_BOUND)
            .expect("runs"),
        "something is still pending"
    );
    let found = violations(&store, &central);
    let rows = store.outbox_rows().expect("rows");
    let attempts: i64 = rows.iter().map(|r| r.attempts).sum();
    eprintln!(
        "{} submissions, {attempts} attempts, {kills} kills, {restarts} server restarts, {} cuts after commit, {:?}",
        rows.len(),
        proxy.cuts_after_commit.load(Ordering::Relaxed),
        started.elapsed()
    );
    assert_eq!(rows.len(), count as usize, "every applicant submitted once");
    assert!(found.is_empty(), "exactly once violated: {found:#?}");
    assert!(
        proxy.cuts_after_commit.load(Ordering::Relaxed) > 0,
        "the faults did happen"
    );
}

/// Negative control: with a new key per attempt the same check must fail.
#[test]
fn the_check_catches_a_kiosk_that_regenerates_its_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let count = 8;
    let kiosk_dir = dir.path().join("kiosk");
    let (central, token) = prepare(dir.path(), count);
    let faults = Faults {
        refuse: 0,
        cut_request: 0,
        cut_after_commit: 60,
        max_delay_ms: 5,
    };
    let proxy = Proxy::start(central.addr, 0xc0ffee, faults);
    let mut store = open_store(&kiosk_dir);
    while submit_next(&mut store, count) {}
    let mut cfg = config(&proxy.url(), &token);
    cfg.regenerate_key_each_attempt = true;
    let mut worker = Worker::new(open_store(&kiosk_dir), cfg).expect("worker");
    let _ = worker.run_until_idle(Duration::from_secs(2)).expect("runs");
    // The network heals: whatever is still pending gets a clean answer from the server.
    proxy.faults_on.store(false, Ordering::Relaxed);
    let _ = worker.run_until_idle(Duration::from_secs(2)).expect("runs");
    assert!(proxy.cuts_after_commit.load(Ordering::Relaxed) > 0);
    let found = violations(&store, &central);
    eprintln!("negative control found: {found:#?}");
    // A retry under a new key carries a grant made for the old key, so the server refuses it
    // outright (403 grant_invalid) where it used to store or lock a duplicate: either way the
    // check must report the rows that a regenerating kiosk did not deliver exactly once.
    assert!(
        found
            .iter()
            .any(|v| v.contains("duplicate delivery") || v.contains("grant_invalid")),
        "the check must detect the regenerated keys: {found:#?}"
    );
}
