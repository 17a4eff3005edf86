//! One submission: the record in the kiosk's steps and words, the photo, the materials (each
//! opening full size with zoom), which materials the rules require of this applicant, their
//! earlier submissions, who did what when, and the decision form.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use kiosk_domain::catalog::Choice;
use kiosk_domain::materials::required_materials;
use kiosk_domain::{Application, Lang, MaterialKind, ReviewState, Step, forms};
use maud::{Markup, html};

use super::form::Fields;
use super::queue::{format_time, state_word};
use super::{
    ConsoleError, FORM_MAX_BYTES, PageResult, Signed, blocking, bureau_name, html_response,
    see_other,
};
use crate::api::AppState;
use crate::review;
use crate::store::{AuditEntry, DecideError, Decision, MaterialInfo, SubmissionRow, state_tag};
use crate::util::{is_sha256_hex, now};

/// The standard reasons for a rejection, as the applicant reads them on the kiosk.
pub const REJECTION_REASONS: [(&str, &str); 5] = [
    ("photo", "照片不符合要求"),
    ("unclear", "材料不清晰"),
    ("work_certificate", "缺少工作证明"),
    ("education", "学历信息与证书不符"),
    ("bureau", "属地选择错误"),
];
/// Audit rows shown on a submission page at most.
const AUDIT_ROWS: i64 = 200;
const ZOOMS: [u32; 4] = [100, 150, 200, 300];

/// The submission `id` if it is within the reviewer's scope; otherwise "not found", also for
/// an id that exists in another bureau.
fn scoped_submission(
    state: &AppState,
    signed: &Signed,
    id: &str,
) -> Result<SubmissionRow, ConsoleError> {
    let scope = signed.scope()?;
    state
        .store
        .submission(id)?
        .filter(|row| crate::store::in_scope(scope, row.bureau))
        .ok_or(ConsoleError::NotFound)
}

fn kind_of(key: &str) -> Option<MaterialKind> {
    MaterialKind::ALL.iter().copied().find(|k| k.key() == key)
}

fn file_url(id: &str, sha256: &str) -> String {
    format!("/console/submissions/{id}/files/{sha256}")
}

struct Loaded {
    row: SubmissionRow,
    app: Option<Application>,
    materials: Vec<MaterialInfo>,
    history: Vec<SubmissionRow>,
    audit: Vec<AuditEntry>,
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let fields = Fields::parse(raw.unwrap_or_default().as_bytes(), &["decided"], &[])?;
    let just_decided = fields.get("decided").is_some();
    let actor = signed.actor();
    let loaded = {
        let state = state.clone();
        let signed_scope = signed.scope()?;
        blocking(move || {
            let store = &*state.store;
            let row = store
                .submission(&id)?
                .filter(|row| crate::store::in_scope(signed_scope, row.bureau))
                .ok_or(ConsoleError::NotFound)?;
            store.record_view(&id, &AuditEntry::new(&actor, "view", &id, "ok", now()))?;
            Ok(Loaded {
                app: serde_json::from_str(&row.application_json).ok(),
                materials: store.materials(&id)?,
                history: store.submissions_of(&row.applicant)?,
                audit: store.audit_of(&id, AUDIT_ROWS)?,
                row,
            })
        })
        .await?
    };
    let title = loaded
        .app
        .as_ref()
        .map(|a| a.data().basic.name.clone())
        .unwrap_or_default();
    Ok(html_response(
        StatusCode::OK,
        super::page(
            &format!("{title} 的提交"),
            Some((&signed.account, &signed.session.csrf)),
            submission_body(&loaded, &signed.session.csrf, just_decided),
        ),
    ))
}

