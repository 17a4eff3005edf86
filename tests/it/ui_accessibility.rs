//! Over every page, in both orientations and both modes: every interactive element has an
//! accessible label and meets the touch-target size of the mode; the theme's text and background
//! pairs meet the contrast of the mode.

use crate::ui_support;

use i_slint_backend_testing::{AccessibleRole, ElementQuery};
use kiosk::app::screenshots::{LAYOUTS, scenes};
use kiosk::app::ui;
use slint::{Color, ComponentHandle};

const INTERACTIVE: [AccessibleRole; 6] = [
    AccessibleRole::Button,
    AccessibleRole::Checkbox,
    AccessibleRole::Combobox,
    AccessibleRole::TextInput,
    AccessibleRole::RadioButton,
    AccessibleRole::Switch,
];

#[test]
fn every_interactive_element_is_labelled_and_large_enough() {
    let h = ui_support::start();
    let mut checked = 0;
    for (layout, width, height) in LAYOUTS {
        h.kiosk
            .window
            .window()
            .set_size(slint::LogicalSize::new(width as f32, height as f32));
        for elder in [false, true] {
            let min = if elder { 72.0 } else { 44.0 };
            for scene in scenes() {
                {
                    let mut s = h.kiosk.session.borrow_mut();
                    s.wipe();
                    s.elder = elder;
                    (scene.setup)(&mut s);
                }
                h.kiosk.refresh();
                let elements = ElementQuery::from_root(&h.kiosk.window)
                    .match_descendants()
                    .find_all();
                let mut interactive = 0;
                for e in elements {
                    let Some(role) = e.accessible_role() else {
                        continue;
                    };
                    if !INTERACTIVE.contains(&role) {
                        continue;
                    }
                    interactive += 1;
                    let where_ = format!("{layout} elder={elder} {}", scene.name);
                    let label = e.accessible_label().unwrap_or_default();
                    assert!(
                        !label.trim().is_empty(),
                        "{where_}: a {role:?} without a label"
                    );
                    let size = e.size();
                    assert!(
                        size.width >= min && size.height >= min,
                        "{where_}: {label:?} is {}x{} (< {min})",
                        size.width,
                        size.height
                    );
                }
                assert!(interactive > 0, "{} has no interactive element", scene.name);
                checked += interactive;
            }
        }
    }
    assert!(checked > 500, "only {checked} elements checked");
}

fn luminance(c: Color) -> f64 {
    let channel = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.03928 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(c.red()) + 0.7152 * channel(c.green()) + 0.0722 * channel(c.blue())
}

fn contrast(a: Color, b: Color) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[test]
fn theme_colours_meet_the_contrast_rule_of_each_mode() {
    let h = ui_support::start();
    let theme = h.kiosk.window.global::<ui::Theme>();
    for (elder, required) in [(false, 4.5), (true, 7.0)] {
        theme.set_elder(elder);
        let background = theme.get_background().color();
        let surface = theme.get_surface().color();
        let pairs = [
            ("text on background", theme.get_text(), background),
            ("text on surface", theme.get_text(), surface),
            ("muted text on surface", theme.get_text_muted(), surface),
            (
                "muted text on background",
                theme.get_text_muted(),
                background,
            ),
            ("text on field", theme.get_text(), theme.get_field_surface()),
            (
                "text on secondary",
                theme.get_on_secondary(),
                theme.get_secondary(),
            ),
            (
                "primary button",
                theme.get_on_primary(),
                theme.get_primary(),
            ),
            (
                "selected option",
                theme.get_on_selected(),
                theme.get_selected(),
            ),
            ("error on surface", theme.get_error(), surface),
            (
                "error on error surface",
                theme.get_error(),
                theme.get_error_surface(),
            ),
            ("success on surface", theme.get_success(), surface),
            (
                "success on success surface",
                theme.get_success(),
                theme.get_success_surface(),
            ),
            (
                "text on info surface",
                theme.get_text(),
                theme.get_info_surface(),
            ),
            ("header", theme.get_on_header(), theme.get_header()),
            ("key", theme.get_text(), theme.get_key()),
        ];
        for (name, fg, bg) in pairs {
            let ratio = contrast(fg, bg);
            assert!(
                ratio >= required,
                "elder={elder}: {name} is {ratio:.2}:1 (< {required}:1)"
            );
        }
    }
}

/// Sizes come from the theme's tokens, so elder mode and the small screen scale from one place:
/// no page or widget writes a length of its own (a `1px` that converts units, `0px` and the
/// unbounded `100000px` of a flexible width are not sizes).
#[test]
fn pages_and_widgets_take_their_sizes_from_the_theme() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let mut literals = Vec::new();
    for dir in ["pages", "widgets"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("ui dir") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("slint file");
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                let cleaned = code
                    .replace("/ 1px", "")
                    .replace("* 1px", "")
                    .replace("100000px", "");
                let mut rest = cleaned.as_str();
                while let Some(at) = rest.find("px") {
                    let digits: String = rest[..at]
                        .chars()
                        .rev()
                        .take_while(|c| c.is_ascii_digit() || *c == '.')
                        .collect();
                    if !digits.is_empty() && digits.chars().any(|c| c != '0' && c != '.') {
                        literals.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                    rest = &rest[at + 2..];
                }
            }
        }
    }
    assert!(
        literals.is_empty(),
        "lengths outside the theme:\n{}",
        literals.join("\n")
    );
}

/// A message banner is as tall as its text on every page and in both orientations: the page
/// below it takes the rest (the review page in portrait once gave the banner half the screen).
#[test]
fn the_banner_is_as_tall_as_its_text() {
    let h = ui_support::start();
    let mut banners = 0;
    for (layout, width, height) in LAYOUTS {
        h.kiosk
            .window
            .window()
            .set_size(slint::LogicalSize::new(width as f32, height as f32));
        for scene in scenes() {
            {
                let mut s = h.kiosk.session.borrow_mut();
                s.wipe();
                (scene.setup)(&mut s);
            }
            h.kiosk.refresh();
            for banner in ElementQuery::from_root(&h.kiosk.window)
                .match_descendants()
                .match_id("KioskWindow::banner")
                .find_all()
            {
                banners += 1;
                let shown = banner.size().height;
                // Three lines of elder text with their margins stay under 250 px.
                assert!(
                    shown < 250.0,
                    "{layout} {}: the banner is {shown} px tall",
                    scene.name
                );
            }
        }
    }
    assert!(banners > 10, "only {banners} banners seen");
}
