#[path = "../tests/common/mod.rs"]
mod common;
fn main() {
    let t = std::time::Instant::now();
    let page = common::synthetic_page(1240, 1754, 2, 3.0);
    println!("page {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let b = kiosk_media::encode_jpeg(&page, 80, 150, kiosk_media::Chroma::Sub420).unwrap();
    println!("one encode {:?} {}", t.elapsed(), b.len());
    let t = std::time::Instant::now();
    let e = kiosk_media::compress(&page, &kiosk_media::Limits::material()).unwrap();
    println!(
        "compress {:?} q{} {} {}x{}",
        t.elapsed(),
        e.quality,
        e.bytes.len(),
        e.width,
        e.height
    );
    let t = std::time::Instant::now();
    let mut img = image::RgbImage::new(1240, 1754);
    common::add_noise(&mut img, 3.0, 1);
    println!("noise {:?}", t.elapsed());
    for f in [
        image::imageops::FilterType::Triangle,
        image::imageops::FilterType::CatmullRom,
        image::imageops::FilterType::Lanczos3,
    ] {
        let t = std::time::Instant::now();
        let _r = image::imageops::resize(&page, 1130, 1599, f);
        println!("resize {:?} {:?}", f, t.elapsed());
    }
}
#[allow(dead_code)]
fn _x() {}
