//! `orbit migrate copy`: an instance that started on SQLite moves to PostgreSQL with its users,
//! sessions, clients, keys, domains and settings, through the real binary and real servers.

use crate::bapi::verify_with_jwks;
use crate::cli::{banner_value, orbit, serve_with};
use crate::harness::*;
use orbit_storage::postgres::scratch::ScratchSchema;
use orbit_storage::{PgStore, SqliteStore};
use reqwest::StatusCode;
use serde_json::Value;

/// Runs `orbit <args>`; returns (success, stdout, stderr).
fn run(args: &[&str]) -> (bool, String, String) {
    let out = orbit().args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A browser that closes its connections after each response, so the killed server's port is
/// free again for its successor (a pooled connection would keep it in FIN_WAIT2).
fn browser(origin: &str) -> Browser {
    Browser {
        http: unpooled().cookie_store(true).build().unwrap(),
        origin: origin.to_owned(),
    }
}

fn unpooled() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
}

async fn get_json(url: &str) -> Value {
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    r.json().await.unwrap()
}

fn kids(jwks: &Value) -> Vec<String> {
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

/// Mints a session token for `sid` in `browser` and checks it against `jwks`.
async fn mints(browser: &Browser, fapi: &str, sid: &str, user_id: &str, jwks: &Value) {
    let r = browser.mint(fapi, sid).await;
    assert_eq!(r.status(), StatusCode::OK, "minting for {sid}");
    let token: Value = r.json().await.unwrap();
    let (_, claims) = verify_with_jwks(token["jwt"].as_str().unwrap(), jwks);
    assert_eq!(claims["sub"], user_id);
    assert_eq!(claims["sid"], sid);
}

/// Every table's row count, `schema_migrations` aside (each database numbers its own).
fn data_counts(
    mut counts: std::collections::BTreeMap<String, i64>,
) -> std::collections::BTreeMap<String, i64> {
    counts.remove("schema_migrations");
    counts
}

#[tokio::test]
async fn a_sqlite_instance_moves_to_postgres_with_sessions_keys_and_domains() {
    let dir = tempfile::tempdir().unwrap();
    let data_path = dir.path().join("data");
    let data = data_path.to_str().unwrap();

    // On SQLite: sign up, sign in elsewhere, a satellite, a setting, a key rotation.
    // A port given by number: the server then binds it with SO_REUSEADDR, so its successor can
    // take it back over the connections it closed (TIME_WAIT). The development instance's FAPI
    // host names the port.
    let listen = {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        free.local_addr().unwrap().to_string()
    };
    let sqlite = serve_with(data, &["--listen", &listen]);
    let fapi = banner_value(&sqlite.banner, "Frontend API:");
    let sk = banner_value(&sqlite.banner, "Secret key:");
    let first = browser(&fapi);
    let sign_up = format!("{fapi}/sign-up");
    let r = first
        .submit(
            &sign_up,
            &sign_up,
            &[
                ("email_address", "mover@example.com"),
                ("password", GOOD_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let second = browser(&fapi);
    let r = second.sign_in("mover@example.com", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let on = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--data-dir", data]);
        let (ok, out, err) = run(&all);
        assert!(ok, "{args:?}: {err}");
        out
    };
    on(&["domain", "add-satellite", "localhost:3001"]);
    on(&[
        "instance",
        "set",
        "--allowed-redirect-origin",
        "https://app.example.com",
    ]);
    on(&["keys", "rotate"]);
    let jwks_before = get_json(&format!("{fapi}/.well-known/jwks.json")).await;
    assert_eq!(
        kids(&jwks_before).len(),
        2,
        "old and new key: {jwks_before}"
    );
    let backend = Backend {
        http: unpooled().build().unwrap(),
        base: format!("{fapi}/bapi"),
        key: sk.clone(),
    };
    let bapi_get = async |path: &str| -> Value {
        let (status, body) = backend.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    };
    let users = bapi_get("/v1/users").await;
    let user_id = users[0]["id"].as_str().unwrap().to_owned();
    let sessions = bapi_get(&format!("/v1/sessions?user_id={user_id}&status=active")).await;
    let sids: Vec<String> = sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sids.len(), 2);
    let domains_before = on(&["domain", "list", "--json"]);
    drop(sqlite);
    let sqlite_counts = {
        let store = SqliteStore::open(&data_path.join("orbit.db"))
            .await
            .unwrap();
        let counts = data_counts(store.row_counts().await.unwrap());
        store.close().await;
        counts
    };

    // Move to a fresh PostgreSQL schema.
    let schema = ScratchSchema::create().await.unwrap();
    let url = schema.url();
    let (ok, out, err) = run(&["migrate", "copy", "--to", &url, "--data-dir", data]);
    assert!(ok, "{err}");
    assert!(out.contains("Copied"), "{out}");
    assert!(err.contains("opens its 3 sealed keys"), "{err}");
    assert!(err.contains("users"), "progress names the tables: {err}");
    let pg_counts = {
        let store = PgStore::open(&url, Default::default()).await.unwrap();
        let counts = data_counts(store.row_counts().await.unwrap());
        store.close().await;
        counts
    };
    assert_eq!(pg_counts, sqlite_counts);
    assert_eq!(pg_counts["users"], 1);
    assert_eq!(pg_counts["signing_keys"], 2);

    // A second copy into the now non-empty target is refused and changes nothing...
    let (ok, _, err) = run(&["migrate", "copy", "--to", &url, "--data-dir", data]);
    assert!(!ok);
    assert!(err.contains("already holds Orbit data"), "{err}");
    assert!(err.contains("users: 1"), "{err}");
    assert!(err.contains("--replace"), "{err}");
    // ... and so is a data directory whose master key did not seal the source's keys.
    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("master.key"), format!("{}\n", "ab".repeat(32))).unwrap();
    let other = ScratchSchema::create().await.unwrap();
    let sqlite_url = format!("sqlite://{}", data_path.join("orbit.db").display());
    let (ok, _, err) = run(&[
        "migrate",
        "copy",
        "--from",
        &sqlite_url,
        "--to",
        &other.url(),
        "--data-dir",
        foreign.to_str().unwrap(),
    ]);
    assert!(!ok);
    // Opening the source with the data directory's master key already fails (the start-up
    // check every command runs), before the copy's own check of every sealed key.
    assert!(
        err.contains("master key") && err.contains("does not open the keys sealed"),
        "{err}"
    );
    let untouched = PgStore::open(&other.url(), Default::default())
        .await
        .unwrap();
    assert_eq!(untouched.row_counts().await.unwrap()["users"], 0);
    untouched.close().await;
    // --replace empties the target and copies again: the same rows.
    let (ok, _, err) = run(&[
        "migrate",
        "copy",
        "--to",
        &url,
        "--replace",
        "--data-dir",
        data,
    ]);
    assert!(ok, "{err}");

    // And back: PostgreSQL to a new SQLite file holds the same rows.
    let back = dir.path().join("back.db");
    let back_url = format!("sqlite://{}", back.display());
    let (ok, _, err) = run(&[
        "migrate",
        "copy",
        "--from",
        &url,
        "--to",
        &back_url,
        "--data-dir",
        data,
    ]);
    assert!(ok, "{err}");
    let store = SqliteStore::open(&back).await.unwrap();
    assert_eq!(
        data_counts(store.row_counts().await.unwrap()),
        sqlite_counts
    );
    store.close().await;

    // On PostgreSQL, same data directory (master key), same address.
    let pg = serve_with(data, &["--database-url", &url, "--listen", &listen]);
    assert_eq!(banner_value(&pg.banner, "Secret key:"), sk);
    assert_eq!(banner_value(&pg.banner, "Frontend API:"), fapi);
    let jwks_after = get_json(&format!("{fapi}/.well-known/jwks.json")).await;
    assert_eq!(kids(&jwks_after), kids(&jwks_before));
    // The old sessions' browsers still mint tokens, each for its own session.
    let mut minted = 0;
    for browser in [&first, &second] {
        for sid in &sids {
            if browser.mint(&fapi, sid).await.status() == StatusCode::OK {
                mints(browser, &fapi, sid, &user_id, &jwks_after).await;
                minted += 1;
            }
        }
    }
    assert_eq!(minted, 2, "each browser mints for its own session");
    // The user signs in with the old password; a wrong one still fails.
    let third = browser(&fapi);
    let r = third.sign_in("mover@example.com", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = browser(&fapi)
        .sign_in("mover@example.com", "not the password at all")
        .await;
    assert_ne!(r.status, StatusCode::SEE_OTHER);
    // Domains and settings came along.
    let on_pg = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--data-dir", data, "--database-url", &url]);
        let (ok, out, err) = run(&all);
        assert!(ok, "{args:?}: {err}");
        out
    };
    let domains_after = on_pg(&["domain", "list", "--json"]);
    assert_eq!(domains_after, domains_before);
    assert!(domains_after.contains("localhost:3001"), "{domains_after}");
    let shown = on_pg(&["instance", "show", "--json"]);
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(
        shown["allowed_redirect_origins"],
        serde_json::json!(["https://app.example.com"])
    );

    // --instance copies one instance, its application and its rows, not its siblings'.
    on_pg(&["instance", "create-production", "--domain", "moved.example"]);
    let one = dir.path().join("one.db");
    let one_url = format!("sqlite://{}", one.display());
    let dev = shown["instance_id"].as_str().unwrap();
    let copied = on_pg(&[
        "migrate",
        "copy",
        "--from",
        &url,
        "--to",
        &one_url,
        "--instance",
        dev,
    ]);
    assert!(copied.contains("Copied"), "{copied}");
    let store = SqliteStore::open(&one).await.unwrap();
    let counts = data_counts(store.row_counts().await.unwrap());
    store.close().await;
    assert_eq!(counts["applications"], 1);
    assert_eq!(counts["instances"], 1);
    assert_eq!(counts["signing_keys"], 2);
    assert_eq!(counts["secret_keys"], 1);
    assert_eq!(counts["domains"], sqlite_counts["domains"]);
    assert_eq!(counts["users"], 1);
}

#[test]
fn migrate_copy_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let db = format!("sqlite://{data}/orbit.db");
    let refused: &[(&[&str], &str)] = &[
        (&["--to", "mysql://u:hunter2@db/x"], "--to"),
        (
            &["--from", "orbit.db", "--to", "postgres://u@127.0.0.1/x"],
            "--from",
        ),
        (&["--to", "postgres://u@127.0.0.1/x"], "does not exist"),
        (&["--from", &db, "--to", &db], "same database"),
    ];
    for (args, wanted) in refused {
        let mut all = vec!["migrate", "copy", "--data-dir", data];
        all.extend_from_slice(args);
        let (ok, _, err) = run(&all);
        assert!(!ok, "{args:?}");
        assert!(err.contains(wanted), "{args:?}: {err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
    for sub in [&["migrate", "--help"][..], &["migrate", "copy", "--help"]] {
        let (ok, out, err) = run(sub);
        assert!(ok, "{sub:?}: {err}");
        assert!(out.contains("Usage:"), "{sub:?}: {out}");
    }
}
