//! The `Wizard` global: page navigation, fields, account actions, materials.

use std::cell::RefCell;
use std::rc::Rc;

use kiosk_domain::Step;
use slint::ComponentHandle;

use super::Glue;
use crate::app::session::{AccountMode, Session};
use crate::app::ui::{self, KioskWindow};
use crate::app::view::material_kind;

pub fn setup(window: &KioskWindow, session: &Rc<RefCell<Session>>) {
    let g = window.global::<ui::Wizard>();
    let glue = Glue::new(window, session);
    let c = glue.clone();
    g.on_start(move || c.run(|s| s.start()));
    let c = glue.clone();
    g.on_next(move || c.run(|s| s.next()));
    let c = glue.clone();
    g.on_back(move || c.run(|s| s.back()));
    let c = glue.clone();
    g.on_finish(move || c.run(|s| s.wipe()));
    let c = glue.clone();
    g.on_print_receipt(move || c.run(|s| s.print_receipt()));
    let c = glue.clone();
    g.on_go_to_step(move |index| {
        c.run(|s| {
            if let Some(step) = usize::try_from(index).ok().and_then(|i| Step::ALL.get(i)) {
                s.go_to(*step);
            }
        })
    });
    let c = glue.clone();
    g.on_set_consent(move |accepted| c.run(|s| s.set_consent(accepted)));
    let c = glue.clone();
    g.on_activate_field(move |key| {
        c.run(|s| {
            if let Some(field) = s.visible_field(&key) {
                s.activate(field);
            }
        })
    });
    let c = glue.clone();
    g.on_choose_option(move |key, index| {
        c.run(|s| {
            if let (Some(field), Ok(index)) = (s.visible_field(&key), usize::try_from(index)) {
                s.choose_inline(field, index);
            }
        })
    });
    let c = glue.clone();
    g.on_set_account_mode(move |mode| {
        c.run(|s| {
            s.set_account_mode(match mode {
                ui::AccountMode::LogIn => AccountMode::LogIn,
                ui::AccountMode::Register => AccountMode::Register,
                ui::AccountMode::ForgotPassword => AccountMode::ForgotPassword,
                ui::AccountMode::BindPhone => AccountMode::BindPhone,
            })
        })
    });
    let c = glue.clone();
    g.on_send_sms_code(move || c.run(|s| s.send_sms_code()));
    let c = glue.clone();
    g.on_field_action(move |key| {
        c.run(|s| {
            if let Some(field) = s.visible_field(&key) {
                s.field_action(field);
            }
        })
    });
    let staff = window.global::<ui::Staff>();
    let c = glue.clone();
    staff.on_cancel(move || c.run(|s| s.close_overlay()));
    let c = glue.clone();
    staff.on_open_mode(move || c.run(|s| s.open_staff_mode()));
    let c = glue.clone();
    staff.on_close_panel(move || c.run(|s| s.close_staff_panel()));
    let c = glue.clone();
    staff.on_retry_failed(move || c.run(|s| s.staff_retry_failed()));
    let c = glue.clone();
    staff.on_set_voice(move |on| c.run(|s| s.staff_set_voice(on)));
    let c = glue.clone();
    staff.on_change_volume(move |up| c.run(|s| s.staff_change_volume(up)));
    let c = glue.clone();
    g.on_clear_material(move |key| {
        c.run(|s| {
            if let Some(kind) = material_kind(&key) {
                s.clear_material(kind);
            }
        })
    });
    let c = glue.clone();
    g.on_attach_material(move |key| {
        c.run(|s| {
            if let Some(kind) = material_kind(&key) {
                s.attach_material(kind);
            }
        })
    });
    g.on_retake_material(move |key, page| {
        glue.run(|s| {
            if let (Some(kind), Ok(page)) = (material_kind(&key), usize::try_from(page)) {
                s.retake_material(kind, page);
            }
        })
    });
}
