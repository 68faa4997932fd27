//! Files on messages: which uploads a new message may carry (confirmed, the
//! sender's, for that conversation; a forward carries the original's), attaching a
//! confirmed upload to an existing message, and the `attachments` of message views.

use std::collections::HashMap;

use entity::enums::MediaStatus;
use entity::{media, message_attachments as ma};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::Media;
use crate::domain::views::MessageView;
use crate::domain::{Actor, limits};
use crate::error::{AppError, AppResult};

impl Media {
    /// The uploads a new message in `conversation` carries, in the order given:
    /// confirmed uploads of the sender made for that conversation, or (a forward) the
    /// files of the forwarded message, which the caller was already allowed to read.
    pub(crate) async fn files_for_new_message(
        &self,
        actor: &Actor,
        conversation: Uuid,
        ids: &[Uuid],
        forwarded_from: Option<Uuid>,
    ) -> AppResult<Vec<media::Model>> {
        if let Some(original) = forwarded_from {
            let mut files = self.files_of(&[original]).await?;
            return Ok(files.remove(&original).unwrap_or_default());
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > limits::MAX_ATTACHMENTS {
            return Err(AppError::validation(
                "attachment_ids",
                format!("at most {} attachments", limits::MAX_ATTACHMENTS),
            ));
        }
        let found = media::Entity::find()
            .filter(media::Column::Id.is_in(ids.to_vec()))
            .filter(media::Column::UploaderId.eq(actor.user_id))
            .filter(media::Column::TenantId.eq(actor.tenant_id))
            .filter(media::Column::Status.eq(MediaStatus::Confirmed))
            .all(&self.db)
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if out.iter().any(|m: &media::Model| m.id == *id) {
                continue;
            }
            let Some(m) = found.iter().find(|m| m.id == *id) else {
                return Err(AppError::validation(
                    "attachment_ids",
                    format!("{id} is not a confirmed upload of yours"),
                ));
            };
            if m.conversation_id != Some(conversation) {
                return Err(AppError::validation(
                    "attachment_ids",
                    format!("{id} was uploaded for another conversation"),
                ));
            }
            out.push(m.clone());
        }
        Ok(out)
    }

    /// Fills in the `attachments` of live messages (two queries for all of them).
    pub(crate) async fn fill_attachments<'a>(
        &self,
        views: impl IntoIterator<Item = &'a mut MessageView>,
    ) -> AppResult<()> {
        let mut views: Vec<&mut MessageView> = views.into_iter().filter(|v| !v.deleted).collect();
        if views.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = views.iter().map(|v| v.id).collect();
        let mut files = self.files_of(&ids).await?;
        for view in views.iter_mut() {
            if let Some(list) = files.remove(&view.id) {
                view.attachments = self.media_views(list).await?;
            }
        }
        Ok(())
    }

    /// Views of files, in order.
    pub(crate) async fn media_views(
        &self,
        files: Vec<media::Model>,
    ) -> AppResult<Vec<super::MediaView>> {
        let mut out = Vec::with_capacity(files.len());
        for f in files {
            out.push(self.media_view(f).await?);
        }
        Ok(out)
    }

    /// The files of each message, in position order.
    async fn files_of(&self, message_ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<media::Model>>> {
        let links = ma::Entity::find()
            .filter(ma::Column::MessageId.is_in(message_ids.to_vec()))
            .order_by_asc(ma::Column::Position)
            .all(&self.db)
            .await?;
        if links.is_empty() {
            return Ok(HashMap::new());
        }
        let files: HashMap<Uuid, media::Model> = media::Entity::find()
            .filter(media::Column::Id.is_in(links.iter().map(|l| l.media_id).collect::<Vec<_>>()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        let mut out: HashMap<Uuid, Vec<media::Model>> = HashMap::new();
        for link in links {
            if let Some(f) = files.get(&link.media_id) {
                out.entry(link.message_id).or_default().push(f.clone());
            }
        }
        Ok(out)
    }
}

/// Links files to a message from `first_position` on (a link already there is kept),
/// and records the message on files that had none. Returns how many links were new.
pub(crate) async fn link_files(
    db: &impl ConnectionTrait,
    message_id: Uuid,
    conversation_id: Uuid,
    files: &[Uuid],
    first_position: i32,
) -> Result<u64, DbErr> {
    if files.is_empty() {
        return Ok(0);
    }
    let rows = files.iter().enumerate().map(|(i, f)| ma::ActiveModel {
        message_id: Set(message_id),
        media_id: Set(*f),
        conversation_id: Set(conversation_id),
        position: Set(first_position + i as i32),
    });
    let added = ma::Entity::insert_many(rows)
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    media::Entity::update_many()
        .col_expr(media::Column::MessageId, Expr::value(message_id))
        .filter(media::Column::Id.is_in(files.to_vec()))
        .filter(media::Column::MessageId.is_null())
        .exec(db)
        .await?;
    Ok(added)
}
