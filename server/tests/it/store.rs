//! The `Store` implementations directly, where the HTTP tests cannot reach: reopening (a
//! restart), refusing a schema from a newer build, and the rules that must hold when requests
//! race (SQLite serialises writers; PostgreSQL needs its locks and constraints for that).

use crate::common;

use std::sync::Barrier;

use common::{Backend, TestDb, on_both_backends};
use kiosk_domain::ReviewState;
use kiosk_server::store::{
    AuditEntry, NewAccount, NewMaterial, NewSubmission, SmsCheck, SmsCode, Store, StoreError,
    SubmitOutcome, ThrottleBucket,
};
use kiosk_server::util;

const RACERS: usize = 8;

fn submission(key: &str, applicant: &str, content: &str) -> NewSubmission {
    NewSubmission {
        id: format!("s-{}", util::hex(&util::random_bytes::<8>())),
        device_id: "device-1".into(),
        idempotency_key: key.into(),
        content_sha256: util::sha256_hex(content.as_bytes()),
        applicant: applicant.into(),
        application_json: "{}".into(),
        materials: vec![NewMaterial {
            kind: "photo".into(),
            sha256: util::sha256_hex(b"photo"),
            bytes: b"photo".to_vec(),
        }],
        response_json: format!(r#"{{"content":"{content}"}}"#),
        received_at: util::now(),
        bureau: Some(530102),
        session_id: "ses_test".into(),
        version: None,
        receipt_code: common::random_receipt_code(),
        audit: AuditEntry::new("session:ses_test", "submit", key, "test", util::now()),
    }
}

fn audit(action: &str) -> AuditEntry {
    AuditEntry::new("cli:test", action, "test", "ok", util::now())
}

/// Runs `work` on `RACERS` threads released at the same moment, after a first round that opens
/// the store's connections (opening one takes long enough to spread the racers out).
fn race<T: Send>(store: &dyn Store, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    released_together(|_| store.applicant_lock("warm-up").unwrap());
    released_together(work)
}

fn released_together<T: Send>(work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let start = Barrier::new(RACERS);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..RACERS)
            .map(|i| {
                let (start, work) = (&start, &work);
                scope.spawn(move || {
                    start.wait();
                    work(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn reopening_keeps_the_data(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    let account = NewAccount {
        id_type: "resident_id_card".into(),
        id_number: "110101199003070418".into(),
        name: "张三".into(),
        mobile: None,
        password_hash: "phc".into(),
    };
    let id = db
        .open()
        .insert_account(&account, &audit("import"))
        .unwrap()
        .unwrap();
    let reopened = db.open();
    assert_eq!(reopened.account(id).unwrap().unwrap().name, "张三");
    assert_eq!(
        reopened.insert_account(&account, &audit("import")).unwrap(),
        None
    );
}

fn a_database_from_a_newer_build_is_refused(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    drop(db.open());
    match &db {
        TestDb::Sqlite(path) => rusqlite::Connection::open(path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap(),
        TestDb::Postgres(pg) => {
            ::postgres::Client::connect(&pg.url, ::postgres::NoTls)
                .unwrap()
                .execute("UPDATE schema_version SET version = 99", &[])
                .unwrap();
        }
    }
    let refused = match &db {
        TestDb::Sqlite(path) => kiosk_server::sqlite::SqliteStore::open(path).err(),
        TestDb::Postgres(pg) => kiosk_server::postgres::PgStore::connect(&pg.url).err(),
    };
    assert!(
        matches!(refused, Some(StoreError::TooNew { found: 99, .. })),
        "{refused:?}"
    );
}

fn racing_repeats_of_one_key_store_once_and_replay(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    let store = db.open();
    let outcomes = race(&*store, |_| {
        store.submit(&submission("k-1", "A", "v1")).unwrap()
    });
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, SubmitOutcome::Created { .. }))
        .count();
    assert_eq!(created, 1, "{outcomes:?}");
    for outcome in &outcomes {
        match outcome {
            SubmitOutcome::Created { response_json }
            | SubmitOutcome::Replayed { response_json } => {
                assert_eq!(response_json, r#"{"content":"v1"}"#)
            }
            other => panic!("a repeat was answered {other:?}"),
        }
    }
    assert_eq!(store.submissions(None, None).unwrap().len(), 1);
}

fn racing_reuses_of_one_key_for_other_applicants_are_refused(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    let store = db.open();
    // Each racer sends other content for another applicant under the same key: the applicant
    // locks do not serialise them, only the key's unique constraint does.
    let outcomes = race(&*store, |i| {
        store
            .submit(&submission("k-1", &format!("A{i}"), &format!("v{i}")))
            .unwrap()
    });
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, SubmitOutcome::Created { .. }))
        .count();
    let reused = outcomes
        .iter()
        .filter(|o| **o == SubmitOutcome::KeyReused)
        .count();
    assert_eq!((created, reused), (1, RACERS - 1), "{outcomes:?}");
    assert_eq!(store.submissions(None, None).unwrap().len(), 1);
}

fn racing_submissions_for_one_applicant_leave_one_under_review(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    let store = db.open();
    let outcomes = race(&*store, |i| {
        store
            .submit(&submission(&format!("k-{i}"), "A", &format!("v{i}")))
            .unwrap()
    });
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, SubmitOutcome::Created { .. }))
        .count();
    let locked = outcomes
        .iter()
        .filter(|o| **o == SubmitOutcome::ApplicantLocked(ReviewState::UnderReview))
        .count();
    assert_eq!((created, locked), (1, RACERS - 1), "{outcomes:?}");
    assert_eq!(
        store.submissions(Some("under_review"), None).unwrap().len(),
        1
    );
}

fn racing_repeats_of_one_key_from_several_kiosks_store_once_and_replay(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    let store = db.open();
    // One kiosk under several credentials (enrolled anew while its answer was lost): the same
    // key, content and applicant from each.
    let outcomes = race(&*store, |i| {
        let repeat = NewSubmission {
            device_id: format!("device-{i}"),
            ..submission("k-1", "A", "v1")
        };
        store.submit(&repeat).unwrap()
    });
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, SubmitOutcome::Created { .. }))
        .count();
    assert_eq!(created, 1, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| match o {
            SubmitOutcome::Created { response_json }
            | SubmitOutcome::Replayed { response_json } => response_json == r#"{"content":"v1"}"#,
            _ => false,
        }),
        "{outcomes:?}"
    );
    assert_eq!(store.submissions(None, None).unwrap().len(), 1);
}

