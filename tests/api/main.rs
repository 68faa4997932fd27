//! The integration tests, in one binary: each test starts the real server on port 0
//! with a fresh database (`common::TestServer`) and talks to it over the wire.

mod admin_ui;
mod architecture;
mod auth;
mod calls;
mod cluster;
mod common;
mod compat_000_hr;
mod compat_001_004_ws;
mod compat_003_chat;
mod correctness;
mod db_outage;
mod drain;
mod exhaustion;
mod host_platform;
mod hostile;
mod isolation;
mod media;
mod meetings;
mod messaging;
mod metrics;
mod notifications;
mod openapi;
mod outbound;
mod push_delivery;
mod push_ownership;
mod rate_limits;
mod removed_member;
mod resume;
mod revocation;
mod service;
mod slow_clients;
mod socket;
mod ws;
mod ws_limits;