fn submission_body(loaded: &Loaded, csrf: &str, just_decided: bool) -> Markup {
    let row = &loaded.row;
    let photo = loaded
        .materials
        .iter()
        .find(|m| kind_of(&m.kind) == Some(MaterialKind::Photo));
    // In the notice's order, as the kiosk's upload step lists them.
    let mut scans: Vec<&MaterialInfo> = loaded
        .materials
        .iter()
        .filter(|m| kind_of(&m.kind) != Some(MaterialKind::Photo))
        .collect();
    scans.sort_by_key(|m| {
        kind_of(&m.kind).and_then(|k| MaterialKind::ALL.iter().position(|a| *a == k))
    });
    html! {
        p.back { a href="/console" { "← 返回审核列表" } }
        @if just_decided {
            p.success role="status" { "审核决定已保存，申请人在自助机上即可看到结果。" }
        }
        section.head {
            @if let Some(photo) = photo {
                a.photo href=(format!("/console/submissions/{}/materials/{}", row.id, photo.sha256)) {
                    img src=(file_url(&row.id, &photo.sha256)) alt="近期白底1寸证件照" width="295" height="413";
                }
            }
            div.summary {
                h1 { (loaded.app.as_ref().map(|a| a.data().basic.name.as_str()).unwrap_or("（记录无法读取）")) }
                p { span class=(format!("state {}", state_tag(&row.review))) { (state_word(state_tag(&row.review))) } }
                @if let ReviewState::Rejected { reason } = &row.review {
                    p.reason { "驳回原因：" (reason) }
                }
                dl {
                    dt { "提交编号" } dd.mono { (row.id) }
                    dt { "提交时间" } dd { (format_time(row.received_at)) }
                    dt { "财政局" } dd { (row.bureau.map(bureau_name).unwrap_or_default()) }
                    @if let Some(at) = row.decided_at {
                        dt { "审核时间" } dd { (format_time(at)) }
                    }
                    @if let Some(app) = &loaded.app {
                        dt { "采集规则" } dd { (app.rules().name()) }
                    }
                }
            }
        }
        @if let Some(app) = &loaded.app {
            (required_list(app, &loaded.materials))
            @for step in [Step::Basic, Step::Work, Step::Education, Step::Qualification] {
                section.fields {
                    h2 { (step.title(Lang::Zh)) }
                    dl {
                        @for (heading, field) in forms::page_fields(step, app.data()) {
                            @if let Some(zh) = heading {
                                dt.heading { (zh) }
                            }
                            @let value = forms::display_value(field, app.data(), Lang::Zh);
                            dt { (forms::label(field, Lang::Zh)) }
                            dd { @if value.is_empty() { span.muted { "未填写" } } @else { (value) } }
                        }
                    }
                }
            }
        }
        section.materials {
            h2 { (Step::Materials.title(Lang::Zh)) }
            div.thumbs {
                @for m in &scans {
                    a.thumb href=(format!("/console/submissions/{}/materials/{}", row.id, m.sha256)) {
                        img src=(file_url(&row.id, &m.sha256)) alt=(kind_label(&m.kind)) loading="lazy";
                        span { (kind_label(&m.kind)) }
                    }
                }
            }
        }
        @if row.review == ReviewState::UnderReview {
            (decision_form(&row.id, csrf))
        }
        section.history {
            h2 { "该申请人的提交记录" }
            table {
                thead { tr { th { "版本" } th { "提交时间" } th { "状态" } th { "提交编号" } } }
                tbody {
                    @for earlier in &loaded.history {
                        tr.current[earlier.id == row.id] {
                            td { (earlier.version) }
                            td { (format_time(earlier.received_at)) }
                            td { (state_word(state_tag(&earlier.review))) }
                            td.mono {
                                @if earlier.id == row.id { (earlier.id) "（本次）" }
                                @else { a href=(format!("/console/submissions/{}", earlier.id)) { (earlier.id) } }
                            }
                        }
                    }
                }
            }
        }
        section.audit {
            h2 { "操作记录" }
            table {
                thead { tr { th { "时间" } th { "操作人" } th { "操作" } th { "结果" } } }
                tbody {
                    @for entry in &loaded.audit {
                        tr {
                            td { (format_time(entry.at)) }
                            td.mono { (entry.actor) }
                            td { (action_word(&entry.action)) }
                            td { (outcome_word(&entry.outcome)) }
                        }
                    }
                }
            }
        }
    }
}

