//! Who is signed in, shared by the header and every page that needs a user.

use leptos::prelude::*;

use crate::{
    api::auth::{Me, whoami},
    i18n::use_texts,
};

/// The signed-in user as one resource per page load, provided by the layout.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<Me>, ServerFnError>>);

pub fn provide_current_user() -> CurrentUser {
    let user = CurrentUser(Resource::new(|| (), |_| whoami()));
    provide_context(user);
    user
}

pub fn use_current_user() -> Option<CurrentUser> {
    use_context::<CurrentUser>()
}

/// Shows its children to a signed-in user and a sign-in link to everyone else. The server
/// functions behind the children check the session themselves; this only spares the user a
/// page of errors.
#[component]
pub fn SignedInOnly(children: ChildrenFn) -> impl IntoView {
    let texts = use_texts();
    let user = use_current_user();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=move || view! { <p class="muted">{move || texts.get().system_loading}</p> }>
            {move || {
                let signed_in = user
                    .and_then(|u| u.0.get())
                    .map(|result| matches!(result, Ok(Some(_))));
                match signed_in {
                    Some(true) => children.read_value()().into_any(),
                    Some(false) => view! {
                        <p class="notice" id="please-sign-in">
                            {move || texts.get().auth.please_sign_in} " "
                            <a href="/login">{move || texts.get().auth.login_title}</a>
                        </p>
                    }
                    .into_any(),
                    None => ().into_any(),
                }
            }}
        </Suspense>
    }
}

/// The header's account area: the organization switch, the account link and "sign out" for a
/// signed-in user; "sign in" and "register" for everyone else.
#[component]
pub fn UserMenu() -> impl IntoView {
    use crate::api::auth::{Logout, SwitchOrganization};

    let texts = use_texts();
    let user = use_current_user();
    let logout = ServerAction::<Logout>::new();
    let switch = ServerAction::<SwitchOrganization>::new();
    Effect::new(move |_| {
        if logout.value().get().is_some_and(|r| r.is_ok()) {
            reload_at("/login");
        }
    });
    Effect::new(move |_| {
        if switch.value().get().is_some_and(|r| r.is_ok()) {
            reload_at("/");
        }
    });

    view! {
        <Suspense>
            {move || {
                let me = user.and_then(|u| u.0.get()).and_then(|r| r.ok()).flatten();
                match me {
                    Some(me) => {
                        let current = me.organization.as_ref().map(|o| o.id.clone()).unwrap_or_default();
                        let several = me.organizations.len() > 1;
                        view! {
                            <div class="user-menu" id="user-menu">
                                {several.then(|| view! {
                                    <ActionForm action=switch attr:class="org-switch">
                                        <label class="visually-hidden" for="org-select">{move || texts.get().auth.organization}</label>
                                        <select id="org-select" name="organization_id">
                                            {me.organizations.iter().map(|o| view! {
                                                <option value=o.id.clone() selected=o.id == current>{o.name.clone()}</option>
                                            }).collect_view()}
                                        </select>
                                        <button type="submit" class="button button-small">{move || texts.get().auth.switch_organization}</button>
                                    </ActionForm>
                                })}
                                {(!several).then(|| me.organization.as_ref().map(|o| view! { <span class="org-name">{o.name.clone()}</span> }))}
                                <a class="topbar-link" href="/account" id="account-link" title=move || texts.get().auth.signed_in_as>{me.display_name.clone()}</a>
                                <ActionForm action=logout>
                                    <button type="submit" class="button button-small button-secondary" id="sign-out">{move || texts.get().auth.sign_out}</button>
                                </ActionForm>
                            </div>
                        }.into_any()
                    }
                    None => view! {
                        <a class="topbar-link" href="/login" id="login-link">{move || texts.get().auth.login_title}</a>
                        <a class="topbar-link" href="/register" id="register-link">{move || texts.get().nav_register}</a>
                    }.into_any(),
                }
            }}
        </Suspense>
    }
}

/// Loads `path` as a new document, so every part of the page starts from the new session.
pub fn reload_at(path: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().set_href(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// Unread notices for the signed-in user (failed sign-in attempts, a changed password), each
/// with a "dismiss" button. Nothing for visitors.
#[component]
pub fn Notices() -> impl IntoView {
    use crate::api::auth::{DismissNotification, my_notifications};

    let texts = use_texts();
    let dismiss = ServerAction::<DismissNotification>::new();
    let notices = Resource::new(move || dismiss.version().get(), |_| my_notifications());
    view! {
        <Suspense>
            {move || notices.get().and_then(Result::ok).map(|list| list.into_iter().map(|n| {
                let kind = n.kind.clone();
                let text = move || {
                    let t = texts.get().auth;
                    match kind.as_str() {
                        "suspicious_sign_ins" => t.notice_suspicious_sign_ins,
                        "suspicious_second_factor" => t.notice_suspicious_second_factor,
                        _ => t.notice_password_changed,
                    }
                };
                view! {
                    <div class="notice notice-warning notification" role="status" data-kind=n.kind.clone()>
                        <p>{n.created_at.clone()} " — " {text}</p>
                        <ActionForm action=dismiss>
                            <input type="hidden" name="id" value=n.id.clone()/>
                            <button type="submit" class="button button-small button-secondary">{move || texts.get().auth.notice_dismiss}</button>
                        </ActionForm>
                    </div>
                }
            }).collect_view())}
        </Suspense>
    }
}
