//! Organizations, members, invitations and roles, on both engines: the invitation flow, the
//! role rules, the last-owner rule and isolation between organizations.

use chrono::{Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, sea_query::Expr};
use shopmarkets_core::{
    access::{AccessError, Scope},
    accounts::registration::Registration,
    audit,
    db::Db,
    db_tests,
    entity::{audit_event, invitation, membership, membership::Role, user},
    mail,
    organizations::{self, InvitationId, OrganizationError, PendingInvitation},
    testing::{
        confirmed_registration, emailed_token, inserted_user, owner_of_new_organization,
        registration,
    },
};
use shopmarkets_types::{DisplayName, EmailAddress, FieldError, Locale, OrganizationName};
use uuid::Uuid;

const BASE: &str = "https://app.example.com";
const IP: Option<std::net::IpAddr> = None;

fn email(address: &str) -> EmailAddress {
    EmailAddress::parse(address).unwrap()
}

fn org_name(name: &str) -> OrganizationName {
    OrganizationName::parse(name).unwrap()
}

/// Invites `address` to the scope's organization; returns the invitation and the token of the
/// emailed link.
async fn invite(db: &Db, scope: &Scope, address: &str, role: Role) -> (InvitationId, String) {
    let id = organizations::invite(db, scope, BASE, email(address), role, IP)
        .await
        .unwrap();
    (id, emailed_token(db, address, "invitation").await)
}

/// A new member of the scope's organization with a role, through invitation and acceptance.
async fn new_member(db: &Db, owner: &Scope, address: &str, role: Role) -> (Uuid, Scope) {
    let user_id = inserted_user(db, address, "Member", Locale::En).await;
    let (_, token) = invite(db, owner, address, role).await;
    let scope = organizations::accept(db, &token, user_id, IP)
        .await
        .unwrap();
    (user_id, scope)
}

/// The link neither shows a preview nor is accepted.
async fn assert_link_dead(db: &Db, token: &str, user_id: Uuid) {
    assert!(
        organizations::invitation_preview(db, token)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        organizations::accept(db, token, user_id, IP).await,
        Err(OrganizationError::InvalidInvitation)
    ));
}

async fn pending(db: &Db, scope: &Scope) -> Vec<PendingInvitation> {
    organizations::pending_invitations(db, scope).await.unwrap()
}

async fn role_in(db: &Db, organization_id: Uuid, user_id: Uuid) -> Option<Role> {
    membership::Entity::find_by_id((organization_id, user_id))
        .one(db)
        .await
        .unwrap()
        .map(|m| m.role)
}

