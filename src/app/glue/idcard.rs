//! Brings the ID card reader's events into the UI thread: a short timer drains the reader's
//! channel, so the reader never blocks the UI.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use kiosk_hardware::idcard::ReaderEvent;
use slint::{Timer, TimerMode};

use super::render;
use crate::app::session::Session;
use crate::app::ui::KioskWindow;
use slint::ComponentHandle;

/// How often the reader's channel is drained.
pub const POLL: Duration = Duration::from_millis(200);

fn apply(session: &mut Session, event: ReaderEvent) {
    match event {
        ReaderEvent::ReaderConnected => session.reader_status(true),
        ReaderEvent::ReaderDisconnected => session.reader_status(false),
        ReaderEvent::CardRead(card) => session.card_read(crate::idcard::identity(&card)),
        ReaderEvent::ReadFailed(e) => {
            tracing::warn!(error = %e, "ID card read failed");
            session.card_read_failed(e.zh());
        }
        ReaderEvent::CardPlaced | ReaderEvent::CardRemoved => {}
    }
}

pub fn setup(window: &KioskWindow, session: &Rc<RefCell<Session>>) -> Timer {
    let weak = window.as_weak();
    let session = Rc::clone(session);
    let timer = Timer::default();
    timer.start(TimerMode::Repeated, POLL, move || {
        let Ok(mut s) = session.try_borrow_mut() else {
            return;
        };
        let mut changed = false;
        while let Some(event) = s
            .services
            .card_reader
            .as_ref()
            .and_then(|r| r.try_next_event())
        {
            apply(&mut s, event);
            changed = true;
        }
        if changed {
            s.speak_changes();
        }
        drop(s);
        if changed && let Some(window) = weak.upgrade() {
            render::refresh(&window, &session.borrow());
        }
    });
    timer
}
