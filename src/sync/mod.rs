//! Sync with the central server (issue 6): a transactional outbox in the encrypted store
//! (`Store::submit_to_outbox` writes the submitted draft and its outbox row in one transaction)
//! and a background worker that delivers it at least once to an idempotent receiver, so each
//! submission reaches the server exactly once.
//!
//! The worker runs on its own thread with a tokio current-thread runtime and its own `Store`
//! connection; it never touches the Slint thread. The UI reads a [`SyncStatus`] (counts and
//! connectivity, nothing personal) through a [`SyncHandle`] and wakes the worker through it.
//!
//! Delivery: `PUT /v1/submissions/{key}` with the record naming its files by SHA-256; the server
//! answers `409 blobs_missing` with each file it lacks and the bytes it holds of it, the worker
//! uploads each from there (`PUT /v1/blobs/{sha}`, so a cut costs only what was not yet
//! received, across restarts too) and sends the record again. The key is made once at
//! submission; capped
//! exponential backoff with full jitter between attempts, `Retry-After` honoured; 408, 409
//! (except `collection_approved`), 429 and 5xx are retried, any other 4xx marks the row failed
//! with the server's message for staff. Acknowledged rows are polled
//! (`GET /v1/submissions/{id}/status`) and the review status is brought into the draft. Once
//! the server has acknowledged everything of an applicant and their session is over, the draft
//! and material files are deleted (`secure_delete` is on).

pub mod accounts;
mod applicant_session;
pub mod canonical;
pub mod http;

pub use applicant_session::ApplicantSession;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kiosk_domain::ReviewState;
use serde_json::{Value, json};
use thiserror::Error;

use crate::store::{OutboxPayload, Store, StoreError, now_ms};

#[derive(Debug, Error)]
pub enum SyncError {
    #[error("sync store: {0}")]
    Store(#[from] StoreError),
    #[error("sync HTTP client: {0}")]
    Client(String),
    #[error("sync thread: {0}")]
    Thread(std::io::Error),
}

/// How the worker talks to the server.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The server's base URL, e.g. `https://central.example` (no trailing slash needed).
    pub server_url: String,
    /// The only CA trusted for the server (see [`http`]); `None`: the system roots.
    pub server_ca: Option<PathBuf>,
    /// `ck1.<id>.<secret>` from `central device enrol`.
    pub device_token: String,
    pub connect_timeout: Duration,
    /// Per request, uploads included.
    pub request_timeout: Duration,
    /// Backoff: attempt n waits random(0, min(cap, base * 2^n)).
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How often review statuses are asked for.
    pub poll_interval: Duration,
    /// TEST ONLY (negative control): a new idempotency key on every retry, which breaks
    /// exactly-once delivery. Never set in the kiosk.
    #[doc(hidden)]
    pub regenerate_key_each_attempt: bool,
}

impl SyncConfig {
    /// `server` is a URL, or an [`http::Endpoint`] with the CA to trust
    /// (`Config::sync_target`).
    pub fn new(server: impl Into<http::Endpoint>, device_token: &str) -> SyncConfig {
        let server = server.into();
        SyncConfig {
            server_url: server.url,
            server_ca: server.ca,
            device_token: device_token.trim().to_owned(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            backoff_base: Duration::from_secs(2),
            backoff_cap: Duration::from_secs(300),
            poll_interval: Duration::from_secs(60),
            regenerate_key_each_attempt: false,
        }
    }
}

/// What the UI may show: counts and connectivity, never personal data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStatus {
    /// Submissions saved on the kiosk and not yet acknowledged by the server.
    pub queued: u32,
    /// Submissions the server refused (staff must look at them).
    pub failed: u32,
    /// Whether the last request reached the server; `None` before the first one.
    pub online: Option<bool>,
    /// Unix seconds of the last answer from the server.
    pub last_contact: Option<i64>,
    /// The server refused this kiosk's device token (re-enrolled or revoked): nothing can be
    /// delivered until hall IT gives the kiosk a valid one. Submissions wait meanwhile.
    pub device_refused: bool,
}

