//! The Expo device token details 000 documents: device name, app version, build
//! number and environment (one column per statement: SQLite adds one at a time).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000006_device_token_details"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            string_len_null("device_name", 128),
            string_len_null("app_version", 32),
            string_len_null("build_number", 32),
            string_len("environment", 16)
                .default("development")
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("device_tokens")
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in ["environment", "build_number", "app_version", "device_name"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("device_tokens")
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
