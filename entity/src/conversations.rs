//! Conversations: direct chats, groups, channels and threads, with their seq counter.
#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: ConversationKind,
    pub title: Option<String>,
    pub description: Option<String>,
    pub context_type: Option<String>,
    pub context_id: Option<String>,
    #[sea_orm(unique)]
    pub direct_key: Option<String>,
    pub created_by: Option<Uuid>,
    pub last_seq: i64,
    pub last_message_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
