#[path = "../tests/common/mod.rs"]
mod common;
use std::time::Instant;
fn main() {
    let page = common::synthetic_page(1240, 1754, 1, 0.0);
    for _ in 0..2 {
        let t = Instant::now();
        let mut buf = Vec::new();
        let mut e = jpeg_encoder::Encoder::new(&mut buf, 27);
        e.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
        e.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
        e.encode(page.as_raw(), 1240, 1754, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let t1 = t.elapsed();
        let t = Instant::now();
        let full = kiosk_media::encode_jpeg(&page, 27, 150, kiosk_media::Chroma::Sub420).unwrap();
        println!(
            "plain encode {:?} ({} B), encode+optimize {:?} ({} B)",
            t1,
            buf.len(),
            t.elapsed(),
            full.len()
        );
    }
    let lim = kiosk_media::Limits {
        density_dpi: 150,
        min_quality: 1,
        ..kiosk_media::Limits::material()
    };
    let png = common::encode_png(&page);
    let mut best = std::time::Duration::MAX;
    for _ in 0..8 {
        let t = Instant::now();
        let img = kiosk_media::decode::decode(&png).unwrap().image;
        let _ = kiosk_media::compress(&img, &lim).unwrap();
        best = best.min(t.elapsed());
    }
    println!("decode+compress best {best:?}");
}