async fn audit_actions(db: &Db, organization_id: Uuid) -> Vec<String> {
    let mut actions: Vec<String> = audit::list(db, Some(organization_id), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    actions.reverse();
    actions
}

async fn assert_chain_intact(db: &Db, organization_id: Uuid) {
    let report = audit::verify_chain(db, Some(organization_id))
        .await
        .unwrap();
    assert!(report.is_intact(), "{report:?}");
}

fn is_not_found<T: std::fmt::Debug>(result: Result<T, OrganizationError>) -> bool {
    matches!(
        result,
        Err(OrganizationError::Access(AccessError::NotFound))
    )
}

fn is_forbidden<T: std::fmt::Debug>(result: Result<T, OrganizationError>) -> bool {
    matches!(
        result,
        Err(OrganizationError::Access(AccessError::Forbidden))
    )
}

async fn an_invitation_is_previewed_and_accepted(db: Db) {
    let (erika, owner) = owner_of_new_organization(&db, "erika@example.de", "Muster GmbH").await;
    let org = owner.organization_id();

    // The invitee signs up on their own (English, with an organization of their own) and
    // confirms the address.
    let max = confirmed_registration(
        &db,
        Registration {
            display_name: DisplayName::parse("Max Example").unwrap(),
            organization_name: org_name("Example Ltd"),
            locale: Locale::En,
            ..registration("max@example.com", "Heftklammer Batterie 42")
        },
    )
    .await;

    let invitation_id = organizations::invite(
        &db,
        &owner,
        BASE,
        email("Max@Example.com"),
        Role::Editor,
        Some("203.0.113.7".parse().unwrap()),
    )
    .await
    .unwrap();

    // In the invitee's language, with the single-use link.
    let mails = mail::to_address(&db, "max@example.com").await.unwrap();
    let mail = mails.iter().find(|m| m.kind == "invitation").unwrap();
    assert_eq!(mail.locale, "en");
    assert_eq!(mail.subject, "Invitation to Muster GmbH on ShopMarkets");
    let token = emailed_token(&db, "max@example.com", "invitation").await;
    assert!(
        mail.body_text
            .contains(&format!("{BASE}/invitations/accept?token={token}"))
    );
    // Only the hash is stored.
    let stored = invitation::Entity::find_by_id(invitation_id.0)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.token_hash.len(), 64);
    assert_ne!(stored.token_hash, token);
    assert_eq!(stored.invited_by_user_id, Some(erika));
    let valid_for = stored.expires_at - stored.created_at;
    assert_eq!(valid_for, Duration::days(7));

    let open = pending(&db, &owner).await;
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].id, open[0].email.as_str(), open[0].role),
        (invitation_id, "max@example.com", Role::Editor)
    );
    assert_eq!(open[0].invited_by.as_deref(), Some("Owner"));

    let preview = organizations::invitation_preview(&db, &token)
        .await
        .unwrap()
        .expect("an open invitation");
    assert_eq!(preview.organization_name, "Muster GmbH");
    assert_eq!(preview.role, Role::Editor);
    assert_eq!(preview.email, "max@example.com");

    let scope = organizations::accept(&db, &token, max, Some("198.51.100.1".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(scope.organization_id(), org);
    assert_eq!(scope.user_id(), Some(max));
    assert_eq!(scope.role(), Some(Role::Editor));

    let members = organizations::members(&db, &owner).await.unwrap();
    let summary: Vec<_> = members
        .iter()
        .map(|m| (m.user_id, m.email.as_str(), m.display_name.as_str(), m.role))
        .collect();
    assert_eq!(
        summary,
        [
            (max, "max@example.com", "Max Example", Role::Editor),
            (erika, "erika@example.de", "Owner", Role::Owner),
        ]
    );
    // The new member sees the members too.
    assert_eq!(organizations::members(&db, &scope).await.unwrap(), members);

    // Used up: no preview, not pending.
    assert_link_dead(&db, &token, max).await;
    assert!(pending(&db, &owner).await.is_empty());

    // The switcher lists both organizations by name; the first joined is the default.
    let switcher = organizations::memberships_of(&db, max).await.unwrap();
    let names: Vec<_> = switcher.iter().map(|m| (m.name.as_str(), m.role)).collect();
    assert_eq!(
        names,
        [("Example Ltd", Role::Owner), ("Muster GmbH", Role::Editor)]
    );
    let default = organizations::default_organization(&db, max)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(default.name, "Example Ltd");

    // An address without an account is invited in the inviter's language.
    organizations::invite(&db, &owner, BASE, email("neu@example.de"), Role::Viewer, IP)
        .await
        .unwrap();
    let mails = mail::to_address(&db, "neu@example.de").await.unwrap();
    assert_eq!(mails[0].locale, "de");
    assert_eq!(mails[0].subject, "Einladung zu Muster GmbH bei ShopMarkets");
    assert!(mails[0].body_text.contains("als Betrachter"));

    assert_eq!(
        audit_actions(&db, org).await,
        [
            "organization.created",
            "member.invited",
            "invitation.accepted",
            "member.invited"
        ]
    );
    let events = audit::list(&db, Some(org), 10).await.unwrap();
    let accepted = events
        .iter()
        .find(|e| e.action == "invitation.accepted")
        .unwrap();
    assert_eq!(accepted.actor_user_id, Some(max));
    assert_eq!(accepted.ip_prefix.as_deref(), Some("198.51.100.0/24"));
    assert!(!accepted.details.contains("max@example.com"), "ids only");
    assert_chain_intact(&db, org).await;
}

async fn only_the_invited_confirmed_address_can_accept(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "erika@example.de", "Muster GmbH").await;
    let invited = inserted_user(&db, "invited@example.de", "Invited", Locale::De).await;
    let other = inserted_user(&db, "other@example.de", "Other", Locale::De).await;
    let (_, token) = invite(&db, &owner, "invited@example.de", Role::Admin).await;

    assert!(matches!(
        organizations::accept(&db, &token, other, IP).await,
        Err(OrganizationError::EmailMismatch)
    ));
    assert_eq!(role_in(&db, owner.organization_id(), other).await, None);

    // An unconfirmed address is refused too.
    user::Entity::update_many()
        .col_expr(
            user::Column::EmailVerifiedAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(user::Column::Id.eq(invited))
        .exec(&db)
        .await
        .unwrap();
    assert!(matches!(
        organizations::accept(&db, &token, invited, IP).await,
        Err(OrganizationError::EmailNotVerified)
    ));
    assert_eq!(role_in(&db, owner.organization_id(), invited).await, None);

    // Neither refusal used the link up.
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerifiedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(invited))
        .exec(&db)
        .await
        .unwrap();
    organizations::accept(&db, &token, invited, IP)
        .await
        .unwrap();
    assert_eq!(
        role_in(&db, owner.organization_id(), invited).await,
        Some(Role::Admin)
    );
    assert_chain_intact(&db, owner.organization_id()).await;
}

