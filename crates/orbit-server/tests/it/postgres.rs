//! `orbit` on PostgreSQL (`database_url`): the real binary on a schema of its own on the local
//! PostgreSQL, through HTTP; and the errors a bad or unreachable database gets.

use crate::bapi::verify_with_jwks;
use crate::cli::{banner_value, orbit, serve_with};
use crate::harness::*;
use orbit_storage::postgres::scratch::ScratchSchema;
use orbit_storage::{DatabaseUrl, PgStore};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn serve_on_postgres_signs_up_signs_in_and_mints_tokens() {
    let schema = ScratchSchema::create().await.unwrap();
    let url = schema.url();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let server = serve_with(data, &["--database-url", &url]);
    let b = &server.banner;
    let fapi = banner_value(b, "Frontend API:");
    let bapi = banner_value(b, "Backend API:");
    let sk = banner_value(b, "Secret key:");

    // Sign up on the hosted page.
    let first = Browser::from_origin(&fapi);
    let page_url = format!("{fapi}/sign-up");
    let fields = [
        ("email_address", "pg@example.com"),
        ("password", GOOD_PASSWORD),
        ("first_name", "Pat"),
    ];
    let r = first.submit(&page_url, &page_url, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // Sign in from another browser.
    let second = Browser::from_origin(&fapi);
    let r = second.sign_in("pg@example.com", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let wrong = Browser::from_origin(&fapi)
        .sign_in("pg@example.com", "wrong password, twice over")
        .await;
    assert_ne!(wrong.status, StatusCode::SEE_OTHER, "{}", wrong.body);

    // Mint a token for the second browser's session; it verifies with the JWKS.
    let http = reqwest::Client::new();
    let bapi_get = async |path: &str| -> Value {
        let r = http
            .get(format!("{bapi}{path}"))
            .bearer_auth(&sk)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.json().await.unwrap()
    };
    let users = bapi_get("/v1/users").await;
    let user_id = users[0]["id"].as_str().unwrap().to_owned();
    let sessions = bapi_get(&format!("/v1/sessions?user_id={user_id}&status=active")).await;
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let jwks: Value = http
        .get(format!("{fapi}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut minted = Vec::new();
    for session in sessions {
        let sid = session["id"].as_str().unwrap();
        let r = second.mint(&fapi, sid).await;
        if r.status() == StatusCode::OK {
            let token: Value = r.json().await.unwrap();
            let (_, claims) = verify_with_jwks(token["jwt"].as_str().unwrap(), &jwks);
            assert_eq!(claims["sub"], user_id.as_str());
            assert_eq!(claims["sid"], sid);
            minted.push(sid.to_owned());
        }
    }
    assert_eq!(minted.len(), 1, "only the second browser's own session");

    // The CLI reads the same database while the server runs.
    let out = orbit()
        .args(["instance", "show", "--json", "--data-dir", data])
        .args(["--database-url", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["secret_key"], sk.as_str());

    // Everything is in PostgreSQL; the data directory holds only the master key.
    let store = PgStore::open(&url, Default::default()).await.unwrap();
    let counts = store.row_counts().await.unwrap();
    assert_eq!(counts["users"], 1);
    assert_eq!(counts["sessions"], 2);
    store.close().await;
    let files: Vec<String> = std::fs::read_dir(data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["master.key"]);
}

/// Runs `orbit serve` with `database_url` (and extra environment), which must fail; returns
/// its stderr.
fn serve_fails(database_url: &str, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let started = stopwatch();
    let out = orbit()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--database-url", database_url])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "gave up after {:?}",
        started.elapsed()
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_bad_or_unreachable_database_is_named_by_its_key() {
    // Not a database URL.
    let err = serve_fails("mysql://orbit:hunter2@db/orbit", &[]);
    assert!(err.contains("database_url"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let err = serve_fails("postgres://orbit:hunter2@db:port/orbit", &[]);
    assert!(err.contains("database_url"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");

    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let refused = format!("postgres://orbit:hunter2@127.0.0.1:{port}/orbit");
    let err = serve_fails(&refused, &[]);
    assert!(
        err.contains(&format!(
            "database_url postgres://orbit:***@127.0.0.1:{port}/orbit: cannot open the database"
        )),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");

    // Something listens and never answers: start-up gives up after the statement timeout
    // rather than hanging.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let hanging = format!("postgres://orbit@127.0.0.1:{silent_port}/orbit");
    let err = serve_fails(&hanging, &[("ORBIT_DATABASE_STATEMENT_TIMEOUT_MS", "500")]);
    assert!(err.contains("database_url"), "{err}");
    assert!(err.contains("timed out"), "{err}");
    drop(silent);

    // The same errors from a command that opens the store.
    let err = {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("master.key"),
            format!("{}\n", "ab".repeat(32)),
        )
        .unwrap();
        let out = orbit()
            .args(["instance", "show", "--data-dir"])
            .arg(dir.path())
            .args(["--database-url", &refused])
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(err.contains("database_url"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert_eq!(
        DatabaseUrl::parse(&refused).unwrap().redacted(),
        format!("postgres://orbit:***@127.0.0.1:{port}/orbit")
    );
}
