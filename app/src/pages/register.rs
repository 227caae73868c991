//! Sign-up: account, organization, and a confirmation link by email.

use leptos::prelude::*;
use leptos_meta::Title;
use shopmarkets_types::{DisplayName, EmailAddress, OrganizationName, Password};

use crate::{
    api::{Register, RegisterOutcome},
    components::field::Field,
    i18n::use_texts,
};

#[component]
pub fn RegisterPage() -> impl IntoView {
    let texts = use_texts();
    let action = ServerAction::<Register>::new();
    let problem = move |field: &'static str| {
        Signal::derive(move || match action.value().get() {
            Some(Ok(RegisterOutcome::Invalid(problems))) => problems
                .into_iter()
                .find(|p| p.field == field)
                .map(|p| p.error),
            _ => None,
        })
    };
    let done = move || matches!(action.value().get(), Some(Ok(RegisterOutcome::CheckInbox)));
    let failed = move || matches!(action.value().get(), Some(Err(_)));

    view! {
        <Title text=move || texts.get().nav_register/>
        <h1>{move || texts.get().nav_register}</h1>
        <Show
            when=done
            fallback=move || {
                view! {
                    <p class="lead">{move || texts.get().register_intro}</p>
                    <section class="card">
                        <ActionForm action attr:class="form" attr:novalidate=true attr:id="register-form">
                            <Field
                                name="email"
                                kind="email"
                                label=|t| t.field_email
                                autocomplete="email"
                                validate=|v| EmailAddress::parse(v).map(drop)
                                server_error=problem("email")
                            />
                            <Field
                                name="password"
                                kind="password"
                                label=|t| t.field_password
                                hint=|t| t.field_password_hint
                                autocomplete="new-password"
                                validate=|v| Password::parse(v).map(drop)
                                server_error=problem("password")
                            />
                            <Field
                                name="display_name"
                                kind="text"
                                label=|t| t.field_display_name
                                autocomplete="name"
                                validate=|v| DisplayName::parse(v).map(drop)
                                server_error=problem("display_name")
                            />
                            <Field
                                name="organization_name"
                                kind="text"
                                label=|t| t.field_organization_name
                                autocomplete="organization"
                                validate=|v| OrganizationName::parse(v).map(drop)
                                server_error=problem("organization_name")
                            />
                            <Show when=failed>
                                <p class="notice notice-error" role="alert">{move || texts.get().request_failed}</p>
                            </Show>
                            <button type="submit" class="button" id="register-submit" disabled=move || action.pending().get()>
                                {move || texts.get().register_submit}
                            </button>
                        </ActionForm>
                    </section>
                }
            }
        >
            <section class="card notice-success" role="status" id="register-done">
                <p>{move || texts.get().register_check_inbox}</p>
            </section>
        </Show>
    }
}
