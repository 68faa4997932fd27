//! Push outbox: one row per delivery to one target (a browser, an Expo token, an
//! email address): pending → sending → sent | ticketed → sent | failed | gone.
#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "push_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub channel: String,
    pub target_id: Uuid,
    pub payload: Json,
    pub attempts: i32,
    pub status: String,
    pub next_attempt_at: DateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// While `sending`/`checking`: the claiming node holds the row until then.
    pub lease_until: Option<DateTimeUtc>,
    /// Rows with the same target and key merge while they wait (one conversation).
    pub collapse_key: Option<String>,
    pub notification_id: Option<Uuid>,
    /// Expo's ticket id, whose receipt is fetched later.
    pub ticket_id: Option<String>,
    /// How many later notifications were merged into this row.
    pub collapsed: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
