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