fn racing_reuses_of_one_key_from_several_kiosks_are_refused(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    let store = db.open();
    // Other content for another applicant from another kiosk under the same key: neither the
    // applicant locks nor the (device, key) constraint order them, only the key's lock does.
    let outcomes = race(&*store, |i| {
        let reuse = NewSubmission {
            device_id: format!("device-{i}"),
            ..submission("k-1", &format!("A{i}"), &format!("v{i}"))
        };
        store.submit(&reuse).unwrap()
    });
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, SubmitOutcome::Created { .. }))
        .count();
    let reused = outcomes
        .iter()
        .filter(|o| **o == SubmitOutcome::KeyReused)
        .count();
    assert_eq!((created, reused), (1, RACERS - 1), "{outcomes:?}");
    assert_eq!(store.submissions(None, None).unwrap().len(), 1);
}

fn racing_versions_for_one_applicant_accept_one_and_refuse_the_stale(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    let store = db.open();
    let first = NewSubmission {
        version: Some(1),
        ..submission("k-first", "A", "v1")
    };
    store.submit(&first).unwrap();
    kiosk_server::review::decide(
        &*store,
        &first.id,
        &kiosk_server::store::Decision::Reject {
            reason: "工作证明未盖章".into(),
        },
        "reviewer:test",
        None,
    )
    .unwrap()
    .unwrap();
    // Each racer's kiosk showed the applicant version 1: each sends its own version 2.
    let outcomes = race(&*store, |i| {
        let edited = NewSubmission {
            device_id: format!("device-{i}"),
            version: Some(2),
            ..submission(&format!("k-{i}"), "A", &format!("v2-{i}"))
        };
        store.submit(&edited).unwrap()
    });
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, SubmitOutcome::Created { .. }))
        .count();
    let stale = outcomes
        .iter()
        .filter(|o| **o == SubmitOutcome::StaleVersion)
        .count();
    assert_eq!((created, stale), (1, RACERS - 1), "{outcomes:?}");
    let latest = store.latest_submission_of("A").unwrap().unwrap();
    assert_eq!(latest.version, 2);
    assert_eq!(latest.review, ReviewState::UnderReview);
    assert_eq!(store.submissions(None, None).unwrap().len(), 2);
    let refusals = store
        .audit_log(100)
        .unwrap()
        .into_iter()
        .filter(|row| row.outcome.starts_with("refused: stale_version 2 <= 2"))
        .filter(|row| row.target == latest.id)
        .count();
    assert_eq!(refusals, RACERS - 1);

    // A late version 1 (made before the first was rejected) changes nothing either.
    let late = NewSubmission {
        version: Some(1),
        ..submission("k-late", "A", "v1-late")
    };
    assert_eq!(store.submit(&late).unwrap(), SubmitOutcome::StaleVersion);
    assert_eq!(
        store.latest_submission_of("A").unwrap().unwrap().id,
        latest.id
    );
}

