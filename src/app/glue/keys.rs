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
    let c = glue.clone();
    g.on_select_candidate(move |index| {
        c.run(|s| {
            if let Ok(index) = usize::try_from(index) {
                s.select_candidate(index);
            }
        })
    });
    let c = glue.clone();
    g.on_page(move |forward| c.run(|s| s.page_candidates(forward)));
    let c = glue.clone();
    g.on_toggle_language(move || c.run(|s| s.toggle_input_language()));
    let c = glue.clone();
    g.on_toggle_handwriting(move || c.run(|s| s.toggle_handwriting()));
    let c = glue.clone();
    g.on_clear_pad(move || c.run(|s| s.clear_pad()));
    let c = glue.clone();
    g.on_stroke_start(move |x, y, w, h| c.run(|s| s.stroke_start(x, y, w, h)));
    let c = glue.clone();
    g.on_stroke_point(move |x, y| c.run(|s| s.stroke_point(x, y)));
    let c = glue.clone();
    g.on_stroke_end(move || c.run(|s| s.stroke_end()));
    g.on_done(move || glue.run(|s| s.close_keyboard()));
}
