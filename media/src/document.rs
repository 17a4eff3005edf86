//! Documents from the document camera (高拍仪): find the page, undo the perspective, keep the
//! colour, compress under the material limit.
//!
//! Page detection (own implementation, no `imageproc`: it would pull `nalgebra`, `rand` and more
//! for the four functions needed here) assumes a light page on a darker tray:
//! 1. work on a copy whose long side is at most 1000 px, in luma, lightly blurred;
//! 2. Otsu threshold; the classes must differ by at least 30 grey levels;
//! 3. the largest 4-connected bright component is the page (10 % to 98 % of the frame);
//! 4. its boundary points are taken per row (leftmost/rightmost) and per column
//!    (topmost/bottommost), located to sub-pixel precision where the luma crosses the threshold;
//! 5. convex hull of those points, thinned to 16 vertices by repeatedly dropping the vertex
//!    that spans the smallest triangle with its neighbours (Visvalingam), then the four of them
//!    spanning the largest quadrilateral (brute force over the 1820 choices);
//! 6. each side is refined by a total-least-squares line through the boundary points near it
//!    (ignoring the 12 % at each end, where corners may be rounded or dog-eared), and the corners
//!    are the intersections of adjacent lines; this is done twice, the second time with a
//!    tighter band around the refined sides;
//! 7. more than 5 % of the outline on the frame's border means the page's edges are not visible
//!    (cut off, or a light table); the quadrilateral must be convex, have interior angles between 45° and 135° and lie in the
//!    frame (2 % tolerance), else [`MediaError::PageNotFound`] and the UI asks for the corners.
//!
//! The page is then warped to 150 dpi A4 (1240x1754) or a 300 dpi ID card (85.6x54 mm =
//! 1011x638), portrait or landscape following the page's shape. Colour is kept (a red seal must
//! stay red; nothing is binarised). The result is compressed to at most 200,000 bytes.

use image::imageops::FilterType;
use image::{GrayImage, RgbImage};
use serde::{Deserialize, Serialize};
use tracing::debug;

use crate::compress::{Limits, compress};
use crate::decode::decode;
use crate::error::{MediaError, Result};
use crate::geometry::{Point, convex_hull, cross, order_corners, polygon_area, warp_quad_to_rect};

/// What kind of document the page is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocKind {
    /// A4 sheet (certificates, work certificate, household register pages): 150 dpi.
    A4,
    /// ID card, residence permit or other ID-1 card (85.6 x 54 mm): 300 dpi.
    Card,
}

impl DocKind {
    /// Output size in pixels for a portrait (`true`) or landscape page.
    pub fn output_size(self, portrait: bool) -> (u32, u32) {
        let (short, long) = match self {
            DocKind::A4 => (1240, 1754),
            DocKind::Card => (638, 1011),
        };
        if portrait {
            (short, long)
        } else {
            (long, short)
        }
    }

    /// Resolution of the output, dots per inch.
    pub fn dpi(self) -> u16 {
        match self {
            DocKind::A4 => 150,
            DocKind::Card => 300,
        }
    }

    /// The natural orientation when the page's shape does not decide it.
    fn default_portrait(self) -> bool {
        matches!(self, DocKind::A4)
    }
}

/// Where the four corners came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CornerSource {
    Detected,
    User,
}

/// The outcome of [`process_document`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DocReport {
    pub bytes: usize,
    pub width: u32,
    pub height: u32,
    pub quality: u8,
    pub dpi: u16,
    /// Page corners in the (upright) input image: top-left, top-right, bottom-right, bottom-left.
    pub corners: [Point; 4],
    pub corners_source: CornerSource,
    pub portrait: bool,
}

/// Decodes `input`, finds (or takes) the page corners, corrects the perspective and compresses
/// the page under 200,000 bytes.
///
/// `corners`, when given, are in the coordinates of the decoded, upright input image, in the
/// order top-left, top-right, bottom-right, bottom-left of the page as it should appear (the
/// order is kept, so the user can also turn a page). Without them, the corners are detected and
/// [`MediaError::PageNotFound`] asks the UI to let the user place them.
pub fn process_document(
    input: &[u8],
    kind: DocKind,
    corners: Option<[Point; 4]>,
) -> Result<(Vec<u8>, DocReport)> {
    process_document_image(&decode(input)?.image, kind, corners)
}

