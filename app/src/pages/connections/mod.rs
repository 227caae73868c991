//! The connections page: the organization's marketplace accounts with their health (status,
//! permissions, when access expires, the last successful call, the last error in words), and a
//! tile per marketplace to connect one more.
//!
//! Every control is a form that also works before the page is interactive: connecting posts
//! to `start_connection`, whose response redirects the browser to the marketplace; the other
//! changes come back to this page with the outcome in the query (`?connected=<id>`,
//! `?tested=<id>`, `?disconnected=<id>`, `?error=<code>`), which the marketplace callbacks use
//! too. Disconnecting asks first in a dialog naming the account: a modal one once the page is
//! interactive, before that the same dialog opened by `?disconnect=<id>`. Owners and admins
//! see the buttons that change connections; everyone else sees the cards.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

mod cards;
mod connect;

use crate::{
    api::connections::{
        ConnectWithKeys, ConnectionView, ConnectionsView, Disconnect, StartConnection,
        TestConnection, connections_overview,
    },
    i18n::{Texts, use_locale, use_texts},
};
use cards::ConnectionCard;
use connect::ConnectTile;

/// The page's actions, shared by every card and tile. `form` names the form that submitted
/// last, so its tile shows the answer.
#[derive(Clone, Copy)]
struct Actions {
    start: ServerAction<StartConnection>,
    keys: ServerAction<ConnectWithKeys>,
    test: ServerAction<TestConnection>,
    disconnect: ServerAction<Disconnect>,
    form: RwSignal<Option<String>>,
}

/// What the message area says: an outcome from the query or from an action.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Notice {
    /// An account was connected (its "Marketplace – account", if it is listed).
    Connected(Option<String>),
    /// A connection test: the account, and the error code and detail if it failed.
    Tested {
        account: String,
        error: Option<(String, Option<String>)>,
    },
    Disconnected,
    /// Connecting failed with this code.
    ConnectFailed(String),
    /// Another step failed with this code.
    Failed(String),
}

impl Notice {
    fn ok(&self) -> bool {
        matches!(
            self,
            Self::Connected(_) | Self::Disconnected | Self::Tested { error: None, .. }
        )
    }

