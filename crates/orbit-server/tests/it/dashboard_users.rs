//! The dashboard's Users, Sessions and Audit log pages (docs/design/dashboard.md "Users and
//! sessions", "The audit log page"), on real servers: create, search, view, ban (then the
//! user's sign-in through the hosted page and the Frontend API is refused and their sessions
//! are over), unban, delete, revoke a session (its token can no longer be minted), the audit
//! entry of each; and the hostile cases of every form: a missing or foreign CSRF token changes
//! nothing, invalid input says what to do and keeps what was typed, a signed-out browser is
//! sent to sign in, and another instance's ids are 404.

use crate::dashboard_auth::{actions, audit, server_with_root, sign_in, ROOT};
use crate::fapi_clerkjs::{Answer, ClerkJs, APP};
use crate::harness::*;
use orbit_core::model::InstanceKind;
use orbit_core::{Actor, AuditAction, NewUser};
use reqwest::StatusCode;
use serde_json::{json, Value};

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.org";

/// A server with the operator `ROOT`, a browser signed in as them, and the development
/// instance's id.
async fn signed_in_operator() -> (TestServer, Browser, String) {
    let server = server_with_root().await;
    let browser = server.browser();
    let signed_in = sign_in(&browser, ROOT, GOOD_PASSWORD).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let instance = server.orbit().instances().await.unwrap()[0].id.clone();
    (server, browser, instance)
}

/// `/dashboard/instances/<instance><rest>` on `server`.
fn at(server: &TestServer, instance: &str, rest: &str) -> String {
    server.url(&format!("/dashboard/instances/{instance}{rest}"))
}

/// Every form of these pages, by the address it posts to: creating a user, and those acting on
/// the user `user` or their session `sid`.
fn forms(server: &TestServer, instance: &str, user: &str, sid: &str) -> [String; 6] {
    [
        at(server, instance, "/users"),
        at(server, instance, &format!("/users/{user}/ban")),
        at(server, instance, &format!("/users/{user}/unban")),
        at(server, instance, &format!("/users/{user}/delete")),
        at(server, instance, &format!("/sessions/{sid}/revoke")),
        at(
            server,
            instance,
            &format!("/users/{user}/sessions/{sid}/revoke"),
        ),
    ]
}

/// Posts a dashboard form with the session's CSRF token (read from `page`).
async fn post(browser: &Browser, page: &Page, url: &str, fields: &[(&str, &str)]) -> Page {
    let csrf = page.csrf();
    let mut all = vec![("csrf_token", csrf.as_str())];
    all.extend_from_slice(fields);
    browser.post_form(url, &all).await
}

/// The user's JSON through BAPI (`None`: 404).
async fn bapi_user(server: &TestServer, id: &str) -> Option<Value> {
    let (status, body) = server.backend().get(&format!("/v1/users/{id}")).await;
    match status {
        StatusCode::OK => Some(body),
        StatusCode::NOT_FOUND => None,
        s => panic!("{s}: {body}"),
    }
}