/// [`process_document`] on an image already in memory (a camera frame).
pub fn process_document_image(
    img: &RgbImage,
    kind: DocKind,
    corners: Option<[Point; 4]>,
) -> Result<(Vec<u8>, DocReport)> {
    let (quad, source) = match corners {
        Some(c) => {
            validate_corners(&c, img.width(), img.height())?;
            (c, CornerSource::User)
        }
        None => (detect_page(img)?, CornerSource::Detected),
    };
    let page = rectify(img, &quad, kind)?;
    let portrait = page.height() >= page.width();
    let enc = compress(&page, &page_limits(kind, &page))?;
    let report = DocReport {
        bytes: enc.bytes.len(),
        width: enc.width,
        height: enc.height,
        quality: enc.quality,
        dpi: enc.density_dpi,
        corners: quad,
        corners_source: source,
        portrait,
    };
    debug!(
        bytes = report.bytes,
        quality = report.quality,
        width = report.width,
        height = report.height,
        source = ?source,
        "document processed"
    );
    Ok((enc.bytes, report))
}

/// The compression rules of a rectified page: the material limit at the kind's resolution,
/// downscaled to no less than half the size.
pub fn page_limits(kind: DocKind, page: &RgbImage) -> Limits {
    Limits {
        density_dpi: kind.dpi(),
        min_width: page.width() / 2,
        min_height: page.height() / 2,
        ..Limits::material()
    }
}

/// Warps the page inside `quad` (TL, TR, BR, BL) to the output size of `kind`; the orientation
/// (portrait/landscape) follows the quadrilateral's side lengths.
pub fn rectify(img: &RgbImage, quad: &[Point; 4], kind: DocKind) -> Result<RgbImage> {
    let top = quad[0].distance(quad[1]);
    let bottom = quad[3].distance(quad[2]);
    let left = quad[0].distance(quad[3]);
    let right = quad[1].distance(quad[2]);
    let (qw, qh) = ((top + bottom) / 2.0, (left + right) / 2.0);
    let portrait = if (qw - qh).abs() < 0.02 * qw.max(qh) {
        kind.default_portrait()
    } else {
        qh > qw
    };
    let (ow, oh) = kind.output_size(portrait);

    // Bilinear sampling aliases when shrinking a lot: pre-shrink the source with a proper filter
    // so the page is at most ~1.3x the output resolution.
    let ratio = (qw / f64::from(ow)).min(qh / f64::from(oh));
    let (src, quad) = if ratio > 1.5 {
        let s = 1.3 / ratio;
        let nw = ((f64::from(img.width()) * s).round() as u32).max(1);
        let nh = ((f64::from(img.height()) * s).round() as u32).max(1);
        let sx = f64::from(nw) / f64::from(img.width());
        let sy = f64::from(nh) / f64::from(img.height());
        let small = crate::ops::resize(img, nw, nh, FilterType::Triangle);
        let q = quad.map(|p| Point::new(p.x * sx, p.y * sy));
        (std::borrow::Cow::Owned(small), q)
    } else {
        (std::borrow::Cow::Borrowed(img), *quad)
    };
    warp_quad_to_rect(&src, &quad, ow, oh).ok_or_else(|| MediaError::InvalidCorners {
        reason: "the four corners do not define a perspective".into(),
    })
}

/// Checks user-given corners: finite, inside the image (5 % tolerance), convex, not tiny.
pub fn validate_corners(c: &[Point; 4], width: u32, height: u32) -> Result<()> {
    let (w, h) = (f64::from(width), f64::from(height));
    let bad = |reason: &str| {
        Err(MediaError::InvalidCorners {
            reason: reason.to_owned(),
        })
    };
    if c.iter().any(|p| !p.x.is_finite() || !p.y.is_finite()) {
        return bad("non-finite coordinate");
    }
    let (mx, my) = (0.05 * w, 0.05 * h);
    if c.iter()
        .any(|p| p.x < -mx || p.y < -my || p.x > w + mx || p.y > h + my)
    {
        return bad("corner outside the image");
    }
    let mut sign = 0.0f64;
    for i in 0..4 {
        let z = cross(c[i], c[(i + 1) % 4], c[(i + 2) % 4]);
        if z.abs() < 1e-9 || (sign != 0.0 && z.signum() != sign) {
            return bad("the corners do not form a convex quadrilateral");
        }
        sign = z.signum();
    }
    if polygon_area(c) < 0.01 * w * h {
        return bad("the quadrilateral is too small");
    }
    Ok(())
}

