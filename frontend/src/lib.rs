//! The browser entry point: takes over the server-rendered page (hydration).

/// Called by the generated JavaScript once the wasm module has loaded.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(shopmarkets_app::App);
}
