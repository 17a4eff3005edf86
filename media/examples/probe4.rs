fn main() {
    let a: Vec<String> = std::env::args().collect();
    let img = kiosk_media::decode::decode(&std::fs::read(&a[1]).unwrap())
        .unwrap()
        .image;
    for (x, y) in [(5u32, 5u32), (100, 5), (150, 200), (290, 400)] {
        println!("{x},{y}: {:?}", img.get_pixel(x, y));
    }
    img.save(&a[2]).unwrap();
}
