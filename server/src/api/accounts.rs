//! `/v1/accounts…`: applicant accounts and the sessions a kiosk holds for them while they are
//! at it. Every route is the kiosk's; those that act on a logged-in applicant take
//! [`Applicant`].

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kiosk_domain::catalog::IdType;
use kiosk_domain::privacy::{mask_id_number, mask_mobile, mask_name};
use kiosk_domain::record::Basic;
use kiosk_domain::{Lang, contact, idnumber, validate};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::info;

use super::sms_codes::{SmsPurpose, check_sms_code, sms_code_issue};
use super::{
    ApiError, ApiResult, AppState, Applicant, Caller, Device, LOGIN_MAX_FAILURES,
    LOGIN_MAX_FAILURES_GLOBAL, LOGIN_MAX_FAILURES_PER_DEVICE, LOGIN_WINDOW_SECS,
    LOGOUT_MAX_PENDING, RESET_MAX_PER_DEVICE, RESET_MAX_PER_ID, RESET_WINDOW_SECS,
    SESSION_TTL_SECS, blocking, device_actor, domain_issue, is_valid_key, json_response,
    mobile_or_issue, parse_body, server_issue, session_actor, throttle_key,
};
use crate::auth;
use crate::store::{Account, AuditEntry, NewAccount, NewSession, Store, ThrottleBucket};
use crate::util::{hex, now, random_bytes, today};

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

pub(super) async fn register(
    State(state): State<AppState>,
    Device(device): Device,
    body: Bytes,
) -> ApiResult {
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

pub(super) async fn login(
    State(state): State<AppState>,
    Device(device): Device,
    body: Bytes,
) -> ApiResult {
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

pub(super) async fn reset_password(
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

pub(super) async fn bind_phone(
    State(state): State<AppState>,
    Applicant {
        account, session, ..
    }: Applicant,
    body: Bytes,
) -> ApiResult {
    let body: BindBody = parse_body(&body)?;
    blocking(move || {
        let store = &*state.store;
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

/// Ends an applicant session (log-out, or the kiosk's idle wipe).
pub(super) async fn logout(
    State(state): State<AppState>,
    Applicant {
        device,
        account,
        session,
        token_sha256,
    }: Applicant,
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
    blocking(move || {
        let store = &*state.store;
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

pub(super) async fn me(
    State(state): State<AppState>,
    Applicant { account, .. }: Applicant,
) -> ApiResult {
    blocking(move || {
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
