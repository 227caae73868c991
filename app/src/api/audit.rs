//! Server functions of the audit log page: the current organization's entries, a page at a
//! time, and the check of its hash chain. Owners only (`Permission::ViewAudit`); everyone
//! else gets 403 from [`crate::services::scope`].
//!
//! Entries leave the server as display values: times as UTC text, the actor as a display name,
//! and the details as a short list of known facts (ids, old → new values). Keys the page does
//! not know are left out, never passed on as raw JSON.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Entries per page.
pub const AUDIT_PAGE_SIZE: u64 = 50;

/// What a fact in an entry's details is about; the page words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetailKey {
    /// The person the entry is about, when it is not the actor.
    User,
    /// A role code (`owner` …), or old → new.
    Role,
    /// An organization's name, old → new.
    Name,
    /// The first characters of an invitation's id.
    Invitation,
    /// How many earlier invitations a new one replaced.
    Replaces,
    /// The invitee was a member already (no value).
    AlreadyMember,
    /// The first characters of an API key's id.
    ApiKey,
    /// An API key's public prefix.
    Prefix,
    /// An API key's scopes.
    Scopes,
    /// `totp` or `recovery_code`.
    SecondFactor,
    /// The sign-in step that failed: `password` or `second_factor`.
    Step,
    /// How a password changed: `change` or `reset`.
    Via,
    /// How many sessions ended.
    Sessions,
}

/// One fact of an entry's details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDetail {
    pub key: DetailKey,
    /// The value before, for changes.
    pub old: Option<String>,
    /// The value (after a change); empty for facts that are only a label.
    pub value: String,
}

/// One entry as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntryView {
    /// The entry's position in the organization's chain (1, 2, …).
    pub seq: i64,
    /// `YYYY-MM-DD HH:MM:SS UTC`.
    pub occurred_at: String,
    /// The stable action code (`login.failed`); the page shows it in words.
    pub action: String,
    /// The acting user's display name, or `—` (an API key, a deleted account).
    pub actor: String,
    /// The network the request came from (`203.0.113.0/24`), if known.
    pub ip_prefix: Option<String>,
    pub details: Vec<AuditDetail>,
}

/// A page of the log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLogView {
    pub entries: Vec<AuditEntryView>,
    /// Whether there are older entries than the last one here.
    pub has_more: bool,
}

/// The result of checking the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainCheckView {
    /// How many entries were checked (up to and including the first broken one).
    pub entries: u64,
    /// The first entry that does not fit, if any.
    pub first_broken_seq: Option<i64>,
}

/// Turning stored entries into what the page shows.
#[cfg(feature = "ssr")]
mod server {
    use std::collections::HashMap;

    use serde_json::{Map, Value};
    use shopmarkets_core::entity::audit_event;
    use uuid::Uuid;

    use super::{AuditDetail, AuditEntryView, DetailKey};

    const TIME: &str = "%Y-%m-%d %H:%M:%S UTC";
    /// Longest text value shown from the details; longer ones are cut.
    const MAX_VALUE: usize = 64;
    /// Shown for an actor the log does not name.
    pub const NOBODY: &str = "—";

    /// The user an entry's details name, if the id is well-formed.
    pub fn detail_user_id(details: &str) -> Option<Uuid> {
        match serde_json::from_str::<Value>(details) {
            Ok(Value::Object(map)) => uuid_of(&map, "user_id"),
            _ => None,
        }
    }

    pub fn entry_view(entry: audit_event::Model, names: &HashMap<Uuid, String>) -> AuditEntryView {
        let actor = entry
            .actor_user_id
            .and_then(|id| names.get(&id).cloned())
            .unwrap_or_else(|| NOBODY.to_owned());
        AuditEntryView {
            seq: entry.seq,
            occurred_at: entry.occurred_at.format(TIME).to_string(),
            details: details(&entry.details, entry.actor_user_id, names),
            action: entry.action,
            actor,
            ip_prefix: entry.ip_prefix,
        }
    }

