//! 打印回执 on the review page, with real taps: the receipt comes out of the simulated thermal
//! printer; a printer without paper says so and the receipt prints once paper is in.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use i_slint_backend_testing::mock_elapsed_time;
use kiosk::app::screenshots;
use kiosk::app::ui::Screen;
use kiosk_domain::Step;
use kiosk_domain::samples::Branch;
use kiosk_hardware::printer::ReceiptPrinter;
use kiosk_hardware::printer::driver::EscPosPrinter;
use kiosk_hardware::printer::sim::PrinterSim;

use crate::ui_support::{self, Harness};

fn submitted_with_printer(sim: &PrinterSim) -> Harness {
    let h = ui_support::start();
    {
        let mut s = h.kiosk.session.borrow_mut();
        // The banner is awaited by ticking the kiosk's clock; under load that can outrun the
        // idle timeout, which is not what these tests are about.
        s.services.idle_timeout_secs = 24 * 3600;
        s.services.printer = Some(Arc::new(Mutex::new(Box::new(EscPosPrinter::new(
            sim.device(),
            115_200,
        )) as Box<dyn ReceiptPrinter>)));
        screenshots::at(&mut s, Step::Summary, Branch::Employed);
        screenshots::with_saved_files(&mut s);
    }
    h.kiosk.refresh();
    h.next();
    assert_eq!(h.screen(), Screen::Review, "{}", h.banner());
    h
}

/// Ticks the kiosk's clock until the banner says `what`.
fn until_banner(h: &Harness, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !h.banner().contains(what) {
        assert!(
            Instant::now() < deadline,
            "no {what:?}; banner {:?}",
            h.banner()
        );
        mock_elapsed_time(Duration::from_secs(1));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn print_receipt_on_the_review_page_prints_one_receipt() {
    let dir = tempfile::tempdir().expect("dir");
    let sim = PrinterSim::spawn(Some(dir.path().to_owned())).expect("printer");
    let h = submitted_with_printer(&sim);
    h.tap("打印回执");
    assert!(h.banner().contains("正在打印回执"), "{}", h.banner());
    assert!(!h.exists("打印回执"), "one job at a time");
    until_banner(&h, "回执已打印");
    let pages = sim.pages();
    assert_eq!(pages.len(), 1);
    assert!(
        pages[0].height > 400,
        "a whole receipt: {} rows",
        pages[0].height
    );
    assert!(h.exists("打印回执"), "it can be printed again");
    // In elder mode the page says how to get the receipt.
    assert_eq!(
        h.kiosk.session.borrow().voice_cue(),
        kiosk_domain::guidance::Cue::ReviewWithReceipt
    );
    // Without a central server there is no code and no QR, and the receipt says where to look.
    assert!(!h.exists("回执编号"));
}

#[test]
fn a_printer_out_of_paper_is_said_on_screen_and_the_receipt_prints_after() {
    let sim = PrinterSim::spawn(None).expect("printer");
    sim.set_paper_out(true);
    let h = submitted_with_printer(&sim);
    h.tap("打印回执");
    until_banner(&h, "缺纸");
    assert_eq!(h.screen(), Screen::Review, "the submission stands");
    assert!(sim.pages().is_empty());
    sim.set_paper_out(false);
    h.tap("打印回执");
    until_banner(&h, "回执已打印");
    assert_eq!(sim.pages().len(), 1);
}

#[test]
fn without_a_printer_the_review_page_offers_no_receipt() {
    let h = ui_support::start();
    {
        let mut s = h.kiosk.session.borrow_mut();
        screenshots::at(&mut s, Step::Summary, Branch::Employed);
        screenshots::with_saved_files(&mut s);
    }
    h.kiosk.refresh();
    h.next();
    assert_eq!(h.screen(), Screen::Review, "{}", h.banner());
    assert!(!h.exists("打印回执"));
}

#[test]
fn the_review_page_shows_the_status_pages_qr_code_to_scan() {
    use slint::ComponentHandle;
    let sim = PrinterSim::spawn(None).expect("printer");
    let h = submitted_with_printer(&sim);
    let code = "0DZBRDJVGQDKXPTMNVWE";
    {
        let mut s = h.kiosk.session.borrow_mut();
        // As with a central server: the applicant's session gave the submission its code.
        s.services.status_base_url = Some("https://central.example".into());
        if let Some(receipt) = s.visit.receipt.as_mut() {
            receipt.code = Some(code.into());
        }
    }
    h.kiosk.refresh();
    let qr = h
        .find("查看审核状态的二维码")
        .expect("the QR code on screen");
    let url = format!("https://central.example/s/{code}");
    assert_eq!(qr.accessible_value().as_deref(), Some(url.as_str()));
    assert!(h.exists("回执编号"));
    let image = h
        .kiosk
        .window
        .global::<kiosk::app::ui::Wizard>()
        .get_receipt_qr()
        .to_rgb8()
        .expect("a pixel image");
    let gray = image::GrayImage::from_fn(image.width(), image.height(), |x, y| {
        image::Luma([image.as_slice()[(y * image.width() + x) as usize].r])
    });
    let mut prepared = rqrr::PreparedImage::prepare(gray);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    assert_eq!(grids[0].decode().expect("reads").1, url);
}
