//! The browser layer shared by the Frontend API (`fapi/`) and the hosted pages (`portal/`):
//! which FAPI host a request reached (`host`), the browser's client (`client`), every cookie
//! Orbit sets (`cookies`), redirects (`redirect`) and HTML pages and their errors (`page`).
//! `fapi/` and `portal/` build on this and never on each other.

pub mod client;
pub mod cookies;
pub mod host;
pub mod page;
pub mod redirect;

pub use client::BrowserClient;
pub use host::Fapi;
pub use page::PageError;
