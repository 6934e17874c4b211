//! The frame of every signed-in dashboard page (`templates/dashboard/layout.html`: the header
//! with the operator's address, the navigation, the sign-out form) and the dashboard's error
//! pages, which lead back to the dashboard.

use super::instances::InstanceBar;
use super::Operator;
use crate::browser::page::Link;
use crate::browser::PageError;
use crate::error::ApiError;
use axum::response::{IntoResponse, Response};

/// The dashboard's pages in the navigation, in order. A new page adds itself here (and to
/// `Nav::ALL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Home,
    Audit,
    Account,
}

impl Nav {
    pub const ALL: &'static [Nav] = &[Nav::Home, Nav::Audit, Nav::Account];

    pub fn href(self) -> &'static str {
        match self {
            Nav::Home => "/dashboard",
            Nav::Audit => "/dashboard/audit",
            Nav::Account => "/dashboard/account",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Nav::Home => "Applications",
            Nav::Audit => "Audit log",
            Nav::Account => "Your account",
        }
    }
}

/// What `dashboard/layout.html` shows around a page: every signed-in page's template struct has
/// a `layout` field of this type.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The signed-in operator's address.
    pub email: String,
    /// The session's CSRF token, for the sign-out form (and the page's own forms).
    pub csrf: String,
    /// The page shown, marked in the navigation.
    pub current: Nav,
    /// The instance switcher and, on an instance's pages, their tabs (`instances::InstanceBar`,
    /// set with [`Layout::with_instance_bar`]).
    pub instance: Option<InstanceBar>,
}

impl Layout {
    pub fn new(operator: &Operator, current: Nav) -> Self {
        Self {
            email: operator.me.operator.email.clone(),
            csrf: operator.csrf.clone(),
            current,
            instance: None,
        }
    }

    /// The layout with the instance switcher (`dashboard/instance_bar.html`) under its header.
    pub fn with_instance_bar(mut self, bar: InstanceBar) -> Self {
        self.instance = Some(bar);
        self
    }

    /// The navigation's entries: `(href, label, current)`.
    pub fn nav(&self) -> Vec<(&'static str, &'static str, bool)> {
        Nav::ALL
            .iter()
            .map(|n| (n.href(), n.label(), *n == self.current))
            .collect()
    }
}

/// Where the dashboard's error pages lead.
const DASHBOARD: Link = Link {
    href: "/dashboard",
    text: "Go to the dashboard",
};

/// An error of a dashboard handler, shown as a page that says what to do and links back to the
/// dashboard (the status and wording of the same error anywhere else in Orbit).
#[derive(Debug)]
pub struct DashboardError(pub PageError);

impl From<PageError> for DashboardError {
    fn from(e: PageError) -> Self {
        Self(e)
    }
}

impl From<ApiError> for DashboardError {
    fn from(e: ApiError) -> Self {
        Self(e.into())
    }
}

impl From<orbit_core::Error> for DashboardError {
    fn from(e: orbit_core::Error) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for DashboardError {
    fn into_response(self) -> Response {
        self.0.linking(DASHBOARD).into_response()
    }
}
