//! Test and load tooling for Switchboard, kept out of the server crate: [`client`] is a
//! lean Socket.IO v4 client (integration tests and the load tool); `src/bin/bench.rs`
//! is the load tool and `src/bin/ceiling.rs` the bare broadcast server it is compared
//! with; [`push_sink`] is the push service `bench outbox` counts deliveries at.

pub mod client;
pub mod push_sink;
