//! Who may do what inside an organization — the one gate every organization-owned record goes
//! through.
//!
//! A [`Scope`] is proof that an actor (a signed-in member, or an API key) belongs to one
//! organization, with the permissions its role or scopes grant. Only this module and the
//! API-key service create scopes, always after checking the database, so holding a `Scope` means
//! the check happened. Every service that touches organization-owned data takes a `&Scope`, reads
//! through [`OrganizationScoped`] (which adds `organization_id = scope.organization_id` to every
//! query) and calls [`Scope::require`] before changing anything.
//!
//! A record of another organization is answered exactly like a record that does not exist
//! ([`AccessError::NotFound`], HTTP 404), so ids cannot be probed across organizations.

use std::collections::BTreeSet;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use crate::{
    db::DbError,
    entity::{membership, membership::Role},
};

/// Something an actor may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// See the organization's name and settings.
    ViewOrganization,
    /// Rename the organization, delete it.
    ManageOrganization,
    /// Invite, change roles, remove members.
    ManageMembers,
    /// Create and revoke API keys.
    ManageApiKeys,
    /// Connect and disconnect marketplaces.
    ManageChannels,
    ViewCatalog,
    EditCatalog,
    ViewOrders,
    EditOrders,
    /// Read the audit log.
    ViewAudit,
}

impl Role {
    /// The permissions a role grants. Owners can do everything; admins everything but the
    /// organization itself and the audit log; editors work on catalog and orders; viewers read.
    pub fn permits(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner => true,
            Role::Admin => !matches!(permission, ManageOrganization | ViewAudit),
            Role::Editor => matches!(
                permission,
                ViewOrganization | ViewCatalog | EditCatalog | ViewOrders | EditOrders
            ),
            Role::Viewer => matches!(permission, ViewOrganization | ViewCatalog | ViewOrders),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "editor" => Some(Role::Editor),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    /// Whether someone with this role may give `other` to a member (or take it away): owners
    /// manage everyone, admins manage editors and viewers (and may make admins), nobody else
    /// manages anyone.
    pub fn may_assign(self, other: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => other != Role::Owner,
            Role::Editor | Role::Viewer => false,
        }
    }
}

/// What an API key may do; granted at creation, carried in its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiScope {
    OrganizationRead,
    CatalogRead,
    CatalogWrite,
    OrdersRead,
    OrdersWrite,
}

impl ApiScope {
    pub const ALL: [ApiScope; 5] = [
        ApiScope::OrganizationRead,
        ApiScope::CatalogRead,
        ApiScope::CatalogWrite,
        ApiScope::OrdersRead,
        ApiScope::OrdersWrite,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ApiScope::OrganizationRead => "organization:read",
            ApiScope::CatalogRead => "catalog:read",
            ApiScope::CatalogWrite => "catalog:write",
            ApiScope::OrdersRead => "orders:read",
            ApiScope::OrdersWrite => "orders:write",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.code() == code)
    }

    /// Parses a space-separated scope list (the OAuth `scope` format); unknown scopes are an
    /// error, not ignored.
    pub fn parse_list(list: &str) -> Result<BTreeSet<ApiScope>, String> {
        list.split_whitespace()
            .map(|code| Self::from_code(code).ok_or_else(|| code.to_owned()))
            .collect()
    }

    /// The space-separated form of a scope set.
    pub fn format_list(scopes: &BTreeSet<ApiScope>) -> String {
        scopes
            .iter()
            .map(|s| s.code())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn grants(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            ApiScope::OrganizationRead => permission == ViewOrganization,
            ApiScope::CatalogRead => permission == ViewCatalog,
            ApiScope::CatalogWrite => matches!(permission, ViewCatalog | EditCatalog),
            ApiScope::OrdersRead => permission == ViewOrders,
            ApiScope::OrdersWrite => matches!(permission, ViewOrders | EditOrders),
        }
    }
}

/// Who acts inside a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Member {
        user_id: Uuid,
        role: Role,
    },
    ApiKey {
        key_id: Uuid,
        scopes: BTreeSet<ApiScope>,
    },
}

/// Proof that an actor belongs to an organization. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    organization_id: Uuid,
    actor: Actor,
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The record does not exist, or belongs to an organization the actor is not in.
    #[error("not found")]
    NotFound,
    /// The actor is in the organization but lacks the permission.
    #[error("not permitted")]
    Forbidden,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sea_orm::DbErr> for AccessError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Db(DbError::Query(err))
    }
}

impl Scope {
    /// The scope of a signed-in user in one of their organizations. An organization the user is
    /// not a member of is [`AccessError::NotFound`], whether or not it exists.
    pub async fn for_member(
        conn: &impl ConnectionTrait,
        user_id: Uuid,
        organization_id: Uuid,
    ) -> Result<Self, AccessError> {
        let membership = membership::Entity::find_by_id((organization_id, user_id))
            .one(conn)
            .await?
            .ok_or(AccessError::NotFound)?;
        Ok(Self {
            organization_id,
            actor: Actor::Member {
                user_id,
                role: membership.role,
            },
        })
    }

