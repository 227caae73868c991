//! "Forgot password": asking for a link, and choosing a new password with it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use shopmarkets_types::Password;

use crate::{
    api::auth::{PasswordAnswer, RequestPasswordReset, ResetPassword},
    components::field::Field,
    i18n::use_texts,
};

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let texts = use_texts();
    let action = ServerAction::<RequestPasswordReset>::new();
    let sent = move || matches!(action.value().get(), Some(Ok(())));

    view! {
        <Title text=move || texts.get().auth.forgot_title/>
        <h1>{move || texts.get().auth.forgot_title}</h1>
        <section class="card">
            <Show
                when=sent
                fallback=move || view! {
                    <p>{move || texts.get().auth.forgot_intro}</p>
                    <ActionForm action attr:class="form" attr:id="forgot-form">
                        <div class="field">
                            <label for="forgot-email">{move || texts.get().field_email}</label>
                            <input id="forgot-email" name="email" type="email" autocomplete="email" required=true/>
                        </div>
                        <Show when=move || matches!(action.value().get(), Some(Err(_)))>
                            <p class="notice notice-error" role="alert">{move || texts.get().request_failed}</p>
                        </Show>
                        <button type="submit" class="button" id="forgot-submit" disabled=move || action.pending().get()>
                            {move || texts.get().auth.forgot_submit}
                        </button>
                    </ActionForm>
                }
            >
                <p class="notice notice-success" role="status" id="forgot-sent">{move || texts.get().auth.forgot_sent}</p>
            </Show>
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let texts = use_texts();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let action = ServerAction::<ResetPassword>::new();
    let problem = Signal::derive(move || match action.value().get() {
        Some(Ok(PasswordAnswer::Invalid(problems))) => problems.into_iter().next().map(|p| p.error),
        _ => None,
    });

    view! {
        <Title text=move || texts.get().auth.reset_title/>
        <h1>{move || texts.get().auth.reset_title}</h1>
        <section class="card">
            {move || match action.value().get() {
                Some(Ok(PasswordAnswer::Done)) => view! {
                    <p class="notice notice-success" role="status" id="reset-done">{move || texts.get().auth.reset_done}</p>
                    <p><a class="button" href="/login">{move || texts.get().auth.login_title}</a></p>
                }.into_any(),
                Some(Ok(PasswordAnswer::InvalidLink)) => view! {
                    <p class="notice notice-error" role="alert" id="reset-invalid">{move || texts.get().auth.reset_invalid}</p>
                    <p><a href="/forgot-password">{move || texts.get().auth.login_forgot}</a></p>
                }.into_any(),
                _ => view! {
                    <p>{move || texts.get().auth.reset_intro}</p>
                    <ActionForm action attr:class="form" attr:novalidate=true attr:id="reset-form">
                        <input type="hidden" name="token" prop:value=token/>
                        <Field
                            name="password"
                            kind="password"
                            label=|t| t.auth.field_new_password
                            hint=|t| t.field_password_hint
                            autocomplete="new-password"
                            validate=|v| Password::parse(v).map(drop)
                            server_error=problem
                        />
                        <Show when=move || matches!(action.value().get(), Some(Err(_)))>
                            <p class="notice notice-error" role="alert">{move || texts.get().request_failed}</p>
                        </Show>
                        <button type="submit" class="button" id="reset-submit" disabled=move || action.pending().get()>
                            {move || texts.get().auth.reset_submit}
                        </button>
                    </ActionForm>
                }.into_any(),
            }}
        </section>
    }
}
