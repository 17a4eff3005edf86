//! Logging setup. Log lines carry events and counts, never personal data: callers log masked
//! values (`kiosk_domain::privacy`) or none.

use tracing_subscriber::EnvFilter;

/// Logs to stderr, filtered by `KIOSK_LOG` (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_env("KIOSK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
