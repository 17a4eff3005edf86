//! The `Picker` and `DatePicker` globals.

use std::cell::RefCell;
use std::rc::Rc;

use slint::ComponentHandle;

use super::Glue;
use crate::app::session::Session;
use crate::app::ui::{self, KioskWindow};

pub fn setup(window: &KioskWindow, session: &Rc<RefCell<Session>>) {
    let glue = Glue::new(window, session);
    let p = window.global::<ui::Picker>();
    let c = glue.clone();
    p.on_choose(move |index| {
        c.run(|s| {
            if let Ok(index) = usize::try_from(index) {
                s.picker_choose(index);
            }
        })
    });
    let c = glue.clone();
    p.on_back(move || c.run(|s| s.picker_back()));
    let c = glue.clone();
    p.on_close(move || c.run(|s| s.close_overlay()));
    let d = window.global::<ui::DatePicker>();
    let c = glue.clone();
    d.on_confirm(move |year, month, day| {
        let month = u8::try_from(month).unwrap_or(1);
        let day = u8::try_from(day).unwrap_or(1);
        c.run(|s| s.confirm_date(year, month, day));
    });
    d.on_close(move || glue.run(|s| s.close_overlay()));
}
