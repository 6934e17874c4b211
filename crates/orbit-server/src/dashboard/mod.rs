//! The operator dashboard under `/dashboard` (docs/design/dashboard.md): server-rendered pages
//! for the deployment's operators, who are not end users of any instance. A surface beside
//! `fapi/`, `portal/` and `bapi/`, on the browser layer (`crate::browser`: cookies, pages,
//! CSRF checks) and never on the other surfaces.
//!
//! Where a new page plugs in:
//! - a route in [`routes`] (every route goes through [`site`]'s host rule);
//! - a handler taking [`Operator`] (the signed-in operator; a browser without an operator
//!   session is sent to sign in) and returning `Result<Response, DashboardError>`;
//! - a template extending `dashboard/layout.html`, its struct holding a [`Layout`] (header,
//!   navigation, sign-out), with an entry in [`Nav`];
//! - every form carries `operator.csrf` as `csrf_token`, checked with [`csrf::require`];
//! - every change goes through the core operation the CLI and BAPI use, then
//!   `Orbit::record_audit(&operator.me.actor(), AuditAction::..., target, instance, detail)`.

mod account;
mod audit;
mod credentials;
pub mod csrf;
mod home;
mod instances;
mod layout;
mod operator;
mod pagination;
mod sessions;
mod setup;
mod sign_in;
mod site;
mod users;

pub use layout::{DashboardError, Layout, Nav};
pub use operator::Operator;
pub use site::{Placement, Site};

use crate::AppState;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

/// The dashboard's routes, for the main listener (`Placement::PublicHost`: only on the host of
/// `public_url`) or for `dashboard_listen` (`Placement::OwnListener`: any host).
pub fn routes(state: AppState, placement: Placement) -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(home::page))
        .route(
            "/dashboard/sign-in",
            get(sign_in::page).post(credentials::submit::<sign_in::SignInPage>),
        )
        .route("/dashboard/sign-out", post(sign_in::sign_out))
        .route(
            "/dashboard/setup",
            get(setup::page).post(credentials::submit::<setup::SetupPage>),
        )
        .route("/dashboard/account", get(account::page))
        .route(
            "/dashboard/account/sessions/{id}/revoke",
            post(account::revoke),
        )
        // An instance's users and sessions, and the audit log (users.rs, sessions.rs, audit.rs).
        .route(
            "/dashboard/instances/{id}/users",
            get(users::list).post(users::create),
        )
        .route("/dashboard/instances/{id}/users/new", get(users::new_form))
        .route(
            "/dashboard/instances/{id}/users/{user_id}",
            get(users::view),
        )
        .route(
            "/dashboard/instances/{id}/users/{user_id}/ban",
            post(users::ban),
        )
        .route(
            "/dashboard/instances/{id}/users/{user_id}/unban",
            post(users::unban),
        )
        .route(
            "/dashboard/instances/{id}/users/{user_id}/delete",
            get(users::confirm_delete).post(users::delete),
        )
        .route(
            "/dashboard/instances/{id}/users/{user_id}/sessions/{session_id}/revoke",
            post(sessions::revoke_users),
        )
        .route("/dashboard/instances/{id}/sessions", get(sessions::list))
        .route(
            "/dashboard/instances/{id}/sessions/{session_id}/revoke",
            post(sessions::revoke),
        )
        .route("/dashboard/audit", get(audit::page))
        // ---- the instance pages: keys, domains, redirect origins, production (instances/) ----
        .merge(instances::routes())
        // ---- end of the instance pages ----
        .layer(from_fn_with_state((state, placement), site::guard))
}

/// A form whose only field is its CSRF token (sign-out, a session's revocation).
#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf_token: Option<String>,
}
