//! The dashboard's instance pages (docs/design/dashboard.md "The instance pages"), on real
//! servers: applications and the instance switcher, a production instance created from the
//! dashboard, API keys (a secret key shown once, revoked at once on this node and within the
//! key cache's bound on others), domains with their Primary and Satellites tabs (a satellite
//! added, checked against the production world's DNS server before and after its record
//! exists, removed after a confirmation), allowed redirect origins; and the hostile cases of
//! every form: no or a foreign CSRF token, another origin, a signed-out browser, another
//! instance's ids.

use crate::dashboard_auth::{actions, admin_create, audit, sign_in, ROOT};
use crate::dns_server::Answer;
use crate::domain::{orbit_on, settings, setup};
use crate::harness::*;
use crate::world::{handshake_url, Hop, ProdWorld, WorldBrowser};
use orbit_core::clock::SECOND;
use orbit_core::model::{Instance, InstanceKind};
use orbit_core::Orbit;
use reqwest::StatusCode;

/// A development server with the operator `ROOT`, and a browser signed in as them.
async fn signed_in_server() -> (TestServer, Browser) {
    let server = TestServer::start().await;
    admin_create(&server, ROOT, GOOD_PASSWORD).await.unwrap();
    let browser = server.browser();
    let r = sign_in(&browser, ROOT, GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    (server, browser)
}

async fn dev_instance(server: &TestServer) -> Instance {
    server.orbit().instances().await.unwrap().remove(0)
}

/// The text of the element whose id is `id` (up to its first child tag), unescaped as far as
/// these pages need.
fn text_of(body: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {body}"))
        + marker.len();
    let end = body[start..].find('<').unwrap();
    body[start..start + end]
        .replace("&#38;", "&")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
}

/// Every visible `<input>` and `<select>` of `body` has an id and a `<label for>` naming it.
fn assert_inputs_labelled(body: &str) {
    for tag_name in ["<input", "<select"] {
        for (i, _) in body.match_indices(tag_name) {
            let tag = &body[i..i + body[i..].find('>').unwrap()];
            if tag.contains("type=\"hidden\"") {
                continue;
            }
            let id = tag
                .split("id=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_else(|| panic!("no id: {tag}"));
            assert!(
                body.contains(&format!("<label for=\"{id}\"")),
                "no label for #{id}"
            );
        }
    }
}

/// A BAPI client of the development server with `key`.
fn backend_with(server: &TestServer, key: &str) -> Backend {
    Backend {
        key: key.to_owned(),
        ..server.backend()
    }
}

#[tokio::test]
async fn the_home_page_lists_instances_and_the_switcher_keeps_the_section() {
    let (server, browser) = signed_in_server().await;
    let dev = dev_instance(&server).await;
    let prod = server
        .orbit()
        .create_production_instance(&dev.application_id, "shop.example")
        .await
        .unwrap();
    let home = browser.get(&server.url("/dashboard")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("id=\"instance-switcher\""));
    assert!(home
        .body
        .contains("My application: Production (shop.example)"));
    assert!(home.body.contains("https://clerk.shop.example"));
    assert!(home.body.contains(&format!(
        "href=\"/dashboard/instances/{}/domains\"",
        prod.id
    )));
    assert!(home.body.contains(&format!(
        "href=\"/dashboard/instances/{}/production\"",
        dev.id
    )));
    assert_inputs_labelled(&home.body);
    let chosen = browser
        .get(&server.url(&format!("/dashboard?instance={}", prod.id)))
        .await;
    assert!(
        chosen
            .body
            .contains("<h2 id=\"selected-title\">Production instance of shop.example</h2>"),
        "{}",
        chosen.body
    );
    assert!(chosen
        .body
        .contains(&format!("<option value=\"{}\" selected>", prod.id)));

    // The switcher keeps the section; on the home page it stays there.
    let switch = |instance: &str, section: &str| {
        server.url(&format!(
            "/dashboard/instances/switch?instance={instance}&section={section}"
        ))
    };
    let r = browser.get(&switch(&prod.id, "domains")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location(),
        Some(format!("/dashboard/instances/{}/domains", prod.id).as_str())
    );
    let r = browser.get(&switch(&dev.id, "")).await;
    assert_eq!(
        r.location(),
        Some(format!("/dashboard?instance={}", dev.id).as_str())
    );
    let r = browser.get(&switch(&dev.id, "..%2Fsign-out")).await;
    assert_eq!(
        r.location(),
        Some(format!("/dashboard?instance={}", dev.id).as_str()),
        "a section is one segment of ours"
    );
    assert_eq!(
        browser.get(&switch("ins_nope", "keys")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = browser
        .get(&server.url(&format!("/dashboard/instances/{}", dev.id)))
        .await;
    assert_eq!(
        r.location(),
        Some(format!("/dashboard/instances/{}/keys", dev.id).as_str())
    );
    // Each instance page shows the switcher on its instance, and its tabs.
    let keys = browser
        .get(&server.url(&format!("/dashboard/instances/{}/keys", prod.id)))
        .await;
    assert!(keys
        .body
        .contains(&format!("<option value=\"{}\" selected>", prod.id)));
    assert!(keys.body.contains("name=\"section\" value=\"keys\""));
    assert!(keys.body.contains(&format!(
        "<a href=\"/dashboard/instances/{}/keys\" aria-current=\"page\">API keys</a>",
        prod.id
    )));
    assert!(keys
        .body
        .contains("<title>API keys · My application: Production (shop.example) · Applications · Orbit dashboard</title>"));
}

#[tokio::test]
async fn api_keys_a_new_secret_key_is_shown_once_and_a_revoked_one_stops_at_once() {
    let (server, browser) = signed_in_server().await;
    let dev = dev_instance(&server).await;
    let keys_url = server.url(&format!("/dashboard/instances/{}/keys", dev.id));
    let page = browser.get(&keys_url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_inputs_labelled(&page.body);
    assert_eq!(
        text_of(&page.body, "publishable-key"),
        server.publishable_key
    );
    assert_eq!(
        text_of(&page.body, "jwks-url"),
        format!("{}/.well-known/jwks.json", server.base)
    );
    assert_eq!(text_of(&page.body, "frontend-api-url"), server.base);
    assert_eq!(
        text_of(&page.body, "backend-api-url"),
        format!("{}/bapi", server.base)
    );
    // The existing key, masked only.
    let masked = orbit_core::keys::mask_secret_key(&server.secret_key);
    assert!(masked.starts_with("sk_test_\u{2026}"), "{masked}");
    assert!(page.body.contains(&masked), "{}", page.body);
    assert!(!page.body.contains(&server.secret_key));
    // Copy buttons: hidden until the script (allowed by its hash, and only it) shows them.
    assert!(page.body.contains(
        "data-copy=\"publishable-key\" aria-label=\"Copy the publishable key\" hidden>Copy</button>"
    ));
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; script-src 'sha256-"),
        "{csp}"
    );
    assert!(page.body.contains("<script>for (const b of"));

    // Create: shown in full this once, and working at once.
    let created = browser
        .post_form(&keys_url, &[("csrf_token", page.csrf().as_str())])
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let new_key = text_of(&created.body, "new-secret-key");
    assert!(
        new_key.starts_with("sk_test_") && new_key.len() == 56,
        "{new_key}"
    );
    assert_eq!(created.headers["cache-control"], "no-store");
    let (status, _) = backend_with(&server, &new_key).get("/v1/users").await;
    assert_eq!(status, StatusCode::OK);
    let again = browser.get(&keys_url).await;
    assert!(!again.body.contains(&new_key), "never shown again");
    let new_masked = orbit_core::keys::mask_secret_key(&new_key);
    assert!(again.body.contains(&new_masked));
    assert!(again.body.contains(&masked), "the old key keeps working");
    // `orbit instance show` prints the newest.
    let shown = orbit_server::cli::instance_summary(server.orbit(), &server.config, &dev)
        .await
        .unwrap();
    assert_eq!(shown["secret_key"], new_key.as_str());

    // Revoke the old key after a confirmation: refused at once by this server.
    let old_backend = server.backend();
    assert_eq!(
        old_backend.get("/v1/users").await.0,
        StatusCode::OK,
        "cached"
    );
    let old_id = server
        .orbit()
        .secret_keys(&dev)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.masked == masked)
        .unwrap()
        .id;
    let revoke_url = format!("{keys_url}/{old_id}/revoke");
    let confirm = browser.get(&revoke_url).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm
        .body
        .contains(&format!("Revoke the secret key {masked}?")));
    assert!(
        confirm.body.contains("within 10 seconds"),
        "{}",
        confirm.body
    );
    let revoked = browser
        .post_form(&revoke_url, &[("csrf_token", confirm.csrf().as_str())])
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    assert_eq!(
        revoked.location(),
        Some(format!("/dashboard/instances/{}/keys?notice=revoked", dev.id).as_str())
    );
    assert_eq!(
        old_backend.get("/v1/users").await.0,
        StatusCode::UNAUTHORIZED,
        "revoked at once on this node, though it was cached"
    );
    assert_eq!(
        backend_with(&server, &new_key).get("/v1/users").await.0,
        StatusCode::OK
    );
    let after = browser.get(&format!("{keys_url}?notice=revoked")).await;
    assert!(after.body.contains("The secret key is revoked"));
    assert!(!after.body.contains(&masked));
    // Gone: once is enough.
    let twice = browser
        .post_form(&revoke_url, &[("csrf_token", confirm.csrf().as_str())])
        .await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);

    // The last key is not revoked: the confirmation says what to do, and the key still works.
    let new_id = server.orbit().secret_keys(&dev).await.unwrap()[0]
        .id
        .clone();
    let last_url = format!("{keys_url}/{new_id}/revoke");
    let refused = browser
        .post_form(&last_url, &[("csrf_token", confirm.csrf().as_str())])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("only secret key ("),
        "{}",
        refused.body
    );
    assert_eq!(
        backend_with(&server, &new_key).get("/v1/users").await.0,
        StatusCode::OK
    );

    let entries = audit(&server).await;
    assert_eq!(
        actions(&entries)[..2],
        ["secret_key.revoked", "secret_key.created"]
    );
    for e in &entries[..2] {
        assert_eq!(e.instance_id.as_deref(), Some(dev.id.as_str()));
        assert_eq!(e.operator_email.as_deref(), Some(ROOT));
        assert!(!e.detail.contains(&new_key), "no secret in the log");
    }
    assert_eq!(entries[0].target, old_id);
    assert!(entries[0].detail.contains(&masked), "{}", entries[0].detail);
}

