//! What the kiosk accepts from a server that misbehaves, against real HTTP servers on 127.0.0.1:
//! an answer of 10 MB is not read into memory (the submission is retried with backoff, not
//! taken as delivered), and a `Retry-After` of centuries or more is cut to the maximum wait.

use crate::sync_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use kiosk::accounts::{AccountError, Accounts};
use kiosk::store::{OutboxState, now_ms};
use kiosk::sync::Worker;
use kiosk::sync::accounts::RemoteAccounts;
use kiosk::sync::http::{MAX_ANSWER_BYTES, MAX_RETRY_AFTER};
use sync_support::{Applicant, config, open_store, read_request, submit};

/// The system allocator, noting the largest single block asked for: a body read whole is one
/// block of its full size.
struct LargestBlock;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for LargestBlock {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: LargestBlock = LargestBlock;

/// The allocation measurements must not see another test's blocks.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const HUGE: usize = 10 * 1024 * 1024;

/// Answers every request `200` with a JSON body of `size` bytes that acknowledges it (the key
/// and content hash echoed, then a `padding` member that long),
/// written 64 KB at a time so the server itself holds no large block. With `declared`, the
/// length is in `Content-Length`; without, the body ends when the connection closes.
fn answer_server(size: usize, declared: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let tail = br#""}"#;
        let filler = vec![b'a'; 64 * 1024];
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (request_line, body) = read_request(&stream);
            let path = request_line.split_whitespace().nth(1).unwrap_or_default();
            let key = path.rsplit('/').next().unwrap_or_default();
            let hash = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|b| b["content_sha256"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let head = format!(
                r#"{{"status":{{"state":"under_review"}},"submission_id":"sub_1","idempotency_key":"{key}","content_sha256":"{hash}","padding":""#
            );
            let head = head.as_bytes();
            let length = match declared {
                true => format!("Content-Length: {size}\r\n"),
                false => String::new(),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n"
            );
            let mut written = head.len() + tail.len();
            let mut ok = stream.write_all(head).is_ok();
            while ok && written < size {
                let n = filler.len().min(size - written);
                ok = stream.write_all(&filler[..n]).is_ok();
                written += n;
            }
            if ok {
                let _ = stream.write_all(tail);
            }
        }
    });
    addr
}

/// Answers every request `503` with the `Retry-After` that `value` gives at that moment.
fn retry_after_server(value: impl Fn() -> String + Send + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            read_request(&stream);
            let answer = r#"{"error":"busy","message":"服务器繁忙"}"#;
            let value = value();
            let _ = write!(
                stream,
                "HTTP/1.1 503 Service Unavailable\r\nRetry-After: {value}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    addr
}

/// The largest block allocated while `f` runs (other tests of this file wait).
fn largest_block_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.store(0, Ordering::Relaxed);
    let out = f();
    (out, LARGEST.load(Ordering::Relaxed))
}

#[test]
fn a_huge_answer_is_not_read_and_the_submission_is_retried() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for declared in [true, false] {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = open_store(dir.path());
        submit(&mut store, &Applicant::new(31));
        let addr = answer_server(HUGE, declared);
        let mut worker = Worker::new(
            open_store(dir.path()),
            config(&format!("http://{addr}"), "t"),
        )
        .expect("worker");
        let before = now_ms();
        let (pass, largest) = largest_block_during(|| worker.run_once().expect("runs"));
        let after = now_ms();
        println!("Content-Length declared: {declared}; largest block {largest} bytes");
        assert!(
            largest < 2 * MAX_ANSWER_BYTES,
            "declared {declared}: a block of {largest} bytes was allocated"
        );
        assert_eq!((pass.attempts, pass.acked, pass.retried), (1, 0, 1));
        let row = &store.outbox_rows().expect("rows")[0];
        assert_eq!(row.state, OutboxState::Pending, "declared {declared}");
        assert_eq!(row.submission_id, None);
        assert_eq!(row.attempts, 1);
        let error = row.last_error.as_deref().unwrap_or("");
        assert!(error.contains("larger than"), "{error}");
        assert!(
            !error.contains("aaaa"),
            "the answer's content is kept: {error}"
        );
        // Backoff: within the test configuration's cap of 300 ms.
        assert!(
            row.next_attempt_at_ms >= before && row.next_attempt_at_ms <= after + 300,
            "next attempt in {} ms",
            row.next_attempt_at_ms - after
        );
        assert_eq!(worker.status().online, Some(true));
    }
}

