//! The `Prefs` global: language, elder mode and its 重听.

use std::cell::RefCell;
use std::rc::Rc;

use kiosk_domain::Lang;
use slint::ComponentHandle;

use super::Glue;
use crate::app::session::Session;
use crate::app::ui::{self, KioskWindow};

pub fn setup(window: &KioskWindow, session: &Rc<RefCell<Session>>) {
    let g = window.global::<ui::Prefs>();
    let glue = Glue::new(window, session);
    let c = glue.clone();
    g.on_language_changed(move |english| {
        c.run(|s| {
            s.activity();
            s.set_lang(if english { Lang::En } else { Lang::Zh });
        })
    });
    let c = glue.clone();
    g.on_elder_changed(move |elder| c.run(|s| s.set_elder(elder)));
    g.on_repeat_prompt(move || glue.run(|s| s.repeat_prompt()));
}
