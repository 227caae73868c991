//! The audit log page (owners only): the current organization's entries, newest first and 50 at
//! a time, with the check of the hash chain.
//!
//! Paging is a plain link (`/audit?before=<seq>`) and the check a plain form, so both work
//! before the page is interactive. Whoever may not read the log sees why instead.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::audit::{
        AuditDetail, AuditEntryView, AuditLogView, ChainCheckView, DetailKey, VerifyAuditChain,
        audit_log,
    },
    api::members::MemberRole,
    i18n::{TextOf, Texts, use_texts},
    pages::members::{refusal_text, role_text},
};

#[component]
pub fn AuditPage() -> impl IntoView {
    let texts = use_texts();
    let query = use_query_map();
    let before = move || {
        query
            .read()
            .get("before")
            .and_then(|value| value.parse::<i64>().ok())
    };
    let log = Resource::new(before, audit_log);
    let verify = ServerAction::<VerifyAuditChain>::new();

    view! {
        <Title text=move || texts.get().audit.title/>
        <h1>{move || texts.get().audit.title}</h1>
        <p class="lead">{move || texts.get().audit.intro}</p>
        <Transition fallback=move || view! { <p class="muted">{move || texts.get().audit.loading}</p> }>
            {move || {
                log.get()
                    .map(|result| match result {
                        Ok(page) => {
                            view! {
                                <VerifyChain action=verify/>
                                <Entries page paged=before().is_some()/>
                            }
                                .into_any()
                        }
                        Err(err) => {
                            let text = refusal_text(&err);
                            view! {
                                <p class="notice notice-error" role="alert" id="audit-error">
                                    {move || text(texts.get())}
                                </p>
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

#[component]
fn VerifyChain(action: ServerAction<VerifyAuditChain>) -> impl IntoView {
    let texts = use_texts();
    let result = move || {
        action.value().get().map(|answer| match answer {
            Ok(ChainCheckView {
                entries,
                first_broken_seq: None,
            }) => view! {
                <p class="notice notice-success" role="status" id="audit-verify-result" data-intact="true">
                    {move || (texts.get().audit.intact)(entries)}
                </p>
            }
            .into_any(),
            Ok(ChainCheckView {
                first_broken_seq: Some(seq),
                ..
            }) => view! {
                <p class="notice notice-error" role="alert" id="audit-verify-result" data-broken-seq=seq>
                    {move || (texts.get().audit.broken)(seq)}
                </p>
            }
            .into_any(),
            Err(err) => {
                let text = refusal_text(&err);
                view! {
                    <p class="notice notice-error" role="alert" id="audit-verify-result">
                        {move || text(texts.get())}
                    </p>
                }
                .into_any()
            }
        })
    };
    view! {
        <section class="card" aria-labelledby="audit-verify-heading">
            <h2 id="audit-verify-heading">{move || texts.get().audit.verify_heading}</h2>
            <p class="muted">{move || texts.get().audit.verify_intro}</p>
            <ActionForm action attr:class="form" attr:id="audit-verify-form">
                {result}
                <button type="submit" class="button" id="audit-verify-submit" disabled=move || action.pending().get()>
                    {move || texts.get().audit.verify_submit}
                </button>
            </ActionForm>
        </section>
    }
}

/// One page of entries, with the links to older and back to the newest ones.
#[component]
fn Entries(page: AuditLogView, paged: bool) -> impl IntoView {
    let texts = use_texts();
    let AuditLogView { entries, has_more } = page;
    let older = entries
        .last()
        .filter(|_| has_more)
        .map(|last| format!("/audit?before={}", last.seq));
    let body = if entries.is_empty() {
        view! { <p class="muted" id="audit-empty">{move || texts.get().audit.empty}</p> }.into_any()
    } else {
        let rows = entries
            .into_iter()
            .map(|entry| view! { <EntryRow entry/> })
            .collect_view();
        view! {
            <div class="table-scroll">
                <table class="data-table" id="audit-table">
                    <thead>
                        <tr>
                            <th scope="col">{move || texts.get().audit.column_seq}</th>
                            <th scope="col">{move || texts.get().audit.column_time}</th>
                            <th scope="col">{move || texts.get().audit.column_action}</th>
                            <th scope="col">{move || texts.get().audit.column_actor}</th>
                            <th scope="col">{move || texts.get().audit.column_network}</th>
                            <th scope="col">{move || texts.get().audit.column_details}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby="audit-entries-heading">
            <h2 id="audit-entries-heading">{move || texts.get().audit.entries_heading}</h2>
            {body}
            <nav class="pager">
                {paged
                    .then(|| {
                        view! {
                            <a class="button button-small" href="/audit" id="audit-newest">
                                {move || texts.get().audit.newest}
                            </a>
                        }
                    })}
                {older
                    .map(|href| {
                        view! {
                            <a class="button button-small" href=href id="audit-older">
                                {move || texts.get().audit.older}
                            </a>
                        }
                    })}
            </nav>
        </section>
    }
}

#[component]
fn EntryRow(entry: AuditEntryView) -> impl IntoView {
    let texts = use_texts();
    let AuditEntryView {
        seq,
        occurred_at,
        action,
        actor,
        ip_prefix,
        details,
    } = entry;
    let label = action_text(&action);
    let code = action.clone();
    let row_action = action.clone();
    let action_words =
        move || label.map_or_else(|| code.clone(), |label| label(texts.get()).to_owned());
    view! {
        <tr data-seq=seq data-action=row_action>
            <td>{seq}</td>
            <td class="nowrap">{occurred_at}</td>
            <td title=action>{action_words}</td>
            <td>{actor}</td>
            <td class="nowrap">{ip_prefix.unwrap_or_else(|| "—".to_owned())}</td>
            <td>{move || details_text(&details, texts.get())}</td>
        </tr>
    }
}

/// An action code in words, if the page knows it (else the page shows the code).
fn action_text(code: &str) -> Option<TextOf> {
    Some(match code {
        "account.registered" => |t: &Texts| t.audit.action_account_registered,
        "account.email_verified" => |t| t.audit.action_email_verified,
        "login.succeeded" => |t| t.audit.action_login_succeeded,
        "login.failed" => |t| t.audit.action_login_failed,
        "session.logged_out" => |t| t.audit.action_logged_out,
        "password.changed" => |t| t.audit.action_password_changed,
        "password.reset_requested" => |t| t.audit.action_password_reset_requested,
        "two_factor.enabled" => |t| t.audit.action_two_factor_enabled,
        "two_factor.disabled" => |t| t.audit.action_two_factor_disabled,
        "two_factor.recovery_codes_regenerated" => |t| t.audit.action_recovery_codes_regenerated,
        "product.created" => |t| t.audit.action_product_created,
        "product.updated" => |t| t.audit.action_product_updated,
        "product.deleted" => |t| t.audit.action_product_deleted,
        "price.changed" => |t| t.audit.action_price_changed,
        "stock.adjusted" => |t| t.audit.action_stock_adjusted,
        "two_factor.replay_rejected" => |t| t.audit.action_totp_replay_rejected,
        "session.ended" => |t| t.audit.action_session_ended,
        "api_key.created" => |t| t.audit.action_api_key_created,
        "api_key.revoked" => |t| t.audit.action_api_key_revoked,
        "member.invited" => |t| t.audit.action_member_invited,
        "member.role_changed" => |t| t.audit.action_role_changed,
        "member.removed" => |t| t.audit.action_member_removed,
        "invitation.accepted" => |t| t.audit.action_invitation_accepted,
        "invitation.revoked" => |t| t.audit.action_invitation_revoked,
        "member.left" => |t| t.audit.action_member_left,
        "organization.created" => |t| t.audit.action_organization_created,
        "organization.renamed" => |t| t.audit.action_organization_renamed,
        _ => return None,
    })
}

/// An entry's details as one short line: `Role: Viewer → Editor · Person: Carol`.
fn details_text(details: &[AuditDetail], t: &Texts) -> String {
    details
        .iter()
        .map(|detail| {
            let label = detail_label(detail.key)(t);
            let value = |v: &str| value_text(detail.key, v, t);
            match (&detail.old, detail.value.as_str()) {
                (_, "") => label.to_owned(),
                (Some(old), new) => format!("{label}: {} → {}", value(old), value(new)),
                (None, new) => format!("{label}: {}", value(new)),
            }
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn detail_label(key: DetailKey) -> TextOf {
    match key {
        DetailKey::User => |t: &Texts| t.audit.detail_user,
        DetailKey::Role => |t| t.audit.detail_role,
        DetailKey::Name => |t| t.audit.detail_name,
        DetailKey::Invitation => |t| t.audit.detail_invitation,
        DetailKey::Replaces => |t| t.audit.detail_replaces,
        DetailKey::AlreadyMember => |t| t.audit.detail_already_member,
        DetailKey::ApiKey => |t| t.audit.detail_api_key,
        DetailKey::Prefix => |t| t.audit.detail_prefix,
        DetailKey::Scopes => |t| t.audit.detail_scopes,
        DetailKey::SecondFactor => |t| t.audit.detail_second_factor,
        DetailKey::Step => |t| t.audit.detail_step,
        DetailKey::Via => |t| t.audit.detail_via,
        DetailKey::Sessions => |t| t.audit.detail_sessions,
    }
}

/// A value in words where it is a code the page knows (roles, sign-in steps …); else as sent.
fn value_text(key: DetailKey, value: &str, t: &Texts) -> String {
    let known: Option<TextOf> = match (key, value) {
        (DetailKey::Role, code) => MemberRole::ALL
            .into_iter()
            .find(|role| role.code() == code)
            .map(role_text),
        (DetailKey::Step, "password") => Some(|t| t.audit.value_password),
        (DetailKey::Step, "second_factor") => Some(|t| t.audit.value_second_factor),
        (DetailKey::SecondFactor, "totp") => Some(|t| t.audit.value_totp),
        (DetailKey::SecondFactor, "recovery_code") => Some(|t| t.audit.value_recovery_code),
        (DetailKey::Via, "change") => Some(|t| t.audit.value_change),
        (DetailKey::Via, "reset") => Some(|t| t.audit.value_reset),
        _ => None,
    };
    known.map_or_else(|| value.to_owned(), |text| text(t).to_owned())
}
