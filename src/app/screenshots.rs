//! Renders every page to PNG without a display: Slint's software renderer into a buffer, through
//! a minimal platform. Used by `kiosk screenshots --out DIR` and by the UI tests.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::Context as _;
use kiosk_domain::catalog::MaterialKind;
use kiosk_domain::samples::{self, Branch};
use kiosk_domain::{Field, Lang, Step};
use slint::Rgb8Pixel;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, PhysicalSize};

use super::Kiosk;
use super::session::{AccountMode, CaptureStage, Screen, Services, Session};
use kiosk_media::Point;

struct ScreenshotPlatform {
    window: Rc<MinimalSoftwareWindow>,
}

impl Platform for ScreenshotPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(self.window.clone())
    }
}

/// Installs the buffer-rendering platform. Once per process, before any window is created.
pub fn install_platform() -> anyhow::Result<Rc<MinimalSoftwareWindow>> {
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(ScreenshotPlatform {
        window: window.clone(),
    }))
    .map_err(|e| anyhow::anyhow!("cannot install the screenshot platform: {e:?}"))?;
    Ok(window)
}

/// Renders the window's current content into RGB pixels.
pub fn render(window: &MinimalSoftwareWindow, width: u32, height: u32) -> Vec<Rgb8Pixel> {
    window.set_size(PhysicalSize::new(width, height));
    slint::platform::update_timers_and_animations();
    let mut pixels = vec![Rgb8Pixel::new(0, 0, 0); (width * height) as usize];
    window.request_redraw();
    window.draw_if_needed(|renderer| {
        renderer.render(&mut pixels, width as usize);
    });
    pixels
}

pub fn write_png(path: &Path, pixels: &[Rgb8Pixel], width: u32, height: u32) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    let bytes: Vec<u8> = pixels.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
    writer.write_image_data(&bytes)?;
    Ok(())
}

/// A page in a given state, reached by touching the session as an applicant would.
pub struct Scene {
    pub name: &'static str,
    pub setup: fn(&mut Session),
}

/// Puts an invented, complete, signed-in applicant of `branch` on `step` (screenshots, UI tests,
/// benches).
pub fn at(session: &mut Session, step: Step, branch: Branch) {
    session.visit.signed_in = true;
    let _ = session.visit.app.edit(|d| *d = samples::complete(branch));
    let progress = session.progress();
    let _ = session
        .visit
        .wizard
        .go_to(step, &session.visit.app, &progress);
    session.visit.screen = Screen::Step(step);
}

/// The camera screen for `kind` at `stage`.
fn capturing(session: &mut Session, kind: MaterialKind, stage: CaptureStage) {
    session.open_capture(kind);
    if let Some(c) = session.visit.capture.as_mut() {
        c.stage = stage;
    }
}

fn employed(session: &mut Session, step: Step) {
    at(session, step, Branch::Employed);
}

/// A checked, compressed file of `kind` as the camera screens leave it: a sample camera frame of
/// `docs/dev-materials` through the real pipeline, made once per process.
fn sample_file(
    kind: MaterialKind,
    limits: &kiosk_domain::MaterialLimits,
) -> Option<(Vec<u8>, u32, u32)> {
    static PHOTO: std::sync::OnceLock<Option<(Vec<u8>, u32, u32)>> = std::sync::OnceLock::new();
    static PAGE: std::sync::OnceLock<Option<(Vec<u8>, u32, u32)>> = std::sync::OnceLock::new();
    let (cell, name) = if kind == MaterialKind::Photo {
        (&PHOTO, "photo.jpg")
    } else {
        (&PAGE, "doccam-page.jpg")
    };
    cell.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs/dev-materials")
            .join(name);
        let still = kiosk_media::decode::decode(&std::fs::read(path).ok()?)
            .ok()?
            .image;
        let as_kind = if kind == MaterialKind::Photo {
            MaterialKind::Photo
        } else {
            MaterialKind::IdCardFront
        };
        match crate::capture::process::process(as_kind, &still, None, limits) {
            crate::capture::process::Outcome::Accepted {
                jpeg,
                width,
                height,
                ..
            } => Some((jpeg, width, height)),
            _ => None,
        }
    })
    .clone()
}