#[test]
fn the_account_service_does_not_read_a_huge_answer() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for declared in [true, false] {
        let dir = tempfile::tempdir().expect("temp dir");
        let addr = answer_server(HUGE, declared);
        let mut accounts =
            RemoteAccounts::new(&format!("http://{addr}"), "t", open_store(dir.path()))
                .expect("client");
        let (result, largest) =
            largest_block_during(|| accounts.log_in("530102199003070011", "secret123"));
        println!("Content-Length declared: {declared}; largest block {largest} bytes");
        assert!(
            largest < 2 * MAX_ANSWER_BYTES,
            "declared {declared}: a block of {largest} bytes was allocated"
        );
        match result {
            Err(AccountError::Unavailable(why)) => assert!(why.contains("too large"), "{why}"),
            Err(other) => panic!("declared {declared}: {other:?}"),
            Ok(_) => panic!("declared {declared}: logged in on a huge answer"),
        }
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`, `secs` from now.
fn http_date(secs: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(secs);
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    at.format(&format).expect("format")
}

#[test]
fn a_retry_after_beyond_an_hour_is_cut_to_an_hour() {
    let max_ms = MAX_RETRY_AFTER.as_millis() as i64;
    let cases = [
        // u64::MAX seconds.
        ("18446744073709551615".to_owned(), max_ms),
        // A century.
        ("3153600000".to_owned(), max_ms),
        // As milliseconds, just under i64::MAX: the next attempt's time would overflow.
        ("9223372036854775".to_owned(), max_ms),
        // The HTTP-date form, far and near (written when its case runs).
        ("Fri, 31 Dec 9999 23:59:59 GMT".to_owned(), max_ms),
        ("in 120 s".to_owned(), 120_000),
    ];
    for (value, expected_ms) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = open_store(dir.path());
        submit(&mut store, &Applicant::new(32));
        let answered = value.clone();
        let addr = retry_after_server(move || match answered.as_str() {
            "in 120 s" => http_date(120),
            _ => answered.clone(),
        });
        let mut worker = Worker::new(
            open_store(dir.path()),
            config(&format!("http://{addr}"), "t"),
        )
        .expect("worker");
        let before = now_ms();
        let pass = worker.run_once().expect("runs");
        let after = now_ms();
        assert_eq!(
            (pass.attempts, pass.retried, pass.failed),
            (1, 1, 0),
            "{value}"
        );
        let row = &store.outbox_rows().expect("rows")[0];
        assert_eq!(row.state, OutboxState::Pending, "{value}");
        // Dates have whole seconds: a second of slack below.
        let (low, high) = (before + expected_ms - 1_000, after + expected_ms);
        assert!(
            (low..=high).contains(&row.next_attempt_at_ms),
            "Retry-After {value}: next attempt in {} ms, expected about {expected_ms}",
            row.next_attempt_at_ms - before
        );
        assert_eq!(worker.run_once().expect("runs").attempts, 0, "{value}");
    }
}

#[test]
fn an_answer_under_the_limit_is_read_whole() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for declared in [true, false] {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = open_store(dir.path());
        submit(&mut store, &Applicant::new(33));
        let addr = answer_server(MAX_ANSWER_BYTES - 1024, declared);
        let mut worker = Worker::new(
            open_store(dir.path()),
            config(&format!("http://{addr}"), "t"),
        )
        .expect("worker");
        let pass = worker.run_once().expect("runs");
        assert_eq!((pass.attempts, pass.acked), (1, 1), "declared {declared}");
        let row = &store.outbox_rows().expect("rows")[0];
        assert_eq!(row.state, OutboxState::Acked);
        assert_eq!(row.submission_id.as_deref(), Some("sub_1"));
    }
}