async fn an_invitation_link_works_once(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "erika@example.de", "Muster GmbH").await;
    let max = inserted_user(&db, "max@example.de", "Max", Locale::De).await;
    let (_, token) = invite(&db, &owner, "max@example.de", Role::Viewer).await;

    organizations::accept(&db, &token, max, IP).await.unwrap();
    assert_link_dead(&db, &token, max).await;
    for forged in ["", "forged-token", &"x".repeat(10_000)] {
        assert_link_dead(&db, forged, max).await;
    }
    let accepted = audit_actions(&db, owner.organization_id())
        .await
        .into_iter()
        .filter(|a| a == "invitation.accepted")
        .count();
    assert_eq!(accepted, 1);

    // A member who is invited again cannot be: the address is a member already.
    match organizations::invite(&db, &owner, BASE, email("max@example.de"), Role::Admin, IP).await {
        Err(OrganizationError::Field { field, error }) => {
            assert_eq!((field, error), ("email", FieldError::AlreadyMember));
        }
        other => panic!("expected a field error, got {other:?}"),
    }
    assert_chain_intact(&db, owner.organization_id()).await;
}

async fn accepting_as_a_member_keeps_the_role_and_uses_the_link(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "erika@example.de", "Muster GmbH").await;
    let max = inserted_user(&db, "max@example.de", "Max", Locale::De).await;
    let (_, token) = invite(&db, &owner, "max@example.de", Role::Viewer).await;
    // Made a member some other way in the meantime (e.g. a second, older link).
    membership::Entity::insert(membership::ActiveModel {
        organization_id: Set(owner.organization_id()),
        user_id: Set(max),
        role: Set(Role::Admin),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(&db)
    .await
    .unwrap();
    let scope = organizations::accept(&db, &token, max, IP).await.unwrap();
    assert_eq!(scope.role(), Some(Role::Admin));
    assert_link_dead(&db, &token, max).await;
}

async fn an_expired_invitation_is_refused(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "erika@example.de", "Muster GmbH").await;
    let max = inserted_user(&db, "max@example.de", "Max", Locale::De).await;
    let (_, token) = invite(&db, &owner, "max@example.de", Role::Editor).await;
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::ExpiresAt,
            Expr::value(Utc::now() - Duration::minutes(1)),
        )
        .exec(&db)
        .await
        .unwrap();

    assert_link_dead(&db, &token, max).await;
    assert!(pending(&db, &owner).await.is_empty());
    assert_eq!(role_in(&db, owner.organization_id(), max).await, None);

    // Inviting again sends a fresh link that works.
    let (_, fresh) = invite(&db, &owner, "max@example.de", Role::Editor).await;
    assert_ne!(fresh, token);
    organizations::accept(&db, &fresh, max, IP).await.unwrap();
}

