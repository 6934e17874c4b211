//! Who may enter the operator dashboard (docs/design/dashboard.md), on real servers: operators
//! made by `orbit admin create`'s code path or the one-time setup link, sign-in and sign-out,
//! the same answer for a wrong password and an unknown address, CSRF, the per-source limit,
//! the cookie's attributes, the host rule (never on a production instance's Frontend API host),
//! `dashboard_listen`, and the audit entries each of these leaves.

use crate::harness::*;
use crate::world::ProdWorld;
use orbit_core::clock::{ManualClock, DAY, SECOND};
use orbit_core::model::AuditEntry;
use reqwest::StatusCode;

pub const ROOT: &str = "root@example.com";

/// Creates an operator as `orbit admin create --email <email> --password-stdin` does, with
/// `password` on standard input; returns what the command prints.
pub async fn admin_create(
    server: &TestServer,
    email: &str,
    password: &str,
) -> Result<String, String> {
    let mut stdin = std::io::Cursor::new(format!("{password}\n"));
    orbit_server::cli::admin_create(server.orbit(), email, &mut stdin).await
}

/// A server with the operator `ROOT`, whose password is `GOOD_PASSWORD`.
async fn server_with_root() -> TestServer {
    let server = TestServer::start().await;
    admin_create(&server, ROOT, GOOD_PASSWORD).await.unwrap();
    server
}

/// Signs in to the dashboard the browser's origin serves.
pub async fn sign_in(browser: &Browser, email: &str, password: &str) -> Page {
    let url = format!("{}/dashboard/sign-in", browser.origin);
    browser
        .submit(
            &url,
            &url,
            &[("email_address", email), ("password", password)],
        )
        .await
}

/// The `Set-Cookie` value of `page` for `name`.
fn set_cookie(page: &Page, name: &str) -> String {
    page.set_cookies()
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", page.set_cookies()))
}

/// The value of a `Set-Cookie` header.
fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap();
    pair.split_once('=').unwrap().1.to_owned()
}

/// The newest audit entries, newest first.
pub async fn audit(server: &TestServer) -> Vec<AuditEntry> {
    server.orbit().audit_log(None, 100).await.unwrap().entries
}

pub fn actions(entries: &[AuditEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.action.as_str()).collect()
}

/// The ids of the sessions the account page offers to sign out.
fn revocable_sessions(page: &Page) -> Vec<String> {
    let marker = "action=\"/dashboard/account/sessions/";
    page.body
        .match_indices(marker)
        .map(|(i, _)| {
            let rest = &page.body[i + marker.len()..];
            rest[..rest.find('/').unwrap()].to_owned()
        })
        .collect()
}

