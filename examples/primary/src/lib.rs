//! The seed's primary app: a public home page with sign-in and sign-up links to Orbit's hosted
//! pages, and a protected `/profile` showing the user's name and email.

use axum::extract::{RawQuery, State};
use axum::response::{Html, Redirect};
use axum::routing::get;
use axum::Router;
use orbit_sdk::{Auth, Orbit, ProtectRejection};

pub fn app(orbit: Orbit) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/profile", get(profile))
        // The seed's CLERK_SIGN_IN_URL=/sign-in: this app's sign-in is Orbit's hosted page.
        .route("/sign-in", get(|s, q| hosted(s, q, "/sign-in")))
        .route("/sign-up", get(|s, q| hosted(s, q, "/sign-up")))
        .layer(orbit.layer())
        .with_state(orbit)
}

async fn hosted(State(orbit): State<Orbit>, RawQuery(query): RawQuery, path: &str) -> Redirect {
    let page = orbit.hosted_page(path);
    Redirect::temporary(&match query {
        Some(q) => format!("{page}?{q}"),
        None => page,
    })
}

async fn home(auth: Auth) -> Html<String> {
    let body = if auth.is_signed_in() {
        format!(
            r#"<p>You are signed in.</p><p><a id="profile" href="/profile">Your profile</a> · <a id="sign-out" href="{}">Sign out</a></p>"#,
            esc(auth.sign_out_url())
        )
    } else {
        format!(
            r#"<p>You are signed out.</p><p><a id="sign-in" href="{}">Sign in</a> · <a id="sign-up" href="{}">Sign up</a></p>"#,
            esc(auth.sign_in_url()),
            esc(auth.sign_up_url())
        )
    };
    page("Primary app", &body)
}

async fn profile(State(orbit): State<Orbit>, auth: Auth) -> Result<Html<String>, ProtectRejection> {
    let auth = auth.protect()?;
    let user_id = auth.user_id().unwrap_or_default();
    let body = match orbit.bapi().get_user(user_id).await {
        Ok(u) => {
            let name = [u.base.first_name, u.base.last_name]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let email = u
                .base
                .email_addresses
                .first()
                .map(|e| e.email_address.clone())
                .unwrap_or_default();
            format!(
                r#"<p>Name: <span id="name">{}</span></p><p>Email: <span id="email">{}</span></p><p><a href="/">Home</a> · <a id="sign-out" href="{}">Sign out</a></p>"#,
                esc(&name),
                esc(&email),
                esc(auth.sign_out_url())
            )
        }
        Err(e) => format!(
            "<p>Could not load your profile: {}</p>",
            esc(&e.to_string())
        ),
    };
    Ok(page("Your profile", &body))
}

pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}</title></head><body><h1>{0}</h1>{1}</body></html>", esc(title), body))
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
