//! Compression into byte ranges: limits hold over varied content, files are clean baseline
//! JPEGs with 4:2:0 chroma and the JFIF density, and the impossible cases get clear errors.

use crate::common;

use common::{Rng, add_noise, fixture_bytes, jpeg_segments, synthetic_page};
use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};
use kiosk_media::{Limits, MediaError, compress, compress_file, compress_to_range, decode::decode};
use proptest::prelude::*;

/// Structure of a JPEG made by this crate.
fn assert_clean_jpeg(bytes: &[u8], dpi: u16) {
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "SOI");
    assert_eq!(&bytes[bytes.len() - 2..], &[0xFF, 0xD9], "ends with EOI");
    let segs = jpeg_segments(bytes);
    let app0 = &segs.iter().find(|s| s.0 == 0xE0).expect("JFIF APP0").1;
    assert_eq!(&app0[..5], b"JFIF\0");
    if dpi > 0 {
        assert_eq!(app0[7], 1, "density unit: dots per inch");
        assert_eq!(u16::from_be_bytes([app0[8], app0[9]]), dpi);
        assert_eq!(u16::from_be_bytes([app0[10], app0[11]]), dpi);
    }
    let sof = segs
        .iter()
        .find(|s| (0xC0..=0xC2).contains(&s.0))
        .expect("SOF");
    assert_eq!(sof.0, 0xC0, "baseline (SOF0), not progressive");
    assert_eq!(sof.1[5], 3, "three components");
    assert_eq!(sof.1[7], 0x22, "luma sampling 2x2 (4:2:0)");
    assert!(!segs.iter().any(|s| s.0 == 0xE1), "no EXIF copied");
    // Nothing after the end-of-image marker: the first FFD9 after the scan header is the last.
    let sos = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .expect("SOS");
    let eoi = sos
        + bytes[sos..]
            .windows(2)
            .position(|w| w == [0xFF, 0xD9])
            .expect("EOI");
    assert_eq!(eoi + 2, bytes.len(), "no bytes after EOI (no padding)");
}

fn in_photo_range(n: usize) -> bool {
    n > 10_240 && n <= 20_000
}

fn photo_inputs() -> Vec<(String, RgbImage)> {
    let mut out = Vec::new();
    for name in [
        "photo_good.jpg",
        "photo_grey_background.jpg",
        "photo_blue_background.jpg",
        "photo_dark.jpg",
        "photo_bright.jpg",
        "photo_blurred.jpg",
        "photo_two_faces.jpg",
        "photo_no_face.jpg",
    ] {
        let img = decode(&fixture_bytes(name)).expect("fixture decodes").image;
        out.push((
            name.to_owned(),
            imageops::resize(&img, 295, 413, FilterType::Triangle),
        ));
    }
    // Worst cases for a photo: coarse noise everywhere, and a nearly flat frame with detail.
    let mut noisy = RgbImage::from_pixel(295, 413, Rgb([128, 120, 110]));
    add_noise(&mut noisy, 40.0, 3);
    out.push(("noise".into(), noisy));
    let mut soft = RgbImage::from_fn(295, 413, |x, y| {
        Rgb([200 - (y / 8) as u8, 190, 180 + (x / 16) as u8])
    });
    add_noise(&mut soft, 6.0, 4);
    out.push(("soft gradient".into(), soft));
    out
}

#[test]
fn photos_land_in_the_photo_range() {
    for (name, img) in photo_inputs() {
        let enc = compress(&img, &Limits::photo()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            in_photo_range(enc.bytes.len()),
            "{name}: {} bytes",
            enc.bytes.len()
        );
        assert_eq!(
            (enc.width, enc.height),
            (295, 413),
            "{name}: never below 295x413"
        );
        assert_clean_jpeg(&enc.bytes, 300);
        let back = decode(&enc.bytes).expect("our JPEG decodes");
        assert_eq!(back.image.dimensions(), (295, 413));
    }
}

