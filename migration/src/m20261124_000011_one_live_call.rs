//! One ringing or active call per conversation, held by the database: a partial
//! unique index (SQLite and PostgreSQL both have them), so two calls started at the
//! same moment cannot both ring.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000011_one_live_call"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_calls_live ON calls (conversation_id) \
                 WHERE status IN ('ringing', 'active')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX ux_calls_live")
            .await?;
        Ok(())
    }
}
