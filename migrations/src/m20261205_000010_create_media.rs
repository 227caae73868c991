//! Product images: `media_objects` (a processed upload of one organization, its original and
//! derivatives stored by content hash) and `product_images` (which product or variant shows
//! which object, in which order). The sync outbox learns the entity `image`.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DbBackend, Statement},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MediaObjects {
    Table,
    Id,
    OrganizationId,
    Sha256,
    ContentType,
    ByteSize,
    Width,
    Height,
    OriginalKey,
    ThumbnailKey,
    MediumKey,
    LargeKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProductImages {
    Table,
    Id,
    OrganizationId,
    ProductId,
    VariantId,
    MediaObjectId,
    Position,
    AltText,
    Version,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Variants {
    Table,
    Id,
}

/// The outbox entity this migration adds.
const IMAGE: &str = "image";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too: the outbox table is rebuilt there, which must happen
    /// on one connection (a pooled connection still reading the old table would not see the
    /// new one) and must not be left half done.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MediaObjects::Table)
                    .col(uuid(MediaObjects::Id).primary_key())
                    .col(uuid(MediaObjects::OrganizationId))
                    .col(char_len(MediaObjects::Sha256, 64))
                    .col(string_len(MediaObjects::ContentType, 32))
                    .col(
                        big_integer(MediaObjects::ByteSize)
                            .check(Expr::col(MediaObjects::ByteSize).gte(0)),
                    )
                    .col(integer(MediaObjects::Width))
                    .col(integer(MediaObjects::Height))
                    // `<sha256>.<ext>` of each stored object.
                    .col(string_len(MediaObjects::OriginalKey, 80))
                    .col(string_len(MediaObjects::ThumbnailKey, 80))
                    .col(string_len(MediaObjects::MediumKey, 80))
                    .col(string_len(MediaObjects::LargeKey, 80))
                    .col(timestamp_with_time_zone(MediaObjects::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_media_objects_organization")
                            .from(MediaObjects::Table, MediaObjects::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The same upload twice in an organization is one object.
        manager
            .create_index(
                Index::create()
                    .name("uq_media_objects_organization_sha256")
                    .table(MediaObjects::Table)
                    .col(MediaObjects::OrganizationId)
                    .col(MediaObjects::Sha256)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Deleting a stored object asks whether any row (any organization) still uses its key.
        for (name, column) in [
            ("idx_media_objects_original_key", MediaObjects::OriginalKey),
            (
                "idx_media_objects_thumbnail_key",
                MediaObjects::ThumbnailKey,
            ),
            ("idx_media_objects_medium_key", MediaObjects::MediumKey),
            ("idx_media_objects_large_key", MediaObjects::LargeKey),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(MediaObjects::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(ProductImages::Table)
                    .col(uuid(ProductImages::Id).primary_key())
                    .col(uuid(ProductImages::OrganizationId))
                    .col(uuid(ProductImages::ProductId))
                    .col(uuid_null(ProductImages::VariantId))
                    .col(uuid(ProductImages::MediaObjectId))
                    .col(integer(ProductImages::Position))
                    .col(string_len_null(ProductImages::AltText, 250))
                    .col(big_integer(ProductImages::Version))
                    .col(timestamp_with_time_zone(ProductImages::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_product_images_organization")
                            .from(ProductImages::Table, ProductImages::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_product_images_product")
                            .from(ProductImages::Table, ProductImages::ProductId)
                            .to(Products::Table, Products::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_product_images_variant")
                            .from(ProductImages::Table, ProductImages::VariantId)
                            .to(Variants::Table, Variants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    // No cascade: an object is deleted only once nothing shows it (the sweep);
                    // a delete racing a new reference fails instead of taking the image along.
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_product_images_media_object")
                            .from(ProductImages::Table, ProductImages::MediaObjectId)
                            .to(MediaObjects::Table, MediaObjects::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "idx_product_images_product_position",
                vec![ProductImages::ProductId, ProductImages::Position],
            ),
            (
                "idx_product_images_media_object",
                vec![ProductImages::MediaObjectId],
            ),
            ("idx_product_images_variant", vec![ProductImages::VariantId]),
        ] {
            let mut index = Index::create();
            index.name(name).table(ProductImages::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }

        rewrite_outbox_entities(manager, |entities| {
            if !entities.iter().any(|e| e == IMAGE) {
                entities.push(IMAGE.to_owned());
            }
        })
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM sync_outbox WHERE entity = 'image'")
            .await?;
        rewrite_outbox_entities(manager, |entities| entities.retain(|e| e != IMAGE)).await?;
        for table in [
            ProductImages::Table.into_iden(),
            MediaObjects::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Changes the list of entities the `sync_outbox.entity` check constraint allows, keeping
/// whatever earlier migrations put there. PostgreSQL swaps the constraint; SQLite cannot alter
/// a constraint, so the table is rebuilt from its own stored definition with the new list (the
/// documented "make other kinds of table schema changes" procedure): nothing else of the
/// table changes, and its rows, indexes and id sequence are kept.
async fn rewrite_outbox_entities(
    manager: &SchemaManager<'_>,
    change: impl Fn(&mut Vec<String>),
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let row = db
                .query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT conname::text AS name, pg_get_constraintdef(oid) AS def \
                     FROM pg_constraint \
                     WHERE conrelid = 'sync_outbox'::regclass AND contype = 'c' \
                     AND pg_get_constraintdef(oid) LIKE '%(entity)%'",
                ))
                .await?
                .ok_or_else(|| DbErr::Migration("sync_outbox has no entity check".into()))?;
            let name: String = row.try_get("", "name")?;
            let definition: String = row.try_get("", "def")?;
            let mut entities = quoted_values(&definition);
            change(&mut entities);
            db.execute_unprepared(&format!(
                "ALTER TABLE sync_outbox DROP CONSTRAINT \"{name}\", \
                 ADD CONSTRAINT \"{name}\" CHECK (entity IN ({}))",
                sql_list(&entities)
            ))
            .await?;
        }
        _ => {
            let table_sql: String = db
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'sync_outbox'",
                ))
                .await?
                .ok_or_else(|| DbErr::Migration("sync_outbox is missing".into()))?
                .try_get("", "sql")?;
            let marker = "\"entity\" IN (";
            let start = table_sql
                .find(marker)
                .ok_or_else(|| DbErr::Migration("sync_outbox has no entity check".into()))?
                + marker.len();
            let end = start
                + table_sql[start..]
                    .find(')')
                    .ok_or_else(|| DbErr::Migration("unterminated entity check".into()))?;
            let mut entities = quoted_values(&table_sql[start..end]);
            change(&mut entities);
            let rebuilt = format!(
                "{}{}{}",
                &table_sql[..start],
                sql_list(&entities),
                &table_sql[end..]
            )
            .replacen("\"sync_outbox\"", "\"sync_outbox_rebuilt\"", 1);
            if !rebuilt.contains("\"sync_outbox_rebuilt\"") {
                return Err(DbErr::Migration("unexpected sync_outbox definition".into()));
            }
            let indexes: Vec<String> = db
                .query_all_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "SELECT sql FROM sqlite_master \
                     WHERE type = 'index' AND tbl_name = 'sync_outbox' AND sql IS NOT NULL",
                ))
                .await?
                .into_iter()
                .map(|row| row.try_get::<String>("", "sql"))
                .collect::<Result<_, _>>()?;
            let sequence: Option<i64> = db
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "SELECT seq FROM sqlite_sequence WHERE name = 'sync_outbox'",
                ))
                .await?
                .map(|row| row.try_get("", "seq"))
                .transpose()?;
            db.execute_unprepared(&rebuilt).await?;
            db.execute_unprepared("INSERT INTO sync_outbox_rebuilt SELECT * FROM sync_outbox")
                .await?;
            db.execute_unprepared("DROP TABLE sync_outbox").await?;
            db.execute_unprepared("ALTER TABLE sync_outbox_rebuilt RENAME TO sync_outbox")
                .await?;
            for index in indexes {
                db.execute_unprepared(&index).await?;
            }
            if let Some(sequence) = sequence {
                // Ids of deleted rows are never handed out again.
                db.execute_unprepared(&format!(
                    "UPDATE sqlite_sequence SET seq = MAX(seq, {sequence}) WHERE name = 'sync_outbox'"
                ))
                .await?;
            }
        }
    }
    Ok(())
}

/// The single-quoted values of an SQL fragment, in order (`'a'::text, 'b'` → `a`, `b`).
fn quoted_values(sql: &str) -> Vec<String> {
    sql.split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn sql_list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ")
}
