//! Helpers shared by the integration tests, the fixture generator (`examples/make_fixtures.rs`)
//! and the bench (`benches/media.rs`). Everything here is synthetic and deterministic.
#![allow(dead_code)]

use std::path::PathBuf;

use image::{Rgb, RgbImage};
use kiosk_media::geometry::{Homography, Point};

/// Path of a committed fixture.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// Bytes of a committed fixture (panics with the path when missing: a test setup error).
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let p = fixture(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// xorshift32: small deterministic generator.
pub struct Rng(u32);

impl Rng {
    pub fn new(seed: u32) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u32(&mut self) -> u32 {
        let mut s = self.0;
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        self.0 = s;
        s
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u32) -> u32 {
        self.next_u32() % n.max(1)
    }

    /// Roughly normal (sum of four uniforms), mean 0, standard deviation ~`sigma`.
    pub fn noise(&mut self, sigma: f32) -> f32 {
        let s: f32 = (0..4)
            .map(|_| (self.next_u32() & 0xFFFF) as f32 / 65535.0)
            .sum();
        (s - 2.0) * sigma * 1.732
    }
}

fn blend(p: &mut Rgb<u8>, ink: [u8; 3], multiply: bool) {
    for (v, &i) in p.0.iter_mut().zip(&ink) {
        *v = if multiply {
            ((u16::from(*v) * u16::from(i)) / 255) as u8
        } else {
            i
        };
    }
}

fn stroke(
    img: &mut RgbImage,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    thick: i32,
    ink: [u8; 3],
    multiply: bool,
) {
    let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
    let (w, h) = (img.width() as i32, img.height() as i32);
    for s in 0..=steps {
        let x = x0 + (x1 - x0) * s / steps;
        let y = y0 + (y1 - y0) * s / steps;
        for dy in 0..thick {
            for dx in 0..thick {
                let (px, py) = (x + dx, y + dy);
                if px >= 0 && py >= 0 && px < w && py < h {
                    blend(img.get_pixel_mut(px as u32, py as u32), ink, multiply);
                }
            }
        }
    }
}

/// A pseudo Chinese character: a few horizontal, vertical and diagonal strokes in a box.
fn glyph(
    img: &mut RgbImage,
    x: i32,
    y: i32,
    size: i32,
    rng: &mut Rng,
    ink: [u8; 3],
    multiply: bool,
) {
    let n = 3 + rng.below(5) as i32;
    let thick = (size / 10).max(1);
    for _ in 0..n {
        let kind = rng.below(4);
        let a = rng.below(size as u32) as i32;
        let b = rng.below(size as u32) as i32;
        let c = rng.below(size as u32) as i32;
        match kind {
            0 => stroke(
                img,
                (x + a.min(b), y + c),
                (x + a.max(b), y + c),
                thick,
                ink,
                multiply,
            ),
            1 => stroke(
                img,
                (x + c, y + a.min(b)),
                (x + c, y + a.max(b)),
                thick,
                ink,
                multiply,
            ),
            2 => stroke(img, (x + a, y), (x + b, y + size - 1), thick, ink, multiply),
            _ => stroke(img, (x, y + a), (x + size - 1, y + b), thick, ink, multiply),
        }
    }
}

/// A synthetic certificate page: title, text lines of pseudo-characters, a table, a signature
/// and a red seal over the text. `noise` adds camera-like grain (standard deviation in levels).
pub fn synthetic_page(width: u32, height: u32, seed: u32, noise: f32) -> RgbImage {
    let mut rng = Rng::new(seed);
    let mut img = RgbImage::from_pixel(width, height, Rgb([246, 245, 240]));
    let s = width as f32 / 1240.0; // scale relative to 150 dpi A4
    let margin = (110.0 * s) as i32;
    let ink = [25, 25, 30];
    // Title.
    let title = (44.0 * s) as i32;
    let mut x = width as i32 / 2 - 4 * title;
    for _ in 0..6 {
        glyph(&mut img, x, margin, title, &mut rng, ink, false);
        x += title + title / 3;
    }
    // Text lines.
    let size = (20.0 * s).max(6.0) as i32;
    let line = size * 8 / 5;
    let mut y = margin + 2 * title;
    let text_end = (height as f32 * 0.55) as i32;
    while y < text_end {
        let mut x = margin + if rng.below(5) == 0 { 2 * size } else { 0 };
        let end = width as i32 - margin - rng.below(6) as i32 * size;
        while x + size < end {
            glyph(&mut img, x, y, size, &mut rng, ink, false);
            x += size + size / 5;
        }
        y += line;
    }
    // Table.
    let top = y + line;
    let rows = 6;
    let cols = 4;
    let row_h = line * 3 / 2;
    let tw = width as i32 - 2 * margin;
    for r in 0..=rows {
        stroke(
            &mut img,
            (margin, top + r * row_h),
            (margin + tw, top + r * row_h),
            2,
            ink,
            false,
        );
    }
    for c in 0..=cols {
        let cx = margin + c * tw / cols;
        stroke(&mut img, (cx, top), (cx, top + rows * row_h), 2, ink, false);
    }
    for r in 0..rows {
        for c in 0..cols {
            let mut gx = margin + c * tw / cols + size / 2;
            for _ in 0..4 {
                glyph(
                    &mut img,
                    gx,
                    top + r * row_h + (row_h - size) / 2,
                    size,
                    &mut rng,
                    ink,
                    false,
                );
                gx += size + size / 5;
            }
        }
    }
    // Signature line and date.
    let sy = top + rows * row_h + 3 * line;
    let mut gx = width as i32 - margin - 12 * size;
    for _ in 0..8 {
        glyph(&mut img, gx, sy, size, &mut rng, ink, false);
        gx += size + size / 5;
    }
    // Red seal (multiplied over the ink like real stamp ink).
    let (cx, cy) = (
        width as i32 - margin - (150.0 * s) as i32,
        sy - (40.0 * s) as i32,
    );
    draw_seal(&mut img, cx, cy, (105.0 * s) as i32, &mut rng);
    if noise > 0.0 {
        add_noise(&mut img, noise, seed ^ 0x5eed);
    }
    img
}

/// The red seal colour used by [`synthetic_page`].
pub const SEAL_RED: [u8; 3] = [215, 35, 45];

/// Draws a round red seal with a star and characters around it; returns nothing.
pub fn draw_seal(img: &mut RgbImage, cx: i32, cy: i32, r: i32, rng: &mut Rng) {
    let thick = (r / 12).max(2);
    let (w, h) = (img.width() as i32, img.height() as i32);
    for y in (cy - r - thick).max(0)..(cy + r + thick).min(h) {
        for x in (cx - r - thick).max(0)..(cx + r + thick).min(w) {
            let d = (((x - cx) * (x - cx) + (y - cy) * (y - cy)) as f32).sqrt();
            if (d - r as f32).abs() <= thick as f32 / 2.0 {
                blend(img.get_pixel_mut(x as u32, y as u32), SEAL_RED, true);
            }
        }
    }
    // Star: filled pentagram approximated by five thick strokes.
    let sr = r / 3;
    let pts: Vec<(i32, i32)> = (0..5)
        .map(|k| {
            let a = -std::f32::consts::FRAC_PI_2 + k as f32 * 4.0 * std::f32::consts::PI / 5.0;
            (
                cx + (sr as f32 * a.cos()) as i32,
                cy + (sr as f32 * a.sin()) as i32,
            )
        })
        .collect();
    for k in 0..5 {
        let (a, b) = (pts[k], pts[(k + 1) % 5]);
        stroke(img, (a.0, a.1), (b.0, b.1), thick, SEAL_RED, true);
    }
    // Characters around the ring.
    let gs = r / 4;
    for k in 0..9 {
        let a = std::f32::consts::PI * (0.85 + k as f32 * 0.16);
        let gx = cx + ((r as f32 * 0.68) * a.cos()) as i32 - gs / 2;
        let gy = cy + ((r as f32 * 0.68) * a.sin()) as i32 - gs / 2;
        glyph(img, gx, gy, gs, rng, SEAL_RED, true);
    }
}

/// Adds grain in place.
pub fn add_noise(img: &mut RgbImage, sigma: f32, seed: u32) {
    let mut rng = Rng::new(seed);
    for p in img.pixels_mut() {
        let n = rng.noise(sigma);
        for c in 0..3 {
            p.0[c] = (f32::from(p.0[c]) + n).round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// Renders `page` into a `fw x fh` frame of a dark tray with the page's corners at `corners`
/// (TL, TR, BR, BL, continuous coordinates), then softens it like a camera would.
pub fn render_skewed(
    page: &RgbImage,
    corners: &[Point; 4],
    fw: u32,
    fh: u32,
    seed: u32,
) -> RgbImage {
    let (pw, ph) = (f64::from(page.width()), f64::from(page.height()));
    let rect = [
        Point::new(0.0, 0.0),
        Point::new(pw, 0.0),
        Point::new(pw, ph),
        Point::new(0.0, ph),
    ];
    let to_page = Homography::from_points(corners, &rect).expect("valid corners");
    let mut rng = Rng::new(seed);
    let mut frame = RgbImage::new(fw, fh);
    for (x, y, p) in frame.enumerate_pixels_mut() {
        let q = to_page.map(Point::new(f64::from(x) + 0.5, f64::from(y) + 0.5));
        *p = match q {
            Some(q) if q.x >= 0.0 && q.y >= 0.0 && q.x < pw && q.y < ph => {
                *page.get_pixel(q.x as u32, q.y as u32)
            }
            _ => {
                let v = (48.0 + rng.noise(4.0)).clamp(0.0, 255.0) as u8;
                Rgb([v, v, v.saturating_add(4)])
            }
        };
    }
    image::DynamicImage::ImageRgb8(frame).blur(0.8).into_rgb8()
}

/// Standard CRC-32 (PNG chunks).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// One PNG chunk: length, type, data, CRC.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 12);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc_in = kind.to_vec();
    crc_in.extend_from_slice(data);
    out.extend_from_slice(&crc32(&crc_in).to_be_bytes());
    out
}

/// Splits a PNG into its chunks (type, data).
pub fn png_chunks(png: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 8;
    while pos + 12 <= png.len() {
        let len = u32::from_be_bytes([png[pos], png[pos + 1], png[pos + 2], png[pos + 3]]) as usize;
        let kind = [png[pos + 4], png[pos + 5], png[pos + 6], png[pos + 7]];
        let data = png[pos + 8..pos + 8 + len].to_vec();
        out.push((kind, data));
        pos += 12 + len;
    }
    out
}

/// Encodes an RGB image as PNG.
pub fn encode_png(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("PNG encoding of an in-memory image");
    out
}

use image::ImageEncoder;

/// A PNG whose IHDR claims `w x h` (valid CRC) followed by a tiny IDAT and IEND.
pub fn png_with_header(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(png_chunk(b"IHDR", &ihdr));
    out.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    out.extend(png_chunk(b"IEND", &[]));
    out
}

/// A JPEG whose SOF0 claims `w x h` and then ends (`SOI`, `SOF0`, `EOI`).
pub fn jpeg_with_header(w: u16, h: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08];
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&w.to_be_bytes());
    out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// Parses the JPEG segment list up to SOS: (marker, payload) pairs.
pub fn jpeg_segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 2;
    while pos + 4 <= jpeg.len() && jpeg[pos] == 0xFF {
        let marker = jpeg[pos + 1];
        let len = u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]) as usize;
        out.push((marker, jpeg[pos + 4..pos + 2 + len].to_vec()));
        if marker == 0xDA {
            break;
        }
        pos += 2 + len;
    }
    out
}
