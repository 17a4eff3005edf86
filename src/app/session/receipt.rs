//! The receipt after a submission: its code, 打印回执, and the printer's answer.

use kiosk_domain::receipt::ReceiptFacts;

use super::*;
use crate::receipt::PrintJob;

/// What the receipt needs from the moment of submitting; nothing personal beyond the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedReceipt {
    /// `None` on a kiosk without a central server (no applicant session to derive it from).
    pub code: Option<String>,
    pub submitted_at: time::OffsetDateTime,
}

impl Session {
    /// Whether the review page offers 打印回执: a submission of this visit, a printer, and no
    /// receipt being printed.
    pub fn can_print_receipt(&self) -> bool {
        self.visit.receipt.is_some()
            && self.services.printer.is_some()
            && self.visit.print_job.is_none()
    }

    /// The public status page of this visit's submission, when it has a code and the kiosk a
    /// server.
    pub fn receipt_status_url(&self) -> Option<String> {
        let code = self.visit.receipt.as_ref()?.code.as_deref()?;
        let base = self.services.status_base_url.as_deref()?;
        Some(kiosk_wire::receipt::status_url(base, code))
    }

    /// "打印回执": the receipt is drawn and sent to the printer on a thread of its own.
    pub fn print_receipt(&mut self) {
        self.activity();
        let (Some(saved), Some(printer)) = (&self.visit.receipt, &self.services.printer) else {
            return;
        };
        if self.visit.print_job.is_some() {
            return;
        }
        let status_url = self.receipt_status_url();
        let facts = ReceiptFacts {
            submitted_at: saved.submitted_at,
            hall: &self.services.hall_name,
            code: saved.code.as_deref(),
            status_url,
        };
        let page = crate::receipt::page(&self.visit.app, &facts, self.lang);
        self.visit.print_job = Some(PrintJob::start(page, printer));
        tracing::info!("receipt sent to the printer");
        self.say(Tone::Info, Message::new("正在打印回执，请稍候"));
    }

    /// The printer's answer, once it has come (looked at every tick).
    pub(super) fn poll_print(&mut self) {
        let Some(result) = self.visit.print_job.as_ref().and_then(PrintJob::poll) else {
            return;
        };
        self.visit.print_job = None;
        match result {
            Ok(()) => self.say(Tone::Success, Message::new("回执已打印，请从出纸口取走")),
            Err(e) => {
                tracing::warn!(error = %e, "the receipt was not printed");
                self.say(Tone::Error, Message::new(e.zh()));
            }
        }
    }
}
