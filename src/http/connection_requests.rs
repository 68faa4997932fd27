//! Requests that open a long-lived connection (a Socket.IO session, a WebSocket) get
//! their own copy of their URI and headers before a transport keeps them. hyper parses
//! both as slices of the connection's read buffer (8–16 KiB), so a kept header or URI
//! (or axum's `OriginalUri`, a clone of it, now dropped) kept that whole buffer alive for
//! as long as the connection lived.

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use bytes::BytesMut;

/// The request, with its URI and headers copied out of the read buffer when it opens a
/// long-lived connection; any other request is left as it is.
pub async fn own_bytes(request: Request) -> Request {
    let opens_connection = request.uri().path().starts_with("/socket.io")
        || request.headers().contains_key(axum::http::header::UPGRADE);
    if !opens_connection {
        return request;
    }
    let (mut parts, body) = request.into_parts();
    // Every value in one buffer of its own: one allocation for all of them.
    let mut values = BytesMut::with_capacity(parts.headers.values().map(|v| v.len()).sum());
    for value in parts.headers.values() {
        values.extend_from_slice(value.as_bytes());
    }
    let values = values.freeze();
    let mut headers = HeaderMap::with_capacity(parts.headers.len());
    let mut at = 0;
    for (name, value) in &parts.headers {
        let own = values.slice(at..at + value.len());
        at += value.len();
        let (Ok(name), Ok(mut copy)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_maybe_shared(own),
        ) else {
            continue;
        };
        copy.set_sensitive(value.is_sensitive());
        headers.append(name, copy);
    }
    parts.headers = headers;
    if let Ok(uri) = parts.uri.to_string().parse::<Uri>() {
        parts.uri = uri;
    }
    // Routing is done, and nothing of a connection reads the URI before nesting; the
    // transport keeps these parts for the connection's life.
    parts.extensions.remove::<OriginalUri>();
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
            .header("x-forwarded-for", "203.0.113.7")
            .header(axum::http::header::AUTHORIZATION, "Bearer t")
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
        assert_eq!(request.headers()["x-forwarded-for"], "203.0.113.7");
        assert_eq!(request.headers()["authorization"], "Bearer t");
        assert!(
            request.extensions().get::<OriginalUri>().is_none(),
            "OriginalUri (a second copy of the URI) dropped"
        );
    }
}
