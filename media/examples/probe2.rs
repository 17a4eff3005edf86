#[path = "../tests/common/mod.rs"]
mod common;
use std::time::Instant;
fn main() {
    let lim = kiosk_media::Limits {
        density_dpi: 150,
        min_quality: 1,
        ..kiosk_media::Limits::material()
    };
    for (seed, noise) in [(1u32, 0.0f32), (2, 2.0), (3, 0.0), (4, 5.0)] {
        let page = common::synthetic_page(1240, 1754, seed, noise);
        let t = Instant::now();
        let e = kiosk_media::compress(&page, &lim).unwrap();
        println!(
            "page compress {:?} q{} {}",
            t.elapsed(),
            e.quality,
            e.bytes.len()
        );
    }
    for f in [
        "photo_good.jpg",
        "photo_blue_background.jpg",
        "photo_two_faces.jpg",
    ] {
        let img = kiosk_media::decode::decode(&common::fixture_bytes(f))
            .unwrap()
            .image;
        let img = image::DynamicImage::ImageRgb8(img)
            .resize_exact(295, 413, image::imageops::FilterType::Triangle)
            .into_rgb8();
        let t = Instant::now();
        let e = kiosk_media::compress(&img, &kiosk_media::Limits::photo()).unwrap();
        println!(
            "photo compress {:?} q{} {}",
            t.elapsed(),
            e.quality,
            e.bytes.len()
        );
    }
}
