//! The public status page `GET /s/{receipt-code}`: what an applicant sees after scanning the QR
//! on the kiosk's receipt with a phone. The status and the rejection reasons, nothing else: no
//! name, no ID number, no bureau, no dates. The code is the only key (100 bits derived from the
//! applicant's session, `kiosk_wire::receipt`), lookups are bounded per second for the whole
//! server, and an unknown code looks like a malformed one.

use axum::extract::{Path, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use kiosk_domain::ReviewState;
use maud::html;

use super::{PageResult, blocking, html_response};
use crate::api::AppState;
use crate::util::now;
use kiosk_wire::receipt::is_code as is_receipt_code;

pub async fn show(State(state): State<AppState>, Path(code): Path<String>) -> PageResult {
    if !state.console.allow_status_lookup(now()) {
        let mut busy = html_response(
            StatusCode::TOO_MANY_REQUESTS,
            super::public_page(
                "请稍后再试",
                html! { section.notice.public { h1 { "查询的人较多" } p { "请稍等几秒后刷新本页。" } } },
            ),
        );
        busy.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("2"));
        return Ok(busy);
    }
    let code = code.to_ascii_uppercase();
    let review = if is_receipt_code(&code) {
        let store = state.store.clone();
        blocking(move || Ok(store.submission_by_receipt(&code)?.map(|row| row.review))).await?
    } else {
        None
    };
    let Some(review) = review else {
        return Ok(html_response(
            StatusCode::NOT_FOUND,
            super::public_page(
                "未找到",
                html! {
                    section.notice.public {
                        h1 { "未找到这张回执" }
                        p { "请核对回执上的二维码，或到办事大厅自助机上登录查看审核结果。" }
                    }
                },
            ),
        ));
    };
    let (title, detail, tone) = match &review {
        ReviewState::Rejected { reason } => (
            "审核失败",
            Some(format!(
                "原因：{reason}。请到办事大厅自助机上登录，按原因修改后重新提交。"
            )),
            "rejected",
        ),
        ReviewState::Approved => (
            "审核成功",
            Some("您的会计人员信息采集已审核通过。".to_owned()),
            "approved",
        ),
        _ => (
            "审核中",
            Some("财政部门正在审核您提交的信息，审核后结果会显示在这里。".to_owned()),
            "under_review",
        ),
    };
    Ok(html_response(
        StatusCode::OK,
        super::public_page(
            "审核结果",
            html! {
                section.notice.public {
                    p.muted { "会计人员信息采集 · 审核结果" }
                    h1 { span class=(format!("state big {tone}")) { (title) } }
                    @if let Some(detail) = detail { p.detail { (detail) } }
                }
            },
        ),
    ))
}
