//! The `Idle` global and the one-second timer behind the idle countdown.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use slint::{ComponentHandle, Timer, TimerMode};

use super::Glue;
use crate::app::session::Session;
use crate::app::ui::{self, KioskWindow};

pub fn setup(window: &KioskWindow, session: &Rc<RefCell<Session>>) -> Timer {
    let g = window.global::<ui::Idle>();
    let glue = Glue::new(window, session);
    let c = glue.clone();
    g.on_keep_going(move || c.run(|s| s.activity()));
    let c = glue.clone();
    g.on_touched(move || c.run(|s| s.activity()));
    let timer = Timer::default();
    timer.start(TimerMode::Repeated, Duration::from_secs(1), move || {
        glue.run(|s| {
            s.tick();
        })
    });
    timer
}
