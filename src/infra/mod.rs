//! Outbound adapters: the engines behind the domain's store traits and the fan-out
//! between nodes, one folder per engine (`memory` for one process, `redis` for many
//! nodes), and the push services (`push`: Web Push, Expo, SMTP). The domain sees only
//! the traits; `app` picks the engine from the config.

pub mod jwks;
pub mod media;
pub mod memory;
pub mod outbound;
pub mod push;
pub mod redis;
