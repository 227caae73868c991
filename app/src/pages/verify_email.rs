//! Confirming an email address from the emailed link. The link opens this page; the address is
//! confirmed only by the button's POST, because mail scanners open links on their own.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::VerifyEmail,
    i18n::{TextOf, use_texts},
};

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let texts = use_texts();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let action = ServerAction::<VerifyEmail>::new();

    view! {
        <Title text=move || texts.get().verify_title/>
        <h1>{move || texts.get().verify_title}</h1>
        <section class="card">
            {move || {
                // (confirmed, message)
                let outcome: Option<(bool, TextOf)> = match action
                    .value()
                    .get()
                {
                    Some(Ok(true)) => Some((true, |t| t.verify_done)),
                    Some(Ok(false)) => Some((false, |t| t.verify_invalid)),
                    Some(Err(_)) => Some((false, |t| t.request_failed)),
                    None => None,
                };
                match outcome {
                Some((confirmed, text)) => {
                    view! {
                        <p
                            class=if confirmed { "notice notice-success" } else { "notice notice-error" }
                            id="verify-result"
                            role=if confirmed { "status" } else { "alert" }
                        >
                            {move || text(texts.get())}
                        </p>
                    }
                        .into_any()
                }
                None => {
                    view! {
                        <p>{move || texts.get().verify_intro}</p>
                        <ActionForm action attr:class="form">
                            <input type="hidden" name="token" prop:value=token/>
                            <button type="submit" class="button" id="verify-submit" disabled=move || action.pending().get()>
                                {move || texts.get().verify_submit}
                            </button>
                        </ActionForm>
                    }
                        .into_any()
                }
                }
            }}
        </section>
    }
}
