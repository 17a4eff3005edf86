//! Files travel as blobs before their record: streamed, resumable from the byte the server holds
//! after a cut, complete only when they hash to their name, staged only under an applicant's
//! grant, bounded in length, copied into the database with the record and collected when no
//! record takes them up.

use crate::common;

use std::io::Write as _;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use common::{Applicant, Backend, Server, Session, blob_headers, granted, key, on_both_backends};
use kiosk_server::blobs::BlobStore as _;
use serde_json::{Value, json};

/// A registered applicant's granted submission under a fresh key.
fn setup(backend: Backend, n: u32) -> (Server, String, Value, String) {
    let server = Server::start_on(backend);
    let device = server.device("hall-1");
    let who = Applicant::new(n);
    let registered = server.register(&device, &who);
    assert_eq!(registered.status, 201, "{registered:?}");
    let session = Session::from_answer(&registered).expect("a session");
    let k = key();
    let body = granted(who.submission(0), &k, &session);
    (server, device, body, k)
}

/// The largest file of `body` (a scan): its name and bytes.
fn largest_file(body: &Value) -> (String, Vec<u8>) {
    body["materials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(m["bytes_base64"].as_str().unwrap())
                .unwrap();
            (m["sha256"].as_str().unwrap().to_owned(), bytes)
        })
        .max_by_key(|(_, bytes)| bytes.len())
        .unwrap()
}

fn headers(body: &Value, k: &str) -> Vec<(String, String)> {
    blob_headers(k, body, &body["grant"])
}

fn state(server: &Server, device: &str, sha: &str, grant: &[(String, String)]) -> Value {
    let extra: Vec<(&str, &str)> = grant
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let resp = server.request(
        "GET",
        &format!("/v1/blobs/{sha}/state"),
        Some(device),
        &extra,
        None,
    );
    assert_eq!(resp.status, 200, "{resp:?}");
    resp.body
}

