//! The sync outbox: a submission and its outbox row are written in one transaction, and the
//! sync worker (`crate::sync`) reads, marks and purges the rows through these methods.

use kiosk_domain::{Application, ReviewState, idnumber, materials};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::drafts::{draft_key, parse_draft};
use super::{Store, StoreError, now_unix, random_id};
use crate::sync::ApplicantSession;

/// Where an outbox row stands. `Pending` → `Acked` (the server answered with a submission id)
/// → `Done` (the applicant's session is over and the local personal data was deleted);
/// `Pending` → `Failed` when the server refused it for good (kept for staff, never retried).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    Pending,
    Acked,
    Done,
    Failed,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Acked => "acked",
            OutboxState::Done => "done",
            OutboxState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> OutboxState {
        match s {
            "acked" => OutboxState::Acked,
            "done" => OutboxState::Done,
            "failed" => OutboxState::Failed,
            _ => OutboxState::Pending,
        }
    }
}

/// What `submit_to_outbox` committed: nothing personal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxReceipt {
    pub id: i64,
    pub idempotency_key: String,
    pub content_sha256: String,
    /// The code of the applicant's receipt, which the server derives the same way
    /// (`kiosk_wire::receipt`); `None` without an applicant session (a kiosk without a server).
    pub receipt_code: Option<String>,
}

/// A pending row with everything needed to send it.
pub struct OutboxPayload {
    pub id: i64,
    pub idempotency_key: String,
    pub application_json: String,
    pub content_sha256: String,
    pub attempts: i64,
    /// `(session id, grant)` of the applicant's session; `None` for a row made without one.
    pub grant: Option<(String, String)>,
    /// The applicant's version of this submission; `None` for a row made without a session.
    pub version: Option<i64>,
    /// `(kind key, sha256, bytes)`; `None` bytes when the file has gone missing.
    pub materials: Vec<(String, String, Option<Vec<u8>>)>,
}

/// An outbox row as staff and tests see it (nothing personal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub idempotency_key: String,
    pub content_sha256: String,
    pub state: OutboxState,
    pub attempts: i64,
    pub next_attempt_at_ms: i64,
    pub last_error: Option<String>,
    pub submission_id: Option<String>,
    pub review: Option<ReviewState>,
    pub session_over: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: i64,
    pub acked: i64,
    pub failed: i64,
    pub done: i64,
}

