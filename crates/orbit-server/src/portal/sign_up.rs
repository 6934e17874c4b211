//! `/sign-up`: a new account with email and password, and its first session as after sign-in,
//! created together in one write (never an account without its session). The
//! per-IP limit is part of core's sign-up, so every sign-up path shares it. With
//! `sign_up.email_verification`, the form leads to `/sign-up/verify`, where the code mailed to
//! the address creates the account (docs/design/accounts.md "Email verification").

use super::sign_in::{session_browser, signed_in};
use super::{csrf, EntryForm, EntryPage};
use crate::browser::page::{render, sentence};
use crate::browser::{BrowserClient, PageError};
use crate::extract::{ClientIp, FormBody};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use orbit_core::text::without_bidi_controls;
use orbit_core::{Error, NewUser, SignUpOutcome};
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

/// The page that asks for the code. It reads the same whether the address got a code or a
/// notice that it already has an account.
#[derive(Template, Default)]
#[template(path = "sign_up_verify.html")]
pub(super) struct VerifyPage {
    form: EntryForm,
    /// The pending sign-up's token, carried in the form.
    sign_up: String,
    /// Where the code went (normalised, so free of direction controls); empty on a retry.
    email: String,
    code_error: Option<String>,
    /// Set when the pending sign-up is over: the page then links back to `/sign-up`.
    expired: Option<String>,
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
    let echo = |v: &Option<String>| without_bidi_controls(v.as_deref().unwrap_or_default().trim());
    let mut view = SignUpPage {
        form: EntryForm::new(csrf.clone(), redirect_url.clone(), SignUpPage::OTHER),
        first_name: echo(&form.first_name),
        last_name: echo(&form.last_name),
        email: echo(&form.email_address),
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
        .sign_up(
            &fapi.ctx.instance,
            &ip.to_string(),
            new,
            session_browser(&browser, &headers),
        )
        .await
    {
        Ok(SignUpOutcome::Created { user, start }) => {
            return signed_in(&state, &browser, &user, &start, &redirect_url).await
        }
        Ok(SignUpOutcome::CodeSent { token, email, .. }) => {
            let page = VerifyPage {
                form: EntryForm::new(csrf, redirect_url, SignUpPage::OTHER),
                sign_up: token,
                email,
                ..Default::default()
            };
            return Ok(render(StatusCode::OK, &page, Vec::new()));
        }
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

#[derive(Debug, Deserialize)]
pub(super) struct VerifyForm {
    csrf_token: Option<String>,
    redirect_url: Option<String>,
    sign_up: Option<String>,
    code: Option<String>,
}

/// `POST /sign-up/verify`: the code from the mail. A right code creates the account and signs
/// in; a wrong one says how many tries are left; an expired, used or exhausted one sends the
/// user back to `/sign-up`.
pub(super) async fn verify(
    State(state): State<AppState>,
    browser: BrowserClient,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    FormBody(form): FormBody<VerifyForm>,
) -> Result<Response, PageError> {
    let fapi = &browser.fapi;
    csrf::require(&headers, fapi, form.csrf_token.as_deref())?;
    let redirect_url = form.redirect_url.unwrap_or_default();
    let (csrf, _) = csrf::token(&headers, fapi, state.orbit.random().as_ref());
    let token = form.sign_up.unwrap_or_default();
    let mut view = VerifyPage {
        form: EntryForm::new(csrf, redirect_url.clone(), SignUpPage::OTHER),
        ..Default::default()
    };
    match state
        .orbit
        .verify_sign_up(
            &fapi.ctx.instance,
            &ip.to_string(),
            &token,
            form.code.as_deref().unwrap_or_default(),
            session_browser(&browser, &headers),
        )
        .await
    {
        Ok((user, start)) => {
            return signed_in(&state, &browser, &user, &start, &redirect_url).await
        }
        Err(Error::VerificationCodeIncorrect { attempts_left }) => {
            view.sign_up = token;
            view.code_error = Some(format!(
                "That code is incorrect. {attempts_left} more {} left.",
                if attempts_left == 1 { "try" } else { "tries" }
            ));
        }
        Err(Error::VerificationCodeExpired) => {
            view.expired = Some(
                "This code has expired, was already used, or was tried too often. Start again to get a new one."
                    .into(),
            );
        }
        Err(Error::EmailTaken) => {
            view.expired =
                Some("That email address already has an account. Sign in instead.".into());
        }
        Err(e) => return Err(e.into()),
    }
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view, Vec::new()))
}
