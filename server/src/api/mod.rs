//! The HTTP API (axum), one file per resource. Who is calling is settled by the extractors in
//! `extract.rs` before a handler runs, so no handler can forget a check. Every handler runs its
//! store and hashing work on tokio's blocking pool.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use kiosk_domain::{Issue, Lang, MaterialKind, contact};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::warn;

mod accounts;
mod blob_routes;
mod extract;
mod health;
mod review;
mod sms_codes;
mod submissions;

pub use extract::{Applicant, Caller, Device, Reviewer};
pub use health::OPENAPI_JSON;
pub use submissions::{is_valid_key, strict_application};

use crate::auth;
use crate::blobs::{BlobStore, Uploading};
use crate::material_check::{DecodePool, MaterialRefusal};
use crate::sms::SmsSender;
use crate::store::{Store, StoreError};
use crate::util::sha256_hex;

/// the whole server (an attack spread over many ID numbers and kiosks).
pub const LOGIN_MAX_FAILURES: i64 = 5;
pub const LOGIN_MAX_FAILURES_PER_DEVICE: i64 = 30;
pub const LOGIN_MAX_FAILURES_GLOBAL: i64 = 1000;
pub const LOGIN_WINDOW_SECS: i64 = 15 * 60;
/// SMS codes sent per kiosk and in all per `SMS_WINDOW_SECS` (each costs money and can annoy).
pub const SMS_MAX_PER_DEVICE: i64 = 40;
pub const SMS_MAX_GLOBAL: i64 = 2000;
pub const SMS_WINDOW_SECS: i64 = 60 * 60;
/// Password resets tried per ID number and per kiosk in `RESET_WINDOW_SECS`.
pub const RESET_MAX_PER_ID: i64 = 5;
pub const RESET_MAX_PER_DEVICE: i64 = 20;
pub const RESET_WINDOW_SECS: i64 = 60 * 60;
/// How long after its session expired a grant is still honoured: a kiosk that was offline for
/// days still delivers what the applicant submitted.
pub const GRANT_GRACE_SECS: i64 = 14 * 24 * 60 * 60;
/// The record of one applicant is a few kilobytes; anything much larger is padding.
pub const APPLICATION_MAX_BYTES: usize = 64 * 1024;
/// One SMS per phone per this many seconds.
pub const SMS_INTERVAL_SECS: i64 = 60;
pub const SMS_TTL_SECS: i64 = 5 * 60;
pub const SMS_MAX_ATTEMPTS: i64 = 5;
pub const SESSION_TTL_SECS: i64 = 30 * 60;
/// Large enough for every material at its limit, several education certificates included.
pub const BODY_LIMIT_BYTES: usize = 16 * 1024 * 1024;
/// The header carrying an applicant's session (the bearer token is the kiosk's).
pub const SESSION_HEADER: &str = "x-applicant-session";
/// A record names at most this many files (every material at its most, with room).
pub const MAX_MATERIALS: usize = 32;
/// Most submissions one visit can leave queued; more is not a kiosk.
const LOGOUT_MAX_PENDING: usize = 16;

/// Every route, as the OpenAPI document must list it.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/openapi.json"),
    ("post", "/v1/sms/codes"),
    ("post", "/v1/accounts"),
    ("post", "/v1/accounts/login"),
    ("post", "/v1/accounts/password-reset"),
    ("post", "/v1/accounts/phone"),
    ("get", "/v1/accounts/me"),
    ("post", "/v1/accounts/logout"),
    ("get", "/v1/blobs/{sha256}/state"),
    ("put", "/v1/blobs/{sha256}"),
    ("put", "/v1/submissions/{idempotency_key}"),
    ("get", "/v1/submissions/{id}/status"),
    ("get", "/v1/review/submissions"),
    ("get", "/v1/review/submissions/{id}"),
    ("post", "/v1/review/submissions/{id}/approve"),
    ("post", "/v1/review/submissions/{id}/reject"),
];

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub sms: Arc<dyn SmsSender>,
    /// Bounds the memory and CPU that password hashing may take at once.
    pub hashing: Arc<auth::HashingPool>,
    /// Bounds the memory and CPU that checking uploaded images may take at once.
    pub decoding: Arc<DecodePool>,
    /// Submissions' files, staged before their records arrive (`blobs.rs`).
    pub blobs: Arc<dyn BlobStore>,
    pub uploading: Uploading,
    /// The reviewer console's sessions (`console/`).
    pub console: Arc<crate::console::Console>,
    /// Faults the soak harness injects to show that its checks can fail; all off unless a
    /// build with the `fault-injection` feature is told otherwise (`central serve`).
    pub faults: Faults,
}

