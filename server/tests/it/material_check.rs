//! The server's own check of uploaded materials, on real JPEG and PNG files encoded here with the
//! `image` crate and, for what the kiosk really sends, with the kiosk's own compressor.

use crate::common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder, RgbImage};
use kiosk_domain::{MaterialKind, MaterialLimits, RulesEdition};
use kiosk_server::material_check::{
    CheckedImage, DecodeBounds, DecodePool, MaterialFormat, MaterialRefusal, check_material,
    check_material_with,
};

const PAGE: MaterialKind = MaterialKind::WorkCertificate;
const LIMITS: MaterialLimits = RulesEdition::CURRENT.limits();

/// A small deterministic generator (xorshift64*), so every run encodes the same files.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u8 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
    }
}

/// A gradient with noise of `amplitude` on top: the amplitude and the quality steer the size.
fn picture(width: u32, height: u32, amplitude: u8, seed: u64) -> RgbImage {
    let mut noise = Noise(seed | 1);
    RgbImage::from_fn(width, height, |x, y| {
        let base = [
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            ((x + y) % 256) as u8,
        ];
        image::Rgb(base.map(|b| {
            let n = if amplitude == 0 {
                0
            } else {
                noise.next() % amplitude
            };
            b.saturating_add(n)
        }))
    })
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("encode JPEG");
    out
}

fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Best, FilterType::Adaptive)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgb8,
        )
        .expect("encode PNG");
    out
}

/// A JPEG of `width`x`height` whose size is in `min_exclusive < size <= max`, found by trying
/// noise amplitudes and a binary search on the quality.
fn jpeg_sized(width: u32, height: u32, min_exclusive: usize, max: usize) -> Vec<u8> {
    for amplitude in [0u8, 4, 16, 48, 96, 160, 255] {
        let img = picture(width, height, amplitude, 0x5eed + u64::from(amplitude));
        let (mut low, mut high) = (1u8, 100u8);
        while low <= high {
            let quality = low + (high - low) / 2;
            let file = jpeg(&img, quality);
            if file.len() <= min_exclusive {
                low = quality + 1;
            } else if file.len() > max {
                if quality == 1 {
                    break;
                }
                high = quality - 1;
            } else {
                return file;
            }
        }
    }
    panic!("no JPEG of {width}x{height} within ({min_exclusive}, {max}] bytes");
}

/// `jpeg` grown to exactly `length` bytes by a comment segment right after SOI: a byte-exact
/// file for the limits, still a valid JPEG.
fn jpeg_of_length(jpeg: &[u8], length: usize) -> Vec<u8> {
    let filler = length
        .checked_sub(jpeg.len() + 4)
        .expect("the JPEG is already too long");
    assert!(filler + 2 <= usize::from(u16::MAX));
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xfe]);
    out.extend_from_slice(&((filler + 2) as u16).to_be_bytes());
    out.extend(std::iter::repeat_n(b'c', filler));
    out.extend_from_slice(&jpeg[2..]);
    assert_eq!(out.len(), length);
    out
}

fn valid_photo() -> Vec<u8> {
    let limits = MaterialLimits::default();
    jpeg_sized(
        limits.photo_min_width,
        limits.photo_min_height,
        limits.photo_min_bytes_exclusive as usize,
        limits.photo_max_bytes as usize,
    )
}

/// A150 dpi A4 scan just under the material limit, as the kiosk's documents are.
fn page_jpeg() -> Vec<u8> {
    jpeg_sized(1240, 1754, 150_000, 199_900)
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let crc = crc32fast::hash(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    chunk
}

/// A real, tiny PNG whose IHDR is rewritten to claim `width`x`height` with `bit_depth` and
/// `color_type`, CRC recomputed: the header of a decompression bomb.
fn png_claiming(width: u32, height: u32, bit_depth: u8, color_type: u8) -> Vec<u8> {
    let mut file = png(&picture(4, 4, 0, 1));
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, color_type, 0, 0, 0]);
    // IHDR is the first chunk: 8 signature bytes, then 4 + 4 + 13 + 4.
    file.splice(8..33, png_chunk(b"IHDR", &ihdr));
    file
}

