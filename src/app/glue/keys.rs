//! The `Keys` global: the on-screen keyboard types into the active field.

use std::cell::RefCell;
use std::rc::Rc;

use slint::ComponentHandle;

use super::Glue;
use crate::app::session::Session;
use crate::app::ui::{self, KioskWindow};

pub fn setup(window: &KioskWindow, session: &Rc<RefCell<Session>>) {
    let g = window.global::<ui::Keys>();
    let glue = Glue::new(window, session);
    let c = glue.clone();
    g.on_key(move |text| c.run(|s| s.key(&text)));
    let c = glue.clone();
    g.on_backspace(move || c.run(|s| s.backspace()));
    g.on_done(move || glue.run(|s| s.close_keyboard()));
}
