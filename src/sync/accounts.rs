//! Applicant accounts on the central server (`/v1/sms/codes`, `/v1/accounts...`), called from the
//! UI thread with short timeouts; the kiosk's device token goes in `Authorization: Bearer`.
//!
//! The server answers `GET /v1/accounts/me` with masked values only, so the full name and phone
//! of the profile come from `me`'s `name` / `mobile` / `id_type` members when the server returns
//! them, else from the applicant's draft on this kiosk; otherwise log-in reports the service
//! unavailable. No account is copied to the kiosk: it keeps nothing of the applicant beyond the
//! visit but the draft and the outbox, which have their own retention.

use std::time::Duration;

use kiosk_domain::catalog::IdType;
use kiosk_domain::{contact, idnumber};
use serde_json::{Value, json};

use super::ApplicantSession;
use super::http::{self, Endpoint};
use crate::accounts::{AccountError, Accounts, BindingTicket, Profile, Registration, SmsPurpose};
use crate::store::Store;

/// Requests from the UI thread give up after this long.
pub const UI_TIMEOUT: Duration = Duration::from_secs(5);

pub struct RemoteAccounts {
    base: String,
    token: String,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    drafts: Store,
    dev_sms_file: Option<std::path::PathBuf>,
}

struct Reply {
    status: u16,
    body: Value,
}

impl Reply {
    fn has_issue(&self, code: &str) -> bool {
        self.body["issues"]
            .as_array()
            .is_some_and(|list| list.iter().any(|i| i["code"] == code))
    }

    fn fields(&self) -> String {
        self.body["issues"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|i| format!("{} {}", i["field"], i["code"]))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_else(|| self.body["error"].to_string())
    }
}

impl RemoteAccounts {
    /// `drafts` is a connection to the kiosk's store, read for the applicant's draft at log-in.
    /// `server` is a URL, or an [`Endpoint`] with the CA to trust (`Config::sync_target`).
    pub fn new(
        server: impl Into<Endpoint>,
        device_token: &str,
        drafts: Store,
    ) -> Result<Self, AccountError> {
        let server = server.into();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| AccountError::Unavailable(e.to_string()))?;
        // No pooled connections: a pooled connection belongs to the runtime that opened it, and
        // the log-out at the end of a visit runs on a runtime of its own (`end_session`).
        let builder = reqwest::Client::builder()
            .connect_timeout(UI_TIMEOUT)
            .timeout(UI_TIMEOUT)
            .pool_max_idle_per_host(0);
        let client = http::client(builder, &server).map_err(AccountError::Unavailable)?;
        Ok(RemoteAccounts {
            base: server.url,
            token: device_token.trim().to_owned(),
            client,
            runtime,
            drafts,
            dev_sms_file: None,
        })
    }

    /// Development: show the last code the server's development sender wrote to `path`.
    pub fn with_dev_sms_file(mut self, path: Option<std::path::PathBuf>) -> Self {
        self.dev_sms_file = path;
        self
    }

    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        session: Option<&str>,
    ) -> Result<Reply, AccountError> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(session) = session {
            request = request.header("X-Applicant-Session", session);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let result = self.runtime.block_on(async move {
            let response = request.send().await.map_err(http::BodyError::Transport)?;
            let status = response.status().as_u16();
            let body = http::read_limited(response, http::MAX_ANSWER_BYTES).await?;
            Ok::<_, http::BodyError>((status, body))
        });
        let (status, body) = result.map_err(|e| match e {
            http::BodyError::TooLarge { limit } => {
                tracing::warn!(limit, "answer of the account service too large; not read");
                AccountError::Unavailable("answer too large".into())
            }
            http::BodyError::Transport(e) => {
                let failure = http::classify(&e);
                http::log_tls_failure(&failure, "accounts");
                tracing::warn!(timeout = e.is_timeout(), "account service unreachable");
                AccountError::Offline
            }
        })?;
        let reply = Reply {
            status,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        };
        match reply.status {
            429 => Err(AccountError::Throttled),
            403 => {
                tracing::error!("the server refused the device token");
                Err(AccountError::Unavailable("device token refused".into()))
            }
            401 if reply.body["error"] == "unauthorized" => {
                tracing::error!(status, "the server refused the device token");
                Err(AccountError::Unavailable("device token refused".into()))
            }
            s if s >= 500 => Err(AccountError::Unavailable(format!("HTTP {s}"))),
            _ => Ok(reply),
        }
    }

    /// The profile of an applicant who just logged in: the server's answer, else the draft.
    fn profile_after_log_in(
        &mut self,
        id_number: &str,
        session: &ApplicantSession,
    ) -> Result<Profile, AccountError> {
        let me = self.call(
            reqwest::Method::GET,
            "/v1/accounts/me",
            None,
            Some(&session.token),
        )?;
        let id_number = idnumber::normalize(id_number);
        let from_draft = || {
            let (app, _) = self.drafts.load_draft(&id_number).ok().flatten()?;
            let basic = &app.data().basic;
            (!basic.name.trim().is_empty() && !basic.mobile.trim().is_empty()).then(|| Profile {
                id_type: basic.id_type.unwrap_or(IdType::ResidentIdCard),
                id_number: id_number.clone(),
                name: basic.name.trim().to_owned(),
                mobile: basic.mobile.trim().to_owned(),
                on_server: None,
                session: None,
            })
        };
        let profile = self
            .profile_from_me(&id_number, &me)
            .or_else(from_draft)
            .map(|p| Profile {
                session: Some(ApplicantSession {
                    latest_version: me.body["latest_submission"]["version"]
                        .as_i64()
                        .unwrap_or(0)
                        .max(0),
                    ..session.clone()
                }),
                ..p
            });
        tracing::info!(profile = profile.is_some(), "log-in on the central server");
        profile.ok_or_else(|| AccountError::Unavailable("profile not available".into()))
    }

    /// The profile in a `/v1/accounts/me` answer.
    fn profile_from_me(&self, id_number: &str, me: &Reply) -> Option<Profile> {
        match (me.body["name"].as_str(), me.body["mobile"].as_str()) {
            (Some(name), Some(mobile)) if me.status == 200 && !id_number.is_empty() => {
                Some(Profile {
                    id_type: serde_json::from_value(me.body["id_type"].clone())
                        .unwrap_or(IdType::ResidentIdCard),
                    id_number: idnumber::normalize(id_number),
                    name: name.to_owned(),
                    mobile: mobile.to_owned(),
                    on_server: collection_on_server(&me.body["latest_submission"]),
                    session: None,
                })
            }
            _ => None,
        }
    }
}