impl SyncStatus {
    /// A short label for the header, e.g. "待上传 2 份 · 网络未连接".
    pub fn label_zh(&self) -> String {
        let mut parts = Vec::new();
        if self.queued > 0 {
            parts.push(format!("待上传 {} 份", self.queued));
        }
        if self.failed > 0 {
            parts.push(format!("{} 份需工作人员处理", self.failed));
        }
        if self.device_refused {
            parts.push("设备凭证无效，请联系技术支持".to_owned());
        }
        match self.online {
            Some(false) => parts.push("网络未连接".to_owned()),
            _ if parts.is_empty() => parts.push("已同步".to_owned()),
            _ => {}
        }
        parts.join(" · ")
    }

    /// The same label in English.
    pub fn label_en(&self) -> String {
        let mut parts = Vec::new();
        if self.queued > 0 {
            parts.push(format!("{} to upload", self.queued));
        }
        if self.failed > 0 {
            parts.push(format!("{} need staff", self.failed));
        }
        if self.device_refused {
            parts.push("device credential refused; call IT".to_owned());
        }
        match self.online {
            Some(false) => parts.push("offline".to_owned()),
            _ if parts.is_empty() => parts.push("synced".to_owned()),
            _ => {}
        }
        parts.join(" · ")
    }
}

/// The UI's side of the worker: read the status, wake the worker.
#[derive(Clone)]
pub struct SyncHandle {
    status: Arc<Mutex<SyncStatus>>,
    wake: Sender<()>,
}

impl SyncHandle {
    pub fn status(&self) -> SyncStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Something changed (a submission, a session ended): run now rather than at the next timer.
    pub fn wake(&self) {
        let _ = self.wake.send(());
    }
}

/// Starts the worker thread on its own connection to the store in `data_dir`.
pub fn spawn(
    data_dir: &Path,
    key_file: &Path,
    config: SyncConfig,
) -> Result<SyncHandle, SyncError> {
    let mut store = Store::open(data_dir, key_file)?;
    // No applicant session survives a restart of the kiosk.
    store.outbox_end_all_sessions()?;
    let (wake, wakes) = std::sync::mpsc::channel();
    let status = Arc::new(Mutex::new(SyncStatus::default()));
    let thread_status = status.clone();
    std::thread::Builder::new()
        .name("sync".into())
        .spawn(
            move || match Worker::with_status(store, config, thread_status) {
                Ok(worker) => worker.run_forever(&wakes),
                Err(e) => tracing::error!(error = %e, "sync worker could not start"),
            },
        )
        .map_err(SyncError::Thread)?;
    Ok(SyncHandle { status, wake })
}

/// What one pass did (for tests and logs; nothing personal).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    pub attempts: u32,
    pub acked: u32,
    pub retried: u32,
    pub failed: u32,
    pub polled: u32,
    pub purged: u32,
}

enum Answer {
    Ok(Value),
    /// `409 blobs_missing`: the files to upload before the record, with the bytes held of each.
    Missing(Vec<(String, u64)>),
    Retry {
        wait: Option<Duration>,
        why: String,
    },
    /// The central server's own refusal of the request (its error body); `message` is its
    /// Chinese message for the applicant.
    Refused {
        why: String,
        message: String,
    },
}

/// Added to the longest scheduled wait before a due time counts as one from before a clock step.
const CLOCK_SLACK_MS: i64 = 60_000;

/// The sync worker. Synchronous on the outside: each HTTP exchange runs to completion in
/// `block_on` on the worker's current-thread runtime, and the store is used only between them,
/// so no connection is ever held across an `.await`.
pub struct Worker {
    store: Store,
    config: SyncConfig,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    status: Arc<Mutex<SyncStatus>>,
    /// After a pass failed on the kiosk's own store (disk full, read-only): no pass before this
    /// instant, and how many passes failed in a row. Kept in memory: the store cannot be written.
    store_hold: Option<(std::time::Instant, u32)>,
    /// Body bytes sent to the server by this worker, files and records (for the soak's ratio).
    sent_bytes: u64,
}

impl Worker {
    pub fn new(store: Store, config: SyncConfig) -> Result<Worker, SyncError> {
        Self::with_status(store, config, Arc::default())
    }