#[test]
fn our_jpegs_decode_correctly_with_the_image_crate() {
    // Regression guard: zune-jpeg (inside `image`) mis-decodes non-interleaved 4:2:0 scans.
    let img = decode(&fixture_bytes("photo_good.jpg"))
        .expect("decodes")
        .image;
    let img = imageops::resize(&img, 295, 413, FilterType::Triangle);
    let enc = compress(&img, &Limits::photo()).expect("fits");
    let sos = jpeg_segments(&enc.bytes)
        .into_iter()
        .find(|s| s.0 == 0xDA)
        .expect("SOS");
    assert_eq!(
        sos.1[0], 3,
        "one interleaved scan with all three components"
    );
    let back = decode(&enc.bytes).expect("decodes").image;
    let mean_abs: f64 = img
        .as_raw()
        .iter()
        .zip(back.as_raw())
        .map(|(a, b)| f64::from(a.abs_diff(*b)))
        .sum::<f64>()
        / img.as_raw().len() as f64;
    assert!(
        mean_abs < 4.0,
        "decoded image differs by {mean_abs:.1} levels on average"
    );
    let ssim = kiosk_media::metrics::ssim_luma(&img, &back).expect("same size");
    assert!(ssim > 0.9, "{ssim}");
}

#[test]
fn the_358x441_preset_holds_too() {
    let img = decode(&fixture_bytes("photo_good.jpg"))
        .expect("decodes")
        .image;
    let img = imageops::resize(&img, 358, 441, FilterType::Triangle);
    let enc = compress(&img, &Limits::photo_358x441()).expect("fits");
    assert!(in_photo_range(enc.bytes.len()), "{}", enc.bytes.len());
    assert_eq!((enc.width, enc.height), (358, 441));
    assert_clean_jpeg(&enc.bytes, 350);
}

#[test]
fn pages_fit_200k_with_their_colour() {
    for (seed, noise) in [(1u32, 0.0f32), (2, 4.0)] {
        let page = synthetic_page(1240, 1754, seed, noise);
        let enc = compress(&page, &Limits::material()).expect("A4 page fits");
        assert!(
            enc.bytes.len() <= 200_000,
            "seed {seed}: {}",
            enc.bytes.len()
        );
        assert!(
            enc.bytes.len() > 50_000,
            "seed {seed}: suspiciously small {}",
            enc.bytes.len()
        );
        assert_clean_jpeg(&enc.bytes, enc.density_dpi);
        assert!(enc.quality >= 50, "seed {seed}: quality {}", enc.quality);
        if (enc.width, enc.height) == (1240, 1754) {
            assert_eq!(enc.density_dpi, 150);
        }
    }
}

#[test]
fn too_much_detail_for_the_budget_means_downscaling() {
    // Independent black/white noise per channel: the costliest content, about 0.09 bytes per
    // pixel even at quality 1. 600x600 is first pre-scaled to the pixel budget (12 pixels per
    // byte), where quality 1 is still too large, so it is downscaled further.
    let mut rng = Rng::new(9);
    let img = RgbImage::from_fn(600, 600, |_, _| {
        let r = rng.next_u32();
        Rgb([
            (r & 1) as u8 * 255,
            (r >> 1 & 1) as u8 * 255,
            (r >> 2 & 1) as u8 * 255,
        ])
    });
    let limits = Limits {
        max_bytes: 12_000,
        min_quality: 1,
        ..Limits::material()
    };
    let q1 = kiosk_media::encode_jpeg(&img, 1, 150, kiosk_media::Chroma::Sub420).expect("encodes");
    assert!(
        q1.len() > 12_000,
        "precondition: quality 1 is {} bytes",
        q1.len()
    );
    let enc = compress(&img, &limits).expect("fits after downscaling");
    assert!(enc.bytes.len() <= 12_000);
    assert!(
        enc.width < 380,
        "below the pre-scaled 380x380: {}",
        enc.width
    );
    assert_eq!(enc.width, enc.height, "aspect ratio kept");
    assert_clean_jpeg(&enc.bytes, enc.density_dpi);
    assert!(
        enc.density_dpi < 100,
        "density scaled with the image: {}",
        enc.density_dpi
    );
}

#[test]
fn huge_images_are_prescaled_to_the_byte_budget() {
    let mut img = RgbImage::from_pixel(2000, 1500, Rgb([128, 128, 128]));
    add_noise(&mut img, 10.0, 10);
    let limits = Limits {
        max_bytes: 100_000,
        ..Limits::material()
    };
    let enc = compress(&img, &limits).expect("fits");
    assert!(enc.bytes.len() <= 100_000);
    assert!(u64::from(enc.width) * u64::from(enc.height) <= 12 * 100_000 * 101 / 100);
    assert!((f64::from(enc.width) / f64::from(enc.height) - 4.0 / 3.0).abs() < 0.01);
}

