//! Organizations, their members, invitations and roles.
//!
//! A signed-in user belongs to one or more organizations ([`memberships_of`] feeds the
//! organization switcher) and may open more ([`create`]). Members with
//! [`Permission::ManageMembers`] invite people by email ([`invite`]); the invitee opens the
//! emailed link ([`invitation_preview`]) and, signed in with the invited and confirmed address,
//! accepts it ([`accept`]). Roles change with [`change_role`]; members leave ([`leave`]) or are
//! removed ([`remove_member`]).
//!
//! Rules, on top of [`crate::access`]:
//! - Giving, changing or taking away a role needs [`Role::may_assign`] for every role involved
//!   (the member's old role and the new one; an invitation's role).
//! - An organization always keeps at least one owner ([`OrganizationError::LastOwner`]).
//! - A member or invitation of another organization is [`AccessError::NotFound`], exactly like
//!   one that does not exist. The permission is checked first, so an actor without it learns
//!   nothing about ids either.
//! - Every change and its audit entry commit together. Changes to one organization's members
//!   and invitations run one at a time (the organization row is locked on PostgreSQL; SQLite has
//!   one writer), and the acting member's role is read again inside that transaction, so two
//!   owners demoting each other at the same moment cannot leave the organization without one,
//!   and a scope taken before a demotion grants nothing more.
//!
//! Invitation links carry 256 random bits; only their SHA-256 is stored. An invitation is open
//! until it is accepted, revoked, replaced by a newer one for the same address, or expires
//! ([`INVITATION_VALID_FOR`]). It stays valid if the inviter later leaves or loses the right to
//! invite; revoking it is the way to take it back.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use serde_json::json;
use shopmarkets_types::{FieldError, OrganizationName};
use uuid::Uuid;

use crate::{
    access::{AccessError, OrganizationScoped, Permission, Scope},
    audit::{self, AuditAction, NewAuditEvent},
    db::{Db, DbError, begin_write},
    entity::{membership, membership::Role, organization, user},
};

mod invitations;

pub use invitations::{
    INVITATION_VALID_FOR, InvitationId, InvitationPreview, PendingInvitation, accept,
    invitation_preview, invite, pending_invitations, revoke_invitation,
};

/// What can go wrong here. The messages are generic and safe to show; the UI words them per
/// language from the variant.
///
/// One enum for the whole module rather than [`crate::accounts::AccountError`]: these
/// operations fail for access reasons (which map to 404/403) and membership rules, which
/// account operations never do.
#[derive(Debug, thiserror::Error)]
pub enum OrganizationError {
    /// Not found (also: another organization's record) or not permitted.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// An input was refused; `field` names the form field it belongs to.
    #[error("{field}: {error}")]
    Field {
        field: &'static str,
        error: FieldError,
    },
    /// The change would leave the organization without an owner.
    #[error("an organization needs at least one owner")]
    LastOwner,
    /// The invitation link is unknown, used, revoked or expired. Deliberately one case.
    #[error("the invitation is invalid or has expired")]
    InvalidInvitation,
    /// The signed-in user's address is not the invited one.
    #[error("the invitation is for another email address")]
    EmailMismatch,
    /// The signed-in user has the invited address but has not confirmed it yet.
    #[error("the email address is not confirmed yet")]
    EmailNotVerified,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl OrganizationError {
    pub fn field(field: &'static str, error: FieldError) -> Self {
        Self::Field { field, error }
    }
}

impl From<sea_orm::DbErr> for OrganizationError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Db(DbError::Query(err))
    }
}

/// One organization a user belongs to, for the organization switcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationMembership {
    pub organization_id: Uuid,
    pub name: String,
    pub role: Role,
}

/// A member as the members page shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

/// The user's organizations, ordered by name (case-insensitively), for the switcher.
pub async fn memberships_of(
    db: &Db,
    user_id: Uuid,
) -> Result<Vec<OrganizationMembership>, OrganizationError> {
    let rows = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .find_also_related(organization::Entity)
        .all(db)
        .await?;
    let mut memberships: Vec<_> = rows
        .into_iter()
        .filter_map(|(membership, organization)| {
            organization.map(|organization| OrganizationMembership {
                organization_id: organization.id,
                name: organization.name,
                role: membership.role,
            })
        })
        .collect();
    // Sorted here, not in SQL: the engines collate differently.
    memberships.sort_by(|a, b| {
        (a.name.to_lowercase(), &a.name, a.organization_id).cmp(&(
            b.name.to_lowercase(),
            &b.name,
            b.organization_id,
        ))
    });
    Ok(memberships)
}

