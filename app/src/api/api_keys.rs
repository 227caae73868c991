//! Server functions of the API keys page: the organization's keys, creating one (its full value
//! answered once, never again) and revoking one.
//!
//! All of them need [`Permission::ManageApiKeys`](shopmarkets_core::access::Permission) (owners
//! and admins) and go through [`crate::services::scope`], so 401/403/404 come with their HTTP
//! status. Ids travel as strings; a malformed id is answered like an unknown one (404). The full
//! key is never logged: its wire type prints `[redacted]`, and nothing here traces it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::FieldProblem;

/// What a key may do, on the wire (the core's `ApiScope`, which the browser does not have).
/// Serialized as the scope's code (`catalog:read`), which is also what the create form posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KeyScope {
    #[serde(rename = "organization:read")]
    OrganizationRead,
    #[serde(rename = "catalog:read")]
    CatalogRead,
    #[serde(rename = "catalog:write")]
    CatalogWrite,
    #[serde(rename = "orders:read")]
    OrdersRead,
    #[serde(rename = "orders:write")]
    OrdersWrite,
}

impl KeyScope {
    /// The code the API uses (and the create form posts).
    pub fn code(self) -> &'static str {
        match self {
            KeyScope::OrganizationRead => "organization:read",
            KeyScope::CatalogRead => "catalog:read",
            KeyScope::CatalogWrite => "catalog:write",
            KeyScope::OrdersRead => "orders:read",
            KeyScope::OrdersWrite => "orders:write",
        }
    }
}

#[cfg(feature = "ssr")]
impl From<shopmarkets_core::access::ApiScope> for KeyScope {
    fn from(scope: shopmarkets_core::access::ApiScope) -> Self {
        use shopmarkets_core::access::ApiScope;
        match scope {
            ApiScope::OrganizationRead => KeyScope::OrganizationRead,
            ApiScope::CatalogRead => KeyScope::CatalogRead,
            ApiScope::CatalogWrite => KeyScope::CatalogWrite,
            ApiScope::OrdersRead => KeyScope::OrdersRead,
            ApiScope::OrdersWrite => KeyScope::OrdersWrite,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<KeyScope> for shopmarkets_core::access::ApiScope {
    fn from(scope: KeyScope) -> Self {
        use shopmarkets_core::access::ApiScope;
        match scope {
            KeyScope::OrganizationRead => ApiScope::OrganizationRead,
            KeyScope::CatalogRead => ApiScope::CatalogRead,
            KeyScope::CatalogWrite => ApiScope::CatalogWrite,
            KeyScope::OrdersRead => ApiScope::OrdersRead,
            KeyScope::OrdersWrite => ApiScope::OrdersWrite,
        }
    }
}

/// A key as the list shows it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// The public start of the key, `smk_` and its 8-character prefix (`smk_ab12cd34`).
    pub prefix: String,
    pub scopes: Vec<KeyScope>,
    /// `YYYY-MM-DD HH:MM UTC`.
    pub created_at: String,
    /// `YYYY-MM-DD HH:MM UTC`; `None` if the key was never used.
    pub last_used_at: Option<String>,
    /// `YYYY-MM-DD HH:MM UTC`; `None` while the key works.
    pub revoked_at: Option<String>,
}

impl ApiKeyView {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

/// Everything the API keys page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeysView {
    /// Newest first, revoked ones included.
    pub keys: Vec<ApiKeyView>,
    /// The scopes a new key may be given.
    pub scopes: Vec<KeyScope>,
    /// The origin the API is reached at (`https://app.example.com`), for the usage example.
    pub origin: String,
}

/// A key just created: the only answer that ever holds its full value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKeyView {
    pub summary: ApiKeyView,
    /// `smk_<prefix>_<secret>`, shown once.
    pub key: String,
}

/// Never log the key.
impl std::fmt::Debug for NewApiKeyView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKeyView")
            .field("summary", &self.summary)
            .field("key", &"[redacted]")
            .finish()
    }
}

/// What creating a key answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreateApiKeyAnswer {
    Created(NewApiKeyView),
    /// Fields the server refused (`name`, `scopes`).
    Invalid(Vec<FieldProblem>),
}

/// How times are sent (UTC; the same in German and English).
#[cfg(feature = "ssr")]
const DATE_TIME: &str = "%Y-%m-%d %H:%M UTC";

#[cfg(feature = "ssr")]
fn key_view(summary: shopmarkets_core::api_keys::ApiKeySummary) -> ApiKeyView {
    use shopmarkets_core::api_keys::KEY_PREFIX;

    ApiKeyView {
        id: summary.id.to_string(),
        prefix: format!("{KEY_PREFIX}{}", summary.prefix),
        scopes: summary.scopes.iter().copied().map(KeyScope::from).collect(),
        created_at: summary.created_at.format(DATE_TIME).to_string(),
        last_used_at: summary
            .last_used_at
            .map(|at| at.format(DATE_TIME).to_string()),
        revoked_at: summary
            .revoked_at
            .map(|at| at.format(DATE_TIME).to_string()),
        name: summary.name,
    }
}

