//! Regenerates the committed test fixtures in `tests/fixtures/`.
//!
//! ```text
//! cargo run -p kiosk-media --example make_fixtures -- /path/to/astronaut.png media/tests/fixtures
//! ```
//! `astronaut.png` is the public-domain NASA portrait of Eileen Collins shipped by scikit-image
//! (`skimage/data/astronaut.png` inside the PyPI wheel); see `tests/fixtures/SOURCES.md`.
//! Tests never run this: they read the committed outputs.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::error::Error;
use std::path::{Path, PathBuf};

use image::imageops::{self, FilterType};
use image::{GrayImage, Luma, Rgb, RgbImage};
use jpeg_encoder::{ColorType, Encoder};

use common::{Rng, png_chunk, png_chunks};

/// The person window in the 512x512 portrait (x, y, w, h): head and shoulders, between the flag
/// and the shuttle model.
const WINDOW: (u32, u32, u32, u32) = (95, 0, 260, 364);

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        return Err("usage: make_fixtures ASTRONAUT_PNG OUT_DIR".into());
    }
    let src = image::open(&args[1])?.to_rgb8();
    let out = PathBuf::from(&args[2]);
    std::fs::create_dir_all(&out)?;

    let (person, alpha) = cut_out(&src);
    let white = |_: u32, _: u32| Rgb([252, 252, 251]);

    // Good: a 640x720 frame, person scaled 1.5x, centred at the bottom, white backdrop.
    let good = compose(640, 720, &white, &[(&person, &alpha, 1.5, 125, 174)], 11);
    save_jpeg(&good, &out, "photo_good.jpg", 90)?;

    // Failure variants.
    let dark = map_pixels(&good, |v| v * 0.24);
    save_jpeg(&dark, &out, "photo_dark.jpg", 90)?;
    let bright = map_pixels(&good, |v| v * 1.3 + 40.0);
    save_jpeg(&bright, &out, "photo_bright.jpg", 90)?;
    let blurred = imageops::blur(&good, 4.0);
    save_jpeg(&blurred, &out, "photo_blurred.jpg", 90)?;
    let blue = compose(
        640,
        720,
        &|_, _| Rgb([62, 118, 196]),
        &[(&person, &alpha, 1.5, 125, 174)],
        12,
    );
    save_jpeg(&blue, &out, "photo_blue_background.jpg", 90)?;
    let grey = compose(
        640,
        720,
        &|_, y| {
            let v = 214.0 - 10.0 * y as f32 / 720.0;
            Rgb([v as u8, (v - 2.0) as u8, (v - 5.0) as u8])
        },
        &[(&person, &alpha, 1.5, 125, 174)],
        13,
    );
    save_jpeg(&grey, &out, "photo_grey_background.jpg", 90)?;
    let two = compose(
        1000,
        720,
        &white,
        &[
            (&person, &alpha, 1.2, 70, 283),
            (&person, &alpha, 1.2, 618, 283),
        ],
        14,
    );
    save_jpeg(&two, &out, "photo_two_faces.jpg", 90)?;
    let off = compose(900, 720, &white, &[(&person, &alpha, 1.5, -110, 174)], 15);
    save_jpeg(&off, &out, "photo_off_centre.jpg", 90)?;
    let far = compose(640, 720, &white, &[(&person, &alpha, 0.8, 216, 429)], 16);
    save_jpeg(&far, &out, "photo_too_far.jpg", 90)?;
    // No face: the shuttle model and the helmet from the right of the portrait.
    let no_face = imageops::resize(
        &imageops::crop_imm(&src, 352, 0, 160, 512).to_image(),
        300,
        960,
        FilterType::CatmullRom,
    );
    let no_face = imageops::crop_imm(&no_face, 0, 0, 300, 640).to_image();
    save_jpeg(&no_face, &out, "photo_no_face.jpg", 90)?;

    // Decoder fixtures.
    exif_orientation(&out)?;
    cmyk(&out)?;
    rgb16(&out)?;
    apng(&out)?;
    Ok(())
}

fn luma(p: &Rgb<u8>) -> f32 {
    0.299 * f32::from(p.0[0]) + 0.587 * f32::from(p.0[1]) + 0.114 * f32::from(p.0[2])
}

