//! The page for addresses that do not exist; answered with status 404.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::i18n::use_texts;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    let texts = use_texts();
    view! {
        <Title text=move || texts.get().not_found_title/>
        <section class="card not-found">
            <h1>{move || texts.get().not_found_title}</h1>
            <p>{move || texts.get().not_found_text}</p>
            <a class="button" href="/">{move || texts.get().back_to_dashboard}</a>
        </section>
    }
}
