//! `/v1/review/submissions…`: a finance bureau's reviewers list, read and decide the
//! submissions of their bureau (all of them for the province); the rest are "not found".

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use kiosk_domain::ReviewState;
use kiosk_domain::privacy::{mask_id_number, mask_name};
use serde::Deserialize;
use serde_json::{Value, json};

use super::submissions::status_body;
use super::{
    ApiError, ApiResult, AppState, Reviewer, blocking, json_response, parse_body, reviewer_actor,
};
use crate::review;
use crate::store::{AuditEntry, DecideError, Decision, SubmissionRow, in_scope, state_label};
use crate::util::now;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
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

pub(super) async fn review_list(
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

pub(super) async fn review_show(
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
            &reviewer_actor(&reviewer),
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

pub(super) async fn review_approve(
    State(state): State<AppState>,
    Reviewer(reviewer): Reviewer,
    Path(id): Path<String>,
) -> ApiResult {
    blocking(move || {
        let actor = reviewer_actor(&reviewer);
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

pub(super) async fn review_reject(
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
        let actor = reviewer_actor(&reviewer);
        let result = review::decide(&*state.store, &id, &decision, &actor, reviewer.bureau)?;
        decision_response(&id, result)
    })
    .await
}
