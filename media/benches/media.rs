//! Compression and preview benchmark (not a timed test). Run through `scripts/bench-media`:
//!
//! ```text
//! cargo bench -p kiosk-media --bench media
//! ```
//!
//! On the same inputs, in one run, it compares our compression (decode the PNG, search the
//! quality, encode) with ImageMagick's `convert in.png -define jpeg:extent=20kb out.jpg` (photo,
//! 295x413) and `jpeg:extent=200kb` (150 dpi A4): bytes, SSIM against the source (our own
//! luma SSIM, see `kiosk_media::metrics::ssim_luma`) and wall time (median of several runs;
//! ImageMagick's time includes starting the process, as a caller would pay it). Then it
//! measures the preview conversion of 1280x720 frames. Prints a Markdown table.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use image::RgbImage;
use kiosk_media::decode::decode;
use kiosk_media::metrics::ssim_luma;
use kiosk_media::photo::{PhotoOptions, analyze_photo};
use kiosk_media::preview::{mjpeg_to_rgba, rgb24_to_rgba, yuyv_to_rgba};
use kiosk_media::{Chroma, Limits, compress, encode_jpeg};

/// (median, best) of the measured durations.
fn stats(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Row {
    name: String,
    limit: usize,
    ours: (usize, u8, f64, (Duration, Duration)),
    im: Option<(usize, f64, (Duration, Duration))>,
}

fn imagemagick() -> Option<String> {
    let out = Command::new("convert").arg("-version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.contains("ImageMagick")
        .then(|| text.lines().next().unwrap_or("").to_owned())
}

fn run_im(
    png: &Path,
    out: &Path,
    extent: &str,
    runs: usize,
) -> Option<(usize, (Duration, Duration))> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let status = Command::new("convert")
            .arg(png)
            .args(["-define", &format!("jpeg:extent={extent}")])
            .arg(out)
            .status()
            .ok()?;
        times.push(t.elapsed());
        if !status.success() {
            return None;
        }
    }
    let len = std::fs::metadata(out).ok()?.len() as usize;
    Some((len, stats(times)))
}

fn bench_input(
    name: &str,
    img: &RgbImage,
    limits: &Limits,
    extent: &str,
    runs: usize,
    dir: &Path,
    im: bool,
) -> Row {
    let png = common::encode_png(img);
    let png_path = dir.join(format!("{name}.png"));
    std::fs::write(&png_path, &png).expect("write temp PNG");
    // Ours: from the same PNG bytes to the JPEG bytes.
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let src = decode(&png).expect("decode").image;
        let enc = compress(&src, limits).expect("compress");
        times.push(t.elapsed());
        last = Some(enc);
    }
    let enc = last.expect("at least one run");
    let back = decode(&enc.bytes).expect("decode ours").image;
    let ours_ssim = if back.dimensions() == img.dimensions() {
        ssim_luma(img, &back).unwrap_or(0.0)
    } else {
        f64::NAN
    };
    let im = if im {
        let out = dir.join(format!("{name}-im.jpg"));
        run_im(&png_path, &out, extent, runs).map(|(len, t)| {
            let bytes = std::fs::read(&out).expect("read IM output");
            let back = decode(&bytes).expect("decode IM output").image;
            (len, ssim_luma(img, &back).unwrap_or(0.0), t)
        })
    } else {
        None
    };
    Row {
        name: name.to_owned(),
        limit: limits.max_bytes,
        ours: (enc.bytes.len(), enc.quality, ours_ssim, stats(times)),
        im,
    }
}

