//! Document pages: corners found on a synthetic skewed page within a few pixels, perspective
//! corrected to A4 / ID-card size, colour (the red seal) kept, at most 200,000 bytes; user
//! corners when detection cannot work.

use crate::common;

use common::{Rng, SEAL_RED, draw_seal, render_skewed, synthetic_page};
use image::{Rgb, RgbImage};
use kiosk_media::decode::decode;
use kiosk_media::document::detect_page;
use kiosk_media::{
    Chroma, CornerSource, DocKind, MediaError, Point, encode_jpeg, process_document,
};

fn p(x: f64, y: f64) -> Point {
    Point::new(x, y)
}

fn jpeg(img: &RgbImage) -> Vec<u8> {
    encode_jpeg(img, 92, 0, Chroma::Sub420).expect("encodes")
}

fn red_pixels(img: &RgbImage) -> usize {
    img.pixels()
        .filter(|px| px.0[0] > 150 && px.0[1] < 120 && px.0[2] < 120 && px.0[0] > px.0[1] + 60)
        .count()
}

fn assert_corners_close(found: &[Point; 4], truth: &[Point; 4], tol: f64) {
    for (i, (f, t)) in found.iter().zip(truth).enumerate() {
        assert!(
            f.distance(*t) <= tol,
            "corner {i}: found {f:?}, true {t:?} (all: {found:?})"
        );
    }
}

#[test]
fn skewed_a4_page_is_found_and_rectified() {
    let page = synthetic_page(1240, 1754, 7, 0.0);
    let truth = [
        p(352.0, 71.0),
        p(883.5, 104.0),
        p(906.0, 851.5),
        p(318.0, 826.0),
    ];
    let frame = render_skewed(&page, &truth, 1280, 960, 1);

    let found = detect_page(&frame).expect("page found");
    assert_corners_close(&found, &truth, 3.0);

    let (bytes, report) = process_document(&jpeg(&frame), DocKind::A4, None).expect("processes");
    assert_eq!(report.corners_source, CornerSource::Detected);
    assert!(report.portrait);
    assert_eq!((report.width, report.height), (1240, 1754));
    assert_eq!(report.dpi, 150);
    assert!(bytes.len() <= 200_000, "{}", bytes.len());
    assert_eq!(report.bytes, bytes.len());
    assert_corners_close(&report.corners, &truth, 4.0);

    // Colour kept: the seal is still red, in about the same amount as on the original page.
    let out = decode(&bytes).expect("decodes").image;
    assert_eq!(out.dimensions(), (1240, 1754));
    let (orig, kept) = (red_pixels(&page), red_pixels(&out));
    assert!(orig > 2_000, "the page has a seal: {orig}");
    assert!(kept * 2 > orig, "red seal kept: {kept} of {orig}");
    // Not binarised: many grey levels remain.
    let mut levels = [false; 256];
    for px in out.pixels() {
        levels[px.0[1] as usize] = true;
    }
    assert!(levels.iter().filter(|&&l| l).count() > 100);
    // Page content is aligned: the top-left margin of the rectified page is paper-white.
    let margin = out.get_pixel(40, 40).0;
    assert!(margin.iter().all(|&v| v > 200), "{margin:?}");
}

#[test]
fn landscape_page_gives_landscape_a4() {
    let page = synthetic_page(1240, 1754, 8, 0.0);
    let page = image::DynamicImage::ImageRgb8(page).rotate90().into_rgb8();
    let truth = [
        p(150.0, 180.0),
        p(1130.0, 140.0),
        p(1150.0, 830.0),
        p(130.0, 860.0),
    ];
    let frame = render_skewed(&page, &truth, 1280, 960, 2);
    let (bytes, report) = process_document(&jpeg(&frame), DocKind::A4, None).expect("processes");
    assert!(!report.portrait);
    assert_eq!((report.width, report.height), (1754, 1240));
    assert!(bytes.len() <= 200_000);
    assert_corners_close(&report.corners, &truth, 4.0);
}