/// Peak resident memory of this process (VmHWM), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_295x413_jpeg_photo_within_the_byte_window_passes() {
    let photo = valid_photo();
    let checked = check_material(MaterialKind::Photo, &photo).expect("a valid photo");
    assert_eq!(
        checked,
        CheckedImage {
            format: MaterialFormat::Jpeg,
            width: 295,
            height: 413,
            bytes: photo.len() as u64,
            decode_time: checked.decode_time,
        }
    );
}

#[test]
fn the_photo_byte_bounds_are_the_domains() {
    let limits = MaterialLimits::default();
    let small = jpeg_sized(295, 413, 4_000, 10_000);
    let at = |length: u64| {
        check_material(
            MaterialKind::Photo,
            &jpeg_of_length(&small, length as usize),
        )
    };
    let out_of_range = |length: u64| {
        Err(MaterialRefusal::PhotoBytesOutOfRange {
            bytes: length,
            min_exclusive: limits.photo_min_bytes_exclusive,
            max: limits.photo_max_bytes,
        })
    };
    let floor = limits.photo_min_bytes_exclusive;
    let ceiling = limits.photo_max_bytes;
    assert_eq!(at(floor), out_of_range(floor));
    assert!(at(floor + 1).is_ok());
    assert!(at(ceiling).is_ok());
    assert_eq!(at(ceiling + 1), out_of_range(ceiling + 1));
}

#[test]
fn a_200x300_photo_is_refused_for_its_pixels() {
    let photo = jpeg_sized(200, 300, 10_240, 20_000);
    assert_eq!(
        check_material(MaterialKind::Photo, &photo),
        Err(MaterialRefusal::PhotoTooSmall {
            width: 200,
            height: 300,
            min_width: 295,
            min_height: 413,
        })
    );
}

#[test]
fn a_png_photo_is_refused() {
    let photo = png(&picture(295, 413, 0, 2));
    assert_eq!(
        check_material(MaterialKind::Photo, &photo),
        Err(MaterialRefusal::PhotoNotJpeg {
            found: MaterialFormat::Png
        })
    );
}

#[test]
fn a_25_kb_photo_and_a_5_kb_photo_are_refused() {
    for (low, high) in [(24_000, 26_000), (4_000, 6_000)] {
        let photo = jpeg_sized(295, 413, low, high);
        let refusal = check_material(MaterialKind::Photo, &photo).expect_err("out of range");
        assert_eq!(
            refusal.code(),
            "PhotoBytesOutOfRange",
            "{} bytes",
            photo.len()
        );
    }
}

#[test]
fn a_page_within_200_kb_passes_as_jpeg_and_as_png() {
    let page = page_jpeg();
    let checked = check_material(PAGE, &page).expect("a valid page");
    assert_eq!(
        (checked.format, checked.width, checked.height),
        (MaterialFormat::Jpeg, 1240, 1754)
    );
    let scan = png(&picture(800, 1000, 0, 3));
    assert!(scan.len() <= 200_000, "{}", scan.len());
    let checked = check_material(MaterialKind::IdCardFront, &scan).expect("a valid PNG");
    assert_eq!(
        (checked.format, checked.width, checked.height),
        (MaterialFormat::Png, 800, 1000)
    );
}

#[test]
fn a_250_kb_page_is_refused_and_200_000_bytes_is_the_bound() {
    let page = jpeg_sized(1240, 1754, 240_000, 260_000);
    assert_eq!(
        check_material(PAGE, &page),
        Err(MaterialRefusal::MaterialTooLarge {
            bytes: page.len() as u64,
            max: 200_000,
        })
    );
    let smaller = jpeg_sized(1240, 1754, 150_000, 199_000);
    assert!(check_material(PAGE, &jpeg_of_length(&smaller, 200_000)).is_ok());
    assert_eq!(
        check_material(PAGE, &jpeg_of_length(&smaller, 200_001)),
        Err(MaterialRefusal::MaterialTooLarge {
            bytes: 200_001,
            max: 200_000,
        })
    );
}