async fn a_revoked_or_replaced_invitation_no_longer_works(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "erika@example.de", "Muster GmbH").await;
    let max = inserted_user(&db, "max@example.de", "Max", Locale::De).await;

    let (first, first_token) = invite(&db, &owner, "max@example.de", Role::Viewer).await;
    let (second, second_token) = invite(&db, &owner, "max@example.de", Role::Editor).await;
    assert_ne!(first, second);

    // The newer invitation replaced the older one.
    let open = pending(&db, &owner).await;
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].id, open[0].role), (second, Role::Editor));
    assert_link_dead(&db, &first_token, max).await;

    organizations::revoke_invitation(&db, &owner, second, IP)
        .await
        .unwrap();
    // Revoking again changes nothing.
    organizations::revoke_invitation(&db, &owner, second, IP)
        .await
        .unwrap();
    assert!(pending(&db, &owner).await.is_empty());
    assert_link_dead(&db, &second_token, max).await;
    assert!(is_not_found(
        organizations::revoke_invitation(&db, &owner, InvitationId(Uuid::new_v4()), IP).await
    ));
    assert_eq!(
        audit_actions(&db, owner.organization_id()).await,
        [
            "organization.created",
            "member.invited",
            "member.invited",
            "invitation.revoked"
        ]
    );
    assert_chain_intact(&db, owner.organization_id()).await;
}

