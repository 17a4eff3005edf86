//! Decoding untrusted input: each bad input gets its specific error, good ones decode right.

use crate::common;

use common::{encode_png, fixture_bytes, jpeg_with_header, png_chunk, png_chunks, png_with_header};
use image::{Rgb, RgbImage};
use kiosk_media::decode::{DecodeLimits, SourceFormat, decode, decode_with_limits, probe};
use kiosk_media::{MediaError, compress_file};

fn sample_rgb(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 128])
    })
}

fn sample_jpeg(w: u32, h: u32) -> Vec<u8> {
    kiosk_media::encode_jpeg(&sample_rgb(w, h), 90, 0, kiosk_media::Chroma::Sub420).expect("encode")
}

fn close(a: [u8; 3], b: [u8; 3], tol: u8) -> bool {
    (0..3).all(|c| a[c].abs_diff(b[c]) <= tol)
}

#[test]
fn good_png_and_jpeg_decode() {
    let png = encode_png(&sample_rgb(40, 30));
    let d = decode(&png).expect("png");
    assert_eq!(
        (d.format, d.image.dimensions()),
        (SourceFormat::Png, (40, 30))
    );
    assert_eq!(
        d.image.get_pixel(20, 15).0,
        sample_rgb(40, 30).get_pixel(20, 15).0
    );
    let d = decode(&sample_jpeg(40, 30)).expect("jpeg");
    assert_eq!(
        (d.format, d.image.dimensions(), d.exif_orientation),
        (SourceFormat::Jpeg, (40, 30), 1)
    );
}

#[test]
fn empty_input_is_refused() {
    assert_eq!(decode(&[]).unwrap_err(), MediaError::Empty);
    assert_eq!(
        compress_file(&[], 200_000, None).unwrap_err().code(),
        "empty"
    );
}

#[test]
fn other_formats_are_named() {
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    assert_eq!(
        decode(&gif).unwrap_err(),
        MediaError::UnsupportedFormat { found: "GIF" }
    );
    let pdf = b"%PDF-1.7\n".to_vec();
    assert_eq!(
        decode(&pdf).unwrap_err(),
        MediaError::UnsupportedFormat { found: "PDF" }
    );
    let junk = vec![0x42u8; 100];
    assert!(matches!(
        decode(&junk).unwrap_err(),
        MediaError::UnsupportedFormat { .. }
    ));
}

#[test]
fn huge_headers_are_refused_before_allocation() {
    for bytes in [
        png_with_header(60_000, 60_000),
        jpeg_with_header(60_000, 60_000),
    ] {
        let info = probe(&bytes).expect("header readable");
        assert_eq!((info.width, info.height), (60_000, 60_000));
        let start = std::time::Instant::now();
        let err = decode(&bytes).unwrap_err();
        assert!(
            matches!(
                err,
                MediaError::DimensionsTooLarge {
                    width: 60_000,
                    height: 60_000,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            start.elapsed().as_millis() < 500,
            "refusal must not decode anything"
        );
        assert!(err.zh().contains("60000×60000"));
    }
    // Within the per-side limit but too many pixels in total.
    let err = decode(&png_with_header(9_000, 9_000)).unwrap_err();
    assert!(
        matches!(err, MediaError::DimensionsTooLarge { .. }),
        "{err:?}"
    );
}

#[test]
fn input_byte_limit_is_enforced() {
    let limits = DecodeLimits {
        max_input_bytes: 100,
        ..DecodeLimits::default()
    };
    let err = decode_with_limits(&sample_jpeg(64, 64), &limits).unwrap_err();
    assert!(
        matches!(err, MediaError::InputTooLarge { limit: 100, .. }),
        "{err:?}"
    );
}

#[test]
fn truncated_files_are_reported_as_truncated() {
    let png = encode_png(&sample_rgb(64, 64));
    let jpeg = sample_jpeg(64, 64);
    for (name, full) in [("png", &png), ("jpeg", &jpeg)] {
        for cut in [full.len() / 2, full.len() - 20, 30, 5] {
            let err = decode(&full[..cut]).unwrap_err();
            assert_eq!(err, MediaError::Truncated, "{name} cut at {cut}");
        }
    }
}

#[test]
fn corrupt_files_are_reported_as_corrupt() {
    // PNG: damage the compressed image data (the chunk CRC no longer matches).
    let png = encode_png(&sample_rgb(64, 64));
    let idat = png.windows(4).position(|w| w == b"IDAT").expect("IDAT");
    let mut bad = png.clone();
    for b in &mut bad[idat + 8..idat + 40] {
        *b ^= 0x5A;
    }
    assert!(matches!(
        decode(&bad).unwrap_err(),
        MediaError::Corrupt { .. }
    ));
    // PNG whose first chunk is not IHDR.
    let mut bad = png.clone();
    bad[12..16].copy_from_slice(b"XXXX");
    assert!(matches!(
        decode(&bad).unwrap_err(),
        MediaError::Corrupt { .. }
    ));
    // JPEG: a marker where a marker must be is replaced by garbage.
    let jpeg = sample_jpeg(64, 64);
    let mut bad = jpeg.clone();
    let after_app0 = 4 + usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]]));
    assert_eq!(bad[after_app0], 0xFF);
    bad[after_app0] = 0x00;
    assert!(matches!(
        decode(&bad).unwrap_err(),
        MediaError::Corrupt { .. }
    ));
    // JPEG: the Huffman tables are destroyed.
    let dht = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC4])
        .expect("DHT");
    let mut bad = jpeg.clone();
    for b in &mut bad[dht + 5..dht + 21] {
        *b = 0xFF;
    }
    let err = decode(&bad).unwrap_err();
    assert!(matches!(err, MediaError::Corrupt { .. }), "{err:?}");
    // Zero width in the header.
    let err = decode(&png_with_header(0, 10)).unwrap_err();
    assert!(matches!(err, MediaError::Corrupt { .. }), "{err:?}");
}

