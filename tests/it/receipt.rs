//! The receipt end to end: a submission saved on the kiosk, its receipt drawn and sent to the
//! simulated thermal printer (which interprets the ESC/POS bytes), the printed QR code read
//! back with a QR decoder, and the address it holds answered by the running `central` with the
//! submission's status, before and after a reviewer's decision.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use kiosk::receipt::{PrintJob, SharedPrinter};
use kiosk_domain::receipt::ReceiptFacts;
use kiosk_domain::{Application, Lang};
use kiosk_hardware::printer::driver::EscPosPrinter;
use kiosk_hardware::printer::sim::PrinterSim;
use kiosk_hardware::printer::{PrintPage, PrinterError, ReceiptPrinter};
use std::sync::{Arc, Mutex};

use crate::sync_support::{self, Applicant, open_store};

/// The status page's HTML (plain HTTP on loopback).
fn get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("http");
    let (host, path) = rest.split_at(rest.find('/').expect("a path"));
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

fn decode_qr(page: &PrintPage) -> String {
    let raster =
        kiosk_media::receipt::Raster::from_packed_rows(page.width, page.height, &page.packed)
            .expect("a whole page");
    let mut prepared = rqrr::PreparedImage::prepare(raster.to_gray());
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the receipt");
    grids[0].decode().expect("the QR code reads").1
}

fn print(
    app: &Application,
    facts: &ReceiptFacts<'_>,
    printer: &SharedPrinter,
) -> Result<(), kiosk::receipt::PrintError> {
    let job = PrintJob::start(kiosk::receipt::page(app, facts, Lang::Zh), printer);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(result) = job.poll() {
            return result;
        }
        assert!(Instant::now() < deadline, "the print job never finished");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_printed_qr_code_opens_the_submissions_status_on_central() {
    let dir = tempfile::tempdir().expect("temp dir");
    let central = sync_support::Central::start(&dir.path().join("central.db"));
    let token = central.device("hall-1");
    let who = Applicant::new(41);
    central.register(&who);
    let data = dir.path().join("kiosk");
    let mut store = open_store(&data);
    let saved = sync_support::submit(&mut store, &who);
    let code = saved
        .receipt_code
        .clone()
        .expect("a code with the applicant's session");
    let (app, _) = store
        .load_draft(&who.id_number)
        .expect("store")
        .expect("the submitted draft");

    // Printed at once, before the kiosk has reached the server.
    let sim = PrinterSim::spawn(Some(dir.path().to_owned())).expect("printer");
    let printer: SharedPrinter = Arc::new(Mutex::new(Box::new(EscPosPrinter::new(
        sim.device(),
        115_200,
    )) as Box<dyn ReceiptPrinter>));
    let status_url = kiosk_wire::receipt::status_url(&central.url(), &code);
    let facts = ReceiptFacts {
        submitted_at: time::OffsetDateTime::now_utc(),
        hall: "五华区政务服务中心",
        code: Some(&code),
        status_url: Some(status_url.clone()),
    };
    let started = Instant::now();
    print(&app, &facts, &printer).expect("printed");
    tracing::info!(ms = started.elapsed().as_millis() as u64, "receipt printed");
    let pages = sim.pages();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].width, 576);
    // `KIOSK_RECEIPT_PNG=FILE` keeps the printed page (docs/screenshots/receipt-thermal.png).
    if let Ok(keep) = std::env::var("KIOSK_RECEIPT_PNG") {
        std::fs::copy(dir.path().join("page-1.png"), keep).expect("copy the page");
    }
    let url = decode_qr(&pages[0]);
    assert_eq!(url, status_url);
    let (status, _) = get(&url);
    assert_eq!(status, 404, "not on the server before sync");

    // The kiosk delivers; the same code now opens the status.
    sync_support::deliver(&data, &central.url(), &token);
    assert_eq!(central.submissions().len(), 1);
    let (status, page) = get(&url);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("审核中"), "{page}");
    for secret in [
        who.name.as_str(),
        who.id_number.as_str(),
        who.mobile.as_str(),
    ] {
        assert!(!page.contains(secret), "{secret} on the public page");
    }
}

#[test]
fn a_printer_out_of_paper_or_unplugged_says_so_and_the_submission_stands() {
    let dir = tempfile::tempdir().expect("temp dir");
    let who = Applicant::new(42);
    let data = dir.path().join("kiosk");
    let mut store = open_store(&data);
    let saved = sync_support::submit(&mut store, &who);
    let (app, _) = store
        .load_draft(&who.id_number)
        .expect("store")
        .expect("draft");
    let code = saved.receipt_code.expect("code");
    let facts = ReceiptFacts {
        submitted_at: time::OffsetDateTime::now_utc(),
        hall: "大厅",
        code: Some(&code),
        status_url: Some(kiosk_wire::receipt::status_url(
            "https://central.example",
            &code,
        )),
    };
    let sim = PrinterSim::spawn(None).expect("printer");
    sim.set_paper_out(true);
    let printer: SharedPrinter = Arc::new(Mutex::new(Box::new(EscPosPrinter::new(
        sim.device(),
        115_200,
    )) as Box<dyn ReceiptPrinter>));
    let err = print(&app, &facts, &printer).expect_err("no paper");
    assert!(
        matches!(
            err,
            kiosk::receipt::PrintError::Printer(PrinterError::PaperOut)
        ),
        "{err}"
    );
    assert!(err.zh().contains("缺纸"));
    sim.set_paper_out(false);
    print(&app, &facts, &printer).expect("printed once paper is in");

    let unplugged: SharedPrinter = Arc::new(Mutex::new(Box::new(EscPosPrinter::new(
        dir.path().join("no-printer"),
        115_200,
    )) as Box<dyn ReceiptPrinter>));
    let err = print(&app, &facts, &unplugged).expect_err("unplugged");
    assert!(err.zh().contains("未连接"), "{}", err.zh());
    // Nothing of the submission was touched by either failure.
    assert_eq!(store.outbox_counts().expect("counts").pending, 1);
}
