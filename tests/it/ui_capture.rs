//! The camera screen, end to end on the real window (Slint's testing backend) with simulated
//! cameras that play image files: the ID photo with its 3-2-1, a certificate page found and
//! straightened, a page whose corners the applicant places, a missing camera, and a wipe that
//! leaves no picture behind.

use crate::ui_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kiosk::app::screenshots;
use kiosk::app::ui::{self, CaptureStage, Screen};
use kiosk::capture::Cameras;
use kiosk_domain::catalog::{Choice, MaterialKind};
use kiosk_domain::samples::Branch;
use kiosk_domain::{Lang, Step};
use kiosk_hardware::camera::CameraSpec;
use slint::ComponentHandle;
use ui_support::{Harness, start_with_cameras};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn files(path: PathBuf) -> CameraSpec {
    CameraSpec::Files { path, fps: 30 }
}

fn cameras(document: CameraSpec) -> Cameras {
    Cameras {
        front: files(repo("docs/dev-materials/photo.jpg")),
        document,
    }
}

/// A kiosk on the materials page of an invented applicant whose materials are not yet given.
fn on_materials(document: CameraSpec) -> Harness {
    let h = start_with_cameras(cameras(document));
    {
        let mut s = h.kiosk.session.borrow_mut();
        screenshots::at(&mut s, Step::Materials, Branch::Employed);
        let _ = s.visit.app.edit(|d| d.materials.clear());
    }
    h.kiosk.refresh();
    assert_eq!(h.screen(), Screen::Materials);
    h
}

/// The document camera pointed at an empty tray, a picture of `kind` taken: no page is found,
/// and the applicant is asked to place the corners. The directory holds the camera's file.
fn at_the_corners(kind: MaterialKind) -> (Harness, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let blank = dir.path().join("empty-tray.png");
    image::RgbImage::from_pixel(1200, 900, image::Rgb([128, 128, 128]))
        .save(&blank)
        .unwrap();
    let h = on_materials(files(blank));
    h.tap(&format!("{}：拍摄", label(kind)));
    run_until(&h, "the live picture", has_picture);
    h.tap("拍照");
    run_until(&h, "the corner handles", |h| {
        capture(h).get_stage() == CaptureStage::Corners
    });
    (h, dir)
}

fn capture(h: &Harness) -> ui::Capture<'_> {
    h.kiosk.window.global::<ui::Capture>()
}

/// Lets the UI timers and the camera and processing threads run until `done` (real time, as
/// the threads need it; the UI's clock is advanced with it).
fn run_until(h: &Harness, what: &str, done: impl Fn(&Harness) -> bool) {
    let start = Instant::now();
    while !done(h) {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}; stage {:?}, message {:?}",
            capture(h).get_stage(),
            capture(h).get_message()
        );
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(40));
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn has_picture(h: &Harness) -> bool {
    capture(h).get_frame().size().width > 0
}

fn label(kind: MaterialKind) -> &'static str {
    kind.label(Lang::Zh)
}

fn stored_sizes(h: &Harness, kind: MaterialKind) -> Vec<u64> {
    let s = h.kiosk.session.borrow();
    s.visit
        .app
        .data()
        .materials
        .get(&kind)
        .map(|files| files.iter().map(|f| f.bytes).collect())
        .unwrap_or_default()
}

#[test]
fn the_id_photo_counts_down_is_checked_and_stored_in_its_byte_range() {
    let h = on_materials(files(repo("docs/dev-materials/doccam-page.jpg")));
    h.tap(&format!("{}：拍摄", label(MaterialKind::Photo)));
    assert!(capture(&h).get_open() && capture(&h).get_photo());
    run_until(&h, "the live picture", has_picture);
    assert_eq!(capture(&h).get_frame().size().width, 640);

    h.tap("拍照");
    assert_eq!(capture(&h).get_stage(), CaptureStage::Countdown);
    let counted: Vec<i32> = (0..3)
        .map(|_| {
            let n = capture(&h).get_countdown();
            i_slint_backend_testing::mock_elapsed_time(Duration::from_secs(1));
            n
        })
        .collect();
    assert_eq!(counted, [3, 2, 1]);
    run_until(&h, "the checked photo", |h| {
        capture(h).get_stage() == CaptureStage::Review
    });
    // The finished file is what the applicant confirms: 295x413.
    let shown = capture(&h).get_frame().size();
    assert_eq!((shown.width, shown.height), (295, 413));
    h.tap("使用这张");
    assert!(!capture(&h).get_open());
    assert!(
        h.exists(&format!("{}：重拍", label(MaterialKind::Photo))),
        "one photo: taking another replaces it"
    );
    let sizes = stored_sizes(&h, MaterialKind::Photo);
    assert_eq!(sizes.len(), 1);
    assert!(sizes[0] > 10_240 && sizes[0] <= 20_000, "{sizes:?}");
    assert!(
        h.all_visible_text()
            .iter()
            .any(|t| t.starts_with("✔ 已提供")),
        "the photo row shows it is provided"
    );
}

