//! The server's own check of every uploaded material: the kiosk's claims (format, size,
//! dimensions) are not trusted, each file is parsed and decoded here.
//!
//! Order of the checks, cheapest first, so a hostile file costs as little as possible:
//! 1. the format is read from the content (magic bytes) and must be one allowed for the kind
//!    (the photo: JPEG only; everything else: JPEG or PNG);
//! 2. the byte count must be within the domain's limits ([`MaterialLimits`]), before any parsing;
//! 3. the file's structure is walked (JPEG markers, PNG chunks with their CRC): it must end at
//!    its end marker (JPEG `EOI`, PNG `IEND`) with nothing after it, which refuses truncated
//!    files and polyglots (a ZIP, HTML or a second image appended to a valid image);
//! 4. the dimensions are read from the header and checked against [`DecodeBounds`] (side,
//!    pixel count, output size) and the photo minimum, before any pixel buffer exists;
//! 5. the pixels are decoded in full under `image::Limits`, and the decode time is measured.
//!
//! Decoding is CPU-bound and is run through a [`DecodePool`] that bounds how many decodes run at
//! once and how many callers may wait.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegDecoder;
use image::codecs::png::PngDecoder;
use image::error::{ImageError, LimitErrorKind};
use image::{ImageDecoder, Limits};
use kiosk_domain::catalog::Choice;
use kiosk_domain::{MaterialKind, MaterialLimits, RulesEdition};
use tracing::{debug, warn};

const JPEG_MAGIC: &[u8] = &[0xff, 0xd8, 0xff];
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Bytes after a JPEG's `EOI` that are tolerated: some encoders pad with zero or `FF` fill bytes.
const JPEG_MAX_PADDING: usize = 64;

/// What the server suggests to a caller refused with [`MaterialRefusal::Busy`].
pub const BUSY_RETRY_AFTER_SECS: u32 = 2;

/// A container format accepted for materials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaterialFormat {
    Jpeg,
    Png,
}

impl MaterialFormat {
    pub fn name(self) -> &'static str {
        match self {
            MaterialFormat::Jpeg => "JPEG",
            MaterialFormat::Png => "PNG",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            MaterialFormat::Jpeg => "image/jpeg",
            MaterialFormat::Png => "image/png",
        }
    }
}

/// What the server found in an accepted file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedImage {
    pub format: MaterialFormat,
    /// As stored in the file (no EXIF orientation applied).
    pub width: u32,
    pub height: u32,
    /// The file's length.
    pub bytes: u64,
    /// How long the full decode took.
    pub decode_time: Duration,
}

/// Why a material file is refused. [`MaterialRefusal::code`] is the stable code for the API's
/// answer; the messages are for the applicant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaterialRefusal {
    #[error("the file is empty")]
    MaterialEmpty,
    #[error("the file is not a JPEG or PNG image")]
    MaterialNotImage,
    #[error("the ID photo is a {} file, it must be a JPEG", found.name())]
    PhotoNotJpeg { found: MaterialFormat },
    #[error(
        "the ID photo has {bytes} bytes, it must have more than {min_exclusive} and at most {max}"
    )]
    PhotoBytesOutOfRange {
        bytes: u64,
        min_exclusive: u64,
        max: u64,
    },
    #[error("the file has {bytes} bytes, at most {max} are allowed")]
    MaterialTooLarge { bytes: u64, max: u64 },
    #[error(
        "the ID photo is {width}x{height} pixels, at least {min_width}x{min_height} are needed"
    )]
    PhotoTooSmall {
        width: u32,
        height: u32,
        min_width: u32,
        min_height: u32,
    },
    #[error("the image is {width}x{height} pixels, more than the server decodes")]
    MaterialTooManyPixels { width: u32, height: u32 },
    #[error("the image file is truncated")]
    MaterialTruncated { format: MaterialFormat },
    #[error("the image cannot be decoded: {detail}")]
    MaterialDecodeFailed {
        format: MaterialFormat,
        detail: String,
    },
    #[error("{trailing_bytes} bytes{} follow the end of the {} image", appended.map(|a| format!(" ({a})")).unwrap_or_default(), format.name())]
    MaterialTrailingData {
        format: MaterialFormat,
        trailing_bytes: u64,
        /// What the appended bytes look like, when recognised ("ZIP", "HTML", "PNG" ...).
        appended: Option<&'static str>,
    },
    #[error("the PNG is animated")]
    MaterialAnimated,
    #[error("decoding took {elapsed_ms} ms, the limit is {limit_ms} ms")]
    MaterialDecodeTimeout { elapsed_ms: u64, limit_ms: u64 },
    #[error("too many images are being checked, retry in {retry_after_secs} s")]
    Busy { retry_after_secs: u32 },
}

