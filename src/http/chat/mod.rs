//! `/api/v1/chat/*` (and `003_…`'s `/v1/chat/*`): the richer chat client's surface,
//! one router per resource (conversations, messages, people, media).

mod conversations;
mod media;
mod messages;
mod people;

use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use super::extract::ApiPath;
use crate::app::AppState;

type Id = ApiPath<Uuid>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(conversations::router())
        .merge(messages::router())
        .merge(people::router())
        .merge(media::router())
}