/// A refusal from the API-key service as an error response: access problems are 403/404, the
/// rest is internal.
#[cfg(feature = "ssr")]
fn service_error(err: shopmarkets_core::api_keys::ApiKeyError) -> ServerFnError {
    use shopmarkets_core::api_keys::ApiKeyError;

    use crate::services::{access_error, internal_error};

    match err {
        ApiKeyError::Access(err) => access_error(err),
        other => internal_error(other),
    }
}

/// The current organization's keys (never their secrets), the scopes a key may get, and the
/// origin for the usage example.
#[server(endpoint = "api_keys_overview")]
pub async fn api_keys_overview() -> Result<ApiKeysView, ServerFnError> {
    use shopmarkets_core::{
        access::{ApiScope, Permission},
        api_keys,
    };

    use crate::services::{scope, services};

    let (_user, scope) = scope(Permission::ManageApiKeys).await?;
    let services = services()?;
    let keys = api_keys::list(&services.db, &scope)
        .await
        .map_err(service_error)?;
    Ok(ApiKeysView {
        keys: keys.into_iter().map(key_view).collect(),
        scopes: ApiScope::ALL.into_iter().map(KeyScope::from).collect(),
        origin: services.origin.clone(),
    })
}

/// Creates a key with a name and scopes (their codes, `catalog:read`). The answer holds the full
/// key; it is never retrievable again (the database keeps only its hash). The form posts the
/// scopes as checkboxes named `scopes[]`, which arrive as a list; none ticked is a field
/// problem, an unknown code (only a hand-made request has one) a 400.
#[server(endpoint = "create_api_key")]
pub async fn create_api_key(
    name: String,
    #[server(default)] scopes: Vec<String>,
) -> Result<CreateApiKeyAnswer, ServerFnError> {
    use std::collections::BTreeSet;

    use http::{HeaderValue, StatusCode, header::CACHE_CONTROL};
    use leptos_axum::ResponseOptions;
    use shopmarkets_core::{
        access::{ApiScope, Permission},
        api_keys::{self, ApiKeyError},
    };

    use crate::services::{client_ip, scope, services};

    let (_user, scope) = scope(Permission::ManageApiKeys).await?;
    let services = services()?;
    let Some(scopes) = scopes
        .iter()
        .map(|code| ApiScope::from_code(code.trim()))
        .collect::<Option<BTreeSet<ApiScope>>>()
    else {
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(StatusCode::BAD_REQUEST);
        }
        return Err(ServerFnError::new("bad_request"));
    };
    match api_keys::create(&services.db, &scope, &name, scopes, client_ip()).await {
        Ok(new) => {
            // The one response that carries the key: no cache may keep it.
            if let Some(response) = use_context::<ResponseOptions>() {
                response.insert_header(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            Ok(CreateApiKeyAnswer::Created(NewApiKeyView {
                key: new.key.expose().clone(),
                summary: key_view(new.summary),
            }))
        }
        Err(ApiKeyError::Field { field, error }) => {
            Ok(CreateApiKeyAnswer::Invalid(vec![FieldProblem {
                field: field.to_owned(),
                error,
            }]))
        }
        Err(err) => Err(service_error(err)),
    }
}

/// Revokes a key of the current organization: it stops working at once, tokens already
/// issued for it included. Revoking a revoked key changes nothing; another organization's key
/// is 404.
#[server(endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: String) -> Result<(), ServerFnError> {
    use shopmarkets_core::{access::Permission, api_keys};

    use crate::services::{client_ip, parse_id, scope, services};

    let (_user, scope) = scope(Permission::ManageApiKeys).await?;
    let services = services()?;
    let id = parse_id(&id)?;
    api_keys::revoke(&services.db, &scope, id, client_ip())
        .await
        .map_err(service_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> ApiKeyView {
        ApiKeyView {
            id: "5c3e9a4e-0000-4000-8000-000000000000".into(),
            name: "ERP".into(),
            prefix: "smk_ab12cd34".into(),
            scopes: vec![KeyScope::CatalogRead],
            created_at: "2025-01-02 03:04 UTC".into(),
            last_used_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let new = NewApiKeyView {
            summary: summary(),
            key: "smk_ab12cd34_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA".into(),
        };
        let shown = format!("{new:?} {:?}", CreateApiKeyAnswer::Created(new.clone()));
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
        assert!(shown.contains("smk_ab12cd34") && shown.contains("[redacted]"));
    }

    /// The wire codes are the core's codes, in both directions.
    #[cfg(feature = "ssr")]
    #[test]
    fn scopes_travel_as_the_cores_codes() {
        use shopmarkets_core::access::ApiScope;

        for core in ApiScope::ALL {
            let scope = KeyScope::from(core);
            assert_eq!(scope.code(), core.code());
            assert_eq!(ApiScope::from(scope), core);
            assert_eq!(
                serde_json::to_string(&scope).unwrap(),
                format!("\"{}\"", core.code())
            );
        }
    }
}