impl MaterialRefusal {
    /// The stable code of the API's answer.
    pub fn code(&self) -> &'static str {
        match self {
            MaterialRefusal::MaterialEmpty => "MaterialEmpty",
            MaterialRefusal::MaterialNotImage => "MaterialNotImage",
            MaterialRefusal::PhotoNotJpeg { .. } => "PhotoNotJpeg",
            MaterialRefusal::PhotoBytesOutOfRange { .. } => "PhotoBytesOutOfRange",
            MaterialRefusal::MaterialTooLarge { .. } => "MaterialTooLarge",
            MaterialRefusal::PhotoTooSmall { .. } => "PhotoTooSmall",
            MaterialRefusal::MaterialTooManyPixels { .. } => "MaterialTooManyPixels",
            MaterialRefusal::MaterialTruncated { .. } => "MaterialTruncated",
            MaterialRefusal::MaterialDecodeFailed { .. } => "MaterialDecodeFailed",
            MaterialRefusal::MaterialTrailingData { .. } => "MaterialTrailingData",
            MaterialRefusal::MaterialAnimated => "MaterialAnimated",
            MaterialRefusal::MaterialDecodeTimeout { .. } => "MaterialDecodeTimeout",
            MaterialRefusal::Busy { .. } => "Busy",
        }
    }

    /// Plain Chinese for the applicant.
    pub fn message_zh(&self) -> String {
        match self {
            MaterialRefusal::MaterialEmpty => "材料文件是空的，请重新上传".to_owned(),
            MaterialRefusal::MaterialNotImage => "材料文件须为 JPG 或 PNG 图片".to_owned(),
            MaterialRefusal::PhotoNotJpeg { found } => {
                format!("证件照须为 JPG 格式，收到的是 {} 图片", found.name())
            }
            MaterialRefusal::PhotoBytesOutOfRange {
                bytes,
                min_exclusive,
                max,
            } => format!(
                "证件照文件须大于 {min_exclusive} 字节、不超过 {max} 字节，收到的文件为 {bytes} 字节"
            ),
            MaterialRefusal::MaterialTooLarge { bytes, max } => {
                format!("材料文件不得大于 {max} 字节，收到的文件为 {bytes} 字节")
            }
            MaterialRefusal::PhotoTooSmall {
                width,
                height,
                min_width,
                min_height,
            } => format!(
                "证件照像素不足：至少须为 {min_width}×{min_height}，收到的是 {width}×{height}"
            ),
            MaterialRefusal::MaterialTooManyPixels { width, height } => {
                format!("图片像素过多（{width}×{height}），服务器不予处理，请缩小后重新上传")
            }
            MaterialRefusal::MaterialTruncated { .. } => {
                "图片文件不完整（可能上传时中断），请重新上传".to_owned()
            }
            MaterialRefusal::MaterialDecodeFailed { .. } => {
                "图片文件已损坏，无法读取，请重新拍摄或上传".to_owned()
            }
            MaterialRefusal::MaterialTrailingData { .. } => {
                "图片文件末尾附带了其他数据，不予接收，请重新拍摄或上传".to_owned()
            }
            MaterialRefusal::MaterialAnimated => {
                "不接受动态图片，请上传静态的 JPG 或 PNG 图片".to_owned()
            }
            MaterialRefusal::MaterialDecodeTimeout { .. } => {
                "图片处理用时过长，服务器不予接收，请重新拍摄或上传".to_owned()
            }
            MaterialRefusal::Busy { .. } => "服务器正忙，请稍后再试".to_owned(),
        }
    }

    /// English, for logs and the operator.
    pub fn message_en(&self) -> String {
        self.to_string()
    }

    /// The Chinese message preceded by the material's name, e.g. "身份证正面：图片文件已损坏…".
    pub fn message_zh_for(&self, kind: MaterialKind) -> String {
        format!("{}：{}", kind.text_key(), self.message_zh())
    }
}

