//! The applicant's receipt, from the record to the paper: the text (`kiosk_domain::receipt`),
//! drawn with its QR code (`kiosk_media::receipt`), sent to the receipt printer
//! (`kiosk_hardware::printer`). Printing runs on a thread of its own: a 115200-baud line takes
//! about two seconds for a receipt, which the UI must not wait for.

use std::sync::{Arc, Mutex, mpsc};

use kiosk_domain::receipt::{ReceiptFacts, receipt};
use kiosk_domain::{Application, Lang};
use kiosk_hardware::printer::{PrintPage, PrinterError, ReceiptPrinter};
use kiosk_media::receipt::{ReceiptError, ReceiptFont, THERMAL_WIDTH, render};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PrintError {
    #[error(transparent)]
    Render(#[from] ReceiptError),
    #[error(transparent)]
    Printer(#[from] PrinterError),
}

impl PrintError {
    /// What the applicant reads, as a catalogue key.
    pub fn zh(&self) -> &'static str {
        match self {
            PrintError::Render(_) => kiosk_hardware::printer::PRINT_FAILED,
            PrintError::Printer(e) => e.zh(),
        }
    }
}

/// The receipt as the printer's page.
pub fn page(
    app: &Application,
    facts: &ReceiptFacts<'_>,
    lang: Lang,
) -> Result<PrintPage, ReceiptError> {
    // Read for each receipt (from the page cache, a few milliseconds): one receipt a visit does
    // not warrant keeping the 20 MB font collection resident.
    let font = ReceiptFont::system()?;
    let raster = render(&receipt(app, facts, lang), &font, THERMAL_WIDTH)?;
    Ok(PrintPage {
        width: raster.width,
        height: raster.height,
        packed: raster.packed_rows(),
    })
}

/// The printer, shared by the UI and the print job that is using it.
pub type SharedPrinter = Arc<Mutex<Box<dyn ReceiptPrinter>>>;

/// A print job under way; its answer arrives on `done`.
pub struct PrintJob {
    done: mpsc::Receiver<Result<(), PrintError>>,
}

impl PrintJob {
    /// Prints `page` on a new thread.
    pub fn start(page: Result<PrintPage, ReceiptError>, printer: &SharedPrinter) -> PrintJob {
        let (answer, done) = mpsc::channel();
        let printer = Arc::clone(printer);
        let spawned = std::thread::Builder::new()
            .name("receipt".into())
            .spawn(move || {
                let result = page.map_err(PrintError::from).and_then(|page| {
                    let mut printer = printer
                        .lock()
                        .map_err(|_| PrinterError::Io("the printer was left broken".into()))?;
                    printer.print(&page).map_err(PrintError::from)
                });
                let _ = answer.send(result);
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "the printing thread cannot start");
        }
        PrintJob { done }
    }

    /// The answer, once there is one.
    pub fn poll(&self) -> Option<Result<(), PrintError>> {
        match self.done.try_recv() {
            Ok(result) => Some(result),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => Some(Err(PrintError::Printer(
                PrinterError::Io("the printing thread ended".into()),
            ))),
        }
    }
}
