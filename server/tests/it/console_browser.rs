//! The reviewer console in a real browser (Chromium through chromedriver): a reviewer logs in,
//! filters the queue, opens a submission a kiosk sent through the API, zooms a material, rejects
//! it with two reasons, and the kiosk's status route answers those reasons word for word; the
//! applicant resubmits and the reviewer approves, after which the collection is locked. Every page
//! is photographed at 1366x768 and 1920x1080 into `target/tmp/console-screenshots/` (the current
//! ones are kept in docs/screenshots/console-*.png).

use crate::browser;
use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use browser::Browser;
use common::{Applicant, Backend, Server, key};
use image::imageops::FilterType;
use kiosk_domain::MaterialKind;
use kiosk_server::store::{AuditEntry, ReviewerRole};
use kiosk_server::util;

const PASSWORD: &str = "wuhua-review-2026";

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn shoot(browser: &Browser, name: &str, width: u32, height: u32) {
    browser.resize(width, height);
    browser.screenshot(&shots().join(format!("console-{name}-{width}x{height}.png")));
}

/// Both sizes of the page on screen, ending at the smaller one.
fn shoot_both(browser: &Browser, name: &str) {
    shoot(browser, name, 1920, 1080);
    shoot(browser, name, 1366, 768);
}

/// Files made so far, by (is the photo, seed).
type MadeFiles = HashMap<(bool, u8), Vec<u8>>;

/// The sample face and page of docs/dev-materials as the kiosk would send them (cropped,
/// compressed to their limits by the kiosk's own compressor), so that the screenshots show
/// what a reviewer sees; each page carries a mark of its seed so that files differ.
fn sample_file(kind: MaterialKind, seed: u8) -> Vec<u8> {
    static FILES: OnceLock<Mutex<MadeFiles>> = OnceLock::new();
    let photo = kind == MaterialKind::Photo;
    let mut files = FILES.get_or_init(Default::default).lock().unwrap();
    files
        .entry((photo, if photo { 0 } else { seed }))
        .or_insert_with(|| {
            let materials = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/dev-materials");
            if photo {
                let frame = image::open(materials.join("photo.jpg")).unwrap().to_rgb8();
                let width = frame.height() * 295 / 413;
                let x = (frame.width() - width) / 2;
                let face =
                    image::imageops::crop_imm(&frame, x, 0, width, frame.height()).to_image();
                let face = image::imageops::resize(&face, 295, 413, FilterType::Triangle);
                kiosk_media::compress(&face, &kiosk_media::Limits::photo())
                    .unwrap()
                    .bytes
            } else {
                let mut page = image::open(materials.join("document.jpg"))
                    .unwrap()
                    .to_rgb8();
                for x in 0..u32::from(seed) {
                    page.put_pixel(20 + x, 20, image::Rgb([0, 0, 0]));
                }
                kiosk_media::compress(&page, &kiosk_media::Limits::material())
                    .unwrap()
                    .bytes
            }
        })
        .clone()
}

/// The submission's id and its receipt code.
fn submit(server: &Server, device: &str, who: &Applicant, variant: u8) -> (String, String) {
    let body = who.submission_with(
        sample_file,
        |kind| {
            if kind == MaterialKind::WorkCertificate {
                variant
            } else {
                0
            }
        },
        0,
    );
    let resp = server.put(&format!("/v1/submissions/{}", key()), device, &body);
    assert_eq!(resp.status, 200, "{resp:?}");
    let field = |name: &str| resp.body[name].as_str().unwrap().to_owned();
    (field("submission_id"), field("receipt_code"))
}