/// Bounds on what one decode may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeBounds {
    pub max_width: u32,
    pub max_height: u32,
    pub max_pixels: u64,
    /// Bound on the decoder's allocations, the decoded pixels included.
    pub max_alloc_bytes: u64,
    /// A decode that took longer is refused.
    pub time_limit: Duration,
}

impl Default for DecodeBounds {
    /// 40 megapixels, at most 20,000 per side, 256 MiB for the decoder (a 40 MP 8-bit RGBA PNG
    /// is 160 MB; 16-bit RGBA at that size is refused), 5 s. A kiosk page (150 dpi A4, 2.2 MP)
    /// decodes in about 0.1 s on a loaded 2-core machine, an all-zero 40 MP RGB PNG in about
    /// 2 s: the time limit is a backstop, the pixel and allocation bounds are what bound cost.
    fn default() -> Self {
        DecodeBounds {
            max_width: 20_000,
            max_height: 20_000,
            max_pixels: 40_000_000,
            max_alloc_bytes: 256 * 1024 * 1024,
            time_limit: Duration::from_secs(5),
        }
    }
}

impl DecodeBounds {
    fn image_limits(&self) -> Limits {
        let mut limits = Limits::default();
        limits.max_image_width = Some(self.max_width);
        limits.max_image_height = Some(self.max_height);
        limits.max_alloc = Some(self.max_alloc_bytes);
        limits
    }
}

/// Checks one file with the current rules edition's limits and the default decode bounds,
/// without the pool's bound on concurrency (use [`DecodePool::check`] in the server).
pub fn check_material(kind: MaterialKind, bytes: &[u8]) -> Result<CheckedImage, MaterialRefusal> {
    check_material_with(
        kind,
        bytes,
        &RulesEdition::CURRENT.limits(),
        &DecodeBounds::default(),
    )
}

/// Checks one file against `limits` (the same limits the kiosk applies) and `bounds`.
pub fn check_material_with(
    kind: MaterialKind,
    bytes: &[u8],
    limits: &MaterialLimits,
    bounds: &DecodeBounds,
) -> Result<CheckedImage, MaterialRefusal> {
    if bytes.is_empty() {
        return Err(MaterialRefusal::MaterialEmpty);
    }
    let format = sniff(bytes).ok_or(MaterialRefusal::MaterialNotImage)?;
    let length = bytes.len() as u64;
    if kind == MaterialKind::Photo {
        if format != MaterialFormat::Jpeg {
            return Err(MaterialRefusal::PhotoNotJpeg { found: format });
        }
        if length <= limits.photo_min_bytes_exclusive || length > limits.photo_max_bytes {
            return Err(MaterialRefusal::PhotoBytesOutOfRange {
                bytes: length,
                min_exclusive: limits.photo_min_bytes_exclusive,
                max: limits.photo_max_bytes,
            });
        }
    } else if length > limits.other_max_bytes {
        return Err(MaterialRefusal::MaterialTooLarge {
            bytes: length,
            max: limits.other_max_bytes,
        });
    }
    let (width, height) = match format {
        MaterialFormat::Jpeg => check_jpeg_structure(bytes)?,
        MaterialFormat::Png => check_png_structure(bytes)?,
    };
    check_dimensions(kind, width, height, limits, bounds)?;
    let started = Instant::now();
    // A decoder that panics on hostile input must not take the request (or a pool permit) down.
    let decoded = catch_unwind(AssertUnwindSafe(|| {
        decode(format, bytes, (width, height), bounds)
    }))
    .unwrap_or_else(|_| {
        Err(MaterialRefusal::MaterialDecodeFailed {
            format,
            detail: "the decoder panicked".to_owned(),
        })
    });
    decoded?;
    let decode_time = started.elapsed();
    // The decode cannot be interrupted where it runs; the time is judged afterwards. With the
    // pixel and allocation bounds above, one decode's cost is bounded anyway: this limit refuses
    // files that are abnormally slow to decode for their size, and the pool bounds how many run.
    if decode_time > bounds.time_limit {
        warn!(
            kind = kind.key(),
            elapsed_ms = decode_time.as_millis() as u64,
            "material decode over the time limit"
        );
        return Err(MaterialRefusal::MaterialDecodeTimeout {
            elapsed_ms: decode_time.as_millis() as u64,
            limit_ms: bounds.time_limit.as_millis() as u64,
        });
    }
    debug!(
        kind = kind.key(),
        format = format.name(),
        width,
        height,
        bytes = length,
        decode_us = decode_time.as_micros() as u64,
        "material checked"
    );
    Ok(CheckedImage {
        format,
        width,
        height,
        bytes: length,
        decode_time,
    })
}

