//! Files resume where the server stopped: through a proxy on 127.0.0.1 that cuts the first
//! upload of every file at 90 % of its bytes, and a kiosk restarted after the first cut, the
//! submission arrives once and the kiosk sends at most 1.2 times its payload (starting each
//! cut file again from its first byte would send about 1.9 times).

use crate::sync_support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kiosk::store::OutboxState;
use kiosk::sync::Worker;
use sync_support::{Applicant, Central, config, mark_submitted, open_store};

/// Forwards each connection to `upstream`, counting the bytes the kiosk sends; the first upload
/// of each file is cut after 90 % of its body.
struct CuttingProxy {
    addr: SocketAddr,
    sent: Arc<AtomicU64>,
    cuts: Arc<AtomicUsize>,
}

impl CuttingProxy {
    fn start(upstream: SocketAddr) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let sent = Arc::new(AtomicU64::new(0));
        let cuts = Arc::new(AtomicUsize::new(0));
        let cut_once = Arc::new(Mutex::new(HashSet::new()));
        let (counted, cut) = (sent.clone(), cuts.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (sent, cuts, cut_once) = (counted.clone(), cut.clone(), cut_once.clone());
                std::thread::spawn(move || forward(client, upstream, &sent, &cuts, &cut_once));
            }
        });
        CuttingProxy { addr, sent, cuts }
    }
}

fn forward(
    client: TcpStream,
    upstream: SocketAddr,
    sent: &AtomicU64,
    cuts: &AtomicUsize,
    cut_once: &Mutex<HashSet<String>>,
) {
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    let mut reader = BufReader::new(client.try_clone().expect("clone"));
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let blob = head
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("PUT /v1/blobs/"))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned);
    let cut_here = blob.is_some_and(|sha| cut_once.lock().expect("set").insert(sha));
    let budget = if cut_here { length * 9 / 10 } else { length };
    let mut answers = server.try_clone().expect("clone");
    let mut to_client = client.try_clone().expect("clone");
    let answering = std::thread::spawn(move || {
        let _ = std::io::copy(&mut answers, &mut to_client);
        let _ = to_client.shutdown(Shutdown::Write);
    });
    let _ = server.write_all(head.as_bytes());
    sent.fetch_add(head.len() as u64, Ordering::Relaxed);
    let mut body = vec![0u8; budget];
    if reader.read_exact(&mut body).is_ok() {
        let _ = server.write_all(&body);
        sent.fetch_add(budget as u64, Ordering::Relaxed);
    }
    if cut_here {
        // Give the server the bytes before the line goes dead.
        let _ = server.flush();
        std::thread::sleep(Duration::from_millis(100));
        cuts.fetch_add(1, Ordering::Relaxed);
        let _ = server.shutdown(Shutdown::Both);
        let _ = client.shutdown(Shutdown::Both);
    } else {
        let mut rest = reader.take(u64::MAX);
        if let Ok(n) = std::io::copy(&mut rest, &mut server) {
            sent.fetch_add(n, Ordering::Relaxed);
        }
        let _ = server.shutdown(Shutdown::Write);
    }
    let _ = answering.join();
}

#[test]
fn cut_uploads_resume_across_a_restart_and_the_payload_travels_about_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let central = Central::start(&dir.path().join("central.db"));
    let token = central.device("resume-test-kiosk");
    let who = Applicant::new(90);
    central.register(&who);
    let kiosk_dir = dir.path().join("kiosk");
    let mut store = open_store(&kiosk_dir);
    let mut app = sync_support::complete_draft_with_scans_of(&mut store, &who, 150_000);
    mark_submitted(&mut app);
    let receipt = store
        .submit_to_outbox(&app, Some(&who.session()))
        .expect("outbox");
    let files: u64 = app
        .data()
        .materials
        .values()
        .flatten()
        .map(|f| f.bytes)
        .sum();
    let count = app.data().materials.values().flatten().count();
    let record = serde_json::to_string(&app).expect("json").len() as u64;
    let proxy = CuttingProxy::start(central.addr);
    let url = format!("http://{}", proxy.addr);

    // The first pass: the record, then the first file, cut; then the kiosk is restarted.
    let mut first = Worker::new(open_store(&kiosk_dir), config(&url, &token)).expect("worker");
    first.run_once().expect("pass");
    assert_eq!(
        proxy.cuts.load(Ordering::Relaxed),
        1,
        "the first file was cut"
    );
    drop(first);

    let mut worker = Worker::new(open_store(&kiosk_dir), config(&url, &token)).expect("worker");
    assert!(
        worker
            .run_until_idle(sync_support::SETTLE_BOUND)
            .expect("runs"),
        "delivered"
    );
    let rows = store.outbox_rows().expect("rows");
    assert_eq!(rows[0].state, OutboxState::Acked);
    let on_server = central.submissions();
    assert_eq!(on_server.len(), 1);
    assert_eq!(on_server[0].idempotency_key, receipt.idempotency_key);
    assert_eq!(
        proxy.cuts.load(Ordering::Relaxed),
        count,
        "every file was cut once"
    );
    assert!(count >= 5, "{count} files");
    let sent = proxy.sent.load(Ordering::Relaxed);
    let ratio = sent as f64 / (files + record) as f64;
    eprintln!(
        "{count} files, {files} B of files, {record} B of record, {sent} B sent through the proxy: {ratio:.3}"
    );
    assert!(ratio <= 1.2, "sent {ratio:.3} times the payload");
    assert_eq!(
        kiosk_server::blobs::BlobStore::count(&*central.blobs).expect("count"),
        0,
        "nothing left staged on the server"
    );
}