/// Separates the person from the mottled studio backdrop: a flood fill from the window's top
/// and sides through light, unsaturated pixels; the rest is the person. Returns the window and
/// its alpha (255 = person), feathered by one pixel.
fn cut_out(src: &RgbImage) -> (RgbImage, GrayImage) {
    let (wx, wy, ww, wh) = WINDOW;
    let win = imageops::crop_imm(src, wx, wy, ww, wh).to_image();
    let (w, h) = (ww as usize, wh as usize);
    let backdrop = |p: &Rgb<u8>| {
        let mx = p.0.iter().max().copied().unwrap_or(0);
        let mn = p.0.iter().min().copied().unwrap_or(0);
        mx - mn <= 32 && luma(p) >= 138.0
    };
    let mut bg = vec![false; w * h];
    let mut stack: Vec<usize> = (0..w).collect();
    for y in 0..h * 8 / 10 {
        stack.push(y * w);
        stack.push(y * w + w - 1);
    }
    while let Some(i) = stack.pop() {
        if bg[i] {
            continue;
        }
        let (x, y) = (i % w, i / w);
        if !backdrop(win.get_pixel(x as u32, y as u32)) {
            continue;
        }
        bg[i] = true;
        if x > 0 {
            stack.push(i - 1);
        }
        if x + 1 < w {
            stack.push(i + 1);
        }
        if y > 0 {
            stack.push(i - w);
        }
        if y + 1 < h {
            stack.push(i + w);
        }
    }
    // Close small gaps: a person pixel whose 5x5 neighbourhood is mostly backdrop is backdrop.
    let mut alpha = GrayImage::new(ww, wh);
    for y in 0..h {
        for x in 0..w {
            let mut n = 0;
            let mut b = 0;
            for dy in -2i32..=2 {
                for dx in -2i32..=2 {
                    let (xx, yy) = (x as i32 + dx, y as i32 + dy);
                    if xx >= 0 && yy >= 0 && (xx as usize) < w && (yy as usize) < h {
                        n += 1;
                        if bg[yy as usize * w + xx as usize] {
                            b += 1;
                        }
                    }
                }
            }
            let person = !bg[y * w + x] && b * 10 < n * 8;
            alpha.put_pixel(x as u32, y as u32, Luma([if person { 255 } else { 0 }]));
        }
    }
    (win, imageops::blur(&alpha, 0.7))
}

type Placement<'a> = (&'a RgbImage, &'a GrayImage, f32, i32, i32);

/// Places people (scaled window + alpha at x, y) on a backdrop, with light sensor noise.
fn compose(
    w: u32,
    h: u32,
    bg: &dyn Fn(u32, u32) -> Rgb<u8>,
    people: &[Placement<'_>],
    seed: u32,
) -> RgbImage {
    let mut img = RgbImage::from_fn(w, h, bg);
    for &(person, alpha, scale, px, py) in people {
        let sw = (person.width() as f32 * scale).round() as u32;
        let sh = (person.height() as f32 * scale).round() as u32;
        let p = imageops::resize(person, sw, sh, FilterType::CatmullRom);
        let a = imageops::resize(alpha, sw, sh, FilterType::Triangle);
        for y in 0..sh {
            for x in 0..sw {
                let (tx, ty) = (px + x as i32, py + y as i32);
                if tx < 0 || ty < 0 || tx >= w as i32 || ty >= h as i32 {
                    continue;
                }
                let al = f32::from(a.get_pixel(x, y).0[0]) / 255.0;
                let s = p.get_pixel(x, y);
                let d = img.get_pixel_mut(tx as u32, ty as u32);
                for c in 0..3 {
                    d.0[c] =
                        (f32::from(s.0[c]) * al + f32::from(d.0[c]) * (1.0 - al)).round() as u8;
                }
            }
        }
    }
    let mut rng = Rng::new(seed);
    for p in img.pixels_mut() {
        let n = rng.noise(1.0);
        for c in 0..3 {
            p.0[c] = (f32::from(p.0[c]) + n).round().clamp(0.0, 255.0) as u8;
        }
    }
    img
}

fn map_pixels(img: &RgbImage, f: impl Fn(f32) -> f32) -> RgbImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        for c in 0..3 {
            p.0[c] = f(f32::from(p.0[c])).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

fn save_jpeg(img: &RgbImage, dir: &Path, name: &str, quality: u8) -> Result<(), Box<dyn Error>> {
    let mut buf = Vec::new();
    let mut enc = Encoder::new(&mut buf, quality);
    enc.set_optimized_huffman_tables(true);
    enc.encode(
        img.as_raw(),
        img.width() as u16,
        img.height() as u16,
        ColorType::Rgb,
    )?;
    std::fs::write(dir.join(name), &buf)?;
    println!(
        "{name}: {}x{} {} bytes",
        img.width(),
        img.height(),
        buf.len()
    );
    Ok(())
}

/// 64x32 stored image, left half red, right half blue, a green square at the stored top-left,
/// with an EXIF APP1 segment (written by hand) saying orientation 6 (rotate 90° clockwise to
/// display). Displayed upright it is 32x64: red top half, blue bottom half, green at top-right.
fn exif_orientation(dir: &Path) -> Result<(), Box<dyn Error>> {
    let img = RgbImage::from_fn(64, 32, |x, y| {
        if x < 16 && y < 16 {
            Rgb([20, 200, 40])
        } else if x < 32 {
            Rgb([220, 30, 30])
        } else {
            Rgb([30, 40, 220])
        }
    });
    let mut jpeg = Vec::new();
    let mut enc = Encoder::new(&mut jpeg, 95);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_4_4);
    enc.encode(img.as_raw(), 64, 32, ColorType::Rgb)?;
    // TIFF, big endian: header, one IFD with one entry (0x0112 Orientation, SHORT, 1, value 6).
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(b"MM\0\x2a\0\0\0\x08");
    payload.extend_from_slice(&1u16.to_be_bytes());
    payload.extend_from_slice(&0x0112u16.to_be_bytes());
    payload.extend_from_slice(&3u16.to_be_bytes());
    payload.extend_from_slice(&1u32.to_be_bytes());
    payload.extend_from_slice(&[0, 6, 0, 0]);
    payload.extend_from_slice(&0u32.to_be_bytes());
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    app1.extend_from_slice(&payload);
    // Insert after SOI and the JFIF APP0 segment.
    let app0_len = usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]]));
    let at = 4 + app0_len;
    let mut out = jpeg[..at].to_vec();
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[at..]);
    std::fs::write(dir.join("exif_orientation6.jpg"), &out)?;
    println!("exif_orientation6.jpg: {} bytes", out.len());
    Ok(())
}

