//! The kiosk's image pipeline: no UI, no camera code.
//!
//! Entry points for the CLI (`kiosk media photo|doc|compress`) and the UI:
//! * [`process_photo`]: checks an ID photo (one face, head size and position, white background,
//!   exposure, sharpness), crops it to 295x413 (configurable) and compresses it into
//!   10,240 < bytes <= 20,000;
//! * [`process_document`]: finds a page's corners on a darker tray (or takes the user's),
//!   corrects the perspective to 150 dpi A4 or a 300 dpi ID card, keeps colour, compresses to
//!   at most 200,000 bytes;
//! * [`compress_file`]: re-encodes any accepted upload into a byte range;
//! * [`preview::frame_to_rgba`]: camera frames (YUYV, RGB24, MJPEG) to RGBA8 for display;
//! * [`receipt::render`]: the applicant's receipt, text and QR code, as a printer's 1-bit raster.
//!
//! All input is untrusted: see [`decode`] for the limits. Errors carry English and plain
//! Chinese messages ([`MediaError::en`], [`MediaError::zh`]).
//!
//! # Licence notices for binary distribution
//! * `jpeg-encoder` is `(MIT OR Apache-2.0) AND IJG`: the IJG licence (GPL-compatible) asks
//!   that the documentation of a binary state "this software is based in part on the work of
//!   the Independent JPEG Group".
//! * The embedded SeetaFace model (`model/`) is BSD-2-Clause: its copyright notice and licence
//!   text (`model/LICENSE-SeetaFace-BSD-2-Clause.txt`) must ship with the binary.

pub mod compress;
pub mod decode;
pub mod document;
pub mod error;
pub mod face;
pub mod geometry;
mod huffman;
pub mod metrics;
mod ops;
pub mod photo;
pub mod preview;
pub mod receipt;

use serde::Serialize;

pub use compress::{Chroma, Encoded, Limits, compress, compress_to_range, encode_jpeg};
pub use decode::{DecodeLimits, Decoded, SourceFormat, decode_with_limits, probe};
pub use document::{CornerSource, DocKind, DocReport, process_document, process_document_image};
pub use error::{MediaError, Result};
pub use geometry::Point;
pub use image::RgbImage;
pub use photo::{Check, PhotoOptions, PhotoReport, process_photo, process_photo_image};
pub use preview::{Frame, FrameFormat, frame_to_rgba, thumbnail};

/// The outcome of [`compress_file`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CompressReport {
    pub bytes: usize,
    pub quality: u8,
    pub width: u32,
    pub height: u32,
}

/// Decodes an upload (JPEG or PNG, EXIF orientation applied) and re-encodes it as a JPEG with
/// `min_bytes < size <= max_bytes` (no floor when `min_bytes` is `None`).
///
/// The file is always re-encoded, even when it already fits: that strips EXIF and other
/// metadata (location, camera serial) and makes the orientation explicit. Without a floor the
/// material rules apply (resolution is traded for quality below quality 50, see
/// [`compress::compress`]); with a floor (photos) the image is only downscaled when quality 1
/// does not fit.
pub fn compress_file(
    input: &[u8],
    max_bytes: usize,
    min_bytes: Option<usize>,
) -> Result<(Vec<u8>, CompressReport)> {
    let img = decode::decode(input)?.image;
    let limits = Limits {
        min_bytes,
        max_bytes,
        // With a floor (the photo range) never go below the photo minimum 295x413.
        min_width: img.width().min(if min_bytes.is_some() { 295 } else { 64 }),
        min_height: img.height().min(if min_bytes.is_some() { 413 } else { 64 }),
        density_dpi: 0,
        min_quality: if min_bytes.is_some() { 1 } else { 50 },
    };
    let enc = compress(&img, &limits)?;
    let report = CompressReport {
        bytes: enc.bytes.len(),
        quality: enc.quality,
        width: enc.width,
        height: enc.height,
    };
    tracing::debug!(?report, "file compressed");
    Ok((enc.bytes, report))
}
