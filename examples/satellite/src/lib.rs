//! The seed's satellite app, configured like the seed's satellite `.env`, with the seed's
//! middleware rule: the home page is public, everything else requires a signed-in user.

use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use orbit_sdk::{Auth, Orbit, RouteMatcher};

pub fn app(orbit: Orbit) -> Router {
    // const isPublicRoute = createRouteMatcher(['/'])
    let public = RouteMatcher::new(["/"]);
    Router::new()
        .route("/", get(home))
        .route("/profile", get(profile))
        .layer(orbit.layer().protect_all_except(public))
        .with_state(orbit)
}

async fn home(auth: Auth) -> Html<String> {
    let body = if auth.is_signed_in() {
        format!(
            r#"<p>You are signed in.</p><p><a id="profile" href="/profile">Your profile</a> · <a id="sign-out" href="{}">Sign out</a></p>"#,
            esc(auth.sign_out_url())
        )
    } else {
        format!(
            r#"<p>You are signed out.</p><p><a id="sign-in" href="{}">Sign in on the primary</a> · <a id="profile" href="/profile">Your profile</a></p>"#,
            esc(auth.sign_in_url())
        )
    };
    page("Satellite app", &body)
}

/// Protected by the layer: only signed-in users get here.
async fn profile(State(orbit): State<Orbit>, auth: Auth) -> Html<String> {
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
    page("Your profile (satellite)", &body)
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}</title></head><body><h1>{0}</h1>{1}</body></html>", esc(title), body))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
