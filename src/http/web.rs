//! The web pages Switchboard serves itself, from files under `web/` (read from disk in
//! debug builds, embedded in release builds): the demo app at `/` (assets under
//! `/demo/`) and, when admin credentials are configured, the Socket.IO Admin UI's
//! vendored static build at `/admin/ui/` (`scripts/vendor-web` says where each came from).

use crate::app::AppState;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

#[derive(rust_embed::Embed)]
#[folder = "web/demo/"]
struct Demo;

#[derive(rust_embed::Embed)]
#[folder = "web/admin-ui/"]
struct AdminUi;

/// `/` and `/demo/…`; with `admin_ui` also `/admin/ui/…`.
pub fn router(admin_ui: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/", get(|| async { file::<Demo>("index.html", NO_CACHE) }))
        .route(
            "/demo/{*file}",
            get(|Path(path): Path<String>| async move { file::<Demo>(&path, NO_CACHE) }),
        );
    if !admin_ui {
        return router;
    }
    router
        .route(
            "/admin/ui",
            get(|| async { Redirect::permanent("/admin/ui/") }),
        )
        .route(
            "/admin/ui/",
            get(|| async { file::<AdminUi>("index.html", NO_CACHE) }),
        )
        .route(
            "/admin/ui/{*file}",
            get(|Path(path): Path<String>| async move { file::<AdminUi>(&path, HASHED) }),
        )
}

/// The demo's files have fixed names (an edit must show at once), and so do pages.
const NO_CACHE: &str = "no-cache";
/// The Admin UI's build names its assets by content hash.
const HASHED: &str = "public, max-age=86400";

/// One file with its content type; `cache` for everything but HTML, which is always
/// revalidated.
fn file<E: rust_embed::Embed>(path: &str, cache: &'static str) -> Response {
    let Some(found) = E::get(path) else {
        return crate::error::AppError::NotFound("file").into_response();
    };
    let mime = found.metadata.mimetype();
    let cache = if mime.starts_with("text/html") {
        NO_CACHE
    } else {
        cache
    };
    let mut response = (StatusCode::OK, found.data.into_owned()).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
