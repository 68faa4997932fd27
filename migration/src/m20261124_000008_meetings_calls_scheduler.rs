//! What meetings, calls and announcements need beyond the first tables: a meeting's
//! video URL, an announcement's audience and publication time, who answered a call and
//! when it stops ringing, whether a user chose their time zone, and `scheduled_jobs`:
//! the one scheduler's due rows (reminders, ring timeouts, scheduled announcements).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::kit::{create, index, table};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000008_meetings_calls_scheduler"
    }
}

/// (table, column) pairs added one statement each (SQLite adds one at a time).
fn columns() -> Vec<(&'static str, ColumnDef)> {
    vec![
        ("meetings", string_len_null("meeting_url", 2000)),
        ("announcements", json_null("audience")),
        ("announcements", timestamp_with_time_zone_null("publish_at")),
        (
            "announcements",
            timestamp_with_time_zone_null("published_at"),
        ),
        ("calls", uuid_null("answered_by")),
        ("calls", uuid_null("ended_by")),
        ("calls", timestamp_with_time_zone_null("ring_until")),
        ("users", boolean("timezone_set").default(false).to_owned()),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (t, col) in columns() {
            manager
                .alter_table(Table::alter().table(t).add_column(col).to_owned())
                .await?;
        }
        create(
            manager,
            vec![
                table("scheduled_jobs")
                    .col(string_len("kind", 32))
                    .col(uuid("subject_id"))
                    .col(timestamp_with_time_zone("due_at"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone_null("lease_until"))
                    .col(integer("attempts").default(0))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            ],
            vec![
                index("scheduled_jobs", &["kind", "subject_id"], true),
                index("scheduled_jobs", &["status", "due_at"], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::kit::drop(manager, &["scheduled_jobs"]).await?;
        for (t, col) in columns().into_iter().rev() {
            let name = col.get_column_name();
            manager
                .alter_table(
                    Table::alter()
                        .table(t)
                        .drop_column(Alias::new(name))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
