//! What a host platform's backend does with an API key (Worknation's Chat REST, and
//! what a realtime engine's server API offers): onboard users by their external ids
//! (idempotent), list them, open chats between them, read a user's chats and a chat's
//! members. Users are named by Switchboard id or `ext:<external id>`. Telling users
//! things (notifications, events, ending sessions) is in `broadcasts.rs`.

use entity::enums::{ConversationKind, UserRole};
use entity::users;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Integration;
use super::api_keys::{Scope, ServiceActor};
use crate::domain::accounts::sessions::new_user;
use crate::domain::chat::conversation_admin::CreateConversation;
use crate::domain::views::{ChatView, ParticipantView, UserView};
use crate::domain::{Actor, limits, validate};
use crate::error::{AppError, AppResult};

/// Most users one list returns.
const USERS_MAX: u64 = 1000;

/// A host user to find or create: `external_id` is the host platform's id (a
/// number or a string).
#[derive(Debug, Deserialize, ToSchema)]
pub struct HostUserInput {
    #[serde(alias = "user_id", alias = "userId")]
    #[schema(value_type = String)]
    pub external_id: serde_json::Value,
    pub email: Option<String>,
    #[serde(alias = "name", alias = "displayName")]
    pub display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HostUser {
    pub user: UserView,
    /// Whether this call created the user.
    pub created: bool,
}

/// A chat opened by the host: members by Switchboard id or `ext:<external id>`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ServiceChatInput {
    #[schema(value_type = Vec<String>)]
    pub member_ids: Vec<serde_json::Value>,
    /// direct (two members, the default for two) | group (the default for more)
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(alias = "name")]
    pub title: Option<String>,
}

/// An external id as text: a JSON number or a non-empty string.
pub(super) fn external_text(field: &str, v: &serde_json::Value) -> AppResult<String> {
    let text = match v {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.trim().to_string(),
        _ => return Err(AppError::validation(field, "must be a number or a string")),
    };
    if text.is_empty()
        || text.chars().count() > limits::EXTERNAL_ID.max
        || text.chars().any(char::is_control)
    {
        return Err(AppError::validation(
            field,
            "must be 1–128 printable characters",
        ));
    }
    Ok(text)
}

fn actor_of(u: &users::Model) -> Actor {
    Actor {
        user_id: u.id,
        tenant_id: u.tenant_id,
        role: u.role,
    }
}

impl Integration {
    /// A user of the key's tenant named by Switchboard id or `ext:<external id>`
    /// (a bare number is an external id too); unknown → 404.
    pub(crate) async fn tenant_user(
        &self,
        tenant: Uuid,
        field: &str,
        v: &serde_json::Value,
    ) -> AppResult<users::Model> {
        let find = users::Entity::find().filter(users::Column::TenantId.eq(tenant));
        let found = match v {
            serde_json::Value::String(s) if s.starts_with("ext:") => {
                let ext = external_text(field, &serde_json::Value::String(s[4..].to_string()))?;
                find.filter(users::Column::ExternalId.eq(ext))
                    .one(&self.db)
                    .await?
            }
            serde_json::Value::String(s) => match Uuid::parse_str(s.trim()) {
                Ok(id) => find.filter(users::Column::Id.eq(id)).one(&self.db).await?,
                // Not a Switchboard id: the host's own id.
                Err(_) => {
                    let ext = external_text(field, v)?;
                    find.filter(users::Column::ExternalId.eq(ext))
                        .one(&self.db)
                        .await?
                }
            },
            serde_json::Value::Number(_) => {
                let ext = external_text(field, v)?;
                find.filter(users::Column::ExternalId.eq(ext))
                    .one(&self.db)
                    .await?
            }
            _ => {
                return Err(AppError::validation(
                    field,
                    "a user id or ext:<external id>",
                ));
            }
        };
        found.ok_or(AppError::NotFound("user"))
    }

    /// A user of the caller's organisation named by Switchboard id or by the host
    /// platform's id (a number, or `ext:<id>`), as Worknation's client names people.
    pub async fn user_by_ref(
        &self,
        actor: &Actor,
        field: &str,
        v: &serde_json::Value,
    ) -> AppResult<Uuid> {
        Ok(self.tenant_user(actor.tenant_id, field, v).await?.id)
    }

    /// Whether `claimed` names this user: their Switchboard id or their external id.
    pub async fn is_known_as(&self, actor: &Actor, claimed: &str) -> AppResult<bool> {
        if claimed == actor.user_id.to_string() {
            return Ok(true);
        }
        let u = self.accounts.user(actor.user_id).await?;
        Ok(u.external_id.as_deref() == Some(claimed.trim()))
    }

    /// Worknation's find-or-create (also its onboarding and initialize-user): the
    /// user with this external id, created (active, no password: they sign in
    /// through the host) when new. The same call again changes nothing.
    pub async fn find_or_create_host_user(
        &self,
        sa: &ServiceActor,
        input: HostUserInput,
    ) -> AppResult<HostUser> {
        sa.require(Scope::Users)?;
        let ext = external_text("external_id", &input.external_id)?;
        let display_name =
            validate::text("display_name", &input.display_name, limits::DISPLAY_NAME)?;
        let email = input.email.as_deref().map(validate::email).transpose()?;
        let (u, created) =
            host_user_by_external_id(&self.db, sa.tenant_id, &ext, &display_name, (email, false))
                .await?;
        Ok(HostUser {
            user: u.into(),
            created,
        })
    }

