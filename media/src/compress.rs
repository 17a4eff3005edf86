//! JPEG compression into a byte range.
//!
//! The encoder is the pure-Rust `jpeg-encoder` crate, always baseline with one interleaved
//! scan, 4:2:0 chroma averaged over each 2x2 block
//! ([`jpeg_encoder::ChromaSubsamplingMethod::Average`]), the JFIF density set from the physical
//! size, and no metadata (EXIF from the source is never copied: no GPS, no camera serial).
//!
//! **Huffman tables are optimised by our own lossless post-pass** ([`OPTIMIZE_HUFFMAN`], module
//! `huffman`), not by `jpeg-encoder`: version 0.7.1 writes one scan per component when it
//! optimises the tables, and `zune-jpeg` 0.5.15 (the decoder inside the `image` crate, so inside
//! the kiosk's own UI and any Rust service) decodes such non-interleaved 4:2:0 files with
//! green/purple bands, although they are valid (libjpeg-turbo decodes them correctly). The
//! post-pass keeps the single interleaved scan and the coefficients; it saves 3-6 %.
//!
//! The quality is the highest whose file fits `max_bytes`. The search encodes pairs of
//! qualities in parallel on two threads. For images over 60,000 pixels a first guess comes
//! from a proxy (a quarter of the 16x16 tiles, quasi-randomly sampled) encoded at six fixed
//! qualities; the full image then usually needs one or two pairs. Later pairs follow a secant on
//! `ln(size)` against `ln(quantisation scale)`, with bisection after four rounds.
//! Then:
//! * the file must be **larger than** `min_bytes` (the photo rule is "more than 10 KB"). If the
//!   best 4:2:0 file is not, the search is repeated with 4:4:4 chroma (more bytes for the same
//!   picture). If even that stays at or under the floor, [`MediaError::BelowMinimumSize`] is
//!   returned. A file is never padded after its end-of-image marker, and the image is never
//!   upscaled to gain bytes (that would only add blur);
//! * if quality 1 does not fit `max_bytes`, the image is downscaled by steps (keeping its aspect
//!   ratio, never below `min_width` x `min_height`) and the search repeats; at the minimum size
//!   [`MediaError::CannotFit`] is returned;
//! * if the best quality is below `min_quality`, the image is downscaled (at most four steps of
//!   0.85) to trade resolution for fewer block artefacts; the best result found is kept;
//! * an image with far more pixels than the byte budget can carry (more than
//!   [`MAX_PIXELS_PER_BYTE`] pixels per byte) is downscaled before the search.
//!
//! When the image is downscaled the JFIF density is scaled with it, so the physical size stays.

use image::RgbImage;
use image::imageops::FilterType;
use jpeg_encoder::{
    ChromaSubsamplingMethod, ColorType, Encoder, PixelDensity, QuantizationTableType,
    SamplingFactor,
};
use serde::Serialize;
use tracing::debug;

use crate::error::{MediaError, Result};

/// Above this many pixels per byte of budget, the image is downscaled before searching.
pub const MAX_PIXELS_PER_BYTE: u64 = 12;

/// Optimise the Huffman tables with our own post-pass (see the module docs). The test
/// `our_jpegs_decode_correctly_with_the_image_crate` guards the interleaved layout.
pub const OPTIMIZE_HUFFMAN: bool = true;

/// Quantisation tables used by the encoder. The bench (`scripts/bench-media`) compared the
/// Annex K default, MS-SSIM-tuned and ImageMagick (N. Robidoux) tables at the same byte limits;
/// see `docs/benchmarks-media.md`.
pub const QUANT_TABLES: QuantizationTableType = QuantizationTableType::Default;

/// Byte and size limits for one kind of material.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// The file must be strictly larger than this many bytes (`None`: no floor).
    pub min_bytes: Option<usize>,
    /// The file must be at most this many bytes.
    pub max_bytes: usize,
    /// Downscaling never goes below this width.
    pub min_width: u32,
    /// Downscaling never goes below this height.
    pub min_height: u32,
    /// Pixel density written in the JFIF header for the image as given (0: none, aspect 1:1).
    pub density_dpi: u16,
    /// Below this quality, resolution is traded for quality (see the module docs).
    pub min_quality: u8,
}

