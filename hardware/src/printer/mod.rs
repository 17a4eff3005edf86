//! The receipt printer: an 80 mm thermal printer speaking ESC/POS over a serial line (USB-serial
//! or RS-232). The page arrives as a 1-bit raster (the kiosk draws the Chinese itself);
//! [`escpos`] holds the bytes, [`driver::EscPosPrinter`] sends them after asking for the paper,
//! and [`sim::PrinterSim`] is a printer on a pseudo-terminal that interprets what it receives.

pub mod driver;
pub mod escpos;
pub mod sim;

use std::path::PathBuf;

use thiserror::Error;

/// One page to print: `height` rows of `width` dots, packed eight to a byte, high bit first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintPage {
    pub width: u32,
    pub height: u32,
    pub packed: Vec<u8>,
}

/// Something that prints receipts.
pub trait ReceiptPrinter: Send {
    fn print(&mut self, page: &PrintPage) -> Result<(), PrinterError>;
}

#[derive(Debug, Error)]
pub enum PrinterError {
    #[error("the receipt printer {0} is not connected")]
    Unplugged(PathBuf),
    #[error("the receipt printer does not answer")]
    Offline,
    #[error("the receipt printer is out of paper")]
    PaperOut,
    #[error("the page does not fit the printer: {0}")]
    BadPage(&'static str),
    #[error("writing to the receipt printer failed: {0}")]
    Io(String),
}

/// What a receipt that failed for any other reason says, as a catalogue key.
pub const PRINT_FAILED: &str = "回执打印失败，请联系工作人员；您的提交已保存，不受影响";

impl PrinterError {
    /// What the applicant and staff read, as a catalogue key.
    pub fn zh(&self) -> &'static str {
        match self {
            PrinterError::Unplugged(_) => {
                "回执打印机未连接，请联系工作人员；您的提交已保存，不受影响"
            }
            PrinterError::Offline => "回执打印机没有响应，请联系工作人员；您的提交已保存，不受影响",
            PrinterError::PaperOut => {
                "回执打印机缺纸，请联系工作人员加纸后重新打印；您的提交已保存，不受影响"
            }
            PrinterError::BadPage(_) | PrinterError::Io(_) => PRINT_FAILED,
        }
    }
}
