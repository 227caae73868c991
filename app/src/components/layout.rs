//! The frame around every page: header with the language switch, the main navigation, and the
//! content area with an error boundary.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    components::{
        language_switch::LanguageSwitch,
        session::{UserMenu, provide_current_user},
    },
    i18n::{Texts, use_texts},
};

/// One entry of the main navigation.
struct NavItem {
    href: &'static str,
    label: fn(&Texts) -> &'static str,
}

const NAV: [NavItem; 10] = [
    NavItem {
        href: "/",
        label: |t| t.nav_dashboard,
    },
    NavItem {
        href: "/products",
        label: |t| t.nav_products,
    },
    NavItem {
        href: "/connections",
        label: |t| t.nav_connections,
    },
    NavItem {
        href: "/orders",
        label: |t| t.nav_orders,
    },
    NavItem {
        href: "/sync",
        label: |t| t.nav_sync,
    },
    NavItem {
        href: "/members",
        label: |t| t.members.nav,
    },
    NavItem {
        href: "/api-keys",
        label: |t| t.api_keys.nav,
    },
    NavItem {
        href: "/audit",
        label: |t| t.audit.nav,
    },
    NavItem {
        href: "/settings",
        label: |t| t.nav_settings,
    },
    NavItem {
        href: "/privacy",
        label: |t| t.nav_privacy,
    },
];

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let texts = use_texts();
    let menu_open = RwSignal::new(false);
    provide_current_user();

    view! {
        <a class="skip-link" href="#main">{move || texts.get().skip_to_content}</a>
        <header class="topbar">
            <button
                id="menu-toggle"
                class="menu-toggle"
                type="button"
                aria-controls="main-nav"
                aria-expanded=move || menu_open.get().to_string()
                on:click=move |_| menu_open.update(|open| *open = !*open)
            >
                <span aria-hidden="true" class="menu-icon"></span>
                {move || texts.get().menu}
            </button>
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"SM"</span>
                <span class="brand-name">"ShopMarkets"</span>
            </a>
            <UserMenu/>
            <LanguageSwitch/>
        </header>
        <div class="frame">
            <nav
                id="main-nav"
                class="sidenav"
                class:open=move || menu_open.get()
                aria-label=move || texts.get().nav_label
            >
                <ul>
                    {NAV
                        .iter()
                        .map(|item| {
                            let label = item.label;
                            view! {
                                <li>
                                    <A href=item.href exact=true on:click=move |_| menu_open.set(false)>
                                        {move || label(texts.get())}
                                    </A>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </nav>
            <main id="main" class="content" tabindex="-1">
                <ErrorBoundary fallback=move |_errors| view! { <ErrorPanel/> }>{children()}</ErrorBoundary>
            </main>
        </div>
    }
}

/// Shown instead of a part of a page that failed; never shows internals.
#[component]
fn ErrorPanel() -> impl IntoView {
    let texts = use_texts();
    view! {
        <section class="card error-panel" role="alert">
            <h1>{move || texts.get().error_title}</h1>
            <p>{move || texts.get().error_text}</p>
            <a class="button" href="">{move || texts.get().reload}</a>
        </section>
    }
}