impl Store {
    /// Submits: saves the (submitted) draft and writes its outbox row in ONE transaction, so the
    /// applicant is told "saved" only for a submission that will be sent. The idempotency key is
    /// made here, once; the content hash is the server's canonical hash of exactly what will be
    /// sent. Refuses a draft that is not marked submitted, and one whose files are missing.
    /// `session` is the logged-in applicant's session with the central server: its grant on
    /// this key and hash goes into the row (the server refuses a submission without one).
    pub fn submit_to_outbox(
        &mut self,
        app: &Application,
        session: Option<&ApplicantSession>,
    ) -> Result<OutboxReceipt, StoreError> {
        if *app.review() != ReviewState::Submitted {
            return Err(StoreError::NotSubmitted);
        }
        let id = draft_key(app)?;
        let application = serde_json::to_value(app).map_err(StoreError::encode("a submission"))?;
        let application_json = application.to_string();
        let record = serde_json::to_string(app).map_err(StoreError::encode("a submitted draft"))?;
        let idempotency_key = random_id("a submission's idempotency key")?;
        let now = now_unix();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO drafts (id_number, record, revision, updated_at) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT(id_number) DO UPDATE SET record = excluded.record,
                 revision = drafts.revision + 1, updated_at = excluded.updated_at",
            params![id, record, now],
        )?;
        let mut files = Vec::new();
        for (kind, file) in materials::submission_files(app.data()) {
            let stored: Option<String> = tx
                .query_row(
                    "SELECT sha256 FROM material_blobs WHERE blob_id = ?1 AND id_number = ?2",
                    params![file.blob_id, id],
                    |r| r.get(0),
                )
                .optional()?;
            if stored.as_deref() != Some(file.sha256.as_str()) {
                return Err(StoreError::MissingMaterial);
            }
            files.push((
                kind.key().to_owned(),
                file.sha256.clone(),
                file.blob_id.clone(),
            ));
        }
        let declared: Vec<(String, String)> = files
            .iter()
            .map(|(k, h, _)| (k.clone(), h.clone()))
            .collect();
        let content_sha256 = crate::sync::canonical::content_sha256(&application, &declared);
        let grant = session.map(|s| {
            (
                s.session_id.clone(),
                kiosk_wire::grant::sign(&s.token, &s.session_id, &idempotency_key, &content_sha256),
            )
        });
        let (grant_session_id, grant_signature) = grant.unzip();
        let outbox_id: i64 = tx.query_row(
            "INSERT INTO outbox (idempotency_key, draft_id, application_json, content_sha256,
                 state, attempts, next_attempt_at, created_at, grant_session_id, grant_signature,
                 version)
             VALUES (?1, ?2, ?3, ?4, 'pending', 0, 0, ?5, ?6, ?7, ?8) RETURNING id",
            params![
                idempotency_key,
                id,
                application_json,
                content_sha256,
                now,
                grant_session_id,
                grant_signature,
                session.map(ApplicantSession::next_version)
            ],
            |r| r.get(0),
        )?;
        for (position, (kind, sha256, blob_id)) in files.iter().enumerate() {
            tx.execute(
                "INSERT INTO outbox_materials (outbox_id, position, kind, sha256, blob_id)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![outbox_id, position as i64, kind, sha256, blob_id],
            )?;
        }
        tx.commit()?;
        let receipt_code = session.map(|s| {
            kiosk_wire::receipt::code_for_session(&s.token, &s.session_id, &idempotency_key)
        });
        Ok(OutboxReceipt {
            id: outbox_id,
            idempotency_key,
            content_sha256,
            receipt_code,
        })
    }

    /// The oldest pending row after `after_id` that is due (`next_attempt_at <= now_ms`), with
    /// its files.
    ///
    /// Due times are wall-clock instants. A row due later than `now_ms + longest_wait_ms`, longer
    /// ahead than any wait the worker ever schedules, was scheduled before the clock was stepped
    /// back (a wrong RTC corrected, say): it is due now rather than parked until the clock
    /// catches up. A clock stepped forward makes rows due early, which only sends them sooner.
    pub fn outbox_next_due(
        &self,
        now_ms: i64,
        longest_wait_ms: i64,
        after_id: i64,
    ) -> Result<Option<OutboxPayload>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT id, idempotency_key, application_json, content_sha256, attempts,
                        grant_session_id, grant_signature, version
                 FROM outbox WHERE state = 'pending' AND id > ?2
                   AND (next_attempt_at <= ?1 OR next_attempt_at > ?1 + ?3)
                 ORDER BY id LIMIT 1",
                params![now_ms, after_id, longest_wait_ms],
                |r| {
                    let session: Option<String> = r.get(5)?;
                    let signature: Option<String> = r.get(6)?;
                    Ok(OutboxPayload {
                        id: r.get(0)?,
                        idempotency_key: r.get(1)?,
                        application_json: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        content_sha256: r.get(3)?,
                        attempts: r.get(4)?,
                        grant: session.zip(signature),
                        version: r.get(7)?,
                        materials: Vec::new(),
                    })
                },
            )
            .optional()?;
        let Some(mut payload) = row else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare(
            "SELECT m.kind, m.sha256, b.content FROM outbox_materials m
             LEFT JOIN material_blobs b ON b.blob_id = m.blob_id
             WHERE m.outbox_id = ?1 ORDER BY m.position",
        )?;
        payload.materials = stmt
            .query_map(params![payload.id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some(payload))
    }

    /// When the earliest pending row is due (ms), if any.
    pub fn outbox_next_attempt_at(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    /// A failed attempt that will be retried at `next_attempt_at_ms`.
    pub fn outbox_retry_later(
        &mut self,
        id: i64,
        next_attempt_at_ms: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
             WHERE id = ?1 AND state = 'pending'",
            params![id, next_attempt_at_ms, error],
        )?;
        Ok(())
    }

    /// The server refused the row for good: kept, with the server's message, for staff.
    pub fn outbox_failed(&mut self, id: i64, error: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2
             WHERE id = ?1 AND state = 'pending'",
            params![id, error],
        )?;
        Ok(())
    }

    /// The server refused the row's submission itself: the row is kept for staff, and the
    /// applicant's draft, if still here, becomes editable again with `reason` as what happened.
    pub fn outbox_refused(&mut self, id: i64, error: &str, reason: &str) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2
             WHERE id = ?1 AND state = 'pending'",
            params![id, error],
        )?;
        if n == 1 {
            let reopened = ReviewState::Rejected {
                reason: reason.to_owned(),
            };
            apply_review_to_draft(&tx, id, &reopened)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Staff put refused rows back in the queue, due now; returns how many.
    pub fn outbox_retry_failed(&mut self) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = 0 WHERE state = 'failed'",
            [],
        )?)
    }

    /// The server has the submission: records its id and status, and brings the status into the
    /// draft (when this row is the draft's latest submission), in one transaction.
    pub fn outbox_acked(
        &mut self,
        id: i64,
        submission_id: &str,
        review: &ReviewState,
        next_poll_at_ms: i64,
    ) -> Result<(), StoreError> {
        let review_json =
            serde_json::to_string(review).map_err(StoreError::encode("a review status"))?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE outbox SET state = 'acked', attempts = attempts + 1, submission_id = ?2,
                 review_json = ?3, next_poll_at = ?4, acked_at = ?5, last_error = NULL
             WHERE id = ?1 AND state = 'pending'",
            params![id, submission_id, review_json, next_poll_at_ms, now_unix()],
        )?;
        if n == 1 {
            apply_review_to_draft(&tx, id, review)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Acknowledged rows whose review is not decided yet and whose poll is due:
    /// `(row id, submission id)`.
    /// A poll due later than `now_ms + longest_wait_ms` is due now, as in [`Self::outbox_next_due`].
    pub fn outbox_to_poll(
        &self,
        now_ms: i64,
        longest_wait_ms: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, submission_id, review_json FROM outbox
             WHERE state = 'acked' AND submission_id IS NOT NULL
               AND (next_poll_at <= ?1 OR next_poll_at > ?1 + ?2)
             ORDER BY next_poll_at, id",
        )?;
        let rows = stmt
            .query_map(params![now_ms, longest_wait_ms], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows
            .into_iter()
            .filter(|(_, _, review)| !is_decided(review.as_deref()))
            .map(|(id, sub, _)| (id, sub))
            .collect())
    }

    /// The status the server reported for an acknowledged row; brought into the draft.
    pub fn outbox_review(
        &mut self,
        id: i64,
        review: &ReviewState,
        next_poll_at_ms: i64,
    ) -> Result<(), StoreError> {
        let review_json =
            serde_json::to_string(review).map_err(StoreError::encode("a review status"))?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE outbox SET review_json = ?2, next_poll_at = ?3 WHERE id = ?1 AND state = 'acked'",
            params![id, review_json, next_poll_at_ms],
        )?;
        // Applied at every poll (it is idempotent): a draft saved meanwhile by the session
        // gets the server's status back.
        if n == 1 {
            apply_review_to_draft(&tx, id, review)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The keys of rows granted by `session_id` that the server has not acknowledged yet: at
    /// log-out the server is told to keep honouring these grants.
    pub fn outbox_pending_keys_of_session(
        &self,
        session_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT idempotency_key FROM outbox
             WHERE grant_session_id = ?1 AND state = 'pending' ORDER BY id",
        )?;
        let keys = stmt
            .query_map(params![session_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(keys)
    }

    /// The applicant's session at the screen is over (the UI wiped it).
    pub fn outbox_end_session(&mut self, id_number: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET session_over = 1 WHERE draft_id = ?1",
            params![idnumber::normalize(id_number)],
        )?;
        Ok(())
    }

    /// The applicant is back at the screen (logged in again): keep their data until this
    /// session ends too.
    pub fn outbox_reopen_session(&mut self, id_number: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET session_over = 0 WHERE draft_id = ?1 AND state != 'done'",
            params![idnumber::normalize(id_number)],
        )?;
        Ok(())
    }

    /// No session survives a restart: called when the sync worker starts.
    pub fn outbox_end_all_sessions(&mut self) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET session_over = 1 WHERE session_over = 0",
            [],
        )?;
        Ok(())
    }

    /// Deletes the draft and material files of every applicant whose submissions the server has
    /// all acknowledged and whose session is over; their rows become `done` and lose their
    /// personal columns. Returns the number of drafts deleted.
    pub fn outbox_purge(&mut self) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let drafts: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT DISTINCT o.draft_id FROM outbox o
                 WHERE o.draft_id IS NOT NULL AND o.state = 'acked' AND o.session_over = 1
                   AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.draft_id = o.draft_id
                                   AND p.state IN ('pending', 'failed'))",
            )?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        let now = now_unix();
        for draft in &drafts {
            // Material files go with the draft (ON DELETE CASCADE).
            tx.execute("DELETE FROM drafts WHERE id_number = ?1", params![draft])?;
            tx.execute(
                "DELETE FROM outbox_materials WHERE outbox_id IN
                     (SELECT id FROM outbox WHERE draft_id = ?1)",
                params![draft],
            )?;
            tx.execute(
                "UPDATE outbox SET state = CASE state WHEN 'acked' THEN 'done' ELSE state END,
                     draft_id = NULL, application_json = NULL, done_at = ?2
                 WHERE draft_id = ?1",
                params![draft, now],
            )?;
        }
        tx.commit()?;
        if !drafts.is_empty() {
            self.checkpoint()?;
        }
        Ok(drafts.len())
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let mut counts = OutboxCounts::default();
        let mut stmt = self
            .conn
            .prepare("SELECT state, count(*) FROM outbox GROUP BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (state, n) = row?;
            match OutboxState::parse(&state) {
                OutboxState::Pending => counts.pending = n,
                OutboxState::Acked => counts.acked = n,
                OutboxState::Failed => counts.failed = n,
                OutboxState::Done => counts.done = n,
            }
        }
        Ok(counts)
    }

    /// Every outbox row, oldest first.
    pub fn outbox_rows(&self) -> Result<Vec<OutboxRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, idempotency_key, content_sha256, state, attempts, next_attempt_at,
                 last_error, submission_id, review_json, session_over
             FROM outbox ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(OutboxRow {
                    id: r.get(0)?,
                    idempotency_key: r.get(1)?,
                    content_sha256: r.get(2)?,
                    state: OutboxState::parse(&r.get::<_, String>(3)?),
                    attempts: r.get(4)?,
                    next_attempt_at_ms: r.get(5)?,
                    last_error: r.get(6)?,
                    submission_id: r.get(7)?,
                    review: r
                        .get::<_, Option<String>>(8)?
                        .and_then(|j| serde_json::from_str(&j).ok()),
                    session_over: r.get::<_, i64>(9)? != 0,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

fn is_decided(review_json: Option<&str>) -> bool {
    review_json
        .and_then(|j| serde_json::from_str::<ReviewState>(j).ok())
        .is_some_and(|r| matches!(r, ReviewState::Approved | ReviewState::Rejected { .. }))
}

/// Applies a review status to the draft of outbox row `id`, when that row is the draft's latest
/// submission (an older submission's status must not overwrite a newer one's).
fn apply_review_to_draft(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    review: &ReviewState,
) -> Result<(), StoreError> {
    let draft: Option<Option<String>> = tx
        .query_row(
            "SELECT draft_id FROM outbox o WHERE id = ?1
               AND id = (SELECT max(id) FROM outbox WHERE draft_id = o.draft_id)",
            params![id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(Some(draft)) = draft else {
        return Ok(());
    };
    let record: Option<String> = tx
        .query_row(
            "SELECT record FROM drafts WHERE id_number = ?1",
            params![draft],
            |r| r.get(0),
        )
        .optional()?;
    let Some(record) = record else {
        return Ok(());
    };
    let mut app = parse_draft(&record)?;
    if app.review() == review {
        return Ok(());
    }
    if let Err(e) = app.apply_review(review.clone()) {
        tracing::warn!(error = %e, "review status not applied to the draft");
        return Ok(());
    }
    let record = serde_json::to_string(&app).map_err(StoreError::encode("a draft"))?;
    tx.execute(
        "UPDATE drafts SET record = ?2, revision = revision + 1, updated_at = ?3
         WHERE id_number = ?1",
        params![draft, record, now_unix()],
    )?;
    Ok(())
}