async fn editors_and_viewers_cannot_manage_members(db: Db) {
    let (erika, owner) = owner_of_new_organization(&db, "erika@example.de", "Muster GmbH").await;
    let (_, editor) = new_member(&db, &owner, "editor@example.de", Role::Editor).await;
    let (viewer_id, viewer) = new_member(&db, &owner, "viewer@example.de", Role::Viewer).await;
    let (open, _) = invite(&db, &owner, "x@example.de", Role::Viewer).await;
    let before = audit_actions(&db, owner.organization_id()).await;

    for scope in [&editor, &viewer] {
        assert!(is_forbidden(
            organizations::invite(&db, scope, BASE, email("new@example.de"), Role::Viewer, IP)
                .await
        ));
        assert!(is_forbidden(
            organizations::change_role(&db, scope, viewer_id, Role::Editor, IP).await
        ));
        assert!(is_forbidden(
            organizations::remove_member(&db, scope, erika, IP).await
        ));
        assert!(is_forbidden(
            organizations::revoke_invitation(&db, scope, open, IP).await
        ));
        assert!(is_forbidden(
            organizations::pending_invitations(&db, scope).await
        ));
        assert!(is_forbidden(
            organizations::rename(&db, scope, org_name("Gekapert"), IP).await
        ));
        // Seeing the members is fine.
        assert_eq!(organizations::members(&db, scope).await.unwrap().len(), 3);
    }
    assert!(
        mail::to_address(&db, "new@example.de")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(audit_actions(&db, owner.organization_id()).await, before);

    // Anyone may leave.
    organizations::leave(&db, &viewer, IP).await.unwrap();
    assert_eq!(role_in(&db, owner.organization_id(), viewer_id).await, None);
    // A scope taken before leaving grants nothing any more.
    assert!(is_not_found(organizations::leave(&db, &viewer, IP).await));
    assert_chain_intact(&db, owner.organization_id()).await;
}

async fn admins_cannot_make_or_touch_owners(db: Db) {
    let (erika, owner) = owner_of_new_organization(&db, "erika@example.de", "Muster GmbH").await;
    let (admin_id, admin) = new_member(&db, &owner, "admin@example.de", Role::Admin).await;
    let (editor_id, _) = new_member(&db, &owner, "editor@example.de", Role::Editor).await;
    let org = owner.organization_id();

    assert!(is_forbidden(
        organizations::invite(&db, &admin, BASE, email("boss@example.de"), Role::Owner, IP).await
    ));
    assert!(is_forbidden(
        organizations::change_role(&db, &admin, editor_id, Role::Owner, IP).await
    ));
    assert!(is_forbidden(
        organizations::change_role(&db, &admin, erika, Role::Admin, IP).await
    ));
    assert!(is_forbidden(
        organizations::remove_member(&db, &admin, erika, IP).await
    ));
    assert!(is_forbidden(
        organizations::rename(&db, &admin, org_name("Admin GmbH"), IP).await
    ));
    assert_eq!(role_in(&db, org, erika).await, Some(Role::Owner));
    assert_eq!(role_in(&db, org, editor_id).await, Some(Role::Editor));

    // An owner's invitation cannot be taken back by an admin, not even by replacing it.
    let (owner_invitation, _) = invite(&db, &owner, "boss@example.de", Role::Owner).await;
    assert!(is_forbidden(
        organizations::revoke_invitation(&db, &admin, owner_invitation, IP).await
    ));
    assert!(is_forbidden(
        organizations::invite(
            &db,
            &admin,
            BASE,
            email("boss@example.de"),
            Role::Viewer,
            IP
        )
        .await
    ));
    assert_eq!(pending(&db, &owner).await.len(), 1);

    // Within their reach admins manage members.
    invite(&db, &admin, "helper@example.de", Role::Admin).await;
    organizations::change_role(&db, &admin, editor_id, Role::Admin, IP)
        .await
        .unwrap();
    assert_eq!(role_in(&db, org, editor_id).await, Some(Role::Admin));
    organizations::change_role(&db, &admin, editor_id, Role::Viewer, IP)
        .await
        .unwrap();
    organizations::remove_member(&db, &admin, editor_id, IP)
        .await
        .unwrap();
    assert_eq!(role_in(&db, org, editor_id).await, None);

    // A demoted admin's old scope grants nothing more.
    organizations::change_role(&db, &owner, admin_id, Role::Viewer, IP)
        .await
        .unwrap();
    assert!(is_forbidden(
        organizations::invite(
            &db,
            &admin,
            BASE,
            email("late@example.de"),
            Role::Viewer,
            IP
        )
        .await
    ));

    let events = audit::list(&db, Some(org), 100).await.unwrap();
    let role_change = events
        .iter()
        .find(|e| e.action == "member.role_changed")
        .unwrap();
    let details: serde_json::Value = serde_json::from_str(&role_change.details).unwrap();
    assert_eq!(details["old_role"], "admin");
    assert_eq!(details["new_role"], "viewer");
    assert_eq!(details["user_id"], admin_id.to_string());
    assert_chain_intact(&db, org).await;
}

async fn the_last_owner_stays(db: Db) {
    let (erika, owner) = owner_of_new_organization(&db, "erika@example.de", "Muster GmbH").await;
    let org = owner.organization_id();

    assert!(matches!(
        organizations::change_role(&db, &owner, erika, Role::Admin, IP).await,
        Err(OrganizationError::LastOwner)
    ));
    assert!(matches!(
        organizations::remove_member(&db, &owner, erika, IP).await,
        Err(OrganizationError::LastOwner)
    ));
    assert!(matches!(
        organizations::leave(&db, &owner, IP).await,
        Err(OrganizationError::LastOwner)
    ));
    assert_eq!(role_in(&db, org, erika).await, Some(Role::Owner));

    // With a second owner, the first may step down and leave.
    let (max, second) = new_member(&db, &owner, "max@example.de", Role::Owner).await;
    organizations::change_role(&db, &owner, erika, Role::Admin, IP)
        .await
        .unwrap();
    assert_eq!(role_in(&db, org, erika).await, Some(Role::Admin));
    organizations::change_role(&db, &second, erika, Role::Owner, IP)
        .await
        .unwrap();
    organizations::leave(&db, &owner, IP).await.unwrap();
    assert_eq!(role_in(&db, org, erika).await, None);
    assert!(
        organizations::memberships_of(&db, erika)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        organizations::default_organization(&db, erika)
            .await
            .unwrap()
            .is_none()
    );

    // Now the second owner is the last one.
    assert!(matches!(
        organizations::leave(&db, &second, IP).await,
        Err(OrganizationError::LastOwner)
    ));
    assert!(matches!(
        organizations::change_role(&db, &second, max, Role::Viewer, IP).await,
        Err(OrganizationError::LastOwner)
    ));

    // A removable owner can be removed by another owner.
    let (third, _) = new_member(&db, &second, "third@example.de", Role::Owner).await;
    organizations::remove_member(&db, &second, third, IP)
        .await
        .unwrap();
    assert_eq!(role_in(&db, org, third).await, None);
    assert_eq!(role_in(&db, org, max).await, Some(Role::Owner));

    let actions = audit_actions(&db, org).await;
    assert!(actions.contains(&"member.left".to_owned()));
    assert!(actions.contains(&"member.removed".to_owned()));
    assert_chain_intact(&db, org).await;
}

async fn organizations_are_created_and_renamed(db: Db) {
    let (erika, first) = owner_of_new_organization(&db, "erika@example.de", "Zebra Handel").await;
    let second = organizations::create(&db, erika, org_name("  apfel & Co  "), IP)
        .await
        .unwrap();
    assert_ne!(first.organization_id(), second.organization_id());
    assert_eq!(second.role(), Some(Role::Owner));

    let names: Vec<_> = organizations::memberships_of(&db, erika)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["apfel & Co", "Zebra Handel"]);
    let default = organizations::default_organization(&db, erika)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(default.organization_id, first.organization_id());

    organizations::rename(&db, &second, org_name("Apfel & Co KG"), IP)
        .await
        .unwrap();
    let names: Vec<_> = organizations::memberships_of(&db, erika)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["Apfel & Co KG", "Zebra Handel"]);
    assert_eq!(
        audit_actions(&db, second.organization_id()).await,
        ["organization.created", "organization.renamed"]
    );
    let events = audit::list(&db, Some(second.organization_id()), 1)
        .await
        .unwrap();
    let details: serde_json::Value = serde_json::from_str(&events[0].details).unwrap();
    assert_eq!(details["old_name"], "apfel & Co");
    assert_eq!(details["new_name"], "Apfel & Co KG");

    assert!(is_not_found(
        organizations::create(&db, Uuid::new_v4(), org_name("Niemand"), IP).await
    ));
    assert_chain_intact(&db, first.organization_id()).await;
    assert_chain_intact(&db, second.organization_id()).await;
}

