//! What the push outbox's worker needs beyond the first table: a lease (which node
//! holds a row it is sending, and until when), a collapse key (bursts in one
//! conversation become one push per device and window), the notification a row came
//! from, and the Expo ticket whose receipt is fetched later.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::kit::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000007_push_outbox_delivery"
    }
}

const COLUMNS: [&str; 5] = [
    "lease_until",
    "collapse_key",
    "notification_id",
    "ticket_id",
    "collapsed",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for col in [
            timestamp_with_time_zone_null("lease_until"),
            string_len_null("collapse_key", 64),
            uuid_null("notification_id"),
            string_len_null("ticket_id", 128),
            integer("collapsed").default(0).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("push_outbox")
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(index(
                "push_outbox",
                &["target_id", "collapse_key", "status"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_push_outbox_target_id_collapse_key_status")
                    .table("push_outbox")
                    .to_owned(),
            )
            .await?;
        for col in COLUMNS.iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table("push_outbox")
                        .drop_column(*col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