/// Saves the draft and a real, checked file for every material it lists: the invented sample
/// record names files no store holds, and a submission whose files are not stored is refused
/// (有材料文件未能保存…), which is what the review scene used to show.
pub fn with_saved_files(session: &mut Session) {
    let limits = session.services.limits;
    let store = &mut session.services.store;
    if let Err(e) = store.save_draft(&session.visit.app) {
        tracing::warn!(error = %e, "sample draft not saved");
        return;
    }
    let id_number = session.visit.app.data().basic.id_number.clone();
    let mut materials = session.visit.app.data().materials.clone();
    for (kind, files) in materials.iter_mut() {
        let Some((bytes, width, height)) = sample_file(*kind, &limits) else {
            tracing::warn!("sample material file missing");
            return;
        };
        for file in files.iter_mut() {
            match store.put_material(&id_number, &bytes) {
                Ok(stored) => {
                    *file = kiosk_domain::record::MaterialFile {
                        width,
                        height,
                        ..stored
                    }
                }
                Err(e) => tracing::warn!(error = %e, "sample file not saved"),
            }
        }
    }
    let _ = session.visit.app.edit(|d| d.materials = materials);
}

/// Every page of the wizard, and the keyboards, pickers and warnings over them.
pub fn scenes() -> Vec<Scene> {
    vec![
        Scene {
            name: "00-welcome",
            setup: |_| {},
        },
        Scene {
            name: "01-notice",
            setup: |s| s.start(),
        },
        Scene {
            name: "02-eligibility",
            setup: |s| {
                s.start();
                s.set_consent(true);
                s.next();
            },
        },
        Scene {
            name: "03-eligibility-not-required",
            setup: |s| {
                s.start();
                s.set_consent(true);
                s.next();
                s.choose_inline(Field::HoldsQualificationAnswer, 1);
                s.choose_inline(Field::AccountingWorkAnswer, 1);
                s.next();
            },
        },
        Scene {
            name: "04-login",
            setup: |s| {
                employed(s, Step::Account);
                s.visit.signed_in = false;
            },
        },
        Scene {
            name: "05-register-id-pad",
            setup: |s| {
                employed(s, Step::Account);
                s.visit.signed_in = false;
                s.set_account_mode(AccountMode::Register);
                s.activate(Field::IdNumber);
                s.key("53010219");
            },
        },
        Scene {
            name: "06-basic",
            setup: |s| employed(s, Step::Basic),
        },
        Scene {
            name: "07-basic-errors",
            setup: |s| {
                employed(s, Step::Basic);
                let _ = s.visit.app.edit(|d| {
                    d.basic.postal_address.clear();
                    d.basic.email = "zhang@".into();
                    d.basic.gender = Some(kiosk_domain::catalog::Gender::Female);
                });
                s.next();
            },
        },
        Scene {
            name: "07-basic-errors-keyboard",
            setup: |s| {
                employed(s, Step::Basic);
                let _ = s.visit.app.edit(|d| d.basic.email = "zhang@".into());
                s.next();
                s.activate(Field::Email);
            },
        },
        Scene {
            name: "08-basic-keyboard",
            setup: |s| {
                employed(s, Step::Basic);
                s.activate(Field::Email);
            },
        },
        Scene {
            name: "09-ethnicity-picker",
            setup: |s| {
                employed(s, Step::Basic);
                s.activate(Field::Ethnicity);
            },
        },
        Scene {
            name: "10-bureau-picker-counties",
            setup: |s| {
                employed(s, Step::Basic);
                s.activate(Field::FinanceBureau);
                s.picker_choose(0);
            },
        },
        Scene {
            name: "11-date-picker",
            setup: |s| {
                employed(s, Step::Basic);
                s.activate(Field::BirthDate);
            },
        },
        Scene {
            name: "12-work-employed",
            setup: |s| employed(s, Step::Work),
        },
        Scene {
            name: "13-work-not-employed",
            setup: |s| at(s, Step::Work, Branch::NotEmployed),
        },
        Scene {
            name: "14-work-phone-pad",
            setup: |s| {
                employed(s, Step::Work);
                s.activate(Field::EmployerPhone);
            },
        },
        Scene {
            name: "15-education",
            setup: |s| employed(s, Step::Education),
        },
        Scene {
            name: "16-qualification",
            setup: |s| employed(s, Step::Qualification),
        },
        Scene {
            name: "17-materials",
            setup: |s| {
                employed(s, Step::Materials);
                let _ = s.visit.app.edit(|d| {
                    d.materials.remove(&MaterialKind::WorkCertificate);
                    d.materials.remove(&MaterialKind::QualificationCertificate);
                });
            },
        },
        Scene {
            name: "17-materials-after-rejection",
            // A returning applicant whose submission was rejected, as a log-in leaves them: on
            // the materials (taken again), the reviewer's words in the banner.
            setup: |s| {
                employed(s, Step::Summary);
                let progress = s.progress();
                let _ = s.visit.wizard.submit(&mut s.visit.app, &progress);
                let _ = s
                    .visit
                    .app
                    .apply_review(kiosk_domain::ReviewState::UnderReview);
                let _ = s
                    .visit
                    .app
                    .apply_review(kiosk_domain::ReviewState::Rejected {
                        reason: "照片不符合要求；缺少工作证明".into(),
                    });
                let _ = s.visit.app.edit(|d| d.materials.clear());
                let _ = s
                    .visit
                    .wizard
                    .go_to(Step::Materials, &s.visit.app, &progress);
                s.visit.screen = Screen::Step(Step::Materials);
                s.say_logged_in();
            },
        },
        Scene {
            name: "18-summary",
            setup: |s| {
                employed(s, Step::Summary);
                with_saved_files(s);
            },
        },
        Scene {
            name: "19-review",
            setup: |s| {
                employed(s, Step::Summary);
                with_saved_files(s);
                s.submit();
            },
        },
        Scene {
            name: "19-review-receipt",
            setup: |s| {
                employed(s, Step::Summary);
                with_saved_files(s);
                s.submit();
                // As with a central server: the submission's code and its status page.
                s.services.status_base_url = Some("https://central.example".into());
                if let Some(receipt) = s.visit.receipt.as_mut() {
                    receipt.code = Some("0DZBRDJVGQDKXPTMNVWE".into());
                }
            },
        },
        Scene {
            name: "21-staff-confirmation",
            setup: |s| {
                employed(s, Step::Work);
                let _ = s
                    .visit
                    .app
                    .edit(|d| d.work.employment.employer_credit_code = "91350100M000100Y44".into());
                s.next();
                s.visit.overlay = Some(super::session::Overlay::StaffPin {
                    field: Some(Field::EmployerCreditCode),
                    entered: "12".into(),
                });
            },
        },
        Scene {
            name: "22-pinyin-candidates",
            setup: |s| {
                employed(s, Step::Work);
                let _ = s
                    .visit
                    .app
                    .edit(|d| d.work.employment.employer_name = "云南".into());
                s.activate(Field::EmployerName);
                s.key("kunming");
            },
        },
        Scene {
            name: "23-handwriting",
            setup: |s| {
                employed(s, Step::Work);
                let _ = s
                    .visit
                    .app
                    .edit(|d| d.work.employment.employer_name = "云南".into());
                s.activate(Field::EmployerName);
                s.toggle_handwriting();
                for (from, to) in [
                    ((120.0, 150.0), (520.0, 150.0)),
                    ((320.0, 40.0), (320.0, 300.0)),
                ] {
                    s.stroke_start(from.0, from.1, 640.0, 340.0);
                    for i in 1..=12 {
                        let t = i as f32 / 12.0;
                        s.stroke_point(from.0 + (to.0 - from.0) * t, from.1 + (to.1 - from.1) * t);
                    }
                    s.stroke_end();
                }
            },
        },
        Scene {
            name: "24-capture-photo-countdown",
            setup: |s| {
                employed(s, Step::Materials);
                capturing(s, MaterialKind::Photo, CaptureStage::Countdown(2));
            },
        },
        Scene {
            name: "25-capture-photo-rejected",
            setup: |s| {
                employed(s, Step::Materials);
                capturing(
                    s,
                    MaterialKind::Photo,
                    CaptureStage::Rejected(vec![
                        "离镜头太远，头部太小，请靠近镜头一点".into(),
                        "背景不是白色，请在白色背景布前拍摄".into(),
                    ]),
                );
            },
        },
        Scene {
            name: "26-capture-page-review",
            setup: |s| {
                employed(s, Step::Materials);
                capturing(
                    s,
                    MaterialKind::QualificationCertificate,
                    CaptureStage::Review {
                        width: 1240,
                        height: 1754,
                    },
                );
            },
        },
        Scene {
            name: "27-capture-page-corners",
            setup: |s| {
                employed(s, Step::Materials);
                capturing(
                    s,
                    MaterialKind::WorkCertificate,
                    CaptureStage::PlaceCorners {
                        width: 1600,
                        height: 1200,
                        corners: [
                            Point::new(380.0, 130.0),
                            Point::new(1190.0, 110.0),
                            Point::new(1200.0, 1100.0),
                            Point::new(360.0, 1090.0),
                        ],
                    },
                );
            },
        },
        Scene {
            name: "28-staff-pin",
            setup: |s| {
                s.open_staff_mode();
                s.key("24");
            },
        },
        Scene {
            name: "29-staff-panel",
            setup: |s| s.visit.staff_panel = true,
        },
        Scene {
            name: "30-staff-locked",
            setup: |s| {
                let lock_at_once = crate::store::StaffLockRules {
                    attempts: 10,
                    lockout_ms: 0,
                    admin_after: 1,
                };
                let _ = s
                    .services
                    .store
                    .staff_pin_wrong(crate::store::now_ms(), lock_at_once);
                s.open_staff_mode();
                // The banner stays; later scenes find staff mode unlocked.
                let _ = s.services.store.staff_unlock();
            },
        },
        Scene {
            name: "20-idle-countdown",
            setup: |s| {
                employed(s, Step::Basic);
                s.visit.countdown = Some(27);
            },
        },
    ]
}

