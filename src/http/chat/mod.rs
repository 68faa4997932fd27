//! `/api/v1/chat/*` (and `003_…`'s `/v1/chat/*`): the richer chat client's surface,
//! one router per resource.

mod conversations;
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
}