#[tokio::test]
async fn an_operator_made_by_the_cli_signs_in_and_out() {
    let server = TestServer::start().await;
    // The policy end users have, with its own words.
    let weak = admin_create(&server, ROOT, "password").await.unwrap_err();
    assert!(weak.contains("commonly used"), "{weak}");
    let empty = admin_create(&server, ROOT, "").await.unwrap_err();
    assert!(empty.contains("no password on standard input"), "{empty}");
    let made = admin_create(&server, " Root@Example.com ", GOOD_PASSWORD)
        .await
        .unwrap();
    assert!(made.contains("<root@example.com>"), "normalised: {made}");
    let taken = admin_create(&server, ROOT, GOOD_PASSWORD)
        .await
        .unwrap_err();
    assert!(taken.contains("already exists"), "{taken}");
    let listed = orbit_server::cli::admin_list(server.orbit()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].starts_with(ROOT) && listed[0].ends_with("last sign-in never"),
        "{listed:?}"
    );

    let browser = server.browser();
    let home = browser.get(&server.url("/dashboard")).await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), Some("/dashboard/sign-in"));
    let signed_in = sign_in(&browser, ROOT, GOOD_PASSWORD).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert_eq!(signed_in.location(), Some("/dashboard"));
    // Host-only (no Domain), HttpOnly, SameSite=Strict; plain http: no Secure, no __Host-.
    let cookie = set_cookie(&signed_in, "orbit_dashboard");
    assert_eq!(
        cookie,
        format!(
            "orbit_dashboard={}; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict",
            cookie_value(&cookie)
        )
    );
    assert!(cookie_value(&cookie).len() >= 43, "256 bits: {cookie}");
    let home = browser.get(&server.url("/dashboard")).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains(ROOT));
    assert!(home.body.contains("My application"), "{}", home.body);
    assert!(home.body.contains("Development"));
    assert!(home.body.contains("localhost:3000"));
    assert!(home.body.contains("id=\"instance-switcher\""));
    assert_eq!(
        home.headers["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(home.headers["cache-control"], "no-store");
    let listed = orbit_server::cli::admin_list(server.orbit()).await.unwrap();
    assert!(!listed[0].ends_with("never"), "{listed:?}");

    let csrf = home.csrf();
    let out = browser
        .post_form(
            &server.url("/dashboard/sign-out"),
            &[("csrf_token", csrf.as_str())],
        )
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    assert_eq!(out.location(), Some("/dashboard/sign-in?notice=signed-out"));
    assert_eq!(
        set_cookie(&out, "orbit_dashboard"),
        "orbit_dashboard=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
    );
    let page = browser
        .get(&server.url("/dashboard/sign-in?notice=signed-out"))
        .await;
    assert!(page.body.contains("You are signed out."));
    // The signed-out cookie, sent again by hand, opens nothing.
    let replayed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(server.url("/dashboard"))
        .header(
            "cookie",
            format!("orbit_dashboard={}", cookie_value(&cookie)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), StatusCode::SEE_OTHER);
    assert_eq!(replayed.headers()["location"], "/dashboard/sign-in");

    let entries = audit(&server).await;
    assert_eq!(
        actions(&entries),
        [
            "operator.signed_out",
            "operator.signed_in",
            "operator.created"
        ]
    );
    let created = &entries[2];
    assert_eq!(created.operator_id, None, "the command line acted");
    assert!(created.detail.contains(ROOT), "{}", created.detail);
    let operator_id = server.orbit().operators().await.unwrap()[0].id.clone();
    assert_eq!(created.target, operator_id);
    for e in &entries[..2] {
        assert_eq!(e.operator_id.as_deref(), Some(operator_id.as_str()));
        assert_eq!(e.operator_email.as_deref(), Some(ROOT));
    }
    assert_eq!(entries[0].target, entries[1].target, "one session");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let server = server_with_root().await;
    let browser = server.browser();
    let wrong = sign_in(&browser, ROOT, "not the password at all").await;
    let unknown = sign_in(&browser, "nobody@example.com", "not the password at all").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(
        wrong.body.replace(ROOT, "EMAIL"),
        unknown.body.replace("nobody@example.com", "EMAIL")
    );
    assert!(wrong
        .body
        .contains("The email address or password is incorrect."));
    assert!(wrong.set_cookies().is_empty() && unknown.set_cookies().is_empty());
    let missing = sign_in(&browser, "", "").await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.body.contains("Enter your email address."));
    assert!(missing.body.contains("Enter your password."));
    // Failures are not audited; nothing was signed in.
    assert_eq!(actions(&audit(&server).await), ["operator.created"]);
}

#[tokio::test]
async fn forms_without_the_csrf_token_or_from_another_origin_are_refused() {
    let server = server_with_root().await;
    let browser = server.browser();
    let page = browser.get(&server.url("/dashboard/sign-in")).await;
    let csrf = page.csrf();
    fn fields(token: Option<&str>) -> Vec<(&str, &str)> {
        let mut f = vec![("email_address", ROOT), ("password", GOOD_PASSWORD)];
        if let Some(t) = token {
            f.push(("csrf_token", t));
        }
        f
    }
    let url = server.url("/dashboard/sign-in");
    let no_token = browser.post_form(&url, &fields(None)).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert!(
        no_token.body.contains("This form has expired"),
        "{}",
        no_token.body
    );
    let foreign = Browser {
        http: browser.http.clone(),
        origin: "https://evil.example".into(),
    };
    let cross = foreign.post_form(&url, &fields(Some(&csrf))).await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    // The same form from the dashboard's origin signs in: the refusals were the checks'.
    let ok = browser.post_form(&url, &fields(Some(&csrf))).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);

    // Signed in: the session's token, from the dashboard's origin, or nothing happens.
    let account = browser.get(&server.url("/dashboard/account")).await;
    let token = account.csrf();
    let ids = revocable_sessions(&account);
    assert_eq!(ids.len(), 1);
    let revoke = server.url(&format!("/dashboard/account/sessions/{}/revoke", ids[0]));
    for (who, token) in [
        (&browser, None),
        (&browser, Some(csrf.as_str())),
        (&foreign, Some(token.as_str())),
    ] {
        let mut f = Vec::new();
        if let Some(t) = token {
            f.push(("csrf_token", t));
        }
        let r = who.post_form(&revoke, &f).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{token:?} from {}",
            who.origin
        );
        let r = who.post_form(&server.url("/dashboard/sign-out"), &f).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    let still = browser.get(&server.url("/dashboard")).await;
    assert_eq!(still.status, StatusCode::OK, "still signed in");
    assert_eq!(
        actions(&audit(&server).await),
        ["operator.signed_in", "operator.created"]
    );
}