/// The organization a user lands in after signing in: the one they joined first (for a new
/// account, the one created at sign-up). `None` when they belong to none (they left them all).
pub async fn default_organization(
    db: &Db,
    user_id: Uuid,
) -> Result<Option<OrganizationMembership>, OrganizationError> {
    let first = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .order_by_asc(membership::Column::CreatedAt)
        .order_by_asc(membership::Column::OrganizationId)
        .find_also_related(organization::Entity)
        .one(db)
        .await?;
    Ok(first.and_then(|(membership, organization)| {
        organization.map(|organization| OrganizationMembership {
            organization_id: organization.id,
            name: organization.name,
            role: membership.role,
        })
    }))
}

/// Opens another organization; the user becomes its owner. Returns their scope in it.
pub async fn create(
    db: &Db,
    user_id: Uuid,
    name: OrganizationName,
    ip: Option<IpAddr>,
) -> Result<Scope, OrganizationError> {
    let txn = begin_write(db).await?;
    user::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    let now = Utc::now();
    let organization = organization::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set(name.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    membership::ActiveModel {
        organization_id: Set(organization.id),
        user_id: Set(user_id),
        role: Set(Role::Owner),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record_in(
        &txn,
        NewAuditEvent {
            organization_id: Some(organization.id),
            actor_user_id: Some(user_id),
            action: AuditAction::OrganizationCreated,
            ip,
            details: json!({ "organization_id": organization.id, "user_id": user_id, "role": Role::Owner.code() }),
        },
    )
    .await?;
    let scope = Scope::for_member(&txn, user_id, organization.id).await?;
    txn.commit().await?;
    Ok(scope)
}

/// Renames the scope's organization. Needs [`Permission::ManageOrganization`].
pub async fn rename(
    db: &Db,
    scope: &Scope,
    name: OrganizationName,
    ip: Option<IpAddr>,
) -> Result<(), OrganizationError> {
    let txn = begin_write(db).await?;
    let (organization, _) = lock_and_authorize(&txn, scope, Permission::ManageOrganization).await?;
    if organization.name == name.as_str() {
        return Ok(());
    }
    organization::Entity::update_many()
        .col_expr(organization::Column::Name, Expr::value(name.as_str()))
        .col_expr(organization::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(organization::Column::Id.eq(organization.id))
        .exec(&txn)
        .await?;
    record(
        &txn,
        scope,
        AuditAction::OrganizationRenamed,
        ip,
        json!({ "old_name": organization.name, "new_name": name.as_str() }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The organization's members, ordered by display name (case-insensitively). Needs
/// [`Permission::ViewOrganization`].
pub async fn members(db: &Db, scope: &Scope) -> Result<Vec<Member>, OrganizationError> {
    scope.require(Permission::ViewOrganization)?;
    let rows = membership::Entity::find_in(scope)
        .find_also_related(user::Entity)
        .all(db)
        .await?;
    let mut members: Vec<_> = rows
        .into_iter()
        .filter_map(|(membership, user)| {
            user.map(|user| Member {
                user_id: user.id,
                email: user.email,
                display_name: user.display_name,
                role: membership.role,
                joined_at: membership.created_at,
            })
        })
        .collect();
    members.sort_by(|a, b| {
        (a.display_name.to_lowercase(), &a.email, a.user_id).cmp(&(
            b.display_name.to_lowercase(),
            &b.email,
            b.user_id,
        ))
    });
    Ok(members)
}

/// Gives a member another role. Needs [`Permission::ManageMembers`] and [`Role::may_assign`]
/// for both the old and the new role; the last owner cannot be demoted.
pub async fn change_role(
    db: &Db,
    scope: &Scope,
    member_user_id: Uuid,
    new_role: Role,
    ip: Option<IpAddr>,
) -> Result<(), OrganizationError> {
    let txn = begin_write(db).await?;
    let (organization, actor_role) =
        lock_and_authorize(&txn, scope, Permission::ManageMembers).await?;
    let member = membership::Entity::find_by_id_in(scope, (organization.id, member_user_id))
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    if !(actor_role.may_assign(member.role) && actor_role.may_assign(new_role)) {
        return Err(AccessError::Forbidden.into());
    }
    if member.role == new_role {
        return Ok(());
    }
    if member.role == Role::Owner && owner_count(&txn, scope).await? <= 1 {
        return Err(OrganizationError::LastOwner);
    }
    membership::Entity::update_many()
        .col_expr(membership::Column::Role, Expr::value(new_role))
        .filter(membership::Column::OrganizationId.eq(organization.id))
        .filter(membership::Column::UserId.eq(member_user_id))
        .exec(&txn)
        .await?;
    record(
        &txn,
        scope,
        AuditAction::RoleChanged,
        ip,
        json!({
            "user_id": member_user_id,
            "old_role": member.role.code(),
            "new_role": new_role.code(),
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Removes a member. Needs [`Permission::ManageMembers`] and [`Role::may_assign`] for the
/// member's role; the last owner cannot be removed.
pub async fn remove_member(
    db: &Db,
    scope: &Scope,
    member_user_id: Uuid,
    ip: Option<IpAddr>,
) -> Result<(), OrganizationError> {
    let txn = begin_write(db).await?;
    let (organization, actor_role) =
        lock_and_authorize(&txn, scope, Permission::ManageMembers).await?;
    let member = membership::Entity::find_by_id_in(scope, (organization.id, member_user_id))
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    if !actor_role.may_assign(member.role) {
        return Err(AccessError::Forbidden.into());
    }
    if member.role == Role::Owner && owner_count(&txn, scope).await? <= 1 {
        return Err(OrganizationError::LastOwner);
    }
    delete_membership(&txn, organization.id, member_user_id).await?;
    record(
        &txn,
        scope,
        AuditAction::MemberRemoved,
        ip,
        json!({ "user_id": member_user_id, "role": member.role.code() }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The acting member leaves the organization; refused for its last owner. Needs no permission.
pub async fn leave(db: &Db, scope: &Scope, ip: Option<IpAddr>) -> Result<(), OrganizationError> {
    let user_id = scope.user_id().ok_or(AccessError::Forbidden)?;
    let txn = begin_write(db).await?;
    let organization = lock_organization(&txn, scope).await?;
    let member = membership::Entity::find_by_id_in(scope, (organization.id, user_id))
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    if member.role == Role::Owner && owner_count(&txn, scope).await? <= 1 {
        return Err(OrganizationError::LastOwner);
    }
    delete_membership(&txn, organization.id, user_id).await?;
    record(
        &txn,
        scope,
        AuditAction::MemberLeft,
        ip,
        json!({ "user_id": user_id, "role": member.role.code() }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Locks the scope's organization row until the transaction ends (PostgreSQL; on SQLite the
/// write transaction already excludes other writers).
async fn lock_organization(
    txn: &DatabaseTransaction,
    scope: &Scope,
) -> Result<organization::Model, OrganizationError> {
    Ok(organization::Entity::find_by_id(scope.organization_id())
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(AccessError::NotFound)?)
}

/// Checks the permission, locks the organization and re-reads the acting member's role inside
/// the transaction; returns the organization and that current role. Only members pass: no API
/// scope grants the permissions this module asks for.
async fn lock_and_authorize(
    txn: &DatabaseTransaction,
    scope: &Scope,
    permission: Permission,
) -> Result<(organization::Model, Role), OrganizationError> {
    scope.require(permission)?;
    let user_id = scope.user_id().ok_or(AccessError::Forbidden)?;
    let organization = lock_organization(txn, scope).await?;
    let role = membership::Entity::find_by_id_in(scope, (organization.id, user_id))
        .one(txn)
        .await?
        .ok_or(AccessError::NotFound)?
        .role;
    if !role.permits(permission) {
        return Err(AccessError::Forbidden.into());
    }
    Ok((organization, role))
}

async fn owner_count(txn: &DatabaseTransaction, scope: &Scope) -> Result<u64, OrganizationError> {
    Ok(membership::Entity::find_in(scope)
        .filter(membership::Column::Role.eq(Role::Owner))
        .count(txn)
        .await?)
}

async fn delete_membership(
    txn: &DatabaseTransaction,
    organization_id: Uuid,
    user_id: Uuid,
) -> Result<(), OrganizationError> {
    membership::Entity::delete_many()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// An audit entry in the scope's organization chain, by the acting user.
async fn record(
    txn: &DatabaseTransaction,
    scope: &Scope,
    action: AuditAction,
    ip: Option<IpAddr>,
    details: serde_json::Value,
) -> Result<(), OrganizationError> {
    audit::record_in(txn, NewAuditEvent::in_scope(scope, action, ip, details)).await?;
    Ok(())
}
