//! The marketplaces to connect: a tile per marketplace with the form it needs (a redirect to
//! the marketplace, or keys entered by hand).

use leptos::prelude::*;

use super::{Actions, error_code, error_text};
use crate::{
    api::connections::{ConnectKind, MarketplaceView, ScopeView},
    i18n::{TextOf, Texts, use_texts},
};

/// A marketplace to connect: what ShopMarkets may do there, and the form it needs.
#[component]
pub(super) fn ConnectTile(
    marketplace: MarketplaceView,
    can_manage: bool,
    actions: Actions,
) -> impl IntoView {
    let texts = use_texts();
    let MarketplaceView {
        marketplace: code,
        name,
        kind,
        configured,
        scopes,
    } = marketplace;
    let heading_id = format!("connect-{code}-heading");
    let scope_items = scopes
        .into_iter()
        .map(|ScopeView { code, text }| view! { <li data-scope=code>{text}</li> })
        .collect_view();

    let body = if !configured {
        view! {
            <p class="badge badge-muted connect-not-set-up">{move || texts.get().connections.not_set_up}</p>
            <p class="muted">{move || texts.get().connections.not_set_up_hint}</p>
        }
        .into_any()
    } else if !can_manage {
        ().into_any()
    } else {
        match kind {
            ConnectKind::OAuth => {
                view! { <RedirectForm code=code.clone() name=name.clone() actions/> }.into_any()
            }
            ConnectKind::KeyHandover => view! {
                <RedirectForm code=code.clone() name=name.clone() actions/>
                <details class="by-hand">
                    <summary>{move || texts.get().connections.by_hand}</summary>
                    <p class="muted">{move || texts.get().connections.by_hand_hint}</p>
                    <KeysForm code=code.clone() name=name.clone() with_shop=true actions/>
                </details>
            }
            .into_any(),
            ConnectKind::ApiKeys => view! {
                <p class="muted">{move || texts.get().connections.kaufland_hint}</p>
                <KeysForm code=code.clone() name=name.clone() with_shop=false actions/>
            }
            .into_any(),
        }
    };

    let tile_id = format!("connect-{code}");
    let labelled_by = heading_id.clone();
    view! {
        <section
            class="card connect-tile"
            id=tile_id
            data-marketplace=code
            data-configured=configured.to_string()
            aria-labelledby=labelled_by
        >
            <h3 id=heading_id>{name}</h3>
            <p class="connect-may">{move || texts.get().connections.may_do}</p>
            <ul class="scope-list connect-scopes">{scope_items}</ul>
            {body}
        </section>
    }
    .into_any()
}

/// Connecting by a redirect: Shopify asks for the shop domain, WooCommerce for the store URL,
/// the others for nothing.
#[component]
fn RedirectForm(code: String, name: String, actions: Actions) -> impl IntoView {
    let texts = use_texts();
    let form = code.clone();
    let field = match code.as_str() {
        "shopify" => Some((
            "mein-shop.myshopify.com",
            "text",
            (|t: &Texts| t.connections.shop_domain) as TextOf,
            (|t: &Texts| t.connections.shop_domain_hint) as TextOf,
        )),
        "woo_commerce" => Some((
            "https://www.mein-shop.de",
            "url",
            (|t: &Texts| t.connections.store_url) as TextOf,
            (|t: &Texts| t.connections.store_url_hint) as TextOf,
        )),
        _ => None,
    };
    let error_id = format!("connect-{code}-error");
    let field = field.map(|(placeholder, kind, label, hint)| {
        let input_id = format!("connect-{code}-shop");
        let hint_id = format!("{input_id}-hint");
        view! {
            <div class="field">
                <label for=input_id.clone()>{move || label(texts.get())}</label>
                <input
                    id=input_id
                    name="shop"
                    type=kind
                    required=true
                    autocomplete="off"
                    spellcheck="false"
                    placeholder=placeholder
                    aria-describedby=format!("{hint_id} {error_id}")
                />
                <p class="field-hint" id=hint_id>{move || hint(texts.get())}</p>
            </div>
        }
    });
    let accessible_name = {
        let name = name.clone();
        move || (texts.get().connections.connect_named)(&name)
    };
    let failure = tile_failure(actions, form.clone(), Source::Start);

    view! {
        <ActionForm action=actions.start attr:class="form connect-form">
            <input type="hidden" name="marketplace" value=code.clone()/>
            {field}
            <p class="muted">{move || texts.get().connections.redirect_hint}</p>
            <p class="field-error" id=error_id role="alert">{failure}</p>
            <button
                type="submit"
                class="button"
                aria-label=accessible_name
                disabled=move || actions.start.pending().get()
                on:click=move |_| actions.form.set(Some(form.clone()))
            >
                {move || texts.get().connections.connect}
            </button>
        </ActionForm>
    }
    .into_any()
}

