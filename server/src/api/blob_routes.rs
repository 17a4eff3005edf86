//! `GET /v1/blobs/{sha256}/state` and `PUT /v1/blobs/{sha256}`: a submission's files, uploaded
//! one by one before its record, streamed to the blob store and resumable after a cut.
//!
//! Only a kiosk holding an applicant's grant for one submission may upload (the same grant the
//! record will carry, checked the same way), so a leaked device token alone stages nothing. A
//! body is never held whole: each frame is appended as it arrives, and the declared length is
//! bounded by the largest file any rules edition accepts.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::json;
use tracing::info;

use super::submissions::{Grant, checked_grant};
use super::{ApiError, ApiResult, AppState, Caller, Device, blocking, is_valid_key, json_response};
use crate::blobs::{BlobError, Held, QUOTA_WINDOW, max_blob_bytes};
use crate::util::is_sha256_hex;

/// Headers that carry the grant of the submission the blob belongs to.
pub const KEY_HEADER: &str = "kiosk-submission-key";
pub const CONTENT_HEADER: &str = "kiosk-content-sha256";
pub const GRANT_SESSION_HEADER: &str = "kiosk-grant-session";
pub const GRANT_SIGNATURE_HEADER: &str = "kiosk-grant-signature";
/// The first byte this request carries, and the blob's whole length.
pub const OFFSET_HEADER: &str = "blob-offset";
pub const LENGTH_HEADER: &str = "blob-length";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn number(headers: &HeaderMap, name: &str) -> Result<u64, ApiError> {
    header(headers, name)
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "malformed_blob_header",
                &format!("缺少或无效的请求头 {name}"),
            )
        })
}

fn blob_name(sha256: &str) -> Result<(), ApiError> {
    if is_sha256_hex(sha256) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "malformed_hash",
            "哈希值须为 64 位小写十六进制",
        ))
    }
}

/// The grant in the headers, checked as the record's will be; the session it names.
fn granted(state: &AppState, device: &Caller, headers: &HeaderMap) -> Result<String, ApiError> {
    let missing = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "grant_required",
            "上传材料须由已登录的申请人授权，请申请人登录后提交",
        )
    };
    let key = header(headers, KEY_HEADER).ok_or_else(missing)?;
    let content = header(headers, CONTENT_HEADER).ok_or_else(missing)?;
    let grant = Grant {
        session_id: header(headers, GRANT_SESSION_HEADER)
            .ok_or_else(missing)?
            .to_owned(),
        signature: header(headers, GRANT_SIGNATURE_HEADER)
            .ok_or_else(missing)?
            .to_owned(),
    };
    if !is_valid_key(key) || !is_sha256_hex(content) {
        return Err(missing());
    }
    checked_grant(&*state.store, device, key, content, &grant).map(|s| s.session_id)
}

fn storage(e: BlobError) -> ApiError {
    match e {
        BlobError::BadName => {
            ApiError::bad_request("malformed_hash", "哈希值须为 64 位小写十六进制")
        }
        BlobError::WrongOffset { held, .. } => offset_mismatch(held),
        BlobError::HashMismatch => ApiError::unprocessable(
            "blob_hash_mismatch",
            "上传的文件内容与其哈希值不符，请重新上传",
        ),
        BlobError::Io(e) => ApiError::internal(e),
    }
}

fn offset_mismatch(held: u64) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::CONFLICT,
        "blob_offset_mismatch",
        "上传的起始位置与服务器已收到的不符",
    );
    e.body["received"] = json!(held);
    e
}

fn held_answer(sha256: &str, held: Held) -> serde_json::Value {
    json!({ "sha256": sha256, "received": held.bytes, "complete": held.complete })
}

pub(super) async fn blob_state(
    State(state): State<AppState>,
    Device(device): Device,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    blob_name(&sha256)?;
    blocking(move || {
        let _session = granted(&state, &device, &headers)?;
        let held = state.blobs.held(&sha256).map_err(storage)?;
        Ok(json_response(StatusCode::OK, &held_answer(&sha256, held)))
    })
    .await
}

pub(super) async fn put_blob(
    State(state): State<AppState>,
    Device(device): Device,
    Path(sha256): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    blob_name(&sha256)?;
    let offset = number(&headers, OFFSET_HEADER)?;
    let length = number(&headers, LENGTH_HEADER)?;
    if length == 0 || length > max_blob_bytes() {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "blob_too_large",
            &format!("材料文件大小须在 1 至 {} 字节之间", max_blob_bytes()),
        ));
    }
    if offset > length {
        return Err(offset_mismatch(0));
    }
    let checked = state.clone();
    let session = blocking(move || granted(&checked, &device, &headers)).await?;
    if !state.uploading.admit(&session, &sha256) {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "blob_quota",
            "本次登录上传的材料文件过多，请稍后再试",
        );
        e.retry_after = Some(QUOTA_WINDOW.as_secs() as i64);
        return Err(e);
    }
    let Some(_claim) = state.uploading.claim(&sha256) else {
        let mut e = ApiError::new(
            StatusCode::CONFLICT,
            "blob_busy",
            "此文件正在由另一个连接上传，请稍后重试",
        );
        e.retry_after = Some(1);
        return Err(e);
    };
    let blobs = state.blobs.clone();
    let name = sha256.clone();
    let held = blocking(move || blobs.held(&name).map_err(storage)).await?;
    if held.complete {
        return Ok(json_response(StatusCode::OK, &held_answer(&sha256, held)));
    }
    if held.bytes != offset {
        return Err(offset_mismatch(held.bytes));
    }
    let mut received = offset;
    let mut body = body;
    // Each frame is written before the next is read: a cut keeps every byte that arrived.
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            info!(
                received,
                "blob upload cut; the kiosk resumes from what is held"
            );
            return Err(ApiError::bad_request(
                "blob_upload_cut",
                "上传中断，请从服务器已收到的位置继续",
            ));
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if received + data.len() as u64 > length {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "blob_too_long",
                "上传的内容超过了声明的文件大小",
            ));
        }
        let blobs = state.blobs.clone();
        let name = sha256.clone();
        received = blocking(move || blobs.append(&name, received, &data).map_err(storage)).await?;
    }
    if received < length {
        return Ok(json_response(
            StatusCode::ACCEPTED,
            &held_answer(
                &sha256,
                Held {
                    bytes: received,
                    complete: false,
                },
            ),
        ));
    }
    let blobs = state.blobs.clone();
    let name = sha256.clone();
    blocking(move || blobs.complete(&name).map_err(storage)).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &held_answer(
            &sha256,
            Held {
                bytes: received,
                complete: true,
            },
        ),
    ))
}
