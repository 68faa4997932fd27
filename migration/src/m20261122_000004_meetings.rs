//! Meetings and their participants, announcements, calls.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::kit::{create, drop, fk, index, table};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000004_meetings"
    }
}

const TABLES: &[&str] = &["meetings", "meeting_participants", "announcements", "calls"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = vec![
            table("meetings")
                .col(uuid("tenant_id"))
                .col(uuid("organizer_id"))
                .col(string_len("title", 200))
                .col(text_null("description"))
                .col(string_len_null("location", 500))
                .col(timestamp_with_time_zone("starts_at"))
                .col(timestamp_with_time_zone("ends_at"))
                .col(string_len("timezone", 64))
                .col(uuid_null("conversation_id"))
                .col(timestamp_with_time_zone_null("cancelled_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("meetings", "tenant_id", "tenants"))
                .foreign_key(&mut fk("meetings", "organizer_id", "users"))
                .to_owned(),
            table("meeting_participants")
                .col(uuid("meeting_id"))
                .col(uuid("user_id"))
                .col(string_len("rsvp", 24))
                .col(timestamp_with_time_zone_null("responded_at"))
                .foreign_key(&mut fk("meeting_participants", "meeting_id", "meetings"))
                .foreign_key(&mut fk("meeting_participants", "user_id", "users"))
                .to_owned(),
            table("announcements")
                .col(uuid("tenant_id"))
                .col(uuid("author_id"))
                .col(string_len("title", 200))
                .col(text("body"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("announcements", "tenant_id", "tenants"))
                .to_owned(),
            table("calls")
                .col(uuid("tenant_id"))
                .col(uuid("conversation_id"))
                .col(uuid("initiator_id"))
                .col(string_len("kind", 24))
                .col(string_len("status", 24))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone_null("answered_at"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .foreign_key(&mut fk("calls", "conversation_id", "conversations"))
                .to_owned(),
        ];
        let indexes = vec![
            index("meetings", &["tenant_id", "starts_at"], false),
            index("meeting_participants", &["meeting_id", "user_id"], true),
            index("meeting_participants", &["user_id"], false),
            index("announcements", &["tenant_id", "created_at"], false),
            index("calls", &["conversation_id"], false),
        ];
        create(manager, tables, indexes).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop(manager, TABLES).await
    }
}
