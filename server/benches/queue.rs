//! The reviewer console's queue with 100,000 submissions in the database (issue 15): server
//! time of `GET /console?...` for a bureau's reviewer and the province's, with each filter, on
//! SQLite and then on PostgreSQL. The rows are generated inside the database (a year of
//! submissions over 16 bureaus, 10 % under review, 20 % rejected), then `ANALYZE`d; each page is
//! fetched over loopback HTTP with a logged-in session, `RUNS` times, after one warm-up.
//! Run: `source scripts/postgres.sh && ensure_test_postgres && cargo bench -p kiosk-server
//! --bench queue`. Prints a table of medians and 95th percentiles; figures go to
//! `docs/benchmarks.md`.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Backend, Resp, Server, TestDb};
use kiosk_server::store::{AuditEntry, ReviewerRole};

const ROWS: u32 = 100_000;
const RUNS: usize = 30;
const PASSWORD: &str = "bench-password-1";
/// 2026-12-07 00:00 China time; the rows run over the year before it.
const T_END: i64 = 1_796_572_800;
const SPACING_SECS: i64 = 315;

fn bureaus() -> Vec<u32> {
    let mut codes: Vec<u32> = kiosk_domain::region::finance_bureaus()
        .map(|d| d.code.0)
        .filter(|c| *c != 530102)
        .take(15)
        .collect();
    codes.insert(0, 530102);
    codes
}

/// The INSERT that generates the rows, in the backend's dialect.
fn generate_sql(backend: Backend) -> String {
    let (series, i, pad8, pad64) = match backend {
        Backend::Sqlite => (
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {}) ",
                ROWS - 1
            ),
            "i",
            "printf('%08d', i)",
            "printf('%064d', i)",
        ),
        Backend::Postgres => (
            String::new(),
            "i",
            "lpad(i::TEXT, 8, '0')",
            "lpad(i::TEXT, 64, '0')",
        ),
    };
    let bureau_case: String = bureaus()
        .iter()
        .enumerate()
        .map(|(k, code)| format!("WHEN {k} THEN {code} "))
        .collect();
    let from = match backend {
        Backend::Sqlite => "FROM n".to_owned(),
        Backend::Postgres => format!("FROM generate_series(0, {}) AS i", ROWS - 1),
    };
    let start = T_END - i64::from(ROWS) * SPACING_SECS;
    format!(
        "{series}INSERT INTO submissions (id, device_id, idempotency_key, content_sha256, \
         applicant, application_json, response_json, review_json, state, received_at, bureau, \
         session_id, version, applicant_name) \
         SELECT 'sub_' || {pad8}, 'dev', 'key-' || {pad8}, {pad64}, '5301021990' || {pad8}, \
         '{{}}', '{{}}', \
         CASE WHEN {i} % 10 = 0 THEN '{{\"state\":\"under_review\"}}' \
              WHEN {i} % 10 < 3 THEN '{{\"state\":\"rejected\",\"reason\":\"材料不清晰\"}}' \
              ELSE '{{\"state\":\"approved\"}}' END, \
         CASE WHEN {i} % 10 = 0 THEN 'under_review' WHEN {i} % 10 < 3 THEN 'rejected' \
              ELSE 'approved' END, \
         {start} + {i} * {SPACING_SECS}, \
         CASE {i} % 16 {bureau_case}END, \
         'ses', 1, \
         substr('张王李赵刘陈杨黄周吴', {i} % 10 + 1, 1) \
         || substr('明华伟芳娜敏静丽强磊', ({i} / 10) % 10 + 1, 1) \
         || substr('国兰红军平文玉英春云', ({i} / 100) % 10 + 1, 1) \
         {from}"
    )
}

fn fill(server: &Server) {
    let sql = generate_sql(server.backend);
    match &server.db {
        TestDb::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path).expect("open the bench database");
            conn.execute_batch(&format!("BEGIN; {sql}; COMMIT; ANALYZE;"))
                .expect("generate rows");
        }
        TestDb::Postgres(db) => {
            db.execute(&sql);
            db.execute("ANALYZE submissions");
        }
    }
}

