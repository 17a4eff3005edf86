//! Sending SMS codes, behind a trait so a real gateway can replace the development sender.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use kiosk_domain::privacy::mask_mobile;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SmsError {
    #[error("no SMS sender is configured")]
    Disabled,
    #[error("the SMS sender failed: {0}")]
    Failed(String),
}

pub trait SmsSender: Send + Sync {
    /// Sends `code` to the normalised mainland mobile number `mobile`.
    fn send_code(&self, mobile: &str, code: &str) -> Result<(), SmsError>;
}

/// Development sender: appends `code <masked phone> <code>` lines to a file, created 0600
/// since its codes log phones in. The full phone number is never written.
pub struct FileSender {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileSender {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSender {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }
}

impl SmsSender for FileSender {
    fn send_code(&self, mobile: &str, code: &str) -> Result<(), SmsError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut file = crate::files::append_private(&self.path)
            .map_err(|e| SmsError::Failed(e.to_string()))?;
        writeln!(file, "code {} {code}", mask_mobile(mobile))
            .map_err(|e| SmsError::Failed(e.to_string()))
    }
}

/// Used when no sender is configured: every send fails with 503.
pub struct DisabledSender;

impl SmsSender for DisabledSender {
    fn send_code(&self, _mobile: &str, _code: &str) -> Result<(), SmsError> {
        Err(SmsError::Disabled)
    }
}
