//! Small geometry helpers: points, a 3x3 homography solved from four correspondences, a
//! perspective warp with bilinear sampling, and a convex hull.
//!
//! Coordinates are continuous: pixel `(i, j)` covers `[i, i+1) x [j, j+1)`, its centre is at
//! `(i + 0.5, j + 0.5)`, and the image `w x h` spans `[0, w] x [0, h]`.

use image::RgbImage;
use serde::{Deserialize, Serialize};

/// A point in continuous image coordinates (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub const fn new(x: f64, y: f64) -> Self {
        Point { x, y }
    }

    pub fn distance(self, other: Point) -> f64 {
        (self.x - other.x).hypot(self.y - other.y)
    }

    fn sub(self, o: Point) -> Point {
        Point::new(self.x - o.x, self.y - o.y)
    }
}

/// z component of (b - a) x (c - a): positive when a, b, c turn counter-clockwise in a y-up
/// frame (clockwise on screen, where y grows downwards).
pub fn cross(a: Point, b: Point, c: Point) -> f64 {
    let u = b.sub(a);
    let v = c.sub(a);
    u.x * v.y - u.y * v.x
}

/// Area of a simple polygon (absolute value of the shoelace formula).
pub fn polygon_area(pts: &[Point]) -> f64 {
    let n = pts.len();
    let mut s = 0.0;
    for i in 0..n {
        let a = pts[i];
        let b = pts[(i + 1) % n];
        s += a.x * b.y - b.x * a.y;
    }
    s.abs() / 2.0
}

/// A projective transform `(x, y) -> ((a x + b y + c) / (g x + h y + 1), (d x + e y + f) / (...))`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Homography {
    m: [f64; 9],
}

impl Homography {
    /// The transform mapping each `from[i]` onto `to[i]`; `None` when degenerate.
    pub fn from_points(from: &[Point; 4], to: &[Point; 4]) -> Option<Homography> {
        // 8 equations, unknowns a b c d e f g h.
        let mut a = [[0.0f64; 9]; 8];
        for i in 0..4 {
            let (x, y) = (from[i].x, from[i].y);
            let (u, v) = (to[i].x, to[i].y);
            a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -x * u, -y * u, u];
            a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -x * v, -y * v, v];
        }
        let h = solve8(&mut a)?;
        let m = [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0];
        if m.iter().all(|v| v.is_finite()) {
            Some(Homography { m })
        } else {
            None
        }
    }

    /// Maps a point; `None` on the line at infinity.
    pub fn map(&self, p: Point) -> Option<Point> {
        let m = &self.m;
        let w = m[6] * p.x + m[7] * p.y + m[8];
        if w.abs() < 1e-12 {
            return None;
        }
        Some(Point::new(
            (m[0] * p.x + m[1] * p.y + m[2]) / w,
            (m[3] * p.x + m[4] * p.y + m[5]) / w,
        ))
    }
}

/// Gaussian elimination with partial pivoting on an 8x9 augmented matrix.
fn solve8(a: &mut [[f64; 9]; 8]) -> Option<[f64; 8]> {
    for col in 0..8 {
        let mut pivot = col;
        for row in col + 1..8 {
            if a[row][col].abs() > a[pivot][col].abs() {
                pivot = row;
            }
        }
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        let p = a[col][col];
        for row in 0..8 {
            if row != col {
                let f = a[row][col] / p;
                if f != 0.0 {
                    let pivot_row = a[col];
                    for (dst, src) in a[row].iter_mut().zip(pivot_row.iter()).skip(col) {
                        *dst -= f * src;
                    }
                }
            }
        }
    }
    let mut x = [0.0; 8];
    for i in 0..8 {
        x[i] = a[i][8] / a[i][i];
    }
    Some(x)
}

