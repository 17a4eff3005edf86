//! `cargo run -p kiosk-ime --example ime -- [--simp] [--abbr] PINYIN...`: the first page of
//! candidates for each argument (what `kiosk ime` will print).

fn main() -> Result<(), kiosk_ime::Error> {
    let mut abbr = false;
    let mut config = kiosk_ime::RimeConfig::default();
    let mut inputs = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--abbr" => abbr = true,
            "--simp" => config.schema = kiosk_ime::Schema::PinyinSimp,
            _ => inputs.push(arg),
        }
    }
    for (letters, page) in kiosk_ime::first_pages(&config, &inputs, abbr)? {
        println!("{letters}: {}", page.join(" "));
    }
    Ok(())
}
