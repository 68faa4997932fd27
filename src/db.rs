//! Opens the database (SQLite file or PostgreSQL) and brings its schema up to date.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

use crate::config::Config;

/// Connects with settings suited to the backend, then runs pending migrations.
pub async fn connect_and_migrate(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let is_sqlite = config.database_url.starts_with("sqlite:");
    let mut opts = ConnectOptions::new(config.database_url.clone());
    opts.sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10))
        .max_connections(if is_sqlite {
            8
        } else {
            config.db_max_connections
        })
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    let db = Database::connect(opts).await?;
    tracing::info!(backend = ?db.get_database_backend(), "database connected; running migrations");
    Migrator::up(&db, None).await?;
    Ok(db)
}
