//! Drives the real kiosk window headlessly (Slint's testing backend) the way a finger would:
//! elements are found by their accessible labels and activated.

#![allow(dead_code)]

use std::path::Path;

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use kiosk::accounts::{DevSmsSender, LocalAccounts};
use kiosk::app::Kiosk;
use kiosk::app::session::Services;
use kiosk::app::ui;
use kiosk::dev_materials::FolderMaterials;
use kiosk::store::Store;
use kiosk_domain::MaterialLimits;
use kiosk_hardware::idcard::CardReaderDevice;
use slint::ComponentHandle;
use time::Date;
use time::macros::date;

pub const TODAY: Date = date!(2026 - 11 - 28);
pub const STAFF_PIN: &str = "2468";

fn today() -> Date {
    TODAY
}

/// Writes photo and document images for the development material source: noisy enough that
/// the photo can be compressed into its 10,240–20,000 byte window.
pub fn write_material_images(dir: &Path) {
    let mut seed = 0x2545_f491_u32;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        (seed & 0xff) as u8
    };
    let photo = image::RgbImage::from_fn(295, 413, |x, y| {
        let n = noise() / 3;
        image::Rgb([
            ((x % 160) as u8).saturating_add(n),
            ((y % 160) as u8).saturating_add(n),
            180u8.saturating_add(n / 4),
        ])
    });
    photo.save(dir.join("photo.png")).expect("write photo");
    let page = image::RgbImage::from_fn(1240, 1754, |x, y| {
        let ink = (x / 9 + y / 23) % 7 == 0;
        let n = noise() / 8;
        if ink {
            image::Rgb([30u8.saturating_add(n); 3])
        } else {
            image::Rgb([
                240u8.saturating_sub(n),
                240u8.saturating_sub(n),
                235u8.saturating_sub(n),
            ])
        }
    });
    page.save(dir.join("document.png")).expect("write page");
}

pub struct Harness {
    pub kiosk: Kiosk,
    pub dir: tempfile::TempDir,
}

/// A kiosk with a fresh encrypted store, local accounts and development materials.
pub fn start() -> Harness {
    start_with_reader(None)
}

/// The same, with an ID card reader.
pub fn start_with_reader(card_reader: Option<Box<dyn CardReaderDevice>>) -> Harness {
    start_with(card_reader, None)
}

/// The same, with an ID card reader and a pinyin engine.
pub fn start_with(
    card_reader: Option<Box<dyn CardReaderDevice>>,
    pinyin: Option<kiosk::app::session::PinyinFactory>,
) -> Harness {
    start_kiosk(card_reader, pinyin, None)
}

/// A kiosk that takes its materials with these cameras (no development files).
pub fn start_with_cameras(cameras: kiosk::capture::Cameras) -> Harness {
    start_kiosk(None, None, Some(cameras))
}

fn start_kiosk(
    card_reader: Option<Box<dyn CardReaderDevice>>,
    pinyin: Option<kiosk::app::session::PinyinFactory>,
    cameras: Option<kiosk::capture::Cameras>,
) -> Harness {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().expect("temp dir");
    start_kiosk_in(dir, card_reader, pinyin, cameras, None)
}

/// A kiosk with a voice: espeak-ng, the prompt cache in its data folder, and `aplay` into
/// ALSA's file plugin, so that what the hall would hear lands in `dir/heard.wav`. With
/// `cameras`, materials are taken with them rather than from development files.
pub fn start_speaking(cameras: Option<kiosk::capture::Cameras>) -> Harness {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().expect("temp dir");
    let speaker = speaker_in(dir.path());
    start_kiosk_in(dir, None, None, cameras, Some(speaker))
}

fn speaker_in(dir: &Path) -> kiosk_hardware::speech::Speaker {
    use kiosk_hardware::speech::{Aplay, EspeakNg, Speaker, SpeechCache};
    let engine = EspeakNg::new("espeak-ng").expect("espeak-ng is installed by the test command");
    let sink = format!("file:FILE={},FORMAT=wav", dir.join("heard.wav").display());
    let cache = SpeechCache::open(dir.join("data").join("speech")).expect("cache");
    Speaker::start(
        Box::new(engine),
        Box::new(Aplay::new("aplay", sink)),
        Some(cache),
    )
}

