//! `/v1/submissions…`: a kiosk delivers an applicant's record under an idempotency key, with
//! the grant of the applicant's session, once its files are staged (`blob_routes.rs`); kiosks
//! and reviewers read its status.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use kiosk_domain::privacy::mask_id_number;
use kiosk_domain::{
    Application, Context, MaterialKind, Progress, ReviewState, RulesEdition, Step, contact,
    idnumber, materials, wizard,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::{info, warn};

use super::{
    APPLICATION_MAX_BYTES, ApiError, ApiResult, AppState, Caller, Device, GRANT_GRACE_SECS,
    MAX_MATERIALS, blocking, domain_issue, json_response, parse_body, server_issue, session_actor,
};
use crate::canonical;
use crate::material_check::MaterialRefusal;
use crate::store::{
    Account, AuditEntry, NewMaterial, NewSubmission, Role, SessionRow, Store, SubmissionRow,
    SubmitOutcome, in_scope, replay_outcome, state_label,
};
use crate::util::{hex, is_sha256_hex, now, random_bytes, sha256_hex, today};

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
pub(super) struct Grant {
    pub(super) session_id: String,
    pub(super) signature: String,
}

/// 16 to 128 characters of `A-Z a-z 0-9 - _` (a UUID fits).
pub fn is_valid_key(key: &str) -> bool {
    (16..=128).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(super) async fn missing_key(Device(_device): Device) -> ApiError {
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

/// Findings about the materials: every file the record lists must be uploaded with the same
/// hash and size; nothing else may be uploaded. (Each file was decoded before this.)
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

pub(super) fn status_body(row: &SubmissionRow) -> Value {
    json!({
        "submission_id": row.id,
        "status": row.review,
        "status_label": state_label(&row.review),
        "received_at": row.received_at,
        "decided_at": row.decided_at,
    })
}

pub(super) async fn submit(
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
    // Derived, not drawn: the kiosk printed the same code on the receipt, perhaps before this
    // request could be made (`kiosk_wire::receipt`).
    let receipt_code = kiosk_wire::receipt::code(&session.signing_key, &session.session_id, &key);
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
pub(super) fn checked_grant(
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

pub(super) async fn status(
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