#[test]
fn id_card_is_rectified_at_300_dpi() {
    let mut card = RgbImage::from_pixel(1011, 638, Rgb([236, 240, 246]));
    let mut rng = Rng::new(3);
    for y in 80..560 {
        for x in 60..330 {
            card.put_pixel(x, y, Rgb([200, 205, 215]));
        }
    }
    draw_seal(&mut card, 800, 320, 120, &mut rng);
    let truth = [
        p(300.0, 250.0),
        p(990.0, 300.0),
        p(960.0, 740.0),
        p(270.0, 690.0),
    ];
    let frame = render_skewed(&card, &truth, 1280, 960, 4);
    let (bytes, report) = process_document(&jpeg(&frame), DocKind::Card, None).expect("processes");
    assert_eq!((report.width, report.height), (1011, 638));
    assert_eq!(report.dpi, 300);
    assert!(bytes.len() <= 200_000);
    assert_corners_close(&report.corners, &truth, 4.0);
    let out = decode(&bytes).expect("decodes").image;
    assert!(red_pixels(&out) > 1_000);
    let _ = SEAL_RED;
}

#[test]
fn without_a_dark_background_the_user_places_the_corners() {
    // A page on a white table: no contrast at its edges.
    let page = synthetic_page(1240, 1754, 9, 0.0);
    let corners = [
        p(300.0, 60.0),
        p(980.0, 60.0),
        p(980.0, 1020.0),
        p(300.0, 1020.0),
    ];
    let mut frame = RgbImage::from_pixel(1280, 1080, Rgb([246, 245, 240]));
    let small = image::DynamicImage::ImageRgb8(page)
        .resize_exact(680, 960, image::imageops::FilterType::Triangle)
        .into_rgb8();
    image::imageops::overlay(&mut frame, &small, 300, 60);
    let bytes = jpeg(&frame);

    let err = process_document(&bytes, DocKind::A4, None).err();
    assert_eq!(err, Some(MediaError::PageNotFound));
    let err = err.unwrap_or(MediaError::Empty);
    assert!(err.zh().contains("手动"));

    let (out, report) = process_document(&bytes, DocKind::A4, Some(corners)).expect("user corners");
    assert_eq!(report.corners_source, CornerSource::User);
    assert_eq!(report.corners, corners);
    assert_eq!((report.width, report.height), (1240, 1754));
    assert!(out.len() <= 200_000);

    let crossed = [corners[0], corners[2], corners[1], corners[3]];
    let err = process_document(&bytes, DocKind::A4, Some(crossed)).err();
    assert!(
        matches!(err, Some(MediaError::InvalidCorners { .. })),
        "{err:?}"
    );
}

#[test]
fn an_empty_tray_has_no_page() {
    let mut frame = RgbImage::from_pixel(640, 480, Rgb([45, 45, 50]));
    common::add_noise(&mut frame, 3.0, 5);
    assert_eq!(detect_page(&frame).err(), Some(MediaError::PageNotFound));
}

/// The document camera's real size (2592x1944, 5 MP) with camera grain: the corner search runs
/// on a copy of at most 1000 px, so its corners are scaled back up by 2.6; they must still land
/// within 2 full-size pixels, and the page must come out as 150 dpi A4 (or the compressor's
/// smaller fallback) under the 200,000-byte limit.
#[test]
fn a_5_mp_page_is_found_at_full_size_precision_and_fits_the_limit() {
    let page = synthetic_page(1240, 1754, 11, 0.0);
    let truth = [
        p(712.0, 128.0),
        p(1921.0, 171.0),
        p(2003.0, 1822.0),
        p(618.0, 1781.0),
    ];
    let mut frame = render_skewed(&page, &truth, 2592, 1944, 12);
    common::add_noise(&mut frame, 2.0, 13);

    let found = detect_page(&frame).expect("page found");
    assert_corners_close(&found, &truth, 2.0);

    let (bytes, report) =
        kiosk_media::process_document_image(&frame, DocKind::A4, None).expect("processes");
    assert_eq!(report.corners_source, CornerSource::Detected);
    assert!(report.portrait);
    assert!(bytes.len() <= 200_000, "{}", bytes.len());
    assert!(
        report.width >= 620 && report.width <= 1240 && report.height * 1240 / report.width >= 1750,
        "A4 proportions, at most 150 dpi: {}x{}",
        report.width,
        report.height
    );
    assert_corners_close(&report.corners, &truth, 2.0);
    let out = decode(&bytes).expect("decodes").image;
    assert!(
        red_pixels(&out) * 2 > red_pixels(&page) * 3 / 4,
        "seal kept"
    );
}
