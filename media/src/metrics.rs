//! Image measurements: luma, SSIM, Laplacian variance.

use image::RgbImage;

use crate::error::{MediaError, Result};

/// BT.601 luma (the JPEG/JFIF definition) as `f32`, row-major.
pub fn luma_f32(img: &RgbImage) -> Vec<f32> {
    img.as_raw()
        .chunks_exact(3)
        .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
        .collect()
}

/// BT.601 luma rounded to `u8`, row-major.
pub fn luma_u8(img: &RgbImage) -> Vec<u8> {
    img.as_raw()
        .chunks_exact(3)
        .map(|p| {
            ((299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]) + 500) / 1000)
                as u8
        })
        .collect()
}

/// Mean structural similarity (Wang, Bovik, Sheikh, Simoncelli 2004) of the BT.601 luma of two
/// images of the same size.
///
/// Method: 11x11 Gaussian window with σ = 1.5 (applied separably), `C1 = (0.01·255)²`,
/// `C2 = (0.03·255)²`, the SSIM map computed only where the window fits entirely inside the
/// image ("valid" region, no padding), and averaged. No downsampling step.
pub fn ssim_luma(a: &RgbImage, b: &RgbImage) -> Result<f64> {
    if a.dimensions() != b.dimensions() {
        return Err(MediaError::InvalidOptions(format!(
            "SSIM of {:?} and {:?}: sizes differ",
            a.dimensions(),
            b.dimensions()
        )));
    }
    let (w, h) = (a.width() as usize, a.height() as usize);
    const R: usize = 5;
    if w <= 2 * R || h <= 2 * R {
        return Err(MediaError::TooSmall {
            width: a.width(),
            height: a.height(),
            min_width: 11,
            min_height: 11,
        });
    }
    let x = luma_f32(a);
    let y = luma_f32(b);
    let mut kernel = [0f32; 2 * R + 1];
    let sigma = 1.5f32;
    for (i, k) in kernel.iter_mut().enumerate() {
        let d = i as f32 - R as f32;
        *k = (-(d * d) / (2.0 * sigma * sigma)).exp();
    }
    let s: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= s);

    let xx: Vec<f32> = x.iter().map(|v| v * v).collect();
    let yy: Vec<f32> = y.iter().map(|v| v * v).collect();
    let xy: Vec<f32> = x.iter().zip(&y).map(|(p, q)| p * q).collect();
    let mx = filter_valid(&x, w, h, &kernel);
    let my = filter_valid(&y, w, h, &kernel);
    let sxx = filter_valid(&xx, w, h, &kernel);
    let syy = filter_valid(&yy, w, h, &kernel);
    let sxy = filter_valid(&xy, w, h, &kernel);
    let c1 = (0.01f64 * 255.0).powi(2);
    let c2 = (0.03f64 * 255.0).powi(2);
    let mut total = 0.0f64;
    for i in 0..mx.len() {
        let (mx, my) = (f64::from(mx[i]), f64::from(my[i]));
        let vx = f64::from(sxx[i]) - mx * mx;
        let vy = f64::from(syy[i]) - my * my;
        let cxy = f64::from(sxy[i]) - mx * my;
        total +=
            ((2.0 * mx * my + c1) * (2.0 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
    }
    Ok(total / mx.len() as f64)
}

/// Separable filter keeping only the positions where the kernel fits ("valid").
fn filter_valid(src: &[f32], w: usize, h: usize, k: &[f32]) -> Vec<f32> {
    let n = k.len();
    let ow = w - n + 1;
    let oh = h - n + 1;
    let mut tmp = vec![0f32; ow * h];
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        let out = &mut tmp[y * ow..(y + 1) * ow];
        for (x, o) in out.iter_mut().enumerate() {
            let win = &row[x..x + n];
            *o = win.iter().zip(k).map(|(a, b)| a * b).sum();
        }
    }
    let mut out = vec![0f32; ow * oh];
    for (j, kj) in k.iter().enumerate() {
        for y in 0..oh {
            let src_row = &tmp[(y + j) * ow..(y + j + 1) * ow];
            let dst = &mut out[y * ow..(y + 1) * ow];
            for (d, s) in dst.iter_mut().zip(src_row) {
                *d += kj * s;
            }
        }
    }
    out
}

/// Variance of the 4-neighbour Laplacian over the interior of a `w x h` luma plane.
pub fn laplacian_variance(luma: &[u8], w: usize, h: usize) -> f64 {
    if w < 3 || h < 3 || luma.len() < w * h {
        return 0.0;
    }
    let (mut sum, mut sum2, mut n) = (0.0f64, 0.0f64, 0.0f64);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let i = y * w + x;
            let l = i32::from(luma[i - 1])
                + i32::from(luma[i + 1])
                + i32::from(luma[i - w])
                + i32::from(luma[i + w])
                - 4 * i32::from(luma[i]);
            let l = f64::from(l);
            sum += l;
            sum2 += l * l;
            n += 1.0;
        }
    }
    let mean = sum / n;
    sum2 / n - mean * mean
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(w: u32, h: u32, seed: u32) -> RgbImage {
        let mut s = seed;
        RgbImage::from_fn(w, h, |_, _| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            image::Rgb([
                (s & 0xFF) as u8,
                ((s >> 8) & 0xFF) as u8,
                ((s >> 16) & 0xFF) as u8,
            ])
        })
    }

    #[test]
    fn ssim_of_identical_images_is_one() {
        let a = noise(40, 30, 7);
        let v = ssim_luma(&a, &a).expect("same size");
        assert!((v - 1.0).abs() < 1e-6, "{v}");
    }

    #[test]
    fn ssim_drops_for_different_images() {
        let a = noise(40, 30, 7);
        let b = noise(40, 30, 99);
        let v = ssim_luma(&a, &b).expect("same size");
        assert!(v < 0.2, "{v}");
    }

    #[test]
    fn laplacian_variance_is_zero_on_flat_and_high_on_checkerboard() {
        let flat = vec![128u8; 100];
        assert_eq!(laplacian_variance(&flat, 10, 10), 0.0);
        let checker: Vec<u8> = (0..100)
            .map(|i| if (i % 10 + i / 10) % 2 == 0 { 0 } else { 255 })
            .collect();
        assert!(laplacian_variance(&checker, 10, 10) > 10_000.0);
    }
}