    /// The scope of a verified API key. Only the API-key service calls this, after checking
    /// the key (or its token) against the database.
    pub(crate) fn for_api_key(
        organization_id: Uuid,
        key_id: Uuid,
        scopes: BTreeSet<ApiScope>,
    ) -> Self {
        Self {
            organization_id,
            actor: Actor::ApiKey { key_id, scopes },
        }
    }

    pub fn organization_id(&self) -> Uuid {
        self.organization_id
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The acting user, for audit entries; `None` for API keys.
    pub fn user_id(&self) -> Option<Uuid> {
        match &self.actor {
            Actor::Member { user_id, .. } => Some(*user_id),
            Actor::ApiKey { .. } => None,
        }
    }

    /// The acting member's role; `None` for API keys.
    pub fn role(&self) -> Option<Role> {
        match &self.actor {
            Actor::Member { role, .. } => Some(*role),
            Actor::ApiKey { .. } => None,
        }
    }

    pub fn can(&self, permission: Permission) -> bool {
        match &self.actor {
            Actor::Member { role, .. } => role.permits(permission),
            Actor::ApiKey { scopes, .. } => scopes.iter().any(|s| s.grants(permission)),
        }
    }

    /// Refuses with [`AccessError::Forbidden`] unless the actor has the permission.
    pub fn require(&self, permission: Permission) -> Result<(), AccessError> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(AccessError::Forbidden)
        }
    }
}

/// An entity owned by an organization. Implement it for every such entity and read through it:
///
/// ```ignore
/// impl OrganizationScoped for api_key::Entity {
///     fn organization_column() -> Self::Column { api_key::Column::OrganizationId }
/// }
/// let key = api_key::Entity::find_by_id_in(&scope, id).one(db).await?.ok_or(AccessError::NotFound)?;
/// ```
pub trait OrganizationScoped: EntityTrait {
    fn organization_column() -> Self::Column;

    /// All rows of the scope's organization.
    fn find_in(scope: &Scope) -> Select<Self> {
        Self::find().filter(Self::organization_column().eq(scope.organization_id()))
    }

    /// One row by primary key, only if it belongs to the scope's organization.
    fn find_by_id_in<T>(scope: &Scope, id: T) -> Select<Self>
    where
        T: Into<<Self::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType>,
    {
        Self::find_by_id(id).filter(Self::organization_column().eq(scope.organization_id()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_decreasing_permissions() {
        use Permission::*;
        let all = [
            ViewOrganization,
            ManageOrganization,
            ManageMembers,
            ManageApiKeys,
            ManageChannels,
            ViewCatalog,
            EditCatalog,
            ViewOrders,
            EditOrders,
            ViewAudit,
        ];
        let count = |role: Role| all.iter().filter(|p| role.permits(**p)).count();
        assert_eq!(count(Role::Owner), all.len());
        assert!(count(Role::Admin) < count(Role::Owner));
        assert!(count(Role::Editor) < count(Role::Admin));
        assert!(count(Role::Viewer) < count(Role::Editor));
        // Each lower role's permissions are a subset of the higher one's.
        for pair in [Role::Owner, Role::Admin, Role::Editor, Role::Viewer].windows(2) {
            for p in all {
                assert!(!pair[1].permits(p) || pair[0].permits(p), "{p:?}");
            }
        }
        assert!(!Role::Admin.permits(ViewAudit));
        assert!(!Role::Editor.permits(ManageMembers));
        assert!(!Role::Viewer.permits(EditCatalog));
    }

    #[test]
    fn only_owners_assign_owner_and_members_assign_nothing() {
        assert!(Role::Owner.may_assign(Role::Owner));
        assert!(!Role::Admin.may_assign(Role::Owner));
        assert!(Role::Admin.may_assign(Role::Admin));
        assert!(!Role::Editor.may_assign(Role::Viewer));
        assert!(!Role::Viewer.may_assign(Role::Viewer));
    }

    #[test]
    fn api_scopes_parse_strictly_and_grant_only_their_permissions() {
        let scopes = ApiScope::parse_list("catalog:write organization:read").unwrap();
        assert_eq!(
            ApiScope::format_list(&scopes),
            "organization:read catalog:write"
        );
        assert_eq!(
            ApiScope::parse_list("catalog:read admin").unwrap_err(),
            "admin"
        );
        let scope = Scope::for_api_key(Uuid::new_v4(), Uuid::new_v4(), scopes);
        assert!(scope.can(Permission::EditCatalog));
        assert!(scope.can(Permission::ViewCatalog));
        assert!(!scope.can(Permission::ViewOrders));
        assert!(!scope.can(Permission::ManageMembers));
        assert!(matches!(
            scope.require(Permission::ManageApiKeys),
            Err(AccessError::Forbidden)
        ));
        assert_eq!(scope.user_id(), None);
    }
}
