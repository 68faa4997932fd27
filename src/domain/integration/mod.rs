//! The host platform's side: service API keys (`api_keys.rs`) and what a host
//! backend does with one (`service.rs`: onboarding users by their external ids,
//! opening chats, sending notifications, ending a user's sessions).

pub mod api_keys;
pub mod service;
