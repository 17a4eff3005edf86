//! Camera frame → RGBA8 for the live preview.
//!
//! YUYV (YUY2, 4:2:2) uses BT.601 limited range (what UVC cameras send) in 8.8 fixed point; RGB24
//! is expanded; MJPEG frames are decoded (zune-jpeg through `image`) and expanded. The
//! destination buffer is reused between frames; nothing allocates per frame except MJPEG
//! decoding.

use std::borrow::Cow;
use std::io::Cursor;
use std::sync::OnceLock;

use image::ImageDecoder;
use image::codecs::jpeg::JpegDecoder;

use crate::error::{MediaError, Result};

/// Pixel format of a camera frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameFormat {
    /// Packed Y0 U Y1 V, two pixels per four bytes.
    Yuyv,
    /// Packed R G B.
    Rgb24,
    /// One JPEG image per frame.
    Mjpeg,
}

/// A borrowed camera frame.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    pub format: FrameFormat,
    pub width: u32,
    pub height: u32,
    /// Bytes per row; 0 means tightly packed. Ignored for MJPEG.
    pub stride: usize,
    pub data: &'a [u8],
}

/// Converts any supported frame into `dst` (resized to `width * height * 4`); returns the
/// frame's size (for MJPEG, the decoded size).
pub fn frame_to_rgba(frame: &Frame<'_>, dst: &mut Vec<u8>) -> Result<(u32, u32)> {
    match frame.format {
        FrameFormat::Yuyv => {
            dst.resize(frame.width as usize * frame.height as usize * 4, 0);
            yuyv_to_rgba(frame.data, frame.width, frame.height, frame.stride, dst)?;
            Ok((frame.width, frame.height))
        }
        FrameFormat::Rgb24 => {
            dst.resize(frame.width as usize * frame.height as usize * 4, 0);
            rgb24_to_rgba(frame.data, frame.width, frame.height, frame.stride, dst)?;
            Ok((frame.width, frame.height))
        }
        FrameFormat::Mjpeg => mjpeg_to_rgba(frame.data, dst),
    }
}

fn check_sizes(
    src: &[u8],
    width: u32,
    height: u32,
    stride: usize,
    bpp: usize,
    dst: &[u8],
) -> Result<usize> {
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 {
        return Err(MediaError::InvalidFrame {
            detail: format!("{width}x{height}"),
        });
    }
    let row = w * bpp;
    let stride = if stride == 0 { row } else { stride };
    if stride < row {
        return Err(MediaError::InvalidFrame {
            detail: format!("stride {stride} < row {row}"),
        });
    }
    let needed = stride * (h - 1) + row;
    if src.len() < needed {
        return Err(MediaError::InvalidFrame {
            detail: format!("{} bytes, {needed} needed", src.len()),
        });
    }
    if dst.len() < w * h * 4 {
        return Err(MediaError::InvalidFrame {
            detail: format!("destination has {} bytes, {} needed", dst.len(), w * h * 4),
        });
    }
    Ok(stride)
}

#[inline(always)]
fn clamp_u8(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// YUYV 4:2:2 (BT.601 limited range) to RGBA8. `width` must be even.
pub fn yuyv_to_rgba(
    src: &[u8],
    width: u32,
    height: u32,
    stride: usize,
    dst: &mut [u8],
) -> Result<()> {
    if !width.is_multiple_of(2) {
        return Err(MediaError::InvalidFrame {
            detail: format!("YUYV width {width} is odd"),
        });
    }
    let stride = check_sizes(src, width, height, stride, 2, dst)?;
    let (w, h) = (width as usize, height as usize);
    for y in 0..h {
        let s = &src[y * stride..y * stride + w * 2];
        let d = &mut dst[y * w * 4..(y + 1) * w * 4];
        for (sp, dp) in s.chunks_exact(4).zip(d.chunks_exact_mut(8)) {
            let c0 = (i32::from(sp[0]) - 16) * 298;
            let c1 = (i32::from(sp[2]) - 16) * 298;
            let u = i32::from(sp[1]) - 128;
            let v = i32::from(sp[3]) - 128;
            let r = 409 * v + 128;
            let g = -100 * u - 208 * v + 128;
            let b = 516 * u + 128;
            dp[0] = clamp_u8((c0 + r) >> 8);
            dp[1] = clamp_u8((c0 + g) >> 8);
            dp[2] = clamp_u8((c0 + b) >> 8);
            dp[3] = 255;
            dp[4] = clamp_u8((c1 + r) >> 8);
            dp[5] = clamp_u8((c1 + g) >> 8);
            dp[6] = clamp_u8((c1 + b) >> 8);
            dp[7] = 255;
        }
    }
    Ok(())
}

/// RGB24 to RGBA8.
pub fn rgb24_to_rgba(
    src: &[u8],
    width: u32,
    height: u32,
    stride: usize,
    dst: &mut [u8],
) -> Result<()> {
    let stride = check_sizes(src, width, height, stride, 3, dst)?;
    let (w, h) = (width as usize, height as usize);
    for y in 0..h {
        let s = &src[y * stride..y * stride + w * 3];
        let d = &mut dst[y * w * 4..(y + 1) * w * 4];
        for (sp, dp) in s.chunks_exact(3).zip(d.chunks_exact_mut(4)) {
            dp[0] = sp[0];
            dp[1] = sp[1];
            dp[2] = sp[2];
            dp[3] = 255;
        }
    }
    Ok(())
}

/// The standard Huffman tables of ITU-T T.81 Annex K.3 as DHT segments: taken once from what
/// `jpeg-encoder` writes when it does not optimise its tables.
fn standard_huffman_tables() -> &'static [u8] {
    static TABLES: OnceLock<Vec<u8>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut jpeg = Vec::new();
        let encoded = jpeg_encoder::Encoder::new(&mut jpeg, 90).encode(
            &[128; 8 * 8 * 3],
            8,
            8,
            jpeg_encoder::ColorType::Rgb,
        );
        if encoded.is_err() {
            return Vec::new();
        }
        let mut tables = Vec::new();
        for (marker, segment) in segments_before_scan(&jpeg) {
            if marker == 0xC4 {
                tables.extend_from_slice(segment);
            }
        }
        tables
    })
}