#[tokio::test]
async fn the_per_source_limit_answers_429_in_a_budget_of_its_own() {
    let server = TestServer::behind_proxy(2, 1000).await;
    admin_create(&server, ROOT, GOOD_PASSWORD).await.unwrap();
    let attempt = |ip: &'static str| {
        let server = &server;
        async move {
            let b = server.browser();
            let csrf = b.get(&server.url("/dashboard/sign-in")).await.csrf();
            b.http
                .post(server.url("/dashboard/sign-in"))
                .header("origin", &server.base)
                .header("x-forwarded-for", ip)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("email_address", ROOT),
                    ("password", "wrong password here"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..2 {
        assert_eq!(
            attempt("198.51.100.7").await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let limited = attempt("198.51.100.7").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body = limited.text().await.unwrap();
    assert!(body.contains("Too many sign-in attempts. Wait"), "{body}");
    // Another source has its budget; the end users' budget of this source is untouched.
    assert_eq!(
        attempt("198.51.100.8").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        server.failed_sign_in_from("198.51.100.7").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

/// The setup link of a fresh server, and the form's hidden fields after opening it.
async fn open_setup(browser: &Browser, link: &str) -> Page {
    let page = browser.get(link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

#[tokio::test]
async fn the_setup_link_creates_one_operator_once() {
    let server = TestServer::start().await;
    let link = server.running.as_ref().unwrap().setup_link.clone().unwrap();
    assert!(
        link.starts_with(&format!("{}/dashboard/setup?token=", server.base)),
        "{link}"
    );
    let token = link.split_once("token=").unwrap().1.to_owned();
    assert!(token.len() >= 43, "256 bits: {link}");
    // The sign-in page says how to make the first operator.
    let b = server.browser();
    let sign_in_page = b.get(&server.url("/dashboard/sign-in")).await;
    assert!(sign_in_page.body.contains("No operator exists yet"));

    // A weak password is refused with the policy's words, and the link still works.
    let page = open_setup(&b, &link).await;
    let weak = b
        .post_form(
            &server.url("/dashboard/setup"),
            &[
                ("csrf_token", page.csrf().as_str()),
                ("token", token.as_str()),
                ("email_address", ROOT),
                ("password", "password"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("commonly used"), "{}", weak.body);

    // Two browsers submit the link at once: one operator.
    let (a, c) = (server.browser(), server.browser());
    let (pa, pc) = (open_setup(&a, &link).await, open_setup(&c, &link).await);
    let submit = |b: &Browser, p: &Page, email: &'static str| {
        let fields = [
            ("csrf_token", p.csrf()),
            ("token", token.clone()),
            ("email_address", email.to_owned()),
            ("password", GOOD_PASSWORD.to_owned()),
        ];
        let request = b
            .http
            .post(server.url("/dashboard/setup"))
            .header("origin", &server.base)
            .form(&fields);
        async move { request.send().await.unwrap() }
    };
    let (ra, rc) = tokio::join!(
        submit(&a, &pa, "first@example.com"),
        submit(&c, &pc, "second@example.com")
    );
    let mut statuses = [ra.status(), rc.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::SEE_OTHER, StatusCode::GONE]);
    let operators = server.orbit().operators().await.unwrap();
    assert_eq!(operators.len(), 1);
    let (winner, loser) = if ra.status() == StatusCode::SEE_OTHER {
        (&a, rc)
    } else {
        (&c, ra)
    };
    assert!(loser.text().await.unwrap().contains("no longer works"));
    // The winner is signed in.
    let home = winner.get(&server.url("/dashboard")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains(&operators[0].email));

    // Used: the link now says so, and creates nobody.
    let again = b.get(&link).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(
        again.body.contains("orbit admin create"),
        "says what to do: {}",
        again.body
    );
    assert!(again.body.contains("href=\"/dashboard\""));
    assert_eq!(
        actions(&audit(&server).await),
        ["operator.signed_in", "operator.created"]
    );
    let created = &audit(&server).await[1];
    assert_eq!(
        created.operator_id.as_deref(),
        Some(operators[0].id.as_str())
    );
    assert!(created.detail.contains("setup link"), "{}", created.detail);

    // With an operator, a start prints no link.
    let server = server.restart().await;
    assert_eq!(server.running.as_ref().unwrap().setup_link, None);
}

#[tokio::test]
async fn an_expired_setup_link_is_refused_and_a_restart_prints_a_new_one() {
    let clock = ManualClock::new(1_800_000_000_000);
    let server = TestServer::start_with_clock(&clock).await;
    let link = server.running.as_ref().unwrap().setup_link.clone().unwrap();
    let b = server.browser();
    let page = open_setup(&b, &link).await;
    clock.advance_ms(DAY + SECOND);
    assert_eq!(b.get(&link).await.status, StatusCode::GONE);
    let token = link.split_once("token=").unwrap().1;
    let late = b
        .post_form(
            &server.url("/dashboard/setup"),
            &[
                ("csrf_token", page.csrf().as_str()),
                ("token", token),
                ("email_address", ROOT),
                ("password", GOOD_PASSWORD),
            ],
        )
        .await;
    assert_eq!(late.status, StatusCode::GONE);
    assert!(server.orbit().operators().await.unwrap().is_empty());
    // A made-up token too.
    let made_up = b.get(&server.url("/dashboard/setup?token=abc")).await;
    assert_eq!(made_up.status, StatusCode::GONE);

    let server = server.restart().await;
    let fresh = server.running.as_ref().unwrap().setup_link.clone().unwrap();
    assert_ne!(fresh.split_once("token=").unwrap().1, token);
    assert_eq!(server.browser().get(&fresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_end_users_signed_in_browser_gets_the_sign_in_page() {
    let server = server_with_root().await;
    server.create_user("ada@example.com", GOOD_PASSWORD).await;
    // The end user's password is the operator's too: only the account kind differs.
    let browser = server.browser();
    let portal = browser.sign_in("ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(portal.status, StatusCode::SEE_OTHER, "{}", portal.body);
    assert_eq!(
        browser.get(&server.url("/user")).await.status,
        StatusCode::OK
    );
    for path in ["/dashboard", "/dashboard/account"] {
        let r = browser.get(&server.url(path)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.location(), Some("/dashboard/sign-in"));
    }
    let page = browser.get(&server.url("/dashboard/sign-in")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("action=\"/dashboard/sign-in\""));
    assert!(!page.body.contains(ROOT));
    // Nor do the end user's credentials sign in as an operator.
    let tried = sign_in(&browser, "ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(tried.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn operator_sessions_are_listed_and_a_revoked_one_stops_working() {
    let server = server_with_root().await;
    let laptop = server.browser();
    let phone = Browser {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 19_0 like Mac OS X) Version/19.0 Mobile/15E148 Safari/604.1")
            .build()
            .unwrap(),
        origin: server.base.clone(),
    };
    for b in [&laptop, &phone] {
        assert_eq!(
            sign_in(b, ROOT, GOOD_PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
    }
    let account = laptop.get(&server.url("/dashboard/account")).await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("Chrome on Linux"), "{}", account.body);
    assert!(account.body.contains("Safari on iOS"));
    assert_eq!(account.body.matches("This device").count(), 1);
    let ids = revocable_sessions(&account);
    assert_eq!(ids.len(), 2);
    // The phone's session is the one not marked as this device; newest first, it is listed
    // first.
    let phone_session = ids[0].clone();
    let revoked = laptop
        .post_form(
            &server.url(&format!(
                "/dashboard/account/sessions/{phone_session}/revoke"
            )),
            &[("csrf_token", account.csrf().as_str())],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(
        revoked.location(),
        Some("/dashboard/account?notice=revoked")
    );
    let r = phone.get(&server.url("/dashboard")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/dashboard/sign-in"));
    assert!(
        set_cookie(&r, "orbit_dashboard").contains("Max-Age=0"),
        "the dead cookie is cleared"
    );
    let account = laptop
        .get(&server.url("/dashboard/account?notice=revoked"))
        .await;
    assert!(account.body.contains("The device is signed out."));
    assert_eq!(revocable_sessions(&account).len(), 1);
    assert!(!account.body.contains("Safari on iOS"));
    // Once is enough; an unknown id ends nothing.
    for id in [phone_session.as_str(), "opsess_nope"] {
        let again = laptop
            .post_form(
                &server.url(&format!("/dashboard/account/sessions/{id}/revoke")),
                &[("csrf_token", account.csrf().as_str())],
            )
            .await;
        assert_eq!(again.location(), Some("/dashboard/account?notice=gone"));
    }
    let entries = audit(&server).await;
    assert_eq!(
        actions(&entries),
        [
            "operator.session_revoked",
            "operator.signed_in",
            "operator.signed_in",
            "operator.created"
        ]
    );
    assert_eq!(entries[0].target, phone_session);
    assert_eq!(entries[0].operator_email.as_deref(), Some(ROOT));
}

#[tokio::test]
async fn not_on_a_production_instances_frontend_api_host() {
    let world = ProdWorld::start().await;
    admin_create(&world.server, ROOT, GOOD_PASSWORD)
        .await
        .unwrap();
    world.add_satellite("satellite.test", true).await;
    let browser = world.browser();
    for host in ["clerk.primary.test", "clerk.satellite.test"] {
        for path in [
            "/dashboard",
            "/dashboard/sign-in",
            "/dashboard/setup?token=x",
        ] {
            let r = browser.get(&format!("https://{host}{path}")).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{host}{path}: {}", r.body);
        }
    }
    // The Orbit host serves it, over https: `__Host-` cookies, Secure, SameSite=Strict.
    let hops = browser
        .submit(
            "https://orbit.test/dashboard/sign-in",
            "/dashboard/sign-in",
            &[("email_address", ROOT), ("password", GOOD_PASSWORD)],
        )
        .await;
    let form = &hops[0];
    let csrf = form.set_cookie("__Host-orbit_dashboard_csrf");
    assert!(
        csrf.ends_with("; Path=/; Secure; HttpOnly; SameSite=Strict"),
        "{csrf}"
    );
    let post = &hops[1];
    assert_eq!(post.status, StatusCode::SEE_OTHER, "{}", post.body);
    let session = post.set_cookie("__Host-orbit_dashboard");
    assert!(
        session.ends_with("; Path=/; Max-Age=43200; Secure; HttpOnly; SameSite=Strict"),
        "{session}"
    );
    assert!(!session.to_ascii_lowercase().contains("domain="));
    let home = hops.last().unwrap();
    assert_eq!(home.url, "https://orbit.test/dashboard");
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    // The production instance is listed beside the development one.
    assert!(home.body.contains("Production") && home.body.contains("primary.test"));
    assert!(home.body.contains("https://clerk.primary.test"));
    // The signed-in browser still gets 404 on the production host.
    let r = browser.get("https://clerk.primary.test/dashboard").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn with_dashboard_listen_the_main_listener_does_not_serve_it() {
    let server = TestServer::start_with(|c| {
        c.dashboard_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let running = server.running.as_ref().unwrap();
    let addr = running.dashboard_addr.unwrap();
    assert_ne!(addr, running.addr);
    let dashboard = format!("http://{addr}");
    assert_eq!(running.dashboard_url, format!("{dashboard}/dashboard"));
    let link = running.setup_link.clone().unwrap();
    assert!(link.starts_with(&format!("{dashboard}/dashboard/setup?token=")));
    let b = server.browser();
    for path in ["/dashboard", "/dashboard/sign-in", "/dashboard/account"] {
        let r = b.get(&server.url(path)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        b.get(&link.replace(&dashboard, &server.base)).await.status,
        StatusCode::NOT_FOUND
    );
    // The end users' pages stay on the main listener only.
    let own = Browser::from_origin(&dashboard);
    assert_eq!(
        own.get(&format!("{dashboard}/sign-in")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        own.get(&format!("{dashboard}/health")).await.status,
        StatusCode::OK
    );
    let page = open_setup(&own, &link).await;
    let token = link.split_once("token=").unwrap().1;
    let created = own
        .post_form(
            &format!("{dashboard}/dashboard/setup"),
            &[
                ("csrf_token", page.csrf().as_str()),
                ("token", token),
                ("email_address", ROOT),
                ("password", GOOD_PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let home = own.get(&format!("{dashboard}/dashboard")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains(ROOT));
    // Any host name reaches it there (127.0.0.1 or localhost alike).
    let by_name = Browser::from_origin(&format!("http://localhost:{}", addr.port()));
    let r = by_name
        .get(&format!(
            "http://localhost:{}/dashboard/sign-in",
            addr.port()
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}
