//! The kiosk's outbox and sync worker against the real central server, in-process: exactly
//! once, review statuses back into the drafts, local data deleted after acknowledgement and the
//! end of the session, nothing personal in the kiosk's logs.

use crate::sync_support;

use kiosk::store::{OutboxState, StoreError};
use kiosk::sync::{Worker, canonical};
use kiosk_domain::ReviewState;
use kiosk_server::store::Decision;
use sync_support::{Applicant, Central, capture_logs, complete_draft, config, open_store, submit};

#[test]
fn submissions_reach_the_server_once_and_reviews_come_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let central = Central::start(&dir.path().join("central.db"));
    let token = central.device("五华区政务服务大厅-1");
    let people = [Applicant::new(1), Applicant::new(2)];
    for who in &people {
        central.register(who);
    }
    let kiosk_dir = dir.path().join("kiosk");
    let mut store = open_store(&kiosk_dir);

    let started = std::time::Instant::now();
    let ((), logs) = capture_logs(tracing::Level::TRACE, || {
        let receipts: Vec<_> = people.iter().map(|who| submit(&mut store, who)).collect();
        assert_ne!(receipts[0].idempotency_key, receipts[1].idempotency_key);
        assert_eq!(
            receipts[0].idempotency_key.len(),
            32,
            "128 random bits in hex"
        );

        let mut worker =
            Worker::new(open_store(&kiosk_dir), config(&central.url(), &token)).expect("worker");
        assert_eq!(worker.status().queued, 0, "no pass yet");
        assert!(
            worker
                .run_until_idle(sync_support::SETTLE_BOUND)
                .expect("runs")
        );
        // Running again sends nothing twice.
        let again = worker.run_once().expect("runs");
        assert_eq!(again.attempts, 0);
        let status = worker.status();
        assert_eq!(
            (status.queued, status.failed, status.online),
            (0, 0, Some(true))
        );

        let on_server = central.submissions();
        assert_eq!(on_server.len(), 2, "each submission stored once");
        let rows = store.outbox_rows().expect("rows");
        for (row, receipt) in rows.iter().zip(&receipts) {
            assert_eq!(row.state, OutboxState::Acked);
            assert_eq!(
                row.idempotency_key, receipt.idempotency_key,
                "the key never changes"
            );
            let matching: Vec<_> = on_server
                .iter()
                .filter(|s| s.idempotency_key == row.idempotency_key)
                .collect();
            assert_eq!(matching.len(), 1);
            assert_eq!(matching[0].content_sha256, row.content_sha256, "same hash");
            assert_eq!(row.submission_id.as_deref(), Some(matching[0].id.as_str()));
            // The server's hash is the kiosk's canonical hash of what the server stored.
            let stored: serde_json::Value =
                serde_json::from_str(&matching[0].application_json).expect("json");
            assert_eq!(
                stored["rules"],
                serde_json::json!(kiosk_domain::RulesEdition::CURRENT.name()),
                "the record names the rules edition the kiosk checked it with"
            );
            let materials: Vec<(String, String)> =
                kiosk_server::store::Store::materials(&*central.store, &matching[0].id)
                    .expect("materials")
                    .into_iter()
                    .map(|m| (m.kind, m.sha256))
                    .collect();
            assert_eq!(
                canonical::content_sha256(&stored, &materials),
                row.content_sha256
            );
        }
        for who in &people {
            let (app, _) = store
                .load_draft(&who.id_number)
                .expect("reads")
                .expect("draft");
            assert_eq!(*app.review(), ReviewState::UnderReview, "审核中 came back");
        }

        // Reviewers decide; the kiosk polls and brings the decisions into the drafts.
        let id_of = |who: &Applicant| {
            on_server
                .iter()
                .find(|s| s.applicant == who.id_number)
                .expect("stored")
                .id
                .clone()
        };
        let decide = |id: &str, decision: Decision| {
            kiosk_server::review::decide(&*central.store, id, &decision, "reviewer:test", None)
                .expect("store")
                .expect("decided");
        };
        decide(&id_of(&people[0]), Decision::Approve);
        let reason = "工作证明未盖章".to_owned();
        decide(
            &id_of(&people[1]),
            Decision::Reject {
                reason: reason.clone(),
            },
        );
        let pass = worker.run_once().expect("polls");
        assert_eq!(pass.polled, 2);
        let review = |who: &Applicant| {
            store
                .load_draft(&who.id_number)
                .expect("reads")
                .expect("the session is not over: the draft stays")
                .0
                .review()
                .clone()
        };
        assert_eq!(review(&people[0]), ReviewState::Approved, "审核成功");
        assert_eq!(
            review(&people[1]),
            ReviewState::Rejected { reason },
            "审核失败 with reason"
        );
        assert_eq!(
            worker.run_once().expect("runs").polled,
            0,
            "decided: no more polling"
        );

        // The sessions end: acknowledged submissions leave nothing personal on the kiosk.
        assert!(store.material_count().expect("count") > 0);
        for who in &people {
            store
                .outbox_end_session(&who.id_number)
                .expect("session ends");
        }
        let pass = worker.run_once().expect("purges");
        assert_eq!(pass.purged, 2);
        assert_eq!(store.draft_count().expect("count"), 0);
        assert_eq!(store.material_count().expect("count"), 0);
        let rows = store.outbox_rows().expect("rows");
        assert!(rows.iter().all(|r| r.state == OutboxState::Done));
        assert_eq!(central.submissions().len(), 2);
    });
    eprintln!("end to end: {:?}", started.elapsed());

    let text = logs.text();
    assert!(
        text.contains("submission acknowledged"),
        "the capture works:\n{text}"
    );
    for who in &people {
        for secret in [&who.id_number, &who.name, &who.mobile, &token] {
            assert!(
                !text.contains(secret.as_str()),
                "personal data or token in the logs:\n{text}"
            );
        }
        // Nor the ID number's distinctive middle part.
        assert!(!text.contains(&who.id_number[6..14]));
    }
}

