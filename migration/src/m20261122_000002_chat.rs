//! Conversations, participants, messages, reactions, media and blocks.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::kit::{create, drop, fk, index, table};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000002_chat"
    }
}

const TABLES: &[&str] = &[
    "conversations",
    "conversation_participants",
    "messages",
    "message_reactions",
    "media",
    "blocks",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = vec![
            table("conversations")
                .col(uuid("tenant_id"))
                .col(string_len("kind", 24))
                .col(string_len_null("title", 200))
                .col(text_null("description"))
                .col(string_len_null("context_type", 64))
                .col(string_len_null("context_id", 128))
                .col(string_len_null("direct_key", 80).unique_key())
                .col(uuid_null("created_by"))
                .col(big_integer("last_seq").default(0))
                .col(timestamp_with_time_zone_null("last_message_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("deleted_at"))
                .foreign_key(&mut fk("conversations", "tenant_id", "tenants"))
                .to_owned(),
            table("conversation_participants")
                .col(uuid("conversation_id"))
                .col(uuid("user_id"))
                .col(string_len("role", 24))
                .col(big_integer("last_read_seq").default(0))
                .col(big_integer("last_delivered_seq").default(0))
                .col(boolean("muted").default(false))
                .col(boolean("archived").default(false))
                .col(big_integer("cleared_before_seq").default(0))
                .col(timestamp_with_time_zone("joined_at"))
                .col(timestamp_with_time_zone_null("left_at"))
                .foreign_key(&mut fk(
                    "conversation_participants",
                    "conversation_id",
                    "conversations",
                ))
                .foreign_key(&mut fk("conversation_participants", "user_id", "users"))
                .to_owned(),
            table("messages")
                .col(uuid("conversation_id"))
                .col(big_integer("seq"))
                .col(uuid("sender_id"))
                .col(string_len_null("client_msg_id", 128))
                .col(text("content"))
                .col(text_null("html"))
                .col(uuid_null("reply_to_id"))
                .col(uuid_null("forwarded_from_id"))
                .col(json("mentions"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("edited_at"))
                .col(timestamp_with_time_zone_null("deleted_at"))
                .foreign_key(&mut fk("messages", "conversation_id", "conversations"))
                .foreign_key(&mut fk("messages", "sender_id", "users"))
                .to_owned(),
            table("message_reactions")
                .col(uuid("message_id"))
                .col(uuid("user_id"))
                .col(string_len("emoji", 64))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("message_reactions", "message_id", "messages"))
                .foreign_key(&mut fk("message_reactions", "user_id", "users"))
                .to_owned(),
            table("media")
                .col(uuid("tenant_id"))
                .col(uuid("uploader_id"))
                .col(uuid_null("conversation_id"))
                .col(uuid_null("message_id"))
                .col(string_len("file_name", 255))
                .col(string_len("content_type", 128))
                .col(big_integer("size_bytes"))
                .col(string_len("storage_key", 512))
                .col(string_len("status", 24))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("media", "tenant_id", "tenants"))
                .foreign_key(&mut fk("media", "uploader_id", "users"))
                .to_owned(),
            table("blocks")
                .col(uuid("blocker_id"))
                .col(uuid("blocked_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("blocks", "blocker_id", "users"))
                .foreign_key(&mut fk("blocks", "blocked_id", "users"))
                .to_owned(),
        ];
        let indexes = vec![
            index("conversations", &["tenant_id", "updated_at"], false),
            index(
                "conversation_participants",
                &["conversation_id", "user_id"],
                true,
            ),
            index("conversation_participants", &["user_id"], false),
            index("messages", &["conversation_id", "seq"], true),
            index("messages", &["sender_id", "client_msg_id"], true),
            index("messages", &["conversation_id", "created_at"], false),
            index(
                "message_reactions",
                &["message_id", "user_id", "emoji"],
                true,
            ),
            index("media", &["uploader_id"], false),
            index("blocks", &["blocker_id", "blocked_id"], true),
            index("blocks", &["blocked_id"], false),
        ];
        create(manager, tables, indexes).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop(manager, TABLES).await
    }
}