/// Deliberate defects, for the soak harness's negative controls (`soak/`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Every submission is taken as new: a repeated idempotency key is neither looked up nor
    /// stored, so a retry after a lost answer is stored (or refused) as a second submission.
    pub forget_idempotency: bool,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route("/openapi.json", get(health::openapi))
        .route("/v1/sms/codes", post(sms_codes::send_sms_code))
        .route("/v1/accounts", post(accounts::register))
        .route("/v1/accounts/login", post(accounts::login))
        .route(
            "/v1/accounts/password-reset",
            post(accounts::reset_password),
        )
        .route("/v1/accounts/phone", post(accounts::bind_phone))
        .route("/v1/accounts/me", get(accounts::me))
        .route("/v1/accounts/logout", post(accounts::logout))
        .route("/v1/submissions", put(submissions::missing_key))
        .route("/v1/submissions/", put(submissions::missing_key))
        .route("/v1/blobs/{sha256}/state", get(blob_routes::blob_state))
        .route("/v1/blobs/{sha256}", put(blob_routes::put_blob))
        .route("/v1/submissions/{key}", put(submissions::submit))
        .route("/v1/submissions/{id}/status", get(submissions::status))
        .route("/v1/review/submissions", get(review::review_list))
        .route("/v1/review/submissions/{id}", get(review::review_show))
        .route(
            "/v1/review/submissions/{id}/approve",
            post(review::review_approve),
        )
        .route(
            "/v1/review/submissions/{id}/reject",
            post(review::review_reject),
        )
        .merge(crate::console::routes())
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .with_state(state)
}

// ---------------------------------------------------------------------------------------------
// Errors and helpers

/// An error answer: `{"error": code, "message": 中文说明, ...}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
    retry_after: Option<i64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: &str) -> Self {
        ApiError {
            status,
            body: json!({ "error": code, "message": message }),
            retry_after: None,
        }
    }

    fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "设备凭据缺失或无效",
        )
    }

    fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "无权执行此操作")
    }

    fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "未找到")
    }

    fn bad_request(code: &str, message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    fn unprocessable(code: &str, message: &str) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 503: the server is at its bound for expensive work; the kiosk retries after a while.
    fn busy() -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "服务器繁忙，请稍后再试",
        );
        e.retry_after = Some(BUSY_RETRY_AFTER_SECS);
        e
    }

    fn too_many(code: &str, message: &str, retry_after: i64) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, code, message);
        e.retry_after = Some(retry_after.max(1));
        e
    }

    /// 400 with field-level findings.
    fn issues(issues: Vec<Value>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: json!({
                "error": "invalid",
                "message": "请按提示修改标出的项目",
                "issues": issues,
            }),
            retry_after: None,
        }
    }

    /// 422 naming the material and what is wrong with it.
    fn material_refused(kind: MaterialKind, refusal: &MaterialRefusal) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!({
                "error": "material_refused",
                "message": refusal.message_zh_for(kind),
                "issues": [server_issue(
                    &format!("materials.{}", kind.key()),
                    refusal.code(),
                    &refusal.message_zh(),
                    &refusal.message_en(),
                )],
            }),
            retry_after: None,
        }
    }

    fn internal(what: impl std::fmt::Display) -> Self {
        warn!(error = %what, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务器内部错误，请稍后再试",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

type ApiResult = Result<Response, ApiError>;

/// How long a kiosk waits after a `503 busy`.
const BUSY_RETRY_AFTER_SECS: i64 = 2;

impl From<auth::Busy> for ApiError {
    fn from(_: auth::Busy) -> Self {
        ApiError::busy()
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Runs blocking work (SQLite, argon2, hashing) off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)?
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "malformed_body",
            &format!("请求内容不是有效的 JSON：{}", e.classify_label()),
        )
    })
}

trait ClassifyLabel {
    fn classify_label(&self) -> &'static str;
}

impl ClassifyLabel for serde_json::Error {
    fn classify_label(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        }
    }
}

fn domain_issue(issue: &Issue) -> Value {
    json!({
        "field": issue.field.key(),
        "code": issue.code,
        "severity": issue.severity,
        "message": issue.message(Lang::Zh),
        "message_en": issue.message(Lang::En),
    })
}

fn server_issue(field: &str, code: &str, zh: &str, en: &str) -> Value {
    json!({
        "field": field,
        "code": code,
        "severity": "Error",
        "message": zh,
        "message_en": en,
    })
}

fn mobile_or_issue(input: &str, field: &str) -> Result<String, ApiError> {
    contact::normalize_mobile(input).map_err(|code| {
        ApiError::issues(vec![server_issue(
            field,
            &format!("{code:?}"),
            code.message(Lang::Zh),
            code.message(Lang::En),
        )])
    })
}

/// A throttle bucket's key: what is counted, and for whom (hashed: no ID number in the table).
pub(crate) fn throttle_key(what: &str, whom: &str) -> String {
    sha256_hex(format!("{what}:{whom}").as_bytes())
}

// ---------------------------------------------------------------------------------------------
// Actors as the audit log names them

fn device_actor(device: &Caller) -> String {
    format!("device:{}", device.id)
}

fn session_actor(session_id: &str) -> String {
    format!("session:{session_id}")
}

fn reviewer_actor(reviewer: &Caller) -> String {
    format!("reviewer:{}", reviewer.id)
}
