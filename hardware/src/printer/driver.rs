//! ESC/POS over a serial line: the paper is asked for before anything is printed, so an empty
//! printer says so instead of swallowing the receipt.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::escpos::{self, Paper};
use super::{PrintPage, PrinterError, ReceiptPrinter};

/// Thermal printers answer `DLE EOT` within a few milliseconds; a second is a printer that is
/// off or busy jammed.
const STATUS_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a busy port is tried again.
const BUSY_PATIENCE: Duration = Duration::from_secs(3);
/// Widest head this driver drives (80 mm at 203 dpi is 576 dots).
const MAX_WIDTH: u32 = 832;

pub struct EscPosPrinter {
    path: PathBuf,
    baud: u32,
}

impl EscPosPrinter {
    /// The printer on serial device `path` (the image's udev name, e.g. `/dev/kiosk/printer`).
    pub fn new(path: impl Into<PathBuf>, baud: u32) -> EscPosPrinter {
        EscPosPrinter {
            path: path.into(),
            baud,
        }
    }

    fn open(&self) -> Result<Box<dyn serialport::SerialPort>, PrinterError> {
        // A port that is busy (another opener holds it: ModemManager probing a new tty, for
        // one) is usually free again within moments: tried for a while before giving up.
        let deadline = Instant::now() + BUSY_PATIENCE;
        loop {
            if !self.path.exists() {
                return Err(PrinterError::Unplugged(self.path.clone()));
            }
            let opened = serialport::new(self.path.to_string_lossy(), self.baud)
                .timeout(Duration::from_millis(50))
                .open();
            match opened {
                Ok(port) => return Ok(port),
                // serialport reports EBUSY (TIOCEXCL or a lock) as `NoDevice`.
                Err(e) if e.kind == serialport::ErrorKind::NoDevice => {
                    if Instant::now() >= deadline {
                        tracing::warn!(error = %e, "the receipt printer stays busy");
                        return Err(PrinterError::Offline);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(PrinterError::Io(e.to_string())),
            }
        }
    }

    fn paper(port: &mut dyn serialport::SerialPort) -> Result<Paper, PrinterError> {
        port.write_all(&escpos::PAPER_STATUS)
            .and_then(|()| port.flush())
            .map_err(|e| PrinterError::Io(e.to_string()))?;
        let deadline = Instant::now() + STATUS_TIMEOUT;
        let mut byte = [0u8; 1];
        while Instant::now() < deadline {
            match port.read(&mut byte) {
                Ok(1) => {
                    if let Some(paper) = escpos::parse_paper_status(byte[0]) {
                        return Ok(paper);
                    }
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => return Err(PrinterError::Io(e.to_string())),
            }
        }
        Err(PrinterError::Offline)
    }
}

impl ReceiptPrinter for EscPosPrinter {
    fn print(&mut self, page: &PrintPage) -> Result<(), PrinterError> {
        let row_bytes = page.width.div_ceil(8) as usize;
        if page.width == 0 || page.width > MAX_WIDTH {
            return Err(PrinterError::BadPage("wider than the printer"));
        }
        if page.packed.len() != row_bytes * page.height as usize {
            return Err(PrinterError::BadPage("the rows do not match the size"));
        }
        let mut port = self.open()?;
        let _ = port.clear(serialport::ClearBuffer::Input);
        port.write_all(&escpos::INIT)
            .map_err(|e| PrinterError::Io(e.to_string()))?;
        if Self::paper(port.as_mut())? == Paper::Out {
            return Err(PrinterError::PaperOut);
        }
        let mut job = escpos::raster(row_bytes, &page.packed);
        job.extend_from_slice(&escpos::FEED_AND_CUT);
        port.write_all(&job)
            .and_then(|()| port.flush())
            .map_err(|e| PrinterError::Io(e.to_string()))?;
        // The printer takes the job into its buffer; asking again confirms it is still there
        // and still has paper (a roll that ran out mid-page).
        match Self::paper(port.as_mut())? {
            Paper::Out => Err(PrinterError::PaperOut),
            Paper::Present | Paper::NearEnd => Ok(()),
        }
    }
}
