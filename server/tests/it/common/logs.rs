//! What a test's own server logs, apart from the other servers of the tests running at once in
//! this process.
//!
//! Only one global subscriber can exist in a process, and the server logs on its runtime's
//! threads, not the test's. So one subscriber serves the whole binary, installed once, and each
//! event goes to the capture of the thread that logs it, if that thread has one: a server started
//! with [`Server::start_capturing_logs`](super::Server::start_capturing_logs) gives each of its
//! threads the test's capture as the thread starts.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};

/// Every log line written by the threads that capture into it, at every level.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }

    /// Sends the log lines of the calling thread here from now on, for as long as the thread
    /// lives (a server's threads live as long as the process).
    pub fn capture_this_thread(&self) {
        install();
        CAPTURE.set(Some(self.clone()));
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

thread_local! {
    static CAPTURE: RefCell<Option<Logs>> = const { RefCell::new(None) };
}

/// Writes a log line into the calling thread's capture.
struct ThreadCapture;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ThreadCapture {
    type Writer = Box<dyn Write>;

    fn make_writer(&'a self) -> Self::Writer {
        match CAPTURE.with_borrow(Clone::clone) {
            Some(logs) => Box::new(logs),
            None => Box::new(std::io::sink()),
        }
    }
}

/// The binary's one subscriber. It asks at every event whether the thread captures: tracing
/// caches a filter's answer per call site, and a call site first met on a thread without a
/// capture would otherwise stay silent for every capture after.
fn install() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::{Layer as _, filter};
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let capturing =
            filter::dynamic_filter_fn(|_, _| CAPTURE.with_borrow(|capture| capture.is_some()))
                .with_callsite_filter(|_| tracing::subscriber::Interest::sometimes());
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(ThreadCapture)
            .with_filter(capturing);
        tracing_subscriber::registry()
            .with(layer)
            .try_init()
            .expect("no other global subscriber in the server's test binary");
    });
}
