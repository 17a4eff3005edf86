//! The statistics page (per bureau, or the province) and the queue's CSV export. Charts are SVG
//! drawn here, in the page: nothing to load and no script needed to see them. Every SVG element
//! is written with `{}` (an explicit end tag): in an HTML page `<rect ...>` without one swallows
//! the elements after it, which then are not drawn.

use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use kiosk_domain::privacy::mask_id_number;
use maud::{Markup, html};

use super::form::Fields;
use super::queue::{Filter, format_time, state_word};
use super::{ConsoleError, PageResult, Signed, blocking, bureau_name, html_response};
use crate::api::AppState;
use crate::store::{AuditEntry, CHINA_OFFSET_SECS, Stats};
use crate::util::now;

/// The periods the page offers, in days.
const RANGES: [i64; 4] = [7, 30, 90, 365];
const DAY: i64 = 86_400;
/// Rows a CSV export holds at most (a year of a busy bureau).
pub const EXPORT_MAX_ROWS: i64 = 100_000;
/// Reasons shown on the chart.
const TOP_REASONS: usize = 6;

fn count_of(stats: &Stats, tag: &str) -> i64 {
    stats
        .counts
        .iter()
        .find(|(t, _)| t == tag)
        .map_or(0, |(_, n)| *n)
}

/// The standard reasons and the reviewers' own words, each counted once per rejection.
pub fn top_reasons(stats: &Stats) -> Vec<(String, i64)> {
    let mut counted: Vec<(String, i64)> = Vec::new();
    for (joined, n) in &stats.reasons {
        for reason in joined.split('；').map(str::trim).filter(|r| !r.is_empty()) {
            match counted.iter_mut().find(|(r, _)| r == reason) {
                Some((_, total)) => *total += n,
                None => counted.push((reason.to_owned(), *n)),
            }
        }
    }
    counted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counted.truncate(TOP_REASONS);
    counted
}

/// A wait in words: days and hours, or hours and minutes.
pub fn duration_words(secs: i64) -> String {
    let (days, hours, minutes) = (secs / DAY, secs % DAY / 3600, secs % 3600 / 60);
    match (days, hours) {
        (0, 0) => format!("{minutes} 分钟"),
        (0, _) => format!("{hours} 小时 {minutes} 分钟"),
        _ => format!("{days} 天 {hours} 小时"),
    }
}

/// The date (China time) of a day number.
fn day_label(day: i64) -> String {
    format_time(day * DAY - CHINA_OFFSET_SECS)[5..10].to_owned()
}

/// Submissions per day as bars, every day of the period drawn (zero days too).
fn per_day_chart(stats: &Stats, first_day: i64, days: i64) -> Markup {
    let counts: Vec<i64> = (first_day..first_day + days)
        .map(|d| {
            stats
                .per_day
                .iter()
                .find(|(day, _)| *day == d)
                .map_or(0, |(_, n)| *n)
        })
        .collect();
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let (width, height, left, bottom) = (960.0, 240.0, 48.0, 28.0);
    let plot_h = height - bottom - 12.0;
    let step = (width - left) / days as f64;
    let label_every = (days / 8).max(1);
    html! {
        svg.chart viewBox=(format!("0 0 {width} {height}")) role="img"
            aria-label=(format!("每日提交数，最多 {max} 份")) {
            line x1=(left) y1=(12.0 + plot_h) x2=(width) y2=(12.0 + plot_h) stroke="#8a96a3" {}
            text x="4" y="20" { (max) }
            text x="4" y=(12.0 + plot_h) { "0" }
            @for (i, n) in counts.iter().enumerate() {
                @let h = plot_h * *n as f64 / max as f64;
                rect x=(left + i as f64 * step + step * 0.15) y=(12.0 + plot_h - h)
                    width=(step * 0.7) height=(h) fill="#1652a8" {
                    title { (day_label(first_day + i as i64)) "：" (n) " 份" }
                }
                @if (i as i64) % label_every == 0 {
                    text x=(left + i as f64 * step) y=(height - 8.0) { (day_label(first_day + i as i64)) }
                }
            }
        }
    }
}

/// The rows by state as one stacked bar.
fn states_chart(stats: &Stats) -> Markup {
    let parts = [
        ("approved", "#1c6b24"),
        ("rejected", "#a61b1b"),
        ("under_review", "#1652a8"),
    ];
    let total: i64 = parts
        .iter()
        .map(|(t, _)| count_of(stats, t))
        .sum::<i64>()
        .max(1);
    // Each part's (tag, colour, start, width) along the bar.
    let mut start = 0.0;
    let segments: Vec<(&str, &str, f64, f64)> = parts
        .iter()
        .map(|(tag, colour)| {
            let width = 960.0 * count_of(stats, tag) as f64 / total as f64;
            let segment = (*tag, *colour, start, width);
            start += width;
            segment
        })
        .collect();
    html! {
        svg.chart viewBox="0 0 960 56" role="img" aria-label="各审核状态所占比例" {
            @for (tag, colour, x, w) in &segments {
                rect x=(x) y="0" width=(w) height="32" fill=(colour) {
                    title { (state_word(tag)) "：" (count_of(stats, tag)) }
                }
            }
            @for (i, (tag, colour, _, _)) in segments.iter().enumerate() {
                rect x=(i * 200) y="40" width="12" height="12" fill=(colour) {}
                text x=(i * 200 + 18) y="51" { (state_word(tag)) " " (count_of(stats, tag)) }
            }
        }
    }
}