/// The camera screen's picture for a scene: the sample camera frames of `docs/dev-materials`,
/// and for a finished page the real pipeline's output (cameras do not run while rendering).
pub fn show_sample_picture(kiosk: &Kiosk) {
    let session = kiosk.session.borrow();
    let Some(capture) = session.visit.capture.as_ref() else {
        return;
    };
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/dev-materials");
    let file = if capture.kind == MaterialKind::Photo {
        "photo.jpg"
    } else {
        "doccam-page.jpg"
    };
    let Ok(still) = std::fs::read(samples.join(file))
        .map_err(|e| e.to_string())
        .and_then(|b| kiosk_media::decode::decode(&b).map_err(|e| e.en()))
        .map(|d| d.image)
    else {
        tracing::warn!("sample camera frame missing");
        return;
    };
    let picture = match capture.stage {
        CaptureStage::Review { .. } => match crate::capture::process::process(
            capture.kind,
            &still,
            None,
            &session.services.limits,
        ) {
            crate::capture::process::Outcome::Accepted { shown, .. } => shown,
            _ => return,
        },
        _ => crate::capture::feed::RgbaFrame::from_rgb(&still),
    };
    kiosk
        .window
        .global::<super::ui::Capture>()
        .set_frame(super::glue::capture::image(&picture));
}

/// A screen layout: name, width, height.
pub const LAYOUTS: [(&str, u32, u32); 2] = [("landscape", 1920, 1080), ("portrait", 1080, 1920)];

/// Renders every scene in both orientations, normal and elder mode, Chinese and English.
pub fn render_all(out: &Path, services: Services) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let window = install_platform()?;
    let kiosk = Kiosk::new(services)?;
    kiosk.window.show()?;
    let mut written = Vec::new();
    for (layout, width, height) in LAYOUTS {
        for elder in [false, true] {
            for lang in [Lang::Zh, Lang::En] {
                for scene in scenes() {
                    {
                        let mut s = kiosk.session.borrow_mut();
                        s.wipe();
                        s.lang = lang;
                        s.elder = elder;
                        (scene.setup)(&mut s);
                    }
                    kiosk.refresh();
                    show_sample_picture(&kiosk);
                    let pixels = render(&window, width, height);
                    let mode = if elder { "elder" } else { "normal" };
                    let lang = if lang == Lang::Zh { "zh" } else { "en" };
                    let path = out.join(format!("{layout}-{mode}-{lang}-{}.png", scene.name));
                    write_png(&path, &pixels, width, height)?;
                    written.push(path);
                }
            }
        }
    }
    Ok(written)
}