/// The user's sessions' `(id, status)` through BAPI.
async fn bapi_sessions(server: &TestServer, user_id: &str) -> Vec<(String, String)> {
    let (status, body) = server
        .backend()
        .get(&format!("/v1/sessions?user_id={user_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Whether a session token can still be minted for `sid` through BAPI.
async fn mints(server: &TestServer, sid: &str) -> bool {
    let (status, body) = server
        .backend()
        .post(&format!("/v1/sessions/{sid}/tokens"), json!({}))
        .await;
    match status {
        StatusCode::OK => true,
        StatusCode::BAD_REQUEST => {
            assert_eq!(body["errors"][0]["code"], "session_not_active", "{body}");
            false
        }
        s => panic!("{s}: {body}"),
    }
}

/// A sign-in through the Frontend API as clerk-js makes it: the attempt, then its password.
async fn fapi_sign_in(js: &ClerkJs, email: &str, password: &str) -> Answer {
    let started = js.post("/client/sign_ins", &[("identifier", email)]).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let id = started.body["response"]["id"].as_str().unwrap().to_owned();
    js.post(
        &format!("/client/sign_ins/{id}/attempt_first_factor"),
        &[("strategy", "password"), ("password", password)],
    )
    .await
}

/// The value of the `id` attribute's element text, roughly: the text after `id="<id>">`.
fn text_of<'a>(page: &'a Page, id: &str) -> &'a str {
    let marker = format!("id=\"{id}\">");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {}", page.body))
        + marker.len();
    let end = page.body[start..].find('<').unwrap();
    page.body[start..start + end].trim()
}

/// The user ids the users' list links to, in order.
fn listed_users(page: &Page, instance: &str) -> Vec<String> {
    let marker = format!("href=\"/dashboard/instances/{instance}/users/user_");
    page.body
        .match_indices(&marker)
        .map(|(i, _)| {
            let rest = &page.body[i + marker.len() - "user_".len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

#[tokio::test]
async fn an_operator_creates_finds_and_views_users() {
    let (server, op, instance) = signed_in_operator().await;
    let users = at(&server, &instance, "/users");
    let empty = op.get(&users).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
    assert!(empty.body.contains("No users yet"), "{}", empty.body);
    assert!(empty
        .body
        .contains("<label for=\"q\">Search by email</label>"));
    // The dashboard's frame and the page's own styles.
    assert!(empty.body.contains(ROOT) && empty.body.contains("header.dash"));
    assert!(empty.body.contains("nav.tabs"));
    assert!(empty
        .body
        .contains("<title>Users · My application · Orbit dashboard</title>"));

    let form = op.get(&at(&server, &instance, "/users/new")).await;
    assert_eq!(form.status, StatusCode::OK);
    for label in [
        "<label for=\"email_address\">",
        "<label for=\"password\">",
        "<label for=\"first_name\">",
        "<label for=\"last_name\">",
    ] {
        assert!(form.body.contains(label), "{label}");
    }
    let created = post(
        &op,
        &form,
        &users,
        &[
            ("email_address", " Ada@Example.com "),
            ("password", GOOD_PASSWORD),
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let location = created.location().unwrap().to_owned();
    let prefix = format!("/dashboard/instances/{instance}/users/user_");
    assert!(location.starts_with(&prefix), "{location}");
    assert!(location.ends_with("?notice=created"), "{location}");
    let ada_id = location[prefix.len() - "user_".len()..location.find('?').unwrap()].to_owned();

    // The same user as BAPI sees it: normalised, verified by an operator, with a password.
    let ada = bapi_user(&server, &ada_id).await.unwrap();
    assert_eq!(ada["email_addresses"][0]["email_address"], ADA);
    assert_eq!(
        ada["email_addresses"][0]["verification"]["strategy"],
        "admin"
    );
    assert_eq!(ada["password_enabled"], true);
    assert_eq!(ada["banned"], false);
    let view = op.get(&server.url(&location)).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.body);
    assert_eq!(text_of(&view, "notice"), "The user is created.");
    assert_eq!(text_of(&view, "user-email"), ADA);
    assert_eq!(
        text_of(&view, "verification"),
        "Verified (vouched for by an operator)"
    );
    assert!(view.body.contains("<dd>Ada</dd>") && view.body.contains("<dd>Lovelace</dd>"));
    assert_eq!(text_of(&view, "last-sign-in"), "Never");
    assert!(view.body.contains("No active session"));

    // The password works: the user signs in on the hosted page, and the page shows it.
    let ada_browser = server.browser();
    let signed_in = ada_browser.sign_in(ADA, GOOD_PASSWORD).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let view = op
        .get(&at(&server, &instance, &format!("/users/{ada_id}")))
        .await;
    assert_ne!(text_of(&view, "last-sign-in"), "Never");
    assert!(view.body.contains("Chrome on Linux"), "{}", view.body);
    let [(sid, _)] = bapi_sessions(&server, &ada_id).await.try_into().unwrap();
    assert!(view.body.contains(&format!(
        "action=\"/dashboard/instances/{instance}/users/{ada_id}/sessions/{sid}/revoke\""
    )));

    // Another, without a password nor names; the search finds each by a part of the address.
    let bob = post(&op, &form, &users, &[("email_address", BOB)]).await;
    assert_eq!(bob.status, StatusCode::SEE_OTHER, "{}", bob.body);
    let list = op.get(&users).await;
    assert_eq!(text_of(&list, "user-count"), "2 users");
    let all = listed_users(&list, &instance);
    assert_eq!(all.len(), 2);
    assert_eq!(all[1], ada_id, "newest first");
    let bob_id = all[0].clone();
    for (q, expected) in [
        ("ada", vec![ada_id.as_str()]),
        ("ADA@EX", vec![ada_id.as_str()]),
        ("example.org", vec![bob_id.as_str()]),
        ("@example.", vec![bob_id.as_str(), ada_id.as_str()]),
    ] {
        let found = op
            .get(&format!("{users}?q={}", q.replace('@', "%40")))
            .await;
        assert_eq!(found.status, StatusCode::OK);
        assert_eq!(listed_users(&found, &instance), expected, "{q}");
        assert!(
            found.body.contains(&format!("value=\"{q}\"")),
            "the search stays"
        );
    }
    let none = op.get(&format!("{users}?q=nobody")).await;
    assert!(listed_users(&none, &instance).is_empty());
    assert!(none.body.contains("Try a shorter part of the address"));
    // BAPI's `email_address_query` is the same search.
    let (_, found) = server
        .backend()
        .get("/v1/users?email_address_query=EXAMPLE.ORG")
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], bob_id.as_str());
    let (_, count) = server
        .backend()
        .get("/v1/users/count?email_address_query=example")
        .await;
    assert_eq!(count["total_count"], 2);
    let bob_view = op
        .get(&at(&server, &instance, &format!("/users/{bob_id}")))
        .await;
    assert!(bob_view
        .body
        .contains("None: the user cannot sign in with a password"));

    // Who created whom, in which instance.
    let entries = audit(&server).await;
    assert_eq!(actions(&entries[..2]), ["user.created", "user.created"]);
    let e = &entries[1];
    assert_eq!(e.target, ada_id);
    assert_eq!(e.instance_id.as_deref(), Some(instance.as_str()));
    assert_eq!(e.operator_email.as_deref(), Some(ROOT));
    assert_eq!(
        e.detail,
        json!({"email": ADA, "password": true}).to_string()
    );
    assert_eq!(
        entries[0].detail,
        json!({"email": BOB, "password": false}).to_string()
    );
}

#[tokio::test]
async fn the_create_form_says_what_to_fix_and_keeps_what_was_typed() {
    let (server, op, instance) = signed_in_operator().await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let users = at(&server, &instance, "/users");
    let form = op.get(&at(&server, &instance, "/users/new")).await;
    // The fields posted, the id of the error shown, and what it says.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case; 5] = [
        (
            &[("email_address", "  "), ("first_name", "Grace")],
            "email_address-error",
            "Enter the user&#39;s email address.",
        ),
        (
            &[("email_address", "not an address"), ("first_name", "Grace")],
            "email_address-error",
            "",
        ),
        (
            &[
                ("email_address", "grace@example.com"),
                ("password", "password"),
                ("first_name", "Grace"),
            ],
            "password-error",
            "Choose another password, or leave it empty.",
        ),
        (
            &[("email_address", ADA), ("first_name", "Grace")],
            "email_address-error",
            "This instance already has a user with this email address. Search for them, or use another address.",
        ),
        (
            &[
                ("email_address", "grace@example.com"),
                ("first_name", "Grace\u{202e}"),
            ],
            "first_name-error",
            "The first name ",
        ),
    ];
    for (fields, error_id, says) in cases {
        let page = post(&op, &form, &users, fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let shown = text_of(&page, error_id);
        assert!(
            !shown.is_empty() && shown.contains(says),
            "{fields:?}: {shown}"
        );
        assert!(page.body.contains("aria-invalid=\"true\""));
        // What was typed is still there (the password never is).
        let email = fields[0].1.trim();
        assert!(
            page.body.contains(&format!("value=\"{email}\"")),
            "{fields:?}: {}",
            page.body
        );
        assert!(page.body.contains("value=\"Grace\""), "{fields:?}");
        assert!(!page.body.contains("value=\"password\""));
    }
    // Nothing was created, nor audited.
    assert_eq!(
        server.backend().get("/v1/users/count").await.1["total_count"],
        1
    );
    assert_eq!(actions(&audit(&server).await)[0], "operator.signed_in");
}

#[tokio::test]
async fn a_banned_user_cannot_sign_in_anywhere_and_their_sessions_end() {
    let (server, op, instance) = signed_in_operator().await;
    let ada = server.create_user(ADA, GOOD_PASSWORD).await;
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    // Signed in twice: on the hosted page and through the Frontend API.
    let browser = server.browser();
    assert_eq!(
        browser.sign_in(ADA, GOOD_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let js = ClerkJs::new(&server, APP);
    let r = fapi_sign_in(&js, ADA, GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let fapi_sid = r.body["response"]["created_session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sessions = bapi_sessions(&server, &ada_id).await;
    assert_eq!(sessions.len(), 2);
    for (sid, _) in &sessions {
        assert!(mints(&server, sid).await);
    }

    let view_url = at(&server, &instance, &format!("/users/{ada_id}"));
    let view = op.get(&view_url).await;
    assert!(view.body.contains("id=\"ban\""));
    let banned = post(&op, &view, &format!("{view_url}/ban"), &[]).await;
    assert_eq!(banned.status, StatusCode::SEE_OTHER, "{}", banned.body);
    assert_eq!(
        banned.location(),
        Some(format!("/dashboard/instances/{instance}/users/{ada_id}?notice=banned").as_str())
    );
    let view = op.get(&server.url(banned.location().unwrap())).await;
    assert!(text_of(&view, "notice").starts_with("The user is banned"));
    assert_eq!(text_of(&view, "status"), "Banned: cannot sign in");
    assert!(view.body.contains("No active session"));
    assert!(view.body.contains("id=\"unban\""));
    let list = op.get(&at(&server, &instance, "/users")).await;
    assert!(list
        .body
        .contains("<span class=\"tag banned\">Banned</span>"));
    assert_eq!(bapi_user(&server, &ada_id).await.unwrap()["banned"], true);

    // Every session ended: revoked, and no token can be minted, through BAPI or the browser.
    for (sid, status) in bapi_sessions(&server, &ada_id).await {
        assert_eq!(status, "revoked", "{sid}");
        assert!(!mints(&server, &sid).await, "{sid}");
    }
    let minted = js
        .post(&format!("/client/sessions/{fapi_sid}/tokens"), &[])
        .await;
    assert_ne!(minted.status, StatusCode::OK, "{}", minted.body);

    // The right password: refused on the hosted page, saying why, and through the FAPI with
    // Clerk's `user_banned`. A wrong one: the answer anyone gets.
    let refused = server.browser().sign_in(ADA, GOOD_PASSWORD).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused
        .body
        .contains("This account is banned and cannot sign in."));
    assert!(
        refused.body.contains(&format!("value=\"{ADA}\"")),
        "the address stays"
    );
    assert!(refused
        .set_cookies()
        .iter()
        .all(|c| !c.starts_with("__client=")));
    let stranger = server.browser();
    let wrong = stranger.sign_in(ADA, "not the password at all").await;
    let unknown = stranger
        .sign_in("nobody@example.com", "not the password at all")
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        wrong.body.replace(ADA, "EMAIL"),
        unknown.body.replace("nobody@example.com", "EMAIL")
    );
    let r = fapi_sign_in(&ClerkJs::new(&server, APP), ADA, GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.error_code(), "user_banned");
    let wrong = fapi_sign_in(&ClerkJs::new(&server, APP), ADA, "not the password at all").await;
    let unknown = fapi_sign_in(
        &ClerkJs::new(&server, APP),
        "nobody@example.com",
        "not the password at all",
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (wrong.status, wrong.error_code()),
        (unknown.status, unknown.error_code())
    );
    // Nor a session by the backend's test tooling.
    let (status, body) = server
        .backend()
        .post("/v1/sessions", json!({"user_id": ada_id}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(bapi_sessions(&server, &ada_id).await.len(), 2);

    // Lifted: the user signs in again; the sessions the ban ended stay ended.
    let view = op.get(&view_url).await;
    let unbanned = post(&op, &view, &format!("{view_url}/unban"), &[]).await;
    assert_eq!(unbanned.status, StatusCode::SEE_OTHER, "{}", unbanned.body);
    let view = op.get(&server.url(unbanned.location().unwrap())).await;
    assert_eq!(
        text_of(&view, "notice"),
        "The ban is lifted: the user can sign in again."
    );
    assert_eq!(bapi_user(&server, &ada_id).await.unwrap()["banned"], false);
    assert_eq!(
        server.browser().sign_in(ADA, GOOD_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let sessions = bapi_sessions(&server, &ada_id).await;
    assert_eq!(
        sessions.iter().filter(|(_, s)| s == "active").count(),
        1,
        "{sessions:?}"
    );

    let entries = audit(&server).await;
    assert_eq!(actions(&entries[..2]), ["user.unbanned", "user.banned"]);
    for e in &entries[..2] {
        assert_eq!(e.target, ada_id);
        assert_eq!(e.instance_id.as_deref(), Some(instance.as_str()));
        assert_eq!(e.operator_email.as_deref(), Some(ROOT));
        assert_eq!(e.detail, json!({ "email": ADA }).to_string());
    }
}

#[tokio::test]
async fn the_backend_api_bans_and_unbans_on_clerks_paths() {
    let server = TestServer::start().await;
    let ada = server.create_user(ADA, GOOD_PASSWORD).await;
    let id = ada["id"].as_str().unwrap();
    let token = server.backend().mint_session_token(id).await;
    assert!(!token.is_empty());
    let [(sid, _)] = bapi_sessions(&server, id).await.try_into().unwrap();
    let (status, banned) = server
        .backend()
        .post(&format!("/v1/users/{id}/ban"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{banned}");
    assert_eq!(
        (banned["object"].as_str(), banned["banned"].as_bool()),
        (Some("user"), Some(true))
    );
    assert!(!mints(&server, &sid).await);
    assert_eq!(
        server.browser().sign_in(ADA, GOOD_PASSWORD).await.status,
        StatusCode::FORBIDDEN
    );
    let (_, again) = server
        .backend()
        .post(&format!("/v1/users/{id}/ban"), json!({}))
        .await;
    assert_eq!(again["banned"], true, "banning twice is no error");
    let (status, unbanned) = server
        .backend()
        .post(&format!("/v1/users/{id}/unban"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unbanned["banned"], false);
    assert_eq!(
        server.browser().sign_in(ADA, GOOD_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let (status, body) = server
        .backend()
        .post("/v1/users/user_nobody/ban", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // BAPI acts by secret key, not as an operator: the audit log is the dashboard's.
    assert!(audit(&server).await.is_empty());
}

#[tokio::test]
async fn deleting_asks_first_then_deletes_the_user_and_their_sessions() {
    let (server, op, instance) = signed_in_operator().await;
    let ada = server.create_user(ADA, GOOD_PASSWORD).await;
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    server.backend().mint_session_token(&ada_id).await;
    let [(sid, _)] = bapi_sessions(&server, &ada_id).await.try_into().unwrap();

    let view = op
        .get(&at(&server, &instance, &format!("/users/{ada_id}")))
        .await;
    let confirm_url = at(&server, &instance, &format!("/users/{ada_id}/delete"));
    assert!(view.body.contains(&format!(
        "href=\"/dashboard/instances/{instance}/users/{ada_id}/delete\""
    )));
    // Opening the confirmation changes nothing.
    let confirm = op.get(&confirm_url).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.body.contains(&format!("Delete {ADA}?")));
    assert!(confirm.body.contains("(1 active now)"), "{}", confirm.body);
    assert!(bapi_user(&server, &ada_id).await.is_some());
    assert!(mints(&server, &sid).await);

    let deleted = post(&op, &confirm, &confirm_url, &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(
        deleted.location(),
        Some(format!("/dashboard/instances/{instance}/users?notice=deleted").as_str())
    );
    let list = op.get(&server.url(deleted.location().unwrap())).await;
    assert_eq!(
        text_of(&list, "notice"),
        "The user is deleted, with their sessions."
    );
    assert!(listed_users(&list, &instance).is_empty());
    assert!(bapi_user(&server, &ada_id).await.is_none());
    let (status, _) = server
        .backend()
        .post(&format!("/v1/sessions/{sid}/tokens"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        server.browser().sign_in(ADA, GOOD_PASSWORD).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Deleting again: the user is gone.
    let again = post(&op, &confirm, &confirm_url, &[]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(op.get(&confirm_url).await.status, StatusCode::NOT_FOUND);

    let entries = audit(&server).await;
    assert_eq!(actions(&entries[..1]), ["user.deleted"]);
    assert_eq!(entries[0].target, ada_id);
    assert_eq!(entries[0].detail, json!({ "email": ADA }).to_string());
    assert_eq!(
        actions(&entries)
            .iter()
            .filter(|a| **a == "user.deleted")
            .count(),
        1
    );
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_with_the_backends_call() {
    let (server, op, instance) = signed_in_operator().await;
    let sessions_url = at(&server, &instance, "/sessions");
    let empty = op.get(&sessions_url).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
    assert!(empty.body.contains("nobody is signed in"));
    let ada = server.create_user(ADA, GOOD_PASSWORD).await;
    let bob = server.create_user(BOB, GOOD_PASSWORD).await;
    let (ada_id, bob_id) = (ada["id"].as_str().unwrap(), bob["id"].as_str().unwrap());
    let ada_browser = server.browser();
    assert_eq!(
        ada_browser.sign_in(ADA, GOOD_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let js = ClerkJs::new(&server, APP);
    let r = fapi_sign_in(&js, BOB, GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let bob_sid = r.body["response"]["created_session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let [(ada_sid, _)] = bapi_sessions(&server, ada_id).await.try_into().unwrap();

    let list = op.get(&sessions_url).await;
    assert!(
        list.body.contains(ADA) && list.body.contains(BOB),
        "{}",
        list.body
    );
    assert!(list.body.contains("Chrome on Linux"));
    assert!(
        list.body.find(BOB) < list.body.find(ADA),
        "most recently active first"
    );
    for sid in [&ada_sid, &bob_sid] {
        assert!(list.body.contains(&format!(
            "action=\"/dashboard/instances/{instance}/sessions/{sid}/revoke\""
        )));
    }
    // Bob's session, from the list: its token can no longer be minted, through BAPI or the
    // browser that holds it; Ada's still can.
    let revoke_bob = at(&server, &instance, &format!("/sessions/{bob_sid}/revoke"));
    let revoked = post(&op, &list, &revoke_bob, &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    assert_eq!(
        revoked.location(),
        Some(format!("/dashboard/instances/{instance}/sessions?notice=revoked").as_str())
    );
    assert!(!mints(&server, &bob_sid).await);
    let minted = js
        .post(&format!("/client/sessions/{bob_sid}/tokens"), &[])
        .await;
    assert_ne!(minted.status, StatusCode::OK, "{}", minted.body);
    assert!(mints(&server, &ada_sid).await);
    assert_eq!(
        bapi_sessions(&server, bob_id).await[0].1,
        "revoked",
        "the status BAPI's revoke gives"
    );
    let list = op.get(&server.url(revoked.location().unwrap())).await;
    assert_eq!(text_of(&list, "notice"), "The session is revoked.");
    assert!(!list.body.contains(BOB));
    // Again: it had ended; nothing more is recorded.
    let again = post(&op, &list, &revoke_bob, &[]).await;
    assert_eq!(
        again.location(),
        Some(format!("/dashboard/instances/{instance}/sessions?notice=gone").as_str())
    );

    // Ada's, from her page, which it leads back to.
    let revoke_ada = at(
        &server,
        &instance,
        &format!("/users/{ada_id}/sessions/{ada_sid}/revoke"),
    );
    // Not under Bob's page.
    let wrong_user = at(
        &server,
        &instance,
        &format!("/users/{bob_id}/sessions/{ada_sid}/revoke"),
    );
    assert_eq!(
        post(&op, &list, &wrong_user, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(mints(&server, &ada_sid).await);
    let revoked = post(&op, &list, &revoke_ada, &[]).await;
    assert_eq!(
        revoked.location(),
        Some(format!("/dashboard/instances/{instance}/users/{ada_id}?notice=revoked").as_str())
    );
    assert!(!mints(&server, &ada_sid).await);
    let view = op.get(&server.url(revoked.location().unwrap())).await;
    assert_eq!(text_of(&view, "notice"), "The session is revoked.");
    assert!(view.body.contains("No active session"));

    let entries = audit(&server).await;
    assert_eq!(
        actions(&entries[..3]),
        ["session.revoked", "session.revoked", "operator.signed_in"]
    );
    assert_eq!(entries[1].target, bob_sid);
    assert_eq!(
        entries[1].detail,
        json!({ "user_id": bob_id, "email": BOB }).to_string()
    );
    assert_eq!(entries[0].target, ada_sid);
    assert_eq!(entries[0].instance_id.as_deref(), Some(instance.as_str()));
}

#[tokio::test]
async fn forms_refuse_missing_or_foreign_tokens_and_change_nothing() {
    let (server, op, instance) = signed_in_operator().await;
    let ada = server.create_user(ADA, GOOD_PASSWORD).await;
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    server.backend().mint_session_token(&ada_id).await;
    let [(sid, _)] = bapi_sessions(&server, &ada_id).await.try_into().unwrap();
    let token = op.get(&at(&server, &instance, "/users")).await.csrf();
    // Another operator's session: their token is not this session's.
    crate::dashboard_auth::admin_create(&server, "other@example.com", GOOD_PASSWORD)
        .await
        .unwrap();
    let other = server.browser();
    sign_in(&other, "other@example.com", GOOD_PASSWORD).await;
    let other_token = other.get(&server.url("/dashboard")).await.csrf();
    let foreign = Browser {
        http: op.http.clone(),
        origin: "https://evil.example".into(),
    };
    let forms = forms(&server, &instance, &ada_id, &sid);
    let before = audit(&server).await.len();
    for url in &forms {
        let fields = [("email_address", "new@example.com")];
        for (who, token) in [
            (&op, None),
            (&op, Some(other_token.as_str())),
            (&op, Some("")),
            (&foreign, Some(token.as_str())),
        ] {
            let mut all: Vec<(&str, &str)> = fields.to_vec();
            if let Some(t) = token {
                all.push(("csrf_token", t));
            }
            let r = who.post_form(url, &all).await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{url} {token:?} from {}",
                who.origin
            );
            assert!(r.body.contains("This form has expired"), "{}", r.body);
        }
    }
    // Nothing changed: one user, not banned, her session live; nothing audited.
    let (_, users) = server.backend().get("/v1/users").await;
    assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
    assert_eq!(users[0]["banned"], false);
    assert!(mints(&server, &sid).await);
    assert_eq!(audit(&server).await.len(), before);
    // The same forms with the session's token from the dashboard's origin do act: the
    // refusals were the checks'.
    let ok = op
        .post_form(&forms[4], &[("csrf_token", token.as_str())])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert!(!mints(&server, &sid).await);
}

#[tokio::test]
async fn a_signed_out_browser_is_sent_to_sign_in() {
    let (server, op, instance) = signed_in_operator().await;
    let ada = server.create_user(ADA, GOOD_PASSWORD).await;
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    server.backend().mint_session_token(&ada_id).await;
    let [(sid, _)] = bapi_sessions(&server, &ada_id).await.try_into().unwrap();
    // An end user's signed-in browser is no operator either.
    let end_user = server.browser();
    assert_eq!(
        end_user.sign_in(ADA, GOOD_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let token = op.get(&at(&server, &instance, "/users")).await.csrf();
    let pages = [
        at(&server, &instance, "/users"),
        at(&server, &instance, "/users?q=ada"),
        at(&server, &instance, "/users/new"),
        at(&server, &instance, &format!("/users/{ada_id}")),
        at(&server, &instance, &format!("/users/{ada_id}/delete")),
        at(&server, &instance, "/sessions"),
        server.url("/dashboard/audit"),
    ];
    let forms = forms(&server, &instance, &ada_id, &sid);
    for browser in [&server.browser(), &end_user] {
        for url in &pages {
            let r = browser.get(url).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{url}");
            assert_eq!(r.location(), Some("/dashboard/sign-in"), "{url}");
        }
        for url in &forms {
            let r = browser
                .post_form(
                    url,
                    &[
                        ("csrf_token", token.as_str()),
                        ("email_address", "x@example.com"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{url}");
            assert_eq!(r.location(), Some("/dashboard/sign-in"), "{url}");
        }
    }
    assert!(mints(&server, &sid).await);
    assert_eq!(bapi_user(&server, &ada_id).await.unwrap()["banned"], false);
    assert_eq!(actions(&audit(&server).await)[0], "operator.signed_in");
}

#[tokio::test]
async fn another_instances_ids_are_not_found() {
    let (server, op, instance) = signed_in_operator().await;
    let orbit = server.orbit();
    let other = orbit
        .create_application(
            "Other app",
            InstanceKind::Development,
            "localhost:3100",
            "127.0.0.1:4999",
        )
        .await
        .unwrap();
    // Ada is the development instance's; Olga and her session the other instance's.
    let ada = server.create_user(ADA, GOOD_PASSWORD).await;
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    let olga = orbit
        .create_user(
            &other,
            NewUser {
                email: "olga@example.com".into(),
                password: Some(GOOD_PASSWORD.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let olga_sid = orbit
        .create_session_for_user(&other, &olga.id)
        .await
        .unwrap()
        .id;
    let token = op.get(&at(&server, &instance, "/users")).await.csrf();
    // Under the development instance, the other's ids; under an unknown instance, anything.
    let pages = [
        at(&server, &instance, &format!("/users/{}", olga.id)),
        at(&server, &instance, &format!("/users/{}/delete", olga.id)),
        at(&server, "ins_unknown", "/users"),
        at(&server, "ins_unknown", "/users/new"),
        at(&server, "ins_unknown", &format!("/users/{ada_id}")),
        at(&server, "ins_unknown", "/sessions"),
        server.url("/dashboard/audit?instance=ins_unknown"),
    ];
    for url in &pages {
        let r = op.get(url).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{url}: {}", r.body);
        assert!(
            r.body.contains("href=\"/dashboard\""),
            "leads back: {}",
            r.body
        );
    }
    let forms = [
        at(&server, &instance, &format!("/users/{}/ban", olga.id)),
        at(&server, &instance, &format!("/users/{}/unban", olga.id)),
        at(&server, &instance, &format!("/users/{}/delete", olga.id)),
        at(&server, &instance, &format!("/sessions/{olga_sid}/revoke")),
        at(
            &server,
            &instance,
            &format!("/users/{}/sessions/{olga_sid}/revoke", olga.id),
        ),
        at(
            &server,
            &instance,
            &format!("/users/{ada_id}/sessions/{olga_sid}/revoke"),
        ),
        at(&server, "ins_unknown", "/users"),
        at(&server, "ins_unknown", &format!("/users/{ada_id}/ban")),
    ];
    for url in &forms {
        let r = op
            .post_form(
                url,
                &[
                    ("csrf_token", token.as_str()),
                    ("email_address", "new@example.com"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{url}: {}", r.body);
    }
    // Nothing happened to either instance.
    let olga_now = orbit.user(&other.id, &olga.id).await.unwrap();
    assert!(!olga_now.banned);
    let olga_session = orbit.session(&other, &olga_sid).await.unwrap();
    assert_eq!(
        olga_session.status,
        orbit_core::model::SessionStatus::Active
    );
    let dev = orbit.instance(&instance).await.unwrap();
    assert_eq!(orbit.count_users(&dev, None).await.unwrap(), 1);
    assert_eq!(actions(&audit(&server).await)[0], "operator.signed_in");
    // The other instance's own pages show its users, not the first's.
    let theirs = op.get(&at(&server, &other.id, "/users")).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(theirs.body.contains("olga@example.com") && !theirs.body.contains(ADA));
    assert!(theirs.body.contains("Other app"));
}

#[tokio::test]
async fn long_lists_come_fifty_a_page() {
    let (server, op, instance) = signed_in_operator().await;
    let orbit = server.orbit();
    let dev = orbit.instance(&instance).await.unwrap();
    for i in 0..53 {
        orbit
            .create_user(
                &dev,
                NewUser {
                    email: format!("user{i:02}@example.com"),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let users = at(&server, &instance, "/users");
    let first = op.get(&users).await;
    assert_eq!(text_of(&first, "user-count"), "53 users");
    let page1 = listed_users(&first, &instance);
    assert_eq!(page1.len(), 50);
    assert!(first.body.contains(&format!(
        "href=\"/dashboard/instances/{instance}/users?page=2\""
    )));
    assert!(!first.body.contains("id=\"previous-page\""));
    let second = op.get(&format!("{users}?page=2")).await;
    let page2 = listed_users(&second, &instance);
    assert_eq!(page2.len(), 3);
    assert!(page2.iter().all(|id| !page1.contains(id)), "no repeats");
    assert!(second.body.contains(&format!(
        "href=\"/dashboard/instances/{instance}/users\" rel=\"prev\""
    )));
    assert!(!second.body.contains("id=\"next-page\""));
    // A search pages too, and its links keep it; a page past the end is empty.
    let searched = op.get(&format!("{users}?q=user0")).await;
    assert_eq!(listed_users(&searched, &instance).len(), 10);
    assert!(!searched.body.contains("id=\"next-page\""));
    let searched = op.get(&format!("{users}?q=example")).await;
    assert!(searched.body.contains(&format!(
        "href=\"/dashboard/instances/{instance}/users?q=example&#38;page=2\""
    )));
    let past = op.get(&format!("{users}?page=9")).await;
    assert!(listed_users(&past, &instance).is_empty());
    let nonsense = op.get(&format!("{users}?page=x")).await;
    assert_eq!(listed_users(&nonsense, &instance), page1, "the first page");

    // The audit log too, and filtered by instance.
    for i in 0..55 {
        orbit
            .record_audit(
                &Actor::Cli,
                AuditAction::UserCreated,
                &format!("user_{i}"),
                Some(&instance),
                json!({ "n": i }),
            )
            .await
            .unwrap();
    }
    let log = op.get(&server.url("/dashboard/audit")).await;
    assert_eq!(
        log.body.matches("<tr>").count(),
        51,
        "a header and 50 entries"
    );
    assert!(log.body.contains("n: 54") && !log.body.contains("n: 4<"));
    assert!(log.body.contains("href=\"/dashboard/audit?page=2\""));
    let log2 = op.get(&server.url("/dashboard/audit?page=2")).await;
    assert!(
        log2.body.contains("n: 4<") && log2.body.contains(ROOT),
        "{}",
        log2.body
    );
    let mine = op
        .get(&server.url(&format!("/dashboard/audit?instance={instance}&page=2")))
        .await;
    assert_eq!(
        mine.body.matches("<tr>").count(),
        6,
        "5 entries of the instance"
    );
    assert!(!mine.body.contains("operator.signed_in"));
    assert!(mine.body.contains(&format!(
        "href=\"/dashboard/audit?instance={instance}\" rel=\"prev\""
    )));
}

#[tokio::test]
async fn the_audit_page_shows_when_who_what_and_target() {
    let (server, op, instance) = signed_in_operator().await;
    let ada = server.create_user(ADA, GOOD_PASSWORD).await;
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    let view_url = at(&server, &instance, &format!("/users/{ada_id}"));
    let view = op.get(&view_url).await;
    post(&op, &view, &format!("{view_url}/ban"), &[]).await;

    let home = op.get(&server.url("/dashboard")).await;
    assert!(
        home.body.contains("href=\"/dashboard/audit\""),
        "in the navigation"
    );
    assert!(home
        .body
        .contains(&format!("href=\"/dashboard/instances/{instance}/users\"")));
    let log = op.get(&server.url("/dashboard/audit")).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    assert!(log
        .body
        .contains("<label for=\"instance\">Instance</label>"));
    assert!(log.body.contains("aria-current=\"page\">Audit log</a>"));
    let rows: Vec<&str> = log.body.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 3, "{}", log.body);
    // Newest first: the ban, the sign-in, the operator's creation by the command line.
    assert!(rows[0].contains("<code>user.banned</code>"));
    assert!(rows[0].contains(ROOT));
    assert!(rows[0].contains(&format!("<code>{ada_id}</code>")));
    assert!(rows[0].contains("My application: Development (localhost:3000)"));
    assert!(rows[0].contains(&format!("email: {ADA}")));
    assert!(rows[0].contains(" UTC"));
    assert!(rows[1].contains("<code>operator.signed_in</code>"));
    assert!(rows[1].contains("device: Chrome on Linux"));
    assert!(rows[2].contains("<code>operator.created</code>"));
    assert!(rows[2].contains("The orbit command line"));
    // About the instance: the ban alone.
    let mine = op
        .get(&server.url(&format!("/dashboard/audit?instance={instance}")))
        .await;
    let rows: Vec<&str> = mine.body.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].contains("user.banned"));
    assert!(mine
        .body
        .contains(&format!("<option value=\"{instance}\" selected>")));
}