#[test]
fn a_flat_photo_cannot_reach_the_floor_and_is_not_padded() {
    let flat = RgbImage::from_pixel(295, 413, Rgb([250, 250, 250]));
    let err = compress(&flat, &Limits::photo()).unwrap_err();
    match &err {
        MediaError::BelowMinimumSize {
            best_bytes,
            min_bytes,
        } => {
            assert_eq!(*min_bytes, 10_240);
            assert!(*best_bytes <= 10_240);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.zh().contains("KB"));
}

#[test]
fn no_fit_at_the_minimum_size_is_reported() {
    let mut img = RgbImage::from_pixel(295, 413, Rgb([128, 128, 128]));
    add_noise(&mut img, 70.0, 5);
    let limits = Limits {
        max_bytes: 4_000,
        min_bytes: None,
        ..Limits::photo()
    };
    let err = compress(&img, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            MediaError::CannotFit {
                max_bytes: 4_000,
                width: 295,
                height: 413,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn impossible_limits_are_invalid_options() {
    let img = RgbImage::from_pixel(300, 420, Rgb([1, 2, 3]));
    let bad = Limits {
        min_bytes: Some(30_000),
        ..Limits::photo()
    };
    assert!(matches!(
        compress(&img, &bad).unwrap_err(),
        MediaError::InvalidOptions(_)
    ));
    let small = RgbImage::from_pixel(200, 300, Rgb([1, 2, 3]));
    assert!(matches!(
        compress(&small, &Limits::photo()).unwrap_err(),
        MediaError::TooSmall { .. }
    ));
}

#[test]
fn compress_to_range_and_compress_file_entry_points() {
    let img = decode(&fixture_bytes("photo_good.jpg"))
        .expect("decodes")
        .image;
    let small = imageops::resize(&img, 295, 413, FilterType::Triangle);
    let enc = compress_to_range(&small, Some(10_240), 20_000, 300).expect("fits");
    assert!(in_photo_range(enc.bytes.len()));
    assert!((1..=100).contains(&enc.quality));

    let (bytes, report) =
        compress_file(&fixture_bytes("photo_good.jpg"), 20_000, Some(10_240)).expect("fits");
    assert_eq!(report.bytes, bytes.len());
    assert!(in_photo_range(bytes.len()));
    // 640x720 has more pixels than 12 per byte of a 20 kB budget: downscaled first, aspect
    // kept, never below the photo minimum 295x413.
    assert!(report.width < 640 && report.height < 720);
    assert!(report.width >= 295 && report.height >= 413);
    assert!((f64::from(report.width) / f64::from(report.height) - 640.0 / 720.0).abs() < 0.01);

    // A rotated upload comes out upright and without EXIF.
    let (bytes, report) =
        compress_file(&fixture_bytes("exif_orientation6.jpg"), 200_000, None).expect("fits");
    assert_eq!((report.width, report.height), (32, 64));
    assert!(!jpeg_segments(&bytes).iter().any(|s| s.0 == 0xE1));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]
    /// Any content and size: the result is inside the range or a typed error, never outside.
    #[test]
    fn limits_hold_for_random_content(
        w in 295u32..420,
        h in 413u32..560,
        sigma in 0.0f32..50.0,
        base in 0u8..=255,
        seed in 1u32..10_000,
    ) {
        let mut rng = Rng::new(seed);
        let mut img = RgbImage::from_fn(w, h, |x, y| {
            let v = base.wrapping_add(((x / 7 + y / 5) % 40) as u8);
            Rgb([v, v.wrapping_add(20), (rng.below(256)) as u8 / 4 + v / 2])
        });
        add_noise(&mut img, sigma, seed);
        match compress(&img, &Limits::photo()) {
            Ok(enc) => {
                prop_assert!(in_photo_range(enc.bytes.len()), "{} bytes", enc.bytes.len());
                prop_assert!(enc.width >= 295 && enc.height >= 413);
                prop_assert_eq!(&enc.bytes[enc.bytes.len() - 2..], &[0xFF, 0xD9]);
            }
            Err(MediaError::BelowMinimumSize { best_bytes, .. }) => prop_assert!(best_bytes <= 10_240),
            Err(MediaError::CannotFit { smallest_bytes, .. }) => prop_assert!(smallest_bytes > 20_000),
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }
}