/// Connecting with keys: Kaufland's client key and secret key, or a WooCommerce store URL
/// with its consumer key and secret.
#[component]
fn KeysForm(code: String, name: String, with_shop: bool, actions: Actions) -> impl IntoView {
    let texts = use_texts();
    let form = format!("{code}-keys");
    let prefix = format!("connect-{code}-keys");
    let error_id = format!("{prefix}-error");
    let (key_label, secret_label): (TextOf, TextOf) = if with_shop {
        (
            |t| t.connections.consumer_key,
            |t| t.connections.consumer_secret,
        )
    } else {
        (|t| t.connections.client_key, |t| t.connections.secret_key)
    };
    let shop = with_shop.then(|| {
        let input_id = format!("{prefix}-shop");
        view! {
            <div class="field">
                <label for=input_id.clone()>{move || texts.get().connections.store_url}</label>
                <input
                    id=input_id
                    name="shop"
                    type="url"
                    required=true
                    autocomplete="off"
                    spellcheck="false"
                    placeholder="https://www.mein-shop.de"
                    aria-describedby=error_id.clone()
                />
            </div>
        }
    });
    let key_id = format!("{prefix}-key");
    let secret_id = format!("{prefix}-secret");
    let (button_text, named): (TextOf, Named) = if with_shop {
        (
            |t| t.connections.connect_with_keys,
            |t| t.connections.connect_named_with_keys,
        )
    } else {
        (|t| t.connections.connect, |t| t.connections.connect_named)
    };
    let failure = tile_failure(actions, form.clone(), Source::Keys);

    view! {
        <ActionForm action=actions.keys attr:class="form connect-form">
            <input type="hidden" name="marketplace" value=code.clone()/>
            {shop}
            <div class="field">
                <label for=key_id.clone()>{move || key_label(texts.get())}</label>
                <input
                    id=key_id
                    name="key"
                    type="text"
                    required=true
                    autocomplete="off"
                    spellcheck="false"
                    aria-describedby=error_id.clone()
                />
            </div>
            <div class="field">
                <label for=secret_id.clone()>{move || secret_label(texts.get())}</label>
                <input
                    id=secret_id
                    name="secret"
                    type="password"
                    required=true
                    autocomplete="new-password"
                    aria-describedby=error_id.clone()
                />
            </div>
            <p class="muted">{move || texts.get().connections.keys_stored_safely}</p>
            <p class="field-error" id=error_id.clone() role="alert">{failure}</p>
            <button
                type="submit"
                class="button"
                aria-label=move || (named(texts.get()))(&name)
                disabled=move || actions.keys.pending().get()
                on:click=move |_| actions.form.set(Some(form.clone()))
            >
                {move || button_text(texts.get())}
            </button>
        </ActionForm>
    }
    .into_any()
}

/// Picks a sentence with a name in it (`Connect {name}`) out of a language.
type Named = fn(&Texts) -> fn(&str) -> String;

#[derive(Clone, Copy)]
enum Source {
    Start,
    Keys,
}

/// The refusal of the tile's own form, in words, once it submitted; "one moment" while the
/// browser is on its way to the marketplace.
fn tile_failure(actions: Actions, form: String, source: Source) -> impl Fn() -> Option<String> {
    let texts = use_texts();
    move || {
        if actions.form.get().as_deref() != Some(form.as_str()) {
            return None;
        }
        let code = match source {
            Source::Start => match actions.start.value().get()? {
                Ok(_) => return Some(texts.get().connections.working.to_owned()),
                Err(err) => error_code(&err),
            },
            Source::Keys => match actions.keys.value().get()? {
                Ok(_) => return None,
                Err(err) => error_code(&err),
            },
        };
        let t = texts.get();
        Some(format!(
            "{} {}",
            t.connections.connect_failed,
            error_text(&code, t)
        ))
    }
}
