//! `/dashboard/instances/{id}/users...`: an instance's users. Search by email, create (under the
//! password policy), view (the address and its verification, names, activity, live sessions),
//! ban and unban, delete behind a confirmation page. Each change is the core operation BAPI
//! and `orbit user create` use (`Orbit::create_user`, `ban_user`, `unban_user`,
//! `delete_user`), then an audit entry. A user of another instance is a 404 here.

use super::pagination::{list_href, PageNumber, Pager};
use super::{csrf, CsrfForm, DashboardError, Layout, Nav, Operator};
use crate::browser::page::{render, sentence, DeviceRow};
use crate::extract::FormBody;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use orbit_core::clock::format_utc;
use orbit_core::model::{EmailVerification, Instance, InstanceKind, SessionStatus, User};
use orbit_core::text::without_bidi_controls;
use orbit_core::{AuditAction, Error, NewUser};
use serde::Deserialize;
use serde_json::json;

/// The instance a page under `/dashboard/instances/{id}/` is about, as its header shows it
/// (`dashboard/users_instance.html`, with the Users and Sessions tabs).
#[derive(Debug, Clone)]
pub(super) struct InstanceHeader {
    pub id: String,
    pub application: String,
    pub kind_label: &'static str,
    pub production: bool,
    pub primary_domain: String,
    /// The tab shown: `users` or `sessions`.
    pub tab: &'static str,
}

/// The instance `id` and its header; an unknown id is the dashboard's 404 page.
pub(super) async fn instance_of(
    state: &AppState,
    id: &str,
    tab: &'static str,
) -> Result<(Instance, InstanceHeader), DashboardError> {
    let orbit = &state.orbit;
    let instance = orbit.instance(id).await?;
    let application = orbit
        .applications()
        .await?
        .into_iter()
        .find(|a| a.id == instance.application_id)
        .map(|a| a.name)
        .unwrap_or_default();
    let primary = orbit.primary_domain(&instance.id).await?;
    let production = instance.kind == InstanceKind::Production;
    let header = InstanceHeader {
        id: instance.id.clone(),
        application,
        kind_label: if production {
            "Production"
        } else {
            "Development"
        },
        production,
        primary_domain: primary.name,
        tab,
    };
    Ok((instance, header))
}

/// The instance a form posts to: the form's CSRF token is checked first (a forged form learns
/// nothing, not even whether the instance exists), then the id as `instance_of` does.
pub(super) async fn form_instance(
    state: &AppState,
    operator: &Operator,
    headers: &HeaderMap,
    csrf_token: Option<&str>,
    id: &str,
    tab: &'static str,
) -> Result<(Instance, InstanceHeader), DashboardError> {
    csrf::require(headers, operator, csrf_token)?;
    instance_of(state, id, tab).await
}

/// `/dashboard/instances/{id}/users`, the base of every address here.
fn users_path(instance_id: &str) -> String {
    format!("/dashboard/instances/{instance_id}/users")
}

fn user_path(instance_id: &str, user_id: &str) -> String {
    format!("{}/{user_id}", users_path(instance_id))
}

/// `Some(text)` for a notice a change's redirect names (`?notice=`; the sessions' list too).
pub(super) fn notice(name: Option<&str>) -> Option<&'static str> {
    Some(match name? {
        "created" => "The user is created.",
        "banned" => "The user is banned: they cannot sign in, and their sessions have ended.",
        "unbanned" => "The ban is lifted: the user can sign in again.",
        "deleted" => "The user is deleted, with their sessions.",
        "revoked" => "The session is revoked.",
        "gone" => "That session had ended already.",
        _ => return None,
    })
}

/// A row of the users' list.
struct UserRow {
    id: String,
    email: String,
    name: String,
    verified: bool,
    created: String,
    last_sign_in: String,
    banned: bool,
}

impl UserRow {
    fn of(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            email: u.email.clone(),
            name: full_name(u),
            verified: u.email_verification != EmailVerification::Unverified,
            created: format_utc(u.created_at),
            last_sign_in: u.last_sign_in_at.map_or_else(|| "Never".into(), format_utc),
            banned: u.banned,
        }
    }
}