#[test]
fn a_certificate_page_is_found_straightened_and_pages_add_up() {
    let h = on_materials(files(repo("docs/dev-materials/doccam-page.jpg")));
    let kind = MaterialKind::QualificationCertificate;
    for page in 1..=2 {
        let button = if page == 1 { "拍摄" } else { "再拍一页" };
        h.tap(&format!("{}：{button}", label(kind)));
        assert!(!capture(&h).get_photo());
        run_until(&h, "the live picture", has_picture);
        h.tap("拍照");
        run_until(&h, "the straightened page", |h| {
            capture(h).get_stage() == CaptureStage::Review
        });
        let shown = capture(&h).get_frame().size();
        assert_eq!((shown.width, shown.height), (1240, 1754), "150 dpi A4");
        h.tap("使用这张");
        let sizes = stored_sizes(&h, kind);
        assert_eq!(sizes.len(), page);
        assert!(sizes.iter().all(|&b| b <= 200_000), "{sizes:?}");
    }
    // A wrong page: the applicant clears the material and starts again.
    let files_before = h
        .kiosk
        .session
        .borrow()
        .services
        .store
        .material_count()
        .unwrap();
    h.tap(&format!("{}：清空重拍", label(kind)));
    assert!(stored_sizes(&h, kind).is_empty());
    assert_eq!(
        h.kiosk
            .session
            .borrow()
            .services
            .store
            .material_count()
            .unwrap(),
        files_before - 2,
        "the removed pages are deleted from the store too"
    );
    assert!(h.exists(&format!("{}：拍摄", label(kind))));
}

#[test]
fn when_no_page_is_found_the_applicant_places_the_corners() {
    let kind = MaterialKind::WorkCertificate;
    let (h, _dir) = at_the_corners(kind);
    for corner in ["左上角", "右上角", "右下角", "左下角"] {
        assert!(h.exists(corner), "{corner} handle");
    }
    // Dragging a handle past the edge keeps it on the picture.
    capture(&h).invoke_move_corner(0, -50.0, 40.0);
    let first = capture(&h).get_corners();
    use slint::Model;
    let tl = first.row_data(0).unwrap();
    assert_eq!((tl.x, tl.y), (0.0, 40.0));
    h.tap("确认四角");
    run_until(&h, "the page from the placed corners", |h| {
        capture(h).get_stage() == CaptureStage::Review
    });
    h.tap("使用这张");
    assert_eq!(stored_sizes(&h, kind).len(), 1);
}

#[test]
fn a_missing_camera_is_said_plainly_and_the_screen_can_be_left() {
    let h = on_materials(CameraSpec::Device {
        path: "/dev/kiosk/no-document-camera".into(),
        width: 2592,
        height: 1944,
        fps: 15,
    });
    h.tap(&format!("{}：拍摄", label(MaterialKind::WorkCertificate)));
    run_until(&h, "the camera error", |h| {
        capture(h).get_stage() == CaptureStage::Failed
    });
    assert_eq!(capture(&h).get_message(), "未找到摄像头，请联系工作人员");
    h.tap("返回");
    assert!(!capture(&h).get_open());
    assert_eq!(h.screen(), Screen::Materials);
}

