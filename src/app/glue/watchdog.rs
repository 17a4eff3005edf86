//! systemd's view of the kiosk, from the UI thread: `READY=1` once the event loop has drawn the
//! window, then `WATCHDOG=1` from a Slint timer. The pings come from the same thread that draws
//! and handles touches, so a UI that freezes stops pinging and systemd restarts the kiosk
//! (`WatchdogSec=` in `kiosk.service`). Outside systemd (no `$NOTIFY_SOCKET`) this does nothing.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use slint::{ComponentHandle, Timer, TimerMode};

use crate::app::ui::KioskWindow;
use crate::systemd::{self, Notifier};

thread_local! {
    /// The ping timer lives as long as the UI thread: one kiosk window, one watchdog.
    static PING: RefCell<Option<Timer>> = const { RefCell::new(None) };
}

pub fn setup(window: &KioskWindow) {
    let Some(notifier) = Notifier::from_env(systemd::process_env) else {
        return;
    };
    let notifier = Rc::new(notifier);
    let interval = systemd::watchdog_interval(systemd::process_env, std::process::id());
    let window = window.as_weak();
    let created = Instant::now();
    // A zero timer fires in the event loop's first turn, before that turn draws; a zero timer
    // started from it fires in the next turn, after the first frame is on screen.
    let ready = Rc::clone(&notifier);
    Timer::single_shot(Duration::ZERO, move || {
        Timer::single_shot(Duration::ZERO, move || {
            if window.upgrade().is_none() {
                return;
            }
            match ready.ready() {
                Ok(()) => tracing::info!(
                    ms_since_window_created = created.elapsed().as_millis() as u64,
                    "first frame shown, told systemd READY=1"
                ),
                Err(e) => tracing::warn!(error = %e, "could not tell systemd READY=1"),
            }
        });
    });
    let Some(interval) = interval else {
        return;
    };
    let timer = Timer::default();
    timer.start(TimerMode::Repeated, interval, move || {
        if let Err(e) = notifier.watchdog() {
            tracing::warn!(error = %e, "could not ping systemd's watchdog");
        }
    });
    PING.with(|ping| *ping.borrow_mut() = Some(timer));
}