/// The session a log-in or registration answer carries.
fn session_in(body: &Value) -> Option<ApplicantSession> {
    match (body["session_id"].as_str(), body["session_token"].as_str()) {
        (Some(id), Some(token)) if !id.is_empty() && !token.is_empty() => {
            Some(ApplicantSession::new(id, token))
        }
        _ => None,
    }
}

/// The applicant's latest submission in a `/v1/accounts/me` answer, as a record with the
/// server's review status. Its material files stay on the server: a rejected collection keeps
/// its answers and asks for the materials again.
fn collection_on_server(latest: &Value) -> Option<kiosk_domain::Application> {
    if latest.is_null() {
        return None;
    }
    let mut app: kiosk_domain::Application =
        match serde_json::from_value(latest["application"].clone()) {
            Ok(app) => app,
            Err(e) => {
                tracing::warn!(error = %e, "the server's copy of the collection is unreadable");
                return None;
            }
        };
    let review: kiosk_domain::ReviewState =
        serde_json::from_value(latest["review"].clone()).ok()?;
    if app.apply_review(review).is_err() {
        return None;
    }
    if app.review().is_editable() {
        let _ = app.edit(|d| d.materials.clear());
    }
    Some(app)
}

impl Accounts for RemoteAccounts {
    fn send_sms_code(&mut self, mobile: &str) -> Result<(), AccountError> {
        self.send_sms_code_for(mobile, SmsPurpose::Register, "")
    }

    fn send_sms_code_for(
        &mut self,
        mobile: &str,
        purpose: SmsPurpose,
        id_number: &str,
    ) -> Result<(), AccountError> {
        let purpose = match purpose {
            SmsPurpose::Register => "register",
            SmsPurpose::ResetPassword => "reset_password",
            SmsPurpose::BindPhone => "bind_phone",
        };
        let reply = self.call(
            reqwest::Method::POST,
            "/v1/sms/codes",
            Some(json!({ "mobile": mobile, "purpose": purpose, "id_number": id_number })),
            None,
        )?;
        match reply.status {
            200..=299 => Ok(()),
            400 => Err(AccountError::MobileMismatch),
            _ => Err(AccountError::Unavailable(format!("HTTP {}", reply.status))),
        }
    }

    fn register(&mut self, r: &Registration<'_>) -> Result<Profile, AccountError> {
        let reply = self.call(
            reqwest::Method::POST,
            "/v1/accounts",
            Some(json!({
                "id_type": r.id_type,
                "id_number": r.id_number,
                "name": r.name,
                "mobile": r.mobile,
                "sms_code": r.sms_code,
                "password": r.password,
                "password_confirm": r.password,
            })),
            None,
        )?;
        match reply.status {
            200..=299 => {}
            409 => return Err(AccountError::IdTaken),
            400 if reply.has_issue("SmsCodeWrong") => return Err(AccountError::WrongSmsCode),
            s => {
                return Err(AccountError::Unavailable(format!(
                    "HTTP {s} {}",
                    reply.fields()
                )));
            }
        }
        let profile = Profile {
            id_type: r.id_type,
            id_number: idnumber::normalize(r.id_number),
            name: r.name.trim().to_owned(),
            mobile: contact::normalize_mobile(r.mobile).unwrap_or_else(|_| r.mobile.to_owned()),
            on_server: None,
            session: session_in(&reply.body),
        };
        tracing::info!("account registered on the central server");
        Ok(profile)
    }

