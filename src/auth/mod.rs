//! Credentials: JWT access tokens, argon2 password hashes, opaque random tokens.

pub mod jwt;
pub mod password;
pub mod tokens;

/// The token of an `Authorization: Bearer …` header, if any (REST and the
/// Socket.IO handshake read credentials the same way).
pub fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// A percent-decoded query-string parameter (`None` when absent).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_params_are_decoded() {
        let q = "EIO=4&transport=websocket&token=a%2Eb.c&userId=42&odd=%a\u{e9}1";
        assert_eq!(super::query_param(q, "token").as_deref(), Some("a.b.c"));
        assert_eq!(super::query_param(q, "userId").as_deref(), Some("42"));
        assert_eq!(super::query_param(q, "odd").as_deref(), Some("%a\u{e9}1"));
        assert_eq!(super::query_param(q, "nope"), None);
    }

    #[test]
    fn bearer_tokens() {
        let mut h = http::HeaderMap::new();
        assert_eq!(super::bearer_token(&h), None);
        h.insert("authorization", "bearer abc ".parse().unwrap());
        assert_eq!(super::bearer_token(&h), Some("abc"));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(super::bearer_token(&h), None);
    }
}
