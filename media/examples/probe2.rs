#[path = "../tests/common/mod.rs"]
mod common;
use std::time::Instant;
fn main() {
    for (seed, noise) in [(1u32, 0.0f32), (2, 2.0), (3, 0.0), (4, 5.0)] {
        let page = common::synthetic_page(1240, 1754, seed, noise);
        let t = Instant::now();
        let lim = kiosk_media::Limits {
            density_dpi: 150,
            min_quality: 1,
            ..kiosk_media::Limits::material()
        };
        let e = kiosk_media::compress(&page, &lim).unwrap();
        println!(
            "compress {:?} q{} {}",
            t.elapsed(),
            e.quality,
            e.bytes.len()
        );
    }
}