fn sniff(bytes: &[u8]) -> Option<MaterialFormat> {
    if bytes.starts_with(JPEG_MAGIC) {
        Some(MaterialFormat::Jpeg)
    } else if bytes.starts_with(PNG_MAGIC) {
        Some(MaterialFormat::Png)
    } else {
        None
    }
}

/// The header's dimensions against the decode bounds and, for the photo, the minimum size.
fn check_dimensions(
    kind: MaterialKind,
    width: u32,
    height: u32,
    limits: &MaterialLimits,
    bounds: &DecodeBounds,
) -> Result<(), MaterialRefusal> {
    if width > bounds.max_width
        || height > bounds.max_height
        || u64::from(width) * u64::from(height) > bounds.max_pixels
    {
        return Err(MaterialRefusal::MaterialTooManyPixels { width, height });
    }
    if kind == MaterialKind::Photo
        && (width < limits.photo_min_width || height < limits.photo_min_height)
    {
        return Err(MaterialRefusal::PhotoTooSmall {
            width,
            height,
            min_width: limits.photo_min_width,
            min_height: limits.photo_min_height,
        });
    }
    Ok(())
}

/// The full decode, `header` being the dimensions the structure walk read.
fn decode(
    format: MaterialFormat,
    bytes: &[u8],
    header: (u32, u32),
    bounds: &DecodeBounds,
) -> Result<(), MaterialRefusal> {
    let failed = |e: ImageError| refusal_from_image_error(format, header, e);
    // Both constructors read the header only; PNG's already enforces the allocation bound.
    match format {
        MaterialFormat::Jpeg => {
            let decoder = JpegDecoder::new(Cursor::new(bytes)).map_err(failed)?;
            decode_within(decoder, format, header, bounds)
        }
        MaterialFormat::Png => {
            let decoder = PngDecoder::with_limits(Cursor::new(bytes), bounds.image_limits())
                .map_err(failed)?;
            decode_within(decoder, format, header, bounds)
        }
    }
}

fn decode_within(
    mut decoder: impl ImageDecoder,
    format: MaterialFormat,
    header: (u32, u32),
    bounds: &DecodeBounds,
) -> Result<(), MaterialRefusal> {
    let (width, height) = header;
    if decoder.dimensions() != header {
        return Err(corrupt(format, "the decoder reads other dimensions"));
    }
    let too_many = MaterialRefusal::MaterialTooManyPixels { width, height };
    // The output buffer is the largest allocation: 16-bit or alpha samples may exceed the bound
    // even within the pixel count.
    if decoder.total_bytes() > bounds.max_alloc_bytes {
        return Err(too_many);
    }
    decoder
        .set_limits(bounds.image_limits())
        .map_err(|e| refusal_from_image_error(format, header, e))?;
    let Ok(size) = usize::try_from(decoder.total_bytes()) else {
        return Err(too_many);
    };
    let mut pixels = Vec::new();
    if pixels.try_reserve_exact(size).is_err() {
        return Err(too_many);
    }
    pixels.resize(size, 0u8);
    decoder
        .read_image(&mut pixels)
        .map_err(|e| refusal_from_image_error(format, header, e))
}

fn refusal_from_image_error(
    format: MaterialFormat,
    (width, height): (u32, u32),
    error: ImageError,
) -> MaterialRefusal {
    match error {
        ImageError::Limits(limit) => match limit.kind() {
            LimitErrorKind::DimensionError | LimitErrorKind::InsufficientMemory => {
                MaterialRefusal::MaterialTooManyPixels { width, height }
            }
            _ => MaterialRefusal::MaterialDecodeFailed {
                format,
                detail: limit.to_string(),
            },
        },
        other => MaterialRefusal::MaterialDecodeFailed {
            format,
            detail: other.to_string(),
        },
    }
}

