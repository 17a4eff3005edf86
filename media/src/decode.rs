//! Safe decoding of untrusted PNG and JPEG bytes.
//!
//! Order of defence:
//! 1. the byte length is checked ([`DecodeLimits::max_input_bytes`]);
//! 2. the format is sniffed from the magic bytes (the file name is never trusted);
//! 3. the dimensions are read by our own small header parser (PNG `IHDR`, JPEG `SOFn`) and checked
//!    against [`DecodeLimits`] **before** any decoder allocates pixel memory; the same limits are
//!    also handed to the `image` crate (`image::Limits`) as a second line;
//! 4. truncation is detected structurally (a JPEG without an `EOI` marker after its first scan, a
//!    PNG without `IEND`), because the JPEG decoder is lenient and would otherwise fill the missing
//!    part with grey;
//! 5. animated PNGs are refused ([`MediaError::AnimatedPng`]): which frame a reviewer sees
//!    depends on the viewer, so the applicant is asked for a still image;
//! 6. the EXIF orientation (JPEG APP1 or PNG `eXIf`) is applied;
//! 7. everything ends as 8-bit RGB: 16-bit samples are scaled down, grey is expanded, alpha is
//!    composited over white (a transparent background becomes white), CMYK/YCCK JPEGs are
//!    converted to RGB by the decoder (Adobe-inverted CMYK included).

use std::io::Cursor;

use image::codecs::jpeg::JpegDecoder;
use image::codecs::png::PngDecoder;
use image::error::{ImageError, LimitErrorKind};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, RgbImage};
use serde::Serialize;
use tracing::debug;

use crate::error::{MediaError, Result};

/// Limits applied to every untrusted input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DecodeLimits {
    /// Largest accepted file, in bytes.
    pub max_input_bytes: usize,
    /// Largest accepted width, in pixels (as stored, before orientation).
    pub max_width: u32,
    /// Largest accepted height, in pixels (as stored, before orientation).
    pub max_height: u32,
    /// Largest accepted width × height.
    pub max_pixels: u64,
    /// Upper bound for the decoder's allocations, in bytes.
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    /// 64 MB files, at most 10000 px per side and 36 megapixels, 400 MiB for the decoder: a 36 MP
    /// 16-bit RGBA PNG (288 MB) still decodes, a header claiming 60000x60000 is refused.
    fn default() -> Self {
        DecodeLimits {
            max_input_bytes: 64 * 1024 * 1024,
            max_width: 10_000,
            max_height: 10_000,
            max_pixels: 36_000_000,
            max_alloc: 400 * 1024 * 1024,
        }
    }
}

/// The container format found in the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    Png,
    Jpeg,
}

/// What [`probe`] reads from the header alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct HeaderInfo {
    pub format: SourceFormat,
    /// Width as stored (before any EXIF orientation).
    pub width: u32,
    /// Height as stored (before any EXIF orientation).
    pub height: u32,
    /// JPEG: number of colour components (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK). PNG: 0.
    pub jpeg_components: u8,
    /// PNG: bit depth per sample (1, 2, 4, 8, 16). JPEG: sample precision (8 or 12).
    pub bit_depth: u8,
}

/// A decoded image, always 8-bit RGB, already turned upright.
#[derive(Clone, Debug)]
pub struct Decoded {
    pub image: RgbImage,
    pub format: SourceFormat,
    /// The EXIF orientation value (1..=8) that was applied; 1 when there was none.
    pub exif_orientation: u8,
}

/// Decodes with [`DecodeLimits::default`].
pub fn decode(bytes: &[u8]) -> Result<Decoded> {
    decode_with_limits(bytes, &DecodeLimits::default())
}

/// Reads format and dimensions from the header without decoding any pixel.
pub fn probe(bytes: &[u8]) -> Result<HeaderInfo> {
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    match sniff(bytes)? {
        SourceFormat::Png => probe_png(bytes),
        SourceFormat::Jpeg => probe_jpeg(bytes).map(|(info, _)| info),
    }
}

