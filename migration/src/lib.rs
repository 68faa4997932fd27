//! Schema migrations of Switchboard, run at server start-up (and by the `migration`
//! CLI). The same statements run on SQLite and PostgreSQL: portable column types,
//! enums stored as strings, foreign keys declared inside `CREATE TABLE`.

pub use sea_orm_migration::prelude::*;

mod kit;
mod m20261122_000001_accounts;
mod m20261122_000002_chat;
mod m20261122_000003_notifications;
mod m20261122_000004_meetings;
mod m20261122_000005_message_search;
mod m20261124_000006_device_token_details;
mod m20261124_000007_push_outbox_delivery;
mod m20261124_000008_meetings_calls_scheduler;
mod m20261124_000009_api_key_scopes;
mod m20261124_000010_host_auth;
mod m20261124_000011_one_live_call;
mod m20261124_000012_media_files;
mod m20261124_000013_tokens_valid_from;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_accounts::Migration),
            Box::new(m20261122_000002_chat::Migration),
            Box::new(m20261122_000003_notifications::Migration),
            Box::new(m20261122_000004_meetings::Migration),
            Box::new(m20261122_000005_message_search::Migration),
            Box::new(m20261124_000006_device_token_details::Migration),
            Box::new(m20261124_000007_push_outbox_delivery::Migration),
            Box::new(m20261124_000008_meetings_calls_scheduler::Migration),
            Box::new(m20261124_000009_api_key_scopes::Migration),
            Box::new(m20261124_000010_host_auth::Migration),
            Box::new(m20261124_000011_one_live_call::Migration),
            Box::new(m20261124_000012_media_files::Migration),
            Box::new(m20261124_000013_tokens_valid_from::Migration),
        ]
    }
}
