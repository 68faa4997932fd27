//! Media files end to end: what confirming an upload records (checksum, thumbnail,
//! image size, when), until when its upload URL is good, and which messages carry
//! it (`message_attachments`, in order; a forward attaches the same file again).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::kit::{create, drop, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000012_media_files"
    }
}

fn columns() -> Vec<ColumnDef> {
    vec![
        string_len_null("checksum_sha256", 64),
        string_len_null("thumbnail_key", 512),
        integer_null("width"),
        integer_null("height"),
        timestamp_with_time_zone_null("upload_expires_at"),
        timestamp_with_time_zone_null("confirmed_at"),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for col in columns() {
            manager
                .alter_table(Table::alter().table("media").add_column(col).to_owned())
                .await?;
        }
        create(
            manager,
            vec![
                Table::create()
                    .table("message_attachments")
                    .col(uuid("message_id"))
                    .col(uuid("media_id"))
                    .col(uuid("conversation_id"))
                    .col(integer("position"))
                    .primary_key(Index::create().col("message_id").col("media_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_message_attachments_message_id")
                            .from("message_attachments", "message_id")
                            .to("messages", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_message_attachments_media_id")
                            .from("message_attachments", "media_id")
                            .to("media", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            ],
            vec![
                index(
                    "message_attachments",
                    &["media_id", "conversation_id"],
                    false,
                ),
                index("media", &["conversation_id"], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop(manager, &["message_attachments"]).await?;
        for col in columns().into_iter().rev() {
            let name = col.get_column_name();
            manager
                .alter_table(
                    Table::alter()
                        .table("media")
                        .drop_column(Alias::new(name))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