#[test]
fn a_jpeg_with_a_zip_appended_is_refused() {
    let mut polyglot = jpeg_sized(640, 480, 20_000, 60_000);
    let zip_start = polyglot.len();
    // A local file header and an end-of-central-directory record: what `unzip` looks for.
    polyglot.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00");
    polyglot.extend_from_slice(&[0; 20]);
    polyglot.extend_from_slice(b"payload.html<script>alert(1)</script>");
    polyglot.extend_from_slice(b"PK\x05\x06");
    polyglot.extend_from_slice(&[0; 18]);
    assert_eq!(
        check_material(PAGE, &polyglot),
        Err(MaterialRefusal::MaterialTrailingData {
            format: MaterialFormat::Jpeg,
            trailing_bytes: (polyglot.len() - zip_start) as u64,
            appended: Some("ZIP"),
        })
    );
}

#[test]
fn a_second_image_or_html_after_the_end_marker_is_refused() {
    let first_jpeg = jpeg_sized(320, 240, 5_000, 40_000);
    let first_png = png(&picture(64, 64, 0, 4));
    let cases: [(&[u8], &[u8], MaterialFormat, &str); 4] = [
        (&first_jpeg, &first_png, MaterialFormat::Jpeg, "PNG"),
        (&first_jpeg, &first_jpeg, MaterialFormat::Jpeg, "JPEG"),
        (&first_png, &first_jpeg, MaterialFormat::Png, "JPEG"),
        (
            &first_png,
            b"<html><body>x</body></html>",
            MaterialFormat::Png,
            "HTML",
        ),
    ];
    for (image, appended, format, name) in cases {
        let file = [image, appended].concat();
        assert_eq!(
            check_material(PAGE, &file),
            Err(MaterialRefusal::MaterialTrailingData {
                format,
                trailing_bytes: appended.len() as u64,
                appended: Some(name),
            }),
            "{} + {name}",
            format.name()
        );
    }
    // A zero byte after a PNG's IEND is already refused; a JPEG may carry a little padding.
    let padded_png = [&first_png[..], &[0]].concat();
    assert_eq!(
        check_material(PAGE, &padded_png).map_err(|r| r.code()),
        Err("MaterialTrailingData")
    );
    let padded_jpeg = [&first_jpeg[..], &[0, 0, 0xff]].concat();
    assert!(check_material(PAGE, &padded_jpeg).is_ok());
}

#[test]
fn a_png_claiming_60000x60000_is_refused_from_its_header() {
    let bomb = png_claiming(60_000, 60_000, 8, 6);
    assert!(bomb.len() < 1_000);
    let started = Instant::now();
    assert_eq!(
        check_material(PAGE, &bomb),
        Err(MaterialRefusal::MaterialTooManyPixels {
            width: 60_000,
            height: 60_000,
        })
    );
    // No timing assert (the machine is shared); a refusal from the header is immediate.
    eprintln!("60000x60000 refused in {:?}", started.elapsed());
}

#[test]
fn a_png_within_the_pixel_count_but_over_the_allocation_bound_is_refused() {
    // 6000x6000 RGBA at 16 bits: 36 MP, 288 MB of pixels, above the default 256 MiB.
    let bomb = png_claiming(6_000, 6_000, 16, 6);
    assert_eq!(
        check_material(PAGE, &bomb),
        Err(MaterialRefusal::MaterialTooManyPixels {
            width: 6_000,
            height: 6_000,
        })
    );
}

