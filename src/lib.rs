//! Switchboard: a realtime chat and notification server (Socket.IO v4, raw
//! WebSocket and REST over one event pipeline). See ARCHITECTURE.md for the map.

pub(crate) mod admin;
pub mod app;
pub(crate) mod auth;
pub mod config;
pub mod connection;
pub(crate) mod db;
pub(crate) mod domain;
pub(crate) mod error;
pub(crate) mod http;
pub(crate) mod infra;
pub mod outbound;
pub(crate) mod realtime;
pub(crate) mod socket;
pub mod telemetry;
pub(crate) mod ws;

/// A fresh VAPID key pair `(public, private)`, base64url (`switchboard vapid-keys`).
pub fn vapid_keys() -> (String, String) {
    infra::push::vapid::VapidKeys::generate()
}