/// Decodes untrusted bytes into an upright 8-bit RGB image, within `limits`.
pub fn decode_with_limits(bytes: &[u8], limits: &DecodeLimits) -> Result<Decoded> {
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    if bytes.len() > limits.max_input_bytes {
        return Err(MediaError::InputTooLarge {
            bytes: bytes.len(),
            limit: limits.max_input_bytes,
        });
    }
    let format = sniff(bytes)?;
    let info = match format {
        SourceFormat::Png => {
            let info = probe_png(bytes)?;
            check_dimensions(&info, limits)?;
            if !png_has_iend(bytes) {
                return Err(MediaError::Truncated);
            }
            info
        }
        SourceFormat::Jpeg => {
            let (info, first_scan) = probe_jpeg(bytes)?;
            check_dimensions(&info, limits)?;
            if !jpeg_has_eoi_after(bytes, first_scan) {
                return Err(MediaError::Truncated);
            }
            info
        }
    };
    debug!(
        format = ?info.format,
        width = info.width,
        height = info.height,
        components = info.jpeg_components,
        bit_depth = info.bit_depth,
        "decoding image"
    );

    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_width);
    image_limits.max_image_height = Some(limits.max_height);
    image_limits.max_alloc = Some(limits.max_alloc);

    let (mut dynamic, orientation) = match format {
        SourceFormat::Png => {
            let mut decoder = PngDecoder::with_limits(Cursor::new(bytes), image_limits)
                .map_err(map_image_error)?;
            if decoder.is_apng().map_err(map_image_error)? {
                return Err(MediaError::AnimatedPng);
            }
            let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
            let img = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
            (img, orientation)
        }
        SourceFormat::Jpeg => {
            let mut decoder = JpegDecoder::new(Cursor::new(bytes)).map_err(map_image_error)?;
            decoder.set_limits(image_limits).map_err(map_image_error)?;
            let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
            let img = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
            (img, orientation)
        }
    };
    dynamic.apply_orientation(orientation);
    let image = flatten_to_rgb8(dynamic);
    Ok(Decoded {
        image,
        format,
        exif_orientation: orientation_value(orientation),
    })
}

fn orientation_value(o: Orientation) -> u8 {
    match o {
        Orientation::NoTransforms => 1,
        Orientation::FlipHorizontal => 2,
        Orientation::Rotate180 => 3,
        Orientation::FlipVertical => 4,
        Orientation::Rotate90FlipH => 5,
        Orientation::Rotate90 => 6,
        Orientation::Rotate270FlipH => 7,
        Orientation::Rotate270 => 8,
    }
}

/// Converts any decoded image to 8-bit RGB; alpha is composited over white.
pub(crate) fn flatten_to_rgb8(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let src = rgba.as_raw();
    let mut out = vec![0u8; w as usize * h as usize * 3];
    for (o, s) in out.chunks_exact_mut(3).zip(src.chunks_exact(4)) {
        let a = u32::from(s[3]);
        let inv = 255 - a;
        for c in 0..3 {
            o[c] = ((u32::from(s[c]) * a + 255 * inv + 127) / 255) as u8;
        }
    }
    // The buffer has exactly w*h*3 bytes.
    RgbImage::from_raw(w, h, out).unwrap_or_else(|| RgbImage::new(w, h))
}

fn sniff(bytes: &[u8]) -> Result<SourceFormat> {
    const PNG_SIG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(PNG_SIG) {
        return Ok(SourceFormat::Png);
    }
    if bytes.len() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF {
        return Ok(SourceFormat::Jpeg);
    }
    // A truncated signature of an accepted format is a truncated file.
    if (bytes.len() < PNG_SIG.len() && PNG_SIG.starts_with(bytes))
        || bytes == [0xFF]
        || bytes == [0xFF, 0xD8]
    {
        return Err(MediaError::Truncated);
    }
    let found = if bytes.starts_with(b"GIF8") {
        "GIF"
    } else if bytes.starts_with(b"BM") {
        "BMP"
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "WebP"
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        "HEIC/AVIF"
    } else if bytes.starts_with(b"%PDF") {
        "PDF"
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        "TIFF"
    } else {
        "unknown"
    };
    Err(MediaError::UnsupportedFormat { found })
}

