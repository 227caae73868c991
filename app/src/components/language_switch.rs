//! Switches between German and English. A form that posts to a server function, so it works
//! before the page has hydrated too; once hydrated it switches without reloading.

use leptos::prelude::*;

use crate::{
    api::SetLocale,
    i18n::{Locale, use_locale, use_texts},
};

#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let locale = use_locale();
    let texts = use_texts();
    let action = ServerAction::<SetLocale>::new();

    // Apply the language as soon as the server has stored it.
    Effect::new(move |_| {
        if let Some(Ok(chosen)) = action.value().get() {
            locale.set(chosen);
        }
    });

    view! {
        <ActionForm action attr:class="language-switch" attr:aria-label=move || texts.get().language>
            {Locale::ALL
                .into_iter()
                .map(|option| {
                    view! {
                        <button
                            type="submit"
                            name="locale"
                            value=option.code()
                            lang=option.code()
                            data-locale=option.code()
                            aria-pressed=move || (locale.get() == option).to_string()
                            title=option.native_name()
                        >
                            {option.code().to_uppercase()}
                        </button>
                    }
                })
                .collect_view()}
        </ActionForm>
    }
}
