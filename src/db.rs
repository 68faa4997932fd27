//! Opens the database (SQLite file or PostgreSQL) and brings its schema up to date.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
    Statement,
};

use crate::config::Config;

/// Connects with settings suited to the backend, then runs pending migrations.
pub async fn connect_and_migrate(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let is_sqlite = config.database_url.starts_with("sqlite:");
    let opts = options(
        config,
        if is_sqlite {
            8
        } else {
            config.db_max_connections
        },
    );
    let db = Database::connect(opts).await?;
    tracing::info!(backend = ?db.get_database_backend(), "database connected; running migrations");
    if db.get_database_backend() == DatabaseBackend::Postgres {
        migrate_under_lock(&config.database_url, &db).await?;
    } else {
        // One SQLite file is one process's (or one host's) database; SQLite's own
        // write lock and the migrations' own transactions serialise it.
        Migrator::up(&db, None).await?;
    }
    Ok(db)
}

/// A connection of its own for the message writer (one session: its batches are
/// sequential), so that its group commits never wait for the shared pool.
pub async fn connect_writer(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let mut opts = options(config, 1);
    opts.min_connections(1);
    Database::connect(opts).await
}

fn options(config: &Config, max_connections: u32) -> ConnectOptions {
    let mut opts = ConnectOptions::new(config.database_url.clone());
    opts.sqlx_logging(std::env::var("SQL_LOG").is_ok())
        .acquire_timeout(config.db_acquire_timeout)
        .max_connections(max_connections)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Pages read through a memory map: after another connection's commit a
                // connection re-reads its pages without a read() system call per page.
                .pragma("mmap_size", "268435456")
        });
    opts
}

/// Key of the PostgreSQL advisory lock held while migrating ("SWBDMIGR").
const MIGRATION_LOCK: i64 = 0x5357_4244_4d49_4752;

/// Nodes started together on one PostgreSQL would each create the migration table
/// and run the same migrations at once (and fail on duplicate catalog rows). Each
/// node takes a session-level advisory lock on its own connection first, so one
/// migrates while the others wait, then find nothing left to do.
async fn migrate_under_lock(url: &str, db: &DatabaseConnection) -> Result<(), DbErr> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10));
    let lock = Database::connect(opts).await?;
    let sql = |s: &str| Statement::from_string(DatabaseBackend::Postgres, s.to_string());
    lock.execute_raw(sql(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")))
        .await?;
    let result = Migrator::up(db, None).await;
    let unlocked = lock
        .execute_raw(sql(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")))
        .await;
    // Closing the session releases the lock even if the unlock above failed.
    lock.close().await.ok();
    result?;
    unlocked.map(|_| ())
}
