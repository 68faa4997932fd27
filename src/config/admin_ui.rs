//! Socket.IO Admin UI configuration: the operator's credentials (both set: the `/admin`
//! namespace and the UI at `/admin/ui/` are on; neither: off; one alone is an error).

use super::ConfigError;

#[derive(Clone)]
pub struct AdminUiConfig {
    /// `ADMIN_UI_USERNAME` and `ADMIN_UI_PASSWORD`. The password is hashed when the server
    /// starts (`admin::Admin::start`) and this copy is dropped with the configuration.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for AdminUiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminUiConfig")
            .field("username", &self.credentials.as_ref().map(|(user, _)| user))
            .finish_non_exhaustive()
    }
}

impl AdminUiConfig {
    pub(super) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let username = get("ADMIN_UI_USERNAME").filter(|v| !v.is_empty());
        let password = get("ADMIN_UI_PASSWORD").filter(|v| !v.is_empty());
        let credentials = match (username, password) {
            (Some(user), Some(password)) => {
                if password.chars().count() < 12 {
                    return Err(ConfigError {
                        var: "ADMIN_UI_PASSWORD",
                        reason: "must be at least 12 characters".into(),
                    });
                }
                Some((user, password))
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError {
                    var: "ADMIN_UI_PASSWORD",
                    reason: "is required when ADMIN_UI_USERNAME is set".into(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError {
                    var: "ADMIN_UI_USERNAME",
                    reason: "is required when ADMIN_UI_PASSWORD is set".into(),
                });
            }
        };
        Ok(Self { credentials })
    }
}
