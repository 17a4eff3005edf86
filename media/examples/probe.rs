use kiosk_media::photo::{PhotoOptions, analyze_photo};
fn main() {
    for a in std::env::args().skip(1) {
        let bytes = std::fs::read(&a).unwrap();
        let img = kiosk_media::decode::decode(&bytes).unwrap().image;
        let t = std::time::Instant::now();
        let an = analyze_photo(&img, &PhotoOptions::default()).unwrap();
        println!("{a} ({:?})", t.elapsed());
        for c in &an.checks {
            println!("   {} {} {}", c.name, c.passed, c.message);
        }
        println!("   {:?}", an.measurements);
        if let Some(p) = an.photo {
            p.save(format!(
                "/tmp/out_{}.png",
                std::path::Path::new(&a)
                    .file_stem()
                    .unwrap()
                    .to_str()
                    .unwrap()
            ))
            .unwrap();
        }
    }
}
