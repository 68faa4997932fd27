//! Credentials: JWT access tokens, argon2 password hashes, opaque random tokens.

pub mod jwt;
pub mod password;
pub mod tokens;