#[test]
fn only_a_submitted_complete_draft_enters_the_outbox() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_store(dir.path());
    let who = Applicant::new(3);
    let mut app = complete_draft(&mut store, &who);
    assert!(matches!(
        store.submit_to_outbox(&app, None),
        Err(StoreError::NotSubmitted)
    ));
    sync_support::mark_submitted(&mut app);
    // A material file that is not in the store: refused, nothing written.
    let photo = app.data().materials[&kiosk_domain::MaterialKind::Photo][0]
        .blob_id
        .clone();
    store.delete_material(&photo).expect("delete");
    assert!(matches!(
        store.submit_to_outbox(&app, None),
        Err(StoreError::MissingMaterial)
    ));
    assert!(store.outbox_rows().expect("rows").is_empty());
}

#[test]
fn a_refused_submission_is_kept_for_staff_and_not_retried() {
    let dir = tempfile::tempdir().expect("temp dir");
    let central = Central::start(&dir.path().join("central.db"));
    let token = central.device("hall-2");
    // Not registered on the server, so no session: the grant is refused (403).
    let who = Applicant::new(4);
    let mut store = open_store(&dir.path().join("kiosk"));
    submit(&mut store, &who);
    let mut worker = Worker::new(
        open_store(&dir.path().join("kiosk")),
        config(&central.url(), &token),
    )
    .expect("worker");
    assert!(
        worker
            .run_until_idle(sync_support::SETTLE_BOUND)
            .expect("runs")
    );
    let rows = store.outbox_rows().expect("rows");
    assert_eq!(rows[0].state, OutboxState::Failed);
    let error = rows[0].last_error.clone().unwrap_or_default();
    assert!(
        error.contains("HTTP 403") && error.contains("grant_invalid"),
        "{error}"
    );
    assert_eq!(worker.status().failed, 1);
    assert_eq!(
        worker.run_once().expect("runs").attempts,
        0,
        "never retried"
    );
    // A wrong device token is the kiosk's problem, not the submission's: it waits, queued,
    // and the status tells staff.
    let mut store2 = open_store(&dir.path().join("kiosk2"));
    submit(&mut store2, &Applicant::new(5));
    let mut bad = Worker::new(
        open_store(&dir.path().join("kiosk2")),
        config(&central.url(), "ck1.x.y"),
    )
    .expect("worker");
    bad.run_once().expect("runs");
    assert_eq!(
        store2.outbox_rows().expect("rows")[0].state,
        OutboxState::Pending
    );
    assert!(bad.status().device_refused);
    // The data stays on the kiosk for staff even after the session.
    store.outbox_end_session(&who.id_number).expect("ends");
    worker.run_once().expect("runs");
    assert_eq!(store.draft_count().expect("count"), 1);
}

