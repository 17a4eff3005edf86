//! The queue: the bureau's submissions newest first, filtered by state, date and text, paged,
//! with the count of each state at the top.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use kiosk_domain::privacy::mask_id_number;
use maud::{Markup, html};
use time::{Date, Month, OffsetDateTime, UtcOffset};

use super::form::Fields;
use super::{ConsoleError, PageResult, Signed, blocking, bureau_name, html_response};
use crate::api::AppState;
use crate::store::{QueuePage, QueueQuery};

pub const PAGE_SIZE: i64 = 50;
/// Deepest page offered: beyond it, a narrower filter finds the row faster than paging.
const MAX_PAGE: i64 = 2000;

/// The states a reviewer filters on, with the words the kiosk uses for them; under review is
/// 待审核 until a reviewer opens it (`store::QUEUE_STATE`).
pub const STATES: [(&str, &str); 4] = [
    ("pending", "待审核"),
    ("under_review", "审核中"),
    ("rejected", "审核失败"),
    ("approved", "审核成功"),
];

pub fn state_word(tag: &str) -> &'static str {
    STATES
        .iter()
        .find(|(t, _)| *t == tag)
        .map_or("其他", |(_, w)| w)
}

/// China Standard Time, the time every page shows.
pub fn cst() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// `YYYY-MM-DD HH:MM` in China Standard Time.
pub fn format_time(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix).map_or_else(
        |_| String::new(),
        |t| {
            let t = t.to_offset(cst());
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        },
    )
}

fn parse_date(text: &str) -> Option<Date> {
    let mut parts = text.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

fn start_of(date: Date) -> i64 {
    date.midnight().assume_offset(cst()).unix_timestamp()
}

/// What the filter form holds, as typed.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    state: Option<String>,
    from: Option<String>,
    to: Option<String>,
    text: Option<String>,
    page: i64,
}

impl Filter {
    pub fn parse(raw: &str) -> Result<Filter, ConsoleError> {
        let fields = Fields::parse(raw.as_bytes(), &["state", "from", "to", "q", "page"], &[])?;
        let state = fields
            .get("state")
            .filter(|s| *s != "all")
            .map(str::to_owned);
        if let Some(state) = &state
            && !STATES.iter().any(|(t, _)| t == state)
        {
            return Err(ConsoleError::BadRequest("没有这种审核状态。"));
        }
        let page = match fields.get("page") {
            None => 1,
            Some(p) => p
                .parse::<i64>()
                .ok()
                .filter(|p| (1..=MAX_PAGE).contains(p))
                .ok_or(ConsoleError::BadRequest("页码有误。"))?,
        };
        Ok(Filter {
            state,
            from: fields.get("from").map(str::to_owned),
            to: fields.get("to").map(str::to_owned),
            text: fields.get("q").map(str::to_owned),
            page,
        })
    }

    pub fn query(&self, signed: &Signed) -> Result<QueueQuery, ConsoleError> {
        let day = |text: &Option<String>| -> Result<Option<Date>, ConsoleError> {
            text.as_deref()
                .map(|t| parse_date(t).ok_or(ConsoleError::BadRequest("日期格式应为 2026-01-31。")))
                .transpose()
        };
        Ok(QueueQuery {
            scope: signed.scope()?,
            state: self.state.clone(),
            from: day(&self.from)?.map(start_of),
            until: day(&self.to)?.and_then(|d| d.next_day()).map(start_of),
            text: self.text.clone(),
            offset: (self.page - 1) * PAGE_SIZE,
            limit: PAGE_SIZE,
        })
    }

    /// This filter's URL with another state and page.
    fn link(&self, state: Option<&str>, page: i64) -> String {
        self.link_to("/console", state, page)
    }

