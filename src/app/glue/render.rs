//! Copies the session's [`View`] into the UI's globals. Models are updated row by row, so an
//! unchanged row is not rebuilt and scrolling is kept.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use kiosk_domain::{Lang, Step};
use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};

use crate::app::forms::Keyboard;
use crate::app::session::{AccountMode, Screen, Session, Tone};
use crate::app::ui::{self, KioskWindow};
use crate::app::view::{self, FieldKindView, ReviewTone, View};

fn screen(s: Screen) -> ui::Screen {
    match s {
        Screen::Welcome => ui::Screen::Welcome,
        Screen::Step(step) => match step {
            Step::Notice => ui::Screen::Notice,
            Step::Eligibility => ui::Screen::Eligibility,
            Step::Account => ui::Screen::Account,
            Step::Basic => ui::Screen::Basic,
            Step::Work => ui::Screen::Work,
            Step::Education => ui::Screen::Education,
            Step::Qualification => ui::Screen::Qualification,
            Step::Materials => ui::Screen::Materials,
            Step::Summary => ui::Screen::Summary,
            Step::Review => ui::Screen::Review,
        },
    }
}

/// Replaces the rows of `current` with `rows`, touching only rows that changed and adding or
/// removing rows at the end; a new model (returned, to be set) only the first time, when the
/// property still holds Slint's empty default. A Slint `for` over a new model re-creates its
/// items, and an item under a finger would lose the press, so each list keeps its one model for
/// the window's life.
pub(super) fn sync_model<T: Clone + PartialEq + 'static>(
    current: ModelRc<T>,
    rows: Vec<T>,
) -> Option<ModelRc<T>> {
    let Some(vec) = current.as_any().downcast_ref::<VecModel<T>>() else {
        return Some(ModelRc::from(Rc::new(VecModel::from(rows))));
    };
    while vec.row_count() > rows.len() {
        vec.remove(vec.row_count() - 1);
    }
    for (i, row) in rows.into_iter().enumerate() {
        if i >= vec.row_count() {
            vec.push(row);
        } else if vec.row_data(i).as_ref() != Some(&row) {
            vec.set_row_data(i, row);
        }
    }
    None
}

/// The summary's sections, each section's rows updated in place: a row the applicant is holding
/// (to see the whole mobile number) keeps its item through the refreshes of the idle tick.
fn sync_summary(
    current: ModelRc<ui::SummarySectionData>,
    sections: &[view::SummarySection],
) -> Option<ModelRc<ui::SummarySectionData>> {
    let rows_of = |s: &view::SummarySection| -> Vec<ui::SummaryRowData> {
        s.rows
            .iter()
            .map(|r| ui::SummaryRowData {
                label: r.label.as_str().into(),
                value: r.value.as_str().into(),
                revealed: r.revealed.as_str().into(),
            })
            .collect()
    };
    let new_section = |s: &view::SummarySection| ui::SummarySectionData {
        title: s.title.as_str().into(),
        step: s.step.index() as i32,
        rows: ModelRc::from(Rc::new(VecModel::from(rows_of(s)))),
    };
    let Some(vec) = current
        .as_any()
        .downcast_ref::<VecModel<ui::SummarySectionData>>()
    else {
        return Some(ModelRc::from(Rc::new(VecModel::from(
            sections.iter().map(new_section).collect::<Vec<_>>(),
        ))));
    };
    while vec.row_count() > sections.len() {
        vec.remove(vec.row_count() - 1);
    }
    for (i, section) in sections.iter().enumerate() {
        let Some(mut shown) = vec.row_data(i) else {
            vec.push(new_section(section));
            continue;
        };
        let mut changed = false;
        if let Some(rows) = sync_model(shown.rows.clone(), rows_of(section)) {
            shown.rows = rows;
            changed = true;
        }
        let step = section.step.index() as i32;
        if shown.title != section.title.as_str() || shown.step != step {
            shown.title = section.title.as_str().into();
            shown.step = step;
            changed = true;
        }
        if changed {
            vec.set_row_data(i, shown);
        }
    }
    None
}

