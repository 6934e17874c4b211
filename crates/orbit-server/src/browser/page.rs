//! HTML pages: rendering with Orbit's security headers, and [`PageError`], what every
//! browser-facing handler returns when it cannot go on.

use crate::error::{request_id, ApiError};
use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    request_id: String,
    link: Link,
}

/// Where an error page sends a person on: a page that works whatever went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub href: &'static str,
    pub text: &'static str,
}

impl Link {
    /// The hosted sign-in page, where the portal's and the Frontend API's pages lead.
    pub const SIGN_IN: Link = Link {
        href: "/sign-in",
        text: "Go to sign-in",
    };
}

/// Renders `t` with `status`, no caching, no framing, a strict CSP, and `set_cookies`.
pub fn render<T: Template>(status: StatusCode, t: &T, set_cookies: Vec<HeaderValue>) -> Response {
    match t.render() {
        Ok(html) => {
            let mut resp = (status, Html(html)).into_response();
            let h = resp.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert("x-frame-options", HeaderValue::from_static("DENY"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                // No `form-action`: browsers apply it to the redirect after a form post too, and
                // ours go on to the app's origin (validated by the redirect policy).
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"),
            );
            for c in set_cookies {
                h.append(header::SET_COOKIE, c);
            }
            resp
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// An error shown to a person as a page: a status, a title and a sentence saying what to do.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    pub retry_after: Option<u64>,
    /// Where the page links to (`Link::SIGN_IN` unless a surface says otherwise).
    pub link: Link,
}

impl PageError {
    pub fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            title: title.into(),
            message: message.into(),
            retry_after: None,
            link: Link::SIGN_IN,
        }
    }

    /// The same error, its page linking to `link`.
    pub fn linking(mut self, link: Link) -> Self {
        self.link = link;
        self
    }

    pub fn bad_request(title: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, title, message)
    }

    /// A form whose CSRF check failed.
    pub fn form_expired() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "The form was sent from another site or is too old. Go back, reload the page and try again.",
        )
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        Self {
            status: e.status,
            title: e.message,
            message: e.long_message,
            retry_after: e.retry_after,
            link: Link::SIGN_IN,
        }
    }
}

impl From<orbit_core::Error> for PageError {
    fn from(e: orbit_core::Error) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let resp = render(
            self.status,
            &ErrorPage {
                title: &self.title,
                message: &self.message,
                request_id: request_id(),
                link: self.link,
            },
            Vec::new(),
        );
        match self.retry_after {
            Some(secs) => with_retry_after(resp, secs),
            None => resp,
        }
    }
}

/// `resp` with `Retry-After: secs` (a limit's answer: 429, or 503 when shed).
pub fn with_retry_after(mut resp: Response, secs: u64) -> Response {
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}

/// A signed-in device as `templates/fields/sessions.html` lists it (the profile page, the
/// dashboard's account page).
pub struct DeviceRow {
    pub id: String,
    /// `user_agent::summary` of its user agent.
    pub device: String,
    pub created: String,
    pub last_active: String,
    /// The device this page was asked from.
    pub current: bool,
}

impl DeviceRow {
    pub fn new(
        id: String,
        device: String,
        created_at: orbit_core::Millis,
        last_active_at: orbit_core::Millis,
        current: bool,
    ) -> Self {
        Self {
            id,
            device,
            created: orbit_core::clock::format_utc(created_at),
            last_active: orbit_core::clock::format_utc(last_active_at),
            current,
        }
    }
}

/// What a form of an email address and a password says when one is left empty:
/// `(email_error, password_error)`; `password_missing` asks for the current or a new one.
pub fn blank_credentials(
    email: &str,
    password: &str,
    password_missing: &str,
) -> (Option<String>, Option<String>) {
    (
        email
            .trim()
            .is_empty()
            .then(|| "Enter your email address.".to_owned()),
        password.is_empty().then(|| password_missing.to_owned()),
    )
}

/// `s` as a sentence: capital first letter, one final period.
pub fn sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => format!("{}{}.", f.to_uppercase(), c.as_str().trim_end_matches('.')),
        None => String::new(),
    }
}
