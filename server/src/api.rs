//! The HTTP API (axum). Every handler runs its store and hashing work on tokio's blocking pool.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use kiosk_domain::catalog::IdType;
use kiosk_domain::privacy::{mask_id_number, mask_mobile, mask_name};
use kiosk_domain::record::Basic;
use kiosk_domain::{
    Application, Context, Issue, Lang, MaterialKind, Progress, ReviewState, RulesEdition, Step,
    contact, idnumber, materials, validate, wizard,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::{info, warn};

mod blob_routes;

use crate::auth;
use crate::blobs::{BlobStore, Uploading};
use crate::canonical;
use crate::material_check::{DecodePool, MaterialRefusal};
use crate::review;
use crate::sms::{SmsError, SmsSender};
use crate::store::{
    Account, AuditEntry, BureauScope, DecideError, Decision, NewAccount, NewMaterial, NewSession,
    NewSubmission, Role, SessionRow, SmsCheck, SmsCode, Store, StoreError, SubmissionRow,
    SubmitOutcome, ThrottleBucket, in_scope, replay_outcome, state_label,
};
use crate::util::{hex, is_sha256_hex, now, random_bytes, sha256_hex, today};

/// Failed logins allowed in `LOGIN_WINDOW_SECS` before 429: per ID number, per kiosk, and for
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

/// The committed OpenAPI document, served as is.
pub const OPENAPI_JSON: &str = include_str!("../../docs/api/openapi.json");

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
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .route("/v1/sms/codes", post(send_sms_code))
        .route("/v1/accounts", post(register))
        .route("/v1/accounts/login", post(login))
        .route("/v1/accounts/password-reset", post(reset_password))
        .route("/v1/accounts/phone", post(bind_phone))
        .route("/v1/accounts/me", get(me))
        .route("/v1/accounts/logout", post(logout))
        .route("/v1/submissions", put(missing_key))
        .route("/v1/submissions/", put(missing_key))
        .route("/v1/blobs/{sha256}/state", get(blob_routes::blob_state))
        .route("/v1/blobs/{sha256}", put(blob_routes::put_blob))
        .route("/v1/submissions/{key}", put(submit))
        .route("/v1/submissions/{id}/status", get(status))
        .route("/v1/review/submissions", get(review_list))
        .route("/v1/review/submissions/{id}", get(review_show))
        .route("/v1/review/submissions/{id}/approve", post(review_approve))
        .route("/v1/review/submissions/{id}/reject", post(review_reject))
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

fn sms_code_issue() -> Value {
    server_issue(
        "account.sms_code",
        "SmsCodeWrong",
        "短信验证码错误或已过期，请重新获取",
        "The SMS code is wrong or has expired",
    )
}

// ---------------------------------------------------------------------------------------------
// Authentication

/// The kiosk or reviewer behind the bearer token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// A reviewer's bureau; `None`: the province.
    pub bureau: BureauScope,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned())
            .ok_or_else(ApiError::unauthorized)?;
        let store = state.store.clone();
        let credential = blocking(move || Ok(auth::authenticate(&*store, &token)?)).await?;
        let credential = credential.ok_or_else(ApiError::unauthorized)?;
        Ok(Caller {
            id: credential.id,
            name: credential.name,
            role: credential.role,
            bureau: credential.bureau,
        })
    }
}

/// A kiosk.
pub struct Device(pub Caller);

impl FromRequestParts<AppState> for Device {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        match caller.role {
            Role::Device => Ok(Device(caller)),
            Role::Reviewer => Err(ApiError::forbidden()),
        }
    }
}

/// A finance-bureau reviewer.
pub struct Reviewer(pub Caller);

impl FromRequestParts<AppState> for Reviewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        match caller.role {
            Role::Reviewer => Ok(Reviewer(caller)),
            Role::Device => Err(ApiError::forbidden()),
        }
    }
}

/// The account of a live applicant session presented by the kiosk it was issued to.
fn applicant_session(
    store: &dyn Store,
    device: &Caller,
    token: Option<String>,
) -> Result<(Account, SessionRow), ApiError> {
    let unauthorized = || ApiError::new(StatusCode::UNAUTHORIZED, "session_required", "请先登录");
    let token = token.ok_or_else(unauthorized)?;
    let session = store
        .session(&sha256_hex(token.as_bytes()))?
        .filter(|s| s.device_id == device.id && s.revoked_at.is_none() && s.expires_at > now())
        .ok_or_else(unauthorized)?;
    let account = store
        .account(session.account_id)?
        .ok_or_else(unauthorized)?;
    Ok((account, session))
}

fn session_token(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
}

fn device_actor(device: &Caller) -> String {
    format!("device:{}", device.id)
}

