//! The scheduler's due rows: one per (kind, subject), claimed by one node when due.
#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "scheduled_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// meeting_reminder | call_ring_timeout | announcement_publish
    pub kind: String,
    /// The meeting, call or announcement.
    pub subject_id: Uuid,
    pub due_at: DateTimeUtc,
    /// pending | running | done | cancelled | failed
    pub status: String,
    pub lease_until: Option<DateTimeUtc>,
    pub attempts: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