    fn with_status(
        store: Store,
        config: SyncConfig,
        status: Arc<Mutex<SyncStatus>>,
    ) -> Result<Worker, SyncError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SyncError::Client(e.to_string()))?;
        // A fresh connection per exchange: submissions are rare and large, and a connection
        // half-broken by the hall's network is never reused.
        let builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .pool_max_idle_per_host(0);
        let endpoint = http::Endpoint::new(&config.server_url, config.server_ca.as_deref());
        let client = http::client(builder, &endpoint).map_err(SyncError::Client)?;
        Ok(Worker {
            store,
            config,
            client,
            runtime,
            status,
            store_hold: None,
            sent_bytes: 0,
        })
    }

    pub fn store(&mut self) -> &mut Store {
        &mut self.store
    }

    pub fn status(&self) -> SyncStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn run_forever(mut self, wakes: &Receiver<()>) {
        tracing::info!("sync worker started");
        loop {
            // A bug in one pass must not end sync for the life of the kiosk.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run_once())) {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "sync pass failed"),
                Err(_) => tracing::error!("sync pass panicked"),
            }
            let now = now_ms();
            let poll = (self.config.poll_interval.as_millis() as i64).max(50);
            let next = match self.store.outbox_next_attempt_at() {
                Ok(Some(at)) => (at - now).clamp(50, poll),
                _ => poll,
            };
            match wakes.recv_timeout(Duration::from_millis(next as u64)) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    tracing::info!("sync worker stopped");
                    return;
                }
            }
        }
    }

    /// One pass: sends every row that is due (each at most once), asks for due review
    /// statuses, deletes what may be deleted, refreshes the status.
    ///
    /// A pass that fails on the store (an acknowledgement that cannot be recorded, say) holds the
    /// next passes back with exponential backoff: otherwise every pass would upload the whole
    /// submission again only to fail at the same write.
    pub fn run_once(&mut self) -> Result<Pass, StoreError> {
        if let Some((until, _)) = self.store_hold
            && std::time::Instant::now() < until
        {
            return Ok(Pass::default());
        }
        let result = self.pass();
        match &result {
            Ok(_) => self.store_hold = None,
            Err(e) => {
                let failures = self.store_hold.map_or(0, |(_, n)| n) + 1;
                let base = self.config.backoff_base.as_millis() as u64;
                let cap = self.config.backoff_cap.as_millis() as u64;
                let wait = base.saturating_mul(1 << (failures - 1).min(20)).min(cap);
                tracing::error!(error = %e, failures, wait_ms = wait, "sync pass failed on the kiosk's store; holding back");
                self.store_hold = Some((
                    std::time::Instant::now() + Duration::from_millis(wait),
                    failures,
                ));
            }
        }
        result
    }

    fn pass(&mut self) -> Result<Pass, StoreError> {
        let mut pass = Pass::default();
        let started = now_ms();
        let mut last = 0;
        while let Some(payload) =
            self.store
                .outbox_next_due(started, self.longest_wait_ms(), last)?
        {
            last = payload.id;
            self.deliver(payload, &mut pass)?;
        }
        let longest_poll_ms = self.config.poll_interval.as_millis() as i64 + CLOCK_SLACK_MS;
        for (id, submission) in self.store.outbox_to_poll(now_ms(), longest_poll_ms)? {
            pass.polled += 1;
            match self.exchange(
                reqwest::Method::GET,
                &format!("/v1/submissions/{submission}/status"),
                None,
            ) {
                Answer::Ok(body) => {
                    match serde_json::from_value::<ReviewState>(body["status"].clone()) {
                        Ok(review) => {
                            let next = now_ms() + self.config.poll_interval.as_millis() as i64;
                            self.store.outbox_review(id, &review, next)?;
                        }
                        Err(_) => tracing::warn!(row = id, "status answer not understood"),
                    }
                }
                Answer::Retry { why, .. } | Answer::Refused { why, .. } => {
                    tracing::info!(row = id, %why, "status not available now");
                }
                Answer::Missing(_) => tracing::warn!(row = id, "status answer not understood"),
            }
        }
        pass.purged = self.store.outbox_purge()? as u32;
        if pass.purged > 0 {
            tracing::info!(
                drafts = pass.purged,
                "local personal data deleted after acknowledgement"
            );
        }
        self.refresh_status()?;
        Ok(pass)
    }

    /// Runs passes until nothing is pending (true) or `timeout` passes (false).
    pub fn run_until_idle(&mut self, timeout: Duration) -> Result<bool, StoreError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            self.run_once()?;
            if self.store.outbox_counts()?.pending == 0 {
                return Ok(true);
            }
            if std::time::Instant::now() >= deadline {
                return Ok(false);
            }
            let wait = match self.store.outbox_next_attempt_at()? {
                Some(at) => (at - now_ms()).clamp(0, 200),
                None => 0,
            };
            std::thread::sleep(Duration::from_millis(wait as u64));
        }
    }

    fn refresh_status(&mut self) -> Result<(), StoreError> {
        let counts = self.store.outbox_counts()?;
        if let Ok(mut status) = self.status.lock() {
            status.queued = counts.pending as u32;
            status.failed = counts.failed as u32;
        }
        Ok(())
    }

    fn deliver(&mut self, payload: OutboxPayload, pass: &mut Pass) -> Result<(), StoreError> {
        pass.attempts += 1;
        let id = payload.id;
        let body = match submission_body(&payload) {
            Ok(body) => body,
            Err(why) => {
                tracing::error!(row = id, %why, "submission cannot be sent");
                pass.failed += 1;
                return self.store.outbox_failed(id, &why);
            }
        };
        let key = match attempt_key(
            self.config.regenerate_key_each_attempt,
            &payload,
            getrandom::fill,
        ) {
            Ok(key) => key,
            Err(e) => {
                // Sending under the row's own key instead would pass this attempt off as the
                // very behaviour the negative control stands against; nothing was sent, and the
                // row stays pending for the next attempt.
                let wait = self.backoff(payload.attempts);
                pass.retried += 1;
                tracing::error!(row = id, error = %e, "no random bytes for a new idempotency key; attempt postponed");
                return self
                    .store
                    .outbox_retry_later(id, now_ms() + wait, NO_FRESH_KEY);
            }
        };
        let path = format!("/v1/submissions/{key}");
        let mut answer = self.exchange(reqwest::Method::PUT, &path, Some(body.clone()));
        if let Answer::Missing(missing) = answer {
            answer = match self.upload_files(&payload, &key, &missing) {
                Some(stopped) => stopped,
                None => self.exchange(reqwest::Method::PUT, &path, Some(body)),
            };
        }
        match answer {
            Answer::Ok(answer) => {
                let Some(submission) = acknowledgement(&answer, &key, &payload.content_sha256)
                else {
                    // A 2xx that does not prove this submission was filed (a proxy's page, a
                    // captive portal, a server of another version): nothing is deleted.
                    let wait = self.backoff(payload.attempts);
                    pass.retried += 1;
                    tracing::warn!(row = id, "answer does not acknowledge this submission");
                    return self.store.outbox_retry_later(
                        id,
                        now_ms() + wait,
                        "服务器的答复未确认本次提交（编号或内容不符）",
                    );
                };
                let review = serde_json::from_value(answer["status"].clone())
                    .unwrap_or(ReviewState::UnderReview);
                let next_poll = now_ms() + self.config.poll_interval.as_millis() as i64;
                self.store
                    .outbox_acked(id, submission, &review, next_poll)?;
                pass.acked += 1;
                tracing::info!(
                    row = id,
                    attempts = payload.attempts + 1,
                    "submission acknowledged by the server"
                );
            }
            // Still missing after the uploads: a file left the server since it asked (its
            // collector); the next attempt uploads it again.
            Answer::Missing(missing) => {
                let wait = self.backoff(payload.attempts);
                pass.retried += 1;
                let why = format!("服务器仍缺少 {} 个材料文件", missing.len());
                tracing::info!(row = id, %why, "submission will be retried");
                self.store.outbox_retry_later(id, now_ms() + wait, &why)?;
            }
            Answer::Retry { wait, why } => {
                let backoff = self.backoff(payload.attempts);
                let wait = wait.map_or(backoff, |w| (w.as_millis() as i64).max(backoff));
                pass.retried += 1;
                tracing::info!(row = id, attempts = payload.attempts + 1, wait_ms = wait, %why, "submission will be retried");
                self.store.outbox_retry_later(id, now_ms() + wait, &why)?;
            }
            Answer::Refused { why, message } => {
                pass.failed += 1;
                tracing::warn!(row = id, %why, "submission refused by the server; kept for staff");
                // The applicant was told "已提交": the draft opens again with what happened, for
                // the next visit.
                let reason = format!("本次提交未被受理：{message}");
                self.store.outbox_refused(id, &why, &reason)?;
            }
        }
        Ok(())
    }

    /// Longer than any wait `deliver` schedules (backoff, or a server's `Retry-After`): a row due
    /// further ahead was scheduled before the clock stepped back.
    fn longest_wait_ms(&self) -> i64 {
        self.config
            .backoff_cap
            .max(http::MAX_RETRY_AFTER)
            .as_millis() as i64
            + CLOCK_SLACK_MS
    }

    /// Full jitter: random(0, min(cap, base * 2^attempts)) in ms.
    fn backoff(&self, attempts: i64) -> i64 {
        let base = self.config.backoff_base.as_millis() as u64;
        let cap = self.config.backoff_cap.as_millis() as u64;
        let ceiling = base.saturating_mul(1u64 << attempts.clamp(0, 30)).min(cap);
        full_jitter(ceiling, getrandom::fill) as i64
    }

    /// One request; classifies the answer. Connectivity goes into the status.
    /// Body bytes this worker has sent (files and records), since it started.
    pub fn bytes_sent(&self) -> u64 {
        self.sent_bytes
    }

    /// Uploads the files the server asked for (`missing`: hash and bytes it holds), each from
    /// the first byte it lacks. `None` once all are there; else the answer that stopped it, which
    /// the submission is handled by as if the record had got it.
    fn upload_files(
        &mut self,
        payload: &OutboxPayload,
        key: &str,
        missing: &[(String, u64)],
    ) -> Option<Answer> {
        let stop = |why: &str| {
            Some(Answer::Retry {
                wait: None,
                why: why.to_owned(),
            })
        };
        // The server checked the grant before it asked; the record carries it.
        let Some((session_id, signature)) = payload.grant.clone() else {
            return stop("提交缺少申请人登录授权");
        };
        let grant = [
            ("kiosk-submission-key", key.to_owned()),
            ("kiosk-content-sha256", payload.content_sha256.clone()),
            ("kiosk-grant-session", session_id),
            ("kiosk-grant-signature", signature),
        ];
        for (sha256, received) in missing {
            let Some(bytes) = payload
                .materials
                .iter()
                .find(|(_, sha, _)| sha == sha256)
                .and_then(|(_, _, bytes)| bytes.as_deref())
            else {
                return stop("服务器要求的文件不属于本次提交");
            };
            let offset = (*received).min(bytes.len() as u64);
            let rest = bytes[offset as usize..].to_vec();
            self.sent_bytes += rest.len() as u64;
            let upload = self
                .request(reqwest::Method::PUT, &format!("/v1/blobs/{sha256}"))
                .header("blob-offset", offset)
                .header("blob-length", bytes.len())
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(rest);
            match self.answer(with_headers(upload, &grant)) {
                Answer::Ok(done) if done["complete"] == json!(true) => {}
                Answer::Ok(_) => return stop("文件未上传完整"),
                other => return Some(other),
            }
        }
        None
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", self.config.server_url);
        self.client
            .request(method, url)
            .bearer_auth(&self.config.device_token)
    }

    fn exchange(&mut self, method: reqwest::Method, path: &str, body: Option<String>) -> Answer {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            self.sent_bytes += body.len() as u64;
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        self.answer(request)
    }

    fn answer(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let result = self.runtime.block_on(async move {
            let response = request.send().await.map_err(http::BodyError::Transport)?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| http::retry_after(v, time::OffsetDateTime::now_utc()));
            let body = http::read_limited(response, http::MAX_ANSWER_BYTES).await?;
            Ok::<_, http::BodyError>((status, retry_after, body))
        });
        let (status, retry_after, body) = match result {
            Ok(answer) => answer,
            Err(http::BodyError::TooLarge { limit }) => {
                // The server did answer, but not as it should: a server fault, retried with
                // backoff (the key makes a repeat harmless). Its content is not logged.
                self.set_online(true);
                tracing::warn!(limit, "answer from the central server too large; not read");
                return Answer::Retry {
                    wait: None,
                    why: format!("answer larger than {limit} bytes"),
                };
            }
            Err(http::BodyError::Transport(e)) => {
                // A refused certificate is "unreachable" like any network failure (retried with
                // backoff: hall IT may be replacing the certificate), but is logged and kept in
                // the row's last error as a TLS problem so it is not mistaken for a cable.
                self.set_online(false);
                let failure = http::classify(&e);
                http::log_tls_failure(&failure, "sync");
                return Answer::Retry {
                    wait: None,
                    why: failure.to_string(),
                };
            }
        };
        self.set_online(true);
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let code = status.as_u16();
        // Any answer tells whether the server takes this kiosk's token now.
        let device_refused = code == 401;
        if let Ok(mut status) = self.status.lock() {
            status.device_refused = device_refused;
        }
        if status.is_success() {
            return Answer::Ok(body);
        }
        if code == 409 && body["error"] == json!("blobs_missing") {
            let missing = body["missing"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| Some((m["sha256"].as_str()?.to_owned(), m["received"].as_u64()?)))
                .collect();
            return Answer::Missing(missing);
        }
        let why = server_message(code, &body);
        let retriable = code == 408
            || code == 429
            || status.is_server_error()
            // The bytes were damaged on the way; the server dropped them and takes them again.
            || body["error"].as_str() == Some("blob_hash_mismatch")
            || (code == 409
                && !matches!(
                    body["error"].as_str(),
                    Some("collection_approved" | "stale_version")
                ));
        match body["message"].as_str() {
            Some(message) if !retriable && !device_refused && is_own_refusal(code, &body) => {
                Answer::Refused {
                    why,
                    message: message.to_owned(),
                }
            }
            // A credential problem, or an answer that is not the server's judgement of this
            // request (a proxy's 403/404/413, a redirect, a page from a captive portal): the
            // submission waits and is sent again with backoff.
            _ => Answer::Retry {
                wait: retry_after,
                why: if device_refused {
                    format!("{why} (device token refused)")
                } else {
                    why
                },
            },
        }
    }

    fn set_online(&self, online: bool) {
        if let Ok(mut status) = self.status.lock() {
            if status.online != Some(online) {
                tracing::info!(online, "central server reachability");
            }
            status.online = Some(online);
            if online {
                status.last_contact = Some(now_ms() / 1000);
            }
        }
    }
}

