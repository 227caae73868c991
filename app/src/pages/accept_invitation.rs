//! The emailed invitation link: what it offers, and accepting it. Opening the link changes
//! nothing (mail scanners open links); only the button's POST accepts.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::members::{AcceptInvitation, InvitationPreviewView, MembersOutcome, invitation_preview},
    i18n::use_texts,
    pages::members::{AnswerNotice, refusal_text, role_text},
};

#[component]
pub fn AcceptInvitationPage() -> impl IntoView {
    let texts = use_texts();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let preview = Resource::new(token, invitation_preview);
    let accept = ServerAction::<AcceptInvitation>::new();
    let accepted = move || matches!(accept.value().get(), Some(Ok(MembersOutcome::Done)));

    view! {
        <Title text=move || texts.get().members.accept_title/>
        <h1>{move || texts.get().members.accept_title}</h1>
        <Show
            when=accepted
            fallback=move || {
                view! {
                    <Suspense fallback=move || view! { <p class="muted">{move || texts.get().members.loading}</p> }>
                        {move || {
                            preview
                                .get()
                                .map(|result| match result {
                                    Ok(Some(offer)) => view! { <Offer offer token=token() accept/> }.into_any(),
                                    Ok(None) => {
                                        view! {
                                            <p class="notice notice-error" role="alert" id="invitation-invalid">
                                                {move || texts.get().members.invalid_invitation}
                                            </p>
                                        }
                                            .into_any()
                                    }
                                    Err(err) => {
                                        let text = refusal_text(&err);
                                        view! {
                                            <p class="notice notice-error" role="alert" id="invitation-error">
                                                {move || text(texts.get())}
                                            </p>
                                        }
                                            .into_any()
                                    }
                                })
                        }}
                    </Suspense>
                }
            }
        >
            <section class="card notice-success" role="status" id="invitation-accepted">
                <p>{move || texts.get().members.accept_done}</p>
                <a class="button" href="/members">{move || texts.get().members.to_members}</a>
            </section>
        </Show>
    }
}

#[component]
fn Offer(
    offer: InvitationPreviewView,
    token: String,
    accept: ServerAction<AcceptInvitation>,
) -> impl IntoView {
    let texts = use_texts();
    let role_label = role_text(offer.role);
    let next_step = if offer.signed_in {
        view! {
            <ActionForm action=accept attr:class="form" attr:id="accept-form">
                <input type="hidden" name="token" value=token/>
                <AnswerNotice
                    answer=Signal::derive(move || accept.value().get())
                    done=|t| t.members.accept_done
                    id="accept-answer"
                />
                <button type="submit" class="button" id="accept-submit" disabled=move || accept.pending().get()>
                    {move || texts.get().members.accept_submit}
                </button>
            </ActionForm>
        }
        .into_any()
    } else {
        view! {
            <p id="accept-sign-in-first">{move || texts.get().members.accept_sign_in_first}</p>
            <p class="row-actions">
                <a class="button" href="/login" id="accept-sign-in">{move || texts.get().members.accept_sign_in}</a>
                <a href="/register" id="accept-register">{move || texts.get().members.accept_register}</a>
            </p>
        }
        .into_any()
    };

    view! {
        <p class="lead">{move || texts.get().members.accept_intro}</p>
        <section class="card" aria-labelledby="invitation-heading">
            <h2 id="invitation-heading" class="visually-hidden">{move || texts.get().members.accept_title}</h2>
            <dl class="facts" id="invitation-facts">
                <dt>{move || texts.get().members.accept_organization}</dt>
                <dd id="invitation-organization">{offer.organization_name}</dd>
                <dt>{move || texts.get().members.accept_role}</dt>
                <dd data-role=offer.role.code()>{move || role_label(texts.get())}</dd>
                <dt>{move || texts.get().members.accept_address}</dt>
                <dd id="invitation-email">{offer.email}</dd>
                <dt>{move || texts.get().members.accept_expires}</dt>
                <dd>{offer.expires_at}</dd>
            </dl>
        </section>
        <section class="card">{next_step}</section>
    }
}
