//! What a proxy or a client may claim: the per-IP limit counts an IPv6 /64 as one source,
//! forwarding headers count only their right-most entry and only from a trusted proxy, and https
//! answers carry HSTS.

use crate::harness::*;
use crate::world::ProdWorld;
use reqwest::StatusCode;

#[tokio::test]
async fn an_ipv6_slash_64_is_one_source_for_the_per_ip_limit() {
    let server = TestServer::behind_proxy(1, 1000).await;
    for (ip, expected) in [
        ("2001:db8:1:2::1", StatusCode::UNPROCESSABLE_ENTITY),
        // Another address of the same /64: the same source, out of budget.
        ("2001:db8:1:2:ffff::7", StatusCode::TOO_MANY_REQUESTS),
        ("2001:db8:1:2::2", StatusCode::TOO_MANY_REQUESTS),
        // Another /64 is another source.
        ("2001:db8:1:3::1", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        assert_eq!(
            server.failed_sign_in_from(ip).await.status(),
            expected,
            "{ip}"
        );
    }
}

#[tokio::test]
async fn forwarded_host_counts_its_right_most_entry_from_a_trusted_proxy_only() {
    let proxied = TestServer::start_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let direct = TestServer::start().await;
    let jwks = |server: &TestServer, forwarded_host: String| {
        reqwest::Client::new()
            .get(server.url("/.well-known/jwks.json"))
            .header("x-forwarded-host", forwarded_host)
            .send()
    };
    let host = |server: &TestServer| server.base.trim_start_matches("http://").to_owned();
    for (forwarded_host, expected) in [
        // The proxy appends the host it received; what the client sent stands to its left.
        (format!("evil.test, {}", host(&proxied)), StatusCode::OK),
        (
            format!("{}, evil.test", host(&proxied)),
            StatusCode::NOT_FOUND,
        ),
        ("evil.test".to_owned(), StatusCode::NOT_FOUND),
    ] {
        let r = jwks(&proxied, forwarded_host.clone()).await.unwrap();
        assert_eq!(r.status(), expected, "{forwarded_host}");
    }
    // From a peer that is not a trusted proxy, the header is ignored: Host decides.
    let r = jwks(&direct, "evil.test".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn https_answers_carry_hsts_and_http_ones_do_not() {
    let world = ProdWorld::start().await;
    let browser = world.browser();
    let r = browser
        .http
        .get("https://clerk.primary.test/.well-known/jwks.json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["strict-transport-security"],
        "max-age=31536000",
        "over TLS"
    );

    let proxied = TestServer::start_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let get = |proto: &'static str| {
        reqwest::Client::new()
            .get(proxied.url("/.well-known/jwks.json"))
            .header("x-forwarded-proto", proto)
            .send()
    };
    let behind_tls = get("http, https").await.unwrap();
    assert_eq!(
        behind_tls.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    for proto in ["http", "https, http"] {
        let r = get(proto).await.unwrap();
        assert!(
            !r.headers().contains_key("strict-transport-security"),
            "{proto}"
        );
    }
    let plain = reqwest::get(TestServer::start().await.url("/health"))
        .await
        .unwrap();
    assert!(!plain.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start_with(|c| c.header_read_timeout_secs = 1).await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: ")
        .await
        .unwrap();
    // The server closes the connection (perhaps after a 408) instead of waiting for ever; the
    // bound is generous, the timeout is 1 s.
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        slow.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "the connection was still open after 20 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    // A client that sends its request at once is served as usual.
    let ok = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn many_sources_together_meet_the_instance_ceiling() {
    // Each source stays within its own budget; together they reach the instance's ceiling, and
    // what is beyond it is shed with 503 and Retry-After instead of queueing password hashes.
    let server = TestServer::behind_proxy(5, 3).await;
    for n in 1..=3 {
        let r = server.failed_sign_in_from(&format!("198.51.100.{n}")).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "source {n}");
    }
    let shed = server.failed_sign_in_from("198.51.100.4").await;
    assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(shed.headers().contains_key("retry-after"));
    // A source over its own budget does not use up the instance's: it gets 429 before the
    // ceiling is consulted.
    let limited = TestServer::behind_proxy(1, 2).await;
    let mut statuses = Vec::new();
    for ip in ["203.0.113.1", "203.0.113.1", "203.0.113.1", "203.0.113.2"] {
        statuses.push(limited.failed_sign_in_from(ip).await.status());
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::UNPROCESSABLE_ENTITY,
        ]
    );
}
