//! The booth's touchscreen UI.
//!
//! The `.slint` files under `ui/` are compiled by `build.rs` and included here; their exported
//! globals are this crate's whole API and it holds no business rules:
//!
//! - [`AppState`]: what the screens show (village name, formatted date and time, connection
//!   state and waiting count, language, large-text mode, current [`Page`]). The `kiosk` crate
//!   writes it.
//! - [`HomeActions`]: what the villager asked for on Home (`open-page(Page)`,
//!   `toggle-large-text()`, `switch-language()`). The `kiosk` crate handles the callbacks;
//!   `toggle-large-text` already flips `AppState.large-text` unless replaced.
//! - [`GuidesAdapter`]: the Service guides screen (categories, filtered [`GuideListItem`]s,
//!   query, one item's [`GuideDetailRow`]s; `select-category`, `search`, `open-item`,
//!   `print-list`, and `back`, which already closes the item page or goes Home unless replaced).
//!   The `kiosk` crate fills it from `kiosk::guides`.
//! - [`MainWindow`]: the portrait 1080×1920 window that shows the current page.
//!
//! Layout of `ui/`: `main.slint` (window and exports), `globals.slint` (the API and palette),
//! `components/` (shared pieces: big tile, header, back/home bar), `screens/` (one file per screen).
//!
//! The default build has no windowing backend (tests use `i-slint-backend-testing`); the `winit`
//! feature adds a desktop window for development.

// The workspace lints target hand-written code: Slint's generated handles do not implement
// Debug, and its generated code keeps a `todo!` for a Slint feature this crate does not use.
#[allow(missing_debug_implementations, clippy::todo)]
mod generated {
    slint::include_modules!();
}
pub use generated::*;

/// Shows `language` ("zh_CN" or "en", as under `translations/`) on every screen at once and
/// records it in [`AppState`] so the language button offers the other one.
///
/// Call it after `MainWindow::new()`: Slint loads the bundled translations with the first
/// component. At start Slint follows `LANG`, so callers select the booth's language explicitly.
pub fn select_language(
    app: &MainWindow,
    language: &str,
) -> Result<(), slint::SelectBundledTranslationError> {
    slint::select_bundled_translation(language)?;
    app.global::<AppState>().set_language(language.into());
    Ok(())
}