impl Default for Limits {
    /// The 1-inch ID photo: [`Limits::photo`].
    fn default() -> Self {
        Limits::photo()
    }
}

impl Limits {
    /// 1-inch ID photo: 10,240 < bytes <= 20,000 ("20K" read as the smaller 20,000), at least
    /// 295x413 px, 300 dpi (295x413 px = 25x35 mm).
    pub fn photo() -> Self {
        Limits {
            min_bytes: Some(10_240),
            max_bytes: 20_000,
            min_width: 295,
            min_height: 413,
            density_dpi: 300,
            min_quality: 1,
        }
    }

    /// The ID-card photo standard 358x441 px (26x32 mm at 350 dpi), same byte range.
    pub fn photo_358x441() -> Self {
        Limits {
            min_width: 358,
            min_height: 441,
            density_dpi: 350,
            ..Limits::photo()
        }
    }

    /// Every other material: at most 200,000 bytes, no floor, density 150 dpi.
    pub fn material() -> Self {
        Limits {
            min_bytes: None,
            max_bytes: 200_000,
            min_width: 64,
            min_height: 64,
            density_dpi: 150,
            min_quality: 50,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.max_bytes < 1_000 {
            return Err(MediaError::InvalidOptions(format!(
                "max_bytes {} is too small for any JPEG",
                self.max_bytes
            )));
        }
        if let Some(min) = self.min_bytes
            && min >= self.max_bytes
        {
            return Err(MediaError::InvalidOptions(format!(
                "min_bytes {min} must be below max_bytes {}",
                self.max_bytes
            )));
        }
        if self.min_width == 0 || self.min_height == 0 {
            return Err(MediaError::InvalidOptions(
                "minimum dimensions must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// Chroma sampling of an encoded file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Chroma {
    /// 4:2:0, chroma averaged over 2x2 blocks (the normal case).
    #[serde(rename = "4:2:0")]
    Sub420,
    /// 4:4:4, used only to get above a byte floor.
    #[serde(rename = "4:4:4")]
    Full444,
}

/// A compressed JPEG and how it was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// The complete JPEG file (ends with the EOI marker, nothing after it).
    pub bytes: Vec<u8>,
    pub quality: u8,
    pub width: u32,
    pub height: u32,
    pub chroma: Chroma,
    /// Density written in the JFIF header (0: none).
    pub density_dpi: u16,
}

/// Encodes once, with the crate's fixed settings.
pub fn encode_jpeg(
    img: &RgbImage,
    quality: u8,
    density_dpi: u16,
    chroma: Chroma,
) -> Result<Vec<u8>> {
    let (w, h) = img.dimensions();
    let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
        return Err(MediaError::InvalidOptions(format!(
            "{w}x{h} is too large for JPEG"
        )));
    };
    if w == 0 || h == 0 {
        return Err(MediaError::TooSmall {
            width: w,
            height: h,
            min_width: 1,
            min_height: 1,
        });
    }
    let mut buf = Vec::with_capacity((w as usize * h as usize / 4).max(4096));
    let mut enc = Encoder::new(&mut buf, quality.clamp(1, 100));
    enc.set_progressive(false);
    enc.set_optimized_huffman_tables(false);
    enc.set_sampling_factor(match chroma {
        Chroma::Sub420 => SamplingFactor::R_4_2_0,
        Chroma::Full444 => SamplingFactor::R_4_4_4,
    });
    enc.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    enc.set_quantization_tables(QUANT_TABLES, QUANT_TABLES);
    if density_dpi > 0 {
        enc.set_density(PixelDensity::dpi(density_dpi));
    }
    enc.encode(img.as_raw(), w16, h16, ColorType::Rgb)
        .map_err(|e| MediaError::Encode(e.to_string()))?;
    if OPTIMIZE_HUFFMAN {
        match crate::huffman::optimize(&buf) {
            Some(optimized) if optimized.len() <= buf.len() => return Ok(optimized),
            Some(_) => {}
            None => tracing::warn!("Huffman optimisation skipped: unexpected JPEG layout"),
        }
    }
    Ok(buf)
}

/// Compresses into `min_bytes < size <= max_bytes` (see the module docs). Downscaling, when
/// needed, may go down to 16x16; use [`compress`] with [`Limits`] for a minimum size.
pub fn compress_to_range(
    img: &RgbImage,
    min_bytes: Option<usize>,
    max_bytes: usize,
    density_dpi: u16,
) -> Result<Encoded> {
    compress(
        img,
        &Limits {
            min_bytes,
            max_bytes,
            min_width: 16.min(img.width().max(1)),
            min_height: 16.min(img.height().max(1)),
            density_dpi,
            min_quality: 1,
        },
    )
}

enum Search {
    Fit(Encoded),
    /// Quality 1 is still above the maximum; the size at quality 1.
    TooBig(usize),
    /// The largest file that fits is at or below the floor; its size.
    BelowFloor(usize),
    /// The quality needed is below the wanted minimum; the size at the lowest quality tried.
    BelowQuality(usize),
}

/// Compresses `img` within `limits`.
pub fn compress(img: &RgbImage, limits: &Limits) -> Result<Encoded> {
    limits.validate()?;
    let (w0, h0) = img.dimensions();
    if w0 < limits.min_width || h0 < limits.min_height {
        return Err(MediaError::TooSmall {
            width: w0,
            height: h0,
            min_width: limits.min_width,
            min_height: limits.min_height,
        });
    }
    // The smallest allowed scale keeps both dimensions at or above the minimum.
    let min_scale = f64::max(
        f64::from(limits.min_width) / f64::from(w0),
        f64::from(limits.min_height) / f64::from(h0),
    );
    let pixels = u64::from(w0) * u64::from(h0);
    let budget = limits.max_bytes as u64 * MAX_PIXELS_PER_BYTE;
    let mut scale = if pixels > budget {
        (budget as f64 / pixels as f64).sqrt().max(min_scale)
    } else {
        1.0
    };

    let mut quality_steps = 0;
    let mut start_q = 75u8.max(limits.min_quality);
    loop {
        let scaled;
        let current: &RgbImage = if scale < 1.0 {
            scaled = resize_to_scale(img, scale, limits);
            &scaled
        } else {
            img
        };
        let density = scaled_density(
            limits.density_dpi,
            f64::from(current.width()) / f64::from(w0),
        );
        let at_min_size =
            current.width() <= limits.min_width || current.height() <= limits.min_height;
        let quality_floor = (limits.min_quality > 1 && !at_min_size && quality_steps < 4)
            .then_some(limits.min_quality);
        match search_quality(
            current,
            limits,
            density,
            Chroma::Sub420,
            start_q,
            quality_floor,
        )? {
            Search::Fit(enc) => return Ok(enc),
            Search::BelowQuality(size) => {
                quality_steps += 1;
                let step = ((limits.max_bytes as f64 / size as f64).sqrt() * 0.95).clamp(0.5, 0.92);
                debug!(
                    size,
                    step, "quality below the minimum; trading resolution for quality"
                );
                scale = (scale * step).max(min_scale);
                start_q = limits.min_quality.saturating_add(10).min(100);
            }
            Search::TooBig(size_at_q1) => {
                if at_min_size || scale <= min_scale {
                    return Err(MediaError::CannotFit {
                        max_bytes: limits.max_bytes,
                        smallest_bytes: size_at_q1,
                        width: current.width(),
                        height: current.height(),
                    });
                }
                let step =
                    ((limits.max_bytes as f64 / size_at_q1 as f64).sqrt() * 0.95).clamp(0.3, 0.9);
                debug!(size_at_q1, step, "quality 1 too large; downscaling");
                scale = (scale * step).max(min_scale);
                start_q = 30;
            }
            Search::BelowFloor(best_420) => {
                debug!(best_420, "4:2:0 stays under the floor; trying 4:4:4");
                return match search_in(
                    current,
                    limits,
                    density,
                    Chroma::Full444,
                    (100, Some(99)),
                    None,
                )? {
                    Search::Fit(enc) => Ok(enc),
                    Search::BelowFloor(best) => Err(MediaError::BelowMinimumSize {
                        best_bytes: best.max(best_420),
                        min_bytes: limits.min_bytes.unwrap_or(0),
                    }),
                    Search::TooBig(_) | Search::BelowQuality(_) => {
                        Err(MediaError::BelowMinimumSize {
                            best_bytes: best_420,
                            min_bytes: limits.min_bytes.unwrap_or(0),
                        })
                    }
                };
            }
        }
    }
}

fn scaled_density(dpi: u16, scale: f64) -> u16 {
    if dpi == 0 {
        0
    } else {
        (f64::from(dpi) * scale)
            .round()
            .clamp(1.0, f64::from(u16::MAX)) as u16
    }
}

fn resize_to_scale(img: &RgbImage, scale: f64, limits: &Limits) -> RgbImage {
    let (w, h) = img.dimensions();
    let nw = ((f64::from(w) * scale).round() as u32).clamp(limits.min_width, w);
    let nh = ((f64::from(h) * scale).round() as u32).clamp(limits.min_height, h);
    crate::ops::resize(img, nw, nh, FilterType::CatmullRom)
}

/// libjpeg's quality → quantisation scale (percent of the base table).
fn quant_scale(q: u8) -> f64 {
    let q = f64::from(q.clamp(1, 100));
    if q < 50.0 {
        5000.0 / q
    } else {
        (200.0 - 2.0 * q).max(1.0)
    }
}

fn quality_for_scale(s: f64) -> f64 {
    if s >= 100.0 {
        5000.0 / s
    } else {
        (200.0 - s) / 2.0
    }
}

/// Predicts the quality whose size is `target` from measured (quality, size) points, assuming
/// `ln(size)` is linear in `ln(scale)` (slope -0.7 when only one point is known).
fn predict_quality(a: (u8, usize), b: Option<(u8, usize)>, target: usize) -> f64 {
    let b = b.filter(|b| b.0 != a.0);
    let (xa, ya) = (quant_scale(a.0).ln(), (a.1 as f64).ln());
    let mut slope = -0.7;
    if let Some(b) = b {
        let (xb, yb) = (quant_scale(b.0).ln(), (b.1 as f64).ln());
        let s = (yb - ya) / (xb - xa);
        if s.is_finite() && s < -0.05 {
            slope = s;
        }
    }
    let x = xa + ((target as f64).ln() - ya) / slope;
    quality_for_scale(x.exp())
}

/// Encodes one or two qualities; two run on two threads (the kiosk has at least two cores).
fn encode_pair(
    img: &RgbImage,
    qa: u8,
    qb: Option<u8>,
    density: u16,
    chroma: Chroma,
) -> Result<Vec<(u8, Vec<u8>)>> {
    let Some(qb) = qb else {
        return Ok(vec![(qa, encode_jpeg(img, qa, density, chroma)?)]);
    };
    std::thread::scope(|s| {
        let other = s.spawn(|| encode_jpeg(img, qb, density, chroma));
        let a = encode_jpeg(img, qa, density, chroma);
        let b = other
            .join()
            .map_err(|_| MediaError::Encode("encoder thread panicked".into()))?;
        Ok(vec![(qa, a?), (qb, b?)])
    })
}

/// A quarter of the 16x16 tiles (the 4:2:0 MCUs), picked quasi-randomly with the golden-ratio
/// sequence (no phase-locking with text lines or table rows) and packed into a smaller image.
/// Its JPEG size times the area ratio predicts the full image's size at the same quality within
/// about 3 % on text pages and photos (sampling whole rows instead was 7 % low on text pages).
/// `None` for small images, where searching on the image itself is cheap.
fn proxy_of(img: &RgbImage) -> Option<(RgbImage, f64)> {
    let (w, h) = img.dimensions();
    if u64::from(w) * u64::from(h) < 60_000 {
        return None;
    }
    let (tw, th) = (w / 16, h / 16);
    let chosen: Vec<u32> = (0..tw * th)
        .filter(|&t| (f64::from(t) * 0.618_033_988_75).fract() < 0.25)
        .collect();
    let pw = tw;
    let ph = (chosen.len() as u32).div_ceil(pw);
    if chosen.is_empty() || ph == 0 {
        return None;
    }
    let (src, src_row) = (img.as_raw(), w as usize * 3);
    let dst_row = pw as usize * 16 * 3;
    let mut data = vec![255u8; dst_row * ph as usize * 16];
    for (k, &t) in chosen.iter().enumerate() {
        let (sx, sy) = ((t % tw) as usize * 16, (t / tw) as usize * 16);
        let (dx, dy) = ((k % pw as usize) * 16, (k / pw as usize) * 16);
        for y in 0..16 {
            let s0 = (sy + y) * src_row + sx * 3;
            let d0 = (dy + y) * dst_row + dx * 3;
            data[d0..d0 + 48].copy_from_slice(&src[s0..s0 + 48]);
        }
    }
    let proxy = RgbImage::from_raw(pw * 16, ph * 16, data)?;
    let ratio = (f64::from(w) * f64::from(h)) / (chosen.len() as f64 * 256.0);
    Some((proxy, ratio))
}

/// A first guess of the quality from the proxy (see [`proxy_of`]): the proxy is encoded at a
/// fixed grid of qualities (in parallel pairs) and `ln(size)` is interpolated linearly between
/// the grid points around the limit.
fn estimate_quality(
    img: &RgbImage,
    limits: &Limits,
    density: u16,
    chroma: Chroma,
) -> Result<Option<u8>> {
    let Some((proxy, ratio)) = proxy_of(img) else {
        return Ok(None);
    };
    const HEADERS: f64 = 700.0;
    const GRID: [u8; 6] = [12, 28, 44, 60, 76, 90];
    // The tile proxy over-predicts the full size by about 1.5 % (measured on text pages).
    const PROXY_BIAS: f64 = 1.015;
    let target =
        ((limits.max_bytes as f64 - HEADERS) * PROXY_BIAS / ratio + HEADERS).max(HEADERS + 1.0);
    let mut sizes = Vec::with_capacity(GRID.len());
    for pair in GRID.chunks(2) {
        for (q, bytes) in encode_pair(&proxy, pair[0], pair.get(1).copied(), density, chroma)? {
            sizes.push((q, bytes.len() as f64));
        }
    }
    let (first, last) = (sizes[0], sizes[sizes.len() - 1]);
    if target < first.1 {
        return Ok(Some(1));
    }
    if target >= last.1 {
        return Ok(Some(last.0));
    }
    for w in sizes.windows(2) {
        let ((qa, sa), (qb, sb)) = (w[0], w[1]);
        if target >= sa && target < sb {
            let f = (target.ln() - sa.ln()) / (sb.ln() - sa.ln());
            let q = f64::from(qa) + f * f64::from(qb - qa);
            return Ok(Some(q.floor().clamp(1.0, 100.0) as u8));
        }
    }
    Ok(None)
}

/// Highest quality whose file fits `max_bytes`: a proxy estimate for large images, then
/// [`search_in`].
fn search_quality(
    img: &RgbImage,
    limits: &Limits,
    density: u16,
    chroma: Chroma,
    start: u8,
    quality_floor: Option<u8>,
) -> Result<Search> {
    let pair = match estimate_quality(img, limits, density, chroma)? {
        Some(q) => (q, Some(q.saturating_add(1).min(100))).clamp_pair(),
        None => {
            // Small image: a spread first pair brackets a good guess and measures the slope.
            let first = start.clamp(3, 98);
            (first - 2, Some(first + 2))
        }
    };
    search_in(img, limits, density, chroma, pair, quality_floor)
}

trait ClampPair {
    fn clamp_pair(self) -> Self;
}

impl ClampPair for (u8, Option<u8>) {
    /// At quality 100 the pair becomes (100, 99).
    fn clamp_pair(self) -> Self {
        match self {
            (100, Some(100)) => (100, Some(99)),
            other => other,
        }
    }
}

/// Pairs of qualities encoded in parallel (starting with `first_pair`), then chosen by a
/// secant on `ln(size)` against `ln(quant scale)`; bisection after four rounds bounds the
/// count. Usually one or two rounds after a proxy estimate.
fn search_in(
    img: &RgbImage,
    limits: &Limits,
    density: u16,
    chroma: Chroma,
    first_pair: (u8, Option<u8>),
    quality_floor: Option<u8>,
) -> Result<Search> {
    let fits_max = |len: usize| len <= limits.max_bytes;
    let above_min = |len: usize| limits.min_bytes.is_none_or(|m| len > m);
    // Invariant: qualities <= lo fit (lo = 0: none known), qualities >= hi do not (hi = 101).
    let (mut lo, mut hi) = (0u8, 101u8);
    let mut lo_point: Option<(u8, usize)> = None;
    let mut hi_point: Option<(u8, usize)> = None;
    let mut points: Vec<(u8, usize)> = Vec::new();
    let mut best: Option<Vec<u8>> = None;
    let mut pair = first_pair;
    if let Some(floor) = quality_floor
        && pair.0 < floor
    {
        pair = (floor, Some(floor.saturating_add(1).min(100))).clamp_pair();
    }
    let mut rounds = 0;
    let mut encodes = 0;
    while hi - lo > 1 {
        rounds += 1;
        for (q, bytes) in encode_pair(img, pair.0, pair.1, density, chroma)? {
            encodes += 1;
            let size = bytes.len();
            points.push((q, size));
            if fits_max(size) {
                if q > lo {
                    lo = q;
                    lo_point = Some((q, size));
                    best = Some(bytes);
                }
            } else if q < hi {
                hi = q;
                hi_point = Some((q, size));
            }
        }
        if hi - lo <= 1 {
            break;
        }
        if let (Some(floor), Some((_, size))) = (quality_floor, hi_point)
            && hi <= floor
        {
            return Ok(Search::BelowQuality(size));
        }
        let predicted = if rounds >= 4 {
            (f64::from(lo) + f64::from(hi)) / 2.0
        } else if let (Some(l), Some(h)) = (lo_point, hi_point) {
            // Bracketed: secant between the two sides, kept in the middle half of a wide
            // bracket (the curve is not a straight line over a wide range).
            let q = predict_quality(l, Some(h), limits.max_bytes).floor();
            let span = f64::from(hi - lo);
            if span > 6.0 {
                q.clamp(f64::from(lo) + span / 4.0, f64::from(hi) - span / 4.0)
            } else {
                q
            }
        } else {
            // One side only: secant through the measurement nearest the limit and the nearest
            // one at least two qualities away (adjacent qualities give a noisy slope), with the
            // step lengthened by a fifth so the next pair tends to bracket the answer.
            let target = (limits.max_bytes as f64).ln();
            points.sort_by(|x, y| {
                ((x.1 as f64).ln() - target)
                    .abs()
                    .total_cmp(&((y.1 as f64).ln() - target).abs())
            });
            let anchor = points[0];
            let other = points
                .iter()
                .skip(1)
                .find(|p| p.0.abs_diff(anchor.0) >= 2)
                .copied();
            let q = predict_quality(anchor, other, limits.max_bytes);
            (f64::from(anchor.0) + 1.2 * (q - f64::from(anchor.0))).floor()
        };
        let mut a = predicted
            .round()
            .clamp(f64::from(lo) + 1.0, f64::from(hi) - 1.0) as u8;
        // Below the wanted minimum quality, probe the minimum itself: its size tells exactly how
        // much to downscale.
        if let Some(floor) = quality_floor
            && a < floor
            && floor > lo
            && floor < hi
        {
            a = floor;
        }
        let b = if a + 1 < hi {
            Some(a + 1)
        } else if a > lo + 1 {
            Some(a - 1)
        } else {
            None
        };
        pair = (a, b);
    }
    let (Some(mut bytes), mut quality) = (best, lo) else {
        let size = match hi_point {
            Some((1, s)) => s,
            _ => encode_jpeg(img, 1, density, chroma)?.len(),
        };
        return Ok(Search::TooBig(size));
    };
    debug!(rounds, "pairs encoded");
    if !above_min(bytes.len()) {
        // Size is not strictly monotonic in quality: look above for a file inside the range.
        let mut found = false;
        for q in (quality + 1)..=100 {
            let b = encode_jpeg(img, q, density, chroma)?;
            encodes += 1;
            if fits_max(b.len()) && above_min(b.len()) {
                quality = q;
                bytes = b;
                found = true;
                break;
            }
            if !fits_max(b.len()) {
                break;
            }
        }
        if !found {
            return Ok(Search::BelowFloor(bytes.len()));
        }
    }
    debug!(
        quality,
        size = bytes.len(),
        width = img.width(),
        height = img.height(),
        encodes,
        ?chroma,
        "quality search done"
    );
    Ok(Search::Fit(Encoded {
        bytes,
        quality,
        width: img.width(),
        height: img.height(),
        chroma,
        density_dpi: density,
    }))
}
