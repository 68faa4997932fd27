//! The host platform's side: service API keys (`api_keys.rs`), the messaging token
//! for host users (`host_auth.rs`), and what a host backend does with a key:
//! onboarding users and opening chats (`service.rs`); notifications, its own events
//! and ending sessions (`broadcasts.rs`).

pub mod api_keys;
pub mod broadcasts;
pub mod host_auth;
pub mod service;
