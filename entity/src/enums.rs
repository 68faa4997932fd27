//! String-backed enums shared by several entities.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(
                #[sea_orm(string_value = $value)]
                $variant,
            )+
        }
    };
}

string_enum!(
    /// A user's role in their tenant.
    UserRole { Member = "member", Admin = "admin", Hr = "hr", Agent = "agent" }
);

string_enum!(
    /// What a conversation is for.
    ConversationKind {
        Direct = "direct",
        Group = "group",
        Channel = "channel",
        TaskThread = "task_thread",
        ProjectThread = "project_thread",
        MeetingThread = "meeting_thread",
        SupportThread = "support_thread",
        EodThread = "eod_thread",
        ApprovalThread = "approval_thread",
    }
);

string_enum!(
    /// A participant's role in a conversation.
    ParticipantRole { Owner = "owner", Admin = "admin", Member = "member" }
);

string_enum!(
    /// Upload state of a media object.
    MediaStatus { Pending = "pending", Confirmed = "confirmed" }
);

string_enum!(
    /// A meeting participant's answer.
    RsvpStatus { Pending = "pending", Accepted = "accepted", Declined = "declined", Tentative = "tentative" }
);

string_enum!(
    /// Audio or video call.
    CallKind { Audio = "audio", Video = "video" }
);

string_enum!(
    /// Where a call is in its life.
    CallStatus { Ringing = "ringing", Active = "active", Ended = "ended", Missed = "missed", Declined = "declined" }
);
