//! The account portal: hosted sign-in, sign-up, profile and sign-out pages on the primary's FAPI
//! host. Server-rendered HTML that works without JavaScript; every form is CSRF-protected and
//! every redirect passes the instance's redirect policy (PROTOCOL.md "Redirect validation").

mod csrf;

use crate::error::{request_id, ApiError};
use crate::extract::{ClientIp, Fapi, FormBody};
use crate::fapi::{client_cookie, client_uat_cookies, current_client, with_dev_browser};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use orbit_core::model::{Client, Session, SessionStatus, User};
use orbit_core::redirect::RedirectTarget;
use orbit_core::{Error, NewUser};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-up", get(sign_up_page).post(sign_up))
        .route("/user", get(user_page))
        .route("/user/profile", post(update_profile))
        .route("/user/password", post(change_password))
        .route("/user/sessions/{id}/revoke", post(revoke_session))
        .route("/sign-out", get(sign_out_page).post(sign_out))
}

const APP_NAME: &str = "your application";

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    app_name: &'static str,
    csrf: String,
    redirect_url: String,
    email: String,
    form_error: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
    other_href: String,
}

#[derive(Template)]
#[template(path = "sign_up.html")]
struct SignUpPage {
    app_name: &'static str,
    csrf: String,
    redirect_url: String,
    first_name: String,
    last_name: String,
    email: String,
    form_error: Option<String>,
    name_error: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
    other_href: String,
}

struct SessionRow {
    id: String,
    device: String,
    created: String,
    last_active: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    csrf: String,
    email: String,
    first_name: String,
    last_name: String,
    notice: Option<String>,
    profile_error: Option<String>,
    current_password_error: Option<String>,
    new_password_error: Option<String>,
    sessions: Vec<SessionRow>,
}

#[derive(Template)]
#[template(path = "sign_out.html")]
struct SignOutPage {
    app_name: &'static str,
    csrf: String,
    redirect_url: String,
    signed_in: bool,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: String,
    message: String,
    request_id: String,
}

/// Renders a page with a status and, when the browser had no CSRF token yet, its cookie.
fn page<T: Template>(status: StatusCode, t: T, set_csrf: Option<HeaderValue>) -> Response {
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
            if let Some(c) = set_csrf {
                h.append(header::SET_COOKIE, c);
            }
            resp
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

pub(crate) fn error_page(status: StatusCode, title: &str, message: String) -> Response {
    page(
        status,
        ErrorPage {
            title: title.into(),
            message,
            request_id: request_id(),
        },
        None,
    )
}

/// A domain or API error as an HTML page.
pub(crate) fn fail(e: impl Into<ApiError>) -> Response {
    let e: ApiError = e.into();
    let mut resp = error_page(e.status, &e.message, e.long_message);
    if let Some(secs) = e
        .retry_after
        .and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, secs);
    }
    resp
}

fn csrf_failure() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was sent from another site or is too old. Go back, reload the page and try again.".into(),
    )
}

/// See-other redirect to a validated target; the Location is the re-serialised URL.
fn see_other(target: &RedirectTarget) -> Response {
    Redirect::to(target.as_str()).into_response()
}

/// `redirect_url` if the instance's policy allows it, else `fallback` on the portal itself.
async fn redirect_target(
    state: &AppState,
    fapi: &Fapi,
    raw: Option<&str>,
    fallback: &str,
) -> Result<RedirectTarget, ApiError> {
    let base = url::Url::parse(&fapi.origin).map_err(ApiError::internal)?;
    let fallback = base.join(fallback).map_err(ApiError::internal)?;
    let policy = state.orbit.redirect_policy(&fapi.ctx.instance).await?;
    let raw = raw.filter(|r| !r.is_empty());
    if let Some(r) = raw {
        if let Err(e) = policy.check(r, Some(&base)) {
            tracing::info!(reason = %e, "redirect_url rejected; using the default");
        }
    }
    Ok(policy.check_or(raw, Some(&base), RedirectTarget::from_trusted(fallback)))
}

fn with_redirect(path: &str, redirect_url: &str) -> String {
    if redirect_url.is_empty() {
        path.to_owned()
    } else {
        format!(
            "{path}?{}",
            serde_urlencoded::to_string([("redirect_url", redirect_url)]).unwrap_or_default()
        )
    }
}

/// The signed-in state of this browser on the portal: its client and current session's user.
struct SignedIn {
    session: Session,
    user: User,
}

