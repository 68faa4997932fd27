//! Users: accounts of a tenant (role, activity, password hash).
#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub external_id: Option<String>,
    #[sea_orm(unique)]
    pub email: String,
    pub phone: Option<String>,
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub timezone: String,
    /// Whether the user chose `timezone` (else a default zone applies to "today").
    pub timezone_set: bool,
    pub role: UserRole,
    pub is_active: bool,
    pub password_hash: Option<String>,
    pub last_seen_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Access tokens issued before this (second) are refused: set by a password change.
    pub tokens_valid_from: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
