//! The connected accounts: a card per account with its health, and the disconnect step with
//! its confirmation dialog.

use leptos::prelude::*;

use super::{Actions, date, error_text, with_detail};
use crate::{
    api::connections::{ConnectKind, ConnectionStatus, ConnectionView, ScopeView},
    i18n::{TextOf, use_texts},
};

/// One connected account.
#[component]
pub(super) fn ConnectionCard(
    connection: ConnectionView,
    can_manage: bool,
    actions: Actions,
    now: Signal<i64>,
    /// Whether the disconnect dialog is open from the start (`?disconnect=<id>`).
    open: bool,
) -> impl IntoView {
    let texts = use_texts();
    let ConnectionView {
        id,
        marketplace,
        marketplace_name,
        kind,
        account_name,
        account_id,
        status,
        scopes,
        access_expires_at,
        last_success_at,
        last_error_code,
        last_error_detail,
        last_error_at: _,
        connected_at,
        disconnected_at,
    } = connection;
    let heading_id = format!("connection-{id}-heading");
    let (badge_class, status_text): (&str, TextOf) = match status {
        ConnectionStatus::Active => ("badge badge-active", |t| t.connections.status_active),
        ConnectionStatus::NeedsReconnect => ("badge", |t| t.connections.status_needs_reconnect),
        ConnectionStatus::Disconnected => {
            ("badge badge-muted", |t| t.connections.status_disconnected)
        }
    };
    let connected = status != ConnectionStatus::Disconnected;

    let access = connected.then(|| {
        let text = move || {
            let t = texts.get();
            match access_expires_at {
                None => t.connections.access_no_expiry.to_owned(),
                Some(at) if at > now.get() => (t.connections.expires_in)((at - now.get()) as u64),
                Some(_) => t.connections.access_expired.to_owned(),
            }
        };
        view! {
            <dt>{move || texts.get().connections.access}</dt>
            <dd class="connection-expiry" data-expires-at=access_expires_at.map(|at| at.to_string())>
                {text}
            </dd>
        }
    });
    let last_success = move || {
        let t = texts.get();
        match last_success_at {
            Some(at) => (t.connections.ago)((now.get() - at).max(0) as u64),
            None => t.connections.never.to_owned(),
        }
    };
    let last_error = last_error_code.map(|code| {
        let detail = last_error_detail.clone();
        let data_code = code.clone();
        view! {
            <dt>{move || texts.get().connections.last_error}</dt>
            <dd class="connection-error" data-code=data_code>
                {move || with_detail(error_text(&code, texts.get()), detail.as_deref())}
            </dd>
        }
    });
    let disconnected = disconnected_at.map(|at| {
        view! {
            <dt>{move || texts.get().connections.disconnected_since}</dt>
            <dd>{date(at)}</dd>
        }
    });
    let scope_items = if scopes.is_empty() {
        view! { <p class="muted">{move || texts.get().connections.no_scopes}</p> }.into_any()
    } else {
        let items = scopes
            .into_iter()
            .map(|ScopeView { code, text }| view! { <li data-scope=code>{text}</li> })
            .collect_view();
        view! { <ul class="scope-list">{items}</ul> }.into_any()
    };

    let test = connected.then(|| {
        let id = id.clone();
        let form = format!("test-{id}");
        view! {
            <ActionForm action=actions.test attr:class="inline-form">
                <input type="hidden" name="id" value=id/>
                <button
                    type="submit"
                    class="button button-small button-secondary"
                    disabled=move || actions.test.pending().get()
                    on:click=move |_| actions.form.set(Some(form.clone()))
                >
                    {move || texts.get().connections.test}
                </button>
            </ActionForm>
        }
    });
    let reconnect_wanted = can_manage
        && (status == ConnectionStatus::NeedsReconnect
            || (status == ConnectionStatus::Active && kind != ConnectKind::ApiKeys));
    let reconnect = reconnect_wanted.then(|| {
        let (id, marketplace, account_id) = (id.clone(), marketplace.clone(), account_id.clone());
        if kind == ConnectKind::ApiKeys {
            // Keys are entered again in the marketplace's tile.
            view! {
                <a class="button button-small button-secondary" href=format!("#connect-{marketplace}")>
                    {move || texts.get().connections.reconnect}
                </a>
            }
            .into_any()
        } else {
            let shop = matches!(marketplace.as_str(), "shopify" | "woo_commerce")
                .then(|| view! { <input type="hidden" name="shop" value=account_id/> });
            view! {
                <ActionForm action=actions.start attr:class="inline-form">
                    <input type="hidden" name="marketplace" value=marketplace/>
                    {shop}
                    <input type="hidden" name="reconnect" value=id/>
                    <button
                        type="submit"
                        class="button button-small"
                        disabled=move || actions.start.pending().get()
                    >
                        {move || texts.get().connections.reconnect}
                    </button>
                </ActionForm>
            }
            .into_any()
        }
    });
    let disconnect = (can_manage && connected).then(|| {
        view! {
            <DisconnectStep
                id=id.clone()
                marketplace_name=marketplace_name.clone()
                account_name=account_name.clone()
                open
                actions
            />
        }
    });

    let card_id = format!("connection-{id}");
    let labelled_by = heading_id.clone();
    view! {
        <article
            class="card connection-card"
            id=card_id
            data-marketplace=marketplace
            data-status=status.code()
            aria-labelledby=labelled_by
        >
            <div class="connection-head">
                <h3 id=heading_id>{marketplace_name} " – " {account_name}</h3>
                <span class=badge_class data-status=status.code()>{move || status_text(texts.get())}</span>
            </div>
            <dl class="facts">
                <dt>{move || texts.get().connections.account}</dt>
                <dd>
                    <code translate="no">{account_id.clone()}</code>
                </dd>
                {access}
                <dt>{move || texts.get().connections.last_success}</dt>
                <dd class="connection-last-success">{last_success}</dd>
                {last_error}
                <dt>{move || texts.get().connections.connected_since}</dt>
                <dd>{date(connected_at)}</dd>
                {disconnected}
                <dt>{move || texts.get().connections.scopes}</dt>
                <dd>{scope_items}</dd>
            </dl>
            <div class="button-row connection-actions">{test} {reconnect} {disconnect}</div>
        </article>
    }
    .into_any()
}

