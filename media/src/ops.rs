//! Thin wrappers over `image` operations.
//!
//! The generic `imageops` functions are instantiated in the calling crate, so in the workspace's
//! dev profile (our crates at opt-level 0, dependencies at 2) they run unoptimised and a 2 MP
//! resize takes over a second. The non-generic `DynamicImage` methods are compiled inside
//! `image` and run optimised; these wrappers use them.

use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, RgbImage};

/// Resizes to exactly `w x h`.
pub(crate) fn resize(img: &RgbImage, w: u32, h: u32, filter: FilterType) -> RgbImage {
    DynamicImage::ImageRgb8(img.clone())
        .resize_exact(w, h, filter)
        .into_rgb8()
}

/// Rec. 709 luma.
pub(crate) fn gray(img: &RgbImage) -> GrayImage {
    DynamicImage::ImageRgb8(img.clone()).into_luma8()
}

/// Gaussian blur of a grey image.
pub(crate) fn blur_gray(img: GrayImage, sigma: f32) -> GrayImage {
    DynamicImage::ImageLuma8(img).blur(sigma).into_luma8()
}

/// Copies a rectangle (clamped to the image by `image`).
pub(crate) fn crop(img: &RgbImage, x: u32, y: u32, w: u32, h: u32) -> RgbImage {
    DynamicImage::ImageRgb8(img.clone())
        .crop_imm(x, y, w, h)
        .into_rgb8()
}