fn submissions_from_before_versions_count_in_arrival_order(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    let store = db.open();
    let t = util::now();
    let later = NewSubmission {
        received_at: t + 10,
        ..submission("k-2", "A", "two")
    };
    let earlier = NewSubmission {
        received_at: t + 5,
        ..submission("k-1", "A", "one")
    };
    let other = NewSubmission {
        received_at: t,
        ..submission("k-3", "B", "three")
    };
    for s in [&later, &earlier, &other] {
        assert!(matches!(
            store.submit(s).unwrap(),
            SubmitOutcome::Created { .. }
        ));
        kiosk_server::review::decide(
            &*store,
            &s.id,
            &kiosk_server::store::Decision::Reject {
                reason: "照片不清晰".into(),
            },
            "reviewer:test",
            None,
        )
        .unwrap()
        .unwrap();
    }
    drop(store);
    // Back to the schema before versions (migration 3), and so before the console's
    // (migration 4): the migration must count the rows it finds.
    let undo = "DROP TABLE reviewers; DROP INDEX submissions_bureau_state_arrival; \
                DROP INDEX submissions_bureau_arrival; DROP INDEX submissions_state_arrival; \
                DROP INDEX audit_target; \
                DROP INDEX submissions_receipt; \
                ALTER TABLE submissions DROP COLUMN applicant_name; \
                ALTER TABLE submissions DROP COLUMN receipt_code; \
                DROP INDEX submissions_bureau_state_opened; DROP INDEX submissions_state_opened; \
                ALTER TABLE submissions DROP COLUMN opened_at; \
                CREATE INDEX submissions_bureau ON submissions (bureau, state); \
                DROP INDEX submissions_applicant_version; DROP INDEX submissions_key; \
                ALTER TABLE submissions DROP COLUMN version;";
    match &db {
        TestDb::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path).unwrap();
            // PostgreSQL has had this index since its first migration; SQLite since the 4th.
            conn.execute_batch(&format!("DROP INDEX submissions_arrival; {undo}"))
                .unwrap();
            let version: i64 = conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(version, 4, "update this undo with each migration");
            conn.pragma_update(None, "user_version", 2).unwrap();
        }
        TestDb::Postgres(pg) => {
            pg.execute(undo);
            pg.execute("UPDATE schema_version SET version = 2");
        }
    }
    let store = db.open();
    let latest = store.latest_submission_of("A").unwrap().unwrap();
    assert_eq!((latest.id.as_str(), latest.version), (later.id.as_str(), 2));
    let first = store.submission(&earlier.id).unwrap().unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(store.latest_submission_of("B").unwrap().unwrap().version, 1);
}

fn racing_sms_requests_for_one_phone_send_one_code(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    let store = db.open();
    let now = util::now();
    let outcomes = race(&*store, |i| {
        let code = SmsCode {
            mobile: "13800138000".into(),
            // Different purposes: the interval is per phone, not per phone and purpose.
            purpose: if i % 2 == 0 {
                "register"
            } else {
                "reset_password"
            }
            .into(),
            code_sha256: util::sha256_hex(format!("{i}").as_bytes()),
            sent_at: now,
            expires_at: now + 300,
            attempts: 0,
            used: false,
        };
        store.put_sms_code(&code, 60).unwrap()
    });
    let sent = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(sent, 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| *o == Ok(()) || *o == Err(60)));
}

