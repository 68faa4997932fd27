//! sea-orm entities of Switchboard: one module per table, shared enums in `enums`.

pub mod announcements;
pub mod api_keys;
pub mod blocks;
pub mod calls;
pub mod conversation_participants;
pub mod conversations;
pub mod device_tokens;
pub mod enums;
pub mod host_auth;
pub mod media;
pub mod meeting_participants;
pub mod meetings;
pub mod message_attachments;
pub mod message_reactions;
pub mod messages;
pub mod notification_preferences;
pub mod notifications;
pub mod push_outbox;
pub mod push_subscriptions;
pub mod refresh_tokens;
pub mod scheduled_jobs;
pub mod tenants;
pub mod users;

pub mod prelude {
    //! The entity types under their table names.
    pub use crate::announcements::Entity as Announcements;
    pub use crate::api_keys::Entity as ApiKeys;
    pub use crate::blocks::Entity as Blocks;
    pub use crate::calls::Entity as Calls;
    pub use crate::conversation_participants::Entity as ConversationParticipants;
    pub use crate::conversations::Entity as Conversations;
    pub use crate::device_tokens::Entity as DeviceTokens;
    pub use crate::media::Entity as Media;
    pub use crate::meeting_participants::Entity as MeetingParticipants;
    pub use crate::meetings::Entity as Meetings;
    pub use crate::message_attachments::Entity as MessageAttachments;
    pub use crate::message_reactions::Entity as MessageReactions;
    pub use crate::messages::Entity as Messages;
    pub use crate::notification_preferences::Entity as NotificationPreferences;
    pub use crate::notifications::Entity as Notifications;
    pub use crate::push_outbox::Entity as PushOutbox;
    pub use crate::push_subscriptions::Entity as PushSubscriptions;
    pub use crate::refresh_tokens::Entity as RefreshTokens;
    pub use crate::tenants::Entity as Tenants;
    pub use crate::users::Entity as Users;
}
