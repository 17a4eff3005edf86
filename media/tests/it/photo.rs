//! ID photo checks on the astronaut fixtures: the good photo passes and is compressed into the
//! photo range; each failure variant fails the right check with its instruction.

use crate::common;

use common::{encode_png, fixture_bytes};
use kiosk_media::decode::decode;
use kiosk_media::face::detect_faces;
use kiosk_media::{PhotoOptions, PhotoReport, process_photo};

fn run(name: &str) -> (Vec<u8>, PhotoReport) {
    process_photo(&fixture_bytes(name), &PhotoOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn check<'a>(report: &'a PhotoReport, name: &str) -> &'a kiosk_media::Check {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name} in {:?}", report.checks))
}

fn assert_fails(file: &str, failing: &str, message_part: &str) -> PhotoReport {
    let (jpeg, report) = run(file);
    assert!(!report.ok, "{file} must be rejected: {report:?}");
    assert!(jpeg.is_empty(), "{file}: no JPEG for a rejected photo");
    assert_eq!(report.bytes, 0);
    let c = check(&report, failing);
    assert!(
        !c.passed,
        "{file}: {failing} should fail: {:?}",
        report.checks
    );
    assert!(
        c.message.contains(message_part),
        "{file}: message {:?}",
        c.message
    );
    report
}

#[test]
fn good_photo_passes_and_fits_the_range() {
    let (jpeg, report) = run("photo_good.jpg");
    assert!(report.ok, "{report:?}");
    assert!(report.checks.iter().all(|c| c.passed));
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "face_count",
            "head_size",
            "centring",
            "background",
            "exposure",
            "sharpness"
        ]
    );
    assert_eq!(report.bytes, jpeg.len());
    assert!(
        jpeg.len() > 10_240 && jpeg.len() <= 20_000,
        "{}",
        jpeg.len()
    );
    assert_eq!((report.width, report.height), (295, 413));
    assert!(!report.background_whitened);
    let out = decode(&jpeg).expect("output decodes").image;
    assert_eq!(out.dimensions(), (295, 413));

    // The crop rule: one face, centred, about 36 % of the height, centre at about 48 %.
    let faces = detect_faces(&out).expect("detector");
    assert_eq!(faces.len(), 1, "{faces:?}");
    let f = faces[0];
    assert!((f.centre_x() / 295.0 - 0.5).abs() < 0.05, "{f:?}");
    assert!((f.height / 413.0 - 0.36).abs() < 0.06, "{f:?}");
    assert!((f.centre_y() / 413.0 - 0.48).abs() < 0.06, "{f:?}");
    // White corners.
    for (x, y) in [(3, 3), (291, 3)] {
        assert!(
            out.get_pixel(x, y).0.iter().all(|&v| v >= 230),
            "corner {x},{y}: {:?}",
            out.get_pixel(x, y)
        );
    }

    // The report serialises with the fields the UI reads.
    let v = serde_json::to_value(&report).expect("serialises");
    for key in ["ok", "bytes", "width", "height", "quality", "checks"] {
        assert!(v.get(key).is_some(), "{key}");
    }
    assert!(v["checks"][0].get("name").is_some() && v["checks"][0].get("message").is_some());
}

#[test]
fn png_input_and_the_358x441_preset() {
    let img = decode(&fixture_bytes("photo_good.jpg"))
        .expect("decodes")
        .image;
    let png = encode_png(&img);
    let (jpeg, report) = process_photo(&png, &PhotoOptions::id_card_358x441()).expect("processes");
    assert!(report.ok, "{report:?}");
    assert_eq!((report.width, report.height), (358, 441));
    assert!(
        jpeg.len() > 10_240 && jpeg.len() <= 20_000,
        "{}",
        jpeg.len()
    );
}

#[test]
fn near_white_backdrop_is_whitened() {
    let (jpeg, report) = run("photo_grey_background.jpg");
    assert!(report.ok, "{report:?}");
    assert!(report.background_whitened);
    assert!(report.measurements.white_fraction < 0.9);
    assert!(
        report
            .measurements
            .white_fraction_after_whitening
            .unwrap_or(0.0)
            >= 0.9
    );
    let out = decode(&jpeg).expect("decodes").image;
    assert!(
        out.get_pixel(5, 5).0.iter().all(|&v| v >= 240),
        "{:?}",
        out.get_pixel(5, 5)
    );
    // Without whitening the same photo is rejected for its background.
    let opts = PhotoOptions {
        whiten_background: false,
        ..PhotoOptions::default()
    };
    let (_, report) =
        process_photo(&fixture_bytes("photo_grey_background.jpg"), &opts).expect("processes");
    assert!(!check(&report, "background").passed);
}

#[test]
fn coloured_background_fails_background() {
    let r = assert_fails("photo_blue_background.jpg", "background", "白色背景");
    assert!(check(&r, "face_count").passed && check(&r, "exposure").passed);
}

#[test]
fn dark_photo_fails_exposure() {
    let r = assert_fails("photo_dark.jpg", "exposure", "太暗");
    assert!(check(&r, "face_count").passed);
}

#[test]
fn overexposed_photo_fails_exposure() {
    let r = assert_fails("photo_bright.jpg", "exposure", "曝光过度");
    assert!(check(&r, "face_count").passed && check(&r, "background").passed);
}

#[test]
fn blurred_photo_fails_sharpness() {
    let r = assert_fails("photo_blurred.jpg", "sharpness", "不清晰");
    assert!(check(&r, "exposure").passed && check(&r, "background").passed);
}

#[test]
fn two_faces_fail_face_count() {
    let r = assert_fails(
        "photo_two_faces.jpg",
        "face_count",
        "检测到多张人脸，请只让申请人入镜",
    );
    assert_eq!(r.measurements.face_count, 2);
}

#[test]
fn no_face_fails_face_count() {
    let r = assert_fails(
        "photo_no_face.jpg",
        "face_count",
        "未检测到人脸，请正对镜头",
    );
    assert_eq!(r.measurements.face_count, 0);
}

#[test]
fn off_centre_fails_centring() {
    let r = assert_fails("photo_off_centre.jpg", "centring", "偏向画面左侧");
    assert!(check(&r, "head_size").passed);
}

#[test]
fn too_far_fails_head_size() {
    let r = assert_fails("photo_too_far.jpg", "head_size", "靠近");
    assert!(check(&r, "face_count").passed);
}

#[test]
fn undecodable_input_is_an_error_not_a_report() {
    let err = process_photo(b"not an image", &PhotoOptions::default()).unwrap_err();
    assert_eq!(err.code(), "unsupported_format");
    let bad = PhotoOptions {
        width: 200,
        ..PhotoOptions::default()
    };
    assert_eq!(
        process_photo(&fixture_bytes("photo_good.jpg"), &bad)
            .unwrap_err()
            .code(),
        "invalid_options"
    );
}
