fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (jpeg, report) = kiosk_media::process_photo(
        &std::fs::read(&a[1]).unwrap(),
        &kiosk_media::PhotoOptions::default(),
    )
    .unwrap();
    println!("{:?} {} q{}", report.ok, report.bytes, report.quality);
    std::fs::write(&a[2], &jpeg).unwrap();
}
