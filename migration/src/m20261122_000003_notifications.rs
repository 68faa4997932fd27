//! Notifications, preferences, Web Push subscriptions, device tokens, push outbox.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::kit::{create, drop, fk, index, table};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000003_notifications"
    }
}

const TABLES: &[&str] = &[
    "notifications",
    "notification_preferences",
    "push_subscriptions",
    "device_tokens",
    "push_outbox",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = vec![
            table("notifications")
                .col(uuid("tenant_id"))
                .col(uuid("user_id"))
                .col(string_len("kind", 64))
                .col(string_len("title", 200))
                .col(text_null("body"))
                .col(json("data"))
                .col(timestamp_with_time_zone_null("read_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("notifications", "user_id", "users"))
                .to_owned(),
            Table::create()
                .table("notification_preferences")
                .col(uuid("user_id").primary_key())
                .col(boolean("in_app_enabled").default(true))
                .col(boolean("push_enabled").default(true))
                .col(boolean("email_enabled").default(false))
                .col(json("muted_kinds"))
                .col(string_len_null("quiet_hours_start", 5))
                .col(string_len_null("quiet_hours_end", 5))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("notification_preferences", "user_id", "users"))
                .to_owned(),
            table("push_subscriptions")
                .col(uuid("user_id"))
                .col(text("endpoint"))
                .col(string_len("p256dh", 256))
                .col(string_len("auth", 64))
                .col(string_len_null("user_agent", 512))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(&mut fk("push_subscriptions", "user_id", "users"))
                .to_owned(),
            table("device_tokens")
                .col(uuid("user_id"))
                .col(string_len_uniq("token", 512))
                .col(string_len("platform", 16))
                .col(string_len_null("device_id", 128))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("last_used_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(&mut fk("device_tokens", "user_id", "users"))
                .to_owned(),
            table("push_outbox")
                .col(uuid("user_id"))
                .col(string_len("channel", 16))
                .col(uuid("target_id"))
                .col(json("payload"))
                .col(integer("attempts").default(0))
                .col(string_len("status", 16))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .foreign_key(&mut fk("push_outbox", "user_id", "users"))
                .to_owned(),
        ];
        let indexes = vec![
            index("notifications", &["user_id", "created_at"], false),
            // Endpoints are long URLs; uniqueness is enforced on the full text.
            index("push_subscriptions", &["endpoint"], true),
            index("push_subscriptions", &["user_id"], false),
            index("device_tokens", &["user_id"], false),
            index("push_outbox", &["status", "next_attempt_at"], false),
        ];
        create(manager, tables, indexes).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop(manager, TABLES).await
    }
}
