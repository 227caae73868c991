//! Server functions of the members page and the invitation link: members, invitations, roles,
//! leaving and opening organizations.
//!
//! Ids travel as strings (the browser bundle has no uuid crate); a malformed id is answered
//! exactly like an unknown one (404). Every function goes through [`crate::services::scope`]
//! or [`crate::services::signed_in`], so 401/403/404 come with their HTTP status.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::FieldProblem;

/// A member's role on the wire (the core's `Role`, which the browser does not have).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    Owner,
    Admin,
    Editor,
    Viewer,
}

impl MemberRole {
    pub const ALL: [MemberRole; 4] = [
        MemberRole::Owner,
        MemberRole::Admin,
        MemberRole::Editor,
        MemberRole::Viewer,
    ];

    /// The value a form sends for this role.
    pub fn code(self) -> &'static str {
        match self {
            MemberRole::Owner => "owner",
            MemberRole::Admin => "admin",
            MemberRole::Editor => "editor",
            MemberRole::Viewer => "viewer",
        }
    }
}

#[cfg(feature = "ssr")]
impl From<shopmarkets_core::entity::membership::Role> for MemberRole {
    fn from(role: shopmarkets_core::entity::membership::Role) -> Self {
        use shopmarkets_core::entity::membership::Role;
        match role {
            Role::Owner => MemberRole::Owner,
            Role::Admin => MemberRole::Admin,
            Role::Editor => MemberRole::Editor,
            Role::Viewer => MemberRole::Viewer,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<MemberRole> for shopmarkets_core::entity::membership::Role {
    fn from(role: MemberRole) -> Self {
        use shopmarkets_core::entity::membership::Role;
        match role {
            MemberRole::Owner => Role::Owner,
            MemberRole::Admin => Role::Admin,
            MemberRole::Editor => Role::Editor,
            MemberRole::Viewer => Role::Viewer,
        }
    }
}

/// One member as the members page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: String,
    pub display_name: String,
    pub email: String,
    pub role: MemberRole,
    /// `YYYY-MM-DD` (UTC).
    pub joined_at: String,
    /// The viewer themselves.
    pub is_self: bool,
    /// Whether the viewer may change this member's role or remove them.
    pub manageable: bool,
}

/// An open invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: String,
    pub email: String,
    pub role: MemberRole,
    pub invited_by: Option<String>,
    /// `YYYY-MM-DD HH:MM UTC`.
    pub expires_at: String,
    /// Whether the viewer may take it back.
    pub revocable: bool,
}

/// Everything the members page shows, and what the viewer may do there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersView {
    pub organization_name: String,
    pub my_role: MemberRole,
    /// Invite, change roles, remove members.
    pub can_manage: bool,
    /// The roles the viewer may give (empty unless `can_manage`).
    pub assignable_roles: Vec<MemberRole>,
    pub members: Vec<MemberView>,
    /// Empty unless `can_manage`: invitations name people who are not members yet.
    pub invitations: Vec<InvitationView>,
}

/// What a change on the members page answers; each refusal the page words on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembersOutcome {
    Done,
    /// Fields the server refused.
    Invalid(Vec<FieldProblem>),
    /// The change would leave the organization without an owner.
    LastOwner,
    /// The invitation is unknown, used, revoked or expired.
    InvalidInvitation,
    /// The signed-in account has another address than the invited one.
    EmailMismatch,
    /// The invited address is not confirmed yet.
    EmailNotVerified,
}

/// What an invitation link offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationPreviewView {
    pub organization_name: String,
    pub role: MemberRole,
    pub email: String,
    /// `YYYY-MM-DD HH:MM UTC`.
    pub expires_at: String,
    /// Whether the viewer is signed in (and so can accept right away).
    pub signed_in: bool,
}

/// How dates and times are sent (UTC; the same in German and English).
#[cfg(feature = "ssr")]
const DATE: &str = "%Y-%m-%d";
#[cfg(feature = "ssr")]
const DATE_TIME: &str = "%Y-%m-%d %H:%M UTC";

/// Shared server-side helpers.
#[cfg(feature = "ssr")]
mod server {
    use leptos::prelude::ServerFnError;
    use shopmarkets_core::{
        organizations::{self, OrganizationError},
        sessions::SessionAuth,
    };
    use uuid::Uuid;

    use super::{FieldProblem, MembersOutcome};
    use crate::services::{access_error, begin_session, internal_error, services};

    pub use crate::services::parse_id;

    /// A core answer as the page's outcome: access refusals become 403/404 responses, the
    /// rules the page explains in words.
    pub fn outcome(result: Result<(), OrganizationError>) -> Result<MembersOutcome, ServerFnError> {
        match result {
            Ok(()) => Ok(MembersOutcome::Done),
            Err(err) => refusal(err),
        }
    }