fn kind_label(key: &str) -> &'static str {
    kind_of(key).map_or("其他材料", |k| k.label(Lang::Zh))
}

fn action_word(action: &str) -> &str {
    match action {
        "submit" => "提交",
        "view" => "查看",
        "approve" => "审核通过",
        "reject" => "驳回",
        other => other,
    }
}

fn outcome_word(outcome: &str) -> String {
    match outcome {
        "ok" => "完成".to_owned(),
        "under_review" | "rejected" | "approved" => state_word(outcome).to_owned(),
        other => match other.strip_prefix("refused: ") {
            Some(state) => format!("未执行（已是{}）", state_word(state)),
            None => other.to_owned(),
        },
    }
}

/// What the rules require of this applicant (the domain crate decides, as on the kiosk) and
/// whether the submission holds it.
fn required_list(app: &Application, materials: &[MaterialInfo]) -> Markup {
    let required = required_materials(app.data());
    html! {
        section.required {
            h2 { "应交材料" }
            ul {
                @for kind in required {
                    @let held = materials.iter().any(|m| kind_of(&m.kind) == Some(kind));
                    li class=(if held { "held" } else { "missing" }) {
                        span.mark aria-hidden="true" { (if held { "✓" } else { "✗" }) }
                        (kind.label(Lang::Zh))
                        @if !held { span.muted { "（未提交）" } }
                    }
                }
            }
        }
    }
}

fn decision_form(id: &str, csrf: &str) -> Markup {
    html! {
        section.decide {
            h2 { "审核决定" }
            form method="post" action=(format!("/console/submissions/{id}/decide")) {
                input type="hidden" name="csrf" value=(csrf);
                fieldset {
                    legend { "驳回原因（驳回时至少选择一项）" }
                    @for (code, words) in REJECTION_REASONS {
                        label.check {
                            input type="checkbox" name="reason" value=(code);
                            (words)
                        }
                    }
                    label.other { "其他原因"
                        input type="text" name="other" maxlength="100" placeholder="请写明需要申请人修改的地方";
                    }
                }
                div.actions {
                    button.primary name="decision" value="approve" type="submit" { "审核通过" }
                    button.danger name="decision" value="reject" type="submit" { "驳回" }
                }
            }
        }
    }
}

/// The reason text the applicant reads: the chosen standard reasons, then the reviewer's own
/// words, in one line.
fn rejection_text(fields: &Fields) -> Result<String, ConsoleError> {
    let mut parts = Vec::new();
    for code in fields.all("reason") {
        let words = REJECTION_REASONS
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, w)| *w)
            .ok_or(ConsoleError::BadRequest("没有这种驳回原因。"))?;
        if !parts.contains(&words.to_owned()) {
            parts.push(words.to_owned());
        }
    }
    if let Some(other) = fields.get("other") {
        parts.push(other.to_owned());
    }
    Ok(parts.join("；"))
}

pub async fn decide(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    if body.len() > FORM_MAX_BYTES {
        return Err(ConsoleError::BadRequest("提交的内容过长。"));
    }
    let fields = Fields::parse(&body, &["csrf", "decision", "reason", "other"], &["reason"])?;
    signed.check_csrf(fields.get("csrf"))?;
    let decision = match fields.get("decision") {
        Some("approve") => Decision::Approve,
        Some("reject") => {
            let text = rejection_text(&fields)?;
            review::rejection(&text).ok_or(ConsoleError::BadRequest(
                "驳回时请至少选择一项原因或写明其他原因（最多 200 字）。",
            ))?
        }
        _ => return Err(ConsoleError::BadRequest("请选择“审核通过”或“驳回”。")),
    };
    let scope = signed.scope()?;
    let actor = signed.actor();
    let result = {
        let state = state.clone();
        let id = id.clone();
        blocking(move || {
            Ok(review::decide(
                &*state.store,
                &id,
                &decision,
                &actor,
                scope,
            )?)
        })
        .await?
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/console/submissions/{id}?decided=1"))),
        Err(DecideError::NotFound) => Err(ConsoleError::NotFound),
        Err(DecideError::NotUnderReview(current)) => Ok(html_response(
            StatusCode::CONFLICT,
            super::page(
                "已有审核结果",
                Some((&signed.account, &signed.session.csrf)),
                html! {
                    section.notice {
                        h1 { "这条提交已有审核结果" }
                        p {
                            "其他审核人员已作出决定（当前状态："
                            (state_word(state_tag(&current)))
                            "），您的决定没有保存。"
                        }
                        p { a.button href=(format!("/console/submissions/{id}")) { "查看这条提交" } }
                    }
                },
            ),
        )),
    }
}

