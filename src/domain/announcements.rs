//! Announcements: admins and HR address everyone, some roles, or some people, now or
//! at `publish_at` (the scheduler publishes it then). Publishing sends
//! `announcement_created` to the audience and makes their notifications; readers
//! list what was published to them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::enums::UserRole;
use entity::{announcements as ann, users};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::events::Payload;
use crate::domain::meetings::MeetingScope;
use crate::domain::notify::Notifications;
use crate::domain::notify::{Category, NewNotification};
use crate::domain::scheduler::{JobKind, Scheduler};
use crate::domain::{Actor, limits, now, validate};
use crate::error::{AppError, AppResult};
use crate::realtime::{Audience, Hub, RealtimeEvent};

/// The announcements service: holds the database, the publisher, notifications and
/// the scheduler (an announcement published later is a job).
#[derive(Clone)]
pub struct Announcements {
    db: DatabaseConnection,
    hub: Hub,
    notifications: Notifications,
    scheduler: Arc<Scheduler>,
}

impl Announcements {
    pub fn new(
        db: DatabaseConnection,
        hub: Hub,
        notifications: Notifications,
        scheduler: Arc<Scheduler>,
    ) -> Self {
        Self {
            db,
            hub,
            notifications,
            scheduler,
        }
    }
}

/// Most announcements one list returns.
const LIST_MAX: u64 = 100;
/// Rows read per page while matching audiences.
const PAGE_ROWS: u64 = 400;

/// Who an announcement is for.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AnnouncementAudience {
    /// all | roles | users
    #[serde(rename = "type")]
    pub kind: String,
    /// With `roles`: member | admin | hr | agent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// With `users`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_ids: Vec<Uuid>,
}

impl AnnouncementAudience {
    fn everyone() -> Self {
        Self {
            kind: "all".into(),
            roles: Vec::new(),
            user_ids: Vec::new(),
        }
    }