fn session_actor(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// Issues a session bound to the kiosk it was asked from; writes `action` to the audit log in
/// the same transaction.
fn start_session(
    store: &dyn Store,
    device: &Caller,
    account: &Account,
    action: &str,
) -> Result<Value, ApiError> {
    let (token, token_sha256) = auth::new_session_token();
    let session_id = format!("ses_{}", hex(&random_bytes::<12>()));
    let at = now();
    store.insert_session(
        &NewSession {
            token_sha256,
            session_id: session_id.clone(),
            account_id: account.id,
            device_id: device.id.clone(),
            signing_key: kiosk_wire::grant::signing_key_hex(&token),
            expires_at: at + SESSION_TTL_SECS,
        },
        &AuditEntry::new(
            &device_actor(device),
            action,
            &session_actor(&session_id),
            &mask_id_number(&account.id_number),
            at,
        ),
    )?;
    Ok(json!({
        "session_token": token,
        "session_id": session_id,
        "expires_in": SESSION_TTL_SECS,
        "phone_binding_required": account.mobile.is_none(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Health and the API description

async fn health() -> Response {
    json_response(StatusCode::OK, &json!({ "status": "ok" }))
}

async fn openapi() -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        OPENAPI_JSON,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// SMS codes and accounts

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SmsPurpose {
    Register,
    ResetPassword,
    BindPhone,
}

impl SmsPurpose {
    fn as_str(self) -> &'static str {
        match self {
            SmsPurpose::Register => "register",
            SmsPurpose::ResetPassword => "reset_password",
            SmsPurpose::BindPhone => "bind_phone",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SmsBody {
    mobile: String,
    purpose: SmsPurpose,
    /// For `reset_password`: the code goes out only if this account has `mobile` bound.
    #[serde(default)]
    id_number: String,
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

async fn send_sms_code(
    State(state): State<AppState>,
    Device(device): Device,
    body: Bytes,
) -> ApiResult {
    let body: SmsBody = parse_body(&body)?;
    blocking(move || {
        let store = &*state.store;
        let mobile = mobile_or_issue(&body.mobile, "basic.mobile")?;
        let sent_at = now();
        let buckets = [
            ThrottleBucket {
                key: throttle_key("sms-device", &device.id),
                limit: SMS_MAX_PER_DEVICE,
            },
            ThrottleBucket {
                key: throttle_key("sms-all", ""),
                limit: SMS_MAX_GLOBAL,
            },
        ];
        let attempt = match store.throttle_attempt(
            &buckets,
            sent_at - SMS_WINDOW_SECS,
            SMS_WINDOW_SECS,
            sent_at,
        )? {
            Ok(attempt) => attempt,
            Err(wait) => {
                info!(device = %device.id, "sms throttled for the kiosk or the server");
                return Err(sms_throttled(wait));
            }
        };
        let code = crate::util::sms_code();
        let row = SmsCode {
            mobile: mobile.clone(),
            purpose: body.purpose.as_str().to_owned(),
            code_sha256: sha256_hex(code.as_bytes()),
            sent_at,
            expires_at: sent_at + SMS_TTL_SECS,
            attempts: 0,
            used: false,
        };
        // A reset code goes out only to the phone bound to that ID number; the answer is the
        // same either way so that it does not tell who is registered.
        let deliver = match body.purpose {
            SmsPurpose::ResetPassword => {
                let id = idnumber::normalize(&body.id_number);
                store
                    .account_by_id_number(&id)?
                    .is_some_and(|a| a.mobile.as_deref() == Some(mobile.as_str()))
            }
            _ => true,
        };
        if let Err(wait) = store.put_sms_code(&row, SMS_INTERVAL_SECS)? {
            info!(mobile = %mask_mobile(&mobile), "sms throttled");
            return Err(sms_throttled(wait));
        }
        if deliver {
            state.sms.send_code(&mobile, &code).map_err(|e| match e {
                SmsError::Disabled => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "sms_unavailable",
                    "短信服务暂不可用",
                ),
                other => ApiError::internal(other),
            })?;
        }
        store.throttle_finish(
            &attempt,
            false,
            Some(&AuditEntry::new(
                &device_actor(&device),
                &format!("sms {}", body.purpose.as_str()),
                &mask_mobile(&mobile),
                "issued",
                sent_at,
            )),
        )?;
        info!(mobile = %mask_mobile(&mobile), purpose = body.purpose.as_str(), "sms code issued");
        Ok(json_response(
            StatusCode::ACCEPTED,
            &json!({ "expires_in": SMS_TTL_SECS, "resend_after": SMS_INTERVAL_SECS }),
        ))
    })
    .await
}

fn sms_throttled(wait: i64) -> ApiError {
    ApiError::too_many("sms_throttled", "验证码发送过于频繁，请稍后再试", wait)
}

/// Checks and uses up an SMS code in one atomic step (see `Store::sms_code_consume`).
fn check_sms_code(
    store: &dyn Store,
    mobile: &str,
    purpose: SmsPurpose,
    code: &str,
) -> Result<(), ApiError> {
    let presented = sha256_hex(code.trim().as_bytes());
    match store.sms_code_consume(
        mobile,
        purpose.as_str(),
        &presented,
        now(),
        SMS_MAX_ATTEMPTS,
    )? {
        SmsCheck::Accepted => Ok(()),
        SmsCheck::Refused => Err(ApiError::issues(vec![sms_code_issue()])),
    }
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RegisterBody {
    id_type: Option<IdType>,
    id_number: String,
    name: String,
    mobile: String,
    sms_code: String,
    password: String,
    password_confirm: String,
}

async fn register(State(state): State<AppState>, Device(device): Device, body: Bytes) -> ApiResult {
    let body: RegisterBody = parse_body(&body)?;
    blocking(move || {
        let store = &*state.store;
        let id_type = body.id_type.unwrap_or(IdType::ResidentIdCard);
        let basic = Basic {
            name: body.name.trim().to_owned(),
            id_type: Some(id_type),
            id_number: body.id_number.clone(),
            mobile: body.mobile.clone(),
            ..Basic::default()
        };
        let issues = validate::registration(
            &basic,
            &body.password,
            &body.password_confirm,
            &body.sms_code,
            today(),
        );
        if !issues.is_empty() {
            return Err(ApiError::issues(issues.iter().map(domain_issue).collect()));
        }
        let id_number = idnumber::parse(&body.id_number, id_type, today())
            .map_err(|_| ApiError::bad_request("invalid", "证件号码无效"))?
            .as_str()
            .to_owned();
        let mobile = mobile_or_issue(&body.mobile, "basic.mobile")?;
        let taken = || {
            ApiError::new(
                StatusCode::CONFLICT,
                "id_number_taken",
                "该证件号码已注册，请直接登录；如非本人注册，请联系所属财政部门",
            )
        };
        // The code first: only someone who holds the phone learns whether the ID number is
        // taken, and hashing runs for both answers alike.
        check_sms_code(store, &mobile, SmsPurpose::Register, &body.sms_code)?;
        let password_hash = state
            .hashing
            .hash(&body.password)?
            .map_err(ApiError::internal)?;
        let new = NewAccount {
            id_type: serde_json::to_value(id_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            id_number: id_number.clone(),
            name: basic.name.clone(),
            mobile: Some(mobile.clone()),
            password_hash,
        };
        let audit = AuditEntry::new(
            &device_actor(&device),
            "register",
            &mask_id_number(&id_number),
            "ok",
            now(),
        );
        let Some(account_id) = store.insert_account(&new, &audit)? else {
            return Err(taken());
        };
        let account = store.account(account_id)?.ok_or_else(ApiError::not_found)?;
        info!(
            id_number = %mask_id_number(&id_number),
            name = %mask_name(&new.name),
            mobile = %mask_mobile(&mobile),
            "account registered"
        );
        Ok(json_response(
            StatusCode::CREATED,
            &start_session(store, &device, &account, "session after registration")?,
        ))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct LoginBody {
    id_number: String,
    password: String,
}

/// A throttle bucket's key: what is counted, and for whom (hashed: no ID number in the table).
pub(crate) fn throttle_key(what: &str, whom: &str) -> String {
    sha256_hex(format!("{what}:{whom}").as_bytes())
}

async fn login(State(state): State<AppState>, Device(device): Device, body: Bytes) -> ApiResult {
    let body: LoginBody = parse_body(&body)?;
    blocking(move || {
        let store = &*state.store;
        let id_number = idnumber::normalize(&body.id_number);
        let t = now();
        let buckets = [
            ThrottleBucket {
                key: throttle_key("login", &id_number),
                limit: LOGIN_MAX_FAILURES,
            },
            ThrottleBucket {
                key: throttle_key("login-device", &device.id),
                limit: LOGIN_MAX_FAILURES_PER_DEVICE,
            },
            ThrottleBucket {
                key: throttle_key("login-all", ""),
                limit: LOGIN_MAX_FAILURES_GLOBAL,
            },
        ];
        // The attempt is counted before the password is checked, so that parallel guesses
        // cannot all pass a count taken before any of them failed.
        let attempt =
            match store.throttle_attempt(&buckets, t - LOGIN_WINDOW_SECS, LOGIN_WINDOW_SECS, t)? {
                Ok(attempt) => attempt,
                Err(wait) => {
                    info!(id_number = %mask_id_number(&id_number), "login throttled");
                    return Err(ApiError::too_many(
                        "login_throttled",
                        "密码错误次数过多，请稍后再试或通过“忘记密码”重置",
                        wait,
                    ));
                }
            };
        let account = store.account_by_id_number(&id_number)?;
        let hash = account
            .as_ref()
            .map_or(auth::dummy_password_hash(), |a| a.password_hash.as_str());
        let valid = state.hashing.verify(&body.password, hash)? && account.is_some();
        let Some(account) = account.filter(|_| valid) else {
            store.throttle_finish(
                &attempt,
                false,
                Some(&AuditEntry::new(
                    &device_actor(&device),
                    "login failed",
                    &mask_id_number(&id_number),
                    "bad credentials",
                    now(),
                )),
            )?;
            info!(id_number = %mask_id_number(&id_number), "login failed");
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad_credentials",
                "证件号码或密码错误",
            ));
        };
        let session = start_session(store, &device, &account, "login")?;
        store.throttle_finish(&attempt, true, None)?;
        info!(id_number = %mask_id_number(&id_number), "login");
        Ok(json_response(StatusCode::OK, &session))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ResetBody {
    id_number: String,
    mobile: String,
    sms_code: String,
    new_password: String,
    new_password_confirm: String,
}

async fn reset_password(
    State(state): State<AppState>,
    Device(device): Device,
    body: Bytes,
) -> ApiResult {
    let body: ResetBody = parse_body(&body)?;
    blocking(move || {
        let store = &*state.store;
        let mut issues = Vec::new();
        if let Err(code) = contact::check_password(&body.new_password) {
            issues.push(server_issue(
                "account.password",
                &format!("{code:?}"),
                code.message(Lang::Zh),
                code.message(Lang::En),
            ));
        }
        if body.new_password != body.new_password_confirm {
            let code = kiosk_domain::IssueCode::PasswordMismatch;
            issues.push(server_issue(
                "account.password_confirm",
                "PasswordMismatch",
                code.message(Lang::Zh),
                code.message(Lang::En),
            ));
        }
        if !issues.is_empty() {
            return Err(ApiError::issues(issues));
        }
        let mobile = mobile_or_issue(&body.mobile, "basic.mobile")?;
        let id_number = idnumber::normalize(&body.id_number);
        let t = now();
        let buckets = [
            ThrottleBucket {
                key: throttle_key("reset", &id_number),
                limit: RESET_MAX_PER_ID,
            },
            ThrottleBucket {
                key: throttle_key("reset-device", &device.id),
                limit: RESET_MAX_PER_DEVICE,
            },
        ];
        let attempt =
            match store.throttle_attempt(&buckets, t - RESET_WINDOW_SECS, RESET_WINDOW_SECS, t)? {
                Ok(attempt) => attempt,
                Err(wait) => {
                    return Err(ApiError::too_many(
                        "reset_throttled",
                        "重置密码尝试次数过多，请稍后再试",
                        wait,
                    ));
                }
            };
        let refused = |store: &dyn Store| -> Result<Response, ApiError> {
            store.throttle_finish(
                &attempt,
                false,
                Some(&AuditEntry::new(
                    &device_actor(&device),
                    "password reset failed",
                    &mask_id_number(&id_number),
                    "wrong code or phone",
                    now(),
                )),
            )?;
            Err(ApiError::issues(vec![sms_code_issue()]))
        };
        if check_sms_code(store, &mobile, SmsPurpose::ResetPassword, &body.sms_code).is_err() {
            return refused(store);
        }
        let Some(account) = store
            .account_by_id_number(&id_number)?
            .filter(|a| a.mobile.as_deref() == Some(mobile.as_str()))
        else {
            return refused(store);
        };
        let hash = state
            .hashing
            .hash(&body.new_password)?
            .map_err(ApiError::internal)?;
        store.set_password(
            account.id,
            &hash,
            &AuditEntry::new(
                &device_actor(&device),
                "password reset",
                &mask_id_number(&id_number),
                "ok; sessions revoked",
                now(),
            ),
        )?;
        store.throttle_finish(&attempt, true, None)?;
        info!(id_number = %mask_id_number(&id_number), "password reset");
        Ok(json_response(StatusCode::OK, &json!({ "reset": true })))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct BindBody {
    mobile: String,
    sms_code: String,
}

async fn bind_phone(
    State(state): State<AppState>,
    Device(device): Device,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body: BindBody = parse_body(&body)?;
    let token = session_token(&headers);
    blocking(move || {
        let store = &*state.store;
        let (account, session) = applicant_session(store, &device, token)?;
        if account.mobile.is_some() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "phone_already_bound",
                "该账号已绑定手机号",
            ));
        }
        let mobile = mobile_or_issue(&body.mobile, "basic.mobile")?;
        check_sms_code(store, &mobile, SmsPurpose::BindPhone, &body.sms_code)?;
        store.set_mobile(
            account.id,
            &mobile,
            &AuditEntry::new(
                &session_actor(&session.session_id),
                "bind phone",
                &mask_id_number(&account.id_number),
                &mask_mobile(&mobile),
                now(),
            ),
        )?;
        info!(
            id_number = %mask_id_number(&account.id_number),
            mobile = %mask_mobile(&mobile),
            "phone bound"
        );
        Ok(json_response(StatusCode::OK, &json!({ "bound": true })))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct LogoutBody {
    /// Idempotency keys of submissions this session granted that the kiosk has not delivered
    /// yet: they stay deliverable after the session ends.
    pending_keys: Vec<String>,
}

/// Most submissions one visit can leave queued; more is not a kiosk.
const LOGOUT_MAX_PENDING: usize = 16;

/// Ends an applicant session (log-out, or the kiosk's idle wipe).
async fn logout(
    State(state): State<AppState>,
    Device(device): Device,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body: LogoutBody = if body.is_empty() {
        LogoutBody::default()
    } else {
        parse_body(&body)?
    };
    if body.pending_keys.len() > LOGOUT_MAX_PENDING
        || body.pending_keys.iter().any(|k| !is_valid_key(k))
    {
        return Err(ApiError::bad_request(
            "pending_keys_malformed",
            "待上传提交的幂等键无效",
        ));
    }
    let token = session_token(&headers);
    blocking(move || {
        let store = &*state.store;
        let (account, session) = applicant_session(store, &device, token.clone())?;
        let token_sha256 = sha256_hex(token.unwrap_or_default().as_bytes());
        store.revoke_session(
            &token_sha256,
            &body.pending_keys,
            &AuditEntry::new(
                &device_actor(&device),
                "logout",
                &session_actor(&session.session_id),
                &format!(
                    "{}; {} pending",
                    mask_id_number(&account.id_number),
                    body.pending_keys.len()
                ),
                now(),
            ),
        )?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

async fn me(
    State(state): State<AppState>,
    Device(device): Device,
    headers: axum::http::HeaderMap,
) -> ApiResult {
    let token = session_token(&headers);
    blocking(move || {
        let (account, _) = applicant_session(&*state.store, &device, token)?;
        // Their collection as the province has it: a kiosk that deleted its copy after delivery
        // shows the review status (and a rejected record to correct) at the next log-in.
        let latest = state
            .store
            .latest_submission_of(&account.id_number)?
            .map(|row| {
                let application: Value =
                    serde_json::from_str(&row.application_json).unwrap_or(Value::Null);
                json!({
                    "id": row.id,
                    "review": row.review,
                    "received_at": row.received_at,
                    // The kiosk sends one more than this with the applicant's next submission.
                    "version": row.version,
                    "application": application,
                })
            });
        Ok(json_response(
            StatusCode::OK,
            // The applicant's own data, for the kiosk at which they just logged in (it fills
            // the form, locked); the masked forms are for staff screens.
            &json!({
                "latest_submission": latest,
                "id_type": account.id_type,
                "id_number": account.id_number,
                "name": account.name,
                "mobile": account.mobile,
                "id_number_masked": mask_id_number(&account.id_number),
                "name_masked": mask_name(&account.name),
                "mobile_masked": account.mobile.as_deref().map(mask_mobile),
                "phone_binding_required": account.mobile.is_none(),
            }),
        ))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Submissions

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MaterialUpload {
    kind: MaterialKind,
    /// The blob uploaded before the record (`PUT /v1/blobs/{sha256}`).
    sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmissionBody {
    application: Value,
    materials: Vec<MaterialUpload>,
    content_sha256: String,
    /// The applicant session's grant on this submission (`kiosk_wire::grant`).
    grant: Option<Grant>,
    /// The applicant's version of the collection: one more than the `version` of the
    /// `latest_submission` the kiosk got at log-in (1 when there was none). Orders the
    /// applicant's submissions across kiosks; without it, a submission counts as made on arrival.
    #[serde(default)]
    version: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Grant {
    session_id: String,
    signature: String,
}

/// 16 to 128 characters of `A-Z a-z 0-9 - _` (a UUID fits).
pub fn is_valid_key(key: &str) -> bool {
    (16..=128).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn missing_key(Device(_device): Device) -> ApiError {
    ApiError::bad_request("idempotency_key_missing", "缺少幂等键（Idempotency key）")
}

fn replayed(response_json: &str) -> ApiResult {
    let body: Value = serde_json::from_str(response_json).map_err(ApiError::internal)?;
    let mut response = json_response(StatusCode::OK, &body);
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(response)
}

fn stale_version() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "stale_version",
        "该申请人已有更新的提交，本次提交为旧版本，未予受理",
    )
}

fn key_reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "该幂等键已用于内容不同的提交",
    )
}

/// Findings about the materials: every file the record lists must be uploaded with the same
/// hash and size; nothing else may be uploaded. (Each file was decoded before this.)
/// A record names at most this many files (every material at its most, with room).
pub const MAX_MATERIALS: usize = 32;

/// The files the record names, read from the blob store; else a 409 naming every blob that is
/// not there complete with the bytes held of it, for the kiosk to upload from there before it
/// sends the record again (so a kiosk may send the record first and upload only what is asked).
fn staged_uploads(
    state: &AppState,
    materials: &[MaterialUpload],
) -> Result<Vec<(MaterialKind, String, Vec<u8>)>, ApiError> {
    if materials.len() > MAX_MATERIALS {
        return Err(ApiError::unprocessable(
            "too_many_materials",
            &format!("一次提交最多 {MAX_MATERIALS} 个材料文件"),
        ));
    }
    let mut uploads = Vec::with_capacity(materials.len());
    let mut missing = Vec::new();
    for m in materials {
        let bytes = state
            .blobs
            .read(&m.sha256)
            .map_err(ApiError::internal)?
            // A file damaged on disk since it was checked is uploaded again.
            .filter(|bytes| sha256_hex(bytes) == m.sha256);
        match bytes {
            Some(bytes) => uploads.push((m.kind, m.sha256.clone(), bytes)),
            None => {
                let held = state.blobs.held(&m.sha256).map_err(ApiError::internal)?;
                // What is held but damaged starts over; the rest resumes where it stopped.
                let received = if held.complete { 0 } else { held.bytes };
                if held.complete {
                    state.blobs.remove(&m.sha256).map_err(ApiError::internal)?;
                }
                missing.push(json!({ "sha256": m.sha256, "received": received }));
            }
        }
    }
    if !missing.is_empty() {
        missing.sort_by(|a, b| a["sha256"].as_str().cmp(&b["sha256"].as_str()));
        missing.dedup();
        let mut e = ApiError::new(
            StatusCode::CONFLICT,
            "blobs_missing",
            "材料文件尚未上传完整，请先上传",
        );
        e.body["missing"] = json!(missing);
        return Err(e);
    }
    Ok(uploads)
}

fn material_issues(app: &Application, uploads: &[(MaterialKind, String, Vec<u8>)]) -> Vec<Value> {
    let mut issues = Vec::new();
    let listed = materials::submission_files(app.data());
    for (kind, file) in &listed {
        let found = uploads
            .iter()
            .find(|(k, sha, _)| k == kind && *sha == file.sha256);
        let problem = match found {
            None => Some((
                "MaterialNotUploaded",
                "材料文件未上传",
                "The file was not uploaded",
            )),
            Some((_, _, bytes)) if bytes.len() as u64 != file.bytes => Some((
                "MaterialSizeDiffers",
                "材料文件大小与记录不符",
                "The file size differs from the record",
            )),
            _ => None,
        };
        if let Some((code, zh, en)) = problem {
            issues.push(server_issue(
                &format!("materials.{}", kind.key()),
                code,
                zh,
                en,
            ));
        }
    }
    for (kind, sha, _) in uploads {
        if !listed.iter().any(|(k, f)| k == kind && f.sha256 == *sha) {
            issues.push(server_issue(
                &format!("materials.{}", kind.key()),
                "MaterialUnexpected",
                "上传了申请记录中没有的材料文件",
                "A file was uploaded that the record does not list",
            ));
        }
    }
    issues
}

/// The record's identity must be the account's (the wizard copies it read-only from
/// registration), with the account's bound phone.
fn account_issues(app: &Application, account: &Account) -> Vec<Value> {
    let basic = &app.data().basic;
    let mut issues = Vec::new();
    if account.name != basic.name.trim() {
        issues.push(server_issue(
            "basic.name",
            "NameDiffersFromAccount",
            "姓名与注册信息不一致",
            "The name differs from the account",
        ));
    }
    let mobile = contact::normalize_mobile(&basic.mobile).ok();
    match &account.mobile {
        None => issues.push(server_issue(
            "basic.mobile",
            "PhoneNotBound",
            "请先绑定手机号",
            "The account has no bound phone yet",
        )),
        Some(bound) if Some(bound) != mobile.as_ref() => issues.push(server_issue(
            "basic.mobile",
            "MobileDiffersFromAccount",
            "手机号与账号绑定的手机号不一致",
            "The mobile number differs from the account's",
        )),
        Some(_) => {}
    }
    issues
}

fn locked_error(applicant: &str, locked: &ReviewState) -> ApiError {
    info!(applicant = %mask_id_number(applicant), "submission refused: collection locked");
    let (code, message) = match locked {
        ReviewState::Approved => ("collection_approved", "审核已通过，信息采集不能再修改"),
        _ => (
            "collection_under_review",
            "信息正在审核中，暂时不能重新提交",
        ),
    };
    ApiError::new(StatusCode::CONFLICT, code, message)
}

fn status_body(row: &SubmissionRow) -> Value {
    json!({
        "submission_id": row.id,
        "status": row.review,
        "status_label": state_label(&row.review),
        "received_at": row.received_at,
        "decided_at": row.decided_at,
    })
}

async fn submit(
    State(state): State<AppState>,
    Device(device): Device,
    Path(key): Path<String>,
    body: Bytes,
) -> ApiResult {
    if !is_valid_key(&key) {
        return Err(ApiError::bad_request(
            "idempotency_key_malformed",
            "幂等键格式无效：须为 16 至 128 个字母、数字、“-”或“_”",
        ));
    }
    blocking(move || submit_blocking(&state, &device, key, &body)).await
}

fn submit_blocking(state: &AppState, device: &Caller, key: String, body: &[u8]) -> ApiResult {
    let store = &*state.store;
    let body: SubmissionBody = parse_body(body)?;
    if !is_sha256_hex(&body.content_sha256)
        || body.materials.iter().any(|m| !is_sha256_hex(&m.sha256))
    {
        return Err(ApiError::bad_request(
            "malformed_hash",
            "哈希值须为 64 位小写十六进制",
        ));
    }
    if body.version.is_some_and(|v| v < 1) {
        return Err(ApiError::bad_request(
            "malformed_version",
            "版本号须为不小于 1 的整数",
        ));
    }
    let declared: Vec<(String, String)> = body
        .materials
        .iter()
        .map(|m| (m.kind.key().to_owned(), m.sha256.clone()))
        .collect();
    let content_sha256 = canonical::content_sha256(&body.application, &declared);
    if content_sha256 != body.content_sha256 {
        return Err(ApiError::unprocessable(
            "content_hash_mismatch",
            "提交内容的哈希值与声明不符",
        ));
    }
    let earlier_answer = |earlier: SubmissionRow| {
        // Only read for a key another kiosk sent: the record's applicant must be the first's.
        let claimed = (earlier.device_id != device.id)
            .then(|| serde_json::from_value::<Application>(body.application.clone()).ok())
            .flatten()
            .and_then(|app| applicant_of(&app));
        match replay_outcome(&earlier, &device.id, &content_sha256, claimed.as_deref()) {
            SubmitOutcome::Replayed { response_json } => {
                if earlier.device_id != device.id {
                    info!(submission = %earlier.id, device = %device.id, first_device = %earlier.device_id, "replay from another device answered");
                }
                replayed(&response_json)
            }
            _ => Err(key_reused()),
        }
    };
    // A repeat of an accepted key is answered as the first time, whatever became of the session
    // since: the first request's grant was checked then. From another kiosk (the same one
    // enrolled anew) only with the same content for the same applicant, and the answer holds
    // nothing personal.
    let earlier_by_key = || -> Result<Option<SubmissionRow>, ApiError> {
        if state.faults.forget_idempotency {
            return Ok(None);
        }
        Ok(store.submission_by_key(&device.id, &key)?)
    };
    if let Some(earlier) = earlier_by_key()? {
        return earlier_answer(earlier);
    }
    let grant = body.grant.as_ref().ok_or_else(|| {
        grant_refused(
            "grant_required",
            "提交须由已登录的申请人授权，请申请人登录后提交",
        )
    })?;
    let session = checked_grant(store, device, &key, &content_sha256, grant)?;
    let account = store
        .account(session.account_id)?
        .ok_or_else(|| grant_refused("grant_invalid", "提交授权无效"))?;
    let app = strict_application(&body.application)?;
    let basic = &app.data().basic;
    let applicant = applicant_of(&app);
    if applicant.as_deref() != Some(account.id_number.as_str()) {
        info!(device = %device.id, session = %session.session_id, "submission for another applicant refused");
        return Err(grant_refused(
            "applicant_mismatch",
            "提交记录的证件号码与登录的申请人不一致",
        ));
    }
    let applicant = account.id_number.clone();
    let uploads = match staged_uploads(state, &body.materials) {
        Ok(uploads) => uploads,
        Err(missing) => {
            // A concurrent request with the same key may have committed since the lookup above
            // and taken the staged files into the database: its answer is this one's.
            if let Some(earlier) = earlier_by_key()? {
                return earlier_answer(earlier);
            }
            return Err(missing);
        }
    };
    // Decoded here, whatever the kiosk claims; only for a granted submission, so that nobody
    // without an applicant's session can make the server decode.
    for (kind, _, bytes) in &uploads {
        match state.decoding.check(*kind, bytes, &app.rules().limits()) {
            Ok(_) => {}
            Err(MaterialRefusal::Busy { .. }) => return Err(ApiError::busy()),
            Err(refusal) => {
                info!(device = %device.id, kind = kind.key(), code = refusal.code(), "material refused");
                return Err(ApiError::material_refused(*kind, &refusal));
            }
        }
    }
    let progress = Progress {
        validation: Context {
            today: today(),
            limits: app.rules().limits(),
        },
        signed_in: true,
    };
    let mut issues: Vec<Value> = Step::ALL
        .iter()
        .flat_map(|step| wizard::step_issues(*step, &app, &progress))
        .map(|issue| domain_issue(&issue))
        .collect();
    issues.extend(material_issues(&app, &uploads));
    // A locked collection is refused before its content is judged.
    if let Some(locked) = store.applicant_lock(&applicant)? {
        // A concurrent request with the same key may have committed since the lookup above:
        // its answer is this request's answer, not a conflict.
        if let Some(earlier) = earlier_by_key()? {
            return earlier_answer(earlier);
        }
        return Err(locked_error(&applicant, &locked));
    }
    issues.extend(account_issues(&app, &account));
    if !issues.is_empty() {
        info!(device = %device.id, issues = issues.len(), "submission incomplete");
        return Err(ApiError::issues(issues));
    }
    let id = format!(
        "{}{}",
        crate::store::SUBMISSION_ID_PREFIX,
        hex(&random_bytes::<12>())
    );
    let received_at = now();
    let receipt_code = crate::util::receipt_code();
    let response = json!({
        "submission_id": id,
        "receipt_code": receipt_code,
        "idempotency_key": key,
        "content_sha256": content_sha256,
        "status": ReviewState::UnderReview,
        "status_label": state_label(&ReviewState::UnderReview),
    });
    let staged: Vec<String> = uploads.iter().map(|(_, sha, _)| sha.clone()).collect();
    let submission = NewSubmission {
        id: id.clone(),
        device_id: device.id.clone(),
        // A server that forgets keys (a fault) stores each attempt under a key of its own.
        idempotency_key: if state.faults.forget_idempotency {
            format!("{key}-{}", hex(&random_bytes::<6>()))
        } else {
            key
        },
        content_sha256,
        applicant: applicant.clone(),
        application_json: body.application.to_string(),
        materials: uploads
            .into_iter()
            .map(|(kind, sha256, bytes)| NewMaterial {
                kind: kind.key().to_owned(),
                sha256,
                bytes,
            })
            .collect(),
        response_json: response.to_string(),
        received_at,
        bureau: basic.finance_bureau.map(|code| code.0),
        session_id: session.session_id.clone(),
        version: body.version,
        receipt_code,
        audit: AuditEntry::new(
            &session_actor(&session.session_id),
            "submit",
            &id,
            &format!("{} via device {}", mask_id_number(&applicant), device.id),
            received_at,
        ),
    };
    match store.submit(&submission)? {
        SubmitOutcome::Created { response_json } => {
            info!(
                submission = %id,
                device = %device.id,
                applicant = %mask_id_number(&applicant),
                "submission received"
            );
            // The bytes are in the database now, committed with the record.
            for sha in &staged {
                if let Err(e) = state.blobs.remove(sha) {
                    warn!(error = %e, "staged blob not removed; the collector will");
                }
            }
            let body: Value = serde_json::from_str(&response_json).map_err(ApiError::internal)?;
            Ok(json_response(StatusCode::OK, &body))
        }
        SubmitOutcome::Replayed { response_json } => replayed(&response_json),
        SubmitOutcome::KeyReused => Err(key_reused()),
        SubmitOutcome::StaleVersion => {
            info!(
                device = %device.id,
                applicant = %mask_id_number(&applicant),
                version = body.version.unwrap_or_default(),
                "submission refused: an older version than the applicant's latest"
            );
            Err(stale_version())
        }
        SubmitOutcome::ApplicantLocked(locked) => Err(locked_error(&applicant, &locked)),
    }
}

/// The normalised ID number a record names, if it is valid.
fn applicant_of(app: &Application) -> Option<String> {
    let basic = &app.data().basic;
    basic
        .id_type
        .and_then(|t| idnumber::parse(&basic.id_number, t, today()).ok())
        .map(|id| id.as_str().to_owned())
}

fn grant_refused(code: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, message)
}

/// The session whose grant this is, if the grant is valid for this submission from this kiosk:
/// made by a session issued at this kiosk, over this key and content, and either the session
/// is live, or it ended by log-out naming this key as pending, or it expired less than
/// `GRANT_GRACE_SECS` ago.
fn checked_grant(
    store: &dyn Store,
    device: &Caller,
    key: &str,
    content_sha256: &str,
    grant: &Grant,
) -> Result<SessionRow, ApiError> {
    let invalid = || grant_refused("grant_invalid", "提交授权无效，请申请人重新登录后提交");
    if grant.session_id.len() > 64 {
        return Err(invalid());
    }
    let session = store
        .session_by_id(&grant.session_id)?
        .filter(|s| s.device_id == device.id)
        .ok_or_else(invalid)?;
    if !kiosk_wire::grant::verify(
        &session.signing_key,
        &session.session_id,
        key,
        content_sha256,
        &grant.signature,
    ) {
        info!(device = %device.id, session = %session.session_id, "submission grant does not verify");
        return Err(invalid());
    }
    let t = now();
    let usable = match session.revoked_at {
        Some(_) => store.session_kept_key(&session.session_id, key)?,
        None => t <= session.expires_at + GRANT_GRACE_SECS,
    };
    if !usable {
        info!(device = %device.id, session = %session.session_id, "submission grant of an ended session");
        return Err(grant_refused(
            "grant_expired",
            "提交授权已失效，请申请人重新登录后提交",
        ));
    }
    Ok(session)
}

/// The record as the domain reads it, refused if it carries anything the domain does not
/// know, is larger than a record can be, or claims a review state only the server may set.
pub fn strict_application(application: &Value) -> Result<Application, ApiError> {
    if application.to_string().len() > APPLICATION_MAX_BYTES {
        return Err(ApiError::unprocessable(
            "application_too_large",
            "申请记录过大",
        ));
    }
    let named_edition = application.get("rules");
    if named_edition.is_some_and(|name| name.as_str().and_then(RulesEdition::from_name).is_none()) {
        return Err(ApiError::unprocessable(
            "rules_edition_unknown",
            "申请记录所依据的采集规则版本本服务器尚不支持，请联系工作人员升级服务器",
        ));
    }
    let app: Application = serde_json::from_value(application.clone())
        .map_err(|_| ApiError::bad_request("malformed_application", "申请记录格式无效"))?;
    // The domain's own serialisation is the schema: a record that does not read back the same
    // has fields the domain does not know (or spells known ones differently). A record queued
    // before editions existed names none and is read as the first.
    let mut reread = serde_json::to_value(&app).map_err(ApiError::internal)?;
    if named_edition.is_none()
        && app.rules() == RulesEdition::default()
        && let Some(fields) = reread.as_object_mut()
    {
        fields.remove("rules");
    }
    if reread != *application {
        return Err(ApiError::unprocessable(
            "application_unknown_fields",
            "申请记录含有无法识别的内容",
        ));
    }
    if *app.review() != ReviewState::Submitted {
        return Err(ApiError::unprocessable(
            "review_state_not_settable",
            "审核状态由审核部门设定，提交时须为“已提交”",
        ));
    }
    Ok(app)
}

async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    blocking(move || {
        let row = state
            .store
            .submission(&id)?
            // A kiosk sees only its own submissions, a reviewer only their bureau's; others are
            // "not found", not "forbidden".
            .filter(|row| match caller.role {
                Role::Reviewer => in_scope(caller.bureau, row.bureau),
                Role::Device => row.device_id == caller.id,
            })
            .ok_or_else(ApiError::not_found)?;
        Ok(json_response(StatusCode::OK, &status_body(&row)))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Review

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
}

fn summary(row: &SubmissionRow) -> Value {
    let name = serde_json::from_str::<Value>(&row.application_json)
        .ok()
        .and_then(|v| v["data"]["basic"]["name"].as_str().map(mask_name))
        .unwrap_or_default();
    let mut body = status_body(row);
    body["device_id"] = json!(row.device_id);
    body["applicant_masked"] = json!(mask_id_number(&row.applicant));
    body["name_masked"] = json!(name);
    body
}

async fn review_list(
    State(state): State<AppState>,
    Reviewer(reviewer): Reviewer,
    Query(query): Query<ListQuery>,
) -> ApiResult {
    if let Some(s) = &query.state
        && !["under_review", "rejected", "approved"].contains(&s.as_str())
    {
        return Err(ApiError::bad_request(
            "bad_state",
            "state 须为 under_review、rejected 或 approved",
        ));
    }
    blocking(move || {
        let rows = state
            .store
            .submissions(query.state.as_deref(), reviewer.bureau)?;
        let list: Vec<Value> = rows.iter().map(summary).collect();
        Ok(json_response(
            StatusCode::OK,
            &json!({ "submissions": list }),
        ))
    })
    .await
}

async fn review_show(
    State(state): State<AppState>,
    Reviewer(reviewer): Reviewer,
    Path(id): Path<String>,
) -> ApiResult {
    blocking(move || {
        let store = &*state.store;
        let row = store
            .submission(&id)?
            .filter(|row| in_scope(reviewer.bureau, row.bureau))
            .ok_or_else(ApiError::not_found)?;
        let materials: Vec<Value> = store
            .materials(&id)?
            .into_iter()
            .map(|m| json!({ "kind": m.kind, "sha256": m.sha256, "bytes": m.bytes }))
            .collect();
        store.audit(&AuditEntry::new(
            &format!("reviewer:{}", reviewer.id),
            "view",
            &id,
            "ok",
            now(),
        ))?;
        let mut body = summary(&row);
        body["application"] =
            serde_json::from_str(&row.application_json).map_err(ApiError::internal)?;
        body["materials"] = json!(materials);
        Ok(json_response(StatusCode::OK, &body))
    })
    .await
}

fn decision_response(id: &str, result: Result<ReviewState, DecideError>) -> ApiResult {
    match result {
        Ok(state) => Ok(json_response(
            StatusCode::OK,
            &json!({
                "submission_id": id,
                "status": state,
                "status_label": state_label(&state),
            }),
        )),
        Err(DecideError::NotFound) => Err(ApiError::not_found()),
        Err(DecideError::NotUnderReview(_)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_under_review",
            "该提交不在审核中，不能再作审核决定",
        )),
    }
}

async fn review_approve(
    State(state): State<AppState>,
    Reviewer(reviewer): Reviewer,
    Path(id): Path<String>,
) -> ApiResult {
    blocking(move || {
        let actor = format!("reviewer:{}", reviewer.id);
        let result = review::decide(
            &*state.store,
            &id,
            &Decision::Approve,
            &actor,
            reviewer.bureau,
        )?;
        decision_response(&id, result)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RejectBody {
    reason: String,
}

async fn review_reject(
    State(state): State<AppState>,
    Reviewer(reviewer): Reviewer,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body: RejectBody = parse_body(&body)?;
    blocking(move || {
        let decision = review::rejection(&body.reason).ok_or_else(|| {
            ApiError::bad_request("reason_required", "驳回时须填写原因（最多 200 字）")
        })?;
        let actor = format!("reviewer:{}", reviewer.id);
        let result = review::decide(&*state.store, &id, &decision, &actor, reviewer.bureau)?;
        decision_response(&id, result)
    })
    .await
}