    /// Worknation's "initialized users": the tenant's users that have an external id.
    pub async fn host_users(&self, sa: &ServiceActor) -> AppResult<Vec<UserView>> {
        sa.require(Scope::Users)?;
        Ok(users::Entity::find()
            .filter(users::Column::TenantId.eq(sa.tenant_id))
            .filter(users::Column::ExternalId.is_not_null())
            .order_by_asc(users::Column::CreatedAt)
            .limit(USERS_MAX)
            .all(&self.db)
            .await?
            .into_iter()
            .map(UserView::from)
            .collect())
    }

    /// Opens a chat between members (the first one owns it); two members default to
    /// a direct chat (the existing one if there is one), more to a group.
    pub async fn service_create_chat(
        &self,
        sa: &ServiceActor,
        input: ServiceChatInput,
    ) -> AppResult<(ChatView, bool)> {
        sa.require(Scope::Chats)?;
        if input.member_ids.len() < 2 {
            return Err(AppError::validation(
                "member_ids",
                "name at least two members",
            ));
        }
        let mut members = Vec::new();
        for v in &input.member_ids {
            let u = self.tenant_user(sa.tenant_id, "member_ids", v).await?;
            if !u.is_active {
                return Err(AppError::validation(
                    "member_ids",
                    "every member must be active",
                ));
            }
            if !members.iter().any(|m: &users::Model| m.id == u.id) {
                members.push(u);
            }
        }
        let kind = match input.kind.as_deref() {
            None if members.len() == 2 => ConversationKind::Direct,
            None | Some("group") => ConversationKind::Group,
            Some("direct") => ConversationKind::Direct,
            Some("channel") => ConversationKind::Channel,
            Some(_) => {
                return Err(AppError::validation(
                    "type",
                    "must be direct, group or channel",
                ));
            }
        };
        let owner = actor_of(&members[0]);
        self.conversations
            .create_conversation(
                &owner,
                CreateConversation {
                    kind,
                    participant_ids: members[1..].iter().map(|m| m.id).collect(),
                    title: input.title,
                    description: None,
                },
            )
            .await
    }

    /// A user's chats, as that user sees them.
    pub async fn service_user_chats(
        &self,
        sa: &ServiceActor,
        user: &str,
    ) -> AppResult<Vec<ChatView>> {
        sa.require(Scope::Chats)?;
        let u = self
            .tenant_user(sa.tenant_id, "id", &serde_json::Value::String(user.into()))
            .await?;
        self.conversations.recent_chats(&actor_of(&u)).await
    }

    /// One chat of the tenant, as its first member sees it.
    pub async fn service_chat(&self, sa: &ServiceActor, id: Uuid) -> AppResult<ChatView> {
        sa.require(Scope::Chats)?;
        let member = self.chat_member_of_tenant(sa.tenant_id, id).await?;
        self.conversations.chat_view(&member, id).await
    }

    /// A chat's members.
    pub async fn service_chat_members(
        &self,
        sa: &ServiceActor,
        id: Uuid,
    ) -> AppResult<Vec<ParticipantView>> {
        Ok(self.service_chat(sa, id).await?.participants)
    }

    /// Some current member of a chat of this tenant, to see it through (404 when
    /// the chat is not the tenant's).
    pub(super) async fn chat_member_of_tenant(&self, tenant: Uuid, id: Uuid) -> AppResult<Actor> {
        let ids = self.access.participant_ids(id).await?;
        let Some(u) = users::Entity::find()
            .filter(users::Column::Id.is_in(ids))
            .filter(users::Column::TenantId.eq(tenant))
            .one(&self.db)
            .await?
        else {
            return Err(AppError::NotFound("conversation"));
        };
        Ok(actor_of(&u))
    }
}

/// The tenant's user with this external id, created (active member, no password:
/// they sign in through the host) when there is none; `created` says which. The
/// email is a stand-in no mail goes to when none is given, or when it is taken
/// and `email_may_fall_back` (else a taken email is 409); two calls at once end
/// with one user.
pub(crate) async fn host_user_by_external_id(
    db: &DatabaseConnection,
    tenant: Uuid,
    ext: &str,
    name: &str,
    (email, email_may_fall_back): (Option<String>, bool),
) -> AppResult<(users::Model, bool)> {
    let find = || {
        users::Entity::find()
            .filter(users::Column::TenantId.eq(tenant))
            .filter(users::Column::ExternalId.eq(ext))
    };
    if let Some(u) = find().one(db).await? {
        return Ok((u, false));
    }
    let stand_in = format!("ext-{}@{}.host.invalid", hex::encode(ext), tenant.simple());
    let addresses: Vec<String> = match email {
        Some(e) if !email_may_fall_back => vec![e],
        Some(e) => vec![e, stand_in],
        None => vec![stand_in],
    };
    let mut last = None;
    for address in addresses {
        let mut row = new_user(tenant, address, name.to_string(), UserRole::Member, None);
        row.external_id = Set(Some(ext.to_string()));
        match row.insert(db).await {
            Ok(u) => return Ok((u, true)),
            Err(e) => {
                // Another call created them meanwhile, or the email is taken.
                if let Some(u) = find().one(db).await? {
                    return Ok((u, false));
                }
                last = Some(e);
            }
        }
    }
    Err(crate::domain::accounts::sessions::unique_email(
        last.expect("at least one attempt"),
    ))
}
