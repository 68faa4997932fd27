//! Unique-constraint races: an insert that lost to a concurrent one with the same
//! key. Callers decide what losing means (use the winner's row, or a 409).

use sea_orm::{DbErr, SqlErr};

/// Whether `e` says another row already holds this unique key.
pub(crate) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
