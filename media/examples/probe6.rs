#[path = "../tests/common/mod.rs"]
mod common;
use kiosk_media::Point;
fn main() {
    let page = common::synthetic_page(1240, 1754, 7, 0.0);
    let p = Point::new;
    let truth = [
        p(352.0, 71.0),
        p(883.5, 104.0),
        p(906.0, 851.5),
        p(318.0, 826.0),
    ];
    let frame = common::render_skewed(&page, &truth, 1280, 960, 1);
    frame.save("/tmp/frame_skew.png").unwrap();
    let j = kiosk_media::encode_jpeg(&frame, 92, 0, kiosk_media::Chroma::Sub420).unwrap();
    let (out, rep) = kiosk_media::process_document(&j, kiosk_media::DocKind::A4, None).unwrap();
    println!("{rep:?}");
    std::fs::write("/tmp/doc_out.jpg", out).unwrap();
}
