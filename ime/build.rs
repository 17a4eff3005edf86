//! Links the system zinnia library (Debian `libzinnia-dev`). librime is linked by `librime-sys`.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-link-lib=zinnia");
}