fn check_dimensions(info: &HeaderInfo, limits: &DecodeLimits) -> Result<()> {
    if info.width == 0 || info.height == 0 {
        return Err(MediaError::Corrupt {
            detail: format!("header declares {}x{}", info.width, info.height),
        });
    }
    let pixels = u64::from(info.width) * u64::from(info.height);
    if info.width > limits.max_width
        || info.height > limits.max_height
        || pixels > limits.max_pixels
    {
        return Err(MediaError::DimensionsTooLarge {
            width: info.width,
            height: info.height,
            max_width: limits.max_width,
            max_height: limits.max_height,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(())
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn be_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn probe_png(bytes: &[u8]) -> Result<HeaderInfo> {
    // signature (8) + length (4) + "IHDR" (4) + width (4) + height (4) + depth (1) + colour (1) ...
    if bytes.len() < 8 + 8 + 13 {
        return Err(MediaError::Truncated);
    }
    if bytes.get(12..16) != Some(b"IHDR".as_slice()) {
        return Err(MediaError::Corrupt {
            detail: "PNG does not start with IHDR".into(),
        });
    }
    let width = be_u32(bytes, 16).ok_or(MediaError::Truncated)?;
    let height = be_u32(bytes, 20).ok_or(MediaError::Truncated)?;
    let bit_depth = bytes.get(24).copied().ok_or(MediaError::Truncated)?;
    Ok(HeaderInfo {
        format: SourceFormat::Png,
        width,
        height,
        jpeg_components: 0,
        bit_depth,
    })
}

/// True when a PNG `IEND` chunk type is present (searched from the end: trailing bytes after
/// `IEND` are tolerated, a file cut before it is not).
fn png_has_iend(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && bytes.windows(4).rev().any(|w| w == b"IEND")
}

/// Walks the JPEG marker segments up to the first start-of-frame; returns the header and the
/// offset of the first start-of-scan (or of the end of the headers read).
fn probe_jpeg(bytes: &[u8]) -> Result<(HeaderInfo, usize)> {
    let mut pos = 2; // after SOI
    let mut frame: Option<HeaderInfo> = None;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        if pos >= bytes.len() {
            return Err(MediaError::Truncated);
        }
        if bytes[pos] != 0xFF {
            return Err(MediaError::Corrupt {
                detail: format!("expected a JPEG marker at byte {pos}"),
            });
        }
        while pos < bytes.len() && bytes[pos] == 0xFF {
            pos += 1;
        }
        let Some(&marker) = bytes.get(pos) else {
            return Err(MediaError::Truncated);
        };
        pos += 1;
        match marker {
            0xD8 | 0x01 | 0xD0..=0xD7 => continue, // no length
            0xD9 => {
                // End of image before any scan: check the size first, then report truncation.
                return match frame {
                    Some(info) => Ok((info, bytes.len())),
                    None => Err(MediaError::Corrupt {
                        detail: "JPEG ends before any image data".into(),
                    }),
                };
            }
            _ => {}
        }
        let len = usize::from(be_u16(bytes, pos).ok_or(MediaError::Truncated)?);
        if len < 2 {
            return Err(MediaError::Corrupt {
                detail: "JPEG segment with invalid length".into(),
            });
        }
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            // length(2) precision(1) height(2) width(2) components(1)
            let precision = *bytes.get(pos + 2).ok_or(MediaError::Truncated)?;
            let height = be_u16(bytes, pos + 3).ok_or(MediaError::Truncated)?;
            let width = be_u16(bytes, pos + 5).ok_or(MediaError::Truncated)?;
            let components = *bytes.get(pos + 7).ok_or(MediaError::Truncated)?;
            if !matches!(components, 1 | 3 | 4) {
                return Err(MediaError::UnsupportedColor {
                    detail: format!("JPEG with {components} colour components"),
                });
            }
            if !matches!(marker, 0xC0..=0xC2) {
                return Err(MediaError::UnsupportedFormat {
                    found: "JPEG (lossless/hierarchical/arithmetic coding)",
                });
            }
            frame = Some(HeaderInfo {
                format: SourceFormat::Jpeg,
                width: u32::from(width),
                height: u32::from(height),
                jpeg_components: components,
                bit_depth: precision,
            });
        }
        if marker == 0xDA {
            return match frame {
                Some(info) => Ok((info, pos)),
                None => Err(MediaError::Corrupt {
                    detail: "JPEG scan before frame header".into(),
                }),
            };
        }
        pos += len;
        // A file that ends right after the frame header: report it as truncated, but with the
        // dimensions checked first (a huge header must be refused as huge).
        if pos >= bytes.len() {
            return match frame {
                Some(info) => Ok((info, bytes.len())),
                None => Err(MediaError::Truncated),
            };
        }
    }
}

/// Inside entropy-coded data every 0xFF is followed by 0x00 or a restart marker, so the first
/// `FF D9` after the first scan header is the end-of-image marker.
fn jpeg_has_eoi_after(bytes: &[u8], start: usize) -> bool {
    match bytes.get(start..) {
        Some(rest) => rest.windows(2).any(|w| w == [0xFF, 0xD9]),
        None => false,
    }
}

fn map_image_error(err: ImageError) -> MediaError {
    match err {
        ImageError::Limits(l) => match l.kind() {
            LimitErrorKind::DimensionError => MediaError::DimensionsTooLarge {
                width: 0,
                height: 0,
                max_width: DecodeLimits::default().max_width,
                max_height: DecodeLimits::default().max_height,
                max_pixels: DecodeLimits::default().max_pixels,
            },
            _ => MediaError::MemoryLimit,
        },
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            MediaError::Truncated
        }
        ImageError::Unsupported(u) => MediaError::UnsupportedColor {
            detail: u.to_string(),
        },
        other => {
            let detail = other.to_string();
            if detail.contains("end of") || detail.contains("EOF") || detail.contains("eof") {
                MediaError::Truncated
            } else {
                MediaError::Corrupt { detail }
            }
        }
    }
}