/// The kiosk on the data directory in `dir` (`dir/data`), new or used before, on a thread whose
/// testing platform is set up.
fn start_kiosk_in(
    dir: tempfile::TempDir,
    card_reader: Option<Box<dyn CardReaderDevice>>,
    pinyin: Option<kiosk::app::session::PinyinFactory>,
    cameras: Option<kiosk::capture::Cameras>,
    speaker: Option<kiosk_hardware::speech::Speaker>,
) -> Harness {
    let data = dir.path().join("data");
    let key = data.join("kiosk.key");
    let materials = dir.path().join("materials");
    std::fs::create_dir_all(&materials).expect("materials dir");
    write_material_images(&materials);
    let store = Store::open(&data, &key).expect("store");
    let accounts = LocalAccounts::new(
        Store::open(&data, &key).expect("store"),
        DevSmsSender::default(),
    );
    let services = Services {
        store,
        accounts: Box::new(accounts),
        materials: match cameras {
            Some(_) => None,
            None => Some(Box::new(FolderMaterials::new(
                materials,
                MaterialLimits::default(),
            ))),
        },
        cameras,
        limits: MaterialLimits::default(),
        idle_timeout_secs: 90,
        draft_retention_secs: 24 * 3600,
        today,
        card_reader,
        staff_pin_hash: Some(kiosk::accounts::hash_password(STAFF_PIN).expect("hash")),
        pinyin,
        handwriting: None,
        speaker,
        voice: kiosk::store::VoiceSettings {
            enabled: true,
            volume: 80,
        },
        printer: None,
        hall_name: "五华区政务服务中心".into(),
        status_base_url: None,
    };
    let kiosk = Kiosk::new(services).expect("window");
    kiosk
        .window
        .window()
        .set_size(slint::LogicalSize::new(1920.0, 1080.0));
    kiosk.window.show().expect("show");
    Harness { kiosk, dir }
}

impl Harness {
    /// As after a restart of the kiosk process: the window and session are dropped and new ones
    /// start on the same data directory.
    pub fn restart(self) -> Harness {
        let Harness { kiosk, dir } = self;
        let speaking = kiosk.session.borrow().services.speaker.is_some();
        drop(kiosk);
        let speaker = speaking.then(|| speaker_in(dir.path()));
        start_kiosk_in(dir, None, None, None, speaker)
    }

    /// The kiosk's data directory (for the `kiosk` binary's `KIOSK_DATA_DIR`).
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    /// The visible elements with this label, those that can be touched first (a field's caption
    /// is a Text with the same label as the field).
    fn find_visible(&self, label: &str) -> Vec<ElementHandle> {
        // Instantiates elements behind `if` and `for` that changed since the last look.
        i_slint_backend_testing::mock_elapsed_time(std::time::Duration::ZERO);
        let mut found: Vec<ElementHandle> =
            ElementHandle::find_by_accessible_label(&self.kiosk.window, label).collect();
        found.sort_by_key(|e| e.accessible_role() == Some(AccessibleRole::Text));
        found
    }

    /// Finds an element on screen, scrolling the page as a finger would when it is not.
    pub fn find(&self, label: &str) -> Option<ElementHandle> {
        let touchable = |found: &[ElementHandle]| {
            found
                .first()
                .filter(|e| e.accessible_role() != Some(AccessibleRole::Text))
                .cloned()
        };
        let first = self.find_visible(label);
        if let Some(e) = touchable(&first) {
            return Some(e);
        }
        // Wheel events go to the point under the scrolled area's centre; the topmost one last.
        let scroll_target = || {
            ElementQuery::from_root(&self.kiosk.window)
                .match_descendants()
                .match_inherits("Flickable")
                .find_all()
                .pop()
        };
        let mut any = first.first().cloned();
        if let Some(target) = scroll_target() {
            for _ in 0..10 {
                target.scroll(0.0, 400.0);
            }
            for _ in 0..30 {
                let found = self.find_visible(label);
                if let Some(e) = touchable(&found) {
                    return Some(e);
                }
                any = any.or_else(|| found.first().cloned());
                match scroll_target() {
                    Some(t) => t.scroll(0.0, -300.0),
                    None => break,
                }
            }
        }
        any
    }

    /// As [`Harness::find`], and the element's centre scrolled inside the page's visible area,
    /// where a finger can reach it (not under the buttons at the foot of the screen).
    pub fn find_reachable(&self, label: &str) -> Option<ElementHandle> {
        let mut element = self.find(label)?;
        let page = ElementQuery::from_root(&self.kiosk.window)
            .match_descendants()
            .match_inherits("Flickable")
            .find_all()
            .pop()?;
        let bottom = page.absolute_position().y + page.size().height;
        for _ in 0..20 {
            let centre = Self::centre_of(&element);
            if centre.y < bottom - element.size().height {
                return Some(element);
            }
            page.scroll(0.0, -100.0);
            element = self.find_visible(label).into_iter().next()?;
        }
        Some(element)
    }

    pub fn exists(&self, label: &str) -> bool {
        self.find(label).is_some()
    }

    /// An invented, complete, signed-in applicant of `branch` on `step`, on screen.
    pub fn at(&self, step: kiosk_domain::Step, branch: kiosk_domain::samples::Branch) {
        kiosk::app::screenshots::at(&mut self.kiosk.session.borrow_mut(), step, branch);
        self.kiosk.refresh();
    }

    /// The centre of `element` in window coordinates.
    pub fn centre_of(element: &ElementHandle) -> slint::LogicalPosition {
        let (at, size) = (element.absolute_position(), element.size());
        slint::LogicalPosition::new(at.x + size.width / 2.0, at.y + size.height / 2.0)
    }