#[test]
fn a_reviewer_does_a_submission_from_queue_to_decision_in_a_real_browser() {
    let server = Server::start_on(Backend::Sqlite);
    let device = server.device("hall-1");
    let applicants: Vec<Applicant> = (1..=3).map(Applicant::new).collect();
    for who in &applicants {
        assert_eq!(server.register(&device, who).status, 201);
    }
    let (ids, receipts): (Vec<String>, Vec<String>) = applicants
        .iter()
        .map(|who| submit(&server, &device, who, 0))
        .unzip();
    let hash = kiosk_server::auth::hash_password(PASSWORD).unwrap();
    server
        .store
        .insert_reviewer(
            "wuhua.reviewer",
            ReviewerRole::Bureau(530102),
            &hash,
            &AuditEntry::new(
                "cli:test",
                "add console account",
                "wuhua.reviewer",
                "ok",
                util::now(),
            ),
        )
        .unwrap()
        .unwrap();
    let base = format!("http://{}", server.addr);
    let browser = Browser::start(1366, 768);

    // Log in.
    browser.goto(&format!("{base}/console"));
    assert!(browser.current_url().ends_with("/console/login?ended=1"));
    shoot_both(&browser, "login");
    browser.fill("#name", "wuhua.reviewer");
    browser.fill("#password", "not-the-password");
    browser.click_to_next_page("button[type=submit].primary");
    assert!(browser.page_text().contains("用户名或密码错误"));
    browser.fill("#password", PASSWORD);
    browser.click_to_next_page("button[type=submit].primary");
    assert!(
        browser.current_url().ends_with("/console"),
        "{}",
        browser.current_url()
    );
    let session = browser
        .cookies()
        .into_iter()
        .find(|c| c.name == "console_session")
        .expect("a session cookie");
    assert!(session.http_only);
    assert_eq!(session.same_site.as_deref(), Some("Strict"));

    // The queue: three under review, newest first.
    let queue = browser.page_text();
    assert!(queue.contains("五华区财政局 · 审核列表"), "{queue}");
    assert!(queue.contains("共 3 条"), "{queue}");
    shoot_both(&browser, "queue");

    // Filter by the second applicant's name.
    let target = &applicants[1];
    browser.fill("input[name=q]", &target.name);
    browser.select("select[name=state]", "pending");
    browser.click_to_next_page("form.filter button[type=submit]");
    let filtered = browser.page_text();
    assert!(filtered.contains("共 1 条"), "{filtered}");
    assert!(filtered.contains(&ids[1]));
    assert!(!filtered.contains(&ids[0]) && !filtered.contains(&ids[2]));
    shoot_both(&browser, "queue-filtered");

    // The submission page.
    browser.click_to_next_page(&format!("a[href='/console/submissions/{}']", ids[1]));
    let page = browser.page_text();
    for expected in [
        "应交材料",
        "基本信息",
        "审核决定",
        "该申请人的提交记录",
        "操作记录",
        &target.name,
    ] {
        assert!(page.contains(expected), "{expected}: {page}");
    }
    assert!(
        !page.contains(&target.id_number),
        "the ID number is shown masked"
    );
    // The photo and every thumbnail were really loaded and decoded by the browser.
    shoot_both(&browser, "submission");
    let loaded = browser.execute(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.src]);",
        vec![],
    );
    let images = loaded.as_array().cloned().unwrap_or_default();
    assert!(images.len() >= 2, "the photo and the thumbnails: {loaded}");
    assert!(
        images
            .iter()
            .all(|i| i[0] == true && i[1].as_u64().unwrap_or(0) > 0),
        "every image loaded and decoded: {loaded}"
    );

    // A material full size, zoomed.
    browser.click_to_next_page("a.thumb");
    browser.click_to_next_page("nav.zoom a[href$='zoom=200']");
    assert!(browser.exists("img.zoom-200"));
    let natural = browser.execute(
        "const i = document.querySelector('img.zoom-200'); return [i.naturalWidth, i.width];",
        vec![],
    );
    assert!(
        natural[1].as_f64().unwrap_or(0.0) > 1000.0,
        "shown at twice the viewer's width: {natural}"
    );
    shoot_both(&browser, "material-zoom");

    // Reject with two reasons.
    browser.goto(&format!("{base}/console/submissions/{}", ids[1]));
    browser.check("input[name=reason][value=photo]");
    browser.check("input[name=reason][value=unclear]");
    browser.click_to_next_page("button[value=reject]");
    let decided = browser.page_text();
    assert!(decided.contains("审核决定已保存"), "{decided}");
    assert!(decided.contains("驳回原因：照片不符合要求；材料不清晰"));
    shoot_both(&browser, "rejected");

    // What the kiosk's status poll gets.
    let status = server.get(&format!("/v1/submissions/{}/status", ids[1]), Some(&device));
    assert_eq!(status.body["status"]["state"], "rejected");
    assert_eq!(
        status.body["status"]["reason"],
        "照片不符合要求；材料不清晰"
    );

    // What the applicant's phone shows from the receipt's QR: the status and the reasons only.
    browser.goto(&format!("{base}/s/{}", receipts[1]));
    let public = browser.page_text();
    assert!(public.contains("审核失败"), "{public}");
    assert!(public.contains("照片不符合要求；材料不清晰"));
    assert!(!public.contains(&target.name) && !public.contains(&ids[1]));
    shoot(&browser, "public-status", 390, 844);
    browser.resize(1366, 768);

    // The applicant resubmits; the reviewer approves the new version.
    server.log_in(&device, target);
    let (resubmitted, _) = submit(&server, &device, target, 1);
    browser.goto(&format!("{base}/console?state=pending"));
    assert!(browser.page_text().contains(&resubmitted));
    browser.click_to_next_page(&format!("a[href='/console/submissions/{resubmitted}']"));
    assert!(browser.page_text().contains("（本次）"));
    browser.click_to_next_page("button[value=approve]");
    let approved = browser.page_text();
    assert!(approved.contains("审核决定已保存"), "{approved}");
    shoot_both(&browser, "approved");
    let locked = server.put(
        &format!("/v1/submissions/{}", key()),
        &device,
        &target.submission_with(sample_file, |_| 2, 0),
    );
    assert_eq!(
        locked.status, 409,
        "an approved collection is locked: {locked:?}"
    );

    // The statistics, from the queue's link.
    browser.goto(&format!("{base}/console"));
    browser.click_to_next_page("a[href='/console/stats']");
    let stats = browser.page_text();
    assert!(stats.contains("五华区财政局 · 统计"), "{stats}");
    let charts = browser.execute(
        "return Array.from(document.querySelectorAll('svg.chart')).map(c => c.textContent).join(' ');",
        vec![],
    );
    assert!(
        charts
            .as_str()
            .unwrap_or_default()
            .contains("照片不符合要求"),
        "{charts}"
    );
    let drawn = browser.execute(
        "const parts = Array.from(document.querySelectorAll('svg.chart rect, svg.chart text, svg.chart line')); \
         return [parts.length, parts.every(e => e.parentElement.tagName === 'svg')];",
        vec![],
    );
    assert!(drawn[0].as_u64().unwrap_or(0) > 30, "{drawn}");
    assert_eq!(
        drawn[1], true,
        "every chart element drawn, none swallowed by another: {drawn}"
    );
    shoot_both(&browser, "stats");

    // Log out: the session is gone.
    browser.click_to_next_page("form.logout button");
    assert!(browser.page_text().contains("您已退出登录"));
    browser.goto(&format!("{base}/console"));
    assert!(browser.current_url().ends_with("/console/login?ended=1"));

    // The admin adds a reviewer for 大理市 in the accounts page, who can then log in.
    let hash = kiosk_server::auth::hash_password(PASSWORD).unwrap();
    server
        .store
        .insert_reviewer(
            "admin",
            ReviewerRole::Admin,
            &hash,
            &AuditEntry::new(
                "cli:test",
                "add console account",
                "admin",
                "ok",
                util::now(),
            ),
        )
        .unwrap()
        .unwrap();
    browser.fill("#name", "admin");
    browser.fill("#password", PASSWORD);
    browser.click_to_next_page("button[type=submit].primary");
    assert!(
        browser.current_url().ends_with("/console/reviewers"),
        "{}",
        browser.current_url()
    );
    browser.fill(
        "form[action='/console/reviewers/add'] input[name=name]",
        "dali.reviewer",
    );
    browser.select(
        "form[action='/console/reviewers/add'] select[name=role]",
        "532901",
    );
    browser.fill(
        "form[action='/console/reviewers/add'] input[name=password]",
        "dali-review-2026",
    );
    browser.fill(
        "form[action='/console/reviewers/add'] input[name=confirm]",
        "dali-review-2026",
    );
    browser.click_to_next_page("form[action='/console/reviewers/add'] button[type=submit]");
    let accounts = browser.page_text();
    assert!(accounts.contains("账号已新增"), "{accounts}");
    assert!(accounts.contains("dali.reviewer") && accounts.contains("大理市财政局审核人员"));
    shoot_both(&browser, "reviewers");
    browser.click_to_next_page("form.logout button");
    browser.fill("#name", "dali.reviewer");
    browser.fill("#password", "dali-review-2026");
    browser.click_to_next_page("button[type=submit].primary");
    let dali = browser.page_text();
    assert!(dali.contains("大理市财政局 · 审核列表"), "{dali}");
    assert!(
        dali.contains("共 0 条"),
        "nothing of 五华区 in 大理市's queue"
    );
}
