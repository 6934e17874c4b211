//! Orbit's wire types, shared by the server and the SDK (PROTOCOL.md).
//!
//! Nothing in here does I/O or cryptography; it only knows shapes and encodings.

pub mod claims;
pub mod error;
pub mod jwt;
pub mod keys;
pub mod resources;
pub mod wire;

pub use claims::SessionClaims;
pub use error::{ErrorBody, ErrorItem};
pub use keys::{cookie_suffix, InstanceKind, PublishableKey};
