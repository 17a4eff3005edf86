//! `POST /v1/sms/codes`: the codes that prove an applicant holds a phone, for registration,
//! a password reset and binding a phone to an account.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use kiosk_domain::idnumber;
use kiosk_domain::privacy::mask_mobile;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::info;

use super::{
    ApiError, ApiResult, AppState, Device, SMS_INTERVAL_SECS, SMS_MAX_ATTEMPTS, SMS_MAX_GLOBAL,
    SMS_MAX_PER_DEVICE, SMS_TTL_SECS, SMS_WINDOW_SECS, blocking, device_actor, json_response,
    mobile_or_issue, parse_body, server_issue, throttle_key,
};
use crate::sms::SmsError;
use crate::store::{AuditEntry, SmsCheck, SmsCode, Store, ThrottleBucket};
use crate::util::{now, sha256_hex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum SmsPurpose {
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

pub(super) async fn send_sms_code(
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
pub(super) fn check_sms_code(
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

pub(super) fn sms_code_issue() -> Value {
    server_issue(
        "account.sms_code",
        "SmsCodeWrong",
        "短信验证码错误或已过期，请重新获取",
        "The SMS code is wrong or has expired",
    )
}
