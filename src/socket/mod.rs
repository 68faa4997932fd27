//! The Socket.IO v4 transport (namespace `/`, the Worknation chat dialect plus channel
//! commands): handshake auth, per-socket ordered event handling, and the renderer
//! that turns this node's events into Socket.IO emits (events reach other nodes
//! through the fan-out, so the in-process adapter serves every deployment).

mod connect;
mod error;
mod handlers;
mod overflow;
mod render;
mod resume;
mod worker;

use crate::app::Background;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::handler::ConnectHandler;
use socketioxide_core::adapter::DefinedAdapter;

pub use overflow::Overflow;
pub use render::SocketIoRenderer;

use crate::domain::Services;
use crate::domain::access::subscriptions::Channel;

/// Per-socket limits taken from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct SocketLimits {
    /// Largest accepted event payload (serialised JSON bytes).
    pub max_payload: usize,
    /// Events waiting per socket before new ones are refused with `rate_limited`.
    pub queue_depth: usize,
    /// Events a socket may send per second (`RATE_LIMIT_EVENTS_PER_SECOND`).
    pub events_per_second: u32,
}

/// Registers namespace `/` with its auth middleware and handlers. With the Redis
/// adapter the returned value is a future that must be awaited.
pub fn register<A: Adapter + DefinedAdapter>(
    io: &SocketIo<A>,
    domain: Services,
    limits: SocketLimits,
    proxies: crate::config::RateLimitConfig,
    background: &Background,
    overflow: Overflow,
    admin: Option<crate::admin::Admin>,
) -> A::InitRes {
    let background = background.clone();
    worker::close_all_on_shutdown(domain.clone(), &background);
    let connect_overflow = overflow.clone();
    let connect_domain = domain.clone();
    let connect_admin = admin.clone();
    // Everything a socket needs (rooms, event queue, handlers) is set up in the
    // middleware, i.e. before the client is told it is connected: socketioxide sends
    // the connect packet and only then runs the connect handler, so an event sent
    // right after `connect` could otherwise find no handler and be dropped.
    let auth = move |s: socketioxide::extract::SocketRef<A>,
                     socketioxide::extract::TryData(auth): socketioxide::extract::TryData<
        serde_json::Value,
    >| {
        let (domain, background, overflow) = (domain.clone(), background.clone(), overflow.clone());
        let proxies = proxies.clone();
        let admin = admin.clone();
        async move {
            if background.drain.is_cancelled() {
                return Err(connect::ConnectRejection::Draining);
            }
            let auth = auth.ok();
            let actor = connect::authenticate(&s, auth.as_ref(), &domain, &proxies).await?;
            let start = resume::begin(&s, auth.as_ref(), domain.event_log());
            let user = actor.user_id;
            if let Some(admin) = &admin {
                admin.authenticated(&s, user, actor.tenant_id);
            }
            handlers::setup(
                s.clone(),
                actor,
                domain.clone(),
                limits,
                &background,
                overflow,
                admin,
            );
            resume::prepare(&s, user, start, domain.event_log()).await;
            Ok::<(), connect::ConnectRejection>(())
        }
    };
    let on_connect = move |s: socketioxide::extract::SocketRef<A>| {
        if let Some(admin) = &connect_admin {
            admin.connected(&s);
        }
        let domain = connect_domain.clone();
        let admitted = {
            let s = s.clone();
            async move { connect::admitted(&s, &domain).await }
        };
        resume::open(
            s,
            connect_overflow.clone(),
            connect_domain.event_log().clone(),
            admitted,
        );
        std::future::ready(())
    };
    io.ns("/", on_connect.with(auth))
}

/// The room every device of a user joins.
pub fn user_room(user: uuid::Uuid) -> String {
    Channel::User(user).room()
}

/// The room of a conversation's channel subscribers.
pub fn conversation_room(id: uuid::Uuid) -> String {
    Channel::Conversation(id).room()
}
