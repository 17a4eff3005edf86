//! Slint glue: each module wires one global's callbacks to the session and redraws.

pub mod capture;
pub mod idcard;
pub mod idle;
pub mod keys;
pub mod pickers;
pub mod prefs;
pub mod render;
pub mod watchdog;
pub mod wizard;

use std::cell::RefCell;
use std::rc::Rc;

use slint::ComponentHandle;

use super::session::Session;
use super::ui::KioskWindow;

/// Runs session actions for callbacks, then redraws. Holds the window weakly.
#[derive(Clone)]
pub(crate) struct Glue {
    window: slint::Weak<KioskWindow>,
    session: Rc<RefCell<Session>>,
}

impl Glue {
    pub fn new(window: &KioskWindow, session: &Rc<RefCell<Session>>) -> Self {
        Glue {
            window: window.as_weak(),
            session: Rc::clone(session),
        }
    }

    pub fn run(&self, act: impl FnOnce(&mut Session)) {
        // A callback can arrive while another holds the session (a re-entrant redraw): skip it
        // rather than panic; the applicant simply taps again.
        let Ok(mut session) = self.session.try_borrow_mut() else {
            tracing::warn!("ignored a re-entrant UI callback");
            return;
        };
        act(&mut session);
        session.speak_changes();
        drop(session);
        if let Some(window) = self.window.upgrade() {
            render::refresh(&window, &self.session.borrow());
        }
    }
}