/// What appended bytes look like, by their first signature found.
fn recognise_appended(trailing: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"PK\x03\x04", "ZIP"),
        (b"PK\x05\x06", "ZIP"),
        (b"Rar!\x1a\x07", "RAR"),
        (b"7z\xbc\xaf\x27\x1c", "7z"),
        (b"%PDF", "PDF"),
        (b"\x89PNG\r\n\x1a\n", "PNG"),
        (b"\xff\xd8\xff", "JPEG"),
        (b"GIF8", "GIF"),
        (b"RIFF", "RIFF"),
        (b"<html", "HTML"),
        (b"<HTML", "HTML"),
        (b"<!DOCTYPE", "HTML"),
        (b"<!doctype", "HTML"),
        (b"<script", "HTML"),
        (b"<svg", "SVG"),
        (b"<?php", "PHP"),
        (b"<?xml", "XML"),
    ];
    (0..trailing.len())
        .find_map(|at| {
            SIGNATURES
                .iter()
                .find(|(signature, _)| trailing[at..].starts_with(signature))
        })
        .map(|(_, name)| *name)
}

fn trailing_refusal(format: MaterialFormat, trailing: &[u8]) -> MaterialRefusal {
    MaterialRefusal::MaterialTrailingData {
        format,
        trailing_bytes: trailing.len() as u64,
        appended: recognise_appended(trailing),
    }
}

fn corrupt(format: MaterialFormat, detail: &str) -> MaterialRefusal {
    MaterialRefusal::MaterialDecodeFailed {
        format,
        detail: detail.to_owned(),
    }
}