fn a_cut_upload_resumes_from_the_byte_the_server_holds(backend: Backend) {
    let (server, device, body, k) = setup(backend, 60);
    let grant = headers(&body, &k);
    let (sha, bytes) = largest_file(&body);
    assert!(bytes.len() > 1000, "a scan of some size");
    let half = bytes.len() / 2;
    // The request announces the whole file; the connection dies after half of it.
    let mut head = format!(
        "PUT /v1/blobs/{sha} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {device}\r\n\
         Blob-Offset: 0\r\nBlob-Length: {}\r\nContent-Length: {}\r\n",
        server.addr,
        bytes.len(),
        bytes.len()
    );
    for (name, value) in &grant {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut cut = TcpStream::connect(server.addr).unwrap();
    cut.write_all(head.as_bytes()).unwrap();
    cut.write_all(&bytes[..half]).unwrap();
    cut.flush().unwrap();
    common::wait_until("the first half to arrive", || {
        state(&server, &device, &sha, &grant)["received"] == json!(half)
    });
    drop(cut);
    // The upload is not yet complete, so the record cannot be filed.
    let path = format!("/v1/submissions/{k}");
    let record = common::without_inline_files(&body);
    let early = server.put_raw(&path, &device, &record);
    assert_eq!(early.status, 409, "{early:?}");
    assert_eq!(early.body["error"], "blobs_missing");
    assert!(
        early.body["missing"]
            .as_array()
            .unwrap()
            .contains(&json!({ "sha256": sha, "received": half })),
        "{early:?}"
    );
    let state_now = state(&server, &device, &sha, &grant);
    assert_eq!(state_now["complete"], json!(false));
    // The rest, from where the server stopped.
    let rest = server.put_blob(
        &device,
        &sha,
        half as u64,
        bytes.len() as u64,
        &bytes[half..],
        &grant,
    );
    assert_eq!(rest.status, 201, "{rest:?}");
    assert_eq!(rest.body["complete"], json!(true));
    // The other files, then the record (put_raw uploads what the body carries).
    let filed = server.put_raw(&path, &device, &body);
    assert_eq!(filed.status, 200, "{filed:?}");
    let stored = server.store.submissions(None, None).unwrap();
    assert_eq!(stored.len(), 1);
    let materials = server.store.materials(&stored[0].id).unwrap();
    assert!(
        materials
            .iter()
            .any(|m| m.sha256 == sha && m.bytes == bytes.len() as u64)
    );
    assert_eq!(
        server.blobs.count().unwrap(),
        0,
        "the record took its files into the database; nothing is left staged"
    );
}

fn an_upload_must_start_where_the_server_stopped(backend: Backend) {
    let (server, device, body, k) = setup(backend, 61);
    let grant = headers(&body, &k);
    let (sha, bytes) = largest_file(&body);
    let first = server.put_blob(&device, &sha, 0, bytes.len() as u64, &bytes[..100], &grant);
    assert_eq!(first.status, 202, "{first:?}");
    assert_eq!(first.body["received"], json!(100));
    for wrong in [0, 50, 150] {
        let resp = server.put_blob(
            &device,
            &sha,
            wrong,
            bytes.len() as u64,
            &bytes[wrong as usize..],
            &grant,
        );
        assert_eq!(resp.status, 409, "{resp:?}");
        assert_eq!(resp.body["error"], "blob_offset_mismatch");
        assert_eq!(resp.body["received"], json!(100));
    }
    assert_eq!(
        state(&server, &device, &sha, &grant)["received"],
        json!(100)
    );
}

fn bytes_that_do_not_match_their_name_are_dropped(backend: Backend) {
    let (server, device, body, k) = setup(backend, 62);
    let grant = headers(&body, &k);
    let (sha, bytes) = largest_file(&body);
    let mut damaged = bytes.clone();
    damaged[bytes.len() / 2] ^= 0xff;
    let resp = server.put_blob(&device, &sha, 0, bytes.len() as u64, &damaged, &grant);
    assert_eq!(resp.status, 422, "{resp:?}");
    assert_eq!(resp.body["error"], "blob_hash_mismatch");
    let held = state(&server, &device, &sha, &grant);
    assert_eq!(
        (held["received"].clone(), held["complete"].clone()),
        (json!(0), json!(false)),
        "the next upload starts from the first byte"
    );
    let record = common::without_inline_files(&body);
    let resp = server.put_raw(&format!("/v1/submissions/{k}"), &device, &record);
    assert_eq!(resp.status, 409, "{resp:?}");
    assert_eq!(resp.body["error"], "blobs_missing");
    assert!(server.store.submissions(None, None).unwrap().is_empty());
}

fn a_device_token_alone_stages_nothing(backend: Backend) {
    let (server, device, body, k) = setup(backend, 63);
    let (sha, bytes) = largest_file(&body);
    let length = bytes.len() as u64;
    // No grant at all.
    let resp = server.put_blob(&device, &sha, 0, length, &bytes, &[]);
    assert_eq!(resp.status, 403, "{resp:?}");
    assert_eq!(resp.body["error"], "grant_required");
    // A grant whose signature is for other content.
    let mut forged = headers(&body, &k);
    forged[1].1 = "0".repeat(64);
    let resp = server.put_blob(&device, &sha, 0, length, &bytes, &forged);
    assert_eq!(resp.status, 403, "{resp:?}");
    assert_eq!(resp.body["error"], "grant_invalid");
    // The right grant from another kiosk.
    let other = server.device("hall-2");
    let resp = server.put_blob(&other, &sha, 0, length, &bytes, &headers(&body, &k));
    assert_eq!(resp.status, 403, "{resp:?}");
    assert_eq!(resp.body["error"], "grant_invalid");
    // Nor can a state be read without it.
    let resp = server.request(
        "GET",
        &format!("/v1/blobs/{sha}/state"),
        Some(&device),
        &[],
        None,
    );
    assert_eq!(resp.status, 403, "{resp:?}");
    assert_eq!(server.blobs.count().unwrap(), 0);
}

fn lengths_are_bounded_before_and_while_the_body_arrives(backend: Backend) {
    let (server, device, body, k) = setup(backend, 64);
    let grant = headers(&body, &k);
    let too_long = kiosk_server::blobs::max_blob_bytes() + 1;
    let resp = server.put_blob(&device, &"a".repeat(64), 0, too_long, b"x", &grant);
    assert_eq!(resp.status, 413, "{resp:?}");
    assert_eq!(resp.body["error"], "blob_too_large");
    // A body longer than the length it declared.
    let (sha, bytes) = largest_file(&body);
    let resp = server.put_blob(&device, &sha, 0, 10, &bytes, &grant);
    assert_eq!(resp.status, 413, "{resp:?}");
    assert_eq!(resp.body["error"], "blob_too_long");
    let resp = server.put_blob(&device, "not-a-hash", 0, 10, b"x", &grant);
    assert_eq!(resp.status, 400, "{resp:?}");
}

fn staged_files_no_record_takes_up_are_collected(backend: Backend) {
    let (server, device, body, k) = setup(backend, 65);
    let grant = headers(&body, &k);
    let (sha, bytes) = largest_file(&body);
    let resp = server.put_blob(&device, &sha, 0, bytes.len() as u64, &bytes, &grant);
    assert_eq!(resp.status, 201, "{resp:?}");
    let (_, small) = {
        let mut files: Vec<_> = body["materials"].as_array().unwrap().clone();
        files.retain(|m| m["sha256"] != json!(sha));
        let m = files[0].clone();
        (m["sha256"].as_str().unwrap().to_owned(), m)
    };
    let small_sha = small["sha256"].as_str().unwrap().to_owned();
    let small_bytes = base64::engine::general_purpose::STANDARD
        .decode(small["bytes_base64"].as_str().unwrap())
        .unwrap();
    let fresh = server.put_blob(
        &device,
        &small_sha,
        0,
        small_bytes.len() as u64,
        &small_bytes,
        &grant,
    );
    assert_eq!(fresh.status, 201, "{fresh:?}");
    // The first was written two days ago.
    let old = server.dir.path().join("blobs").join("complete").join(&sha);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(48 * 3600))
        .unwrap();
    let blobs: Arc<dyn kiosk_server::blobs::BlobStore> = server.blobs.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The collector runs until the old file is gone, however long its first sweeps take.
    runtime.block_on(async {
        let collector = kiosk_server::collect_blob_garbage(
            blobs,
            Duration::from_secs(24 * 3600),
            Duration::from_millis(10),
        );
        let swept = async {
            while old.exists() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::select! {
            () = collector => unreachable!("the collector runs until stopped"),
            waited = tokio::time::timeout(common::WAIT_AT_MOST, swept) => {
                waited.expect("the collector removes the old file");
            }
        }
    });
    assert_eq!(state(&server, &device, &sha, &grant)["received"], json!(0));
    assert_eq!(
        state(&server, &device, &small_sha, &grant)["complete"],
        json!(true),
        "a file within its lifetime stays"
    );
}

/// A session (a kiosk with an applicant's log-in) cannot fill the staging disk: beyond
/// `FILES_PER_SESSION` distinct files in a window it is told to wait.
fn one_session_stages_a_bounded_number_of_files(backend: Backend) {
    let (server, device, body, k) = setup(backend, 66);
    let grant = headers(&body, &k);
    let quota = kiosk_server::blobs::FILES_PER_SESSION;
    for n in 0..quota {
        let bytes = format!("file {n}").into_bytes();
        let sha = kiosk_server::util::sha256_hex(&bytes);
        let resp = server.put_blob(&device, &sha, 0, bytes.len() as u64, &bytes, &grant);
        assert_eq!(resp.status, 201, "{n}: {resp:?}");
    }
    let bytes = b"one file too many".to_vec();
    let sha = kiosk_server::util::sha256_hex(&bytes);
    let resp = server.put_blob(&device, &sha, 0, bytes.len() as u64, &bytes, &grant);
    assert_eq!(resp.status, 429, "{resp:?}");
    assert_eq!(resp.body["error"], "blob_quota");
    assert_eq!(server.blobs.count().unwrap(), quota);
}

on_both_backends!(
    a_cut_upload_resumes_from_the_byte_the_server_holds,
    an_upload_must_start_where_the_server_stopped,
    bytes_that_do_not_match_their_name_are_dropped,
    a_device_token_alone_stages_nothing,
    lengths_are_bounded_before_and_while_the_body_arrives,
    staged_files_no_record_takes_up_are_collected,
    one_session_stages_a_bounded_number_of_files,
);
