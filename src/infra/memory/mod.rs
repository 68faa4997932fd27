//! The in-process engine: state kept in this process's memory, for a single node.

pub mod admin_bus;
pub mod failures;
pub mod fanout;
pub mod presence;
pub mod rate_gate;
pub mod tickets;

pub use admin_bus::MemoryAdminBus;
pub use failures::MemoryFailures;
pub use fanout::MemoryFanout;
pub use presence::MemoryPresence;
pub use rate_gate::MemoryRateGate;
pub use tickets::MemoryTickets;
