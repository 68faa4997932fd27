//! Service API keys: the scopes a key grants, when it was last used, and who made it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000009_api_key_scopes"
    }
}

fn columns() -> Vec<ColumnDef> {
    vec![
        json_null("scopes"),
        timestamp_with_time_zone_null("last_used_at"),
        uuid_null("created_by"),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for col in columns() {
            manager
                .alter_table(Table::alter().table("api_keys").add_column(col).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in columns().into_iter().rev() {
            let name = col.get_column_name();
            manager
                .alter_table(
                    Table::alter()
                        .table("api_keys")
                        .drop_column(Alias::new(name))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