thread_local! {
    /// Previews of the files on the summary, by blob id, so the idle tick's refresh does not
    /// decode them again. Only the files of the page on screen are kept: leaving the summary, or
    /// a wiped session, empties it.
    static PREVIEWS: RefCell<HashMap<String, Option<slint::Image>>> = RefCell::default();
}

fn summary_pictures(
    session: &Session,
    pictures: &[view::SummaryPicture],
) -> Vec<ui::SummaryPictureData> {
    PREVIEWS.with_borrow_mut(|cache| {
        cache.retain(|blob_id, _| pictures.iter().any(|p| p.blob_id == *blob_id));
        pictures
            .iter()
            .map(|p| {
                let preview = cache
                    .entry(p.blob_id.clone())
                    .or_insert_with(|| session.material_thumbnail(&p.blob_id).map(to_image))
                    .clone();
                ui::SummaryPictureData {
                    key: p.key.as_str().into(),
                    page: i32::try_from(p.page).unwrap_or(i32::MAX),
                    label: p.label.as_str().into(),
                    has_picture: preview.is_some(),
                    picture: preview.unwrap_or_default(),
                }
            })
            .collect()
    })
}

fn to_image(rgb: kiosk_media::RgbImage) -> slint::Image {
    let (width, height) = rgb.dimensions();
    slint::Image::from_rgb8(slint::SharedPixelBuffer::clone_from_slice(
        rgb.as_raw(),
        width,
        height,
    ))
}

/// A list of texts (candidates, picker options) updated in place, as [`sync_model`].
fn sync_strings(
    items: &[String],
    current: ModelRc<SharedString>,
    set: impl FnOnce(ModelRc<SharedString>),
) {
    let rows = items.iter().map(SharedString::from).collect();
    if let Some(model) = sync_model(current, rows) {
        set(model);
    }
}

fn field(f: &view::FieldView) -> ui::FieldData {
    ui::FieldData {
        key: f.key.as_str().into(),
        heading: f.heading.as_str().into(),
        label: f.label.as_str().into(),
        kind: match f.kind {
            FieldKindView::Text => ui::FieldKind::Text,
            FieldKindView::Secret => ui::FieldKind::Secret,
            FieldKindView::Date => ui::FieldKind::Date,
            FieldKindView::Pick => ui::FieldKind::Pick,
            FieldKindView::Inline => ui::FieldKind::Inline,
        },
        value: f.value.as_str().into(),
        error: f.error.as_str().into(),
        note: f.note.as_str().into(),
        required: f.required,
        read_only: f.read_only,
        active: f.active,
        multi: f.multi,
        action: f.action.as_str().into(),
        options: ModelRc::from(Rc::new(VecModel::from(
            f.options
                .iter()
                .map(|o| ui::OptionData {
                    label: o.label.as_str().into(),
                    selected: o.selected,
                })
                .collect::<Vec<_>>(),
        ))),
    }
}

fn fields_equal(a: &ui::FieldData, b: &ui::FieldData) -> bool {
    let options = |f: &ui::FieldData| f.options.iter().collect::<Vec<_>>();
    a.key == b.key
        && a.heading == b.heading
        && a.label == b.label
        && a.kind == b.kind
        && a.value == b.value
        && a.error == b.error
        && a.note == b.note
        && a.required == b.required
        && a.read_only == b.read_only
        && a.active == b.active
        && a.multi == b.multi
        && a.action == b.action
        && options(a) == options(b)
}

