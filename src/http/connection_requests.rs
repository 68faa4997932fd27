//! Requests that open a long-lived connection (a Socket.IO session, a WebSocket) get
//! their own copy of their URI and headers before a transport keeps them. hyper parses
//! both as slices of the connection's read buffer (8–16 KiB), so a kept header or URI
//! (or axum's `OriginalUri`, a clone of it) kept that whole buffer alive for as long as
//! the connection lived.

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};

/// The request, with its URI and headers copied out of the read buffer when it opens a
/// long-lived connection; any other request is left as it is.
pub async fn own_bytes(request: Request) -> Request {
    let opens_connection = request.uri().path().starts_with("/socket.io")
        || request.headers().contains_key(axum::http::header::UPGRADE);
    if !opens_connection {
        return request;
    }
    let (mut parts, body) = request.into_parts();
    let mut headers = HeaderMap::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    parts.headers = headers;
    if let Ok(uri) = parts.uri.to_string().parse::<Uri>() {
        parts.uri = uri;
    }
    if let Some(OriginalUri(original)) = parts.extensions.get_mut::<OriginalUri>()
        && let Ok(uri) = original.to_string().parse::<Uri>()
    {
        *original = uri;
    }
    Request::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, Bytes};

    /// Whether `bytes` lie inside `buffer` (are a slice of it, keeping it alive).
    fn inside(buffer: &Bytes, bytes: &[u8]) -> bool {
        let range = buffer.as_ptr_range();
        range.contains(&bytes.as_ptr())
    }

    #[tokio::test]
    async fn a_connection_request_keeps_nothing_of_the_read_buffer() {
        // As hyper hands them over: URI, headers and axum's OriginalUri all slices of
        // one read buffer.
        let buffer = Bytes::from_static(b"/socket.io/?EIO=4&transport=websocketwebsocket");
        let uri = Uri::from_maybe_shared(buffer.slice(0..37)).unwrap();
        let upgrade = HeaderValue::from_maybe_shared(buffer.slice(37..)).unwrap();
        let mut request = Request::builder()
            .uri(uri.clone())
            .header(axum::http::header::UPGRADE, upgrade)
            .body(Body::empty())
            .unwrap();
        request.extensions_mut().insert(OriginalUri(uri));
        assert!(inside(&buffer, request.headers()["upgrade"].as_bytes()));

        let request = own_bytes(request).await;
        let uri = request.uri().path_and_query().unwrap().as_str();
        assert_eq!(uri, "/socket.io/?EIO=4&transport=websocket");
        assert!(!inside(&buffer, uri.as_bytes()), "URI copied");
        let upgrade = &request.headers()["upgrade"];
        assert_eq!(upgrade, "websocket");
        assert!(!inside(&buffer, upgrade.as_bytes()), "headers copied");
        let OriginalUri(original) = request.extensions().get::<OriginalUri>().unwrap();
        let original = original.path_and_query().unwrap().as_str();
        assert_eq!(original, uri);
        assert!(!inside(&buffer, original.as_bytes()), "OriginalUri copied");
    }
}