/// Two nodes on one store: a key revoked on one is refused there at once, and by the other
/// once its cached lookup expires (`key_cache_ttl`, docs/design/dashboard.md "API keys").
#[tokio::test]
async fn a_key_revoked_on_one_node_is_refused_by_another_within_the_key_cache_ttl() {
    let (a, clock, store, instance) = setup(settings()).await;
    let b = orbit_on(store, &clock, settings());
    let old = a.credentials(&instance).await.unwrap().secret_key;
    let (_, new) = a.create_secret_key(&instance).await.unwrap();
    for n in [&a, &b] {
        assert!(n.instance_for_secret_key(&old).await.unwrap().is_some());
    }
    let old_id = a.secret_keys(&instance).await.unwrap()[0].id.clone();
    a.revoke_secret_key(&instance, &old_id).await.unwrap();
    assert!(
        a.instance_for_secret_key(&old).await.unwrap().is_none(),
        "at once here"
    );
    let ttl = b.settings().key_cache_ttl;
    assert_eq!(
        ttl,
        10 * SECOND,
        "the bound docs/design/dashboard.md states"
    );
    clock.advance_ms(ttl - 1);
    assert!(
        b.instance_for_secret_key(&old).await.unwrap().is_some(),
        "the other node's cached lookup, until it expires"
    );
    clock.advance_ms(1);
    assert!(b.instance_for_secret_key(&old).await.unwrap().is_none());
    for n in [&a, &b] {
        assert!(n.instance_for_secret_key(&new).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn a_production_instance_is_created_from_the_dashboard_with_its_dns_record() {
    let (server, browser) = signed_in_server().await;
    let dev = dev_instance(&server).await;
    let url = server.url(&format!("/dashboard/instances/{}/production", dev.id));
    let form = browser.get(&url).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form
        .body
        .contains("A production instance of <strong>My application</strong>"));
    assert_inputs_labelled(&form.body);
    let csrf = form.csrf();
    // The CLI's rules, and the domain as typed kept in the form.
    for (domain, says) in [
        ("", "Enter a domain name such as satellite.example.com"),
        ("co.uk", "is a public suffix shared by unrelated sites"),
        ("localhost", "is a local name"),
        ("shop.example:8443", "has a port"),
        ("https://shop.example/path", "must be a bare host name"),
    ] {
        let r = browser
            .post_form(&url, &[("csrf_token", csrf.as_str()), ("domain", domain)])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{domain}");
        assert!(r.body.contains(says), "{domain}: {}", r.body);
        assert!(r.body.contains("aria-invalid=\"true\""));
        assert!(
            r.body.contains(&format!("value=\"{domain}\"")),
            "kept: {domain}"
        );
    }
    assert_eq!(server.orbit().instances().await.unwrap().len(), 1);

    let r = browser
        .post_form(
            &url,
            &[("csrf_token", csrf.as_str()), ("domain", " Shop.Example ")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let instances = server.orbit().instances().await.unwrap();
    assert_eq!(instances.len(), 2);
    let prod = &instances[1];
    assert_eq!(prod.kind, InstanceKind::Production);
    assert_eq!(prod.application_id, dev.application_id);
    let domains_url = format!(
        "/dashboard/instances/{}/domains?tab=primary&notice=created",
        prod.id
    );
    assert_eq!(r.location(), Some(domains_url.as_str()));
    let page = browser.get(&server.url(&domains_url)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Production instance created."),
        "{}",
        page.body
    );
    let target = server.config.cname_target(&server.base);
    assert_eq!(
        text_of(&page.body, "primary-record"),
        format!("clerk.shop.example CNAME {target}")
    );
    assert_eq!(
        text_of(&page.body, "primary-fapi-url"),
        "https://clerk.shop.example"
    );
    assert!(page.body.contains("configure smtp_host and smtp_from"));
    // Its keys are there: a production publishable key for clerk.shop.example.
    let keys = browser
        .get(&server.url(&format!("/dashboard/instances/{}/keys", prod.id)))
        .await;
    let pk = text_of(&keys.body, "publishable-key");
    assert!(pk.starts_with("pk_live_"), "{pk}");
    assert_eq!(
        orbit_proto::PublishableKey::parse(&pk).unwrap().fapi_host,
        "clerk.shop.example"
    );
    // A domain taken is refused.
    let taken = browser
        .post_form(
            &url,
            &[("csrf_token", csrf.as_str()), ("domain", "shop.example")],
        )
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.body.contains("already registered"), "{}", taken.body);

    let entries = audit(&server).await;
    assert_eq!(actions(&entries)[0], "instance.production_created");
    assert_eq!(entries[0].target, prod.id);
    assert_eq!(entries[0].instance_id.as_deref(), Some(prod.id.as_str()));
    assert!(entries[0].detail.contains("shop.example"));
    assert_eq!(
        actions(&entries)
            .iter()
            .filter(|a| a.starts_with("instance."))
            .count(),
        1,
        "refusals are not audited"
    );
}

/// The world's dashboard, signed in as `ROOT` on `https://orbit.test`.
async fn world_dashboard(world: &ProdWorld) -> WorldBrowser {
    admin_create(&world.server, ROOT, GOOD_PASSWORD)
        .await
        .unwrap();
    let browser = world.browser();
    let hops = browser
        .submit(
            "https://orbit.test/dashboard/sign-in",
            "/dashboard/sign-in",
            &[("email_address", ROOT), ("password", GOOD_PASSWORD)],
        )
        .await;
    assert_eq!(hops.last().unwrap().status, StatusCode::OK);
    browser
}

fn last(hops: &[Hop]) -> &Hop {
    let hop = hops.last().unwrap();
    assert_eq!(hop.status, StatusCode::OK, "{hops:#?}");
    hop
}

#[tokio::test]
async fn a_satellite_is_added_pending_until_its_record_exists_verified_then_removed() {
    let world = ProdWorld::start().await;
    let browser = world_dashboard(&world).await;
    let id = &world.instance.id;
    let domains = format!("https://orbit.test/dashboard/instances/{id}/domains");
    // Primary: the domain, its Frontend API host, its record, its status.
    let primary = browser.get(&domains).await;
    assert_eq!(primary.status, StatusCode::OK, "{}", primary.body);
    assert!(primary
        .body
        .contains("id=\"tab-primary\" aria-current=\"page\""));
    assert_eq!(
        text_of(&primary.body, "primary-record"),
        "clerk.primary.test CNAME orbit.test"
    );
    assert_eq!(text_of(&primary.body, "primary-status"), "Verified");
    // Satellites: none yet, and the button to add one.
    let tab = browser.get(&format!("{domains}?tab=satellites")).await;
    assert!(tab
        .body
        .contains("id=\"tab-satellites\" aria-current=\"page\""));
    assert!(tab.body.contains("No satellite domains yet"));
    assert!(tab.body.contains(&format!(
        "<a class=\"button\" href=\"/dashboard/instances/{id}/domains/satellites/new\" id=\"add-satellite\">Add satellite domain</a>"
    )));
    let form_url = format!("{domains}/satellites/new");
    let form = browser.get(&form_url).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<label for=\"name\">Domain</label>"));
    assert_inputs_labelled(&form.body);
    let action = format!("/dashboard/instances/{id}/domains/satellites");

    // `orbit domain add-satellite`'s rules, the name kept in the form.
    for (name, says) in [
        ("co.uk", "is a public suffix"),
        ("primary.test", "is this instance"),
        ("localhost:3001", "has a port"),
        ("", "Enter a domain name"),
    ] {
        let hops = browser.submit(&form_url, &action, &[("name", name)]).await;
        let r = hops.last().unwrap();
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(r.body.contains(says), "{name}: {}", r.body);
        assert!(r.body.contains(&format!("value=\"{name}\"")));
    }
    // Added: Pending, with the exact record to create.
    let hops = browser
        .submit(&form_url, &action, &[("name", "Unverified.test")])
        .await;
    let added = last(&hops);
    let d = world
        .server
        .orbit()
        .find_domain(&world.instance, "unverified.test")
        .await
        .unwrap();
    assert!(
        added
            .url
            .contains(&format!("?tab=satellites&page=1&added={}", d.id)),
        "{}",
        added.url
    );
    assert!(added
        .body
        .contains("Added unverified.test. Create its DNS record below, then press Verify."));
    assert_eq!(text_of(&added.body, &format!("{}-status", d.id)), "Pending");
    assert_eq!(
        text_of(&added.body, &format!("{}-record", d.id)),
        "clerk.unverified.test CNAME orbit.test"
    );
    assert!(added.body.contains("<h4>DNS Configuration</h4>"));
    // Its app's variables, ready to copy; the secret key left for the operator to fill in.
    let next = text_of(&added.body, &format!("env-{}-nextjs", d.id));
    let pk_line = format!(
        "NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY={}",
        world.publishable_key
    );
    for line in [
        pk_line.as_str(),
        "CLERK_SECRET_KEY=\n",
        "CLERK_API_URL=https://orbit.test/bapi",
        "NEXT_PUBLIC_CLERK_IS_SATELLITE=true",
        "NEXT_PUBLIC_CLERK_DOMAIN=unverified.test",
        "NEXT_PUBLIC_CLERK_SIGN_IN_URL=https://primary.test/sign-in",
    ] {
        assert!(next.contains(line), "{line} in {next}");
    }
    let rust = text_of(&added.body, &format!("env-{}-rustsdk", d.id));
    assert!(rust.contains("CLERK_DOMAIN=unverified.test"), "{rust}");
    assert!(rust.starts_with(&format!("CLERK_PUBLISHABLE_KEY={}", world.publishable_key)));
    assert!(!added.body.contains(&world.secret_key));
    assert!(added
        .body
        .contains(&orbit_core::keys::mask_secret_key(&world.secret_key)));
    // A name taken is refused.
    let hops = browser
        .submit(&form_url, &action, &[("name", "unverified.test")])
        .await;
    assert_eq!(
        hops.last().unwrap().status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(hops.last().unwrap().body.contains("already registered"));

    // Verify before the record exists: Failed, with the reason and when.
    let verify = format!("/dashboard/instances/{id}/domains/{}/verify", d.id);
    let tab_url = format!("{domains}?tab=satellites");
    let checked = browser.submit(&tab_url, &verify, &[]).await;
    let failed = last(&checked);
    assert_eq!(text_of(&failed.body, &format!("{}-status", d.id)), "Failed");
    let detail = text_of(&failed.body, &format!("{}-detail", d.id));
    assert!(
        detail.starts_with("Last check 20") && detail.contains("does not exist in DNS (NXDOMAIN)"),
        "{detail}"
    );
    assert!(failed.body.contains("unverified.test is not verified"));
    // The satellite's Frontend API host is refused meanwhile.
    let handshake = handshake_url(
        "clerk.unverified.test",
        "https://unverified.test/",
        "satellite-needs-syncing",
    );
    assert_eq!(
        world.browser().get(&handshake).await.status,
        StatusCode::MISDIRECTED_REQUEST
    );

    // The record is created; Verify passes.
    world
        .dns
        .set("clerk.unverified.test", Answer::Cname("orbit.test"));
    let checked = browser.submit(&tab_url, &verify, &[]).await;
    let verified = last(&checked);
    assert_eq!(
        text_of(&verified.body, &format!("{}-status", d.id)),
        "Verified"
    );
    assert!(verified.body.contains("unverified.test is verified."));
    let hop = world.browser().get(&handshake).await;
    assert_ne!(hop.status, StatusCode::MISDIRECTED_REQUEST, "{}", hop.body);

    // Remove, after a confirmation page.
    let remove = format!("/dashboard/instances/{id}/domains/{}/remove", d.id);
    let confirm = browser.get(&format!("https://orbit.test{remove}")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm
        .body
        .contains("<h1>Remove the satellite domain unverified.test?</h1>"));
    assert!(
        world
            .server
            .orbit()
            .find_domain(&world.instance, "unverified.test")
            .await
            .is_ok(),
        "the confirmation page changes nothing"
    );
    let hops = browser
        .submit(&format!("https://orbit.test{remove}"), &remove, &[])
        .await;
    let gone = last(&hops);
    assert!(
        gone.url.ends_with("?tab=satellites&notice=removed"),
        "{}",
        gone.url
    );
    assert!(world
        .server
        .orbit()
        .find_domain(&world.instance, "unverified.test")
        .await
        .is_err());
    assert!(gone.body.contains("The satellite domain is removed."));
    assert!(!gone.body.contains("unverified.test"));
    assert_eq!(
        world.browser().get(&handshake).await.status,
        StatusCode::NOT_FOUND,
        "no instance serves the removed satellite's host"
    );

    let entries = audit(&world.server).await;
    assert_eq!(
        actions(&entries)[..4],
        [
            "domain.satellite_removed",
            "domain.satellite_checked",
            "domain.satellite_checked",
            "domain.satellite_added"
        ]
    );
    assert!(
        entries[1].detail.contains("\"verified\":true"),
        "{}",
        entries[1].detail
    );
    assert!(
        entries[2].detail.contains("NXDOMAIN"),
        "{}",
        entries[2].detail
    );
    for e in &entries[..4] {
        assert_eq!(e.target, d.id);
        assert_eq!(e.instance_id.as_deref(), Some(id.as_str()));
    }
}

#[tokio::test]
async fn development_satellites_need_no_dns_and_long_lists_paginate() {
    let (server, browser) = signed_in_server().await;
    let dev = dev_instance(&server).await;
    let base = server.url(&format!("/dashboard/instances/{}/domains", dev.id));
    let form = browser.get(&format!("{base}/satellites/new")).await;
    let r = browser
        .post_form(
            &format!("{base}/satellites"),
            &[
                ("csrf_token", form.csrf().as_str()),
                ("name", "http://localhost:3001"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = browser.get(&server.url(r.location().unwrap())).await;
    assert!(page
        .body
        .contains("Added localhost:3001. Development satellites need no DNS: it works now."));
    let d = server
        .orbit()
        .find_domain(&dev, "localhost:3001")
        .await
        .unwrap();
    assert_eq!(text_of(&page.body, &format!("{}-status", d.id)), "Verified");
    assert!(!page.body.contains("/verify\""), "nothing to verify");
    let next = text_of(&page.body, &format!("env-{}-nextjs", d.id));
    assert!(
        next.contains("NEXT_PUBLIC_CLERK_PROXY_URL=http://localhost:"),
        "{next}"
    );
    assert!(next.contains("NEXT_PUBLIC_CLERK_DOMAIN=localhost:3001"));
    assert!(next.contains("NEXT_PUBLIC_CLERK_SIGN_IN_URL=http://localhost:3000/sign-in"));
    let rust = text_of(&page.body, &format!("env-{}-rustsdk", d.id));
    assert!(!rust.contains("PROXY_URL"), "{rust}");
    assert!(rust.contains("CLERK_SIGN_IN_URL=http://localhost:3000/sign-in"));

    // 51 satellites: 50 a page, in the order the store lists them.
    for port in 3002..3052 {
        server
            .orbit()
            .add_satellite(&dev, &format!("localhost:{port}"))
            .await
            .unwrap();
    }
    let satellites: Vec<_> = server
        .orbit()
        .domains(&dev)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.is_satellite)
        .collect();
    assert_eq!(satellites.len(), 51);
    let last_one = &satellites[50];
    let first = browser.get(&format!("{base}?tab=satellites")).await;
    assert!(
        first.body.contains("Page 1 of 2 (51 in all)"),
        "{}",
        first.body
    );
    assert_eq!(
        first.body.matches("<article class=\"satellite\"").count(),
        50
    );
    assert!(first
        .body
        .contains("?tab=satellites&#38;page=2\" rel=\"next\""));
    let second = browser.get(&format!("{base}?tab=satellites&page=2")).await;
    assert_eq!(
        second.body.matches("<article class=\"satellite\"").count(),
        1
    );
    assert!(second.body.contains(&format!("id=\"{}\"", last_one.id)));
    assert!(second.body.contains("rel=\"prev\""));
    // Checking the one on page 2 leads back to page 2.
    let r = browser
        .post_form(
            &format!("{base}/{}/verify", last_one.id),
            &[("csrf_token", first.csrf().as_str())],
        )
        .await;
    assert_eq!(
        r.location(),
        Some(
            format!(
                "/dashboard/instances/{}/domains?tab=satellites&page=2&checked={}#{}",
                dev.id, last_one.id, last_one.id
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn allowed_redirect_origins_are_added_and_removed_under_the_clis_rules() {
    let (server, browser) = signed_in_server().await;
    let dev = dev_instance(&server).await;
    let url = server.url(&format!("/dashboard/instances/{}/redirect-origins", dev.id));
    let page = browser.get(&url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"no-origins\""));
    assert_inputs_labelled(&page.body);
    let csrf = page.csrf();
    let add = |origin: &'static str| {
        let (browser, url, csrf) = (&browser, &url, &csrf);
        async move {
            browser
                .post_form(url, &[("csrf_token", csrf.as_str()), ("origin", origin)])
                .await
        }
    };
    let r = add(" https://*.preview.example.com ").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = add("https://app.example.com").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for (origin, says) in [
        ("https://app-*.example.com", "whole leftmost label"),
        ("https://*.com", "public suffix"),
        ("https://app.example.com/callback", "without a path"),
        ("ftp://files.example.com", "scheme must be https or http"),
        ("", "empty"),
        ("https://*.preview.example.com:443", "is allowed already"),
    ] {
        let r = add(origin).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{origin}");
        assert!(r.body.contains(says), "{origin}: {}", r.body);
        assert!(r
            .body
            .contains("Enter an origin such as https://app.example.com"));
        assert!(r.body.contains(&format!("value=\"{origin}\"")), "kept");
    }
    let instance = server.orbit().instance(&dev.id).await.unwrap();
    assert_eq!(
        instance.settings.allowed_redirect_origins,
        ["https://*.preview.example.com", "https://app.example.com"]
    );
    // The Backend API reads the same list.
    let (_, json) = server.backend().get("/v1/instance").await;
    assert_eq!(
        json["allowed_redirect_origins"][1],
        "https://app.example.com"
    );
    let list = browser.get(&format!("{url}?notice=added")).await;
    assert!(list.body.contains("The origin is allowed."));
    assert!(list
        .body
        .contains("<code>https://*.preview.example.com</code>"));

    let remove = || {
        let (browser, url, csrf) = (&browser, &url, &csrf);
        async move {
            browser
                .post_form(
                    &format!("{url}/remove"),
                    &[
                        ("csrf_token", csrf.as_str()),
                        ("origin", "https://app.example.com"),
                    ],
                )
                .await
        }
    };
    let r = remove().await;
    assert_eq!(
        r.location(),
        Some(
            format!(
                "/dashboard/instances/{}/redirect-origins?notice=removed",
                dev.id
            )
            .as_str()
        )
    );
    let r = remove().await;
    assert!(r.location().unwrap().ends_with("?notice=gone"));
    let instance = server.orbit().instance(&dev.id).await.unwrap();
    assert_eq!(
        instance.settings.allowed_redirect_origins,
        ["https://*.preview.example.com"]
    );
    let entries = audit(&server).await;
    assert_eq!(
        actions(&entries)[..3],
        [
            "instance.redirect_origin_removed",
            "instance.redirect_origin_added",
            "instance.redirect_origin_added"
        ]
    );
    assert_eq!(
        entries[2].target, "https://*.preview.example.com",
        "trimmed"
    );
}

/// What the instance pages could change, to compare before and after a refused request.
async fn snapshot(orbit: &Orbit) -> String {
    let mut out = String::new();
    for i in orbit.instances().await.unwrap() {
        let keys: Vec<String> = orbit
            .secret_keys(&i)
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.id)
            .collect();
        out += &format!(
            "{} {:?} {keys:?} {:?}\n",
            i.id,
            i.settings.allowed_redirect_origins,
            orbit.domains(&i).await.unwrap()
        );
    }
    out
}

#[tokio::test]
async fn every_form_refuses_a_missing_or_foreign_token_a_signed_out_browser_and_another_instances_ids(
) {
    let (server, browser) = signed_in_server().await;
    let orbit = server.orbit();
    let dev = dev_instance(&server).await;
    let prod = orbit
        .create_production_instance(&dev.application_id, "shop.example")
        .await
        .unwrap();
    let dev_sat = orbit.add_satellite(&dev, "localhost:3001").await.unwrap();
    let prod_sat = orbit.add_satellite(&prod, "sat.example").await.unwrap();
    orbit.create_secret_key(&dev).await.unwrap();
    let dev_key = orbit.secret_keys(&dev).await.unwrap()[0].id.clone();
    let prod_key = orbit.secret_keys(&prod).await.unwrap()[0].id.clone();
    orbit
        .add_allowed_redirect_origin(&dev.id, "https://app.example.com")
        .await
        .unwrap();
    // A second operator, whose session token is not this browser's.
    admin_create(&server, "other@example.com", GOOD_PASSWORD)
        .await
        .unwrap();
    let other = server.browser();
    sign_in(&other, "other@example.com", GOOD_PASSWORD).await;
    let foreign_token = other.get(&server.url("/dashboard")).await.csrf();
    let own_token = browser.get(&server.url("/dashboard")).await.csrf();
    let evil = Browser {
        http: browser.http.clone(),
        origin: "https://evil.example".into(),
    };
    let signed_out = server.browser();

    let i = |id: &str, rest: &str| server.url(&format!("/dashboard/instances/{id}{rest}"));
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (i(&dev.id, "/keys"), vec![]),
        (i(&dev.id, &format!("/keys/{dev_key}/revoke")), vec![]),
        (
            i(&dev.id, "/domains/satellites"),
            vec![("name", "localhost:3009")],
        ),
        (
            i(&prod.id, &format!("/domains/{}/verify", prod_sat.id)),
            vec![],
        ),
        (
            i(&dev.id, &format!("/domains/{}/remove", dev_sat.id)),
            vec![],
        ),
        (
            i(&dev.id, "/redirect-origins"),
            vec![("origin", "https://b.example.com")],
        ),
        (
            i(&dev.id, "/redirect-origins/remove"),
            vec![("origin", "https://app.example.com")],
        ),
        (i(&dev.id, "/production"), vec![("domain", "shop2.example")]),
    ];
    let before = snapshot(orbit).await;
    let audited = audit(&server).await.len();
    for (url, fields) in &forms {
        fn with<'a>(
            fields: &[(&'a str, &'a str)],
            token: Option<&'a str>,
        ) -> Vec<(&'a str, &'a str)> {
            let mut f = fields.to_vec();
            if let Some(t) = token {
                f.push(("csrf_token", t));
            }
            f
        }
        for (who, token, what) in [
            (&browser, None, "no token"),
            (
                &browser,
                Some(foreign_token.as_str()),
                "another session's token",
            ),
            (&evil, Some(own_token.as_str()), "another origin"),
        ] {
            let r = who.post_form(url, &with(fields, token)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{url}: {what}");
            assert!(r.body.contains("This form has expired"), "{url}: {what}");
        }
        let r = signed_out
            .post_form(url, &with(fields, Some(&own_token)))
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{url}: signed out");
        assert_eq!(r.location(), Some("/dashboard/sign-in"));
    }
    // Signed out, every page sends to sign-in.
    for rest in [
        "/keys",
        "/domains",
        "/domains?tab=satellites",
        "/domains/satellites/new",
        &format!("/domains/{}/remove", dev_sat.id),
        &format!("/keys/{dev_key}/revoke"),
        "/redirect-origins",
        "/production",
    ] {
        let r = signed_out.get(&i(&dev.id, rest)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{rest}");
        assert_eq!(r.location(), Some("/dashboard/sign-in"), "{rest}");
    }
    // Another instance's ids, or none: 404, with the session's own token too.
    for url in [
        i(&dev.id, &format!("/keys/{prod_key}/revoke")),
        i(&dev.id, &format!("/domains/{}/verify", prod_sat.id)),
        i(&dev.id, &format!("/domains/{}/remove", prod_sat.id)),
        i(&prod.id, &format!("/domains/{}/remove", dev_sat.id)),
        i("ins_nope", "/keys"),
        i("ins_nope", "/production"),
        i("ins_nope", "/domains/satellites"),
    ] {
        let r = browser
            .post_form(
                &url,
                &[
                    ("csrf_token", own_token.as_str()),
                    ("domain", "shop3.example"),
                    ("name", "localhost:3010"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "POST {url}: {}", r.body);
        assert!(r.body.contains("href=\"/dashboard\""), "leads back");
    }
    for url in [
        i(&dev.id, &format!("/keys/{prod_key}/revoke")),
        i(&dev.id, &format!("/domains/{}/remove", prod_sat.id)),
        i("ins_nope", "/keys"),
        i("ins_nope", "/domains"),
        i("ins_nope", "/redirect-origins"),
    ] {
        let r = browser.get(&url).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "GET {url}");
    }
    assert_eq!(snapshot(orbit).await, before, "nothing changed");
    assert_eq!(audit(&server).await.len(), audited, "nothing audited");
    // The same forms with the session's token and origin do change things (the refusals
    // were the checks').
    let r = browser
        .post_form(&forms[0].0, &[("csrf_token", own_token.as_str())])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_ne!(snapshot(orbit).await, before);
}
