//! Integration tests: each boots the real server on 127.0.0.1:0 with a fresh data directory
//! and talks HTTP to it (one test binary for the crate, to save link time).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dns_server;
mod harness;
mod smtp_server;
mod world;

mod domain;

mod account_limits;
mod accounts;
mod architecture;
mod assets;
mod bapi;
mod browser;
mod browser_seed;
mod chromium;
mod cli;
mod cluster;
mod compat_node;
mod cookies;
mod dashboard_auth;
mod dashboard_browser;
mod dashboard_instances;
mod dashboard_users;
mod dns_recheck;
mod fapi;
mod fapi_clerkjs;
mod fapi_sessions;
mod fapi_sign_in;
mod fapi_sign_up;
mod fapi_sync;
mod migrate;
mod nextjs;
mod nodes;
mod portal;
mod postgres;
mod proxies_and_headers;
mod query_params;
mod remix;
mod satellite;
mod sdk;
mod storage;