/// The disconnect button and its confirmation dialog. Interactive, the button opens the dialog
/// as a modal (focus inside, Escape closes it); before that it loads the page with
/// `?disconnect=<id>`, which renders the dialog open. "Cancel" closes it either way.
#[component]
fn DisconnectStep(
    id: String,
    marketplace_name: String,
    account_name: String,
    open: bool,
    actions: Actions,
) -> impl IntoView {
    let texts = use_texts();
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let title_id = format!("disconnect-{id}-title");
    let explain_id = format!("disconnect-{id}-explain");
    let dialog_id = format!("disconnect-{id}");
    let (labelled_by, described_by) = (title_id.clone(), explain_id.clone());
    let form_id = id.clone();
    let question =
        move || (texts.get().connections.disconnect_question)(&marketplace_name, &account_name);
    // Whatever the answer, the dialog has done its job; the answer shows above the list.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if actions.disconnect.value().with(Option::is_some)
            && let Some(dialog) = dialog.get()
        {
            dialog.close();
        }
    });

    view! {
        <form method="get" action="/connections" class="inline-form">
            <input type="hidden" name="disconnect" value=form_id/>
            <button
                type="submit"
                class="button button-small button-danger"
                aria-haspopup="dialog"
                on:click=move |ev| {
                    #[cfg(feature = "hydrate")]
                    {
                        if let Some(dialog) = dialog.get() {
                            ev.prevent_default();
                            let _ = dialog.show_modal();
                        }
                    }
                    #[cfg(not(feature = "hydrate"))]
                    let _ = ev;
                }
            >
                {move || texts.get().connections.disconnect}
            </button>
        </form>
        <dialog
            node_ref=dialog
            class="confirm-dialog"
            id=dialog_id
            aria-labelledby=labelled_by
            aria-describedby=described_by
            open=open
        >
            <h3 id=title_id>{question}</h3>
            <p id=explain_id>{move || texts.get().connections.disconnect_explain}</p>
            <div class="button-row">
                <ActionForm action=actions.disconnect attr:class="inline-form">
                    <input type="hidden" name="id" value=id/>
                    <button
                        type="submit"
                        class="button button-danger"
                        disabled=move || actions.disconnect.pending().get()
                    >
                        {move || texts.get().connections.disconnect_now}
                    </button>
                </ActionForm>
                <form method="dialog" class="inline-form">
                    <button type="submit" class="button button-secondary" autofocus=true>
                        {move || texts.get().connections.cancel}
                    </button>
                </form>
            </div>
        </dialog>
    }
    .into_any()
}