/// Rows and audit entries that any change to organization B would touch.
async fn snapshot(db: &Db) -> (Vec<membership::Model>, Vec<invitation::Model>, u64) {
    let mut memberships = membership::Entity::find().all(db).await.unwrap();
    memberships.sort_by_key(|m| (m.organization_id, m.user_id));
    let mut invitations = invitation::Entity::find().all(db).await.unwrap();
    invitations.sort_by_key(|i| i.id);
    let events = audit_event::Entity::find().count(db).await.unwrap();
    (memberships, invitations, events)
}

async fn another_organizations_ids_are_not_found(db: Db) {
    let (_, owner_a) = owner_of_new_organization(&db, "a@example.de", "Organisation A").await;
    let (_, editor_a) = new_member(&db, &owner_a, "editor-a@example.de", Role::Editor).await;
    let (owner_b_id, owner_b) =
        owner_of_new_organization(&db, "b@example.de", "Organisation B").await;
    let (member_b, _) = new_member(&db, &owner_b, "member-b@example.de", Role::Editor).await;
    let (invitation_b, _) = invite(&db, &owner_b, "guest@example.de", Role::Viewer).await;
    let before = snapshot(&db).await;

    for user_b in [owner_b_id, member_b] {
        assert!(is_not_found(
            organizations::change_role(&db, &owner_a, user_b, Role::Viewer, IP).await
        ));
        assert!(is_not_found(
            organizations::change_role(&db, &owner_a, user_b, Role::Owner, IP).await
        ));
        assert!(is_not_found(
            organizations::remove_member(&db, &owner_a, user_b, IP).await
        ));
    }
    assert!(is_not_found(
        organizations::revoke_invitation(&db, &owner_a, invitation_b, IP).await
    ));
    // Without the permission the answer is the same for every id: nothing to probe.
    assert!(is_forbidden(
        organizations::revoke_invitation(&db, &editor_a, invitation_b, IP).await
    ));
    assert!(is_forbidden(
        organizations::remove_member(&db, &editor_a, member_b, IP).await
    ));
    // Lists show only the scope's organization.
    let members_a: Vec<_> = organizations::members(&db, &owner_a)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.email)
        .collect();
    assert_eq!(members_a, ["editor-a@example.de", "a@example.de"]);
    assert!(pending(&db, &owner_a).await.is_empty());
    // A's members cannot take a scope in B.
    assert!(matches!(
        Scope::for_member(&db, owner_a.user_id().unwrap(), owner_b.organization_id()).await,
        Err(AccessError::NotFound)
    ));

    assert_eq!(snapshot(&db).await, before, "nothing changed");
    assert_eq!(pending(&db, &owner_b).await.len(), 1);
    assert_eq!(
        role_in(&db, owner_b.organization_id(), member_b).await,
        Some(Role::Editor)
    );
    assert_chain_intact(&db, owner_a.organization_id()).await;
    assert_chain_intact(&db, owner_b.organization_id()).await;
}