/// Version A waits on an offline kiosk; the applicant submits B at another kiosk, which is
/// rejected; when A finally arrives it is refused as stale, and its kiosk reopens the draft with
/// the server's message instead of retrying. The next log-in knows B's version.
#[test]
fn an_old_version_queued_on_an_offline_kiosk_does_not_replace_a_newer_one() {
    use kiosk::accounts::Accounts as _;
    use kiosk::sync::accounts::RemoteAccounts;
    let dir = tempfile::tempdir().expect("temp dir");
    let central = Central::start(&dir.path().join("central.db"));
    let who = Applicant::new(80);
    central.import(&who, "secret123", Some(&who.mobile));
    let kiosk = |name: &str| {
        let token = central.device(name);
        let data = dir.path().join(name);
        let mut accounts =
            RemoteAccounts::new(&central.url(), &token, open_store(&data)).expect("client");
        let session = accounts
            .log_in(&who.id_number, "secret123")
            .expect("logs in")
            .session
            .expect("a session");
        (token, data, session)
    };
    let submit_version =
        |data: &std::path::Path, session: &kiosk::sync::ApplicantSession, address: &str| {
            let mut store = open_store(data);
            let mut app = complete_draft(&mut store, &who);
            app.edit(|d| d.basic.postal_address = address.to_owned())
                .expect("editable");
            sync_support::mark_submitted(&mut app);
            store.submit_to_outbox(&app, Some(session)).expect("queued");
        };

    let (token_a, data_a, session_a) = kiosk("hall-offline");
    assert_eq!(session_a.latest_version, 0);
    submit_version(&data_a, &session_a, "昆明市五华区一号");

    let (token_b, data_b, session_b) = kiosk("hall-online");
    submit_version(&data_b, &session_b, "昆明市五华区二号");
    let mut worker_b =
        Worker::new(open_store(&data_b), config(&central.url(), &token_b)).expect("worker");
    assert!(
        worker_b
            .run_until_idle(sync_support::SETTLE_BOUND)
            .expect("runs")
    );
    let b = central.submissions().into_iter().next().expect("B stored");
    kiosk_server::review::decide(
        &*central.store,
        &b.id,
        &Decision::Reject {
            reason: "学历证书不清晰".into(),
        },
        "reviewer:test",
        None,
    )
    .expect("store")
    .expect("decided");

    let mut worker_a =
        Worker::new(open_store(&data_a), config(&central.url(), &token_a)).expect("worker");
    worker_a.run_once().expect("runs");
    let rows = worker_a.store().outbox_rows().expect("rows");
    assert_eq!(rows[0].state, OutboxState::Failed, "{rows:?}");
    assert!(
        rows[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("stale_version")),
        "{rows:?}"
    );
    let (draft, _) = worker_a
        .store()
        .load_draft(&who.id_number)
        .expect("reads")
        .expect("kept");
    assert!(draft.review().is_editable(), "{:?}", draft.review());
    assert_eq!(central.submissions().len(), 1, "A was not filed");
    assert_eq!(
        worker_a.run_once().expect("runs").attempts,
        0,
        "not retried"
    );

    let (_, _, session_c) = kiosk("hall-third");
    assert_eq!(
        session_c.latest_version, 1,
        "the next log-in knows B's version"
    );
}
