//! Accounts: tenants and users, sessions (signup, login, rotating refresh tokens,
//! profile, password), tenant administration of users, turning a token into the
//! acting user, and single-use tickets for the plain WebSocket.

pub mod login_guard;
pub mod sessions;
pub mod users;
pub mod ws_tickets;
