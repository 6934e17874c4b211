//! `/sign-up`: a new account with email and password, then a session as after sign-in. The
//! per-IP limit is part of core's sign-up, so every sign-up path shares it.

use super::sign_in::start_session;
use super::{csrf, EntryForm, EntryPage};
use crate::browser::page::{render, sentence};
use crate::browser::{BrowserClient, PageError};
use crate::extract::{ClientIp, FormBody};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use orbit_core::{Error, NewUser};
use serde::Deserialize;

#[derive(Template, Default)]
#[template(path = "sign_up.html")]
pub(super) struct SignUpPage {
    form: EntryForm,
    first_name: String,
    last_name: String,
    email: String,
    form_error: Option<String>,
    name_error: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
}

impl EntryPage for SignUpPage {
    const OTHER: &'static str = "/sign-in";
    fn with(form: EntryForm) -> Self {
        Self {
            form,
            ..Default::default()
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct SignUpForm {
    csrf_token: Option<String>,
    redirect_url: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email_address: Option<String>,
    password: Option<String>,
}

pub(super) async fn submit(
    State(state): State<AppState>,
    browser: BrowserClient,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    FormBody(form): FormBody<SignUpForm>,
) -> Result<Response, PageError> {
    let fapi = &browser.fapi;
    csrf::require(&headers, fapi, form.csrf_token.as_deref())?;
    let redirect_url = form.redirect_url.clone().unwrap_or_default();
    let (csrf, _) = csrf::token(&headers, fapi, state.orbit.random().as_ref());
    let mut view = SignUpPage {
        form: EntryForm::new(csrf, redirect_url.clone(), SignUpPage::OTHER),
        first_name: form.first_name.clone().unwrap_or_default(),
        last_name: form.last_name.clone().unwrap_or_default(),
        email: form
            .email_address
            .clone()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        ..Default::default()
    };
    let new = NewUser {
        email: form.email_address.unwrap_or_default(),
        password: Some(form.password.unwrap_or_default()),
        first_name: form.first_name,
        last_name: form.last_name,
    };
    match state
        .orbit
        .sign_up(&fapi.ctx.instance, &ip.to_string(), new)
        .await
    {
        Ok(user) => return start_session(&state, &browser, &headers, &user, &redirect_url).await,
        Err(Error::PasswordMissing) => view.password_error = Some("Enter a password.".into()),
        Err(Error::Email(e)) => view.email_error = Some(sentence(&e.to_string())),
        Err(Error::EmailTaken) => {
            view.email_error =
                Some("That email address is taken. Sign in instead, or use another address.".into())
        }
        Err(Error::Password(p)) => view.password_error = Some(p.to_string()),
        Err(Error::Invalid { field, reason }) => {
            view.name_error = Some(format!("{}: {reason}.", field.replace('_', " ")))
        }
        Err(e) => return Err(e.into()),
    }
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view, Vec::new()))
}