/// The marker segments (marker byte, whole segment) from SOI up to, not including, SOS.
fn segments_before_scan(jpeg: &[u8]) -> Vec<(u8, &[u8])> {
    let mut found = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        if marker == 0xDA {
            break;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        let Some(segment) = jpeg.get(i..i + 2 + len) else {
            break;
        };
        found.push((marker, segment));
        i += 2 + len;
    }
    found
}

/// Many UVC cameras send MJPEG frames without Huffman tables (they rely on the standard ones,
/// as Motion-JPEG in AVI does); decoders that need them get the standard tables inserted before
/// the scan.
fn with_huffman_tables(src: &[u8]) -> Cow<'_, [u8]> {
    if !src.starts_with(&[0xFF, 0xD8]) {
        return Cow::Borrowed(src);
    }
    let segments = segments_before_scan(src);
    if segments.iter().any(|(m, _)| *m == 0xC4) {
        return Cow::Borrowed(src);
    }
    let header_len = 2 + segments.iter().map(|(_, s)| s.len()).sum::<usize>();
    if src.get(header_len..header_len + 2) != Some(&[0xFF, 0xDA]) {
        return Cow::Borrowed(src);
    }
    let tables = standard_huffman_tables();
    let mut fixed = Vec::with_capacity(src.len() + tables.len());
    fixed.extend_from_slice(&src[..header_len]);
    fixed.extend_from_slice(tables);
    fixed.extend_from_slice(&src[header_len..]);
    Cow::Owned(fixed)
}

/// Decodes one MJPEG frame into RGBA8 (at most 4096x4096); returns its size.
pub fn mjpeg_to_rgba(src: &[u8], dst: &mut Vec<u8>) -> Result<(u32, u32)> {
    if src.is_empty() {
        return Err(MediaError::InvalidFrame {
            detail: "empty MJPEG frame".into(),
        });
    }
    let invalid = |e: image::ImageError| MediaError::InvalidFrame {
        detail: e.to_string(),
    };
    let src = with_huffman_tables(src);
    let mut decoder = JpegDecoder::new(Cursor::new(&*src)).map_err(invalid)?;
    let (w, h) = decoder.dimensions();
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(4096);
    limits.max_image_height = Some(4096);
    decoder.set_limits(limits).map_err(invalid)?;
    let color = decoder.color_type();
    let mut buf = vec![
        0u8;
        usize::try_from(decoder.total_bytes())
            .unwrap_or(usize::MAX)
            .min(4096 * 4096 * 4)
    ];
    decoder.read_image(&mut buf).map_err(invalid)?;
    let n = w as usize * h as usize;
    dst.resize(n * 4, 0);
    match color {
        image::ColorType::Rgb8 => rgb24_to_rgba(&buf, w, h, 0, dst)?,
        image::ColorType::L8 => {
            for (d, &g) in dst.chunks_exact_mut(4).zip(&buf) {
                d.copy_from_slice(&[g, g, g, 255]);
            }
        }
        image::ColorType::Rgba8 => dst.copy_from_slice(&buf[..n * 4]),
        other => {
            return Err(MediaError::InvalidFrame {
                detail: format!("MJPEG colour type {other:?}"),
            });
        }
    }
    Ok((w, h))
}

/// A small copy of a checked file, at most `max_side` pixels on its longer side, for the
/// applicant to see what will be sent. Decoded within the usual limits: a damaged file is an
/// error, never a panic.
pub fn thumbnail(bytes: &[u8], max_side: u32) -> Result<image::RgbImage> {
    let image = crate::decode::decode(bytes)?.image;
    let (w, h) = image.dimensions();
    let scale = f64::from(max_side.max(1)) / f64::from(w.max(h).max(1));
    if scale >= 1.0 {
        return Ok(image);
    }
    let side = |n: u32| ((f64::from(n) * scale).round() as u32).max(1);
    Ok(image::imageops::thumbnail(&image, side(w), side(h)))
}