    /// A finger down at `at`: the window's real pointer event, as the touchscreen sends it.
    pub fn press_at(&self, at: slint::LogicalPosition) {
        self.pointer(slint::platform::WindowEvent::PointerMoved { position: at });
        self.pointer(slint::platform::WindowEvent::PointerPressed {
            position: at,
            button: slint::platform::PointerEventButton::Left,
        });
    }

    /// The finger moved to `at` while down.
    pub fn move_to(&self, at: slint::LogicalPosition) {
        self.pointer(slint::platform::WindowEvent::PointerMoved { position: at });
    }

    /// The finger lifted at `at`.
    pub fn release_at(&self, at: slint::LogicalPosition) {
        self.pointer(slint::platform::WindowEvent::PointerReleased {
            position: at,
            button: slint::platform::PointerEventButton::Left,
        });
    }

    fn pointer(&self, event: slint::platform::WindowEvent) {
        self.kiosk.window.window().dispatch_event(event);
    }

    /// Activates the element with this accessible label, as a tap would.
    pub fn tap(&self, label: &str) {
        let element = self
            .find(label)
            .unwrap_or_else(|| panic!("nothing labelled {label:?} on {:?}", self.screen()));
        element.invoke_accessible_default_action();
    }

    pub fn screen(&self) -> ui::Screen {
        self.kiosk.window.global::<ui::Wizard>().get_screen()
    }

    pub fn banner(&self) -> String {
        self.kiosk
            .window
            .global::<ui::Wizard>()
            .get_banner()
            .to_string()
    }

    /// Types ASCII on the on-screen keyboard, key by key (shift for capitals).
    pub fn type_keys(&self, text: &str) {
        for c in text.chars() {
            if c.is_ascii_uppercase() && self.exists("切换大小写") {
                self.tap("切换大小写");
                self.tap(&c.to_string());
                self.tap("切换大小写");
            } else if c == ' ' {
                self.tap("空格");
            } else {
                self.tap(&c.to_string());
            }
        }
    }

    /// Commits a Chinese phrase the way the candidate bar does (one key event with the phrase).
    pub fn commit_phrase(&self, phrase: &str) {
        self.kiosk
            .window
            .global::<ui::Keys>()
            .invoke_key(phrase.into());
    }

    /// Taps a text field, types into it and closes the keyboard.
    pub fn fill(&self, field: &str, text: &str) {
        self.tap(field);
        if text.is_ascii() {
            self.type_keys(text);
        } else {
            self.commit_phrase(text);
        }
        self.tap("完成");
    }

    /// Taps a list field and the options in turn (two levels for regions and bureaus).
    pub fn pick(&self, field: &str, options: &[&str]) {
        self.tap(field);
        for option in options {
            self.tap(option);
        }
    }

    /// Sets a date field with the steppers of the date picker.
    pub fn date(&self, field: &str, (year, month, day): (i32, i32, i32)) {
        self.tap(field);
        let picker = self.kiosk.window.global::<ui::DatePicker>();
        while picker.get_year() - year >= 10 {
            self.tap("年减十");
        }
        while year - picker.get_year() >= 10 {
            self.tap("年加十");
        }
        while picker.get_year() > year {
            self.tap("年减");
        }
        while picker.get_year() < year {
            self.tap("年加");
        }
        while picker.get_month() != month {
            self.tap("月加");
        }
        while picker.get_day() != day {
            self.tap("日加");
        }
        self.tap("确定");
    }

    /// The rest of a registration once the SMS code is on screen (the development hint): the
    /// code, a password twice, 注册并登录, and the basic page it leads to.
    pub fn finish_registration(&self) {
        let code: String = self.banner().chars().filter(char::is_ascii_digit).collect();
        self.fill("短信验证码", &code);
        self.fill("密码", "abc12345");
        self.fill("再次输入密码", "abc12345");
        self.tap("注册并登录");
        assert_eq!(self.screen(), ui::Screen::Basic, "{}", self.banner());
    }

    pub fn next(&self) {
        let before = self.screen();
        self.tap(match before {
            ui::Screen::Summary => "提交",
            _ => "下一步",
        });
    }

    /// Every accessible label and value in the window, and the wizard's text properties.
    pub fn all_visible_text(&self) -> Vec<String> {
        let mut out = Vec::new();
        for e in ElementQuery::from_root(&self.kiosk.window)
            .match_descendants()
            .find_all()
        {
            out.extend(e.accessible_label().map(|s| s.to_string()));
            out.extend(e.accessible_value().map(|s| s.to_string()));
        }
        let g = self.kiosk.window.global::<ui::Wizard>();
        use slint::Model;
        for f in g.get_fields().iter() {
            out.extend([f.value.to_string(), f.error.to_string()]);
        }
        for s in g.get_summary().iter() {
            out.extend(s.rows.iter().map(|r| r.value.to_string()));
        }
        out.extend([
            g.get_banner().to_string(),
            g.get_review_detail().to_string(),
        ]);
        out
    }
}
