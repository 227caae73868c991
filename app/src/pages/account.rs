//! The user's own account: password, two-factor sign-in and sessions.

use leptos::prelude::*;
use leptos_meta::Title;
use shopmarkets_types::Password;

use crate::{
    api::auth::{ChangePassword, EndOtherSessions, EndSession, PasswordAnswer, my_sessions},
    components::{field::Field, session::SignedInOnly},
    i18n::use_texts,
};

#[component]
pub fn AccountPage() -> impl IntoView {
    let texts = use_texts();
    view! {
        <Title text=move || texts.get().auth.account_title/>
        <h1>{move || texts.get().auth.account_title}</h1>
        <SignedInOnly>
            <ChangePasswordCard/>
            <crate::components::two_factor::TwoFactorSettings/>
            <SessionsCard/>
        </SignedInOnly>
    }
}

#[component]
fn ChangePasswordCard() -> impl IntoView {
    let texts = use_texts();
    let action = ServerAction::<ChangePassword>::new();
    let problem = move |field: &'static str| {
        Signal::derive(move || match action.value().get() {
            Some(Ok(PasswordAnswer::Invalid(problems))) => problems
                .into_iter()
                .find(|p| p.field == field)
                .map(|p| p.error),
            _ => None,
        })
    };
    let done = move || matches!(action.value().get(), Some(Ok(PasswordAnswer::Done)));

    view! {
        <section class="card" aria-labelledby="change-password-heading">
            <h2 id="change-password-heading">{move || texts.get().auth.change_password_title}</h2>
            <ActionForm action attr:class="form" attr:novalidate=true attr:id="change-password-form">
                <Field
                    name="current_password"
                    kind="password"
                    label=|t| t.auth.field_current_password
                    autocomplete="current-password"
                    validate=|v| if v.is_empty() { Err(shopmarkets_types::FieldError::Required) } else { Ok(()) }
                    server_error=problem("current_password")
                />
                <Field
                    name="new_password"
                    kind="password"
                    label=|t| t.auth.field_new_password
                    hint=|t| t.field_password_hint
                    autocomplete="new-password"
                    validate=|v| Password::parse(v).map(drop)
                    server_error=problem("new_password")
                />
                <Show when=done>
                    <p class="notice notice-success" role="status" id="change-password-done">
                        {move || texts.get().auth.change_password_done}
                    </p>
                </Show>
                <Show when=move || matches!(action.value().get(), Some(Err(_)))>
                    <p class="notice notice-error" role="alert">{move || texts.get().request_failed}</p>
                </Show>
                <button type="submit" class="button" id="change-password-submit" disabled=move || action.pending().get()>
                    {move || texts.get().auth.change_password_submit}
                </button>
            </ActionForm>
        </section>
    }
}

#[component]
fn SessionsCard() -> impl IntoView {
    let texts = use_texts();
    let end_one = ServerAction::<EndSession>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    let sessions = Resource::new(
        move || (end_one.version().get(), end_others.version().get()),
        |_| my_sessions(),
    );

    view! {
        <section class="card" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">{move || texts.get().auth.sessions_title}</h2>
            <p>{move || texts.get().auth.sessions_intro}</p>
            <Suspense fallback=move || view! { <p class="muted">{move || texts.get().system_loading}</p> }>
                {move || sessions.get().map(|result| match result {
                    Ok(list) => view! {
                        <div class="table-scroll"><table class="data-table" id="sessions">
                            <thead>
                                <tr>
                                    <th scope="col">{move || texts.get().auth.session_device}</th>
                                    <th scope="col">{move || texts.get().auth.session_network}</th>
                                    <th scope="col">{move || texts.get().auth.session_signed_in}</th>
                                    <th scope="col">{move || texts.get().auth.session_last_seen}</th>
                                    <th scope="col"><span class="visually-hidden">{move || texts.get().auth.session_end}</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|s| {
                                    let current = s.current;
                                    let handle = s.handle.clone();
                                    view! {
                                        <tr class="session" class:current=current>
                                            <td>{s.device}</td>
                                            <td>{s.network.unwrap_or_default()}</td>
                                            <td>{s.signed_in_at}</td>
                                            <td>{s.last_seen_at}</td>
                                            <td>
                                                {if current {
                                                    view! { <strong>{move || texts.get().auth.session_current}</strong> }.into_any()
                                                } else {
                                                    view! {
                                                        <ActionForm action=end_one>
                                                            <input type="hidden" name="handle" value=handle/>
                                                            <button type="submit" class="button button-small">{move || texts.get().auth.session_end}</button>
                                                        </ActionForm>
                                                    }.into_any()
                                                }}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                    Err(_) => view! { <p class="notice notice-error" role="alert">{move || texts.get().request_failed}</p> }.into_any(),
                })}
            </Suspense>
            <ActionForm action=end_others attr:class="form-inline">
                <button type="submit" class="button button-secondary" id="end-other-sessions" disabled=move || end_others.pending().get()>
                    {move || texts.get().auth.session_end_others}
                </button>
            </ActionForm>
            <Show when=move || matches!(end_others.value().get(), Some(Ok(_)))>
                <p class="notice notice-success" role="status" id="ended-others">{move || texts.get().auth.session_ended_others}</p>
            </Show>
        </section>
    }
}