    fn includes(&self, user: Uuid, role: UserRole) -> bool {
        match self.kind.as_str() {
            "roles" => self.roles.iter().any(|r| *r == role.to_value()),
            "users" => self.user_ids.contains(&user),
            _ => true,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AnnouncementInput {
    pub title: String,
    #[serde(alias = "content", alias = "message")]
    pub body: String,
    /// Default: everyone in the organisation.
    pub audience: Option<AnnouncementAudience>,
    /// Publish later (ISO-8601 UTC); default now.
    pub publish_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnnouncementView {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub author_id: Uuid,
    pub audience: AnnouncementAudience,
    /// scheduled | published
    pub status: std::borrow::Cow<'static, str>,
    pub publish_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<ann::Model> for AnnouncementView {
    fn from(a: ann::Model) -> Self {
        Self {
            id: a.id,
            audience: a
                .audience
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_else(AnnouncementAudience::everyone),
            status: if a.published_at.is_some() {
                "published"
            } else {
                "scheduled"
            }
            .into(),
            title: a.title,
            body: a.body,
            author_id: a.author_id,
            publish_at: a.publish_at,
            published_at: a.published_at,
            created_at: a.created_at,
        }
    }
}

impl Announcements {
    /// Admins and HR announce; published now or armed for `publish_at`.
    pub async fn create_announcement(
        &self,
        actor: &Actor,
        input: AnnouncementInput,
    ) -> AppResult<AnnouncementView> {
        if !actor.sees_all_meetings() {
            return Err(AppError::Forbidden("only admins and HR announce".into()));
        }
        let title = validate::text("title", &input.title, limits::TITLE)?;
        let body = validate::text("body", &input.body, limits::ANNOUNCEMENT_BODY)?;
        let audience = input
            .audience
            .unwrap_or_else(AnnouncementAudience::everyone);
        match audience.kind.as_str() {
            "all" => {}
            "roles"
                if !audience.roles.is_empty()
                    && audience
                        .roles
                        .iter()
                        .all(|r| ["member", "admin", "hr", "agent"].contains(&r.as_str())) => {}
            "users"
                if !audience.user_ids.is_empty()
                    && audience.user_ids.len() <= limits::MAX_AUDIENCE_USERS => {}
            _ => {
                return Err(AppError::validation(
                    "audience",
                    "type is all, roles (with roles: member|admin|hr|agent) or users (with user_ids)",
                ));
            }
        }
        let later = input.publish_at.filter(|at| *at > now());
        let txn = crate::domain::begin_write(&self.db).await?;
        let a = ann::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(actor.tenant_id),
            author_id: Set(actor.user_id),
            title: Set(title),
            body: Set(body),
            created_at: Set(now()),
            audience: Set(Some(serde_json::to_value(&audience).expect("serialises"))),
            publish_at: Set(input.publish_at),
            published_at: Set(None),
        }
        .insert(&txn)
        .await?;
        if let Some(at) = later {
            self.scheduler
                .arm(&txn, JobKind::AnnouncementPublish, a.id, at)
                .await?;
        }
        txn.commit().await?;
        if later.is_none() {
            self.publish_announcement(a.id).await?;
        }
        let a = ann::Entity::find_by_id(a.id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("announcement"))?;
        Ok(a.into())
    }

    /// Marks it published (once) and tells its audience: `announcement_created` and a
    /// notification for each (the author gets the event, not a notification).
    pub(crate) async fn publish_announcement(&self, id: Uuid) -> AppResult<()> {
        let Some(a) = ann::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(());
        };
        if a.published_at.is_some() {
            return Ok(());
        }
        let mut am: ann::ActiveModel = a.clone().into();
        am.published_at = Set(Some(now()));
        let a = am.update(&self.db).await?;
        let view = AnnouncementView::from(a.clone());
        let people: Vec<(Uuid, UserRole)> = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .column(users::Column::Role)
            .filter(users::Column::TenantId.eq(a.tenant_id))
            .filter(users::Column::IsActive.eq(true))
            .into_tuple()
            .all(&self.db)
            .await?;
        let audience: Vec<Uuid> = people
            .into_iter()
            .filter(|(u, role)| view.audience.includes(*u, *role))
            .map(|(u, _)| u)
            .collect();
        self.hub
            .publish(
                RealtimeEvent::new(Payload::AnnouncementCreated(view.clone()))
                    .entity("announcement", id)
                    .actor(a.author_id),
                Audience::users(audience.iter().copied().chain([a.author_id])),
            )
            .await;
        let notes = audience
            .into_iter()
            .filter(|u| *u != a.author_id)
            .map(|u| NewNotification {
                user_id: u,
                category: Category::Announcement,
                title: a.title.clone(),
                body: Some(a.body.chars().take(280).collect()),
                data: serde_json::json!({"announcement_id": a.id}),
                conversation_id: None,
                urgent: false,
            })
            .collect();
        self.notifications.notify(a.tenant_id, notes).await
    }

    /// What was published to the caller, newest first; `scope=all` (admin/HR) also
    /// lists every announcement of the organisation, scheduled ones included.
    pub async fn list_announcements(
        &self,
        actor: &Actor,
        q: MeetingScope,
    ) -> AppResult<Vec<AnnouncementView>> {
        let all = crate::domain::meetings::Meetings::all_scope(actor, &q)?;
        // Readers: published ones, newest publication first; `all`: everything, newest
        // first. The audience is JSON, so it is matched here, page by page, until the
        // list is full or the rows run out.
        let mut out = Vec::new();
        let mut page = 0;
        loop {
            let mut find = ann::Entity::find().filter(ann::Column::TenantId.eq(actor.tenant_id));
            find = if all {
                find.order_by_desc(ann::Column::CreatedAt)
            } else {
                find.filter(ann::Column::PublishedAt.is_not_null())
                    .order_by_desc(ann::Column::PublishedAt)
            };
            let rows = find
                .order_by_desc(ann::Column::Id)
                .offset(page * PAGE_ROWS)
                .limit(PAGE_ROWS)
                .all(&self.db)
                .await?;
            let last = (rows.len() as u64) < PAGE_ROWS;
            out.extend(rows.into_iter().map(AnnouncementView::from).filter(|v| {
                all || v.author_id == actor.user_id
                    || v.audience.includes(actor.user_id, actor.role)
            }));
            if last || out.len() >= LIST_MAX as usize {
                break;
            }
            page += 1;
        }
        out.truncate(LIST_MAX as usize);
        Ok(out)
    }
}