    fn text(&self, t: &Texts) -> String {
        let c = t.connections;
        match self {
            Self::Connected(Some(account)) => format!("{} {account}", c.connected_notice),
            Self::Connected(None) => c.connected_notice.trim_end_matches(':').to_owned(),
            Self::Tested {
                account,
                error: None,
            } => format!("{account}: {}", c.tested_ok),
            Self::Tested {
                account,
                error: Some((code, detail)),
            } => format!(
                "{account}: {} {}",
                c.tested_failed,
                with_detail(error_text(code, t), detail.as_deref())
            ),
            Self::Disconnected => c.disconnected_notice.to_owned(),
            Self::ConnectFailed(code) => format!("{} {}", c.connect_failed, error_text(code, t)),
            Self::Failed(code) => error_text(code, t).to_owned(),
        }
    }
}

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let texts = use_texts();
    let locale = use_locale();
    let actions = Actions {
        start: ServerAction::new(),
        keys: ServerAction::new(),
        test: ServerAction::new(),
        disconnect: ServerAction::new(),
        form: RwSignal::new(None),
    };
    // An action's outcome replaces the one from the query; changes that went through reload
    // the list (scope texts come in the page's language, so a language switch reloads it too).
    let notice = RwSignal::new(None::<Notice>);
    let refresh = RwSignal::new(0_u32);
    Effect::new(move |_| {
        let Some(answer) = actions.keys.value().get() else {
            return;
        };
        match answer {
            Ok(view) => {
                notice.set(Some(Notice::Connected(Some(account_label(&view)))));
                refresh.update(|n| *n += 1);
            }
            // Shown in the tile that submitted.
            Err(_) => notice.set(None),
        }
    });
    Effect::new(move |_| {
        let Some(answer) = actions.test.value().get() else {
            return;
        };
        notice.set(Some(match answer {
            Ok(view) => {
                refresh.update(|n| *n += 1);
                tested(&view)
            }
            Err(err) => Notice::Failed(error_code(&err)),
        }));
    });
    Effect::new(move |_| {
        let Some(answer) = actions.disconnect.value().get() else {
            return;
        };
        notice.set(Some(match answer {
            Ok(_) => {
                refresh.update(|n| *n += 1);
                Notice::Disconnected
            }
            Err(err) => Notice::Failed(error_code(&err)),
        }));
    });
    let overview = Resource::new(
        move || (refresh.get(), locale.get()),
        |_| connections_overview(),
    );

    view! {
        <Title text=move || texts.get().connections.title/>
        <h1>{move || texts.get().connections.title}</h1>
        <p class="lead">{move || texts.get().connections.intro}</p>
        <Transition fallback=move || {
            view! { <p class="muted">{move || texts.get().connections.loading}</p> }
        }>
            {move || {
                overview
                    .get()
                    .map(|result| match result {
                        Ok(data) => view! { <Overview data actions notice/> }.into_any(),
                        Err(err) => {
                            let code = error_code(&err);
                            view! {
                                <p class="notice notice-error" role="alert" id="connections-error">
                                    {move || error_text(&code, texts.get())}
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
fn Overview(
    data: ConnectionsView,
    actions: Actions,
    notice: RwSignal<Option<Notice>>,
) -> impl IntoView {
    let texts = use_texts();
    let query = use_query_map();
    let ConnectionsView {
        marketplaces,
        connections,
        can_manage,
        now: server_now,
    } = data;

    // The server's time, ticking on in the browser (only there: the server renders the value
    // at the time of the request).
    let now = RwSignal::new(server_now);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let started = web_sys::js_sys::Date::now();
        let handle = set_interval_with_handle(
            move || {
                let elapsed = (web_sys::js_sys::Date::now() - started) / 1000.0;
                now.set(server_now + elapsed as i64);
            },
            std::time::Duration::from_secs(10),
        )
        .ok();
        on_cleanup(move || {
            if let Some(handle) = handle {
                handle.clear();
            }
        });
    });

    let from_query = query.with_untracked(|q| query_notice(q, &connections));
    let open_dialog = query.with_untracked(|q| q.get("disconnect"));
    let shown = move || notice.get().or_else(|| from_query.clone());

    let cards = if connections.is_empty() {
        view! { <p class="muted" id="connections-empty">{move || texts.get().connections.empty}</p> }
            .into_any()
    } else {
        connections
            .into_iter()
            .map(|connection| {
                let open = open_dialog.as_deref() == Some(connection.id.as_str());
                view! { <ConnectionCard connection can_manage actions now=now.into() open/> }
            })
            .collect_view()
            .into_any()
    };
    let tiles = marketplaces
        .into_iter()
        .map(|marketplace| view! { <ConnectTile marketplace can_manage actions/> })
        .collect_view();

    view! {
        <div id="connections-messages" aria-live="polite">
            {move || {
                shown()
                    .map(|notice| {
                        let ok = notice.ok();
                        view! {
                            <p
                                class=if ok { "notice notice-success" } else { "notice notice-error" }
                                role=if ok { "status" } else { "alert" }
                                id="connections-notice"
                                data-ok=ok.to_string()
                            >
                                {move || notice.text(texts.get())}
                            </p>
                        }
                    })
            }}
        </div>
        <section aria-labelledby="connections-accounts-heading" class="connections-accounts">
            <h2 id="connections-accounts-heading">{move || texts.get().connections.accounts_heading}</h2>
            {(!can_manage)
                .then(|| {
                    view! { <p class="muted" id="connections-read-only">{move || texts.get().connections.read_only}</p> }
                })}
            <div class="connection-list">{cards}</div>
        </section>
        <section aria-labelledby="connections-connect-heading" class="connections-connect">
            <h2 id="connections-connect-heading">{move || texts.get().connections.connect_heading}</h2>
            <p class="muted">{move || texts.get().connections.connect_intro}</p>
            <div class="connect-tiles">{tiles}</div>
        </section>
    }
    .into_any()
}

/// The outcome the query names (after a marketplace callback or a form post without scripts).
fn query_notice(
    query: &leptos_router::params::ParamsMap,
    connections: &[ConnectionView],
) -> Option<Notice> {
    let find = |id: &str| connections.iter().find(|c| c.id == id);
    if let Some(code) = query.get("error") {
        let code: String = code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .take(60)
            .collect();
        return Some(Notice::ConnectFailed(code));
    }
    if let Some(id) = query.get("connected") {
        return Some(Notice::Connected(find(&id).map(account_label)));
    }
    if let Some(id) = query.get("tested") {
        return find(&id).map(tested);
    }
    if query.get("disconnected").is_some() {
        return Some(Notice::Disconnected);
    }
    None
}

fn account_label(view: &ConnectionView) -> String {
    format!("{} – {}", view.marketplace_name, view.account_name)
}

fn tested(view: &ConnectionView) -> Notice {
    Notice::Tested {
        account: account_label(view),
        error: view
            .last_error_code
            .clone()
            .map(|code| (code, view.last_error_detail.clone())),
    }
}

/// The code a refusal carries (`not_found`, `invalid_input:shop`, `unavailable`…).
fn error_code(err: &ServerFnError) -> String {
    match err {
        ServerFnError::ServerError(message) if message == "internal error" => "internal".into(),
        ServerFnError::ServerError(message) => message.clone(),
        _ => "request_failed".into(),
    }
}

/// A refusal code in words.
fn error_text(code: &str, t: &Texts) -> &'static str {
    let c = t.connections;
    match code {
        "unauthorized" => t.auth.please_sign_in,
        "forbidden" => t.auth.not_permitted,
        "not_found" => t.auth.not_found,
        "invalid_input:shop" => c.error_invalid_shop,
        "invalid_input:key" => c.error_invalid_key,
        "invalid_input:secret" => c.error_invalid_secret,
        "not_configured" => c.error_not_configured,
        "denied" => c.error_denied,
        "forged" => c.error_forged,
        "invalid_credentials" => c.error_invalid_credentials,
        "refresh_refused" => c.error_refresh_refused,
        "rate_limited" => c.error_rate_limited,
        "unavailable" => c.error_unavailable,
        "protocol" => c.error_protocol,
        "unsupported" => c.error_unsupported,
        "unknown_state" => c.error_unknown_state,
        "reused" => c.error_reused,
        "expired" => c.error_expired,
        "wrong_session" => c.error_wrong_session,
        "wrong_marketplace" => c.error_wrong_marketplace,
        "internal" => c.error_internal,
        code if code.starts_with("invalid_input") => c.error_invalid_input,
        _ => t.request_failed,
    }
}

/// An error in words with the marketplace's own words after it.
fn with_detail(text: &str, detail: Option<&str>) -> String {
    match detail.map(str::trim).filter(|d| !d.is_empty()) {
        // "disconnected" is ours, not the marketplace's.
        Some("disconnected") => text.to_owned(),
        Some(detail) => format!("{text} ({detail})"),
        None => text.to_owned(),
    }
}

/// A Unix time as its UTC date, `YYYY-MM-DD` (the same in German and English).
fn date(unix: i64) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let z = unix.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_767_225_599), "2025-12-31");
        assert_eq!(date(-86_400), "1969-12-31");
    }

    #[test]
    fn every_refusal_has_words() {
        use crate::i18n::EN;
        for code in [
            "not_configured",
            "denied",
            "forged",
            "invalid_credentials",
            "refresh_refused",
            "rate_limited",
            "unavailable",
            "protocol",
            "unsupported",
            "unknown_state",
            "reused",
            "expired",
            "wrong_session",
            "wrong_marketplace",
            "internal",
            "invalid_input:shop",
            "invalid_input:other",
        ] {
            assert_ne!(error_text(code, &EN), EN.request_failed, "{code}");
        }
    }
}