/// Warps the quadrilateral `quad` (top-left, top-right, bottom-right, bottom-left, in `src`
/// coordinates) onto a `out_w x out_h` rectangle, with bilinear sampling and clamp-to-edge.
pub fn warp_quad_to_rect(
    src: &RgbImage,
    quad: &[Point; 4],
    out_w: u32,
    out_h: u32,
) -> Option<RgbImage> {
    let (ow, oh) = (f64::from(out_w), f64::from(out_h));
    let rect = [
        Point::new(0.0, 0.0),
        Point::new(ow, 0.0),
        Point::new(ow, oh),
        Point::new(0.0, oh),
    ];
    let h = Homography::from_points(&rect, quad)?;
    let m = h.m;
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    if sw == 0 || sh == 0 || out_w == 0 || out_h == 0 {
        return None;
    }
    let sdata = src.as_raw();
    let stride = sw * 3;
    let max_x = (sw - 1) as f64;
    let max_y = (sh - 1) as f64;
    let mut out = vec![0u8; out_w as usize * out_h as usize * 3];
    for (oy, row) in out.chunks_exact_mut(out_w as usize * 3).enumerate() {
        let y = oy as f64 + 0.5;
        // Numerators and denominator are affine in x: step them along the row.
        let mut nx = m[0] * 0.5 + m[1] * y + m[2];
        let mut ny = m[3] * 0.5 + m[4] * y + m[5];
        let mut d = m[6] * 0.5 + m[7] * y + m[8];
        for px in row.chunks_exact_mut(3) {
            let inv = if d.abs() > 1e-12 { 1.0 / d } else { 0.0 };
            // Continuous -> index space (pixel centres at integer + 0.5).
            let fx = (nx * inv - 0.5).clamp(0.0, max_x);
            let fy = (ny * inv - 0.5).clamp(0.0, max_y);
            let x0 = fx as usize;
            let y0 = fy as usize;
            let x1 = (x0 + 1).min(sw - 1);
            let y1 = (y0 + 1).min(sh - 1);
            let wx = fx - x0 as f64;
            let wy = fy - y0 as f64;
            let i00 = y0 * stride + x0 * 3;
            let i01 = y0 * stride + x1 * 3;
            let i10 = y1 * stride + x0 * 3;
            let i11 = y1 * stride + x1 * 3;
            for c in 0..3 {
                let top = f64::from(sdata[i00 + c]) * (1.0 - wx) + f64::from(sdata[i01 + c]) * wx;
                let bot = f64::from(sdata[i10 + c]) * (1.0 - wx) + f64::from(sdata[i11 + c]) * wx;
                px[c] = (top * (1.0 - wy) + bot * wy + 0.5) as u8;
            }
            nx += m[0];
            ny += m[3];
            d += m[6];
        }
    }
    RgbImage::from_raw(out_w, out_h, out)
}

/// Convex hull (Andrew's monotone chain), without collinear points. The order is
/// counter-clockwise in a y-up frame.
pub fn convex_hull(points: &[Point]) -> Vec<Point> {
    let mut pts: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    pts.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let mut hull: Vec<Point> = Vec::with_capacity(pts.len() * 2);
    for &p in &pts {
        while hull.len() >= 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0 {
            hull.pop();
        }
        hull.push(p);
    }
    let lower_len = hull.len() + 1;
    for &p in pts.iter().rev().skip(1) {
        while hull.len() >= lower_len && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
        {
            hull.pop();
        }
        hull.push(p);
    }
    hull.pop();
    hull
}

/// Orders four corners clockwise on screen, starting with the one nearest the top-left.
pub fn order_corners(mut pts: [Point; 4]) -> [Point; 4] {
    let cx = pts.iter().map(|p| p.x).sum::<f64>() / 4.0;
    let cy = pts.iter().map(|p| p.y).sum::<f64>() / 4.0;
    pts.sort_by(|a, b| {
        (a.y - cy)
            .atan2(a.x - cx)
            .total_cmp(&(b.y - cy).atan2(b.x - cx))
    });
    let mut first = 0;
    for i in 1..4 {
        if pts[i].x + pts[i].y < pts[first].x + pts[first].y {
            first = i;
        }
    }
    pts.rotate_left(first);
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homography_maps_its_control_points() {
        let from = [
            Point::new(0.0, 0.0),
            Point::new(100.0, 0.0),
            Point::new(100.0, 50.0),
            Point::new(0.0, 50.0),
        ];
        let to = [
            Point::new(10.0, 20.0),
            Point::new(210.0, 5.0),
            Point::new(230.0, 160.0),
            Point::new(-5.0, 140.0),
        ];
        let h = Homography::from_points(&from, &to).expect("solvable");
        for i in 0..4 {
            let p = h.map(from[i]).expect("finite");
            assert!(p.distance(to[i]) < 1e-6, "{i}: {p:?}");
        }
    }

    #[test]
    fn degenerate_points_have_no_homography() {
        let p = Point::new(1.0, 1.0);
        let from = [p, p, p, p];
        let to = [Point::new(0.0, 0.0); 4];
        assert!(Homography::from_points(&from, &to).is_none());
    }

    #[test]
    fn hull_of_square_with_inner_points() {
        let mut pts = vec![
            Point::new(0.0, 0.0),
            Point::new(10.0, 0.0),
            Point::new(10.0, 10.0),
            Point::new(0.0, 10.0),
        ];
        pts.push(Point::new(5.0, 5.0));
        pts.push(Point::new(5.0, 0.0));
        let hull = convex_hull(&pts);
        assert_eq!(hull.len(), 4);
        assert!((polygon_area(&hull) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn corners_are_ordered_clockwise_from_top_left() {
        let tl = Point::new(10.0, 12.0);
        let tr = Point::new(90.0, 8.0);
        let br = Point::new(95.0, 70.0);
        let bl = Point::new(5.0, 75.0);
        assert_eq!(order_corners([br, tl, bl, tr]), [tl, tr, br, bl]);
    }
}