async fn signed_in(
    state: &AppState,
    fapi: &Fapi,
    headers: &HeaderMap,
) -> Result<(Option<Client>, Option<SignedIn>), ApiError> {
    let Some(client) = current_client(state, fapi, headers).await? else {
        return Ok((None, None));
    };
    let sessions = state
        .orbit
        .active_sessions(&fapi.ctx.instance, &client.id)
        .await?;
    let Some(session) = sessions.into_iter().next() else {
        return Ok((Some(client), None));
    };
    let user = state
        .orbit
        .user(&fapi.ctx.instance.id, &session.user_id)
        .await?;
    Ok((Some(client), Some(SignedIn { session, user })))
}

#[derive(Debug, Deserialize)]
struct RedirectQuery {
    redirect_url: Option<String>,
}

/// Sign-in, sign-up and the profile live on the primary (PROTOCOL.md "Satellite sync": users
/// sign in on the primary). On a satellite's FAPI host these pages send the browser there.
async fn on_primary(state: &AppState, fapi: &Fapi, uri: &axum::http::Uri) -> Option<Response> {
    if !fapi.ctx.domain.is_satellite || fapi.ctx.domain.fapi_host.is_none() {
        return None;
    }
    let primary = match state.orbit.primary_domain(&fapi.ctx.instance.id).await {
        Ok(p) => p,
        Err(e) => return Some(fail(e)),
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    Some(
        Redirect::to(&format!(
            "{}{path}",
            orbit_core::Orbit::fapi_url(&fapi.ctx.instance, &primary)
        ))
        .into_response(),
    )
}

async fn root(
    State(state): State<AppState>,
    fapi: Fapi,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = on_primary(&state, &fapi, &uri).await {
        return r;
    }
    match signed_in(&state, &fapi, &headers).await {
        Ok((_, Some(_))) => Redirect::to("/user").into_response(),
        Ok(_) => Redirect::to("/sign-in").into_response(),
        Err(e) => fail(e),
    }
}

// ---- sign-in ------------------------------------------------------------------------------

async fn sign_in_page(
    State(state): State<AppState>,
    fapi: Fapi,
    uri: axum::http::Uri,
    headers: HeaderMap,
    Query(q): Query<RedirectQuery>,
) -> Response {
    if let Some(r) = on_primary(&state, &fapi, &uri).await {
        return r;
    }
    let redirect_url = q.redirect_url.unwrap_or_default();
    match signed_in(&state, &fapi, &headers).await {
        Ok((_, Some(_))) => {
            return signed_in_redirect(&state, &fapi, &headers, &redirect_url).await
        }
        Ok(_) => {}
        Err(e) => return fail(e),
    }
    let (csrf, set) = csrf::token(&headers, &fapi, state.orbit.random().as_ref());
    let other_href = with_redirect("/sign-up", &redirect_url);
    page(
        StatusCode::OK,
        SignInPage {
            app_name: APP_NAME,
            csrf,
            redirect_url,
            email: String::new(),
            form_error: None,
            email_error: None,
            password_error: None,
            other_href,
        },
        set,
    )
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    csrf_token: Option<String>,
    redirect_url: Option<String>,
    email_address: Option<String>,
    password: Option<String>,
}

async fn sign_in(
    State(state): State<AppState>,
    fapi: Fapi,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    FormBody(form): FormBody<SignInForm>,
) -> Response {
    if !csrf::verify(&headers, &fapi, form.csrf_token.as_deref()) {
        return csrf_failure();
    }
    let redirect_url = form.redirect_url.clone().unwrap_or_default();
    let email = form.email_address.clone().unwrap_or_default();
    let password = form.password.clone().unwrap_or_default();
    let (csrf, _) = csrf::token(&headers, &fapi, state.orbit.random().as_ref());
    let mut view = SignInPage {
        app_name: APP_NAME,
        csrf,
        redirect_url: redirect_url.clone(),
        email: email.trim().to_owned(),
        form_error: None,
        email_error: None,
        password_error: None,
        other_href: with_redirect("/sign-up", &redirect_url),
    };
    if email.trim().is_empty() {
        view.email_error = Some("Enter your email address.".into());
    }
    if password.is_empty() {
        view.password_error = Some("Enter your password.".into());
    }
    if view.email_error.is_some() || view.password_error.is_some() {
        return page(StatusCode::UNPROCESSABLE_ENTITY, view, None);
    }
    let instance = &fapi.ctx.instance;
    let user = match state
        .orbit
        .sign_in(instance, &ip.to_string(), &email, &password)
        .await
    {
        Ok(u) => u,
        Err(Error::InvalidCredentials) => {
            view.form_error = Some("The email address or password is incorrect.".into());
            return page(StatusCode::UNPROCESSABLE_ENTITY, view, None);
        }
        Err(Error::TooManyAttempts { retry_after_secs }) => {
            view.form_error = Some(format!(
                "Too many sign-in attempts. Wait {retry_after_secs} seconds, then try again."
            ));
            let mut resp = page(StatusCode::TOO_MANY_REQUESTS, view, None);
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return resp;
        }
        Err(e) => return fail(e),
    };
    finish_sign_in(&state, &fapi, &headers, &user, Some(&redirect_url)).await
}

/// Starts the session on this browser's client, rotates `__client`, and redirects.
async fn finish_sign_in(
    state: &AppState,
    fapi: &Fapi,
    headers: &HeaderMap,
    user: &User,
    redirect_url: Option<&str>,
) -> Response {
    let result = async {
        let client = current_client(state, fapi, headers).await?;
        let ua = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let start = state
            .orbit
            .start_session(&fapi.ctx.instance, client, user, &fapi.host(), ua)
            .await?;
        let target = redirect_target(state, fapi, redirect_url, "/user").await?;
        let target = RedirectTarget::from_trusted(
            with_dev_browser(state, fapi, &start.client, target.url().clone()).await?,
        );
        Ok::<_, ApiError>((start, target))
    }
    .await;
    match result {
        Ok((start, target)) => {
            let mut resp = see_other(&target);
            resp.headers_mut().append(
                header::SET_COOKIE,
                client_cookie(&start.client_token, fapi.secure),
            );
            for c in client_uat_cookies(state, fapi, start.client.updated_at.div_euclid(1000)).await
            {
                resp.headers_mut().append(header::SET_COOKIE, c);
            }
            resp
        }
        Err(e) => fail(e),
    }
}

/// Where an already signed-in browser goes from the sign-in or sign-up page.
async fn signed_in_redirect(
    state: &AppState,
    fapi: &Fapi,
    headers: &HeaderMap,
    redirect_url: &str,
) -> Response {
    let result = async {
        let target = redirect_target(state, fapi, Some(redirect_url), "/user").await?;
        match current_client(state, fapi, headers).await? {
            Some(client) => Ok::<_, ApiError>(RedirectTarget::from_trusted(
                with_dev_browser(state, fapi, &client, target.url().clone()).await?,
            )),
            None => Ok(target),
        }
    }
    .await;
    match result {
        Ok(t) => see_other(&t),
        Err(e) => fail(e),
    }
}

// ---- sign-up ------------------------------------------------------------------------------

async fn sign_up_page(
    State(state): State<AppState>,
    fapi: Fapi,
    uri: axum::http::Uri,
    headers: HeaderMap,
    Query(q): Query<RedirectQuery>,
) -> Response {
    if let Some(r) = on_primary(&state, &fapi, &uri).await {
        return r;
    }
    let redirect_url = q.redirect_url.unwrap_or_default();
    if let Ok((_, Some(_))) = signed_in(&state, &fapi, &headers).await {
        return signed_in_redirect(&state, &fapi, &headers, &redirect_url).await;
    }
    let (csrf, set) = csrf::token(&headers, &fapi, state.orbit.random().as_ref());
    let other_href = with_redirect("/sign-in", &redirect_url);
    page(
        StatusCode::OK,
        SignUpPage {
            app_name: APP_NAME,
            csrf,
            redirect_url,
            first_name: String::new(),
            last_name: String::new(),
            email: String::new(),
            form_error: None,
            name_error: None,
            email_error: None,
            password_error: None,
            other_href,
        },
        set,
    )
}

#[derive(Debug, Deserialize)]
struct SignUpForm {
    csrf_token: Option<String>,
    redirect_url: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email_address: Option<String>,
    password: Option<String>,
}

async fn sign_up(
    State(state): State<AppState>,
    fapi: Fapi,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    FormBody(form): FormBody<SignUpForm>,
) -> Response {
    if !csrf::verify(&headers, &fapi, form.csrf_token.as_deref()) {
        return csrf_failure();
    }
    if let Err(e) = state
        .orbit
        .check_sign_up_rate(&fapi.ctx.instance, &ip.to_string())
    {
        return fail(e);
    }
    let redirect_url = form.redirect_url.clone().unwrap_or_default();
    let (csrf, _) = csrf::token(&headers, &fapi, state.orbit.random().as_ref());
    let mut view = SignUpPage {
        app_name: APP_NAME,
        csrf,
        redirect_url: redirect_url.clone(),
        first_name: form.first_name.clone().unwrap_or_default(),
        last_name: form.last_name.clone().unwrap_or_default(),
        email: form
            .email_address
            .clone()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        form_error: None,
        name_error: None,
        email_error: None,
        password_error: None,
        other_href: with_redirect("/sign-in", &redirect_url),
    };
    let password = form.password.unwrap_or_default();
    if password.is_empty() {
        view.password_error = Some("Enter a password.".into());
        return page(StatusCode::UNPROCESSABLE_ENTITY, view, None);
    }
    let new = NewUser {
        email: form.email_address.unwrap_or_default(),
        password: Some(password),
        first_name: form.first_name,
        last_name: form.last_name,
    };
    match state.orbit.create_user(&fapi.ctx.instance, new).await {
        Ok(user) => finish_sign_in(&state, &fapi, &headers, &user, Some(&redirect_url)).await,
        Err(Error::Email(e)) => {
            view.email_error = Some(sentence(&e.to_string()));
            page(StatusCode::UNPROCESSABLE_ENTITY, view, None)
        }
        Err(Error::EmailTaken) => {
            view.email_error = Some(
                "That email address is taken. Sign in instead, or use another address.".into(),
            );
            page(StatusCode::UNPROCESSABLE_ENTITY, view, None)
        }
        Err(Error::Password(p)) => {
            view.password_error = Some(p.to_string());
            page(StatusCode::UNPROCESSABLE_ENTITY, view, None)
        }
        Err(Error::Invalid { field, reason }) => {
            view.name_error = Some(format!("{}: {reason}.", field.replace('_', " ")));
            page(StatusCode::UNPROCESSABLE_ENTITY, view, None)
        }
        Err(e) => fail(e),
    }
}

/// `s` as a sentence: capital first letter, one final period.
pub(crate) fn sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => format!("{}{}.", f.to_uppercase(), c.as_str().trim_end_matches('.')),
        None => String::new(),
    }
}

