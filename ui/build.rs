//! Compiles the `.slint` files into Rust; `src/lib.rs` includes the result.

fn main() {
    // Debug info lets the headless tests find elements by accessible label and element id; it
    // is on for every profile so `cargo test --release` works too (it costs one optimisation pass).
    // Chinese is the source language; `translations/` adds English (and zh_CN identity entries
    // so either language can be selected by name). No context: one translation per string.
    let config = slint_build::CompilerConfiguration::new()
        .with_debug_info(true)
        .with_bundled_translations("translations/")
        .with_default_translation_context(slint_build::DefaultTranslationContext::None);
    if let Err(error) = slint_build::compile_with_config("ui/main.slint", config) {
        panic!("ui/main.slint does not compile: {error}");
    }
}