#[test]
fn exif_orientation_is_applied() {
    let d = decode(&fixture_bytes("exif_orientation6.jpg")).expect("decodes");
    assert_eq!(d.exif_orientation, 6);
    // Stored 64x32 (red left half, blue right half, green stored top-left); upright 32x64.
    assert_eq!(d.image.dimensions(), (32, 64));
    let px = |x, y| d.image.get_pixel(x, y).0;
    assert!(
        close(px(28, 3), [20, 200, 40], 40),
        "green at top-right: {:?}",
        px(28, 3)
    );
    assert!(
        close(px(3, 24), [220, 30, 30], 40),
        "red top half: {:?}",
        px(3, 24)
    );
    assert!(
        close(px(16, 56), [30, 40, 220], 40),
        "blue bottom half: {:?}",
        px(16, 56)
    );
}

#[test]
fn cmyk_and_ycck_jpegs_decode_with_correct_colours() {
    for name in ["cmyk.jpg", "ycck.jpg"] {
        let info = probe(&fixture_bytes(name)).expect("header");
        assert_eq!(info.jpeg_components, 4);
        let d = decode(&fixture_bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let px = |x, y| d.image.get_pixel(x, y).0;
        assert!(
            close(px(10, 10), [255, 0, 0], 40),
            "{name} red: {:?}",
            px(10, 10)
        );
        assert!(
            close(px(50, 10), [255, 255, 255], 20),
            "{name} white: {:?}",
            px(50, 10)
        );
        assert!(
            close(px(10, 50), [0, 0, 0], 30),
            "{name} black: {:?}",
            px(10, 50)
        );
        assert!(
            close(px(50, 50), [0, 255, 255], 40),
            "{name} cyan: {:?}",
            px(50, 50)
        );
    }
}

#[test]
fn sixteen_bit_png_is_scaled_to_eight_bits() {
    let bytes = fixture_bytes("rgb16.png");
    assert_eq!(probe(&bytes).expect("header").bit_depth, 16);
    let d = decode(&bytes).expect("16-bit PNG");
    assert_eq!(d.image.dimensions(), (64, 48));
    assert_eq!(d.image.get_pixel(0, 0).0, [0, 0, 128]);
    assert_eq!(d.image.get_pixel(63, 47).0, [255, 255, 128]);
    let mid = d.image.get_pixel(32, 0).0[0];
    assert!((128..=132).contains(&mid), "{mid}");
}

#[test]
fn animated_png_is_refused_with_its_own_error() {
    let err = decode(&fixture_bytes("animated.png")).unwrap_err();
    assert_eq!(err, MediaError::AnimatedPng);
    assert!(err.zh().contains("动态"));
}

#[test]
fn alpha_is_composited_over_white() {
    let img = image::RgbaImage::from_fn(8, 8, |x, _| {
        image::Rgba([0, 0, 0, if x < 4 { 0 } else { 255 }])
    });
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        img.as_raw(),
        8,
        8,
        image::ExtendedColorType::Rgba8,
    )
    .expect("encode");
    let d = decode(&png).expect("rgba png");
    assert_eq!(d.image.get_pixel(1, 1).0, [255, 255, 255]);
    assert_eq!(d.image.get_pixel(6, 1).0, [0, 0, 0]);
}

#[test]
fn trailing_bytes_after_the_end_are_tolerated() {
    let mut png = encode_png(&sample_rgb(16, 16));
    png.extend_from_slice(&[0u8; 64]);
    assert!(decode(&png).is_ok());
    let chunks = png_chunks(&png);
    assert_eq!(chunks.first().map(|c| &c.0), Some(b"IHDR"));
    let _ = png_chunk(b"tEXt", b"k\0v");
}

mod mutations {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]
        /// Flipped bytes and cuts anywhere: a typed error or an image, never a panic.
        #[test]
        fn damaged_files_never_panic(
            png in any::<bool>(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
            cut in proptest::option::of(any::<prop::sample::Index>()),
        ) {
            let mut bytes = if png { encode_png(&sample_rgb(48, 40)) } else { sample_jpeg(48, 40) };
            for (at, v) in flips {
                let i = at.index(bytes.len());
                bytes[i] ^= v;
            }
            if let Some(c) = cut {
                bytes.truncate(c.index(bytes.len()));
            }
            match decode(&bytes) {
                Ok(d) => prop_assert!(d.image.width() > 0 && d.image.width() <= 10_000),
                Err(e) => prop_assert!(!e.zh().is_empty()),
            }
        }
    }
}