    pub fn refusal(err: OrganizationError) -> Result<MembersOutcome, ServerFnError> {
        match err {
            OrganizationError::Access(err) => Err(access_error(err)),
            OrganizationError::Field { field, error } => {
                Ok(MembersOutcome::Invalid(vec![FieldProblem {
                    field: field.to_owned(),
                    error,
                }]))
            }
            OrganizationError::LastOwner => Ok(MembersOutcome::LastOwner),
            OrganizationError::InvalidInvitation => Ok(MembersOutcome::InvalidInvitation),
            OrganizationError::EmailMismatch => Ok(MembersOutcome::EmailMismatch),
            OrganizationError::EmailNotVerified => Ok(MembersOutcome::EmailNotVerified),
            OrganizationError::Db(err) => Err(internal_error(err)),
        }
    }

    /// Makes `organization_id` the session's current organization, under a new session id
    /// (a change of privilege).
    pub async fn switch_organization(
        session: &tower_sessions::Session,
        mut auth: SessionAuth,
        organization_id: Option<Uuid>,
    ) -> Result<(), ServerFnError> {
        auth.organization_id = organization_id;
        begin_session(session, &auth).await
    }

    /// After the user left (or was taken out of) their current organization: continue in the
    /// one they joined first, if any.
    pub async fn fall_back_organization(
        session: &tower_sessions::Session,
        auth: SessionAuth,
    ) -> Result<(), ServerFnError> {
        let services = services()?;
        let next = organizations::default_organization(&services.db, auth.user_id)
            .await
            .map_err(internal_error)?
            .map(|m| m.organization_id);
        switch_organization(session, auth, next).await
    }

    /// A refusal of a read: only access problems are expected.
    pub fn read_error(err: OrganizationError) -> ServerFnError {
        match err {
            OrganizationError::Access(err) => access_error(err),
            other => internal_error(other),
        }
    }
}

/// The current organization's members, its open invitations (for those who manage members),
/// and what the viewer may do.
#[server(endpoint = "members_overview")]
pub async fn members_overview() -> Result<MembersView, ServerFnError> {
    use shopmarkets_core::{access::Permission, organizations};

    use self::server::read_error;
    use crate::services::{internal_error, scope, services};

    let (user, scope) = scope(Permission::ViewOrganization).await?;
    let services = services()?;
    let Some(my_role) = scope.role() else {
        return Err(internal_error("a member scope without a role"));
    };
    let can_manage = scope.can(Permission::ManageMembers);
    let may_assign = |role| can_manage && my_role.may_assign(role);

    let organization_name = organizations::memberships_of(&services.db, user.user_id())
        .await
        .map_err(internal_error)?
        .into_iter()
        .find(|m| m.organization_id == scope.organization_id())
        .map(|m| m.name)
        .unwrap_or_default();
    let members = organizations::members(&services.db, &scope)
        .await
        .map_err(read_error)?;
    let invitations = if can_manage {
        organizations::pending_invitations(&services.db, &scope)
            .await
            .map_err(read_error)?
    } else {
        Vec::new()
    };

    Ok(MembersView {
        organization_name,
        my_role: my_role.into(),
        can_manage,
        assignable_roles: MemberRole::ALL
            .into_iter()
            .filter(|role| may_assign((*role).into()))
            .collect(),
        members: members
            .into_iter()
            .map(|m| MemberView {
                user_id: m.user_id.to_string(),
                is_self: m.user_id == user.user_id(),
                manageable: may_assign(m.role),
                display_name: m.display_name,
                email: m.email,
                role: m.role.into(),
                joined_at: m.joined_at.format(DATE).to_string(),
            })
            .collect(),
        invitations: invitations
            .into_iter()
            .map(|i| InvitationView {
                id: i.id.to_string(),
                revocable: may_assign(i.role),
                email: i.email,
                role: i.role.into(),
                invited_by: i.invited_by,
                expires_at: i.expires_at.format(DATE_TIME).to_string(),
            })
            .collect(),
    })
}

/// Invites an address with a role; the link goes out by email.
#[server(endpoint = "invite_member")]
pub async fn invite_member(
    email: String,
    role: MemberRole,
) -> Result<MembersOutcome, ServerFnError> {
    use shopmarkets_core::{access::Permission, organizations};
    use shopmarkets_types::EmailAddress;

    use self::server::refusal;
    use crate::services::{client_ip, scope, services};

    let (_user, scope) = scope(Permission::ManageMembers).await?;
    let services = services()?;
    let email = match EmailAddress::parse(&email) {
        Ok(email) => email,
        Err(error) => {
            return Ok(MembersOutcome::Invalid(vec![FieldProblem {
                field: "email".to_owned(),
                error,
            }]));
        }
    };
    match organizations::invite(
        &services.db,
        &scope,
        &services.origin,
        email,
        role.into(),
        client_ip(),
    )
    .await
    {
        Ok(_) => Ok(MembersOutcome::Done),
        Err(err) => refusal(err),
    }
}

