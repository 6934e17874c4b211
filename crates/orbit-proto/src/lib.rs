//! Orbit's wire types, shared by the server and the SDK (docs/protocol.md).
//!
//! Nothing in here does I/O or cryptography; it only knows shapes and encodings.

pub mod claims;
pub mod error;
pub mod fapi;
pub mod frontend;
pub mod jwt;
pub mod keys;
pub mod resources;
pub mod wire;

#[cfg(test)]
mod test_support;

pub use claims::{HandshakeClaims, SessionClaims};
pub use error::{ErrorBody, ErrorItem};
pub use keys::{cookie_suffix, InstanceKind, PublishableKey};
