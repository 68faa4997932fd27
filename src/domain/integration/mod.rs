//! The host platform's side: service API keys (`api_keys.rs`), the messaging token
//! for host users (`host_auth.rs`), and what a host backend does with a key (`service.rs`: onboarding users by their external ids,
//! opening chats, sending notifications, ending a user's sessions).

pub mod api_keys;
pub mod host_auth;
pub mod service;
