//! The browser layer shared by the Frontend API (`fapi/`), the hosted pages (`portal/`) and the
//! dashboard (`dashboard/`): which FAPI host a request reached (`host`), the browser's client
//! (`client`), every cookie Orbit sets (`cookies`), redirects (`redirect`), HTML pages and
//! their errors (`page`), and the checks every form's CSRF protection shares (`csrf`).
//! `fapi/`, `portal/` and `dashboard/` build on this and never on each other.

pub mod client;
pub mod cookies;
pub mod csrf;
pub mod host;
pub mod page;
pub mod redirect;

pub use client::BrowserClient;
pub use host::Fapi;
pub use page::PageError;