fn reasons_chart(reasons: &[(String, i64)]) -> Markup {
    let max = reasons.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let row = 34.0;
    let height = row * reasons.len().max(1) as f64;
    html! {
        @if reasons.is_empty() {
            p.muted { "这段时间没有驳回。" }
        } @else {
            svg.chart viewBox=(format!("0 0 960 {height}")) role="img" aria-label="驳回原因" {
                @for (i, (reason, n)) in reasons.iter().enumerate() {
                    @let y = i as f64 * row;
                    text x="0" y=(y + 21.0) { (reason) }
                    rect x="260" y=(y + 6.0) width=(620.0 * *n as f64 / max as f64) height="20" fill="#a61b1b" {}
                    text x=(268.0 + 620.0 * *n as f64 / max as f64) y=(y + 21.0) { (n) }
                }
            }
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let fields = Fields::parse(raw.unwrap_or_default().as_bytes(), &["days"], &[])?;
    let days = match fields.get("days") {
        None => 30,
        Some(d) => d
            .parse::<i64>()
            .ok()
            .filter(|d| RANGES.contains(d))
            .ok_or(ConsoleError::BadRequest("统计时段有误。"))?,
    };
    let scope = signed.scope()?;
    let today = (now() + CHINA_OFFSET_SECS) / DAY;
    let first_day = today - days + 1;
    let since = first_day * DAY - CHINA_OFFSET_SECS;
    let store = state.store.clone();
    let stats = blocking(move || Ok(store.stats(scope, since)?)).await?;
    let scope_title = scope.map_or_else(|| "全省".to_owned(), bureau_name);
    let approved = count_of(&stats, "approved");
    let rejected = count_of(&stats, "rejected");
    let received: i64 = stats.counts.iter().map(|(_, n)| n).sum();
    let body = html! {
        p.back { a href="/console" { "← 返回审核列表" } }
        h1 { (scope_title) " · 统计" }
        nav.range aria-label="统计时段" {
            @for d in RANGES {
                a.button.secondary.current[d == days] href=(format!("/console/stats?days={d}")) { "近 " (d) " 天" }
            }
        }
        section.figures {
            div.figure { div.muted { "收到的提交" } div.big { (received) } }
            div.figure {
                div.muted { "通过率（已审核中）" }
                div.big {
                    @if approved + rejected == 0 { "—" }
                    @else { (format!("{:.1}", 100.0 * approved as f64 / (approved + rejected) as f64)) "%" }
                }
            }
            div.figure {
                div.muted { "审核用时（中位数）" }
                div.big { (stats.median_decision_secs.map_or_else(|| "—".to_owned(), duration_words)) }
            }
            div.figure { div.muted { "尚未审结" } div.big { (count_of(&stats, "under_review")) } }
        }
        section { h2 { "每日提交数" } (per_day_chart(&stats, first_day, days)) }
        section { h2 { "审核状态" } (states_chart(&stats)) }
        section { h2 { "主要驳回原因" } (reasons_chart(&top_reasons(&stats))) }
    };
    Ok(html_response(
        StatusCode::OK,
        super::page("统计", Some((&signed.account, &signed.session.csrf)), body),
    ))
}

/// One CSV field, quoted when it must be, and never read as a formula by a spreadsheet.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// The queue under the same filters as a CSV file, UTF-8 with a byte-order mark so that Excel
/// opens the Chinese correctly. ID numbers are masked, as on the page.
pub async fn export(
    State(state): State<AppState>,
    signed: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let filter = Filter::parse(&raw.unwrap_or_default())?;
    let mut query = filter.query(&signed)?;
    query.offset = 0;
    query.limit = EXPORT_MAX_ROWS;
    let store = state.store.clone();
    let actor = signed.actor();
    let page = blocking(move || {
        let page = store.queue(&query)?;
        store.audit(&AuditEntry::new(
            &actor,
            "export",
            "queue",
            &format!("{} rows", page.rows.len()),
            now(),
        ))?;
        Ok(page)
    })
    .await?;
    let mut csv = String::from("\u{feff}提交编号,提交时间,姓名,证件号码,财政局,状态,审核时间\r\n");
    for row in &page.rows {
        let fields = [
            row.id.clone(),
            format_time(row.received_at),
            row.name.clone(),
            mask_id_number(&row.applicant),
            row.bureau.map(bureau_name).unwrap_or_default(),
            state_word(&row.state).to_owned(),
            row.decided_at.map(format_time).unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        csv.push_str(&line.join(","));
        csv.push_str("\r\n");
    }
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"review-queue.csv\""),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_reasons_count_once_each_and_the_commonest_come_first() {
        let stats = Stats {
            reasons: vec![
                ("照片不符合要求；材料不清晰".into(), 3),
                ("材料不清晰".into(), 2),
                ("属地选择错误；请选择昆明市财政局".into(), 1),
            ],
            ..Stats::default()
        };
        assert_eq!(
            top_reasons(&stats),
            [
                ("材料不清晰".to_owned(), 5),
                ("照片不符合要求".to_owned(), 3),
                ("属地选择错误".to_owned(), 1),
                ("请选择昆明市财政局".to_owned(), 1),
            ]
        );
    }

    #[test]
    fn waits_and_csv_fields_read_as_a_person_expects() {
        assert_eq!(duration_words(59 * 60), "59 分钟");
        assert_eq!(duration_words(3 * 3600 + 120), "3 小时 2 分钟");
        assert_eq!(duration_words(2 * DAY + 5 * 3600), "2 天 5 小时");
        assert_eq!(csv_field("张三"), "张三");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    }
}
