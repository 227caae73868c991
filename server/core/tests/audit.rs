//! The audit log on both engines: chains link, tampering and gaps are found, chains are per
//! organization, and concurrent writers never fork a chain.

use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;
use shopmarkets_core::{
    audit::{self, AuditAction, GENESIS_HASH, NewAuditEvent},
    db::Db,
    db_tests,
    testing::TestDb,
};
use uuid::Uuid;

fn event(organization_id: Option<Uuid>, action: AuditAction) -> NewAuditEvent {
    NewAuditEvent {
        organization_id,
        actor_user_id: Some(Uuid::new_v4()),
        action,
        ip: Some("198.51.100.23".parse().unwrap()),
        details: json!({ "note": "it's <b>escaped</b>; DROP TABLE users; --" }),
    }
}

async fn entries_link_into_an_intact_chain(db: Db) {
    let org = Some(Uuid::new_v4());
    let first = audit::record(&db, event(org, AuditAction::LoginSucceeded))
        .await
        .unwrap();
    let second = audit::record(&db, event(org, AuditAction::TwoFactorEnabled))
        .await
        .unwrap();
    let third = audit::record(&db, event(org, AuditAction::SessionEnded))
        .await
        .unwrap();

    assert_eq!((first.seq, second.seq, third.seq), (1, 2, 3));
    assert_eq!(first.prev_hash, GENESIS_HASH);
    assert_eq!(second.prev_hash, first.hash);
    assert_eq!(third.prev_hash, second.hash);
    assert_eq!(first.ip_prefix.as_deref(), Some("198.51.100.0/24"));

    let report = audit::verify_chain(&db, org).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.entries, 3);

    let newest = audit::list(&db, org, 2).await.unwrap();
    assert_eq!(newest.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 2]);
    assert_eq!(newest[0].action, "session.ended");
}

async fn a_changed_entry_breaks_the_chain_from_there(db: Db) {
    let org = Some(Uuid::new_v4());
    for action in [
        AuditAction::LoginFailed,
        AuditAction::LoginFailed,
        AuditAction::LoginSucceeded,
    ] {
        audit::record(&db, event(org, action)).await.unwrap();
    }
    db.execute_unprepared("UPDATE audit_events SET action = 'login.succeeded' WHERE seq = 2")
        .await
        .unwrap();
    let report = audit::verify_chain(&db, org).await.unwrap();
    assert_eq!(report.first_broken_seq, Some(2));
}

async fn a_removed_entry_breaks_the_chain(db: Db) {
    let org = Some(Uuid::new_v4());
    for _ in 0..4 {
        audit::record(&db, event(org, AuditAction::RoleChanged))
            .await
            .unwrap();
    }
    db.execute_unprepared("DELETE FROM audit_events WHERE seq = 3")
        .await
        .unwrap();
    let report = audit::verify_chain(&db, org).await.unwrap();
    assert_eq!(report.first_broken_seq, Some(3));
}

async fn each_organization_has_its_own_chain(db: Db) {
    let (a, b) = (Some(Uuid::new_v4()), Some(Uuid::new_v4()));
    audit::record(&db, event(a, AuditAction::ApiKeyCreated))
        .await
        .unwrap();
    audit::record(&db, event(a, AuditAction::ApiKeyRevoked))
        .await
        .unwrap();
    let first_of_b = audit::record(&db, event(b, AuditAction::MemberInvited))
        .await
        .unwrap();
    let global = audit::record(&db, event(None, AuditAction::LoginFailed))
        .await
        .unwrap();
    assert_eq!(first_of_b.seq, 1);
    assert_eq!(first_of_b.prev_hash, GENESIS_HASH);
    assert_eq!(global.seq, 1);
    assert!(
        audit::list(&db, b, 10)
            .await
            .unwrap()
            .iter()
            .all(|e| e.organization_id == b)
    );
    for org in [a, b, None] {
        assert!(audit::verify_chain(&db, org).await.unwrap().is_intact());
    }
}

async fn an_event_commits_or_rolls_back_with_the_change_it_describes(db: Db) {
    let org = Some(Uuid::new_v4());
    let txn = db.begin().await.unwrap();
    audit::record_in(&txn, event(org, AuditAction::RoleChanged))
        .await
        .unwrap();
    txn.rollback().await.unwrap();
    assert!(audit::list(&db, org, 10).await.unwrap().is_empty());

    let txn = db.begin().await.unwrap();
    audit::record_in(&txn, event(org, AuditAction::RoleChanged))
        .await
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(audit::list(&db, org, 10).await.unwrap().len(), 1);
}

db_tests!(
    entries_link_into_an_intact_chain,
    a_changed_entry_breaks_the_chain_from_there,
    a_removed_entry_breaks_the_chain,
    each_organization_has_its_own_chain,
    an_event_commits_or_rolls_back_with_the_change_it_describes,
);

async fn concurrent_writers(db: Db) {
    let org = Some(Uuid::new_v4());
    let writers: Vec<_> = (0..12)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                audit::record(&db, event(org, AuditAction::LoginSucceeded)).await
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let report = audit::verify_chain(&db, org).await.unwrap();
    assert_eq!(report.entries, 12);
    assert!(report.is_intact(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_never_fork_a_chain_on_postgres() {
    if let Some(test_db) = TestDb::postgres().await {
        concurrent_writers(test_db.db.clone()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_never_fork_a_chain_on_sqlite() {
    let test_db = TestDb::sqlite_file().await;
    concurrent_writers(test_db.db.clone()).await;
}
