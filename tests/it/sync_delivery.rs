//! What counts as delivery, against scripted HTTP servers on 127.0.0.1: only an answer that
//! echoes this submission's key and content hash is an acknowledgement; a redirect is not
//! followed; a proxy's refusal or a refused device token leave the submission queued; the
//! central server's own refusal reopens the applicant's draft with what happened.

use crate::sync_support;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};

use kiosk::store::{OutboxState, Store};
use kiosk::sync::Worker;
use kiosk_domain::ReviewState;
use sync_support::{Applicant, config, open_store, read_request, submit};

type Script = fn(request_line: &str, body: &[u8], addr: SocketAddr) -> String;

/// A server that answers every request with what `script` says for its request line, and notes
/// the request lines.
fn scripted_server(script: Script) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let noted = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (request_line, body) = read_request(&stream);
            let answer = script(&request_line, &body, addr);
            noted.lock().expect("notes").push(request_line);
            let mut stream = stream;
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (addr, seen)
}

fn answer(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// One applicant's submission in the outbox of a fresh store, and a worker for `addr`.
fn queued(dir: &Path, addr: SocketAddr, who: &Applicant) -> Worker {
    let data = dir.join("data");
    let mut store = open_store(&data);
    submit(&mut store, who);
    Worker::new(
        open_store(&data),
        config(&format!("http://{addr}"), "ck1.dev.secret"),
    )
    .expect("worker")
}

/// Runs `passes` passes, each after the row is due again.
fn run(worker: &mut Worker, passes: usize) {
    for _ in 0..passes {
        worker.run_once().expect("pass");
        sync_support::wait_until_due(worker.store());
    }
}

fn only_row(store: &Store) -> kiosk::store::OutboxRow {
    let rows = store.outbox_rows().expect("rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows.into_iter().next().expect("one row")
}

#[test]
fn a_2xx_that_does_not_echo_the_submission_is_not_delivery() {
    for script in [
        (|_: &str, _: &[u8], _| answer("200 OK", "application/json", r#"{"submission_id":""}"#))
            as Script,
        |_, _, _| {
            answer(
                "200 OK",
                "application/json",
                r#"{"submission_id":"sub_1","idempotency_key":"someone-else","content_sha256":"00"}"#,
            )
        },
        |_, _, _| answer("200 OK", "text/html", "<html>欢迎使用酒店网络</html>"),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let (addr, seen) = scripted_server(script);
        let who = Applicant::new(60);
        let mut worker = queued(dir.path(), addr, &who);
        run(&mut worker, 2);
        let row = only_row(worker.store());
        assert_eq!(row.state, OutboxState::Pending, "{row:?}");
        assert!(row.submission_id.is_none());
        assert!(seen.lock().expect("notes").len() >= 2, "sent again");
        assert!(
            worker
                .store()
                .load_draft(&who.id_number)
                .expect("reads")
                .is_some(),
            "nothing deleted"
        );
    }
}

#[test]
fn a_redirect_is_not_followed() {
    let (addr, seen) = scripted_server(|line, _, addr| {
        if line.starts_with("PUT ") {
            format!(
                "HTTP/1.1 302 Found\r\nLocation: http://{addr}/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        } else {
            answer(
                "200 OK",
                "application/json",
                r#"{"submission_id":"sub_1","status":{"state":"under_review"}}"#,
            )
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let who = Applicant::new(61);
    let mut worker = queued(dir.path(), addr, &who);
    run(&mut worker, 2);
    let row = only_row(worker.store());
    assert_eq!(row.state, OutboxState::Pending, "{row:?}");
    let seen = seen.lock().expect("notes").clone();
    assert!(
        seen.iter().all(|l| l.starts_with("PUT /v1/submissions/")),
        "{seen:?}"
    );
}

#[test]
fn a_proxys_refusal_or_a_refused_device_token_keep_the_submission_queued() {
    for (script, device_refused) in [
        (
            (|_: &str, _: &[u8], _| answer("403 Forbidden", "text/html", "<h1>Forbidden</h1>"))
                as Script,
            false,
        ),
        (
            |_, _, _| answer("404 Not Found", "text/html", "<h1>nginx</h1>"),
            false,
        ),
        (
            |_, _, _| answer("413 Payload Too Large", "text/html", "<h1>413</h1>"),
            false,
        ),
        (
            |_, _, _| {
                answer(
                    "401 Unauthorized",
                    "application/json",
                    r#"{"error":"unauthorized","message":"设备凭证无效"}"#,
                )
            },
            true,
        ),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let (addr, seen) = scripted_server(script);
        let who = Applicant::new(62);
        let mut worker = queued(dir.path(), addr, &who);
        run(&mut worker, 2);
        let row = only_row(worker.store());
        assert_eq!(row.state, OutboxState::Pending, "{row:?}");
        assert!(seen.lock().expect("notes").len() >= 2, "retried");
        assert_eq!(worker.status().device_refused, device_refused);
        if device_refused {
            assert!(worker.status().label_zh().contains("设备凭证无效"));
        }
    }
}

#[test]
fn the_servers_own_refusal_reopens_the_draft_with_what_happened() {
    let (addr, _) = scripted_server(|_, _, _| {
        answer(
            "422 Unprocessable Entity",
            "application/json",
            r#"{"error":"material_refused","message":"照片不符合要求，请重新拍摄"}"#,
        )
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let who = Applicant::new(63);
    let mut worker = queued(dir.path(), addr, &who);
    run(&mut worker, 1);
    let row = only_row(worker.store());
    assert_eq!(row.state, OutboxState::Failed, "kept for staff: {row:?}");
    let (draft, _) = worker
        .store()
        .load_draft(&who.id_number)
        .expect("reads")
        .expect("the draft stays");
    assert!(draft.review().is_editable(), "{:?}", draft.review());
    match draft.review() {
        ReviewState::Rejected { reason } => {
            assert!(reason.contains("照片不符合要求"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

/// Due times are wall-clock instants: scheduled at T, a clock stepped back by ten days must not
/// park the queue for ten days; a wait that was really asked for still holds.
#[test]
fn a_clock_stepped_back_does_not_park_the_queue() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_store(dir.path());
    let who = Applicant::new(64);
    let receipt = submit(&mut store, &who);
    let longest_wait_ms = 3_660_000;
    let scheduled_at = kiosk::store::now_ms();
    let ten_days = 10 * 24 * 3_600_000;

    // A retry asked for in 2 s is not due now, even with the rule.
    store
        .outbox_retry_later(receipt.id, scheduled_at + 2_000, "HTTP 503")
        .expect("scheduled");
    assert!(
        store
            .outbox_next_due(scheduled_at, longest_wait_ms, 0)
            .expect("reads")
            .is_none()
    );
    // Scheduled by a clock ten days fast, then corrected: due at once.
    store
        .outbox_retry_later(receipt.id, scheduled_at + ten_days, "HTTP 503")
        .expect("scheduled");
    let due = store
        .outbox_next_due(scheduled_at, longest_wait_ms, 0)
        .expect("reads");
    assert_eq!(due.map(|p| p.id), Some(receipt.id));

    // The same for the review status polls of an acknowledged row.
    store
        .outbox_acked(
            receipt.id,
            "sub_1",
            &ReviewState::UnderReview,
            scheduled_at + ten_days,
        )
        .expect("acked");
    let polls = store
        .outbox_to_poll(scheduled_at, longest_wait_ms)
        .expect("reads");
    assert_eq!(polls, vec![(receipt.id, "sub_1".to_owned())]);
    store
        .outbox_review(receipt.id, &ReviewState::UnderReview, scheduled_at + 2_000)
        .expect("polled");
    assert!(
        store
            .outbox_to_poll(scheduled_at, longest_wait_ms)
            .expect("reads")
            .is_empty()
    );
}

/// Answers a PUT of a submission as the central server does: its key and content hash echoed.
fn acknowledging(line: &str, body: &[u8], _: SocketAddr) -> String {
    let key = line
        .split_whitespace()
        .nth(1)
        .and_then(|path| path.rsplit('/').next())
        .unwrap_or_default();
    let hash = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|b| b["content_sha256"].as_str().map(str::to_owned))
        .unwrap_or_default();
    answer(
        "200 OK",
        "application/json",
        &format!(
            r#"{{"submission_id":"sub_1","idempotency_key":"{key}","content_sha256":"{hash}","status":{{"state":"under_review"}}}}"#
        ),
    )
}

/// The server acknowledges, but the kiosk cannot record it (its file system went read-only):
/// the submission is not uploaded again at every pass, and once the store can be written the
/// same key is sent again and recorded.
#[test]
fn an_acknowledgement_that_cannot_be_recorded_holds_the_uploads_back() {
    let (addr, seen) = scripted_server(acknowledging);
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let who = Applicant::new(65);
    let receipt = submit(&mut open_store(&data), &who);
    let mut slow_backoff = config(&format!("http://{addr}"), "ck1.dev.secret");
    slow_backoff.backoff_base = std::time::Duration::from_secs(5);
    let read_only = open_store(&data);
    read_only.refuse_writes_for_tests().expect("read-only");
    let mut worker = Worker::new(read_only, slow_backoff.clone()).expect("worker");
    let mut failures = 0;
    for _ in 0..20 {
        if worker.run_once().is_err() {
            failures += 1;
        }
    }
    assert_eq!(
        failures, 1,
        "the failed pass is reported, the next ones wait"
    );
    assert_eq!(
        seen.lock().expect("notes").len(),
        1,
        "uploaded once, not 20 times"
    );
    drop(worker);

    let mut worker = Worker::new(open_store(&data), slow_backoff).expect("worker");
    worker.run_once().expect("pass");
    let row = only_row(worker.store());
    assert_eq!(row.state, OutboxState::Acked, "{row:?}");
    let puts: Vec<String> = seen
        .lock()
        .expect("notes")
        .iter()
        .filter(|l| l.starts_with("PUT "))
        .cloned()
        .collect();
    assert_eq!(puts.len(), 2, "{puts:?}");
    assert!(
        puts.iter().all(|l| l.contains(&receipt.idempotency_key)),
        "the same key"
    );
}

/// A full disk: the new draft is not saved and says so in plain Chinese; what was saved before
/// is all still there.
#[test]
fn a_full_disk_loses_nothing_saved_and_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let first = Applicant::new(66);
    let mut store = open_store(&data);
    let receipt = submit(&mut store, &first);
    let third = Applicant::new(68);
    let mut waiting = sync_support::complete_draft(&mut store, &third);
    sync_support::mark_submitted(&mut waiting);
    store.fill_up_for_tests().expect("full");
    let refused = store
        .submit_to_outbox(&waiting, Some(&third.session()))
        .expect_err("the disk is full");
    assert!(
        refused.message_zh().contains("存储空间已满"),
        "{}",
        refused.message_zh()
    );
    let second = Applicant::new(67);
    let mut app = kiosk_domain::Application::new();
    app.edit(|d| {
        d.basic.id_number = second.id_number.clone();
        d.basic.name = "王".repeat(4000);
    })
    .expect("editable");
    let error = store.save_draft(&app).expect_err("the disk is full");
    assert!(
        error.message_zh().contains("存储空间已满"),
        "{}",
        error.message_zh()
    );
    assert!(error.message_zh().contains("未丢失"));
    drop(store);
    let store = open_store(&data);
    assert!(store.load_draft(&first.id_number).expect("reads").is_some());
    assert!(
        store
            .load_draft(&second.id_number)
            .expect("reads")
            .is_none()
    );
    assert!(
        store.load_draft(&third.id_number).expect("reads").is_some(),
        "the draft whose submission could not be saved is still there, to submit again"
    );
    assert_eq!(only_row(&store).id, receipt.id);
}

/// Once the server takes the kiosk's token again, staff stop being told it is refused.
#[test]
fn the_device_problem_clears_when_the_token_is_taken_again() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static REQUESTS: AtomicUsize = AtomicUsize::new(0);
    let (addr, _) = scripted_server(|line, body, addr| {
        if REQUESTS.fetch_add(1, Ordering::SeqCst) == 0 {
            answer(
                "401 Unauthorized",
                "application/json",
                r#"{"error":"unauthorized","message":"设备凭证无效"}"#,
            )
        } else {
            acknowledging(line, body, addr)
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut worker = queued(dir.path(), addr, &Applicant::new(69));
    worker.run_once().expect("pass");
    assert!(worker.status().device_refused);
    sync_support::wait_until_due(worker.store());
    worker.run_once().expect("pass");
    assert_eq!(only_row(worker.store()).state, OutboxState::Acked);
    assert!(!worker.status().device_refused);
}
