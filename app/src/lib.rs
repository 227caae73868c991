//! The ShopMarkets user interface: the app shell, pages, components and the server functions
//! they call.
//!
//! Compiled twice: with `ssr` into the server (where server functions run and may use
//! `shopmarkets-core`), and with `hydrate` into the browser's wasm bundle (where they become
//! HTTP calls). Nothing server-only is compiled into the browser.

// Large pages nest deep view types; the hydrate build needs more than the default 128.
#![recursion_limit = "256"]

pub mod api;
mod components;
pub mod i18n;
mod pages;
#[cfg(feature = "ssr")]
pub mod services;

use leptos::prelude::*;
use leptos_meta::{Html, Meta, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::{
    components::layout::Layout,
    i18n::{provide_locale, use_texts},
    pages::{
        dashboard::DashboardPage,
        dev_outbox::DevOutboxPage,
        not_found::NotFoundPage,
        planned::{PlannedPage, Section},
        register::RegisterPage,
        verify_email::VerifyEmailPage,
    },
};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The root component: language, document metadata and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let locale = provide_locale();
    let texts = use_texts();

    // Set once the wasm has taken over the page: browser tests wait for it, and styles may use
    // it to show controls that need scripting.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Html {..} lang=move || locale.get().code()/>
        <Stylesheet id="leptos" href="/pkg/shopmarkets.css"/>
        <Meta name="description" content=move || texts.get().meta_description/>
        <Title formatter=|page: String| format!("{page} · ShopMarkets")/>
        <Router>
            <Layout>
                <Routes fallback=NotFoundPage>
                    <Route path=path!("") view=DashboardPage/>
                    <Route path=path!("products") view=pages::products::ProductsPage/>
                    <Route path=path!("products/import") view=pages::catalog_import::CatalogImportPage/>
                    <Route path=path!("products/:id") view=pages::product_editor::ProductEditorPage/>
                    <Route path=path!("connections") view=pages::connections::ConnectionsPage/>
                    <Route path=path!("orders") view=|| view! { <PlannedPage section=Section::Orders/> }/>
                    <Route path=path!("sync") view=|| view! { <PlannedPage section=Section::Sync/> }/>
                    <Route path=path!("settings") view=|| view! { <PlannedPage section=Section::Settings/> }/>
                    <Route path=path!("settings/price-rules") view=pages::price_rules::PriceRulesPage/>
                    <Route path=path!("privacy") view=|| view! { <PlannedPage section=Section::Privacy/> }/>
                    <Route path=path!("register") view=RegisterPage/>
                    <Route path=path!("verify-email") view=VerifyEmailPage/>
                    <Route path=path!("dev/outbox") view=DevOutboxPage/>
                    <Route path=path!("login") view=pages::login::LoginPage/>
                    <Route path=path!("login/second-factor") view=pages::login::SecondFactorPage/>
                    <Route path=path!("forgot-password") view=pages::password_reset::ForgotPasswordPage/>
                    <Route path=path!("reset-password") view=pages::password_reset::ResetPasswordPage/>
                    <Route path=path!("account") view=pages::account::AccountPage/>
                    <Route path=path!("members") view=pages::members::MembersPage/>
                    <Route path=path!("api-keys") view=pages::api_keys::ApiKeysPage/>
                    <Route path=path!("audit") view=pages::audit::AuditPage/>
                    <Route path=path!("invitations/accept") view=pages::accept_invitation::AcceptInvitationPage/>
                </Routes>
            </Layout>
        </Router>
    }
}
