//! Storage adapters implementing orbit-core's store traits.
//!
//! Each adapter owns its SQL and its migrations; nothing outside an adapter may assume which
//! database is underneath.

pub mod sqlite;

#[cfg(test)]
mod contract;

pub use sqlite::SqliteStore;