/// Runs alone in a child process (see the test below) so that its peak RSS is its own, not that
/// of the other tests of this binary running at once.
#[test]
#[ignore = "run by a_decompression_bomb_does_not_raise_the_peak_memory in a child process"]
fn bomb_peak_rss_child() {
    for bomb in [
        png_claiming(60_000, 60_000, 8, 6),
        png_claiming(6_000, 6_000, 16, 6),
        png_claiming(20_000, 2_000, 16, 6),
    ] {
        assert!(check_material(PAGE, &bomb).is_err());
    }
    println!("VmHWM_KIB={}", peak_rss_kib().unwrap_or(0));
}

#[test]
fn a_decompression_bomb_does_not_raise_the_peak_memory() {
    let peak_kib: u64 = common::run_alone("material_check::bomb_peak_rss_child", &[])
        .lines()
        // libtest prints the test's name on the same line.
        .find_map(|l| l.split("VmHWM_KIB=").nth(1))
        .and_then(|v| v.trim().parse().ok())
        .expect("the child prints its peak RSS");
    eprintln!("peak RSS of the bomb checks: {peak_kib} KiB");
    // 60000x60000 RGBA is 14.4 GB; decoding any of the three would need at least 160 MB.
    assert!(peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB");
}

#[test]
fn truncated_files_are_refused() {
    let page = jpeg_sized(640, 480, 20_000, 60_000);
    for cut in [page.len() / 2, page.len() - 2, page.len() - 1] {
        assert_eq!(
            check_material(PAGE, &page[..cut]),
            Err(MaterialRefusal::MaterialTruncated {
                format: MaterialFormat::Jpeg
            }),
            "cut at {cut}"
        );
    }
    let scan = png(&picture(300, 300, 16, 5));
    for cut in [scan.len() / 2, scan.len() - 12, scan.len() - 1] {
        assert_eq!(
            check_material(PAGE, &scan[..cut]),
            Err(MaterialRefusal::MaterialTruncated {
                format: MaterialFormat::Png
            }),
            "cut at {cut}"
        );
    }
}

#[test]
fn a_png_whose_pixel_data_is_corrupt_is_refused_even_with_valid_crcs() {
    let scan = png(&picture(300, 300, 16, 6));
    // Find IDAT, scramble its data, recompute the CRC so that only the decoder can tell.
    let mut pos = 8;
    let mut corrupt = scan.clone();
    loop {
        let length = u32::from_be_bytes(scan[pos..pos + 4].try_into().unwrap()) as usize;
        if &scan[pos + 4..pos + 8] == b"IDAT" {
            let data = &mut corrupt[pos + 8..pos + 8 + length];
            for (i, byte) in data.iter_mut().enumerate().skip(2) {
                *byte = (i * 7) as u8;
            }
            let crc = crc32fast::hash(&corrupt[pos + 4..pos + 8 + length]);
            corrupt[pos + 8 + length..pos + 12 + length].copy_from_slice(&crc.to_be_bytes());
            break;
        }
        pos += 12 + length;
    }
    assert_eq!(
        check_material(PAGE, &corrupt).map_err(|r| r.code()),
        Err("MaterialDecodeFailed")
    );
}

#[test]
fn random_and_empty_bytes_are_refused() {
    let mut noise = Noise(42);
    let random: Vec<u8> = (0..15_000).map(|_| noise.next()).collect();
    assert_eq!(
        check_material(MaterialKind::Photo, &random),
        Err(MaterialRefusal::MaterialNotImage)
    );
    assert_eq!(
        check_material(PAGE, &random),
        Err(MaterialRefusal::MaterialNotImage)
    );
    assert_eq!(
        check_material(PAGE, &[]),
        Err(MaterialRefusal::MaterialEmpty)
    );
    // The magic bytes alone are not an image.
    for magic in [&b"\xff\xd8\xff"[..], b"\x89PNG\r\n\x1a\n"] {
        let file = [magic, &random[..]].concat();
        let refusal = check_material(PAGE, &file).expect_err("not an image");
        assert!(
            matches!(refusal.code(), "MaterialDecodeFailed" | "MaterialTruncated"),
            "{refusal:?}"
        );
    }
    // GIF, WebP, PDF: not accepted formats.
    for other in [&b"GIF89a"[..], b"RIFF\0\0\0\0WEBP", b"%PDF-1.7"] {
        let file = [other, &random[..100]].concat();
        assert_eq!(
            check_material(PAGE, &file),
            Err(MaterialRefusal::MaterialNotImage)
        );
    }
}

#[test]
fn a_decode_over_the_time_limit_is_refused() {
    let bounds = DecodeBounds {
        time_limit: Duration::ZERO,
        ..DecodeBounds::default()
    };
    let refusal = check_material_with(PAGE, &page_jpeg(), &MaterialLimits::default(), &bounds)
        .expect_err("over the limit");
    assert_eq!(refusal.code(), "MaterialDecodeTimeout");
}

#[test]
fn the_pool_answers_busy_when_its_queue_is_full() {
    let pool = DecodePool::new(2, 1);
    let page = page_jpeg();
    std::thread::scope(|scope| {
        // Two threads hold both permits until told to let go.
        let mut releases = Vec::new();
        let (held_tx, held_rx) = mpsc::channel();
        for _ in 0..2 {
            let (release_tx, release_rx) = mpsc::channel::<()>();
            releases.push(release_tx);
            let held_tx = held_tx.clone();
            let pool = &pool;
            scope.spawn(move || {
                let permit = pool.acquire().expect("a free permit");
                held_tx.send(()).expect("report");
                let _ = release_rx.recv();
                drop(permit);
            });
        }
        for _ in 0..2 {
            held_rx
                .recv_timeout(common::WAIT_AT_MOST)
                .expect("permit held");
        }
        assert_eq!(pool.in_use(), 2);
        // One caller may wait ...
        let waiter = scope.spawn(|| pool.check(PAGE, &page, &LIMITS));
        common::wait_until("the waiter to queue", || pool.waiting() >= 1);
        // ... the next one is refused at once.
        assert_eq!(
            pool.check(PAGE, &page, &LIMITS),
            Err(MaterialRefusal::Busy {
                retry_after_secs: 2
            })
        );
        drop(releases);
        let waited = waiter.join().expect("the waiter");
        assert!(waited.is_ok(), "{waited:?}");
    });
    assert_eq!((pool.in_use(), pool.waiting()), (0, 0));
    assert!(pool.check(PAGE, &page, &LIMITS).is_ok());
}

#[test]
fn a_queued_caller_gives_up_after_the_maximum_wait_and_no_queue_means_busy_at_once() {
    let pool = DecodePool::new(1, 4).with_max_wait(Duration::from_millis(50));
    let held = pool.acquire().expect("a free permit");
    assert_eq!(
        pool.acquire().map(|_| ()),
        Err(MaterialRefusal::Busy {
            retry_after_secs: 2
        })
    );
    assert_eq!(pool.waiting(), 0);
    drop(held);
    assert!(pool.acquire().is_ok());

    let no_queue = DecodePool::new(1, 0);
    let _held = no_queue.acquire().expect("a free permit");
    assert_eq!(
        no_queue.acquire().map(|_| ()).map_err(|r| r.code()),
        Err("Busy")
    );
}

#[test]
fn the_pool_is_sized_from_the_machine() {
    let pool = DecodePool::for_machine();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(pool.permits(), cores);
    assert!(pool.max_waiting() >= cores);
}

#[test]
fn the_pool_applies_the_limits_it_is_given_and_one_pool_is_shared() {
    let photo = valid_photo();
    let pool = DecodePool::new(1, 0);
    assert_eq!(
        pool.check(
            MaterialKind::Photo,
            &photo,
            &MaterialLimits::id_card_photo_preset()
        ),
        Err(MaterialRefusal::PhotoTooSmall {
            width: 295,
            height: 413,
            min_width: 358,
            min_height: 441,
        })
    );
    assert!(std::ptr::eq(DecodePool::shared(), DecodePool::shared()));
    assert!(
        DecodePool::shared()
            .check(MaterialKind::Photo, &photo, &RulesEdition::CURRENT.limits())
            .is_ok()
    );
}

#[test]
fn what_the_kiosk_compressor_produces_passes() {
    let limits = MaterialLimits::default();
    for (width, height, seed) in [(295, 413, 7), (358, 441, 8), (590, 826, 9)] {
        let photo = kiosk_media::compress(
            &picture(width, height, 24, seed),
            &kiosk_media::Limits::photo(),
        )
        .expect("the kiosk compresses the photo");
        let checked = check_material(MaterialKind::Photo, &photo.bytes).expect("kiosk photo");
        assert!(checked.width >= limits.photo_min_width);
        assert!(checked.height >= limits.photo_min_height);
    }
    for amplitude in [0, 32, 255] {
        let page = kiosk_media::compress(
            &picture(1240, 1754, amplitude, 10),
            &kiosk_media::Limits::material(),
        )
        .expect("the kiosk compresses the page");
        check_material(PAGE, &page.bytes).expect("kiosk page");
    }
}

/// Timing and memory figures for the report: `cargo test -p kiosk-server --release --test
/// it -- --ignored --nocapture material_check::measure`.
#[test]
#[ignore = "a measurement, not a check"]
fn measure_check_cost() {
    let pool = DecodePool::new(1, 0);
    let time = |label: &str, kind: MaterialKind, file: &[u8]| {
        let runs = 20;
        let started = Instant::now();
        for _ in 0..runs {
            pool.check(kind, file, &LIMITS).expect(label);
        }
        println!(
            "{label}: {} bytes, {:?} per check",
            file.len(),
            started.elapsed() / runs
        );
    };
    time("photo 295x413", MaterialKind::Photo, &valid_photo());
    time("page 1240x1754 JPEG", PAGE, &page_jpeg());
    let kiosk_page = kiosk_media::compress(
        &picture(1240, 1754, 255, 11),
        &kiosk_media::Limits::material(),
    )
    .expect("kiosk page");
    time("kiosk page JPEG", PAGE, &kiosk_page.bytes);
    let png_page = png(&picture(1240, 1754, 0, 12));
    time("page 1240x1754 PNG", PAGE, &png_page);
    // The largest legitimate decode: an all-zero 39.9 MP RGB PNG that deflates under 200 KB,
    // checked in a child process so that the peak RSS is the check's own.
    let (width, height) = (6_300u32, 6_330u32);
    let zeros = vec![0u8; (width * height * 3) as usize];
    let mut big = Vec::new();
    PngEncoder::new_with_quality(&mut big, CompressionType::Best, FilterType::NoFilter)
        .write_image(&zeros, width, height, ExtendedColorType::Rgb8)
        .expect("encode");
    drop(zeros);
    println!("all-zero {width}x{height} RGB PNG: {} bytes", big.len());
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.png");
    std::fs::write(&path, &big).expect("write");
    let printed = common::run_alone(
        "material_check::measure_big_png_child",
        &[(BIG_PNG_VAR, path.as_os_str())],
    );
    println!("{printed}");
}

const BIG_PNG_VAR: &str = "MATERIAL_CHECK_BIG_PNG";

#[test]
#[ignore = "run by measure_check_cost in a child process"]
fn measure_big_png_child() {
    let Some(path) = std::env::var_os(BIG_PNG_VAR) else {
        return;
    };
    let file = std::fs::read(path).expect("read");
    let before = peak_rss_kib();
    let started = Instant::now();
    let result = check_material(PAGE, &file);
    println!(
        "big PNG check: {:?} in {:?}, peak RSS {:?} -> {:?} KiB",
        result.map(|c| (c.width, c.height)),
        started.elapsed(),
        before,
        peak_rss_kib()
    );
}