    /// The known facts of an entry's details, in a fixed order; anything else is left out.
    pub fn details(
        details: &str,
        actor: Option<Uuid>,
        names: &HashMap<Uuid, String>,
    ) -> Vec<AuditDetail> {
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(details) else {
            return Vec::new();
        };
        let mut facts = Vec::new();
        let mut push = |key, old: Option<String>, value: String| {
            facts.push(AuditDetail { key, old, value });
        };
        let text = |key: &str| map.get(key).and_then(short_text);

        if let Some(user) = uuid_of(&map, "user_id").filter(|id| Some(*id) != actor) {
            let name = names.get(&user).cloned().unwrap_or_else(|| short_id(user));
            push(DetailKey::User, None, name);
        }
        match (text("old_role"), text("new_role")) {
            (Some(old), Some(new)) => push(DetailKey::Role, Some(old), new),
            _ => {
                if let Some(role) = text("role") {
                    push(DetailKey::Role, None, role);
                }
            }
        }
        if let (Some(old), Some(new)) = (text("old_name"), text("new_name")) {
            push(DetailKey::Name, Some(old), new);
        }
        if let Some(id) = uuid_of(&map, "invitation_id") {
            push(DetailKey::Invitation, None, short_id(id));
        }
        if let Some(replaced) = map
            .get("replaces")
            .and_then(Value::as_array)
            .filter(|ids| !ids.is_empty())
        {
            push(DetailKey::Replaces, None, replaced.len().to_string());
        }
        if map.get("already_member").and_then(Value::as_bool) == Some(true) {
            push(DetailKey::AlreadyMember, None, String::new());
        }
        if let Some(id) = uuid_of(&map, "api_key_id") {
            push(DetailKey::ApiKey, None, short_id(id));
        }
        for (name, key) in [
            ("prefix", DetailKey::Prefix),
            ("scopes", DetailKey::Scopes),
            ("second_factor", DetailKey::SecondFactor),
            ("step", DetailKey::Step),
            ("via", DetailKey::Via),
        ] {
            if let Some(value) = text(name) {
                push(key, None, value);
            }
        }
        if let Some(sessions) = map.get("sessions").and_then(Value::as_u64) {
            push(DetailKey::Sessions, None, sessions.to_string());
        }
        facts
    }

    fn uuid_of(map: &Map<String, Value>, key: &str) -> Option<Uuid> {
        map.get(key)
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    }

    /// A string, number or boolean as short text; anything else is not shown.
    fn short_text(value: &Value) -> Option<String> {
        let text = match value {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        if text.is_empty() {
            return None;
        }
        Some(match text.char_indices().nth(MAX_VALUE) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        })
    }

    /// Enough of an id to tell entries apart.
    fn short_id(id: Uuid) -> String {
        id.simple().to_string()[..8].to_owned()
    }
}

/// A page of the current organization's audit log, newest first: the entries before `before`
/// (a `seq`), or the newest ones.
#[server(endpoint = "audit_log")]
pub async fn audit_log(before: Option<i64>) -> Result<AuditLogView, ServerFnError> {
    use shopmarkets_core::{access::Permission, audit};

    use self::server::{detail_user_id, entry_view};
    use crate::services::{internal_error, scope, services};

    let (_user, scope) = scope(Permission::ViewAudit).await?;
    let services = services()?;
    let mut entries = audit::page(
        &services.db,
        Some(scope.organization_id()),
        before,
        AUDIT_PAGE_SIZE + 1,
    )
    .await
    .map_err(internal_error)?;
    let has_more = entries.len() as u64 > AUDIT_PAGE_SIZE;
    entries.truncate(AUDIT_PAGE_SIZE as usize);

    // Every name the page shows, in one query.
    let people: Vec<_> = entries
        .iter()
        .flat_map(|e| [e.actor_user_id, detail_user_id(&e.details)])
        .flatten()
        .collect();
    let names = audit::display_names(&services.db, people)
        .await
        .map_err(internal_error)?;

    Ok(AuditLogView {
        entries: entries
            .into_iter()
            .map(|entry| entry_view(entry, &names))
            .collect(),
        has_more,
    })
}

/// Checks the current organization's chain from its first entry.
#[server(endpoint = "verify_audit_chain")]
pub async fn verify_audit_chain() -> Result<ChainCheckView, ServerFnError> {
    use shopmarkets_core::{access::Permission, audit};

    use crate::services::{internal_error, scope, services};

    let (_user, scope) = scope(Permission::ViewAudit).await?;
    let services = services()?;
    let report = audit::verify_chain(&services.db, Some(scope.organization_id()))
        .await
        .map_err(internal_error)?;
    if let Some(seq) = report.first_broken_seq {
        tracing::warn!(
            organization_id = %scope.organization_id(),
            seq,
            "the audit chain is broken"
        );
    }
    Ok(ChainCheckView {
        entries: report.entries,
        first_broken_seq: report.first_broken_seq,
    })
}
