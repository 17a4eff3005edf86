//! The receipt printer over a pseudo-terminal: the driver against the simulator, which
//! interprets the ESC/POS bytes it receives; paper out, unplugged and silent printers.

use std::time::{Duration, Instant};

use kiosk_hardware::printer::driver::EscPosPrinter;
use kiosk_hardware::printer::sim::PrinterSim;
use kiosk_hardware::printer::{PrintPage, PrinterError, ReceiptPrinter};

fn page() -> PrintPage {
    let (width, height) = (576, 300);
    let packed = (0..(width / 8 * height))
        .map(|i| (i * 37 % 256) as u8)
        .collect();
    PrintPage {
        width,
        height,
        packed,
    }
}

fn wait_for_pages(sim: &PrinterSim, n: usize) -> Vec<PrintPage> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pages = sim.pages();
        if pages.len() >= n || Instant::now() > deadline {
            return pages;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_page_comes_out_of_the_simulated_printer_exactly_as_sent() {
    let dir = tempfile::tempdir().expect("dir");
    let sim = PrinterSim::spawn(Some(dir.path().to_owned())).expect("sim");
    let mut printer = EscPosPrinter::new(sim.device(), 115_200);
    printer.print(&page()).expect("printed");
    let pages = wait_for_pages(&sim, 1);
    assert_eq!(pages, vec![page()]);
    let png = image::open(dir.path().join("page-1.png")).expect("a PNG of the page");
    assert_eq!((png.width(), png.height()), (576, 300));
    // A second receipt is a second page.
    printer.print(&page()).expect("printed again");
    assert_eq!(wait_for_pages(&sim, 2).len(), 2);
}

#[test]
fn out_of_paper_is_said_and_nothing_is_printed() {
    let sim = PrinterSim::spawn(None).expect("sim");
    sim.set_paper_out(true);
    let mut printer = EscPosPrinter::new(sim.device(), 115_200);
    let err = printer.print(&page()).expect_err("no paper");
    assert!(matches!(err, PrinterError::PaperOut), "{err}");
    assert!(err.zh().contains("缺纸") && err.zh().contains("已保存"));
    std::thread::sleep(Duration::from_millis(200));
    assert!(sim.pages().is_empty());
    // Paper loaded: the same receipt prints.
    sim.set_paper_out(false);
    printer.print(&page()).expect("printed");
    assert_eq!(wait_for_pages(&sim, 1).len(), 1);
}

#[test]
fn an_unplugged_or_silent_printer_is_a_clear_error_not_a_hang() {
    let mut missing = EscPosPrinter::new("/dev/kiosk/no-such-printer", 115_200);
    assert!(matches!(
        missing.print(&page()),
        Err(PrinterError::Unplugged(_))
    ));
    let sim = PrinterSim::spawn(None).expect("sim");
    let device = sim.device().clone();
    drop(sim);
    let mut gone = EscPosPrinter::new(&device, 115_200);
    assert!(gone.print(&page()).is_err(), "a pty that was closed");

    // A device that takes the bytes but never answers: a printer switched off behind its
    // USB-serial adapter.
    let (_master, slave) = serialport::TTYPort::pair().expect("pty");
    let silent_path = serialport::SerialPort::name(&slave).expect("name");
    let mut silent = EscPosPrinter::new(silent_path, 115_200);
    let started = Instant::now();
    assert!(matches!(silent.print(&page()), Err(PrinterError::Offline)));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_page_that_does_not_fit_is_refused_before_anything_is_sent() {
    let sim = PrinterSim::spawn(None).expect("sim");
    let mut printer = EscPosPrinter::new(sim.device(), 115_200);
    let mut wrong = page();
    wrong.packed.pop();
    assert!(matches!(
        printer.print(&wrong),
        Err(PrinterError::BadPage(_))
    ));
    let wide = PrintPage {
        width: 2000,
        height: 1,
        packed: vec![0; 250],
    };
    assert!(matches!(
        printer.print(&wide),
        Err(PrinterError::BadPage(_))
    ));
}

#[test]
fn a_port_busy_for_a_moment_is_waited_for_and_one_busy_for_good_is_offline() {
    let sim = PrinterSim::spawn(None).expect("sim");
    let path = sim.device().to_string_lossy().into_owned();
    // Another opener (ModemManager probing a new tty, say) holds the port for half a second.
    let holder = serialport::new(&path, 115_200).open().expect("held");
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        drop(holder);
    });
    let mut printer = EscPosPrinter::new(sim.device(), 115_200);
    printer
        .print(&page())
        .expect("printed once the port is free");
    release.join().expect("released");
    assert_eq!(wait_for_pages(&sim, 1).len(), 1);

    let _held_for_good = serialport::new(&path, 115_200).open().expect("held");
    let started = Instant::now();
    assert!(matches!(printer.print(&page()), Err(PrinterError::Offline)));
    assert!(started.elapsed() < Duration::from_secs(10));
}
