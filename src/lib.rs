//! Switchboard: a realtime chat and notification server (Socket.IO v4, raw
//! WebSocket and REST over one event pipeline). See ARCHITECTURE.md for the map.

pub mod app;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod infra;
pub mod realtime;
pub mod socket;
pub mod telemetry;
pub mod ws;