db_tests!(
    an_invitation_is_previewed_and_accepted,
    only_the_invited_confirmed_address_can_accept,
    an_invitation_link_works_once,
    accepting_as_a_member_keeps_the_role_and_uses_the_link,
    an_expired_invitation_is_refused,
    a_revoked_or_replaced_invitation_no_longer_works,
    editors_and_viewers_cannot_manage_members,
    admins_cannot_make_or_touch_owners,
    the_last_owner_stays,
    organizations_are_created_and_renamed,
    another_organizations_ids_are_not_found,
);

/// Two owners demote each other at the same moment, a few times over: one wins, the
/// organization always keeps an owner. And one link clicked twice at once is accepted once.
async fn simultaneous_changes_keep_an_owner_and_use_a_link_once(db: Db) {
    let (erika, first) = owner_of_new_organization(&db, "erika@example.de", "Muster GmbH").await;
    let (max, second) = new_member(&db, &first, "max@example.de", Role::Owner).await;
    let org = first.organization_id();
    for _ in 0..5 {
        let demote = |scope: Scope, member: Uuid| {
            let db = db.clone();
            tokio::spawn(async move {
                organizations::change_role(&db, &scope, member, Role::Admin, IP).await
            })
        };
        let a = demote(first.clone(), max);
        let b = demote(second.clone(), erika);
        let results = [a.await.unwrap(), b.await.unwrap()];
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        let owners = membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(org))
            .filter(membership::Column::Role.eq(Role::Owner))
            .count(&db)
            .await
            .unwrap();
        assert_eq!(owners, 1);
        // Both owners again for the next round.
        membership::Entity::update_many()
            .col_expr(membership::Column::Role, Expr::value(Role::Owner))
            .filter(membership::Column::OrganizationId.eq(org))
            .exec(&db)
            .await
            .unwrap();
    }

    let guest = inserted_user(&db, "guest@example.de", "Guest", Locale::De).await;
    let (_, token) = invite(&db, &first, "guest@example.de", Role::Viewer).await;
    let clicks: Vec<_> = (0..4)
        .map(|_| {
            let (db, token) = (db.clone(), token.clone());
            tokio::spawn(async move { organizations::accept(&db, &token, guest, IP).await })
        })
        .collect();
    let mut accepted = 0;
    for click in clicks {
        match click.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(OrganizationError::InvalidInvitation) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(accepted, 1);
    assert_chain_intact(&db, org).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_changes_on_postgres() {
    if let Some(test_db) = shopmarkets_core::testing::TestDb::postgres().await {
        simultaneous_changes_keep_an_owner_and_use_a_link_once(test_db.db.clone()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_changes_on_sqlite() {
    let test_db = shopmarkets_core::testing::TestDb::sqlite_file().await;
    simultaneous_changes_keep_an_owner_and_use_a_link_once(test_db.db.clone()).await;
}
