//! The document camera's page, stage by stage: what the applicant waits for between the shutter
//! and the checked file (issue 18, part 5). Not a timed test; run it on a quiet machine:
//!
//! ```text
//! cargo bench -p kiosk-media --bench document
//! ```
//!
//! Inputs, each an upright still already in memory (as the camera thread hands it over):
//! - `docs/dev-materials/doccam-page.jpg`, 1600x1200, the still that the kiosk's own bench
//!   (`benches/kiosk.rs`) used for its 592 ms figure;
//! - a synthetic 150 dpi A4 certificate (`tests/common`: text, table, red seal) photographed in
//!   perspective on a dark tray, with camera grain (σ = 2 levels), at 1600x1200 and at the
//!   document camera's real 5 MP, 2592x1944 (same page, same place in the frame).
//!
//! Stages: corner search (`detect_page`), perspective warp to 1240x1754 (`rectify`), compression
//! under 200,000 bytes (`compress` with the page's limits), and the decode of the result that
//! `src/capture/process.rs` does to show the applicant the file. "Total" runs
//! `process_document_image` plus that decode, end to end, separately timed. Median and best of
//! `RUNS` runs. Prints a Markdown table.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{add_noise, render_skewed, synthetic_page};
use kiosk_media::decode::decode;
use kiosk_media::document::{detect_page, page_limits, rectify};
use kiosk_media::{DocKind, Point, RgbImage, compress, process_document_image};

const RUNS: usize = 9;

/// Where the synthetic page lies in a 2592x1944 frame (TL, TR, BR, BL): about 85 % of the
/// frame's height, turned by about 2° and seen slightly from below, as on a document camera.
pub const CORNERS_5MP: [(f64, f64); 4] = [
    (712.0, 128.0),
    (1921.0, 171.0),
    (2003.0, 1822.0),
    (618.0, 1781.0),
];

fn corners_scaled(width: u32) -> [Point; 4] {
    let s = f64::from(width) / 2592.0;
    CORNERS_5MP.map(|(x, y)| Point::new(x * s, y * s))
}

/// The synthetic photographed page at `width x height` (4:3).
fn synthetic_frame(width: u32, height: u32) -> RgbImage {
    let page = synthetic_page(1240, 1754, 11, 0.0);
    let mut frame = render_skewed(&page, &corners_scaled(width), width, height, 12);
    add_noise(&mut frame, 2.0, 13);
    frame
}

fn time<T>(mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut times = Vec::with_capacity(RUNS);
    let mut last = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = f();
        times.push(t.elapsed());
        last = Some(out);
    }
    times.sort();
    let out = last.expect("RUNS > 0");
    (times[RUNS / 2], times[0], out)
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

fn row(name: &str, still: &RgbImage) {
    let (detect_med, detect_best, quad) =
        time(|| detect_page(still).expect("the bench page is found"));
    let (warp_med, warp_best, page) =
        time(|| rectify(still, &quad, DocKind::A4).expect("the corners are valid"));
    let limits = page_limits(DocKind::A4, &page);
    let (comp_med, comp_best, enc) = time(|| compress(&page, &limits).expect("fits"));
    let (show_med, show_best, _) = time(|| decode(&enc.bytes).expect("decodes"));
    let (total_med, total_best, _) = time(|| {
        let (jpeg, _) = process_document_image(still, DocKind::A4, None).expect("processes");
        decode(&jpeg).expect("decodes")
    });
    println!(
        "| {name} | {}x{} | {} ({}) | {} ({}) | {} ({}) | {} ({}) | **{}** ({}) | {}x{}, {} B, q {} |",
        still.width(),
        still.height(),
        ms(detect_med),
        ms(detect_best),
        ms(warp_med),
        ms(warp_best),
        ms(comp_med),
        ms(comp_best),
        ms(show_med),
        ms(show_best),
        ms(total_med),
        ms(total_best),
        enc.width,
        enc.height,
        enc.bytes.len(),
        enc.quality,
    );
}

fn main() {
    let doccam = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/dev-materials/doccam-page.jpg");
    let doccam = decode(&std::fs::read(&doccam).expect("sample frame"))
        .expect("decodes")
        .image;
    let small = synthetic_frame(1600, 1200);
    let full = synthetic_frame(2592, 1944);

    println!(
        "CPU: {} threads available; load average before: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!();
    println!(
        "| still | size | corner search ms | warp ms | compression ms | decode to show ms | total ms | file |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---|");
    row("doccam-page.jpg", &doccam);
    row("synthetic page + grain", &small);
    row("synthetic page + grain", &full);
    println!();
    println!(
        "Median (best) of {RUNS} runs. Load average after: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
