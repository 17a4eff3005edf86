//! The actors a request can come from, as axum extractors: a handler runs only once the actor
//! it names in its arguments is established, so no route can skip the check or answer a failed
//! one differently from the others.
//!
//! Checks that depend on what is asked (a submission's grant, a reviewer's bureau against the
//! submission's) stay in the handlers: only they know the submission.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};

use super::{ApiError, AppState, SESSION_HEADER, blocking};
use crate::auth;
use crate::store::{Account, BureauScope, Role, SessionRow, Store};
use crate::util::{now, sha256_hex};

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

/// An applicant logged in at the kiosk that asks: a live session, presented in
/// [`SESSION_HEADER`] by the kiosk it was issued to, and its account.
pub struct Applicant {
    pub device: Caller,
    pub account: Account,
    pub session: SessionRow,
    /// The hash of the token presented, under which the store keeps the session.
    pub token_sha256: String,
}

impl FromRequestParts<AppState> for Applicant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Device(device) = Device::from_request_parts(parts, state).await?;
        let token = session_token(&parts.headers);
        let store = state.store.clone();
        blocking(move || applicant_session(&*store, device, token)).await
    }
}

fn applicant_session(
    store: &dyn Store,
    device: Caller,
    token: Option<String>,
) -> Result<Applicant, ApiError> {
    let unauthorized = || ApiError::new(StatusCode::UNAUTHORIZED, "session_required", "请先登录");
    let token = token.ok_or_else(unauthorized)?;
    let token_sha256 = sha256_hex(token.as_bytes());
    let session = store
        .session(&token_sha256)?
        .filter(|s| s.device_id == device.id && s.revoked_at.is_none() && s.expires_at > now())
        .ok_or_else(unauthorized)?;
    let account = store
        .account(session.account_id)?
        .ok_or_else(unauthorized)?;
    Ok(Applicant {
        device,
        account,
        session,
        token_sha256,
    })
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
}
