#[path = "../tests/common/mod.rs"]
mod common;
fn tiles(img: &image::RgbImage) -> (image::RgbImage, f64) {
    let (w, h) = img.dimensions();
    let (tw, th) = (w / 16, h / 16);
    let mut chosen = Vec::new();
    for t in 0..tw * th {
        if (t as f64 * 0.618_033_988_75).fract() < 0.25 {
            chosen.push(t);
        }
    }
    let pw = tw;
    let ph = (chosen.len() as u32).div_ceil(pw);
    let mut out = image::RgbImage::from_pixel(pw * 16, ph * 16, image::Rgb([255, 255, 255]));
    for (k, t) in chosen.iter().enumerate() {
        let (sx, sy) = ((t % tw) * 16, (t / tw) * 16);
        let (dx, dy) = ((k as u32 % pw) * 16, (k as u32 / pw) * 16);
        for y in 0..16 {
            for x in 0..16 {
                out.put_pixel(dx + x, dy + y, *img.get_pixel(sx + x, sy + y));
            }
        }
    }
    let ratio = f64::from(w * h) / (chosen.len() as f64 * 256.0);
    (out, ratio)
}

fn main() {
    for (seed, noise) in [(1u32, 0.0f32), (2, 2.0), (4, 5.0)] {
        let img = common::synthetic_page(1240, 1754, seed, noise);
        let (proxy, ratio) = kiosk_media::compress::proxy_of(&img).unwrap();
        let (tp, tr) = tiles(&img);
        for q in [33u8, 60] {
            let full = kiosk_media::encode_jpeg(&img, q, 0, kiosk_media::Chroma::Sub420)
                .unwrap()
                .len();
            let p = kiosk_media::encode_jpeg(&proxy, q, 0, kiosk_media::Chroma::Sub420)
                .unwrap()
                .len();
            let t = kiosk_media::encode_jpeg(&tp, q, 0, kiosk_media::Chroma::Sub420)
                .unwrap()
                .len();
            eprintln!(
                "seed{seed} q{q}: full {full} bands {:.3} tiles {:.3}",
                p as f64 * ratio / full as f64,
                t as f64 * tr / full as f64
            );
        }
    }
}
