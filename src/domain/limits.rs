//! Every size bound the domain enforces, in one place: text lengths (in characters),
//! list sizes and page sizes. Transports never hold numbers of their own.

/// Allowed length of a text field, in characters after trimming.
#[derive(Debug, Clone, Copy)]
pub struct Len {
    pub min: usize,
    pub max: usize,
}

const fn len(min: usize, max: usize) -> Len {
    Len { min, max }
}

// Accounts.
pub const DISPLAY_NAME: Len = len(1, 100);
pub const TENANT_NAME: Len = len(1, 200);
// Conversations and messages.
pub const TITLE: Len = len(1, 200);
/// A host platform's issuer or audience.
pub const ISSUER: Len = len(1, 512);
/// A user's id on the host platform.
pub const EXTERNAL_ID: Len = len(1, 128);
pub const DESCRIPTION: Len = len(0, 2000);
pub const ANNOUNCEMENT_BODY: Len = len(1, 20_000);
pub const CLIENT_MSG_ID: Len = len(1, 128);
/// An uploaded file's name.
pub const FILE_NAME: Len = len(1, 255);
pub const EMOJI: Len = len(1, 16);
// Presence (000: device_id 8–128 characters, app_state at most 32).
pub const DEVICE_ID: Len = len(8, 128);
pub const APP_STATE: Len = len(0, 32);
// Search terms.
pub const LIST_SEARCH: Len = len(1, 100);
pub const MESSAGE_SEARCH: Len = len(1, 200);
pub const USER_AGENT: Len = len(0, 512);
/// Longest realtime channel name (`conversation:<uuid>` is 49).
pub const CHANNEL_NAME_BYTES: usize = 200;

/// A message's html may be this many times as long as its text limit (markup).
pub const HTML_FACTOR: usize = 4;

/// Most participants a conversation may have.
pub const MAX_PARTICIPANTS: usize = 500;
/// A host's published event data, serialised.
pub const MAX_PUBLISH_BYTES: usize = 64 * 1024;
/// One WebRTC signal (offer, answer, ICE candidate), serialised.
pub const MAX_SIGNAL_BYTES: usize = 16 * 1024;
/// People one meeting invites.
pub const MAX_INVITEES: usize = 200;
/// People one announcement names (`audience.type = users`).
pub const MAX_AUDIENCE_USERS: usize = 1000;
/// Most users added in one call.
pub const MAX_ADDED_AT_ONCE: usize = 100;
/// Most attachments, mentions and forward targets of one message.
pub const MAX_ATTACHMENTS: usize = 20;
pub const MAX_MENTIONS: usize = 50;
pub const MAX_FORWARD_TARGETS: usize = 20;
/// Most conversations in one sync, and users in one presence lookup.
pub const MAX_SYNC_CONVERSATIONS: usize = 100;
pub const MAX_PRESENCE_IDS: usize = 100;

/// Page sizes: `(default, max)`. Every list, whatever the transport that asks.
pub const PAGE: (u64, u64) = (50, 100);
pub const SEARCH_PAGE: (u64, u64) = (20, 100);
pub const SYNC_PAGE: (u64, u64) = (100, 500);