/// Adobe CMYK and YCCK JPEGs (inverted, as Photoshop writes them): red, white, black and cyan
/// quarters.
fn cmyk(dir: &Path) -> Result<(), Box<dyn Error>> {
    let (w, h) = (64u16, 64u16);
    let mut data = Vec::with_capacity(usize::from(w) * usize::from(h) * 4);
    for y in 0..h {
        for x in 0..w {
            let px: [u8; 4] = match (x < 32, y < 32) {
                (true, true) => [0, 255, 255, 0], // red
                (false, true) => [0, 0, 0, 0],    // white
                (true, false) => [0, 0, 0, 255],  // black
                (false, false) => [255, 0, 0, 0], // cyan
            };
            data.extend_from_slice(&px);
        }
    }
    for (name, ct) in [
        ("cmyk.jpg", ColorType::Cmyk),
        ("ycck.jpg", ColorType::CmykAsYcck),
    ] {
        let mut buf = Vec::new();
        Encoder::new(&mut buf, 95).encode(&data, w, h, ct)?;
        std::fs::write(dir.join(name), &buf)?;
        println!("{name}: {} bytes", buf.len());
    }
    Ok(())
}

/// 16-bit RGB PNG: a horizontal ramp in red, vertical in green, constant blue 0x8080.
fn rgb16(dir: &Path) -> Result<(), Box<dyn Error>> {
    use image::ImageEncoder;
    let (w, h) = (64u32, 48u32);
    let mut bytes = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let r = (x * 65535 / (w - 1)) as u16;
            let g = (y * 65535 / (h - 1)) as u16;
            let b = 0x8080u16;
            for v in [r, g, b] {
                bytes.extend_from_slice(&v.to_be_bytes());
            }
        }
    }
    // PngEncoder takes native-endian u16 samples as bytes.
    let native: Vec<u8> = bytes
        .chunks_exact(2)
        .flat_map(|c| u16::from_be_bytes([c[0], c[1]]).to_ne_bytes())
        .collect();
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out).write_image(
        &native,
        w,
        h,
        image::ExtendedColorType::Rgb16,
    )?;
    std::fs::write(dir.join("rgb16.png"), &out)?;
    println!("rgb16.png: {} bytes", out.len());
    Ok(())
}

/// Two-frame animated PNG assembled by hand (acTL, fcTL, IDAT, fcTL, fdAT).
fn apng(dir: &Path) -> Result<(), Box<dyn Error>> {
    let (w, h) = (48u32, 48u32);
    let f1 = RgbImage::from_pixel(w, h, Rgb([200, 40, 40]));
    let f2 = RgbImage::from_pixel(w, h, Rgb([40, 40, 200]));
    let c1 = png_chunks(&common::encode_png(&f1));
    let c2 = png_chunks(&common::encode_png(&f2));
    let fctl = |seq: u32| {
        let mut d = Vec::new();
        for v in [seq, w, h, 0, 0] {
            d.extend_from_slice(&v.to_be_bytes());
        }
        d.extend_from_slice(&1u16.to_be_bytes()); // delay numerator
        d.extend_from_slice(&2u16.to_be_bytes()); // delay denominator
        d.extend_from_slice(&[0, 0]); // dispose, blend
        png_chunk(b"fcTL", &d)
    };
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let ihdr = c1.iter().find(|(k, _)| k == b"IHDR").ok_or("no IHDR")?;
    out.extend(png_chunk(b"IHDR", &ihdr.1));
    let mut actl = 2u32.to_be_bytes().to_vec();
    actl.extend_from_slice(&0u32.to_be_bytes());
    out.extend(png_chunk(b"acTL", &actl));
    out.extend(fctl(0));
    for (k, d) in c1.iter().filter(|(k, _)| k == b"IDAT") {
        out.extend(png_chunk(k, d));
    }
    out.extend(fctl(1));
    for (seq, (_, d)) in (2u32..).zip(c2.iter().filter(|(k, _)| k == b"IDAT")) {
        let mut fd = seq.to_be_bytes().to_vec();
        fd.extend_from_slice(d);
        out.extend(png_chunk(b"fdAT", &fd));
    }
    out.extend(png_chunk(b"IEND", &[]));
    std::fs::write(dir.join("animated.png"), &out)?;
    println!("animated.png: {} bytes", out.len());
    Ok(())
}