/// Finds the four corners of a light page on a darker background (see the module docs).
pub fn detect_page(img: &RgbImage) -> Result<[Point; 4]> {
    let (w, h) = img.dimensions();
    if w < 32 || h < 32 {
        return Err(MediaError::PageNotFound);
    }
    let scale = (1000.0 / f64::from(w.max(h))).min(1.0);
    let (sw, sh) = (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    );
    let small = if scale < 1.0 {
        crate::ops::resize(img, sw, sh, FilterType::Triangle)
    } else {
        img.clone()
    };
    let gray = crate::ops::blur_gray(crate::ops::gray(&small), 1.0);
    let quad = detect_in_gray(&gray).ok_or(MediaError::PageNotFound)?;
    let (fx, fy) = (f64::from(w) / f64::from(sw), f64::from(h) / f64::from(sh));
    let quad = quad.map(|p| Point::new(p.x * fx, p.y * fy));
    debug!(?quad, "page corners detected");
    Ok(quad)
}

fn detect_in_gray(gray: &GrayImage) -> Option<[Point; 4]> {
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    let g = gray.as_raw();
    let (t, separation) = otsu(g);
    if separation < 30.0 {
        debug!(separation, "page/background contrast too low");
        return None;
    }
    let t = t as u8;
    let mask = largest_component(g, w, h, t)?;
    let area = mask.iter().filter(|&&m| m).count();
    let frac = area as f64 / (w * h) as f64;
    if !(0.10..=0.98).contains(&frac) {
        debug!(frac, "bright component has an implausible size");
        return None;
    }
    let boundary = boundary_points(g, &mask, w, h, f64::from(t));
    // A page whose outline runs along the frame's border is cut off or lies on a light table:
    // its edges are not visible.
    let (fw, fh) = (w as f64, h as f64);
    let on_border = boundary
        .iter()
        .filter(|p| p.x <= 0.5 || p.y <= 0.5 || p.x >= fw - 0.5 || p.y >= fh - 0.5)
        .count();
    if on_border * 20 > boundary.len() {
        debug!(
            on_border,
            total = boundary.len(),
            "bright region runs along the frame border"
        );
        return None;
    }
    let hull = convex_hull(&boundary);
    if hull.len() < 4 {
        return None;
    }
    let rough = order_corners(largest_quad(thin_polygon(hull, 16))?);
    let refined = refine_corners(&rough, &boundary, 0.03)
        .and_then(|q| refine_corners(&q, &boundary, 0.006))
        .unwrap_or(rough);
    let quad = order_corners(refined);
    plausible(&quad, w as f64, h as f64).then_some(quad)
}

/// Otsu's threshold on 8-bit samples; also returns the distance between the class means.
fn otsu(g: &[u8]) -> (u32, f64) {
    let mut hist = [0u64; 256];
    for &v in g {
        hist[v as usize] += 1;
    }
    let total = g.len() as f64;
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum();
    let (mut w0, mut sum0) = (0.0, 0.0);
    let (mut best_t, mut best_var, mut best_sep) = (0u32, -1.0, 0.0);
    for (t, &c) in hist.iter().enumerate() {
        w0 += c as f64;
        sum0 += t as f64 * c as f64;
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let m0 = sum0 / w0;
        let m1 = (sum_all - sum0) / w1;
        let var = w0 * w1 * (m0 - m1) * (m0 - m1);
        if var > best_var {
            best_var = var;
            best_t = t as u32;
            best_sep = m1 - m0;
        }
    }
    (best_t, best_sep)
}

/// Mask of the largest 4-connected component of pixels brighter than `t`.
fn largest_component(g: &[u8], w: usize, h: usize, t: u8) -> Option<Vec<bool>> {
    let mut label = vec![0u32; w * h];
    let mut stack: Vec<usize> = Vec::new();
    let (mut best_label, mut best_size, mut next) = (0u32, 0usize, 1u32);
    for start in 0..w * h {
        if g[start] <= t || label[start] != 0 {
            continue;
        }
        let id = next;
        next += 1;
        let mut size = 0usize;
        label[start] = id;
        stack.push(start);
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = (i % w, i / w);
            if x > 0 && g[i - 1] > t && label[i - 1] == 0 {
                label[i - 1] = id;
                stack.push(i - 1);
            }
            if x + 1 < w && g[i + 1] > t && label[i + 1] == 0 {
                label[i + 1] = id;
                stack.push(i + 1);
            }
            if y > 0 && g[i - w] > t && label[i - w] == 0 {
                label[i - w] = id;
                stack.push(i - w);
            }
            if y + 1 < h && g[i + w] > t && label[i + w] == 0 {
                label[i + w] = id;
                stack.push(i + w);
            }
        }
        if size > best_size {
            best_size = size;
            best_label = id;
        }
    }
    (best_size > 0).then(|| label.iter().map(|&l| l == best_label).collect())
}

