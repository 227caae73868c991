//! The start page: what ShopMarkets is and how the running system is doing.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::{
        SystemStatusView,
        catalog::{FillDemoCatalog, demo_catalog_available},
        system_status,
    },
    components::session::Notices,
    i18n::use_texts,
};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let texts = use_texts();
    let status = Resource::new(|| (), |_| system_status());

    view! {
        <Title text=move || texts.get().nav_dashboard/>
        <h1>{move || texts.get().nav_dashboard}</h1>
        <p class="lead">{move || texts.get().dashboard_intro}</p>
        <Notices/>
        <section class="card" aria-labelledby="system-heading">
            <h2 id="system-heading">{move || texts.get().system_heading}</h2>
            <Suspense fallback=move || view! { <p class="muted">{move || texts.get().system_loading}</p> }>
                {move || {
                    status
                        .get()
                        .map(|result| match result {
                            Ok(status) => view! { <SystemFacts status/> }.into_any(),
                            Err(_) => {
                                view! {
                                    <p class="notice notice-error" role="alert">
                                        {move || texts.get().system_unavailable}
                                    </p>
                                }
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
        </section>
        <DemoCatalog/>
    }
}

/// In development: a button that fills the organization with the demo catalog.
#[component]
fn DemoCatalog() -> impl IntoView {
    let texts = use_texts();
    let available = Resource::new(|| (), |_| demo_catalog_available());
    let fill = ServerAction::<FillDemoCatalog>::new();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                matches!(available.get(), Some(Ok(true)))
                    .then(|| {
                        view! {
                            <section class="card" aria-labelledby="demo-heading">
                                <h2 id="demo-heading">{move || texts.get().catalog.demo_heading}</h2>
                                <p>{move || texts.get().catalog.demo_intro}</p>
                                <ActionForm action=fill>
                                    <button type="submit" class="button" id="demo-fill" disabled=move || fill.pending().get()>
                                        {move || texts.get().catalog.demo_button}
                                    </button>
                                </ActionForm>
                                {move || matches!(fill.value().get(), Some(Ok(()))).then(|| view! {
                                    <p class="notice notice-success" role="status">{move || texts.get().catalog.demo_started}</p>
                                })}
                            </section>
                        }
                    })
            }}
        </Suspense>
    }
}

#[component]
fn SystemFacts(status: SystemStatusView) -> impl IntoView {
    let texts = use_texts();
    let migrations = format!(
        "{} / {}",
        status.migrations_applied,
        status.migrations_applied + status.migrations_pending
    );
    view! {
        <dl class="facts" id="system-facts">
            <dt>{move || texts.get().system_version}</dt>
            <dd>{status.version}</dd>
            <dt>{move || texts.get().system_database}</dt>
            <dd data-testid="database-engine">{status.database}</dd>
            <dt>{move || texts.get().system_schema}</dt>
            <dd><code>{status.schema_version.unwrap_or_else(|| "—".to_owned())}</code></dd>
            <dt>{move || texts.get().system_migrations}</dt>
            <dd>{migrations}</dd>
            <dt>{move || texts.get().system_uptime}</dt>
            <dd>{format_duration(status.uptime_seconds)}</dd>
        </dl>
    }
}

/// `42 s`, `5 min`, `3 h 12 min`, `2 d 4 h`: short, and the same in German and English.
fn format_duration(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::format_duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(42), "42 s");
        assert_eq!(format_duration(5 * 60 + 3), "5 min");
        assert_eq!(format_duration(3 * 3600 + 12 * 60), "3 h 12 min");
        assert_eq!(format_duration(2 * 86_400 + 4 * 3600 + 59), "2 d 4 h");
    }
}
