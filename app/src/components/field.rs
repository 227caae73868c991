//! A form field that checks its value with the same rule the server applies, as soon as the
//! user leaves it, and shows the server's verdict when that differs.

use leptos::prelude::*;
use shopmarkets_types::FieldError;

use crate::i18n::{Texts, use_locale, use_texts};

#[component]
pub fn Field(
    name: &'static str,
    kind: &'static str,
    label: fn(&Texts) -> &'static str,
    #[prop(optional)] hint: Option<fn(&Texts) -> &'static str>,
    autocomplete: &'static str,
    validate: fn(&str) -> Result<(), FieldError>,
    #[prop(into)] server_error: Signal<Option<FieldError>>,
) -> impl IntoView {
    let texts = use_texts();
    let locale = use_locale();
    let client_error = RwSignal::new(None::<FieldError>);
    let touched = RwSignal::new(false);
    let check = move |value: String| client_error.set(validate(&value).err());
    let error = move || client_error.get().or_else(|| server_error.get());
    let input_id = format!("field-{name}");
    let described_by = format!("{name}-hint {name}-error");

    view! {
        <div class="field" class:invalid=move || error().is_some()>
            <label for=input_id.clone()>{move || label(texts.get())}</label>
            <input
                id=input_id
                name=name
                type=kind
                autocomplete=autocomplete
                aria-invalid=move || error().is_some().to_string()
                aria-describedby=described_by
                on:blur=move |ev| {
                    touched.set(true);
                    check(event_target_value(&ev));
                }
                on:input=move |ev| {
                    if touched.get_untracked() {
                        check(event_target_value(&ev));
                    }
                }
            />
            <p class="field-hint" id=format!("{name}-hint")>
                {move || hint.map(|hint| hint(texts.get()))}
            </p>
            <p class="field-error" id=format!("{name}-error") data-field=name role="alert">
                {move || error().map(|e| e.message(locale.get()))}
            </p>
        </div>
    }
}
