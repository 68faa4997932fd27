//! Configuration defaults and the errors that name the variable.

use super::*;

fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn defaults_are_embedded() {
    let c = cfg(&[]).unwrap();
    assert_eq!(c.port, 3000);
    assert!(c.database_url.starts_with("sqlite://"));
    assert!(c.jwt_secret_generated);
    assert_eq!(c.socketio_transports, Transports::All);
}

#[test]
fn invalid_values_name_the_variable() {
    let e = cfg(&[("PORT", "eighty")]).unwrap_err();
    assert_eq!(e.var, "PORT");
    let e = cfg(&[("JWT_SECRET", "short")]).unwrap_err();
    assert_eq!(e.var, "JWT_SECRET");
    let e = cfg(&[("ACCESS_TOKEN_TTL", "0")]).unwrap_err();
    assert_eq!(e.var, "ACCESS_TOKEN_TTL");
    let e = cfg(&[("SOCKETIO_TRANSPORTS", "carrier-pigeon")]).unwrap_err();
    assert!(e.to_string().contains("SOCKETIO_TRANSPORTS"));
}

#[test]
fn the_engine_payload_limit_follows_the_event_limit_unless_set() {
    let c = cfg(&[]).unwrap();
    assert_eq!(c.socketio_engine_max_payload, 4 * 65_536);
    let c = cfg(&[("SOCKETIO_MAX_PAYLOAD", "1000")]).unwrap();
    assert_eq!(c.socketio_engine_max_payload, 16 * 1024, "at least 16 KiB");
    // The protocol test suite's setting (scripts/protocol-suite).
    let c = cfg(&[
        ("SOCKETIO_MAX_PAYLOAD", "1000000"),
        ("SOCKETIO_ENGINE_MAX_PAYLOAD", "1000000"),
    ])
    .unwrap();
    assert_eq!(c.socketio_engine_max_payload, 1_000_000);
    let e = cfg(&[
        ("SOCKETIO_MAX_PAYLOAD", "70000"),
        ("SOCKETIO_ENGINE_MAX_PAYLOAD", "65536"),
    ])
    .unwrap_err();
    assert_eq!(e.var, "SOCKETIO_ENGINE_MAX_PAYLOAD");
}

#[test]
fn the_admin_ui_needs_both_credentials_and_a_long_password() {
    assert!(cfg(&[]).unwrap().admin_ui.credentials.is_none());
    let on = cfg(&[
        ("ADMIN_UI_USERNAME", "ops"),
        ("ADMIN_UI_PASSWORD", "a long enough one"),
    ])
    .unwrap();
    assert_eq!(on.admin_ui.credentials.as_ref().unwrap().0, "ops");
    assert!(
        !format!("{:?}", on.admin_ui).contains("a long enough one"),
        "the password is not in Debug output"
    );
    let e = cfg(&[("ADMIN_UI_USERNAME", "ops")]).unwrap_err();
    assert_eq!(e.var, "ADMIN_UI_PASSWORD");
    let e = cfg(&[("ADMIN_UI_PASSWORD", "a long enough one")]).unwrap_err();
    assert_eq!(e.var, "ADMIN_UI_USERNAME");
    let e = cfg(&[("ADMIN_UI_USERNAME", "ops"), ("ADMIN_UI_PASSWORD", "short")]).unwrap_err();
    assert_eq!(e.var, "ADMIN_UI_PASSWORD");
}
