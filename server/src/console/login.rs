//! Log-in and log-out. Failed log-ins count in the same throttle as the API's: per account name
//! and, shared with the kiosks' log-ins, for the whole server.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use tracing::info;

use super::form::Fields;
use super::session::{Console, IDLE_SECS, LOGIN_COOKIE, SESSION_COOKIE, cookie_value};
use super::{
    ConsoleError, FORM_MAX_BYTES, PageResult, Signed, blocking, html_response, page, see_other,
    with_cookie,
};
use crate::api::{
    AppState, LOGIN_MAX_FAILURES, LOGIN_MAX_FAILURES_GLOBAL, LOGIN_WINDOW_SECS, throttle_key,
};
use crate::auth;
use crate::store::{AuditEntry, ThrottleBucket};
use crate::util::{constant_time_eq, hex, now, random_bytes};

/// Longest account name.
const NAME_MAX_CHARS: usize = 64;

fn login_page(
    console: &Console,
    status: StatusCode,
    message: Option<&str>,
    name: &str,
) -> Response {
    let token = hex(&random_bytes::<32>());
    let body = html! {
        section.login {
            h1 { "审核人员登录" }
            @if let Some(message) = message {
                p.error role="alert" { (message) }
            }
            form method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(token);
                label for="name" { "用户名" }
                input #name type="text" name="name" value=(name) autocomplete="username"
                    maxlength="64" required autofocus;
                label for="password" { "密码" }
                input #password type="password" name="password" autocomplete="current-password"
                    maxlength="128" required;
                button.primary type="submit" { "登录" }
            }
            p.hint { "账号由系统管理员开设。忘记密码请联系系统管理员重置。" }
        }
    };
    // The form's token is also a cookie: a form posted from another site carries neither.
    let cookie = console.cookie(LOGIN_COOKIE, &token, Some(IDLE_SECS));
    with_cookie(html_response(status, page("登录", None, body)), &cookie)
}

pub async fn form(State(state): State<AppState>, RawQuery(query): RawQuery) -> PageResult {
    let fields = Fields::parse(query.unwrap_or_default().as_bytes(), &["ended", "out"], &[])?;
    let message = if fields.get("ended").is_some() {
        Some("登录已超时或已失效，请重新登录。")
    } else if fields.get("out").is_some() {
        Some("您已退出登录。")
    } else {
        None
    };
    Ok(login_page(&state.console, StatusCode::OK, message, ""))
}

pub async fn submit(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> PageResult {
    if body.len() > FORM_MAX_BYTES {
        return Err(ConsoleError::BadRequest("提交的内容过长。"));
    }
    let fields = Fields::parse(&body, &["csrf", "name", "password"], &[])?;
    let expected = cookie_value(&headers, LOGIN_COOKIE).ok_or(ConsoleError::Forged)?;
    match fields.get("csrf") {
        Some(sent) if constant_time_eq(sent.as_bytes(), expected.as_bytes()) => {}
        _ => return Err(ConsoleError::Forged),
    }
    let name = fields.get("name").unwrap_or_default().to_owned();
    let password = fields.get("password").unwrap_or_default().to_owned();
    if name.is_empty() || password.is_empty() || name.chars().count() > NAME_MAX_CHARS {
        return Ok(login_page(
            &state.console,
            StatusCode::BAD_REQUEST,
            Some("请填写用户名和密码。"),
            &name,
        ));
    }
    let outcome = {
        let state = state.clone();
        let name = name.clone();
        blocking(move || check_password(&state, &name, &password)).await?
    };
    match outcome {
        LoginOutcome::Throttled => Ok(login_page(
            &state.console,
            StatusCode::TOO_MANY_REQUESTS,
            Some("密码错误次数过多，请 15 分钟后再试，或联系系统管理员。"),
            &name,
        )),
        LoginOutcome::Refused => Ok(login_page(
            &state.console,
            StatusCode::UNAUTHORIZED,
            Some("用户名或密码错误，或账号已停用。"),
            &name,
        )),
        LoginOutcome::Welcome(reviewer_id) => {
            let token = state.console.start(reviewer_id, now());
            let response = see_other("/console");
            let response = with_cookie(
                response,
                &state.console.cookie(SESSION_COOKIE, &token, None),
            );
            Ok(with_cookie(
                response,
                &state.console.cookie(LOGIN_COOKIE, "", Some(0)),
            ))
        }
    }
}

enum LoginOutcome {
    Welcome(i64),
    Refused,
    Throttled,
}

fn check_password(
    state: &AppState,
    name: &str,
    password: &str,
) -> Result<LoginOutcome, ConsoleError> {
    let store = &*state.store;
    let t = now();
    let buckets = [
        ThrottleBucket {
            key: throttle_key("console-login", name),
            limit: LOGIN_MAX_FAILURES,
        },
        ThrottleBucket {
            key: throttle_key("login-all", ""),
            limit: LOGIN_MAX_FAILURES_GLOBAL,
        },
    ];
    // Counted before the hash is checked, so that parallel guesses all count.
    let Ok(attempt) =
        store.throttle_attempt(&buckets, t - LOGIN_WINDOW_SECS, LOGIN_WINDOW_SECS, t)?
    else {
        info!("console login throttled");
        return Ok(LoginOutcome::Throttled);
    };
    let account = store.reviewer_by_name(name)?;
    let hash = account
        .as_ref()
        .map_or(auth::dummy_password_hash(), |a| a.password_hash.as_str());
    let valid = state.hashing.verify(password, hash)?;
    match account.filter(|a| valid && !a.disabled) {
        Some(account) => {
            store.throttle_finish(
                &attempt,
                true,
                Some(&AuditEntry::new(
                    &format!("console:{}", account.name),
                    "console login",
                    &account.name,
                    "ok",
                    now(),
                )),
            )?;
            Ok(LoginOutcome::Welcome(account.id))
        }
        None => {
            store.throttle_finish(
                &attempt,
                false,
                Some(&AuditEntry::new(
                    "console",
                    "console login failed",
                    name,
                    "bad credentials or disabled",
                    now(),
                )),
            )?;
            Ok(LoginOutcome::Refused)
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    body: Bytes,
) -> PageResult {
    let fields = Fields::parse(&body, &["csrf"], &[])?;
    signed.check_csrf(fields.get("csrf"))?;
    if let Some(token) = cookie_value(&headers, SESSION_COOKIE) {
        state.console.end(&token);
    }
    let store = state.store.clone();
    let actor = signed.actor();
    let name = signed.account.name.clone();
    blocking(move || {
        Ok(store.audit(&AuditEntry::new(
            &actor,
            "console logout",
            &name,
            "ok",
            now(),
        ))?)
    })
    .await?;
    Ok(with_cookie(
        see_other("/console/login?out=1"),
        &state.console.cookie(SESSION_COOKIE, "", Some(0)),
    ))
}