// ---- profile ------------------------------------------------------------------------------

fn format_time(ms: i64) -> String {
    // RFC 3339 in UTC, to the minute; the page has no JavaScript to localise it.
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn device_name(ua: Option<&str>) -> String {
    let Some(ua) = ua else {
        return "Unknown device".into();
    };
    let browser = ["Edg/", "Firefox/", "Chrome/", "Safari/"]
        .iter()
        .find(|b| ua.contains(*b))
        .map(|b| match *b {
            "Edg/" => "Edge",
            "Firefox/" => "Firefox",
            "Chrome/" => "Chrome",
            _ => "Safari",
        })
        .unwrap_or("Browser");
    let os = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, v)| *v);
    match os {
        Some(os) => format!("{browser} on {os}"),
        None => browser.to_owned(),
    }
}

#[derive(Default)]
struct UserMessages {
    notice: Option<String>,
    profile_error: Option<String>,
    current_password_error: Option<String>,
    new_password_error: Option<String>,
}

async fn render_user(
    state: &AppState,
    fapi: &Fapi,
    headers: &HeaderMap,
    me: &SignedIn,
    status: StatusCode,
    msgs: UserMessages,
) -> Response {
    let (csrf, set) = csrf::token(headers, fapi, state.orbit.random().as_ref());
    let sessions = match state
        .orbit
        .user_sessions(&fapi.ctx.instance, &me.user.id)
        .await
    {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let rows = sessions
        .into_iter()
        .filter(|s| s.status == SessionStatus::Active)
        .map(|s| SessionRow {
            current: s.id == me.session.id,
            device: device_name(s.user_agent.as_deref()),
            created: format_time(s.created_at),
            last_active: format_time(s.last_active_at),
            id: s.id,
        })
        .collect();
    page(
        status,
        UserPage {
            csrf,
            email: me.user.email.clone(),
            first_name: me.user.first_name.clone().unwrap_or_default(),
            last_name: me.user.last_name.clone().unwrap_or_default(),
            notice: msgs.notice,
            profile_error: msgs.profile_error,
            current_password_error: msgs.current_password_error,
            new_password_error: msgs.new_password_error,
            sessions: rows,
        },
        set,
    )
}

/// The signed-in user, or a redirect to sign-in that comes back here.
async fn require_user(
    state: &AppState,
    fapi: &Fapi,
    headers: &HeaderMap,
) -> Result<SignedIn, Response> {
    match signed_in(state, fapi, headers).await {
        Ok((_, Some(me))) => Ok(me),
        Ok(_) => Err(
            Redirect::to(&with_redirect("/sign-in", &format!("{}/user", fapi.origin)))
                .into_response(),
        ),
        Err(e) => Err(fail(e)),
    }
}

/// A profile form's sender: the form must carry our CSRF token and come from a signed-in browser.
async fn form_user(
    state: &AppState,
    fapi: &Fapi,
    headers: &HeaderMap,
    csrf_token: Option<&str>,
) -> Result<SignedIn, Response> {
    if !csrf::verify(headers, fapi, csrf_token) {
        return Err(csrf_failure());
    }
    require_user(state, fapi, headers).await
}

#[derive(Debug, Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn user_page(
    State(state): State<AppState>,
    fapi: Fapi,
    uri: axum::http::Uri,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Response {
    if let Some(r) = on_primary(&state, &fapi, &uri).await {
        return r;
    }
    let me = match require_user(&state, &fapi, &headers).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    // Only known notices are shown, so the query cannot inject text into the page.
    let notice = match q.notice.as_deref() {
        Some("password") => Some("Your password was changed.".to_owned()),
        Some("profile") => Some("Your profile was saved.".to_owned()),
        Some("session") => Some("That device was signed out.".to_owned()),
        _ => None,
    };
    render_user(
        &state,
        &fapi,
        &headers,
        &me,
        StatusCode::OK,
        UserMessages {
            notice,
            ..Default::default()
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
struct ProfileForm {
    csrf_token: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

async fn update_profile(
    State(state): State<AppState>,
    fapi: Fapi,
    headers: HeaderMap,
    FormBody(form): FormBody<ProfileForm>,
) -> Response {
    let mut me = match form_user(&state, &fapi, &headers, form.csrf_token.as_deref()).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    match state
        .orbit
        .update_profile(
            &fapi.ctx.instance,
            &me.user.id,
            form.first_name,
            form.last_name,
        )
        .await
    {
        Ok(_) => Redirect::to("/user?notice=profile").into_response(),
        Err(Error::Invalid { field, reason }) => {
            me.user.first_name = None;
            let msgs = UserMessages {
                profile_error: Some(format!("{}: {reason}.", field.replace('_', " "))),
                ..Default::default()
            };
            render_user(
                &state,
                &fapi,
                &headers,
                &me,
                StatusCode::UNPROCESSABLE_ENTITY,
                msgs,
            )
            .await
        }
        Err(e) => fail(e),
    }
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    csrf_token: Option<String>,
    current_password: Option<String>,
    new_password: Option<String>,
}

async fn change_password(
    State(state): State<AppState>,
    fapi: Fapi,
    headers: HeaderMap,
    FormBody(form): FormBody<PasswordForm>,
) -> Response {
    let me = match form_user(&state, &fapi, &headers, form.csrf_token.as_deref()).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let current = form.current_password.unwrap_or_default();
    let new = form.new_password.unwrap_or_default();
    let mut msgs = UserMessages::default();
    if current.is_empty() {
        msgs.current_password_error = Some("Enter your current password.".into());
    }
    if new.is_empty() {
        msgs.new_password_error = Some("Enter a new password.".into());
    }
    if msgs.current_password_error.is_none() && msgs.new_password_error.is_none() {
        match state
            .orbit
            .change_password(&fapi.ctx.instance, &me.user.id, &current, &new)
            .await
        {
            Ok(()) => return Redirect::to("/user?notice=password").into_response(),
            Err(Error::CurrentPasswordIncorrect) => {
                msgs.current_password_error = Some("The current password is incorrect.".into())
            }
            Err(Error::Password(p)) => msgs.new_password_error = Some(p.to_string()),
            Err(e) => return fail(e),
        }
    }
    render_user(
        &state,
        &fapi,
        &headers,
        &me,
        StatusCode::UNPROCESSABLE_ENTITY,
        msgs,
    )
    .await
}

#[derive(Debug, Deserialize)]
struct CsrfOnly {
    csrf_token: Option<String>,
}

/// "Sign out of this device": ends one of the user's own sessions.
async fn revoke_session(
    State(state): State<AppState>,
    fapi: Fapi,
    headers: HeaderMap,
    Path(id): Path<String>,
    FormBody(form): FormBody<CsrfOnly>,
) -> Response {
    let me = match form_user(&state, &fapi, &headers, form.csrf_token.as_deref()).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let owned = match state.orbit.session(&fapi.ctx.instance, &id).await {
        Ok(s) => s.user_id == me.user.id && s.status == SessionStatus::Active,
        Err(Error::NotFound { .. }) => false,
        Err(e) => return fail(e),
    };
    if !owned {
        return error_page(
            StatusCode::NOT_FOUND,
            "Session not found",
            "You have no active session with this id.".into(),
        );
    }
    if let Err(e) = state
        .orbit
        .end_session(&fapi.ctx.instance, &id, SessionStatus::Removed)
        .await
    {
        return fail(e);
    }
    if id == me.session.id {
        let mut resp = Redirect::to("/sign-in").into_response();
        for c in client_uat_cookies(&state, &fapi, 0).await {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
        return resp;
    }
    Redirect::to("/user?notice=session").into_response()
}

// ---- sign-out -----------------------------------------------------------------------------

async fn sign_out_page(
    State(state): State<AppState>,
    fapi: Fapi,
    headers: HeaderMap,
    Query(q): Query<RedirectQuery>,
) -> Response {
    let signed_in = matches!(signed_in(&state, &fapi, &headers).await, Ok((_, Some(_))));
    let (csrf, set) = csrf::token(&headers, &fapi, state.orbit.random().as_ref());
    page(
        StatusCode::OK,
        SignOutPage {
            app_name: APP_NAME,
            csrf,
            redirect_url: q.redirect_url.unwrap_or_default(),
            signed_in,
        },
        set,
    )
}

#[derive(Debug, Deserialize)]
struct SignOutForm {
    csrf_token: Option<String>,
    redirect_url: Option<String>,
}

/// Ends every session of this browser's client.
async fn sign_out(
    State(state): State<AppState>,
    fapi: Fapi,
    headers: HeaderMap,
    FormBody(form): FormBody<SignOutForm>,
) -> Response {
    if !csrf::verify(&headers, &fapi, form.csrf_token.as_deref()) {
        return csrf_failure();
    }
    let result = async {
        let client = current_client(&state, &fapi, &headers).await?;
        if let Some(client) = &client {
            state
                .orbit
                .sign_out_client(&fapi.ctx.instance, &client.id)
                .await?;
        }
        let target =
            redirect_target(&state, &fapi, form.redirect_url.as_deref(), "/sign-in").await?;
        // Development: the app learns of the sign-out through its development browser token.
        let target = match &client {
            Some(c) => RedirectTarget::from_trusted(
                with_dev_browser(&state, &fapi, c, target.url().clone()).await?,
            ),
            None => target,
        };
        // Production satellite: pass by the primary's Frontend API so that it resets the
        // primary's `__client_uat` too, and the primary app signs out at its next request.
        if fapi.ctx.domain.is_satellite && fapi.ctx.domain.fapi_host.is_some() {
            let primary = state.orbit.primary_domain(&fapi.ctx.instance.id).await?;
            let mut via = url::Url::parse(&format!(
                "{}/v1/client/signed_out",
                orbit_core::Orbit::fapi_url(&fapi.ctx.instance, &primary)
            ))
            .map_err(ApiError::internal)?;
            via.query_pairs_mut()
                .append_pair("redirect_url", target.as_str());
            return Ok::<_, ApiError>(RedirectTarget::from_trusted(via));
        }
        Ok(target)
    }
    .await;
    match result {
        Ok(t) => {
            let mut resp = see_other(&t);
            for c in client_uat_cookies(&state, &fapi, 0).await {
                resp.headers_mut().append(header::SET_COOKIE, c);
            }
            resp
        }
        Err(e) => fail(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_devices() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_764_200_000_000), "2025-11-26 23:33 UTC");
        assert_eq!(
            device_name(Some(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"
            )),
            "Chrome on Linux"
        );
        assert_eq!(device_name(None), "Unknown device");
    }
}
