//! Outbound adapters: the engines behind the domain's store traits and the fan-out
//! between nodes, one folder per engine (`memory` for one process, `redis` for many
//! nodes). The domain sees only the traits; `app` picks the engine from the config.

pub mod memory;
pub mod redis;
