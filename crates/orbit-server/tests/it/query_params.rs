//! Parameter pollution: the handshake reads each parameter by its wire name and refuses a
//! request that repeats one, instead of picking the first or the last value (a proxy, the SDK
//! and Orbit could each pick differently).

use crate::harness::*;
use reqwest::StatusCode;

#[tokio::test]
async fn a_repeated_handshake_parameter_is_refused_and_sets_nothing() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let app = "http://localhost:3000/";
    let handshake = |query: &str| server.url(&format!("/v1/client/handshake?{query}"));
    let encoded = |u: &str| serde_urlencoded::to_string([("redirect_url", u)]).unwrap();

    // Once each, the handshake answers with a redirect back to the app.
    let ok = browser
        .get(&handshake(&format!("{}&format=nonce", encoded(app))))
        .await;
    assert_eq!(ok.status, StatusCode::TEMPORARY_REDIRECT, "{}", ok.body);
    assert!(ok.location().unwrap().starts_with(app));

    for (query, name) in [
        (
            format!("{}&{}", encoded(app), encoded("https://evil.test/")),
            "redirect_url",
        ),
        (
            format!("{}&{}", encoded("https://evil.test/"), encoded(app)),
            "redirect_url",
        ),
        (
            format!("{}&format=nonce&format=token", encoded(app)),
            "format",
        ),
        (
            format!(
                "{}&suffixed_cookies=true&suffixed_cookies=false",
                encoded(app)
            ),
            "suffixed_cookies",
        ),
        (
            format!("{}&__clerk_hs_reason=a&__clerk_hs_reason=b", encoded(app)),
            "__clerk_hs_reason",
        ),
        (
            format!("{}&__clerk_db_jwt=dvb_a&__clerk_db_jwt=dvb_b", encoded(app)),
            "__clerk_db_jwt",
        ),
    ] {
        let page = browser.get(&handshake(&query)).await;
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            page.body
        );
        assert!(
            page.body
                .contains(&format!("The parameter {name} appears more than once")),
            "{query}: {}",
            page.body
        );
        assert_eq!(page.location(), None, "{query}");
        assert!(
            page.set_cookies().is_empty(),
            "{query}: {:?}",
            page.set_cookies()
        );
    }
}