    /// `path` with this filter, another state and page.
    fn link_to(&self, path: &str, state: Option<&str>, page: i64) -> String {
        let mut url = form_urlencoded::Serializer::new(String::new());
        if let Some(state) = state {
            url.append_pair("state", state);
        }
        for (name, value) in [("from", &self.from), ("to", &self.to), ("q", &self.text)] {
            if let Some(value) = value {
                url.append_pair(name, value);
            }
        }
        if page > 1 {
            url.append_pair("page", &page.to_string());
        }
        let query = url.finish();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult {
    if signed.account.role == crate::store::ReviewerRole::Admin {
        // An admin reviews nothing: their start page is the accounts.
        return Ok(super::see_other("/console/reviewers"));
    }
    let filter = Filter::parse(&raw.unwrap_or_default())?;
    let query = filter.query(&signed)?;
    let store = state.store.clone();
    let found = blocking(move || Ok(store.queue(&query)?)).await?;
    let body = queue_body(&signed, &filter, &found);
    Ok(html_response(
        StatusCode::OK,
        super::page(
            "审核列表",
            Some((&signed.account, &signed.session.csrf)),
            body,
        ),
    ))
}

fn queue_body(signed: &Signed, filter: &Filter, found: &QueuePage) -> Markup {
    let count_of = |tag: &str| {
        found
            .counts
            .iter()
            .find(|(t, _)| t == tag)
            .map_or(0, |(_, n)| *n)
    };
    let all: i64 = found.counts.iter().map(|(_, n)| n).sum();
    let pages = ((found.total + PAGE_SIZE - 1) / PAGE_SIZE).clamp(1, MAX_PAGE);
    let scope_title = match signed.account.role.scope() {
        Some(Some(code)) => bureau_name(code),
        _ => "全省".to_owned(),
    };
    html! {
        div.titlebar {
            h1 { (scope_title) " · 审核列表" }
            nav.tools {
                a.button.secondary href="/console/stats" { "统计" }
                a.button.secondary href=(filter.link_to("/console/export.csv", filter.state.as_deref(), 1)) { "导出 CSV" }
            }
        }
        nav.counts aria-label="按审核状态" {
            a.count.current[filter.state.is_none()] href=(filter.link(None, 1)) {
                span.n { (all) } span.w { "全部" }
            }
            @for (tag, word) in STATES {
                a.count.current[filter.state.as_deref() == Some(tag)]
                    href=(filter.link(Some(tag), 1)) {
                    span.n { (count_of(tag)) } span.w { (word) }
                }
            }
        }
        form.filter method="get" action="/console" {
            label { "审核状态"
                select name="state" {
                    option value="all" selected[filter.state.is_none()] { "全部" }
                    @for (tag, word) in STATES {
                        option value=(tag) selected[filter.state.as_deref() == Some(tag)] { (word) }
                    }
                }
            }
            label { "提交日期 从"
                input type="date" name="from" value=[filter.from.as_deref()];
            }
            label { "至"
                input type="date" name="to" value=[filter.to.as_deref()];
            }
            label.grow { "姓名、证件号码或提交编号"
                input type="search" name="q" value=[filter.text.as_deref()] maxlength="40"
                    placeholder="例如 张三 或 证件号码后四位";
            }
            button.primary type="submit" { "筛选" }
            a.button.secondary href="/console" { "清除" }
        }
        @if found.rows.is_empty() {
            p.empty { "没有符合条件的提交。" }
        } @else {
            table.queue {
                thead { tr {
                    th { "提交时间" } th { "姓名" } th { "证件号码" } th { "财政局" }
                    th { "状态" } th { "提交编号" }
                } }
                tbody {
                    @for row in &found.rows {
                        tr {
                            td { (format_time(row.received_at)) }
                            td { a href=(format!("/console/submissions/{}", row.id)) { (row.name) } }
                            td.mono { (mask_id_number(&row.applicant)) }
                            td { (row.bureau.map(bureau_name).unwrap_or_default()) }
                            td { span class=(format!("state {}", row.state)) { (state_word(&row.state)) } }
                            td.mono { a href=(format!("/console/submissions/{}", row.id)) { (row.id) } }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="翻页" {
            @if filter.page > 1 {
                a.button.secondary href=(filter.link(filter.state.as_deref(), filter.page - 1)) { "上一页" }
            }
            span { "第 " (filter.page) " / " (pages) " 页，共 " (found.total) " 条" }
            @if filter.page < pages {
                a.button.secondary href=(filter.link(filter.state.as_deref(), filter.page + 1)) { "下一页" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_in_china_runs_from_its_midnight_to_the_next() {
        let day = parse_date("2026-12-07").unwrap();
        // 2026-12-07T00:00+08:00 = 2026-12-06T16:00Z.
        assert_eq!(start_of(day), 1_796_572_800);
        assert_eq!(format_time(1_796_572_800), "2026-12-07 00:00");
        assert!(parse_date("2026-02-30").is_none());
        assert!(parse_date("yesterday").is_none());
    }

    #[test]
    fn links_keep_the_filter_and_change_state_and_page() {
        let f = Filter::parse("q=%E5%BC%A0&from=2026-12-01&state=rejected&page=2").unwrap();
        assert_eq!(
            f.link(Some("approved"), 1),
            "/console?state=approved&from=2026-12-01&q=%E5%BC%A0"
        );
        assert_eq!(
            f.link(None, 3),
            "/console?from=2026-12-01&q=%E5%BC%A0&page=3"
        );
        assert!(Filter::parse("state=draft").is_err());
        assert!(Filter::parse("page=0").is_err());
        assert!(Filter::parse("page=abc").is_err());
    }
}
