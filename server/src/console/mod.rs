//! The reviewer console: the finance bureau's web pages, served by `central` itself under
//! `/console`. Plain server-rendered HTML forms that work without JavaScript, one stylesheet,
//! nothing from elsewhere. Every page answers for one logged-in person (`Signed`), scoped to
//! their bureau; a submission outside it is "not found", as in the API.

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};
use tracing::warn;

use crate::api::AppState;
use crate::store::{ReviewerAccount, ReviewerRole, StoreError};
use crate::util::{constant_time_eq, now};

mod form;
mod login;
mod public_status;
mod queue;
pub mod reviewers;
pub mod session;
mod stats;
mod submission;

pub use session::Console;
use session::{ConsoleSession, SESSION_COOKIE, cookie_value};

/// Form bodies are a few short fields; a reason text is at most 200 characters.
pub const FORM_MAX_BYTES: usize = 8 * 1024;
const STYLESHEET: &str = include_str!("console.css");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(queue::page))
        .route("/console/", get(queue::page))
        .route("/console/login", get(login::form).post(login::submit))
        .route("/console/logout", post(login::logout))
        .route("/console/console.css", get(stylesheet))
        .route("/console/submissions/{id}", get(submission::page))
        .route("/console/submissions/{id}/decide", post(submission::decide))
        .route(
            "/console/submissions/{id}/materials/{sha256}",
            get(submission::material_page),
        )
        .route(
            "/console/submissions/{id}/files/{sha256}",
            get(submission::file),
        )
        .route("/console/reviewers", get(reviewers::page))
        .route("/console/reviewers/add", post(reviewers::add))
        .route("/console/reviewers/change", post(reviewers::change))
        .route("/console/reviewers/password", post(reviewers::password))
        .route("/console/stats", get(stats::page))
        .route("/console/export.csv", get(stats::export))
        .route("/s/{code}", get(public_status::show))
        .layer(DefaultBodyLimit::max(FORM_MAX_BYTES))
}

async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

// ---------------------------------------------------------------------------------------------
// Pages and errors

/// The headers every console page carries: nothing cached, nothing framed, nothing loaded from
/// elsewhere, no referrer (a submission's URL names it).
fn with_page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

/// A whole page: the header with who is logged in (and the log-out form), then `body`.
fn page(title: &str, who: Option<(&ReviewerAccount, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 会计人员信息采集审核" }
                link rel="stylesheet" href="/console/console.css";
            }
            body {
                header.top {
                    a.brand href="/console" { "会计人员信息采集 · 审核" }
                    @if let Some((account, csrf)) = who {
                        span.who { (account.name) " · " (role_label(account.role)) }
                        form.logout method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button.secondary type="submit" { "退出登录" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A page for the public (the status page an applicant opens from the receipt): no console
/// links, a phone-sized layout.
fn public_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " · 会计人员信息采集" }
                link rel="stylesheet" href="/console/console.css";
            }
            body {
                header.top { span.brand { "会计人员信息采集" } }
                main { (body) }
            }
        }
    }
}

fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    with_page_headers(response)
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    with_page_headers(response)
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

pub fn role_label(role: ReviewerRole) -> String {
    match role {
        ReviewerRole::Bureau(code) => format!("{}审核人员", bureau_name(code)),
        ReviewerRole::Province => "全省审核人员".to_owned(),
        ReviewerRole::Admin => "账号管理员".to_owned(),
    }
}

/// A finance bureau's name from its division code, as the kiosk's jurisdiction step shows it.
pub fn bureau_name(code: u32) -> String {
    kiosk_domain::region::division(kiosk_domain::region::DivisionCode(code))
        .map(|d| d.bureau_name())
        .unwrap_or_else(|| format!("财政局（{code}）"))
}

/// What went wrong, as a page in plain Chinese.
#[derive(Debug)]
pub enum ConsoleError {
    NotFound,
    /// Not logged in, or the session ended: back to the log-in page.
    LoggedOut,
    /// A form without the page's CSRF token (sent from elsewhere, or an old page).
    Forged,
    BadRequest(&'static str),
    /// A logged-in person whose role does not do this.
    Forbidden(&'static str),
    Busy,
    Internal,
}

impl From<StoreError> for ConsoleError {
    fn from(e: StoreError) -> Self {
        warn!(error = %e, "console: store error");
        ConsoleError::Internal
    }
}

impl From<crate::auth::Busy> for ConsoleError {
    fn from(_: crate::auth::Busy) -> Self {
        ConsoleError::Busy
    }
}

pub type PageResult = Result<Response, ConsoleError>;

fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    html_response(
        status,
        page(
            title,
            None,
            html! {
                section.notice {
                    h1 { (title) }
                    p { (message) }
                    p { a.button href="/console" { "返回审核列表" } }
                }
            },
        ),
    )
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::LoggedOut => see_other("/console/login?ended=1"),
            ConsoleError::NotFound => message_page(
                StatusCode::NOT_FOUND,
                "未找到",
                "没有这条记录，或它不属于您所在的财政局。",
            ),
            ConsoleError::Forged => message_page(
                StatusCode::FORBIDDEN,
                "页面已过期",
                "这个页面已过期或不是从本系统打开的，您的操作没有保存。请返回后重新操作。",
            ),
            ConsoleError::BadRequest(why) => message_page(StatusCode::BAD_REQUEST, "请求有误", why),
            ConsoleError::Forbidden(why) => message_page(StatusCode::FORBIDDEN, "无权操作", why),
            ConsoleError::Busy => message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "服务器繁忙",
                "服务器繁忙，请稍后再试。",
            ),
            ConsoleError::Internal => message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "系统错误",
                "系统暂时出错，您的操作没有保存。请稍后再试；如果一直出错，请联系系统管理员。",
            ),
        }
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ConsoleError> + Send + 'static,
) -> Result<T, ConsoleError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| ConsoleError::Internal)?
}

// ---------------------------------------------------------------------------------------------
// Who is asking

/// A logged-in reviewer with a live session, checked against the store on every request.
pub struct Signed {
    pub account: ReviewerAccount,
    pub session: ConsoleSession,
}

impl Signed {
    /// The submissions this person reviews; an admin reviews none.
    fn scope(&self) -> Result<crate::store::BureauScope, ConsoleError> {
        self.account.role.scope().ok_or(ConsoleError::Forbidden(
            "账号管理员不审核提交，请使用审核人员账号登录。",
        ))
    }

    /// Whether a form carried this session's CSRF token.
    fn check_csrf(&self, sent: Option<&str>) -> Result<(), ConsoleError> {
        match sent {
            Some(sent) if constant_time_eq(sent.as_bytes(), self.session.csrf.as_bytes()) => Ok(()),
            _ => Err(ConsoleError::Forged),
        }
    }

    /// The actor of this person's audit rows.
    fn actor(&self) -> String {
        format!("console:{}", self.account.name)
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        let token = cookie_value(&parts.headers, SESSION_COOKIE).ok_or(ConsoleError::LoggedOut)?;
        let session = state
            .console
            .touch(&token, now())
            .ok_or(ConsoleError::LoggedOut)?;
        let store = state.store.clone();
        let id = session.reviewer_id;
        let account = blocking(move || Ok(store.reviewer_account(id)?)).await?;
        match account {
            Some(account) if !account.disabled && account.changed_at < session.started_at_ms => {
                Ok(Signed { account, session })
            }
            _ => {
                state.console.end(&token);
                Err(ConsoleError::LoggedOut)
            }
        }
    }
}