    fn log_in(&mut self, id_number: &str, password: &str) -> Result<Profile, AccountError> {
        let reply = self.call(
            reqwest::Method::POST,
            "/v1/accounts/login",
            Some(json!({ "id_number": id_number, "password": password })),
            None,
        )?;
        match reply.status {
            200 => {}
            401 | 400 | 404 => return Err(AccountError::WrongCredentials),
            s => return Err(AccountError::Unavailable(format!("HTTP {s}"))),
        }
        let session = session_in(&reply.body)
            .ok_or_else(|| AccountError::Unavailable("log-in answer without a session".into()))?;
        if reply.body["phone_binding_required"] == true {
            tracing::info!("log-in needs a phone binding first");
            return Err(AccountError::PhoneBindingRequired(BindingTicket(session)));
        }
        self.profile_after_log_in(id_number, &session)
    }

    fn bind_phone(
        &mut self,
        ticket: &BindingTicket,
        mobile: &str,
        sms_code: &str,
    ) -> Result<Profile, AccountError> {
        let reply = self.call(
            reqwest::Method::POST,
            "/v1/accounts/phone",
            Some(json!({ "mobile": mobile, "sms_code": sms_code })),
            Some(&ticket.0.token),
        )?;
        match reply.status {
            200 => {}
            400 if reply.has_issue("SmsCodeWrong") => return Err(AccountError::WrongSmsCode),
            401 => return Err(AccountError::WrongCredentials),
            429 => return Err(AccountError::Throttled),
            s => return Err(AccountError::Unavailable(format!("HTTP {s}"))),
        }
        tracing::info!("phone bound on the central server");
        let me = self.call(
            reqwest::Method::GET,
            "/v1/accounts/me",
            None,
            Some(&ticket.0.token),
        )?;
        let id_number = me.body["id_number"].as_str().unwrap_or_default().to_owned();
        self.profile_from_me(&id_number, &me)
            .map(|p| Profile {
                session: Some(ticket.0.clone()),
                ..p
            })
            .ok_or_else(|| AccountError::Unavailable("profile not available".into()))
    }

    fn reset_password(
        &mut self,
        id_number: &str,
        mobile: &str,
        sms_code: &str,
        new_password: &str,
    ) -> Result<(), AccountError> {
        let reply = self.call(
            reqwest::Method::POST,
            "/v1/accounts/password-reset",
            Some(json!({
                "id_number": id_number,
                "mobile": mobile,
                "sms_code": sms_code,
                "new_password": new_password,
                "new_password_confirm": new_password,
            })),
            None,
        )?;
        match reply.status {
            200..=299 => Ok(()),
            400 if reply.has_issue("SmsCodeWrong") => Err(AccountError::WrongSmsCode),
            s => Err(AccountError::Unavailable(format!(
                "HTTP {s} {}",
                reply.fields()
            ))),
        }
    }

    fn end_session(&mut self, session: &ApplicantSession, pending_keys: Vec<String>) {
        // On its own thread: the wipe must not wait for the network. If the server cannot be
        // reached the session still expires by itself (`SESSION_TTL_SECS` on the server).
        let request = self
            .client
            .post(format!("{}/v1/accounts/logout", self.base))
            .bearer_auth(&self.token)
            .header("X-Applicant-Session", session.token.as_str())
            .json(&json!({ "pending_keys": pending_keys }));
        let spawned = std::thread::Builder::new()
            .name("logout".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        tracing::warn!(error = %e, "log-out not sent");
                        return;
                    }
                };
                // `send` starts its timeout timer at once: it must run inside the runtime.
                match runtime.block_on(async move { request.send().await }) {
                    Ok(r) => {
                        tracing::info!(status = r.status().as_u16(), "session ended on the server")
                    }
                    Err(_) => tracing::info!("session end not delivered; it expires by itself"),
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "log-out thread not started");
        }
    }

    fn development_sms_hint(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.dev_sms_file.as_ref()?).ok()?;
        let line = text.lines().rev().find(|l| l.starts_with("code "))?;
        line.split(' ').nth(2).map(str::to_owned)
    }

    /// The server does not say who is registered (no such route, by design: a leaked kiosk
    /// token must not tell who has an account). The page opens on log-in, with "注册" one tap
    /// away.
    fn is_registered(&mut self, _id_number: &str) -> Result<Option<bool>, AccountError> {
        Ok(None)
    }
}
