//! A confirmed file joins one of its uploader's messages after the fact
//! (`POST …/media/{id}/confirm` with `message_id`): a message change, so chat's.

use entity::media;
use entity::message_attachments as ma;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use super::Messages;
use crate::domain::events::Payload;
use crate::domain::media::{MediaView, attachments::link_files};
use crate::domain::{Actor, limits};
use crate::error::{AppError, AppResult};

impl Messages {
    /// Confirms an upload and, with `message_id`, attaches it to that message.
    pub async fn confirm_media(
        &self,
        actor: &Actor,
        id: Uuid,
        message_id: Option<Uuid>,
    ) -> AppResult<MediaView> {
        let row = self.media.confirm(actor, id).await?;
        let Some(message_id) = message_id else {
            return self.media.media_view(row).await;
        };
        self.attach_to_message(actor, &row, message_id).await?;
        let row = self.media.media_row(actor, id).await?;
        self.media.media_view(row).await
    }

    /// A confirmed upload joins one of the uploader's live messages in its
    /// conversation (at the end); participants get `message_updated`.
    async fn attach_to_message(
        &self,
        actor: &Actor,
        file: &media::Model,
        message_id: Uuid,
    ) -> AppResult<()> {
        let (msg, conv, _) = self.visible_message(actor, message_id).await?;
        if msg.sender_id != actor.user_id {
            return Err(AppError::Forbidden(
                "files can be attached only to your own messages".into(),
            ));
        }
        if Some(msg.conversation_id) != file.conversation_id {
            return Err(AppError::validation(
                "message_id",
                "must be a message of the conversation the file was uploaded for",
            ));
        }
        if msg.deleted_at.is_some() {
            return Err(AppError::Conflict("message was deleted".into()));
        }
        let count = ma::Entity::find()
            .filter(ma::Column::MessageId.eq(msg.id))
            .count(&self.db)
            .await?;
        if count as usize >= limits::MAX_ATTACHMENTS {
            return Err(AppError::validation(
                "message_id",
                format!(
                    "a message carries at most {} files",
                    limits::MAX_ATTACHMENTS
                ),
            ));
        }
        let added = link_files(
            &self.db,
            msg.id,
            msg.conversation_id,
            &[file.id],
            count as i32,
        )
        .await?;
        if added > 0 {
            let view = self.message_view(&conv, msg).await?;
            self.publish_message(actor, Payload::MessageUpdated, &view)
                .await?;
        }
        Ok(())
    }
}