fn sync_fields(g: &ui::Wizard<'_>, fields: &[view::FieldView]) {
    let rows: Vec<ui::FieldData> = fields.iter().map(field).collect();
    let current = g.get_fields();
    if let Some(vec) = current.as_any().downcast_ref::<VecModel<ui::FieldData>>()
        && vec.row_count() == rows.len()
        && vec.iter().zip(&rows).all(|(a, b)| a.key == b.key)
    {
        for (i, mut row) in rows.into_iter().enumerate() {
            let Some(old) = vec.row_data(i) else { continue };
            if fields_equal(&old, &row) {
                continue;
            }
            // The field changed (its value, say): its choice buttons stay the same items.
            let options = row.options.iter().collect();
            if sync_model(old.options.clone(), options).is_none() {
                row.options = old.options;
            }
            vec.set_row_data(i, row);
        }
        return;
    }
    // Another page: its fields are new items, but in the same model.
    match current.as_any().downcast_ref::<VecModel<ui::FieldData>>() {
        Some(vec) => vec.set_vec(rows),
        None => g.set_fields(ModelRc::from(Rc::new(VecModel::from(rows)))),
    }
}

pub fn refresh(window: &KioskWindow, session: &Session) {
    super::capture::render(window, session);
    let v: View = view::build(session);
    let g = window.global::<ui::Wizard>();
    g.set_screen(screen(v.screen));
    g.set_step_number(v.step_number as i32);
    g.set_step_count(v.step_count as i32);
    g.set_step_title(v.step_title.as_str().into());
    g.set_intro(v.intro.as_str().into());
    sync_fields(&g, &v.fields);
    let (banner, tone) = match &v.banner {
        Some(b) => (
            b.text.as_str(),
            match b.tone {
                Tone::Info => ui::BannerTone::Info,
                Tone::Error => ui::BannerTone::Error,
                Tone::Success => ui::BannerTone::Success,
            },
        ),
        None => ("", ui::BannerTone::None),
    };
    g.set_banner(banner.into());
    g.set_banner_tone(tone);
    g.set_consent_given(v.consent_given);
    g.set_account_mode(match v.account_mode {
        AccountMode::LogIn => ui::AccountMode::LogIn,
        AccountMode::Register => ui::AccountMode::Register,
        AccountMode::ForgotPassword => ui::AccountMode::ForgotPassword,
        AccountMode::BindPhone => ui::AccountMode::BindPhone,
    });
    let materials: Vec<ui::MaterialData> = v
        .materials
        .iter()
        .map(|m| ui::MaterialData {
            key: m.key.as_str().into(),
            label: m.label.as_str().into(),
            status: m.status.as_str().into(),
            ok: m.ok,
            error: m.error.as_str().into(),
            files: m.files as i32,
            multi: m.multi,
        })
        .collect();
    if let Some(model) = sync_model(g.get_materials(), materials) {
        g.set_materials(model);
    }
    g.set_dev_materials(v.dev_materials);
    if let Some(model) = sync_summary(g.get_summary(), &v.summary) {
        g.set_summary(model);
    }
    let pictures = summary_pictures(session, &v.summary_pictures);
    if let Some(model) = sync_model(g.get_summary_pictures(), pictures) {
        g.set_summary_pictures(model);
    }
    g.set_review_tone(match v.review.tone {
        ReviewTone::Pending => ui::ReviewTone::Pending,
        ReviewTone::Failed => ui::ReviewTone::Failed,
        ReviewTone::Passed => ui::ReviewTone::Passed,
    });
    g.set_review_title(v.review.title.as_str().into());
    g.set_review_detail(v.review.detail.as_str().into());
    g.set_receipt_code(v.review.receipt_code.as_str().into());
    let status_url = v.review.status_url.as_deref().unwrap_or("");
    if g.get_status_url() != status_url {
        g.set_receipt_qr(status_qr(status_url));
        g.set_status_url(status_url.into());
    }
    g.set_can_print_receipt(v.review.can_print_receipt);
    g.set_can_submit(v.can_submit);
    g.set_reader_status(v.reader_status.as_str().into());
    g.set_sync_status(v.sync_status.as_str().into());
    g.set_reader_ok(v.reader_ok);

    let keys = window.global::<ui::Keys>();
    keys.set_kind(match v.keyboard {
        None => ui::KeyboardKind::None,
        Some(Keyboard::Letters) => ui::KeyboardKind::Letters,
        Some(Keyboard::Digits) => ui::KeyboardKind::Digits,
        Some(Keyboard::IdNumber) => ui::KeyboardKind::IdNumber,
        Some(Keyboard::Phone) => ui::KeyboardKind::Phone,
    });

    keys.set_composing(v.composition.as_str().into());
    sync_strings(&v.candidates, keys.get_candidates(), |m| {
        keys.set_candidates(m)
    });
    keys.set_chinese_available(v.chinese_available);
    keys.set_chinese(v.chinese);
    keys.set_handwriting_available(v.handwriting_available);
    keys.set_handwriting(v.handwriting);
    keys.set_ink(v.ink.as_str().into());

    let picker = window.global::<ui::Picker>();
    picker.set_open(v.picker.is_some());
    if let Some(p) = &v.picker {
        picker.set_title(p.title.as_str().into());
        sync_strings(&p.options, picker.get_options(), |m| picker.set_options(m));
        picker.set_second_level(p.second_level);
    } else {
        sync_strings(&[], picker.get_options(), |m| picker.set_options(m));
    }

    let date = window.global::<ui::DatePicker>();
    let was_open = date.get_open();
    date.set_open(v.date.is_some());
    if let Some(d) = &v.date
        && !was_open
    {
        date.set_title(d.title.as_str().into());
        date.set_year(d.year);
        date.set_month(i32::from(d.month));
        date.set_day(i32::from(d.day));
        date.set_max_year((session.services.today)().year());
    }

    let staff = window.global::<ui::Staff>();
    staff.set_open(v.staff_pin.is_some());
    staff.set_digits(v.staff_pin.unwrap_or(0) as i32);
    staff.set_for_mode(v.staff_pin_for_mode);
    staff.set_panel_open(v.staff_panel.is_some());
    let health: Vec<ui::HealthData> = v
        .staff_panel
        .iter()
        .flatten()
        .map(|r| ui::HealthData {
            label: r.label.as_str().into(),
            value: r.value.as_str().into(),
            ok: r.ok,
        })
        .collect();
    if let Some(model) = sync_model(staff.get_health(), health) {
        staff.set_health(model);
    }
    staff.set_has_voice(v.voice.is_some());
    staff.set_voice_on(v.voice.is_some_and(|s| s.enabled));
    staff.set_volume(v.voice.map_or(0, |s| i32::from(s.volume)));

    let idle = window.global::<ui::Idle>();
    idle.set_warning(v.countdown.is_some());
    idle.set_seconds_left(v.countdown.unwrap_or(0) as i32);
    let kept_until = match v.countdown {
        Some(_) => session
            .draft_kept_until()
            .map(|at| crate::app::view::china_month_day_time(at, session.lang))
            .unwrap_or_default(),
        None => String::new(),
    };
    if idle.get_kept_until() != kept_until.as_str() {
        idle.set_kept_until(kept_until.into());
    }

    let theme = window.global::<ui::Theme>();
    if theme.get_elder() != session.elder {
        theme.set_elder(session.elder);
    }
    let prefs = window.global::<ui::Prefs>();
    let size = window.window().size();
    prefs.set_portrait(size.height > size.width);
    prefs.set_speaks(v.speaks);
    let english = session.lang == Lang::En;
    if prefs.get_english() != english {
        prefs.set_english(english);
        let _ = slint::select_bundled_translation(if english { "en" } else { "" });
    }
}

/// The receipt's QR code for the screen: eight pixels to a module, black on white; an empty
/// image without a status page.
fn status_qr(url: &str) -> slint::Image {
    if url.is_empty() {
        return slint::Image::default();
    }
    match kiosk_media::receipt::qr(url, 0, 8) {
        Ok(raster) => {
            let mut buffer =
                slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(raster.width, raster.height);
            for (pixel, &dot) in buffer.make_mut_slice().iter_mut().zip(&raster.dots) {
                let v = if dot { 0 } else { 255 };
                *pixel = slint::Rgb8Pixel { r: v, g: v, b: v };
            }
            slint::Image::from_rgb8(buffer)
        }
        Err(e) => {
            tracing::warn!(error = %e, "the status page's QR code cannot be drawn");
            slint::Image::default()
        }
    }
}