fn the_latest_submission_of_an_applicant_is_their_newest(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    let store = db.open();
    let first = submission("k-1", "applicant-a", "one");
    store.submit(&first).unwrap();
    store
        .submit(&submission("k-2", "applicant-b", "two"))
        .unwrap();
    kiosk_server::review::decide(
        &*store,
        &first.id,
        &kiosk_server::store::Decision::Reject {
            reason: "工作证明未盖章".into(),
        },
        "reviewer:test",
        None,
    )
    .unwrap()
    .unwrap();
    let second = NewSubmission {
        received_at: first.received_at + 1,
        ..submission("k-3", "applicant-a", "three")
    };
    store.submit(&second).unwrap();
    let latest = store.latest_submission_of("applicant-a").unwrap().unwrap();
    assert_eq!(latest.id, second.id);
    assert_eq!(latest.review, ReviewState::UnderReview);
    assert_eq!(
        store
            .latest_submission_of("applicant-b")
            .unwrap()
            .unwrap()
            .idempotency_key,
        "k-2"
    );
    assert!(store.latest_submission_of("applicant-c").unwrap().is_none());
}

/// Racing attempts on one throttle bucket: exactly `limit` are counted, the rest refused.
fn racing_attempts_count_once_each(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    let store = db.open();
    let now = util::now();
    let buckets = [ThrottleBucket {
        key: "login:test".into(),
        limit: 3,
    }];
    let outcomes = race(&*store, |_| {
        store
            .throttle_attempt(&buckets, now - 900, 900, now)
            .unwrap()
    });
    let counted = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(counted, 3, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .filter_map(|o| o.as_ref().err())
            .all(|wait| *wait == 900)
    );
    // A forgiven attempt frees its place.
    let attempt = outcomes.iter().find_map(|o| o.clone().ok()).unwrap();
    store.throttle_finish(&attempt, true, None).unwrap();
    assert!(
        store
            .throttle_attempt(&buckets, now - 900, 900, now)
            .unwrap()
            .is_ok()
    );
    assert!(
        store
            .throttle_attempt(&buckets, now - 900, 900, now)
            .unwrap()
            .is_err()
    );
}

/// Racing uses of one SMS code: exactly one is accepted.
fn racing_uses_of_one_sms_code_accept_one(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    let store = db.open();
    let now = util::now();
    let code_sha256 = util::sha256_hex(b"123456");
    let code = SmsCode {
        mobile: "13800138000".into(),
        purpose: "reset_password".into(),
        code_sha256: code_sha256.clone(),
        sent_at: now,
        expires_at: now + 300,
        attempts: 0,
        used: false,
    };
    assert_eq!(store.put_sms_code(&code, 60).unwrap(), Ok(()));
    let outcomes = race(&*store, |_| {
        store
            .sms_code_consume("13800138000", "reset_password", &code_sha256, now, 5)
            .unwrap()
    });
    let accepted = outcomes
        .iter()
        .filter(|o| **o == SmsCheck::Accepted)
        .count();
    assert_eq!(accepted, 1, "{outcomes:?}");
    // An expired code is refused even when right.
    let expired = SmsCode {
        purpose: "register".into(),
        expires_at: now - 1,
        ..code
    };
    store.put_sms_code(&expired, 0).unwrap().unwrap();
    assert_eq!(
        store
            .sms_code_consume("13800138000", "register", &code_sha256, now, 5)
            .unwrap(),
        SmsCheck::Refused
    );
}

on_both_backends!(
    racing_attempts_count_once_each,
    racing_uses_of_one_sms_code_accept_one,
    the_latest_submission_of_an_applicant_is_their_newest,
    reopening_keeps_the_data,
    a_database_from_a_newer_build_is_refused,
    racing_repeats_of_one_key_store_once_and_replay,
    racing_reuses_of_one_key_for_other_applicants_are_refused,
    racing_submissions_for_one_applicant_leave_one_under_review,
    racing_repeats_of_one_key_from_several_kiosks_store_once_and_replay,
    racing_reuses_of_one_key_from_several_kiosks_are_refused,
    racing_versions_for_one_applicant_accept_one_and_refuse_the_stale,
    submissions_from_before_versions_count_in_arrival_order,
    racing_sms_requests_for_one_phone_send_one_code,
);
