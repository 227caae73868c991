//! The members page: who belongs to the current organization, open invitations, inviting,
//! changing roles, removing members, leaving, and opening another organization.
//!
//! Every control is a plain form (it works before the page is interactive); what the viewer
//! may do comes from the server, which checks it again on every change.

use leptos::prelude::*;
use leptos_meta::Title;
use shopmarkets_types::{EmailAddress, OrganizationName};

use crate::{
    api::members::{
        ChangeMemberRole, CreateOrganization, InvitationView, InviteMember, LeaveOrganization,
        MemberRole, MemberView, MembersOutcome, MembersView, RemoveMember, RevokeInvitation,
        members_overview,
    },
    components::field::Field,
    i18n::{TextOf, Texts, use_texts},
};

/// The answer of a change, once there is one.
type Answer = Option<Result<MembersOutcome, ServerFnError>>;

/// The page's actions; one per kind of change, shared by all rows.
#[derive(Clone, Copy)]
struct Actions {
    invite: ServerAction<InviteMember>,
    revoke: ServerAction<RevokeInvitation>,
    change: ServerAction<ChangeMemberRole>,
    remove: ServerAction<RemoveMember>,
    leave: ServerAction<LeaveOrganization>,
    create: ServerAction<CreateOrganization>,
}

#[component]
pub fn MembersPage() -> impl IntoView {
    let texts = use_texts();
    let actions = Actions {
        invite: ServerAction::new(),
        revoke: ServerAction::new(),
        change: ServerAction::new(),
        remove: ServerAction::new(),
        leave: ServerAction::new(),
        create: ServerAction::new(),
    };
    // Reload the lists after every change that went through (and only then: a refused form
    // keeps what was typed). The changes to the table share one answer line.
    let refresh = RwSignal::new(0_u32);
    let table_answer = RwSignal::new(None::<Result<MembersOutcome, ServerFnError>>);
    let watch = move |answer: Signal<Answer>, shown_in_table: bool| {
        Effect::new(move |_| {
            let Some(answer) = answer.get() else {
                return;
            };
            if matches!(answer, Ok(MembersOutcome::Done)) {
                refresh.update(|n| *n += 1);
            }
            if shown_in_table {
                table_answer.set(Some(answer));
            }
        });
    };
    watch(Signal::derive(move || actions.invite.value().get()), false);
    watch(Signal::derive(move || actions.revoke.value().get()), true);
    watch(Signal::derive(move || actions.change.value().get()), true);
    watch(Signal::derive(move || actions.remove.value().get()), true);
    watch(Signal::derive(move || actions.leave.value().get()), false);
    watch(Signal::derive(move || actions.create.value().get()), false);
    let overview = Resource::new(move || refresh.get(), |_| members_overview());

    view! {
        <Title text=move || texts.get().members.title/>
        <h1>{move || texts.get().members.title}</h1>
        <Transition fallback=move || view! { <p class="muted">{move || texts.get().members.loading}</p> }>
            {move || {
                overview
                    .get()
                    .map(|result| match result {
                        Ok(data) => {
                            view! { <Overview data actions table_answer=table_answer.into()/> }.into_any()
                        }
                        Err(err) => {
                            let text = refusal_text(&err);
                            // Someone who left their last organization has none to show, but
                            // may still open a new one.
                            let signed_in = !is_unauthorized(&err);
                            view! {
                                <p class="notice notice-error" role="alert" id="members-error">
                                    {move || text(texts.get())}
                                </p>
                                {signed_in
                                    .then(|| {
                                        view! {
                                            <LeaveAnswer action=actions.leave/>
                                            <NewOrganization action=actions.create/>
                                        }
                                    })}
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

#[component]
fn Overview(data: MembersView, actions: Actions, table_answer: Signal<Answer>) -> impl IntoView {
    let texts = use_texts();
    let MembersView {
        organization_name,
        my_role,
        can_manage,
        assignable_roles,
        members,
        invitations,
    } = data;
    let my_role_text = role_text(my_role);
    let member_rows = members
        .into_iter()
        .map(|member| {
            let assignable = assignable_roles.clone();
            view! { <MemberRow member assignable actions/> }
        })
        .collect_view();

    view! {
        <p class="lead">
            {move || texts.get().members.intro}
            " "
            <strong id="members-organization">{organization_name}</strong>
            " · "
            {move || texts.get().members.your_role}
            ": "
            <span id="members-my-role">{move || my_role_text(texts.get())}</span>
        </p>
        <section class="card" aria-labelledby="members-heading">
            <h2 id="members-heading">{move || texts.get().members.members_heading}</h2>
            <AnswerNotice answer=table_answer done=|t| t.members.change_saved id="members-answer"/>
            <div class="table-scroll">
                <table class="data-table" id="members-table">
                    <thead>
                        <tr>
                            <th scope="col">{move || texts.get().members.column_name}</th>
                            <th scope="col">{move || texts.get().members.column_email}</th>
                            <th scope="col">{move || texts.get().members.column_role}</th>
                            <th scope="col">{move || texts.get().members.column_joined}</th>
                            <th scope="col">{move || texts.get().members.column_actions}</th>
                        </tr>
                    </thead>
                    <tbody>{member_rows}</tbody>
                </table>
            </div>
        </section>
        {can_manage
            .then(|| {
                view! {
                    <Invitations invitations actions/>
                    <InviteForm assignable=assignable_roles action=actions.invite/>
                }
            })}
        <LeaveOrganizationForm action=actions.leave/>
        <NewOrganization action=actions.create/>
    }
}

#[component]
fn MemberRow(member: MemberView, assignable: Vec<MemberRole>, actions: Actions) -> impl IntoView {
    let texts = use_texts();
    let MemberView {
        user_id,
        display_name,
        email,
        role,
        joined_at,
        is_self,
        manageable,
    } = member;
    let role_label = role_text(role);
    let select_id = format!("role-{user_id}");
    let remove_id = user_id.clone();
    let row_email = email.clone();
    let controls = manageable.then(|| {
        let options = assignable
            .into_iter()
            .map(|option| {
                let label = role_text(option);
                view! {
                    <option value=option.code() selected=option == role>
                        {move || label(texts.get())}
                    </option>
                }
            })
            .collect_view();
        view! {
            <div class="row-actions">
                <ActionForm action=actions.change attr:class="inline-form">
                    <input type="hidden" name="user_id" value=user_id/>
                    <label class="visually-hidden" for=select_id.clone()>
                        {move || texts.get().members.field_role}
                    </label>
                    <select name="role" id=select_id>{options}</select>
                    <button type="submit" class="button button-small" disabled=move || actions.change.pending().get()>
                        {move || texts.get().members.change_role}
                    </button>
                </ActionForm>
                {(!is_self)
                    .then(|| {
                        view! {
                            <ActionForm action=actions.remove attr:class="inline-form">
                                <input type="hidden" name="user_id" value=remove_id.clone()/>
                                <button
                                    type="submit"
                                    class="button button-small button-danger"
                                    disabled=move || actions.remove.pending().get()
                                >
                                    {move || texts.get().members.remove}
                                </button>
                            </ActionForm>
                        }
                    })}
            </div>
        }
    });

    view! {
        <tr data-email=row_email>
            <td>
                {display_name}
                {is_self.then(|| view! { " " <span class="muted">{move || texts.get().members.you}</span> })}
            </td>
            <td>{email}</td>
            <td data-role=role.code()>{move || role_label(texts.get())}</td>
            <td>{joined_at}</td>
            <td>{controls}</td>
        </tr>
    }
}

#[component]
fn Invitations(invitations: Vec<InvitationView>, actions: Actions) -> impl IntoView {
    let texts = use_texts();
    if invitations.is_empty() {
        return view! {
            <section class="card" aria-labelledby="invitations-heading">
                <h2 id="invitations-heading">{move || texts.get().members.invitations_heading}</h2>
                <p class="muted" id="invitations-empty">{move || texts.get().members.invitations_empty}</p>
            </section>
        }
        .into_any();
    }
    let rows = invitations
        .into_iter()
        .map(|invitation| {
            let role_label = role_text(invitation.role);
            let id = invitation.id;
            let row_email = invitation.email.clone();
            let revoke = invitation.revocable.then(|| {
                view! {
                    <ActionForm action=actions.revoke attr:class="inline-form">
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" class="button button-small button-danger" disabled=move || actions.revoke.pending().get()>
                            {move || texts.get().members.revoke}
                        </button>
                    </ActionForm>
                }
            });
            view! {
                <tr data-email=row_email>
                    <td>{invitation.email}</td>
                    <td>{move || role_label(texts.get())}</td>
                    <td>{invitation.invited_by.unwrap_or_else(|| "—".to_owned())}</td>
                    <td>{invitation.expires_at}</td>
                    <td>{revoke}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="invitations-heading">
            <h2 id="invitations-heading">{move || texts.get().members.invitations_heading}</h2>
            <div class="table-scroll">
                <table class="data-table" id="invitations-table">
                    <thead>
                        <tr>
                            <th scope="col">{move || texts.get().members.column_email}</th>
                            <th scope="col">{move || texts.get().members.column_role}</th>
                            <th scope="col">{move || texts.get().members.column_invited_by}</th>
                            <th scope="col">{move || texts.get().members.column_expires}</th>
                            <th scope="col">{move || texts.get().members.column_actions}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn InviteForm(assignable: Vec<MemberRole>, action: ServerAction<InviteMember>) -> impl IntoView {
    let texts = use_texts();
    let answer = Signal::derive(move || action.value().get());
    let options = assignable
        .into_iter()
        .map(|option| {
            let label = role_text(option);
            view! {
                <option value=option.code() selected=option == MemberRole::Viewer>
                    {move || label(texts.get())}
                </option>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="invite-heading">
            <h2 id="invite-heading">{move || texts.get().members.invite_heading}</h2>
            <p class="muted">{move || texts.get().members.invite_intro}</p>
            <ActionForm action attr:class="form" attr:novalidate=true attr:id="invite-form">
                <Field
                    name="email"
                    kind="email"
                    label=|t| t.members.field_email
                    autocomplete="off"
                    validate=|v| EmailAddress::parse(v).map(drop)
                    server_error=field_problem(answer, "email")
                />
                <div class="field">
                    <label for="field-invite-role">{move || texts.get().members.field_role}</label>
                    <select name="role" id="field-invite-role">{options}</select>
                </div>
                <AnswerNotice answer done=|t| t.members.invite_sent id="invite-answer"/>
                <button type="submit" class="button" id="invite-submit" disabled=move || action.pending().get()>
                    {move || texts.get().members.invite_submit}
                </button>
            </ActionForm>
        </section>
    }
}

#[component]
fn LeaveOrganizationForm(action: ServerAction<LeaveOrganization>) -> impl IntoView {
    let texts = use_texts();
    view! {
        <section class="card" aria-labelledby="leave-heading">
            <h2 id="leave-heading">{move || texts.get().members.leave_heading}</h2>
            <p class="muted">{move || texts.get().members.leave_intro}</p>
            <ActionForm action attr:class="form" attr:id="leave-form">
                <LeaveAnswer action/>
                <button type="submit" class="button button-danger" id="leave-submit" disabled=move || action.pending().get()>
                    {move || texts.get().members.leave_submit}
                </button>
            </ActionForm>
        </section>
    }
}

/// What leaving answered; also shown after the page has no organization left to list.
#[component]
fn LeaveAnswer(action: ServerAction<LeaveOrganization>) -> impl IntoView {
    let answer = Signal::derive(move || action.value().get());
    view! { <AnswerNotice answer done=|t| t.members.left id="leave-answer"/> }
}

#[component]
fn NewOrganization(action: ServerAction<CreateOrganization>) -> impl IntoView {
    let texts = use_texts();
    let answer = Signal::derive(move || action.value().get());
    view! {
        <section class="card" aria-labelledby="create-heading">
            <h2 id="create-heading">{move || texts.get().members.create_heading}</h2>
            <p class="muted">{move || texts.get().members.create_intro}</p>
            <ActionForm action attr:class="form" attr:novalidate=true attr:id="create-organization-form">
                <Field
                    name="organization_name"
                    kind="text"
                    label=|t| t.members.field_organization_name
                    autocomplete="organization"
                    validate=|v| OrganizationName::parse(v).map(drop)
                    server_error=field_problem(answer, "organization_name")
                />
                <AnswerNotice answer done=|t| t.members.created id="create-answer"/>
                <button type="submit" class="button" id="create-organization-submit" disabled=move || action.pending().get()>
                    {move || texts.get().members.create_submit}
                </button>
            </ActionForm>
        </section>
    }
}

/// The server's verdict on one field of a form.
fn field_problem(
    answer: Signal<Answer>,
    field: &'static str,
) -> Signal<Option<shopmarkets_types::FieldError>> {
    Signal::derive(move || match answer.get() {
        Some(Ok(MembersOutcome::Invalid(problems))) => problems
            .into_iter()
            .find(|p| p.field == field)
            .map(|p| p.error),
        _ => None,
    })
}

/// A change's answer in words: `done` for success, the refusal otherwise. Field problems are
/// shown at their fields instead.
#[component]
pub(crate) fn AnswerNotice(
    #[prop(into)] answer: Signal<Answer>,
    done: TextOf,
    id: &'static str,
) -> impl IntoView {
    let texts = use_texts();
    move || {
        let (ok, text): (bool, TextOf) = match answer.get()? {
            Ok(MembersOutcome::Done) => (true, done),
            Ok(MembersOutcome::Invalid(_)) => return None,
            Ok(outcome) => (false, outcome_text(&outcome)?),
            Err(err) => (false, refusal_text(&err)),
        };
        Some(view! {
            <p
                class=if ok { "notice notice-success" } else { "notice notice-error" }
                id=id
                role=if ok { "status" } else { "alert" }
            >
                {move || text(texts.get())}
            </p>
        })
    }
}

/// The words for a refusal by the membership rules.
pub(crate) fn outcome_text(outcome: &MembersOutcome) -> Option<TextOf> {
    Some(match outcome {
        MembersOutcome::Done | MembersOutcome::Invalid(_) => return None,
        MembersOutcome::LastOwner => |t| t.members.last_owner,
        MembersOutcome::InvalidInvitation => |t| t.members.invalid_invitation,
        MembersOutcome::EmailMismatch => |t| t.members.email_mismatch,
        MembersOutcome::EmailNotVerified => |t| t.members.email_not_verified,
    })
}

/// The words for a failed request: sign in, not permitted, not found, or try again.
pub(crate) fn refusal_text(err: &ServerFnError) -> TextOf {
    match err {
        ServerFnError::ServerError(message) => match message.as_str() {
            // The messages of `services::{unauthorized, access_error}`.
            "unauthorized" => |t| t.auth.please_sign_in,
            "forbidden" => |t| t.auth.not_permitted,
            "not_found" => |t| t.auth.not_found,
            _ => |t| t.request_failed,
        },
        _ => |t| t.request_failed,
    }
}

pub(crate) fn is_unauthorized(err: &ServerFnError) -> bool {
    matches!(err, ServerFnError::ServerError(message) if message == "unauthorized")
}

/// A role's name.
pub(crate) fn role_text(role: MemberRole) -> TextOf {
    match role {
        MemberRole::Owner => |t: &Texts| t.members.role_owner,
        MemberRole::Admin => |t| t.members.role_admin,
        MemberRole::Editor => |t| t.members.role_editor,
        MemberRole::Viewer => |t| t.members.role_viewer,
    }
}