fn full_name(u: &User) -> String {
    [u.first_name.as_deref(), u.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Template)]
#[template(path = "dashboard/users_list.html")]
struct ListPage {
    layout: Layout,
    instance: InstanceHeader,
    query: String,
    total: u64,
    users: Vec<UserRow>,
    pager: Pager,
    notice: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    q: Option<String>,
    page: Option<String>,
    notice: Option<String>,
}

/// `GET /dashboard/instances/{id}/users?q=&page=`: the users, newest first, those whose address
/// contains `q` when given (`Orbit::list_users`, as BAPI's `email_address_query`).
pub(super) async fn list(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, DashboardError> {
    let (instance, header) = instance_of(&state, &id, "users").await?;
    let query = without_bidi_controls(q.q.as_deref().unwrap_or_default().trim());
    let search = Some(query.as_str()).filter(|s| !s.is_empty());
    let page = PageNumber::parse(q.page.as_deref());
    let orbit = &state.orbit;
    let users = orbit
        .list_users(&instance, search, page.limit(), page.offset())
        .await?;
    let path = users_path(&instance.id);
    let (users, pager) = page.cut(users, |n| list_href(&path, &[("q", search)], n));
    let page = ListPage {
        layout: Layout::new(&operator, Nav::Home),
        total: orbit.count_users(&instance, search).await?,
        instance: header,
        users: users.iter().map(UserRow::of).collect(),
        query,
        pager,
        notice: notice(q.notice.as_deref()),
    };
    Ok(render(StatusCode::OK, &page, Vec::new()))
}

#[derive(Template)]
#[template(path = "dashboard/users_new.html")]
struct NewPage {
    layout: Layout,
    instance: InstanceHeader,
    /// The password policy's minimum length, for the hint.
    min_password: usize,
    f: NewUserFields,
}

/// What the form shows: the values typed (never the password) and what to change.
#[derive(Default)]
struct NewUserFields {
    email: String,
    first_name: String,
    last_name: String,
    email_error: Option<String>,
    password_error: Option<String>,
    first_name_error: Option<String>,
    last_name_error: Option<String>,
}

/// `GET /dashboard/instances/{id}/users/new`: the form that creates a user.
pub(super) async fn new_form(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<Response, DashboardError> {
    let (_, header) = instance_of(&state, &id, "users").await?;
    let page = NewPage {
        layout: Layout::new(&operator, Nav::Home),
        instance: header,
        min_password: state.orbit.settings().password_policy.min_chars,
        f: NewUserFields::default(),
    };
    Ok(render(StatusCode::OK, &page, Vec::new()))
}

#[derive(Debug, Deserialize)]
pub(super) struct NewUserForm {
    csrf_token: Option<String>,
    email_address: Option<String>,
    password: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

/// `POST /dashboard/instances/{id}/users`: creates the user as BAPI and `orbit user create` do
/// (`Orbit::create_user`: the address normalised and counted as verified by an operator, the
/// password optional and under the policy), then shows them. A refusal shows the form again
/// with what was typed (but the password) and what to change.
pub(super) async fn create(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    FormBody(form): FormBody<NewUserForm>,
) -> Result<Response, DashboardError> {
    let token = form.csrf_token.as_deref();
    let (instance, header) =
        form_instance(&state, &operator, &headers, token, &id, "users").await?;
    let email = form.email_address.unwrap_or_default();
    let first_name = form.first_name.unwrap_or_default();
    let last_name = form.last_name.unwrap_or_default();
    let mut f = NewUserFields {
        email: without_bidi_controls(email.trim()),
        first_name: without_bidi_controls(first_name.trim()),
        last_name: without_bidi_controls(last_name.trim()),
        ..Default::default()
    };
    if email.trim().is_empty() {
        f.email_error = Some("Enter the user's email address.".into());
    } else {
        let new = NewUser {
            email,
            password: form.password.filter(|p| !p.is_empty()),
            first_name: Some(first_name),
            last_name: Some(last_name),
        };
        match state.orbit.create_user(&instance, new).await {
            Ok(user) => return created(&state, &operator, &instance, &user).await,
            Err(Error::Email(e)) => f.email_error = Some(sentence(&e.to_string())),
            Err(Error::EmailTaken) => {
                f.email_error = Some(
                    "This instance already has a user with this email address. Search for them, or use another address."
                        .into(),
                )
            }
            Err(Error::Password(e)) => {
                f.password_error = Some(format!(
                    "{} Choose another password, or leave it empty.",
                    sentence(&e.to_string())
                ))
            }
            Err(Error::Invalid {
                field: "first_name",
                reason,
            }) => {
                f.first_name_error = Some(format!("The first name {reason}."))
            }
            Err(Error::Invalid {
                field: "last_name",
                reason,
            }) => {
                f.last_name_error = Some(format!("The last name {reason}."))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let page = NewPage {
        layout: Layout::new(&operator, Nav::Home),
        instance: header,
        min_password: state.orbit.settings().password_policy.min_chars,
        f,
    };
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page, Vec::new()))
}

/// A created user: the audit entry, then their page.
async fn created(
    state: &AppState,
    operator: &Operator,
    instance: &Instance,
    user: &User,
) -> Result<Response, DashboardError> {
    state
        .orbit
        .record_audit(
            &operator.me.actor(),
            AuditAction::UserCreated,
            &user.id,
            Some(&instance.id),
            json!({ "email": user.email, "password": user.password_hash.is_some() }),
        )
        .await?;
    let to = format!("{}?notice=created", user_path(&instance.id, &user.id));
    Ok(Redirect::to(&to).into_response())
}

#[derive(Template)]
#[template(path = "dashboard/users_view.html")]
struct ViewPage {
    layout: Layout,
    instance: InstanceHeader,
    user: UserRow,
    first_name: String,
    last_name: String,
    verification: &'static str,
    password: bool,
    sessions: Vec<DeviceRow>,
    /// Where each session's revocation posts (`fields/sessions.html`: `<prefix><id>/revoke`).
    revoke_prefix: String,
    notice: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

/// How the address was shown to be the user's, in words.
fn verification_label(v: EmailVerification) -> &'static str {
    match v {
        EmailVerification::Unverified => "Unverified",
        EmailVerification::Admin => "Verified (vouched for by an operator)",
        EmailVerification::EmailCode => "Verified (code mailed at sign-up)",
    }
}

/// `GET /dashboard/instances/{id}/users/{user_id}`: the user, and their live sessions, each of
/// which can be revoked.
pub(super) async fn view(
    State(state): State<AppState>,
    operator: Operator,
    Path((id, user_id)): Path<(String, String)>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, DashboardError> {
    let (instance, header) = instance_of(&state, &id, "users").await?;
    let orbit = &state.orbit;
    let user = orbit.user(&instance.id, &user_id).await?;
    let sessions = orbit
        .user_sessions(&instance, &user.id)
        .await?
        .into_iter()
        .filter(|s| s.status == SessionStatus::Active)
        .map(|s| {
            DeviceRow::new(
                s.id,
                orbit_core::user_agent::summary(s.user_agent.as_deref()),
                s.created_at,
                s.last_active_at,
                false,
            )
        })
        .collect();
    let page = ViewPage {
        layout: Layout::new(&operator, Nav::Home),
        instance: header,
        first_name: user.first_name.clone().unwrap_or_default(),
        last_name: user.last_name.clone().unwrap_or_default(),
        verification: verification_label(user.email_verification),
        password: user.password_hash.is_some(),
        revoke_prefix: format!("{}/sessions/", user_path(&instance.id, &user.id)),
        user: UserRow::of(&user),
        sessions,
        notice: notice(q.notice.as_deref()),
    };
    Ok(render(StatusCode::OK, &page, Vec::new()))
}

/// `POST /dashboard/instances/{id}/users/{user_id}/ban`: `Orbit::ban_user`, as BAPI's
/// `POST /v1/users/{id}/ban`.
pub(super) async fn ban(
    state: State<AppState>,
    operator: Operator,
    path: Path<(String, String)>,
    headers: HeaderMap,
    form: FormBody<CsrfForm>,
) -> Result<Response, DashboardError> {
    set_ban(state, operator, path, headers, form, true).await
}

/// `POST /dashboard/instances/{id}/users/{user_id}/unban`: `Orbit::unban_user`.
pub(super) async fn unban(
    state: State<AppState>,
    operator: Operator,
    path: Path<(String, String)>,
    headers: HeaderMap,
    form: FormBody<CsrfForm>,
) -> Result<Response, DashboardError> {
    set_ban(state, operator, path, headers, form, false).await
}

async fn set_ban(
    State(state): State<AppState>,
    operator: Operator,
    Path((id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    FormBody(form): FormBody<CsrfForm>,
    banned: bool,
) -> Result<Response, DashboardError> {
    let token = form.csrf_token.as_deref();
    let (instance, _) = form_instance(&state, &operator, &headers, token, &id, "users").await?;
    let orbit = &state.orbit;
    let (user, action, said) = if banned {
        let user = orbit.ban_user(&instance, &user_id).await?;
        (user, AuditAction::UserBanned, "banned")
    } else {
        let user = orbit.unban_user(&instance, &user_id).await?;
        (user, AuditAction::UserUnbanned, "unbanned")
    };
    orbit
        .record_audit(
            &operator.me.actor(),
            action,
            &user.id,
            Some(&instance.id),
            json!({ "email": user.email }),
        )
        .await?;
    let to = format!("{}?notice={said}", user_path(&instance.id, &user.id));
    Ok(Redirect::to(&to).into_response())
}

#[derive(Template)]
#[template(path = "dashboard/users_delete.html")]
struct DeletePage {
    layout: Layout,
    instance: InstanceHeader,
    user: UserRow,
    sessions: usize,
}

/// `GET /dashboard/instances/{id}/users/{user_id}/delete`: what deleting the user does, and
/// the button that does it.
pub(super) async fn confirm_delete(
    State(state): State<AppState>,
    operator: Operator,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Response, DashboardError> {
    let (instance, header) = instance_of(&state, &id, "users").await?;
    let orbit = &state.orbit;
    let user = orbit.user(&instance.id, &user_id).await?;
    let sessions = orbit
        .user_sessions(&instance, &user.id)
        .await?
        .iter()
        .filter(|s| s.status == SessionStatus::Active)
        .count();
    let page = DeletePage {
        layout: Layout::new(&operator, Nav::Home),
        instance: header,
        user: UserRow::of(&user),
        sessions,
    };
    Ok(render(StatusCode::OK, &page, Vec::new()))
}

/// `POST /dashboard/instances/{id}/users/{user_id}/delete`: `Orbit::delete_user`, as BAPI's
/// `DELETE /v1/users/{id}` (the user's sessions go with them).
pub(super) async fn delete(
    State(state): State<AppState>,
    operator: Operator,
    Path((id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    FormBody(form): FormBody<CsrfForm>,
) -> Result<Response, DashboardError> {
    let token = form.csrf_token.as_deref();
    let (instance, _) = form_instance(&state, &operator, &headers, token, &id, "users").await?;
    let orbit = &state.orbit;
    // Read first: the audit entry keeps the address of a user who is no more.
    let user = orbit.user(&instance.id, &user_id).await?;
    orbit.delete_user(&instance, &user.id).await?;
    orbit
        .record_audit(
            &operator.me.actor(),
            AuditAction::UserDeleted,
            &user.id,
            Some(&instance.id),
            json!({ "email": user.email }),
        )
        .await?;
    let to = format!("{}?notice=deleted", users_path(&instance.id));
    Ok(Redirect::to(&to).into_response())
}
