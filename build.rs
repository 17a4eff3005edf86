use slint_build::{CompilerConfiguration, DefaultTranslationContext};

fn main() {
    // Debug info lets the headless UI tests find elements by accessible label.
    let config = CompilerConfiguration::new()
        .with_style("fluent".into())
        .with_bundled_translations("translations")
        .with_default_translation_context(DefaultTranslationContext::None)
        .with_debug_info(true);
    if let Err(e) = slint_build::compile_with_config("ui/main.slint", config) {
        eprintln!("failed to compile the UI: {e}");
        std::process::exit(1);
    }
    println!("cargo:rerun-if-changed=translations");
}
