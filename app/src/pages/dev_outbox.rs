//! Development only: the emails the product would have sent, so sign-up links can be followed
//! without a mail server. The server function behind it refuses in production.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{api::dev_outbox, i18n::use_texts};

#[component]
pub fn DevOutboxPage() -> impl IntoView {
    let texts = use_texts();
    let messages = Resource::new(|| (), |_| dev_outbox());

    view! {
        <Title text=move || texts.get().outbox_title/>
        <h1>{move || texts.get().outbox_title}</h1>
        <p class="lead">{move || texts.get().outbox_intro}</p>
        <Suspense fallback=|| ()>
            {move || {
                messages
                    .get()
                    .map(|result| match result {
                        Ok(list) if list.is_empty() => {
                            view! { <p class="muted">{move || texts.get().outbox_empty}</p> }.into_any()
                        }
                        Ok(list) => {
                            list.into_iter()
                                .map(|m| {
                                    let to = m.to.clone();
                                    view! {
                                        <article class="card outbox-message" data-to=to>
                                            <h2>{m.subject}</h2>
                                            <p class="muted">{m.to} " · " {m.created_at}</p>
                                            <pre class="outbox-body">{m.body}</pre>
                                        </article>
                                    }
                                })
                                .collect_view()
                                .into_any()
                        }
                        Err(_) => view! { <crate::pages::not_found::NotFoundPage/> }.into_any(),
                    })
            }}
        </Suspense>
    }
}
