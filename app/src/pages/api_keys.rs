//! The API keys page (owners and admins): the organization's keys, creating one, revoking one,
//! and how a program uses a key.
//!
//! A new key is shown once, in a highlighted box above the list, with a copy button; it lives
//! only in the create action's answer, which "I have stored the key" forgets. Showing it needs
//! the page to be interactive (a plain form post would lose the answer), so the create button
//! waits for that; revoking is a plain form behind a `<details>` confirm step and works without
//! scripts. Whoever may not manage keys sees why instead.

use leptos::prelude::*;
use leptos_meta::Title;
use shopmarkets_types::{ApiKeyName, FieldError};

use crate::{
    api::api_keys::{
        ApiKeyView, ApiKeysView, CreateApiKey, CreateApiKeyAnswer, KeyScope, NewApiKeyView,
        RevokeApiKey, api_keys_overview,
    },
    components::field::Field,
    i18n::{TextOf, Texts, use_texts},
    pages::members::refusal_text,
};

/// The page's actions, shared by the list and the forms.
#[derive(Clone, Copy)]
struct Actions {
    create: ServerAction<CreateApiKey>,
    revoke: ServerAction<RevokeApiKey>,
}

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let texts = use_texts();
    let actions = Actions {
        create: ServerAction::new(),
        revoke: ServerAction::new(),
    };
    // Reload the list after a change that went through (and only then: a refused form keeps
    // what was typed).
    let refresh = RwSignal::new(0_u32);
    Effect::new(move |_| {
        let created = actions
            .create
            .value()
            .with(|answer| matches!(answer, Some(Ok(CreateApiKeyAnswer::Created(_)))));
        if created {
            refresh.update(|n| *n += 1);
        }
    });
    Effect::new(move |_| {
        if actions
            .revoke
            .value()
            .with(|answer| matches!(answer, Some(Ok(()))))
        {
            refresh.update(|n| *n += 1);
        }
    });
    let overview = Resource::new(move || refresh.get(), |_| api_keys_overview());

    view! {
        <Title text=move || texts.get().api_keys.title/>
        <h1>{move || texts.get().api_keys.title}</h1>
        <p class="lead">{move || texts.get().api_keys.intro}</p>
        <NewKey action=actions.create/>
        <Transition fallback=move || view! { <p class="muted">{move || texts.get().api_keys.loading}</p> }>
            {move || {
                overview
                    .get()
                    .map(|result| match result {
                        Ok(data) => view! { <Overview data actions/> }.into_any(),
                        Err(err) => {
                            let text = refusal_text(&err);
                            view! {
                                <p class="notice notice-error" role="alert" id="api-keys-error">
                                    {move || text(texts.get())}
                                </p>
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

#[component]
fn Overview(data: ApiKeysView, actions: Actions) -> impl IntoView {
    let ApiKeysView {
        keys,
        scopes,
        origin,
    } = data;
    view! {
        <KeyList keys action=actions.revoke/>
        <CreateForm scopes action=actions.create/>
        <HowTo origin/>
    }
}

#[component]
fn KeyList(keys: Vec<ApiKeyView>, action: ServerAction<RevokeApiKey>) -> impl IntoView {
    let texts = use_texts();
    let table = if keys.is_empty() {
        view! { <p class="muted" id="api-keys-empty">{move || texts.get().api_keys.empty}</p> }
            .into_any()
    } else {
        let rows = keys
            .into_iter()
            .map(|key| view! { <KeyRow key action/> })
            .collect_view();
        view! {
            <div class="table-scroll">
                <table class="data-table" id="api-keys-table">
                    <thead>
                        <tr>
                            <th scope="col">{move || texts.get().api_keys.column_name}</th>
                            <th scope="col">{move || texts.get().api_keys.column_key}</th>
                            <th scope="col">{move || texts.get().api_keys.column_scopes}</th>
                            <th scope="col">{move || texts.get().api_keys.column_created}</th>
                            <th scope="col">{move || texts.get().api_keys.column_last_used}</th>
                            <th scope="col">{move || texts.get().api_keys.column_status}</th>
                            <th scope="col">{move || texts.get().api_keys.column_actions}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby="api-keys-heading">
            <h2 id="api-keys-heading">{move || texts.get().api_keys.keys_heading}</h2>
            <RevokeAnswer action/>
            {table}
        </section>
    }
}

#[component]
fn KeyRow(key: ApiKeyView, action: ServerAction<RevokeApiKey>) -> impl IntoView {
    let texts = use_texts();
    let revoked = key.is_revoked();
    let ApiKeyView {
        id,
        name,
        prefix,
        scopes,
        created_at,
        last_used_at,
        revoked_at,
    } = key;
    let scope_items = scopes
        .into_iter()
        .map(|scope| {
            let label = scope_name(scope);
            view! { <li data-scope=scope.code()>{move || label(texts.get())}</li> }
        })
        .collect_view();
    let last_used = match last_used_at {
        Some(at) => at.into_any(),
        None => {
            view! { <span class="muted">{move || texts.get().api_keys.never}</span> }.into_any()
        }
    };
    let status = match revoked_at {
        Some(at) => view! {
            <span class="badge badge-muted">{move || texts.get().api_keys.status_revoked}</span>
            " "
            <span class="muted nowrap">{at}</span>
        }
        .into_any(),
        None => view! { <span class="badge badge-active">{move || texts.get().api_keys.status_active}</span> }.into_any(),
    };
    let details_id = format!("revoke-{id}");
    let revoke = (!revoked).then(|| {
        view! {
            <details class="confirm" id=details_id>
                <summary class="button button-small button-danger">
                    {move || texts.get().api_keys.revoke}
                </summary>
                <div class="confirm-body">
                    <p>{move || texts.get().api_keys.revoke_confirm}</p>
                    <ActionForm action attr:class="inline-form">
                        <input type="hidden" name="id" value=id/>
                        <button
                            type="submit"
                            class="button button-small button-danger"
                            disabled=move || action.pending().get()
                        >
                            {move || texts.get().api_keys.revoke_submit}
                        </button>
                    </ActionForm>
                </div>
            </details>
        }
    });

    let row_prefix = prefix.clone();
    view! {
        <tr data-prefix=row_prefix data-status=if revoked { "revoked" } else { "active" } class:revoked=revoked>
            <td>{name}</td>
            <td class="nowrap">
                <code translate="no">{prefix} "…"</code>
            </td>
            <td>
                <ul class="scope-list">{scope_items}</ul>
            </td>
            <td class="nowrap">{created_at}</td>
            <td class="nowrap">{last_used}</td>
            <td>{status}</td>
            <td>{revoke}</td>
        </tr>
    }
}

/// What revoking answered.
#[component]
fn RevokeAnswer(action: ServerAction<RevokeApiKey>) -> impl IntoView {
    let texts = use_texts();
    move || {
        let (ok, text): (bool, TextOf) = match action.value().get()? {
            Ok(()) => (true, |t| t.api_keys.revoked_notice),
            Err(err) => (false, refusal_text(&err)),
        };
        Some(view! {
            <p
                class=if ok { "notice notice-success" } else { "notice notice-error" }
                id="revoke-answer"
                role=if ok { "status" } else { "alert" }
            >
                {move || text(texts.get())}
            </p>
        })
    }
}

#[component]
fn CreateForm(scopes: Vec<KeyScope>, action: ServerAction<CreateApiKey>) -> impl IntoView {
    let texts = use_texts();
    // Effects run in the browser only: until the page is interactive, the answer (and so the
    // new key) could not be shown, and the button waits.
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    let problem = move |field: &'static str| {
        Signal::derive(move || {
            action.value().with(|answer| match answer {
                Some(Ok(CreateApiKeyAnswer::Invalid(problems))) => {
                    problems.iter().find(|p| p.field == field).map(|p| p.error)
                }
                _ => None,
            })
        })
    };
    let scopes_problem = problem("scopes");
    let failure = move || {
        action.value().with(|answer| match answer {
            Some(Err(err)) => Some(refusal_text(err)),
            _ => None,
        })
    };
    let choices = scopes
        .into_iter()
        .map(|scope| {
            let (label, help) = (scope_name(scope), scope_help(scope));
            let id = format!("scope-{}", scope.code().replace(':', "-"));
            let help_id = format!("{id}-help");
            view! {
                <div class="check">
                    <input type="checkbox" name="scopes[]" value=scope.code() id=id.clone() aria-describedby=help_id.clone()/>
                    <label for=id>
                        <span class="check-label">{move || label(texts.get())}</span>
                        " "
                        <code class="muted" translate="no">{scope.code()}</code>
                        <span class="field-hint" id=help_id>{move || help(texts.get())}</span>
                    </label>
                </div>
            }
        })
        .collect_view();

    view! {
        <section class="card" aria-labelledby="create-api-key-heading">
            <h2 id="create-api-key-heading">{move || texts.get().api_keys.create_heading}</h2>
            <p class="muted">{move || texts.get().api_keys.create_intro}</p>
            <ActionForm action attr:class="form" attr:novalidate=true attr:id="create-api-key-form">
                <Field
                    name="name"
                    kind="text"
                    label=|t| t.api_keys.field_name
                    hint=|t| t.api_keys.field_name_hint
                    autocomplete="off"
                    validate=check_name
                    server_error=problem("name")
                />
                <fieldset
                    class="scope-choices"
                    class:invalid=move || scopes_problem.get().is_some()
                    aria-describedby="scopes-error"
                >
                    <legend>{move || texts.get().api_keys.field_scopes}</legend>
                    {choices}
                    <p class="field-error" id="scopes-error" data-field="scopes" role="alert">
                        {move || scopes_problem.get().map(|_| texts.get().api_keys.scopes_required)}
                    </p>
                </fieldset>
                {move || {
                    failure()
                        .map(|text| {
                            view! {
                                <p class="notice notice-error" role="alert" id="create-api-key-error">
                                    {move || text(texts.get())}
                                </p>
                            }
                        })
                }}
                <Show when=move || !interactive.get()>
                    <p class="muted" id="create-api-key-needs-script">{move || texts.get().api_keys.needs_script}</p>
                </Show>
                <button
                    type="submit"
                    class="button"
                    id="create-api-key-submit"
                    disabled=move || !interactive.get() || action.pending().get()
                >
                    {move || texts.get().api_keys.create_submit}
                </button>
            </ActionForm>
        </section>
    }
}

/// The key just created, shown once, until the user says it is stored.
#[component]
fn NewKey(action: ServerAction<CreateApiKey>) -> impl IntoView {
    move || {
        let new = action.value().with(|answer| match answer {
            Some(Ok(CreateApiKeyAnswer::Created(new))) => Some(new.clone()),
            _ => None,
        })?;
        Some(view! { <NewKeyBox new action/> })
    }
}

#[component]
fn NewKeyBox(new: NewApiKeyView, action: ServerAction<CreateApiKey>) -> impl IntoView {
    let texts = use_texts();
    let NewApiKeyView { summary, key } = new;
    let copied = RwSignal::new(None::<bool>);
    let to_copy = key.clone();

    view! {
        <section class="card new-key" id="new-api-key" aria-labelledby="new-api-key-heading">
            <h2 id="new-api-key-heading">
                {move || texts.get().api_keys.new_key_heading} ": " {summary.name}
            </h2>
            <p class="notice notice-warning" id="new-api-key-once">
                <strong>{move || texts.get().api_keys.new_key_once}</strong>
            </p>
            <p>
                <code class="api-key-value" id="new-api-key-value" translate="no">{key}</code>
            </p>
            <div class="button-row">
                <button
                    type="button"
                    class="button copy-button"
                    id="copy-api-key"
                    on:click=move |_| copy_to_clipboard(to_copy.clone(), copied)
                >
                    {move || texts.get().api_keys.copy}
                </button>
                <button
                    type="button"
                    class="button button-secondary"
                    id="api-key-stored"
                    on:click=move |_| action.clear()
                >
                    {move || texts.get().api_keys.key_stored}
                </button>
            </div>
            {move || {
                copied
                    .get()
                    .map(|ok| {
                        let text: TextOf = if ok {
                            |t| t.api_keys.copied
                        } else {
                            |t| t.api_keys.copy_failed
                        };
                        view! {
                            <p
                                class=if ok { "notice notice-success" } else { "notice notice-error" }
                                role="status"
                                id="copy-api-key-result"
                            >
                                {move || text(texts.get())}
                            </p>
                        }
                    })
            }}
        </section>
    }
}

/// How a program uses a key, with a curl example for this installation.
#[component]
fn HowTo(origin: String) -> impl IntoView {
    let texts = use_texts();
    let example = format!(
        "curl -X POST '{origin}/api/v1/auth/token' \\\n  \
         -H 'Content-Type: application/json' \\\n  \
         -d '{{\"api_key\": \"smk_…\"}}'\n\n\
         curl '{origin}/api/v1/organization' \\\n  \
         -H 'Authorization: Bearer <access_token>'"
    );
    view! {
        <section class="card" aria-labelledby="api-howto-heading">
            <h2 id="api-howto-heading">{move || texts.get().api_keys.howto_heading}</h2>
            <p>{move || texts.get().api_keys.howto_intro}</p>
            <ol class="howto-steps">
                <li>
                    {move || texts.get().api_keys.howto_token}
                    " "
                    <code translate="no">"POST /api/v1/auth/token"</code>
                    {move || texts.get().api_keys.howto_token_body}
                    <code translate="no">"{\"api_key\": \"…\"}"</code>
                    ". "
                    {move || texts.get().api_keys.howto_token_answer}
                </li>
                <li>
                    {move || texts.get().api_keys.howto_call}
                    " "
                    <code translate="no">"Authorization: Bearer …"</code>
                    {move || texts.get().api_keys.howto_call_example}
                    <code translate="no">"GET /api/v1/organization"</code>
                    "."
                </li>
            </ol>
            <p>{move || texts.get().api_keys.howto_example}</p>
            <pre class="code-block" id="api-example"><code translate="no">{example}</code></pre>
            <p class="muted">{move || texts.get().api_keys.howto_expiry}</p>
        </section>
    }
}

/// The server's rule for key names (trimmed, 1–80 characters, no control characters), so the
/// form can say so before sending.
fn check_name(value: &str) -> Result<(), FieldError> {
    ApiKeyName::parse(value).map(drop)
}

/// A scope's name in words.
fn scope_name(scope: KeyScope) -> TextOf {
    match scope {
        KeyScope::OrganizationRead => |t: &Texts| t.api_keys.scope_organization_read,
        KeyScope::CatalogRead => |t| t.api_keys.scope_catalog_read,
        KeyScope::CatalogWrite => |t| t.api_keys.scope_catalog_write,
        KeyScope::OrdersRead => |t| t.api_keys.scope_orders_read,
        KeyScope::OrdersWrite => |t| t.api_keys.scope_orders_write,
    }
}

/// What a scope allows, in a sentence.
fn scope_help(scope: KeyScope) -> TextOf {
    match scope {
        KeyScope::OrganizationRead => |t: &Texts| t.api_keys.scope_organization_read_help,
        KeyScope::CatalogRead => |t| t.api_keys.scope_catalog_read_help,
        KeyScope::CatalogWrite => |t| t.api_keys.scope_catalog_write_help,
        KeyScope::OrdersRead => |t| t.api_keys.scope_orders_read_help,
        KeyScope::OrdersWrite => |t| t.api_keys.scope_orders_write_help,
    }
}

/// Copies the key with the browser's clipboard and tells how that went. The clipboard exists
/// only in the browser (and only in secure contexts); elsewhere copying "fails" and the user
/// copies by hand.
fn copy_to_clipboard(text: String, copied: RwSignal<Option<bool>>) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        copied.set(Some(clipboard::write_text(&text).await));
    });
    #[cfg(not(feature = "hydrate"))]
    {
        drop(text);
        copied.set(Some(false));
    }
}

/// `navigator.clipboard.writeText`.
#[cfg(feature = "hydrate")]
mod clipboard {
    /// Whether the text is on the clipboard (false outside a secure context, or when the
    /// browser refuses).
    pub async fn write_text(text: &str) -> bool {
        let Some(window) = web_sys::window() else {
            return false;
        };
        let promise = window.navigator().clipboard().write_text(text);
        wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_servers_rule() {
        assert_eq!(check_name("  ERP sync "), Ok(()));
        assert_eq!(check_name(" \t "), Err(FieldError::Required));
        assert_eq!(check_name(&"ä".repeat(80)), Ok(()));
        assert_eq!(
            check_name(&"ä".repeat(81)),
            Err(FieldError::TooLong { max: 80 })
        );
        assert_eq!(check_name("a\u{1b}b"), Err(FieldError::ControlCharacters));
    }
}
