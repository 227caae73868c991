//! Invitations: inviting by email, the accept page's preview, accepting, revoking.
//!
//! Links carry 256 random bits; only their SHA-256 is stored. An invitation is open until it is
//! accepted, revoked, replaced by a newer one for the same address, or expires
//! ([`INVITATION_VALID_FOR`]).

use std::{fmt, net::IpAddr};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use shopmarkets_types::{EmailAddress, FieldError, Locale};
use uuid::Uuid;

use super::{OrganizationError, lock_and_authorize, record};
use crate::{
    access::{AccessError, OrganizationScoped, Permission, Scope},
    accounts::tokens,
    audit::{self, AuditAction, NewAuditEvent},
    db::{Db, begin_write},
    entity::{invitation, membership, membership::Role, organization, user},
    mail::{self, templates},
    secret::Secret,
};

/// How long an invitation link works.
pub const INVITATION_VALID_FOR: Duration = Duration::days(7);

/// Longer "tokens" are not ours and are not even hashed.
const MAX_TOKEN_LEN: usize = 100;

/// The id of an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InvitationId(pub Uuid);

impl fmt::Display for InvitationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Uuid> for InvitationId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

/// An open invitation as the members page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingInvitation {
    pub id: InvitationId,
    pub email: String,
    pub role: Role,
    /// The inviter's display name; `None` once their account is gone.
    pub invited_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What the accept page shows before the invitee accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationPreview {
    pub organization_name: String,
    pub role: Role,
    /// The invited address: the invitee must sign in (or sign up) with it.
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

/// Invites an address into the scope's organization with a role, and emails the link (in the
/// invitee's language if they have an account, else the inviter's). Needs
/// [`Permission::ManageMembers`] and [`Role::may_assign`] for the role. An open invitation for
/// the same address is replaced (revoked); an address that already is a member is a field
/// error on `email`.
pub async fn invite(
    db: &Db,
    scope: &Scope,
    base_url: &str,
    email: EmailAddress,
    role: Role,
    ip: Option<IpAddr>,
) -> Result<InvitationId, OrganizationError> {
    let txn = begin_write(db).await?;
    let (organization, actor_role) =
        lock_and_authorize(&txn, scope, Permission::ManageMembers).await?;
    if !actor_role.may_assign(role) {
        return Err(AccessError::Forbidden.into());
    }
    let invitee = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&txn)
        .await?;
    if let Some(invitee) = &invitee {
        let is_member = membership::Entity::find_by_id_in(scope, (organization.id, invitee.id))
            .one(&txn)
            .await?
            .is_some();
        if is_member {
            return Err(OrganizationError::field("email", FieldError::AlreadyMember));
        }
    }

    let now = Utc::now();
    let replaced = open_invitations(scope)
        .filter(invitation::Column::Email.eq(email.as_str()))
        .all(&txn)
        .await?;
    // Replacing an invitation takes it back: that needs the right to give its role too.
    if replaced
        .iter()
        .any(|old| old.expires_at > now && !actor_role.may_assign(old.role))
    {
        return Err(AccessError::Forbidden.into());
    }
    let replaced_ids: Vec<Uuid> = replaced.iter().map(|old| old.id).collect();
    if !replaced_ids.is_empty() {
        invitation::Entity::update_many()
            .col_expr(invitation::Column::RevokedAt, Expr::value(now))
            .filter(invitation::Column::Id.is_in(replaced_ids.clone()))
            .filter(invitation::Column::AcceptedAt.is_null())
            .filter(invitation::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
    }

    let token = new_token();
    let id = Uuid::new_v4();
    invitation::ActiveModel {
        id: Set(id),
        organization_id: Set(organization.id),
        email: Set(email.as_str().to_owned()),
        role: Set(role),
        token_hash: Set(tokens::hash(token.expose())),
        invited_by_user_id: Set(scope.user_id()),
        created_at: Set(now),
        expires_at: Set(now + INVITATION_VALID_FOR),
        accepted_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;

    let inviter = match scope.user_id() {
        Some(user_id) => user::Entity::find_by_id(user_id).one(&txn).await?,
        None => None,
    };
    let locale = invitee
        .as_ref()
        .or(inviter.as_ref())
        .and_then(|u| Locale::from_code(&u.locale))
        .unwrap_or_default();
    let inviter_name = inviter.map_or_else(|| organization.name.clone(), |u| u.display_name);
    let link = format!("{base_url}/invitations/accept?token={}", token.expose());
    mail::enqueue(
        &txn,
        templates::invitation(
            email.as_str(),
            locale,
            &inviter_name,
            &organization.name,
            role,
            &link,
        ),
    )
    .await?;
    record(
        &txn,
        scope,
        AuditAction::MemberInvited,
        ip,
        json!({ "invitation_id": id, "role": role.code(), "replaces": replaced_ids }),
    )
    .await?;
    txn.commit().await?;
    Ok(InvitationId(id))
}

/// The organization's open (unaccepted, unrevoked, unexpired) invitations, newest first.
/// Needs [`Permission::ManageMembers`]: invitations name people who are not members yet.
pub async fn pending_invitations(
    db: &Db,
    scope: &Scope,
) -> Result<Vec<PendingInvitation>, OrganizationError> {
    scope.require(Permission::ManageMembers)?;
    let invitations = open_invitations(scope)
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .order_by_desc(invitation::Column::CreatedAt)
        .order_by_asc(invitation::Column::Id)
        .all(db)
        .await?;
    let inviter_ids: Vec<Uuid> = invitations
        .iter()
        .filter_map(|i| i.invited_by_user_id)
        .collect();
    let inviters = if inviter_ids.is_empty() {
        Vec::new()
    } else {
        user::Entity::find()
            .filter(user::Column::Id.is_in(inviter_ids))
            .all(db)
            .await?
    };
    Ok(invitations
        .into_iter()
        .map(|i| PendingInvitation {
            id: InvitationId(i.id),
            invited_by: i.invited_by_user_id.and_then(|by| {
                inviters
                    .iter()
                    .find(|u| u.id == by)
                    .map(|u| u.display_name.clone())
            }),
            email: i.email,
            role: i.role,
            created_at: i.created_at,
            expires_at: i.expires_at,
        })
        .collect())
}

/// Takes an invitation back. Needs [`Permission::ManageMembers`] and [`Role::may_assign`] for
/// its role. Revoking a revoked invitation changes nothing; an accepted one is
/// [`OrganizationError::InvalidInvitation`] (remove the member instead).
pub async fn revoke_invitation(
    db: &Db,
    scope: &Scope,
    invitation_id: InvitationId,
    ip: Option<IpAddr>,
) -> Result<(), OrganizationError> {
    let txn = begin_write(db).await?;
    let (_, actor_role) = lock_and_authorize(&txn, scope, Permission::ManageMembers).await?;
    let invitation = invitation::Entity::find_by_id_in(scope, invitation_id.0)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    if !actor_role.may_assign(invitation.role) {
        return Err(AccessError::Forbidden.into());
    }
    if invitation.accepted_at.is_some() {
        return Err(OrganizationError::InvalidInvitation);
    }
    if invitation.revoked_at.is_some() {
        return Ok(());
    }
    invitation::Entity::update_many()
        .col_expr(invitation::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(invitation::Column::Id.eq(invitation.id))
        .exec(&txn)
        .await?;
    record(
        &txn,
        scope,
        AuditAction::InvitationRevoked,
        ip,
        json!({ "invitation_id": invitation.id, "role": invitation.role.code() }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// What an invitation link offers, if it is open; `None` for any link that would not work.
pub async fn invitation_preview(
    db: &Db,
    token: &str,
) -> Result<Option<InvitationPreview>, OrganizationError> {
    let Some(invitation) = find_by_token(db, token).await? else {
        return Ok(None);
    };
    if !is_open(&invitation, Utc::now()) {
        return Ok(None);
    }
    let Some(organization) = organization::Entity::find_by_id(invitation.organization_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(InvitationPreview {
        organization_name: organization.name,
        role: invitation.role,
        email: invitation.email,
        expires_at: invitation.expires_at,
    }))
}

/// Accepts an invitation for the signed-in user, who must have the invited address, confirmed.
/// The link works once (a conditional update, so two clicks at the same moment cannot both
/// succeed); a refused attempt (another address, unconfirmed) does not use it up. A user who
/// already is a member keeps their role; the link is used up all the same. Returns the user's
/// scope in the organization.
pub async fn accept(
    db: &Db,
    token: &str,
    user_id: Uuid,
    ip: Option<IpAddr>,
) -> Result<Scope, OrganizationError> {
    let txn = begin_write(db).await?;
    let invitation = find_by_token(&txn, token)
        .await?
        .ok_or(OrganizationError::InvalidInvitation)?;
    // One membership change of this organization at a time (see the module documentation).
    organization::Entity::find_by_id(invitation.organization_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(OrganizationError::InvalidInvitation)?;
    let now = Utc::now();
    if !is_open(&invitation, now) {
        return Err(OrganizationError::InvalidInvitation);
    }
    let user = user::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    if user.email.to_lowercase() != invitation.email.to_lowercase() {
        return Err(OrganizationError::EmailMismatch);
    }
    if user.email_verified_at.is_none() {
        return Err(OrganizationError::EmailNotVerified);
    }

    let used = invitation::Entity::update_many()
        .col_expr(invitation::Column::AcceptedAt, Expr::value(now))
        .filter(invitation::Column::Id.eq(invitation.id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?;
    if used.rows_affected != 1 {
        return Err(OrganizationError::InvalidInvitation);
    }

    let already_member = membership::Entity::find_by_id((invitation.organization_id, user_id))
        .one(&txn)
        .await?
        .is_some();
    if !already_member {
        membership::Entity::insert(membership::ActiveModel {
            organization_id: Set(invitation.organization_id),
            user_id: Set(user_id),
            role: Set(invitation.role),
            created_at: Set(now),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(&txn)
        .await?;
    }
    audit::record_in(
        &txn,
        NewAuditEvent {
            organization_id: Some(invitation.organization_id),
            actor_user_id: Some(user_id),
            action: AuditAction::InvitationAccepted,
            ip,
            details: json!({
                "invitation_id": invitation.id,
                "user_id": user_id,
                "role": invitation.role.code(),
                "already_member": already_member,
            }),
        },
    )
    .await?;
    let scope = Scope::for_member(&txn, user_id, invitation.organization_id).await?;
    txn.commit().await?;
    Ok(scope)
}

/// The scope's invitations that are neither accepted nor revoked (expired ones included).
fn open_invitations(scope: &Scope) -> sea_orm::Select<invitation::Entity> {
    invitation::Entity::find_in(scope)
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
}

fn is_open(invitation: &invitation::Model, now: DateTime<Utc>) -> bool {
    invitation.accepted_at.is_none()
        && invitation.revoked_at.is_none()
        && invitation.expires_at > now
}

async fn find_by_token(
    conn: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<invitation::Model>, OrganizationError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Ok(None);
    }
    Ok(invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(tokens::hash(token)))
        .one(conn)
        .await?)
}

/// 256 random bits, URL-safe.
fn new_token() -> Secret<String> {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    Secret::new(URL_SAFE_NO_PAD.encode(bytes))
}
