//! Sections of the product that are not built yet. They say what will live there and that it is
//! not available; they do not pretend to work.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::i18n::{Texts, use_texts};

/// A section of the navigation whose page is still to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Orders,
    Sync,
    Settings,
    Privacy,
}

impl Section {
    fn title(self, t: &Texts) -> &'static str {
        match self {
            Self::Orders => t.nav_orders,
            Self::Sync => t.nav_sync,
            Self::Settings => t.nav_settings,
            Self::Privacy => t.nav_privacy,
        }
    }

    fn plan(self, t: &Texts) -> &'static str {
        match self {
            Self::Orders => t.orders_plan,
            Self::Sync => t.sync_plan,
            Self::Settings => t.settings_plan,
            Self::Privacy => t.privacy_plan,
        }
    }
}

#[component]
pub fn PlannedPage(section: Section) -> impl IntoView {
    let texts = use_texts();
    view! {
        <Title text=move || section.title(texts.get())/>
        <h1>{move || section.title(texts.get())}</h1>
        <section class="card planned">
            <p class="badge">{move || texts.get().not_available_yet}</p>
            <p>{move || section.plan(texts.get())}</p>
        </section>
    }
}
