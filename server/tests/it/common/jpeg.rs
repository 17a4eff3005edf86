//! Real JPEG files of an exact length for tests that upload materials: the server decodes every
//! upload, so a test file must be a valid image. A small uniform picture is encoded once, then
//! grown to the wanted length with comment segments whose bytes come from `seed`, so files of
//! one length but different seeds have different hashes.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

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
        PHOTO.get_or_init(|| encode(&plain(295, 413), 40))
    } else {
        PAGE.get_or_init(|| encode(&plain(64, 90), 40))
    };
    padded(base, length, seed)
}

/// A JPEG of exactly `length` bytes that costs what a real scan costs to decode: an A4 page at
/// 150 dpi (1240x1754) whose own entropy-coded data fills all but a few hundred bytes of it.
pub fn scan_of_length(length: usize, seed: u8) -> Vec<u8> {
    static SCANS: OnceLock<Mutex<HashMap<usize, Vec<u8>>>> = OnceLock::new();
    let mut scans = SCANS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let base = scans
        .entry(length)
        .or_insert_with(|| largest_scan_within(length - 8));
    padded(base, length, seed)
}

/// A noisy page encoded at the best quality that fits in `budget` bytes, with as much noise as
/// still allows a quality of at least 40 (a scan's usual range).
fn largest_scan_within(budget: usize) -> Vec<u8> {
    for noise_bits in (1..=6).rev() {
        let page = noisy(1240, 1754, noise_bits);
        let (mut low, mut high, mut best) = (40u8, 95u8, None);
        while low <= high {
            let quality = low + (high - low) / 2;
            let file = encode(&page, quality);
            if file.len() <= budget {
                best = Some(file);
                low = quality + 1;
            } else {
                high = quality - 1;
            }
        }
        if let Some(file) = best {
            return file;
        }
    }
    panic!("no scan fits in {budget} bytes")
}

/// `base` grown to exactly `length` bytes by comment segments right after SOI.
fn padded(base: &[u8], length: usize, seed: u8) -> Vec<u8> {
    let mut filler = length
        .checked_sub(base.len())
        .unwrap_or_else(|| panic!("a test JPEG cannot be shorter than {} bytes", base.len()));
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

fn plain(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([240, 240 - (x % 8) as u8, 240 - (y % 8) as u8])
    })
}

/// Paper-white with `noise_bits` of grey noise (xorshift), so the encoder has detail to spend
/// bytes on.
fn noisy(width: u32, height: u32, noise_bits: u32) -> RgbImage {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let grey = 250 - (state >> (64 - noise_bits)) as u8;
        image::Rgb([grey, grey, grey])
    })
}

fn encode(picture: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .write_image(
            picture.as_raw(),
            picture.width(),
            picture.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode a test JPEG");
    out
}