/// Takes an open invitation back.
#[server(endpoint = "revoke_invitation")]
pub async fn revoke_invitation(id: String) -> Result<MembersOutcome, ServerFnError> {
    use shopmarkets_core::{
        access::Permission,
        organizations::{self, InvitationId},
    };

    use self::server::{outcome, parse_id};
    use crate::services::{client_ip, scope, services};

    let (_user, scope) = scope(Permission::ManageMembers).await?;
    let services = services()?;
    let id = InvitationId(parse_id(&id)?);
    outcome(organizations::revoke_invitation(&services.db, &scope, id, client_ip()).await)
}

/// Gives a member another role.
#[server(endpoint = "change_member_role")]
pub async fn change_member_role(
    user_id: String,
    role: MemberRole,
) -> Result<MembersOutcome, ServerFnError> {
    use shopmarkets_core::{access::Permission, organizations};

    use self::server::{outcome, parse_id};
    use crate::services::{client_ip, scope, services};

    let (_user, scope) = scope(Permission::ManageMembers).await?;
    let services = services()?;
    let member = parse_id(&user_id)?;
    outcome(
        organizations::change_role(&services.db, &scope, member, role.into(), client_ip()).await,
    )
}

/// Takes a member out of the organization. Removing oneself works like leaving.
#[server(endpoint = "remove_member")]
pub async fn remove_member(user_id: String) -> Result<MembersOutcome, ServerFnError> {
    use shopmarkets_core::{access::Permission, organizations};

    use self::server::{fall_back_organization, outcome, parse_id};
    use crate::services::{client_ip, scope, services};

    let (user, scope) = scope(Permission::ManageMembers).await?;
    let services = services()?;
    let member = parse_id(&user_id)?;
    let answer =
        outcome(organizations::remove_member(&services.db, &scope, member, client_ip()).await)?;
    if answer == MembersOutcome::Done && member == user.user_id() {
        fall_back_organization(&user.session, user.auth).await?;
    }
    Ok(answer)
}

/// The viewer leaves their current organization and continues in another one, if they have one.
#[server(endpoint = "leave_organization")]
pub async fn leave_organization() -> Result<MembersOutcome, ServerFnError> {
    use shopmarkets_core::{access::Permission, organizations};

    use self::server::{fall_back_organization, outcome};
    use crate::services::{client_ip, scope, services};

    let (user, scope) = scope(Permission::ViewOrganization).await?;
    let services = services()?;
    let answer = outcome(organizations::leave(&services.db, &scope, client_ip()).await)?;
    if answer == MembersOutcome::Done {
        fall_back_organization(&user.session, user.auth).await?;
    }
    Ok(answer)
}

/// Opens another organization, owned by the viewer, and switches to it.
#[server(endpoint = "create_organization")]
pub async fn create_organization(
    organization_name: String,
) -> Result<MembersOutcome, ServerFnError> {
    use shopmarkets_core::organizations;
    use shopmarkets_types::OrganizationName;

    use self::server::{refusal, switch_organization};
    use crate::services::{client_ip, services, signed_in};

    let user = signed_in().await?;
    let services = services()?;
    let name = match OrganizationName::parse(&organization_name) {
        Ok(name) => name,
        Err(error) => {
            return Ok(MembersOutcome::Invalid(vec![FieldProblem {
                field: "organization_name".to_owned(),
                error,
            }]));
        }
    };
    match organizations::create(&services.db, user.user_id(), name, client_ip()).await {
        Ok(scope) => {
            switch_organization(&user.session, user.auth, Some(scope.organization_id())).await?;
            Ok(MembersOutcome::Done)
        }
        Err(err) => refusal(err),
    }
}

/// What an invitation link offers; `None` for a link that would not work. Needs no sign-in:
/// the invitee may not have an account yet.
#[server(endpoint = "invitation_preview")]
pub async fn invitation_preview(
    token: String,
) -> Result<Option<InvitationPreviewView>, ServerFnError> {
    use shopmarkets_core::organizations;

    use crate::services::{current_auth, internal_error, services};

    let services = services()?;
    let preview = organizations::invitation_preview(&services.db, token.trim())
        .await
        .map_err(internal_error)?;
    let Some(preview) = preview else {
        return Ok(None);
    };
    let signed_in = current_auth()
        .await?
        .is_some_and(|(_, auth)| auth.is_signed_in());
    Ok(Some(InvitationPreviewView {
        organization_name: preview.organization_name,
        role: preview.role.into(),
        email: preview.email,
        expires_at: preview.expires_at.format(DATE_TIME).to_string(),
        signed_in,
    }))
}

/// Accepts an invitation for the signed-in user and switches to its organization.
#[server(endpoint = "accept_invitation")]
pub async fn accept_invitation(token: String) -> Result<MembersOutcome, ServerFnError> {
    use shopmarkets_core::organizations;

    use self::server::{refusal, switch_organization};
    use crate::services::{client_ip, services, signed_in};

    let user = signed_in().await?;
    let services = services()?;
    match organizations::accept(&services.db, token.trim(), user.user_id(), client_ip()).await {
        Ok(scope) => {
            switch_organization(&user.session, user.auth, Some(scope.organization_id())).await?;
            Ok(MembersOutcome::Done)
        }
        Err(err) => refusal(err),
    }
}