fn photo_crop(fixture: &str) -> RgbImage {
    let img = decode(&common::fixture_bytes(fixture))
        .expect("fixture")
        .image;
    analyze_photo(&img, &PhotoOptions::default())
        .expect("analysis")
        .photo
        .expect("one face")
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read.
    let dir = tempfile::tempdir().expect("temp dir");
    let im = imagemagick();
    println!(
        "ImageMagick: {}",
        im.as_deref()
            .unwrap_or("not found (install it, see scripts/bench-media)")
    );
    let have_im = im.is_some();

    let mut rows = Vec::new();
    for (name, fixture) in [
        ("photo: astronaut, white", "photo_good.jpg"),
        (
            "photo: astronaut, whitened grey",
            "photo_grey_background.jpg",
        ),
        ("photo: astronaut, blue", "photo_blue_background.jpg"),
    ] {
        let img = photo_crop(fixture);
        rows.push(bench_input(
            name,
            &img,
            &Limits::photo(),
            "20kb",
            15,
            dir.path(),
            have_im,
        ));
    }
    for (name, seed, noise) in [
        ("A4 150 dpi: text + seal", 1u32, 0.0f32),
        ("A4 150 dpi: text + seal + grain 2", 2, 2.0),
    ] {
        let page = common::synthetic_page(1240, 1754, seed, noise);
        // Same resolution as ImageMagick: no trading of resolution for quality (min_quality 1).
        let limits = Limits {
            density_dpi: 150,
            min_quality: 1,
            ..Limits::material()
        };
        rows.push(bench_input(
            name,
            &page,
            &limits,
            "200kb",
            9,
            dir.path(),
            have_im,
        ));
    }

    println!();
    println!(
        "| input | limit | ours: bytes | q | SSIM | time median (best) | ImageMagick: bytes | SSIM | time median (best) | SSIM better | time ratio median (best) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|---:|");
    for r in &rows {
        let (ob, oq, os, (om, obest)) = r.ours;
        let ours = format!(
            "{ob} | {oq} | {os:.4} | {:.1} ({:.1}) ms",
            ms(om),
            ms(obest)
        );
        match r.im {
            Some((ib, is, (im, ibest))) => println!(
                "| {} | {} | {ours} | {ib} | {is:.4} | {:.1} ({:.1}) ms | {} | {:.2} ({:.2}) |",
                r.name,
                r.limit,
                ms(im),
                ms(ibest),
                if os > is { "yes" } else { "no" },
                ms(om) / ms(im),
                ms(obest) / ms(ibest)
            ),
            None => println!("| {} | {} | {ours} | - | - | - | - | - |", r.name, r.limit),
        }
    }

    // Preview conversion, 1280x720.
    let (w, h) = (1280u32, 720u32);
    let page = common::synthetic_page(1280, 1810, 5, 2.0);
    let frame = image::DynamicImage::ImageRgb8(page)
        .crop_imm(0, 300, w, h)
        .into_rgb8();
    let rgb = frame.as_raw().clone();
    let mut yuyv = Vec::with_capacity((w * h * 2) as usize);
    for px in rgb.chunks_exact(6) {
        let y = |p: &[u8]| {
            (16.0 + 0.257 * f32::from(p[0]) + 0.504 * f32::from(p[1]) + 0.098 * f32::from(p[2]))
                as u8
        };
        let u = (128.0 - 0.148 * f32::from(px[0]) - 0.291 * f32::from(px[1])
            + 0.439 * f32::from(px[2])) as u8;
        let v = (128.0 + 0.439 * f32::from(px[0])
            - 0.368 * f32::from(px[1])
            - 0.071 * f32::from(px[2])) as u8;
        yuyv.extend_from_slice(&[y(&px[0..3]), u, y(&px[3..6]), v]);
    }
    let mjpeg = encode_jpeg(&frame, 80, 0, Chroma::Sub420).expect("encode frame");
    let mut dst = vec![0u8; (w * h * 4) as usize];
    let mut dst_vec = Vec::new();
    let time_it = |n: usize, f: &mut dyn FnMut()| {
        f();
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed() / n as u32
    };
    let t_yuyv = time_it(200, &mut || {
        yuyv_to_rgba(&yuyv, w, h, 0, &mut dst).expect("yuyv")
    });
    let t_rgb = time_it(200, &mut || {
        rgb24_to_rgba(&rgb, w, h, 0, &mut dst).expect("rgb")
    });
    let t_mjpeg = time_it(50, &mut || {
        mjpeg_to_rgba(&mjpeg, &mut dst_vec).expect("mjpeg");
    });
    println!();
    println!("| preview 1280x720 → RGBA8 | time per frame | frames per second |");
    println!("|---|---:|---:|");
    for (name, t) in [
        ("YUYV 4:2:2", t_yuyv),
        ("RGB24", t_rgb),
        (&*format!("MJPEG ({} bytes) decode", mjpeg.len()), t_mjpeg),
    ] {
        println!(
            "| {name} | {:.2} ms | {:.0} |",
            ms(t),
            1.0 / t.as_secs_f64()
        );
    }
}
