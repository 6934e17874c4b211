//! The per-account sign-in limits over HTTP (docs/design/sessions-and-tokens.md "Abuse limits"):
//! a stranger's failures brake the stranger's source, not the owner; many sources together are
//! paced, not locked out; racing failures cannot overshoot the limit.

use crate::harness::*;
use orbit_core::clock::{Clock, ManualClock, SystemClock, SECOND};
use reqwest::StatusCode;

const ADA: &str = "ada@example.com";

async fn attempt(server: &TestServer, ip: &str, password: &str) -> reqwest::Response {
    server
        .sign_in_from(ip, ADA, password)
        .await
        .send()
        .await
        .unwrap()
}

fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_strangers_failures_do_not_lock_the_owner_out() {
    let server = TestServer::behind_proxy(1000, 10_000).await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    // The attacker fails 10 times from one address, then is braked there.
    for _ in 0..10 {
        let r = attempt(&server, "203.0.113.66", "wrong password").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    for password in ["wrong password", GOOD_PASSWORD] {
        let r = attempt(&server, "203.0.113.66", password).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!((1..=300).contains(&retry_after(&r)));
    }
    // The owner, from their own address, is not.
    let r = attempt(&server, "198.51.100.7", GOOD_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The owner's own failures still brake the owner's source, and only it.
    for _ in 0..10 {
        let r = attempt(&server, "2001:db8:7::1", "wrong password").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Another address of the same IPv6 /64 is the same source.
    let r = attempt(&server, "2001:db8:7::2", GOOD_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let r = attempt(&server, "198.51.100.7", GOOD_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn many_sources_are_paced_by_the_account_ceiling_and_the_owner_gets_in() {
    let clock = ManualClock::new(SystemClock.now_ms());
    // Six failures an hour from all sources, then one attempt per 10 minutes.
    let server = TestServer::start_with_clock_and(&clock, |c| {
        c.limits.per_account_per_hour = 6;
        c.limits.per_ip_burst = 1000;
        c.limits.per_ip_per_minute = 1000;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let pace = 600;
    let attacker = |n: u32| format!("203.0.113.{n}");
    // Each source stays far below its own brake.
    for n in 1..=6 {
        let r = attempt(&server, &attacker(n), "wrong password").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "source {n}");
    }
    // Past the ceiling every source, new or not, gets the next free slot, one pace apart.
    let r = attempt(&server, &attacker(7), "wrong password").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&r), pace);
    let owner = "198.51.100.7";
    let r = attempt(&server, owner, GOOD_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "slowed");
    assert_eq!(retry_after(&r), 2 * pace);
    for (n, slot) in [(8, 3), (9, 4), (1, 5)] {
        let r = attempt(&server, &attacker(n), "wrong password").await;
        assert_eq!(retry_after(&r), slot * pace, "source {n}");
    }
    // Asking again neither helps nor costs the owner its slot.
    let r = attempt(&server, owner, GOOD_PASSWORD).await;
    assert_eq!(retry_after(&r), 2 * pace);

    clock.advance_ms(pace as i64 * SECOND);
    let r = attempt(&server, &attacker(7), "wrong password").await;
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "its slot: one guess"
    );
    let r = attempt(&server, &attacker(7), "wrong password").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "and no more");
    // Attackers coming early get nothing; the owner's slot stays the owner's.
    for n in [8, 9, 10, 11] {
        let r = attempt(&server, &attacker(n), "wrong password").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "source {n}");
    }
    clock.advance_ms(pace as i64 * SECOND);
    let r = attempt(&server, owner, GOOD_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the owner gets in");
}

#[tokio::test]
async fn racing_failures_do_not_overshoot_the_account_limit() {
    let server = TestServer::account_limited(3).await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    // Twenty wrong passwords from one source, sent at once.
    let mut requests = Vec::new();
    for _ in 0..20 {
        requests.push(
            server
                .sign_in_from("127.0.0.1", ADA, "wrong password")
                .await,
        );
    }
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|r| tokio::spawn(async move { r.send().await.unwrap().status() }))
        .collect();
    let mut checked = 0;
    let mut limited = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::UNPROCESSABLE_ENTITY => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!(
        (checked, limited),
        (3, 17),
        "exactly the limit's worth of passwords checked"
    );
}

/// Item 9: an attempt the server sheds because the argon2 queue is full (503 with
/// `Retry-After`) never had its password checked, so it is not recorded as a failure: shedding
/// load must not brake the account's owner. Costly hashes and many simultaneous attempts from
/// as many sources fill the queue (cores + 8 per core).
#[tokio::test]
async fn attempts_shed_by_a_full_hash_queue_are_not_failures() {
    let server = flooded_server().await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let mut ready = Vec::new();
    for i in 0..80 {
        ready.push(
            server
                .sign_in_from(&format!("198.51.100.{}", i + 1), ADA, "wrong password")
                .await,
        );
    }
    let mut racing = tokio::task::JoinSet::new();
    for r in ready {
        racing.spawn(async move { r.send().await.unwrap() });
    }
    let (mut checked, mut shed) = (0, 0);
    while let Some(r) = racing.join_next().await {
        let r = r.unwrap();
        match r.status() {
            StatusCode::UNPROCESSABLE_ENTITY => checked += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(retry_after(&r), 1);
                shed += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        shed > 0,
        "the queue never filled ({checked} checked): the test shows nothing"
    );
    let db = server.dir.path().join("orbit.db");
    let store = orbit_storage::SqliteStore::open(&db).await.unwrap();
    let failures = store.row_counts().await.unwrap()["failed_sign_ins"];
    store.close().await;
    assert_eq!(
        failures, checked,
        "{checked} passwords checked and {shed} shed: only the checked ones are failures"
    );
}

/// Items 8 and 9: while a flood from many sources keeps the hash queue full, a browser that
/// signed in to the account before (it holds the account's device cookie) still gets in; a new
/// browser for the same account, and the device cookie used for another account, are shed
/// with the flood.
#[tokio::test]
async fn a_known_device_gets_in_while_a_flood_is_shed() {
    let server = flooded_server().await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    server.create_user("bob@example.com", GOOD_PASSWORD).await;
    // Ada's own browser signs in once, quietly, and keeps the device cookie.
    let first = server.browser().sign_in(ADA, GOOD_PASSWORD).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let device = first
        .set_cookies()
        .iter()
        .find_map(|c| c.strip_prefix("__orbit_device="))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .expect("a device cookie at sign-in");
    assert!(first
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("__orbit_device=") && c.contains("HttpOnly")));
    let mut flood = Vec::new();
    for i in 0..80 {
        let ip = format!("2001:db8:{i:x}::1");
        flood.push(server.sign_in_from(&ip, ADA, "wrong password").await);
    }
    let known = ready(&server, ADA, Some(&device)).await;
    let unknown = ready(&server, ADA, None).await;
    let known_for_bob = ready(&server, "bob@example.com", Some(&device)).await;
    let mut racing = tokio::task::JoinSet::new();
    for r in flood {
        racing.spawn(async move { r.send().await.unwrap().status() });
    }
    // Once the flood has filled the queue (some attackers already shed), the three try.
    let mut statuses = Vec::new();
    while !statuses.contains(&StatusCode::SERVICE_UNAVAILABLE) {
        statuses.push(
            racing
                .join_next()
                .await
                .expect("the queue never filled")
                .unwrap(),
        );
    }
    let (known, unknown, known_for_bob) = tokio::join!(
        async { known.send().await.unwrap().status() },
        async { unknown.send().await.unwrap().status() },
        async { known_for_bob.send().await.unwrap().status() },
    );
    assert_eq!(
        known,
        StatusCode::SEE_OTHER,
        "the owner's known device gets in"
    );
    assert_eq!(
        unknown,
        StatusCode::SERVICE_UNAVAILABLE,
        "a new browser waits like everyone"
    );
    assert_eq!(
        known_for_bob,
        StatusCode::SERVICE_UNAVAILABLE,
        "a device is known only for its own account"
    );
    while racing.join_next().await.is_some() {}
}

/// A sign-in POST with the right password from a fresh browser (its own source), carrying the
/// device cookie `device` if given: CSRF fetched, ready to send.
async fn ready(server: &TestServer, email: &str, device: Option<&str>) -> reqwest::RequestBuilder {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(server.url("/sign-in")).send().await.unwrap();
    let csrf_cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| v.to_str().unwrap().strip_prefix("__orbit_csrf="))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .expect("a CSRF cookie");
    let csrf = hidden(&page.text().await.unwrap(), "csrf_token").unwrap();
    let mut cookies = format!("__orbit_csrf={csrf_cookie}");
    if let Some(d) = device {
        cookies.push_str(&format!("; __orbit_device={d}"));
    }
    http.post(server.url("/sign-in"))
        .header("origin", &server.base)
        .header("x-forwarded-for", "192.0.2.77")
        .header("cookie", cookies)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email_address", email),
            ("password", GOOD_PASSWORD),
        ])
}

/// A server behind a trusted proxy whose only limit in reach is the hash queue: costly hashes
/// (about 100 ms each) and limits far above what a test sends.
async fn flooded_server() -> TestServer {
    TestServer::start_with(|c| {
        c.password_hash.memory_kib = 65_536;
        c.password_hash.iterations = 4;
        c.limits.per_ip_burst = 1000;
        c.limits.per_ip_per_minute = 1000;
        c.limits.per_instance_per_minute = 100_000;
        c.limits.per_account_per_hour = 100_000;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await
}
