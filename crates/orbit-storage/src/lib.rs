//! Storage adapters implementing orbit-core's store traits.
//!
//! Each adapter owns its connection set-up and its migrations; the queries behind the store
//! traits are written once, in `sql/`, and compiled into each adapter. Nothing outside this
//! crate may assume which database is underneath: the server opens a store from a
//! [`DatabaseUrl`].

pub mod postgres;
pub mod sqlite;

#[cfg(test)]
mod contract;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;
