//! The REST transport: axum routers per resource (thin: parse, call the domain,
//! render), the OpenAPI document, and the shared middleware stack.

pub mod announcements;
pub mod api_keys;
pub mod auth;
pub mod calls;
pub mod chat;
pub mod connection_requests;
pub mod error;
pub mod extract;
pub mod health;
pub mod host_auth;
pub mod media_files;
pub mod meetings;
pub mod messages;
pub mod metrics;
pub mod notifications;
pub mod presence;
pub mod rate_limit;
pub mod service;
pub mod users;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_scalar::{Scalar, Servable};

pub(crate) use crate::app::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard", description = "Realtime chat and notification server: REST surface."),
    modifiers(&BearerAuth),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    tags((name = "auth"), (name = "users"), (name = "messages"), (name = "chat"), (name = "presence"), (name = "notifications"), (name = "meetings"), (name = "calls"), (name = "announcements"), (name = "api-keys"), (name = "service"), (name = "host"), (name = "health"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        let jwt = || {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            )
        };
        components.add_security_scheme("bearer", jwt());
        // A host platform's own JWT, exchanged at `messaging/token`.
        components.add_security_scheme("host_jwt", jwt());
        // A host backend's service API key (also accepted as a Bearer token).
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
    }
}

/// The seed documents' own paths for operations served once under `/api/v1`: each
/// alias prefix, the prefix whose routes it serves, and whose clients call it. The one
/// table of aliases: mounted from here, and listed in the OpenAPI document
/// (`x-aliases`, and a table in its description).
pub const ALIASES: &[(&str, &str, &str)] = &[
    (
        "/auth",
        "/api/v1/auth",
        "003 (chat app): its auth calls on the base URL",
    ),
    (
        "/v1/chat",
        "/api/v1/chat",
        "003 (chat app): the chat API on the base URL",
    ),
    (
        "/v1/messaging",
        "/api/v1/messaging",
        "003 (chat app): the messaging token",
    ),
];

/// The routes a prefix of [`ALIASES`] serves.
fn aliased(prefix: &str) -> OpenApiRouter<AppState> {
    match prefix {
        "/api/v1/auth" => auth::router(),
        "/api/v1/chat" => chat::router(),
        "/api/v1/messaging" => host_auth::messaging(),
        other => unreachable!("ALIASES names {other}, which no router serves"),
    }
}

/// The REST routes and their OpenAPI document, generated from the same declarations.
///
/// Each operation is listed once, under `/api/v1`; the seed documents' own paths for
/// the same operations are [`ALIASES`], mounted here and listed in the document.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (mut router, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .nest("/api/v1/auth", aliased("/api/v1/auth"))
        .nest("/api/v1/users", users::router())
        .nest("/api/v1/messages", messages::router())
        .nest("/api/v1/chat", aliased("/api/v1/chat"))
        .nest("/api/v1/presence", presence::router())
        .nest("/api/v1/notifications", notifications::router())
        .nest("/api/v1/meetings", meetings::router())
        .nest("/api/v1/announcements", announcements::router())
        .nest("/api/v1/calls", calls::router())
        .nest("/api/v1/api-keys", api_keys::router())
        .nest("/api/v1/service", service::router())
        .nest("/api/v1/host-auth", host_auth::binding())
        .nest("/api/v1/messaging", aliased("/api/v1/messaging"))
        .split_for_parts();
    error::document_errors(&mut api);
    for (alias, serves, _) in ALIASES {
        router = router.nest(alias, Router::from(aliased(serves)));
    }
    document_aliases(&mut api);
    (router, api)
}

/// Lists [`ALIASES`] in the document: `x-aliases` for tools, a table for readers.
fn document_aliases(api: &mut utoipa::openapi::OpenApi) {
    let list: Vec<serde_json::Value> = ALIASES
        .iter()
        .map(|(alias, serves, who)| serde_json::json!({"prefix": alias, "serves": serves, "for": who}))
        .collect();
    let mut extensions = api.extensions.take().unwrap_or_default();
    extensions.merge(
        utoipa::openapi::extensions::ExtensionsBuilder::new()
            .add("x-aliases", serde_json::Value::Array(list))
            .build(),
    );
    api.extensions = Some(extensions);
    let mut table = String::from(
        "\n\nThe same operations under the seed documents' own paths:\n\n| path | serves | for |\n|---|---|---|\n",
    );
    for (alias, serves, who) in ALIASES {
        table.push_str(&format!("| `{alias}/…` | `{serves}/…` | {who} |\n"));
    }
    api.info.description = Some(api.info.description.take().unwrap_or_default() + &table);
}

/// The page `/api/docs` serves: the OpenAPI document embedded as JSON (`$spec`),
/// rendered in the browser by Scalar's API reference; the raw document is linked for
/// readers without JavaScript or without access to the CDN.
const REFERENCE_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<title>Switchboard API reference</title>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
</head>
<body>
<noscript>The reference needs JavaScript; the document itself is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</noscript>
<script id="api-reference" type="application/json">
$spec
</script>
<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference@1"></script>
</body>
</html>
"#;

/// The full HTTP app: routes (plus `upgrades`, the WebSocket endpoints),
/// `/api/v1/openapi.json` and its rendering at `/api/docs`, JSON fallbacks, body limit, request ids and tracing.
pub fn app(state: AppState, upgrades: Router<AppState>) -> Router {
    let (router, api) = routes();
    // The API reference, rendered from the same document (`/api/docs`).
    let reference =
        Router::from(Scalar::with_url("/api/docs", api.clone()).custom_html(REFERENCE_PAGE));
    let api = Arc::new(api);
    // `/metrics` here unless it has a listener of its own (METRICS_ADDR).
    let router = if state.config.metrics_addr.is_none() {
        router.route("/metrics", get(metrics::exposition))
    } else {
        router
    };
    let request_id = HeaderName::from_static("x-request-id");
    let state_origins = state.config.cors_allowed_origins.clone();
    router
        .merge(upgrades)
        .merge(reference)
        .merge(media_files::router())
        .merge(web::router(state.config.admin_ui.credentials.is_some()))
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let api = api.clone();
                async move { axum::Json(api.as_ref().clone()) }
            }),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit,
        ))
        .route_layer(axum::middleware::from_fn(metrics::track))
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::wrong_method)
        .layer(axum::extract::DefaultBodyLimit::max(state.config.max_body_bytes))
        .with_state(state)
        .layer(CatchPanicLayer::custom(|_| {
            IntoResponse::into_response(crate::error::AppError::internal("handler panicked"))
        }))
        .layer(cors(&state_origins))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("http", method = %req.method(), uri = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Browsers may call the API from the configured origins (any, by default).
fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods(Any)
        .allow_headers(Any)
        .expose_headers([HeaderName::from_static("x-request-id")])
        .max_age(std::time::Duration::from_secs(600));
    if origins.iter().any(|o| o == "*") {
        layer.allow_origin(Any)
    } else {
        layer.allow_origin(AllowOrigin::list(
            origins.iter().filter_map(|o| o.parse::<HeaderValue>().ok()),
        ))
    }
}
