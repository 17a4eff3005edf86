#[path = "../tests/common/mod.rs"]
mod common;
use jpeg_encoder::*;
use kiosk_media::photo::{PhotoOptions, analyze_photo};
fn enc(img: &image::RgbImage, q: u8, t: &QuantizationTableType, avg: bool) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut e = Encoder::new(&mut buf, q);
    e.set_sampling_factor(SamplingFactor::R_4_2_0);
    e.set_quantization_tables(t.clone(), t.clone());
    if avg {
        e.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    }
    e.encode(
        img.as_raw(),
        img.width() as u16,
        img.height() as u16,
        ColorType::Rgb,
    )
    .unwrap();
    buf
}
fn best(
    img: &image::RgbImage,
    max: usize,
    t: &QuantizationTableType,
    avg: bool,
) -> (u8, usize, f64) {
    let mut b = (0, 0, 0.0);
    for q in 1..=100u8 {
        let e = enc(img, q, t, avg);
        if e.len() <= max {
            let d = kiosk_media::decode::decode(&e).unwrap().image;
            b = (
                q,
                e.len(),
                kiosk_media::metrics::ssim_luma(img, &d).unwrap(),
            );
        }
    }
    b
}
fn main() {
    let mut inputs = Vec::new();
    for f in [
        "photo_good.jpg",
        "photo_grey_background.jpg",
        "photo_blue_background.jpg",
    ] {
        let img = kiosk_media::decode::decode(&common::fixture_bytes(f))
            .unwrap()
            .image;
        inputs.push((
            f.to_string(),
            analyze_photo(&img, &PhotoOptions::default())
                .unwrap()
                .photo
                .unwrap(),
            20_000,
        ));
    }
    inputs.push((
        "A4".into(),
        common::synthetic_page(1240, 1754, 1, 0.0),
        200_000,
    ));
    use QuantizationTableType::*;
    for (n, img, max) in &inputs {
        for (tn, t) in [
            ("AnnexK", Default),
            ("Flat", Flat),
            ("MsSsim", CustomMsSsim),
            ("PsnrHvs", CustomPsnrHvs),
            ("IM", ImageMagick),
            ("KSC", KleinSilversteinCarney),
            ("Dental", DentalXRays),
            ("VDM", VisualDetectionModel),
            ("IDM", ImprovedDetectionModel),
        ] {
            let (q, l, s) = best(img, *max, &t, true);
            println!("{n} {tn}: q{q} {l} ssim {s:.4}");
        }
    }
}