#[test]
fn a_wipe_closes_the_camera_and_leaves_no_picture() {
    let h = on_materials(files(repo("docs/dev-materials/doccam-page.jpg")));
    h.tap(&format!("{}：拍摄", label(MaterialKind::Photo)));
    run_until(&h, "the live picture", has_picture);
    h.kiosk.session.borrow_mut().wipe();
    h.kiosk.refresh();
    run_until(&h, "the picture to go", |h| !has_picture(h));
    assert!(!capture(&h).get_open());
    assert_eq!(h.screen(), Screen::Welcome);
}

/// A corner handle follows a finger dragged in steps across the idle clock's 1 s ticks, with
/// real pointer events: the handles' list is updated in place, so the handle under the finger
/// is not re-created by the first move it reports (which ended the drag there).
#[test]
fn a_corner_handle_follows_a_finger_across_ticks() {
    use slint::Model;
    let (h, _dir) = at_the_corners(MaterialKind::WorkCertificate);
    let corner = || capture(&h).get_corners().row_data(0).expect("top left");
    let before = corner();
    let handle = h.find("左上角").expect("the top-left handle");
    let start = ui_support::Harness::centre_of(&handle);
    let step = |n: f32| slint::LogicalPosition::new(start.x + 12.0 * n, start.y + 8.0 * n);
    h.press_at(start);
    h.move_to(step(1.0));
    let first = corner();
    let per_step = (first.x - before.x, first.y - before.y);
    assert!(
        per_step.0 > 0.0 && per_step.1 > 0.0,
        "the first move moved it"
    );
    for n in 2..=6 {
        i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_millis(250));
        h.kiosk.refresh();
        h.move_to(step(n as f32));
    }
    h.release_at(step(6.0));
    let after = corner();
    let moved = (after.x - before.x, after.y - before.y);
    assert!(
        (moved.0 - 6.0 * per_step.0).abs() < 2.0 && (moved.1 - 6.0 * per_step.1).abs() < 2.0,
        "the handle followed all six steps: moved {moved:?}, {per_step:?} a step"
    );
}

/// The camera screen's decisions are the session's, testable without a window: a camera error
/// matters only on the live picture, a missing still is said plainly, and the still is kept
/// only while the applicant places its corners.
#[test]
fn the_camera_screens_decisions_are_the_sessions() {
    use kiosk::app::session::CaptureStage as Stage;
    let h = on_materials(files(repo("docs/dev-materials/photo.jpg")));
    let mut s = h.kiosk.session.borrow_mut();
    s.open_capture(MaterialKind::IdCardFront);
    assert!(s.capture_is_live());
    assert!(s.capture_camera().is_some(), "the document camera is named");
    let stage =
        |s: &kiosk::app::session::Session| s.visit.capture.as_ref().map(|c| c.stage.clone());

    // Away from the live picture, a camera error changes nothing.
    s.visit.capture.as_mut().expect("open").stage = Stage::Review {
        width: 10,
        height: 10,
    };
    assert!(!s.capture_camera_error("未找到摄像头，请联系工作人员"));
    assert!(matches!(stage(&s), Some(Stage::Review { .. })));

    // On the live picture it ends it, in the session's language.
    s.capture_retake();
    s.lang = Lang::En;
    assert!(s.capture_camera_error("未找到摄像头，请联系工作人员"));
    let Some(Stage::Failed(message)) = stage(&s) else {
        panic!("not failed: {:?}", stage(&s));
    };
    assert_eq!(message.text(Lang::En), "No camera found: please ask staff");

    s.capture_retake();
    s.capture_still_missing();
    let Some(Stage::Failed(message)) = stage(&s) else {
        panic!("not failed: {:?}", stage(&s));
    };
    assert!(message.text(Lang::Zh).contains("没有拍到画面"));

    // The still is needed again only for the corners.
    s.visit.capture.as_mut().expect("open").stage = Stage::PlaceCorners {
        width: 100,
        height: 100,
        corners: [kiosk_media::Point::new(0.0, 0.0); 4],
    };
    assert!(s.capture_keeps_still());
    s.capture_retake();
    assert!(!s.capture_keeps_still());
    assert!(!s.capture_is_counting());
    s.capture_close();
    assert!(!s.capture_is_live() && s.capture_camera().is_none());
}
