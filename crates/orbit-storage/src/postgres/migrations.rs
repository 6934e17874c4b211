//! Schema migrations for the PostgreSQL adapter, applied in order at start-up under an advisory
//! lock. Version 1 is the schema SQLite's migrations 1-6 build, written whole; later versions
//! follow SQLite's changes one by one. Append only: never edit a migration that has shipped.

pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_schema.sql")),
    (2, include_str!("migrations/0002_lazy_clients.sql")),
    (3, include_str!("migrations/0003_shared_rate_limits.sql")),
    (4, include_str!("migrations/0004_sign_in_attempts.sql")),
    (5, include_str!("migrations/0005_dashboard.sql")),
    (6, include_str!("migrations/0006_banned_users.sql")),
];
