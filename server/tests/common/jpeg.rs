//! Real JPEG files of an exact length for tests that upload materials: the server decodes every
//! upload, so a test file must be a valid image. A small uniform picture is encoded once, then
//! grown to the wanted length with comment segments whose bytes come from `seed`, so files of
//! one length but different seeds have different hashes.

use std::sync::OnceLock;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageEncoder, RgbImage};

/// The most filler one comment segment can carry (its length field counts itself).
const MAX_COMMENT: usize = u16::MAX as usize - 2;

/// A valid JPEG of exactly `length` bytes: for the photo a 295x413 picture (the smallest the
/// rules accept), for other materials a small page.
pub fn jpeg_of_length(photo: bool, length: usize, seed: u8) -> Vec<u8> {
    static PHOTO: OnceLock<Vec<u8>> = OnceLock::new();
    static PAGE: OnceLock<Vec<u8>> = OnceLock::new();
    let base = if photo {
        PHOTO.get_or_init(|| encode(295, 413))
    } else {
        PAGE.get_or_init(|| encode(64, 90))
    };
    let mut filler = length.checked_sub(base.len()).unwrap_or_else(|| {
        panic!("a test JPEG cannot be shorter than {} bytes", base.len())
    });
    let mut out = Vec::with_capacity(length);
    out.extend_from_slice(&base[..2]);
    let mut counter = 0usize;
    while filler > 0 {
        // A segment costs 4 bytes of header, so a remainder under 4 cannot be its own segment:
        // this one leaves 4 more for the next.
        assert!(filler >= 4, "a test JPEG cannot grow by {filler} bytes");
        let mut take = (filler - 4).min(MAX_COMMENT);
        let rest = filler - 4 - take;
        if (1..4).contains(&rest) {
            take -= 4;
        }
        out.extend_from_slice(&[0xff, 0xfe]);
        out.extend_from_slice(&((take + 2) as u16).to_be_bytes());
        out.extend((0..take).map(|_| {
            counter += 1;
            // Printable, never 0xFF, different per seed.
            b'a' + ((counter as u8).wrapping_mul(7) ^ seed) % 26
        }));
        filler -= take + 4;
    }
    out.extend_from_slice(&base[2..]);
    assert_eq!(out.len(), length);
    out
}

fn encode(width: u32, height: u32) -> Vec<u8> {
    let picture = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([240, 240 - (x % 8) as u8, 240 - (y % 8) as u8])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 40)
        .write_image(
            picture.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode a test JPEG");
    out
}