/// Walks the JPEG's markers to its `EOI` and answers the frame's dimensions. Segment lengths
/// are followed (so an `FF D9` inside an EXIF thumbnail is not taken for the end), entropy-coded
/// data is scanned for the next real marker. The JPEG decoder is lenient and would fill a
/// missing end with grey, hence this walk.
fn check_jpeg_structure(bytes: &[u8]) -> Result<(u32, u32), MaterialRefusal> {
    const FORMAT: MaterialFormat = MaterialFormat::Jpeg;
    let truncated = MaterialRefusal::MaterialTruncated { format: FORMAT };
    let mut pos = 2; // after SOI
    let mut frame: Option<(u32, u32)> = None;
    let mut seen_scan = false;
    loop {
        match bytes.get(pos) {
            None => return Err(truncated),
            Some(0xff) => {}
            Some(_) => return Err(corrupt(FORMAT, "a marker was expected")),
        }
        // Any number of fill bytes may precede a marker.
        while bytes.get(pos) == Some(&0xff) {
            pos += 1;
        }
        let Some(&marker) = bytes.get(pos) else {
            return Err(truncated);
        };
        pos += 1;
        match marker {
            0xd9 => {
                let Some(dimensions) = frame.filter(|_| seen_scan) else {
                    return Err(corrupt(FORMAT, "the file ends before any image data"));
                };
                let trailing = &bytes[pos..];
                let padding_only = trailing.len() <= JPEG_MAX_PADDING
                    && trailing.iter().all(|b| *b == 0x00 || *b == 0xff);
                return if padding_only {
                    Ok(dimensions)
                } else {
                    Err(trailing_refusal(FORMAT, trailing))
                };
            }
            0xd8 => return Err(corrupt(FORMAT, "a second start-of-image marker")),
            0x00 => return Err(corrupt(FORMAT, "an invalid marker")),
            // Markers without a length.
            0x01 | 0xd0..=0xd7 => {}
            _ => {
                let Some(length) = bytes.get(pos..pos + 2) else {
                    return Err(truncated);
                };
                let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
                if length < 2 {
                    return Err(corrupt(FORMAT, "a segment length below 2"));
                }
                let Some(segment) = bytes.get(pos + 2..pos + length) else {
                    return Err(truncated);
                };
                pos += length;
                match marker {
                    // Start of frame; C4 (DHT), C8 (reserved) and CC (DAC) share the range.
                    0xc0..=0xcf if !matches!(marker, 0xc4 | 0xc8 | 0xcc) => {
                        if frame.is_some() {
                            return Err(corrupt(FORMAT, "more than one frame"));
                        }
                        let [_precision, h0, h1, w0, w1, ..] = *segment else {
                            return Err(corrupt(FORMAT, "a short frame header"));
                        };
                        let height = u32::from(u16::from_be_bytes([h0, h1]));
                        let width = u32::from(u16::from_be_bytes([w0, w1]));
                        if width == 0 || height == 0 {
                            return Err(corrupt(FORMAT, "a frame without dimensions"));
                        }
                        frame = Some((width, height));
                    }
                    0xda => {
                        if frame.is_none() {
                            return Err(corrupt(FORMAT, "a scan before the frame header"));
                        }
                        seen_scan = true;
                        pos = end_of_entropy_data(bytes, pos).ok_or(truncated.clone())?;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The position of the marker that ends the entropy-coded data starting at `pos`: `FF 00` is a
/// stuffed data byte, `FF D0`..`FF D7` restart markers and `FF FF` fill stay inside the scan.
fn end_of_entropy_data(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let at = pos + bytes.get(pos..)?.iter().position(|b| *b == 0xff)?;
        match bytes.get(at + 1)? {
            0x00 | 0xd0..=0xd7 => pos = at + 2,
            0xff => pos = at + 1,
            _ => return Some(at),
        }
    }
}

/// Walks the PNG's chunks, checking each CRC, to `IEND`, which must be the file's last byte;
/// answers the dimensions of `IHDR`.
fn check_png_structure(bytes: &[u8]) -> Result<(u32, u32), MaterialRefusal> {
    const FORMAT: MaterialFormat = MaterialFormat::Png;
    let truncated = MaterialRefusal::MaterialTruncated { format: FORMAT };
    let mut pos = PNG_MAGIC.len();
    let mut dimensions: Option<(u32, u32)> = None;
    loop {
        let Some(header) = bytes.get(pos..pos + 8) else {
            return Err(truncated);
        };
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        if length > 0x7fff_ffff {
            return Err(corrupt(FORMAT, "a chunk length above 2^31-1"));
        }
        let chunk_type = [header[4], header[5], header[6], header[7]];
        let data_start = pos + 8;
        let data_end = data_start + length as usize;
        let Some(crc) = bytes.get(data_end..data_end + 4) else {
            return Err(truncated);
        };
        let stored_crc = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32fast::hash(&bytes[pos + 4..data_end]) != stored_crc {
            return Err(corrupt(FORMAT, "a chunk CRC mismatch"));
        }
        let data = &bytes[data_start..data_end];
        pos = data_end + 4;
        match (&chunk_type, dimensions) {
            (b"IHDR", None) => {
                let [w0, w1, w2, w3, h0, h1, h2, h3, ..] = *data else {
                    return Err(corrupt(FORMAT, "a short IHDR"));
                };
                let width = u32::from_be_bytes([w0, w1, w2, w3]);
                let height = u32::from_be_bytes([h0, h1, h2, h3]);
                if width == 0 || height == 0 {
                    return Err(corrupt(FORMAT, "an image without pixels"));
                }
                dimensions = Some((width, height));
            }
            (_, None) => return Err(corrupt(FORMAT, "the first chunk is not IHDR")),
            (b"IHDR", Some(_)) => return Err(corrupt(FORMAT, "a second IHDR")),
            // An animated PNG shows a different frame depending on the viewer: a reviewer could
            // see another image than the one the checks (and the kiosk) saw.
            (b"acTL" | b"fcTL" | b"fdAT", Some(_)) => {
                return Err(MaterialRefusal::MaterialAnimated);
            }
            (b"IEND", Some(dimensions)) => {
                let trailing = &bytes[pos..];
                return if trailing.is_empty() {
                    Ok(dimensions)
                } else {
                    Err(trailing_refusal(FORMAT, trailing))
                };
            }
            _ => {}
        }
    }
}

/// A process-wide bound on decoding: at most `permits` decodes run at once, at most
/// `max_waiting` callers wait for a permit (the others are answered [`MaterialRefusal::Busy`]
/// at once), and no caller waits longer than `max_wait`. Blocking: call it from a blocking
/// thread (`tokio::task::spawn_blocking`), never from an async task.
#[derive(Debug)]
pub struct DecodePool {
    permits: usize,
    max_waiting: usize,
    max_wait: Duration,
    bounds: DecodeBounds,
    state: Mutex<PoolState>,
    freed: Condvar,
}

#[derive(Debug)]
struct PoolState {
    in_use: usize,
    waiting: usize,
}

/// A running decode's place in the pool; dropping it frees the place.
#[derive(Debug)]
pub struct DecodePermit<'a> {
    pool: &'a DecodePool,
}

impl Drop for DecodePermit<'_> {
    fn drop(&mut self) {
        let mut state = self.pool.lock();
        state.in_use -= 1;
        drop(state);
        self.pool.freed.notify_one();
    }
}

impl DecodePool {
    /// `permits` concurrent decodes (at least 1), `max_waiting` callers queued behind them.
    pub fn new(permits: usize, max_waiting: usize) -> Self {
        DecodePool {
            permits: permits.max(1),
            max_waiting,
            max_wait: Duration::from_secs(30),
            bounds: DecodeBounds::default(),
            state: Mutex::new(PoolState {
                in_use: 0,
                waiting: 0,
            }),
            freed: Condvar::new(),
        }
    }

    /// One decode per core (`std::thread::available_parallelism`), 32 callers queued per core.
    /// A queued caller holds only the body it has already received, while a refused one makes
    /// its kiosk send the whole body again: the queue is long enough for every kiosk of a busy
    /// hour to wait (16 kiosks at once were refused with 4 per core, `benches/submissions.rs`).
    pub fn for_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores, cores * 32)
    }

    /// The process-wide pool, made by [`DecodePool::for_machine`] on first use, for callers that
    /// keep no pool of their own.
    pub fn shared() -> &'static DecodePool {
        static POOL: OnceLock<DecodePool> = OnceLock::new();
        POOL.get_or_init(DecodePool::for_machine)
    }

    pub fn with_bounds(mut self, bounds: DecodeBounds) -> Self {
        self.bounds = bounds;
        self
    }

    /// How long a queued caller waits for a permit before it is answered Busy.
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    pub fn permits(&self) -> usize {
        self.permits
    }

    pub fn max_waiting(&self) -> usize {
        self.max_waiting
    }

    /// Decodes running now.
    pub fn in_use(&self) -> usize {
        self.lock().in_use
    }

    /// Callers queued now.
    pub fn waiting(&self) -> usize {
        self.lock().waiting
    }

    /// Checks one file within the pool's bound, against `limits` (those of the record's
    /// rules edition, [`kiosk_domain::RulesEdition::limits`]).
    pub fn check(
        &self,
        kind: MaterialKind,
        bytes: &[u8],
        limits: &MaterialLimits,
    ) -> Result<CheckedImage, MaterialRefusal> {
        let _permit = self.acquire()?;
        check_material_with(kind, bytes, limits, &self.bounds)
    }

    /// A place in the pool: at once if one is free, after queueing if the queue is not full and a
    /// place frees up within `max_wait`, else [`MaterialRefusal::Busy`].
    pub fn acquire(&self) -> Result<DecodePermit<'_>, MaterialRefusal> {
        let busy = MaterialRefusal::Busy {
            retry_after_secs: BUSY_RETRY_AFTER_SECS,
        };
        let mut state = self.lock();
        if state.in_use < self.permits {
            state.in_use += 1;
            return Ok(DecodePermit { pool: self });
        }
        if state.waiting >= self.max_waiting {
            return Err(busy);
        }
        state.waiting += 1;
        let deadline = Instant::now() + self.max_wait;
        loop {
            let now = Instant::now();
            if now >= deadline {
                state.waiting -= 1;
                return Err(busy);
            }
            state = self
                .freed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if state.in_use < self.permits {
                state.in_use += 1;
                state.waiting -= 1;
                return Ok(DecodePermit { pool: self });
            }
        }
    }

    // The state is two counters kept consistent under the lock: a panic elsewhere cannot leave
    // it half updated, so a poisoned lock is still usable.
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(kind);
        chunk.extend_from_slice(data);
        let crc = crc32fast::hash(&chunk[4..]);
        chunk.extend_from_slice(&crc.to_be_bytes());
        chunk
    }

    #[test]
    fn an_exif_thumbnail_end_marker_is_not_the_end_of_the_file() {
        // SOI, APP1 holding "FF D9" and more, a minimal SOS with entropy data, EOI.
        let mut jpeg = vec![0xff, 0xd8];
        jpeg.extend_from_slice(&[0xff, 0xe1, 0x00, 0x08, 0xff, 0xd9, b'P', b'K', 0x03, 0x04]);
        // SOF0: 8-bit, 1x1, one component.
        jpeg.extend_from_slice(&[0xff, 0xc0, 0x00, 0x0b, 8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
        jpeg.extend_from_slice(&[0xff, 0xda, 0x00, 0x02, 0x12, 0xff, 0x00, 0x34, 0xff, 0xd0]);
        jpeg.extend_from_slice(&[0x56, 0xff, 0xd9]);
        assert_eq!(check_jpeg_structure(&jpeg), Ok((1, 1)));
        let mut padded = jpeg.clone();
        padded.extend_from_slice(&[0x00; 8]);
        assert_eq!(check_jpeg_structure(&padded), Ok((1, 1)));
        let mut appended = jpeg.clone();
        appended.extend_from_slice(b"<html>");
        assert_eq!(
            check_jpeg_structure(&appended),
            Err(MaterialRefusal::MaterialTrailingData {
                format: MaterialFormat::Jpeg,
                trailing_bytes: 6,
                appended: Some("HTML"),
            })
        );
        assert_eq!(
            check_jpeg_structure(&jpeg[..jpeg.len() - 2]),
            Err(MaterialRefusal::MaterialTruncated {
                format: MaterialFormat::Jpeg
            })
        );
    }

    #[test]
    fn png_chunks_are_walked_to_iend_with_their_crc() {
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&1u32.to_be_bytes());
        ihdr.extend_from_slice(&1u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        let mut png = PNG_MAGIC.to_vec();
        png.extend(png_chunk(b"IHDR", &ihdr));
        png.extend(png_chunk(b"IDAT", &[0x78, 0x01]));
        let body = png.clone();
        png.extend(png_chunk(b"IEND", &[]));
        assert_eq!(check_png_structure(&png), Ok((1, 1)));

        let mut bad_crc = png.clone();
        let last = bad_crc.len() - 1;
        bad_crc[last] ^= 1;
        assert!(matches!(
            check_png_structure(&bad_crc),
            Err(MaterialRefusal::MaterialDecodeFailed { .. })
        ));
        assert_eq!(
            check_png_structure(&body),
            Err(MaterialRefusal::MaterialTruncated {
                format: MaterialFormat::Png
            })
        );
        let mut animated = body.clone();
        animated.extend(png_chunk(b"acTL", &[0, 0, 0, 2, 0, 0, 0, 0]));
        animated.extend(png_chunk(b"IEND", &[]));
        assert_eq!(
            check_png_structure(&animated),
            Err(MaterialRefusal::MaterialAnimated)
        );
    }

    #[test]
    fn every_refusal_has_a_code_and_two_messages() {
        let refusals = [
            MaterialRefusal::MaterialEmpty,
            MaterialRefusal::MaterialNotImage,
            MaterialRefusal::PhotoNotJpeg {
                found: MaterialFormat::Png,
            },
            MaterialRefusal::PhotoBytesOutOfRange {
                bytes: 25_000,
                min_exclusive: 10_240,
                max: 20_000,
            },
            MaterialRefusal::MaterialTooLarge {
                bytes: 250_000,
                max: 200_000,
            },
            MaterialRefusal::PhotoTooSmall {
                width: 200,
                height: 300,
                min_width: 295,
                min_height: 413,
            },
            MaterialRefusal::MaterialTooManyPixels {
                width: 60_000,
                height: 60_000,
            },
            MaterialRefusal::MaterialTruncated {
                format: MaterialFormat::Jpeg,
            },
            MaterialRefusal::MaterialDecodeFailed {
                format: MaterialFormat::Png,
                detail: "x".to_owned(),
            },
            MaterialRefusal::MaterialTrailingData {
                format: MaterialFormat::Jpeg,
                trailing_bytes: 10,
                appended: Some("ZIP"),
            },
            MaterialRefusal::MaterialAnimated,
            MaterialRefusal::MaterialDecodeTimeout {
                elapsed_ms: 6_000,
                limit_ms: 5_000,
            },
            MaterialRefusal::Busy {
                retry_after_secs: 2,
            },
        ];
        let mut codes = std::collections::HashSet::new();
        for refusal in &refusals {
            assert!(codes.insert(refusal.code()), "{} twice", refusal.code());
            assert!(
                refusal
                    .message_zh()
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{}",
                refusal.code()
            );
            assert!(!refusal.message_en().is_empty());
        }
        assert!(
            MaterialRefusal::MaterialEmpty
                .message_zh_for(MaterialKind::IdCardFront)
                .starts_with("身份证正面：")
        );
    }
}
