//! Signing in: the password step and, for accounts with TOTP, the code step.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::auth::{Login, LoginAnswer, SecondFactor, SecondFactorAnswer},
    components::session::reload_at,
    i18n::use_texts,
};

#[component]
pub fn LoginPage() -> impl IntoView {
    let texts = use_texts();
    let action = ServerAction::<Login>::new();
    Effect::new(move |_| match action.value().get() {
        Some(Ok(LoginAnswer::SignedIn)) => reload_at("/"),
        Some(Ok(LoginAnswer::SecondFactorRequired)) => reload_at("/login/second-factor"),
        _ => {}
    });
    let message = move || {
        let t = texts.get().auth;
        match action.value().get() {
            Some(Ok(LoginAnswer::Refused)) => Some(("notice notice-error", t.login_refused)),
            Some(Ok(LoginAnswer::EmailNotVerified)) => {
                Some(("notice notice-error", t.login_unverified))
            }
            Some(Err(_)) => Some(("notice notice-error", texts.get().request_failed)),
            _ => None,
        }
    };

    view! {
        <Title text=move || texts.get().auth.login_title/>
        <h1>{move || texts.get().auth.login_title}</h1>
        <p class="lead">{move || texts.get().auth.login_intro}</p>
        <section class="card">
            <ActionForm action attr:class="form" attr:id="login-form">
                <div class="field">
                    <label for="login-email">{move || texts.get().field_email}</label>
                    <input id="login-email" name="email" type="email" autocomplete="username" required=true/>
                </div>
                <div class="field">
                    <label for="login-password">{move || texts.get().field_password}</label>
                    <input id="login-password" name="password" type="password" autocomplete="current-password" required=true/>
                </div>
                {move || {
                    message()
                        .map(|(class, text)| {
                            view! { <p class=class role="alert" id="login-message">{text}</p> }
                        })
                }}
                <button type="submit" class="button" id="login-submit" disabled=move || action.pending().get()>
                    {move || texts.get().auth.login_submit}
                </button>
            </ActionForm>
            <p class="form-links">
                <a href="/forgot-password" id="forgot-link">{move || texts.get().auth.login_forgot}</a>
                " · "
                <a href="/register">{move || texts.get().auth.login_no_account}</a>
            </p>
        </section>
    }
}

#[component]
pub fn SecondFactorPage() -> impl IntoView {
    let texts = use_texts();
    let action = ServerAction::<SecondFactor>::new();
    Effect::new(move |_| {
        if let Some(Ok(SecondFactorAnswer::SignedIn { .. })) = action.value().get() {
            reload_at("/");
        }
    });
    let message = move || {
        let t = texts.get().auth;
        match action.value().get() {
            Some(Ok(SecondFactorAnswer::Refused)) => Some(t.second_factor_refused),
            Some(Ok(SecondFactorAnswer::Expired)) => Some(t.second_factor_expired),
            Some(Err(_)) => Some(texts.get().request_failed),
            _ => None,
        }
    };

    view! {
        <Title text=move || texts.get().auth.second_factor_title/>
        <h1>{move || texts.get().auth.second_factor_title}</h1>
        <p class="lead">{move || texts.get().auth.second_factor_intro}</p>
        <section class="card">
            <ActionForm action attr:class="form" attr:id="second-factor-form">
                <div class="field">
                    <label for="second-factor-code">{move || texts.get().auth.field_code}</label>
                    <input
                        id="second-factor-code"
                        name="code"
                        type="text"
                        inputmode="numeric"
                        autocomplete="one-time-code"
                        maxlength="16"
                        required=true
                        aria-describedby="second-factor-hint"
                    />
                    <p class="field-hint" id="second-factor-hint">{move || texts.get().auth.field_code_hint}</p>
                </div>
                {move || message().map(|text| view! { <p class="notice notice-error" role="alert" id="second-factor-message">{text}</p> })}
                <button type="submit" class="button" id="second-factor-submit" disabled=move || action.pending().get()>
                    {move || texts.get().auth.second_factor_submit}
                </button>
            </ActionForm>
            <p class="form-links"><a href="/login">{move || texts.get().auth.login_title}</a></p>
        </section>
    }
}