/// Sub-pixel crossing between a background sample `bg` at centre `c0` and a foreground sample
/// `fg` at centre `c1` (`c1 = c0 ± 1`).
fn crossing(c0: f64, bg: f64, c1: f64, fg: f64, t: f64) -> f64 {
    let f = if fg > bg {
        ((t - bg) / (fg - bg)).clamp(0.0, 1.0)
    } else {
        0.5
    };
    c0 + (c1 - c0) * f
}

fn boundary_points(g: &[u8], mask: &[bool], w: usize, h: usize, t: f64) -> Vec<Point> {
    let mut pts = Vec::with_capacity(2 * (w + h));
    let val = |x: usize, y: usize| f64::from(g[y * w + x]);
    for y in 0..h {
        let row = &mask[y * w..(y + 1) * w];
        let (Some(l), Some(r)) = (row.iter().position(|&m| m), row.iter().rposition(|&m| m)) else {
            continue;
        };
        let cy = y as f64 + 0.5;
        let xl = if l > 0 {
            crossing(l as f64 - 0.5, val(l - 1, y), l as f64 + 0.5, val(l, y), t)
        } else {
            0.0
        };
        let xr = if r + 1 < w {
            crossing(r as f64 + 1.5, val(r + 1, y), r as f64 + 0.5, val(r, y), t)
        } else {
            w as f64
        };
        pts.push(Point::new(xl, cy));
        pts.push(Point::new(xr, cy));
    }
    for x in 0..w {
        let mut top = None;
        let mut bottom = None;
        for y in 0..h {
            if mask[y * w + x] {
                top = Some(y);
                break;
            }
        }
        for y in (0..h).rev() {
            if mask[y * w + x] {
                bottom = Some(y);
                break;
            }
        }
        let (Some(tp), Some(bt)) = (top, bottom) else {
            continue;
        };
        let cx = x as f64 + 0.5;
        let yt = if tp > 0 {
            crossing(
                tp as f64 - 0.5,
                val(x, tp - 1),
                tp as f64 + 0.5,
                val(x, tp),
                t,
            )
        } else {
            0.0
        };
        let yb = if bt + 1 < h {
            crossing(
                bt as f64 + 1.5,
                val(x, bt + 1),
                bt as f64 + 0.5,
                val(x, bt),
                t,
            )
        } else {
            h as f64
        };
        pts.push(Point::new(cx, yt));
        pts.push(Point::new(cx, yb));
    }
    pts
}

/// Drops the vertex spanning the smallest triangle with its neighbours until `keep` remain.
fn thin_polygon(mut poly: Vec<Point>, keep: usize) -> Vec<Point> {
    while poly.len() > keep.max(3) {
        let n = poly.len();
        let mut best = 0;
        let mut best_area = f64::INFINITY;
        for i in 0..n {
            let a = poly[(i + n - 1) % n];
            let b = poly[i];
            let c = poly[(i + 1) % n];
            let area = cross(a, b, c).abs();
            if area < best_area {
                best_area = area;
                best = i;
            }
        }
        poly.remove(best);
    }
    poly
}

/// The four vertices (in polygon order) spanning the largest quadrilateral.
fn largest_quad(poly: Vec<Point>) -> Option<[Point; 4]> {
    let n = poly.len();
    if n < 4 {
        return None;
    }
    let mut best = (0.0, [0usize; 4]);
    for a in 0..n {
        for b in a + 1..n {
            for c in b + 1..n {
                for d in c + 1..n {
                    let area = polygon_area(&[poly[a], poly[b], poly[c], poly[d]]);
                    if area > best.0 {
                        best = (area, [a, b, c, d]);
                    }
                }
            }
        }
    }
    Some(best.1.map(|i| poly[i]))
}