/// A material full size, with zoom steps as plain links.
pub async fn material_page(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, sha256)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let fields = Fields::parse(raw.unwrap_or_default().as_bytes(), &["zoom"], &[])?;
    let zoom = match fields.get("zoom") {
        None => 100,
        Some(z) => z
            .parse::<u32>()
            .ok()
            .filter(|z| ZOOMS.contains(z))
            .ok_or(ConsoleError::BadRequest("缩放比例有误。"))?,
    };
    if !is_sha256_hex(&sha256) {
        return Err(ConsoleError::NotFound);
    }
    let materials = {
        let state = state.clone();
        let id = id.clone();
        let signed_scope = signed.scope()?;
        blocking(move || {
            let row = state
                .store
                .submission(&id)?
                .filter(|row| crate::store::in_scope(signed_scope, row.bureau))
                .ok_or(ConsoleError::NotFound)?;
            Ok(state.store.materials(&row.id)?)
        })
        .await?
    };
    let material = materials
        .iter()
        .find(|m| m.sha256 == sha256)
        .ok_or(ConsoleError::NotFound)?;
    let label = kind_label(&material.kind);
    let here = format!("/console/submissions/{id}/materials/{sha256}");
    Ok(html_response(
        StatusCode::OK,
        super::page(
            label,
            Some((&signed.account, &signed.session.csrf)),
            html! {
                p.back { a href=(format!("/console/submissions/{id}")) { "← 返回这条提交" } }
                h1 { (label) }
                nav.zoom aria-label="缩放" {
                    @for z in ZOOMS {
                        a.button.secondary.current[z == zoom] href=(format!("{here}?zoom={z}")) { (z) "%" }
                    }
                    span.muted { (material.bytes / 1024) " KB" }
                }
                div.viewer {
                    img class=(format!("zoom-{zoom}")) src=(file_url(&id, &sha256)) alt=(label);
                }
            },
        ),
    ))
}

/// A material's bytes, for the reviewer's scope only; never cached.
pub async fn file(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, sha256)): Path<(String, String)>,
) -> PageResult {
    if !is_sha256_hex(&sha256) {
        return Err(ConsoleError::NotFound);
    }
    let bytes = blocking(move || {
        let row = scoped_submission(&state, &signed, &id)?;
        state
            .store
            .material_bytes(&row.id, &sha256)?
            .ok_or(ConsoleError::NotFound)
    })
    .await?;
    let content_type = if bytes.starts_with(&[0xff, 0xd8]) {
        "image/jpeg"
    } else if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "application/octet-stream"
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_applicant_reads_the_chosen_reasons_word_for_word() {
        let fields = Fields::parse(
            "reason=photo&reason=unclear&other=%E8%AF%B7%E9%87%8D%E6%8B%8D".as_bytes(),
            &["reason", "other"],
            &["reason"],
        )
        .unwrap();
        assert_eq!(
            rejection_text(&fields).unwrap(),
            "照片不符合要求；材料不清晰；请重拍"
        );
        let unknown = Fields::parse(b"reason=rude", &["reason"], &["reason"]).unwrap();
        assert!(rejection_text(&unknown).is_err());
    }
}