/// "HTTP 400 invalid: 请按提示修改标出的项目 [basic.mobile PhoneNotBound]": the server's code,
/// message and the fields and codes of its findings (never values).
fn server_message(code: u16, body: &Value) -> String {
    let mut why = format!(
        "HTTP {code} {}: {}",
        body["error"].as_str().unwrap_or("-"),
        body["message"].as_str().unwrap_or("")
    );
    if let Some(issues) = body["issues"].as_array() {
        let list: Vec<String> = issues
            .iter()
            .map(|i| {
                format!(
                    "{} {}",
                    i["field"].as_str().unwrap_or("?"),
                    i["code"].as_str().unwrap_or("?")
                )
            })
            .collect();
        why.push_str(&format!(" [{}]", list.join("; ")));
    }
    why
}

fn with_headers(
    request: reqwest::RequestBuilder,
    headers: &[(&'static str, String)],
) -> reqwest::RequestBuilder {
    headers.iter().fold(request, |request, (name, value)| {
        request.header(*name, value)
    })
}

/// Whether `body` is the central server's own refusal of a request: the statuses with which it
/// judges a request, and its error body (`error` code and `message`), which a proxy or a portal
/// does not produce.
fn is_own_refusal(code: u16, body: &Value) -> bool {
    matches!(code, 400 | 403 | 409 | 422)
        && body["error"].as_str().is_some_and(|c| {
            !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
        && body["message"].as_str().is_some_and(|m| !m.is_empty())
}

/// The server's submission id, if `answer` proves that the server filed this submission: it
/// echoes the idempotency key and the content hash sent, and names a submission.
fn acknowledgement<'a>(answer: &'a Value, key: &str, content_sha256: &str) -> Option<&'a str> {
    let submission = answer["submission_id"].as_str()?;
    let well_formed = (1..=128).contains(&submission.len())
        && submission
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    (well_formed
        && answer["idempotency_key"].as_str() == Some(key)
        && answer["content_sha256"].as_str() == Some(content_sha256))
    .then_some(submission)
}

/// The request body: the application exactly as hashed, the files it names by hash (uploaded
/// before as blobs), the content hash and the applicant's grant.
fn submission_body(payload: &OutboxPayload) -> Result<String, String> {
    let application: Value = serde_json::from_str(&payload.application_json)
        .map_err(|_| "本机保存的申请记录无法读取".to_owned())?;
    let mut materials = Vec::with_capacity(payload.materials.len());
    for (kind, sha256, bytes) in &payload.materials {
        let bytes = bytes
            .as_ref()
            .ok_or_else(|| "本机材料文件缺失".to_owned())?;
        if canonical::sha256_hex(bytes) != *sha256 {
            return Err("本机材料文件已损坏".to_owned());
        }
        materials.push(json!({ "kind": kind, "sha256": sha256 }));
    }
    let (session_id, signature) = payload
        .grant
        .as_ref()
        .ok_or_else(|| "提交缺少申请人登录授权".to_owned())?;
    let mut body = json!({
        "application": application,
        "materials": materials,
        "content_sha256": payload.content_sha256,
        "grant": { "session_id": session_id, "signature": signature },
    });
    if let Some(version) = payload.version {
        body["version"] = json!(version);
    }
    Ok(body.to_string())
}

/// `last_error` of a row whose attempt found no random bytes for the fresh key it was to use.
const NO_FRESH_KEY: &str = "本机暂时无法生成新的提交编号，本次发送已推迟";

/// The idempotency key an attempt is sent under: the row's own, made once at submission. Only the
/// negative control (`regenerate_key_each_attempt`) asks `fill` for a fresh one on each retry;
/// without random bytes it gets the error, never the row's own key in disguise.
fn attempt_key(
    regenerate_each_attempt: bool,
    payload: &OutboxPayload,
    fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
) -> Result<String, getrandom::Error> {
    if !regenerate_each_attempt || payload.attempts == 0 {
        return Ok(payload.idempotency_key.clone());
    }
    let mut fresh = [0u8; 16];
    fill(&mut fresh)?;
    Ok(canonical::hex(&fresh))
}

/// A random delay in `0..=ceiling` ms, from `fill`'s bytes.
fn full_jitter(ceiling: u64, fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>) -> u64 {
    let mut raw = [0u8; 8];
    let random = match fill(&mut raw) {
        Ok(()) => u64::from_le_bytes(raw),
        Err(e) => {
            // The delay only spreads the retries, so a weaker source is safe here, and failing
            // the retry for it would be worse. Without any spread every kiosk of a hall would
            // retry at the same instant: the clock's nanoseconds still spread them.
            tracing::warn!(error = %e, "no random bytes for the retry delay; using the clock");
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(ceiling / 2, |d| u64::from(d.subsec_nanos()))
        }
    };
    random % (ceiling + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_random_bytes(_: &mut [u8]) -> Result<(), getrandom::Error> {
        Err(getrandom::Error::UNSUPPORTED)
    }

    fn never_asked(_: &mut [u8]) -> Result<(), getrandom::Error> {
        panic!("no random bytes are needed for the row's own key")
    }

    fn payload(attempts: i64) -> OutboxPayload {
        OutboxPayload {
            id: 1,
            idempotency_key: "0123456789abcdef0123456789abcdef".to_owned(),
            application_json: String::new(),
            content_sha256: String::new(),
            attempts,
            grant: None,
            version: None,
            materials: Vec::new(),
        }
    }

    #[test]
    fn an_attempt_goes_under_the_rows_own_key_without_asking_for_random_bytes() {
        for attempts in [0, 1, 7] {
            let key = attempt_key(false, &payload(attempts), never_asked).expect("own key");
            assert_eq!(key, payload(attempts).idempotency_key);
        }
        // The negative control's first attempt uses the key made at submission too.
        let key = attempt_key(true, &payload(0), never_asked).expect("own key");
        assert_eq!(key, payload(0).idempotency_key);
    }

    #[test]
    fn the_negative_control_without_random_bytes_does_not_fall_back_to_the_rows_key() {
        assert!(attempt_key(true, &payload(1), no_random_bytes).is_err());
        let fresh = attempt_key(true, &payload(1), |raw| {
            raw.fill(0x5a);
            Ok(())
        })
        .expect("a fresh key");
        assert_eq!(fresh, "5a".repeat(16));
    }

    #[test]
    fn the_retry_delay_without_random_bytes_stays_within_its_ceiling() {
        for ceiling in [0, 1, 999, 300_000] {
            assert!(full_jitter(ceiling, no_random_bytes) <= ceiling);
        }
        let delay = full_jitter(1_000, |raw| {
            raw.copy_from_slice(&2_500u64.to_le_bytes());
            Ok(())
        });
        assert_eq!(delay, 2_500 % 1_001);
    }

    #[test]
    fn labels() {
        assert_eq!(SyncStatus::default().label_zh(), "已同步");
        let s = SyncStatus {
            queued: 2,
            failed: 0,
            online: Some(false),
            last_contact: None,
            device_refused: false,
        };
        assert_eq!(s.label_zh(), "待上传 2 份 · 网络未连接");
    }
}