/// A logged-in visitor's cookie header.
fn log_in(server: &Server, name: &str) -> String {
    let form = server.request_bytes("GET", "/console/login", None, &[], b"", None);
    let cookie = form
        .headers
        .iter()
        .find(|(n, v)| n.eq_ignore_ascii_case("set-cookie") && v.starts_with("console_login="))
        .and_then(|(_, v)| v.split(';').next())
        .expect("a log-in cookie")
        .to_owned();
    let csrf = cookie.trim_start_matches("console_login=").to_owned();
    let body = format!("csrf={csrf}&name={name}&password={PASSWORD}");
    let resp = server.request_bytes(
        "POST",
        "/console/login",
        None,
        &[("Cookie", &cookie)],
        body.as_bytes(),
        Some("application/x-www-form-urlencoded"),
    );
    assert_eq!(resp.status, 303, "{resp:?}");
    resp.headers
        .iter()
        .find(|(n, v)| n.eq_ignore_ascii_case("set-cookie") && v.starts_with("console_session="))
        .and_then(|(_, v)| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

fn get(server: &Server, cookie: &str, path: &str) -> Resp {
    server.request_bytes("GET", path, None, &[("Cookie", cookie)], b"", None)
}

struct Case {
    label: &'static str,
    reviewer: &'static str,
    path: &'static str,
}

const CASES: &[Case] = &[
    Case {
        label: "bureau, first page",
        reviewer: "bureau",
        path: "/console",
    },
    Case {
        label: "bureau, 待审核",
        reviewer: "bureau",
        path: "/console?state=pending",
    },
    Case {
        label: "bureau, page 40",
        reviewer: "bureau",
        path: "/console?page=40",
    },
    Case {
        label: "bureau, one month",
        reviewer: "bureau",
        path: "/console?from=2026-06-01&to=2026-06-30",
    },
    Case {
        label: "bureau, name 张明",
        reviewer: "bureau",
        path: "/console?q=%E5%BC%A0%E6%98%8E",
    },
    Case {
        label: "bureau, ID digits 4242",
        reviewer: "bureau",
        path: "/console?q=4242",
    },
    Case {
        label: "province, first page",
        reviewer: "province",
        path: "/console",
    },
    Case {
        label: "province, 待审核",
        reviewer: "province",
        path: "/console?state=pending",
    },
    Case {
        label: "province, name 张明",
        reviewer: "province",
        path: "/console?q=%E5%BC%A0%E6%98%8E",
    },
    Case {
        label: "province, submission id",
        reviewer: "province",
        path: "/console?q=sub_00042424",
    },
];

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn measure(backend: Backend) -> Vec<(f64, f64)> {
    let server = Server::start_on(backend);
    let started = Instant::now();
    fill(&server);
    eprintln!("{}: {ROWS} rows in {:?}", backend.name(), started.elapsed());
    let hash = kiosk_server::auth::hash_password(PASSWORD).expect("hash");
    for (name, role) in [
        ("bureau", ReviewerRole::Bureau(530102)),
        ("province", ReviewerRole::Province),
    ] {
        let audit = AuditEntry::new("cli:bench", "add console account", name, "ok", 0);
        server
            .store
            .insert_reviewer(name, role, &hash, &audit)
            .expect("store")
            .expect("new");
    }
    let cookies = [
        ("bureau", log_in(&server, "bureau")),
        ("province", log_in(&server, "province")),
    ];
    CASES
        .iter()
        .map(|case| {
            let cookie = &cookies
                .iter()
                .find(|(n, _)| *n == case.reviewer)
                .expect("cookie")
                .1;
            let warm = get(&server, cookie, case.path);
            assert_eq!(warm.status, 200, "{}: {warm:?}", case.label);
            assert!(warm.raw.contains("共 "), "{}", case.label);
            let mut times: Vec<Duration> = (0..RUNS)
                .map(|_| {
                    let t = Instant::now();
                    let resp = get(&server, cookie, case.path);
                    let elapsed = t.elapsed();
                    assert_eq!(resp.status, 200);
                    elapsed
                })
                .collect();
            times.sort();
            let p = |q: f64| millis(times[((times.len() - 1) as f64 * q).round() as usize]);
            (p(0.5), p(0.95))
        })
        .collect()
}

fn main() {
    common::postgres_admin_url();
    let sqlite = measure(Backend::Sqlite);
    let postgres = measure(Backend::Postgres);
    println!(
        "| {ROWS} submissions, GET /console… | SQLite median / p95 | PostgreSQL median / p95 |"
    );
    println!("|---|---|---|");
    for ((case, s), p) in CASES.iter().zip(&sqlite).zip(&postgres) {
        println!(
            "| {} | {:.1} / {:.1} ms | {:.1} / {:.1} ms |",
            case.label, s.0, s.1, p.0, p.1
        );
    }
}