/// Refits each side through the boundary points within `band` (fraction of the side length,
/// at least 1.5 px) of it and intersects adjacent sides.
fn refine_corners(quad: &[Point; 4], boundary: &[Point], band: f64) -> Option<[Point; 4]> {
    let mut lines = [(Point::new(0.0, 0.0), Point::new(0.0, 0.0)); 4];
    for (i, line) in lines.iter_mut().enumerate() {
        let a = quad[i];
        let b = quad[(i + 1) % 4];
        let len = a.distance(b);
        if len < 4.0 {
            return None;
        }
        let (dx, dy) = ((b.x - a.x) / len, (b.y - a.y) / len);
        let tol = (band * len).max(1.5);
        let near: Vec<Point> = boundary
            .iter()
            .copied()
            .filter(|p| {
                let (vx, vy) = (p.x - a.x, p.y - a.y);
                let along = (vx * dx + vy * dy) / len;
                let off = (vx * dy - vy * dx).abs();
                (0.12..=0.88).contains(&along) && off <= tol
            })
            .collect();
        if near.len() < 8 {
            return None;
        }
        *line = fit_line(&near)?;
    }
    let mut out = [Point::new(0.0, 0.0); 4];
    for i in 0..4 {
        // Corner i is where side i-1 (ending at it) meets side i (starting at it).
        let p = intersect(lines[(i + 3) % 4], lines[i])?;
        if p.distance(quad[i]) > 0.1 * quad[i].distance(quad[(i + 2) % 4]) {
            return None;
        }
        out[i] = p;
    }
    Some(out)
}

/// Total-least-squares line: (centroid, unit direction).
fn fit_line(pts: &[Point]) -> Option<(Point, Point)> {
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.x).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.y).sum::<f64>() / n;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for p in pts {
        let (dx, dy) = (p.x - mx, p.y - my);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    let angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let dir = Point::new(angle.cos(), angle.sin());
    (dir.x.is_finite() && dir.y.is_finite()).then_some((Point::new(mx, my), dir))
}

fn intersect(l1: (Point, Point), l2: (Point, Point)) -> Option<Point> {
    let ((p, r), (q, s)) = (l1, l2);
    let denom = r.x * s.y - r.y * s.x;
    if denom.abs() < 1e-9 {
        return None;
    }
    let t = ((q.x - p.x) * s.y - (q.y - p.y) * s.x) / denom;
    Some(Point::new(p.x + t * r.x, p.y + t * r.y))
}

fn plausible(q: &[Point; 4], w: f64, h: f64) -> bool {
    let (mx, my) = (0.02 * w, 0.02 * h);
    if q.iter()
        .any(|p| p.x < -mx || p.y < -my || p.x > w + mx || p.y > h + my)
    {
        return false;
    }
    for i in 0..4 {
        let prev = q[(i + 3) % 4];
        let cur = q[i];
        let next = q[(i + 1) % 4];
        let (ax, ay) = (prev.x - cur.x, prev.y - cur.y);
        let (bx, by) = (next.x - cur.x, next.y - cur.y);
        let cos = (ax * bx + ay * by) / (ax.hypot(ay) * bx.hypot(by));
        let angle = cos.clamp(-1.0, 1.0).acos().to_degrees();
        if !(45.0..=135.0).contains(&angle) {
            return false;
        }
    }
    polygon_area(q) >= 0.10 * w * h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otsu_splits_two_levels() {
        let mut v = vec![40u8; 500];
        v.extend(std::iter::repeat_n(220u8, 500));
        let (t, sep) = otsu(&v);
        assert!((40..220).contains(&t));
        assert!((sep - 180.0).abs() < 1e-9);
    }

    #[test]
    fn user_corners_are_validated() {
        let ok = [
            Point::new(10.0, 10.0),
            Point::new(90.0, 12.0),
            Point::new(92.0, 95.0),
            Point::new(8.0, 90.0),
        ];
        assert!(validate_corners(&ok, 100, 100).is_ok());
        let crossed = [ok[0], ok[2], ok[1], ok[3]];
        assert!(validate_corners(&crossed, 100, 100).is_err());
        let outside = [ok[0], ok[1], Point::new(300.0, 300.0), ok[3]];
        assert!(validate_corners(&outside, 100, 100).is_err());
        let nan = [ok[0], ok[1], Point::new(f64::NAN, 1.0), ok[3]];
        assert!(validate_corners(&nan, 100, 100).is_err());
    }
}
