//! Call signalling: a WebRTC message (offer, answer, ICE candidate) relayed from any
//! transport to the addressed member's devices only, while the call rings or runs;
//! bounded in size; never stored.

use entity::enums::CallStatus;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Calls;
use crate::domain::events::{CallSignal, Payload};
use crate::domain::{Actor, limits};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, RealtimeEvent};

/// A WebRTC message for one member: an offer, an answer or an ICE candidate.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignalInput {
    pub call_id: Uuid,
    pub to_user_id: Uuid,
    #[schema(value_type = Object)]
    pub signal: serde_json::Value,
}

impl Calls {
    /// Relays a WebRTC message to one other member's devices (from any transport),
    /// while the call rings or runs; bounded in size; never stored.
    pub async fn relay_signal(&self, actor: &Actor, input: SignalInput) -> AppResult<()> {
        let call = self.member_call(actor, input.call_id).await?;
        if !matches!(call.status, CallStatus::Ringing | CallStatus::Active) {
            return Err(AppError::Conflict("the call is over".into()));
        }
        if input.to_user_id == actor.user_id {
            return Err(AppError::validation("to_user_id", "is yourself"));
        }
        if !self
            .access
            .participant_ids(call.conversation_id)
            .await?
            .contains(&input.to_user_id)
        {
            return Err(AppError::validation("to_user_id", "is not in this call"));
        }
        let size = input.signal.to_string().len();
        if size > limits::MAX_SIGNAL_BYTES {
            return Err(AppError::PayloadTooLarge(format!(
                "a signal is at most {} bytes",
                limits::MAX_SIGNAL_BYTES
            )));
        }
        self.hub
            .publish(
                RealtimeEvent::new(Payload::CallSignal(CallSignal {
                    call_id: call.id,
                    from_user_id: actor.user_id,
                    to_user_id: input.to_user_id,
                    signal: input.signal,
                }))
                .entity("call", call.id)
                .actor(actor.user_id),
                Audience::users([input.to_user_id]),
            )
            .await;
        Ok(())
    }
}
