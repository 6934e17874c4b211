//! Storage under concurrency, through the real `orbit` binary and the real server: first starts
//! raced by CLI commands and by a second server, CLI commands while the server takes sign-ins,
//! profile edits racing sign-ins and password changes, and what anonymous traffic leaves behind
//! (docs/design/storage.md).

use crate::cli::orbit;
use crate::harness::*;
use crate::world::ProdWorld;
use orbit_core::clock::ManualClock;
use orbit_core::{CLIENT_IDLE_LIFETIME, HOUR};
use reqwest::StatusCode;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::time::Duration;

/// `orbit serve` on `listen` and `data`, with cheap hashing and generous sign-in budgets.
fn spawn_serve(data: &str, listen: &str) -> Child {
    orbit()
        .args(["serve", "--listen", listen, "--data-dir", data])
        .env("ORBIT_ARGON2_MEMORY_KIB", "1024")
        .env("ORBIT_ARGON2_ITERATIONS", "1")
        // Warnings only: nobody reads stderr while the server runs, and a full pipe blocks it.
        .env("ORBIT_LOG", "warn")
        .env("ORBIT_SIGN_IN_PER_IP_BURST", "100000")
        .env("ORBIT_SIGN_IN_PER_IP_PER_MINUTE", "100000")
        .env("ORBIT_SIGN_IN_PER_INSTANCE_PER_MINUTE", "100000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads the server's output up to its banner; `Err` with everything it printed if it exited.
fn banner(child: &mut Child) -> Result<String, String> {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    while !text.contains("Press Ctrl-C") {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap_or(0) == 0 {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return Err(format!("orbit serve exited: {text}{err}"));
        }
        text.push_str(&line);
    }
    Ok(text)
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `orbit <args> --data-dir <data>`; `Err` with its stderr when it fails.
fn cli(data: &str, args: &[&str]) -> Result<String, String> {
    let out = orbit()
        .args(args)
        .args(["--data-dir", data])
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into())
    }
}

/// Item 12: fresh data directories, each started with a CLI command run as soon as the port
/// answers. Both the server and the command must succeed every time.
#[test]
fn first_starts_raced_by_the_cli_never_fail() {
    let mut failures = Vec::new();
    let starts = 50;
    for round in 0..starts {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let data = data.to_str().unwrap();
        let listen = format!("127.0.0.1:{}", free_port());
        let mut server = spawn_serve(data, &listen);
        let deadline = stopwatch() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&listen).is_err() {
            if stopwatch() > deadline || server.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::yield_now();
        }
        let shown = cli(data, &["instance", "show", "--json"]);
        let started = banner(&mut server);
        stop(server);
        if let Err(e) = shown.as_ref().and(started.as_ref()) {
            failures.push(format!("start {round}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {starts} starts failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Item 12: two servers opening one fresh data directory at once both start, and exactly one
/// creates the development instance.
#[test]
fn two_servers_on_one_fresh_data_dir_both_start() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let data = data.to_str().unwrap();
        let mut a = spawn_serve(data, "127.0.0.1:0");
        let mut b = spawn_serve(data, "127.0.0.1:0");
        let (ba, bb) = (banner(&mut a), banner(&mut b));
        stop(a);
        stop(b);
        let (ba, bb) = (ba.unwrap(), bb.unwrap());
        let created = [&ba, &bb]
            .iter()
            .filter(|t| t.contains("Created an application"))
            .count();
        assert_eq!(created, 1, "{ba}\n{bb}");
        let shown: serde_json::Value =
            serde_json::from_str(&cli(data, &["instance", "show", "--json"]).unwrap()).unwrap();
        assert!(shown["secret_key"]
            .as_str()
            .unwrap()
            .starts_with("sk_test_"));
    }
}

/// Item 12: CLI commands (reads and writes) in a loop while the server takes sign-ins: no
/// command fails and no request gets a 5xx.
#[tokio::test]
async fn cli_commands_while_the_server_takes_sign_ins() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap().to_owned();
    let mut server = spawn_serve(&data, "127.0.0.1:0");
    let text = banner(&mut server).unwrap();
    let fapi = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Frontend API:"))
        .unwrap()
        .trim()
        .to_owned();
    cli(
        &data,
        &[
            "user",
            "create",
            "--email",
            "ada@example.com",
            "--password",
            GOOD_PASSWORD,
        ],
    )
    .unwrap();
    let stop_flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut signers = Vec::new();
    for _ in 0..2 {
        let fapi = fapi.clone();
        let stop_flag = stop_flag.clone();
        signers.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            while !stop_flag.load(std::sync::atomic::Ordering::Relaxed) {
                let b = Browser::from_origin(&fapi);
                statuses.push(b.sign_in("ada@example.com", GOOD_PASSWORD).await.status);
            }
            statuses
        }));
    }
    let cli_data = data.clone();
    let cli_failures = tokio::task::spawn_blocking(move || {
        let mut failures = Vec::new();
        for i in 0..12 {
            let email = format!("cli{i}@example.com");
            let args: &[&str] = match i % 3 {
                0 => &["instance", "show", "--json"],
                1 => &[
                    "user",
                    "create",
                    "--email",
                    &email,
                    "--password",
                    GOOD_PASSWORD,
                ],
                _ => &["domain", "list", "--json"],
            };
            if let Err(e) = cli(&cli_data, args) {
                failures.push(format!("{args:?}: {e}"));
            }
        }
        failures
    })
    .await
    .unwrap();
    stop_flag.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut statuses = Vec::new();
    for s in signers {
        statuses.extend(s.await.unwrap());
    }
    stop(server);
    assert!(cli_failures.is_empty(), "{cli_failures:#?}");
    assert!(statuses.len() > 10, "{} sign-ins", statuses.len());
    let errors: Vec<_> = statuses.iter().filter(|s| s.is_server_error()).collect();
    assert!(errors.is_empty(), "{errors:?} of {}", statuses.len());
    assert!(
        statuses.iter().all(|s| *s == StatusCode::SEE_OTHER),
        "{statuses:?}"
    );
}

/// Users created with cheaper hashing than the server's, so that each one's next sign-in
/// rehashes its password (written through a second handle on the server's data directory).
async fn users_needing_a_rehash(server: &TestServer, n: usize) -> Vec<String> {
    let mut settings = server.config.orbit_settings();
    settings.hash_params.memory_kib = server.config.password_hash.memory_kib / 2;
    let other = orbit_server::data_dir::open(&server.config, false, settings)
        .await
        .unwrap();
    let instance = other.instances().await.unwrap().remove(0);
    let mut ids = Vec::new();
    for i in 0..n {
        let new = orbit_core::NewUser {
            email: format!("u{i}@example.com"),
            password: Some(GOOD_PASSWORD.into()),
            first_name: Some("Before".into()),
            last_name: None,
        };
        ids.push(other.create_user(&instance, new).await.unwrap().id);
    }
    ids
}

/// A portal sign-in of `email`, its form already loaded; returns the response's status.
async fn signs_in(server: &TestServer, email: &str, password: &str) -> StatusCode {
    let b = server.browser();
    let csrf = b.get(&server.url("/sign-in")).await.csrf();
    b.post_form(
        &server.url("/sign-in"),
        &[
            ("csrf_token", &csrf),
            ("email_address", email),
            ("password", password),
        ],
    )
    .await
    .status
}

const NEW_PASSWORD: &str = "a different horse, battery and staple";

/// Item 13: a sign-in that upgrades the password hash races a name change and, for other
/// users, a password change (BAPI `PATCH /v1/users/{id}`): neither change is lost.
#[tokio::test]
async fn updates_racing_sign_ins_are_not_lost() {
    let server = TestServer::start_with(|c| {
        c.password_hash.memory_kib = 8192;
        c.limits.per_ip_burst = 100_000;
        c.limits.per_ip_per_minute = 100_000;
        c.limits.per_instance_per_minute = 100_000;
    })
    .await;
    let rounds = 24;
    let ids = users_needing_a_rehash(&server, 2 * rounds).await;
    // One race at a time, each a sign-in and a change sent together.
    let http = reqwest::Client::new();
    for (i, id) in ids.iter().enumerate() {
        let email = format!("u{i}@example.com");
        let b = server.browser();
        let csrf = b.get(&server.url("/sign-in")).await.csrf();
        let url = server.url("/sign-in");
        let fields = [
            ("csrf_token", csrf.as_str()),
            ("email_address", email.as_str()),
            ("password", GOOD_PASSWORD),
        ];
        let sign_in = b.post_form(&url, &fields);
        let body = if i % 2 == 0 {
            serde_json::json!({"first_name": format!("After {i}")})
        } else {
            serde_json::json!({"password": NEW_PASSWORD})
        };
        let patch = http
            .patch(format!("{}/v1/users/{id}", server.bapi_url))
            .bearer_auth(&server.secret_key)
            .json(&body)
            .send();
        let (signed_in, patched) = tokio::join!(sign_in, patch);
        assert_eq!(patched.unwrap().status(), StatusCode::OK, "user {i}");
        // A password change that lands first makes the old password wrong: either answer is
        // right, as long as what follows holds.
        let expected: &[StatusCode] = if i % 2 == 0 {
            &[StatusCode::SEE_OTHER]
        } else {
            &[StatusCode::SEE_OTHER, StatusCode::UNPROCESSABLE_ENTITY]
        };
        assert!(
            expected.contains(&signed_in.status),
            "user {i}: {}",
            signed_in.status
        );
    }
    let mut lost = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let email = format!("u{i}@example.com");
        if i % 2 == 0 {
            let (_, user) = server.backend().get(&format!("/v1/users/{id}")).await;
            if user["first_name"] != format!("After {i}") {
                lost.push(format!("user {i}: name {}", user["first_name"]));
            }
            if signs_in(&server, &email, GOOD_PASSWORD).await != StatusCode::SEE_OTHER {
                lost.push(format!("user {i}: password"));
            }
        } else {
            if signs_in(&server, &email, NEW_PASSWORD).await != StatusCode::SEE_OTHER {
                lost.push(format!("user {i}: the new password does not work"));
            }
            if signs_in(&server, &email, GOOD_PASSWORD).await != StatusCode::UNPROCESSABLE_ENTITY {
                lost.push(format!("user {i}: the old password still works"));
            }
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} updates lost: {lost:#?}",
        lost.len(),
        ids.len()
    );
}

/// Rows in the server's database by table, and the file's size after a checkpoint, read
/// through a second handle on its file.
async fn db_state(server: &TestServer) -> (std::collections::BTreeMap<String, i64>, u64) {
    let db = server.dir.path().join("orbit.db");
    let store = orbit_storage::SqliteStore::open(&db).await.unwrap();
    store.checkpoint().await.unwrap();
    let counts = store.row_counts().await.unwrap();
    store.close().await;
    (counts, std::fs::metadata(&db).unwrap().len())
}

/// Waits (real time, for the server's housekeeping timer) until `done` holds of the rows.
async fn until_rows(
    server: &TestServer,
    what: &str,
    done: impl Fn(&std::collections::BTreeMap<String, i64>) -> bool,
) {
    let deadline = stopwatch() + Duration::from_secs(15);
    loop {
        let (rows, _) = db_state(server).await;
        if done(&rows) {
            return;
        }
        assert!(stopwatch() < deadline, "{what}: {rows:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A handshake from a browser without cookies (development: it gets a development browser of no
/// client).
async fn anonymous_handshake(server: &TestServer) -> StatusCode {
    let mut u = url::Url::parse(&server.url("/v1/client/handshake")).unwrap();
    u.query_pairs_mut()
        .append_pair("redirect_url", "http://localhost:3000/x")
        .append_pair("format", "nonce");
    server.browser().get(u.as_str()).await.status
}

/// A server on a manual clock with the DNS check off and housekeeping every second.
async fn housekeeping_without_dns() -> (ManualClock, TestServer) {
    let clock = ManualClock::new(1_800_000_000_000);
    let server = TestServer::start_with_clock_and(&clock, |c| {
        c.dns_check_interval_secs = 0;
        c.housekeeping_interval_secs = 1;
    })
    .await;
    (clock, server)
}

/// Item 14: with the DNS check turned off, housekeeping still runs on its own timer and prunes
/// expired handshake state, idle development browsers and clients without a live session.
#[tokio::test]
async fn housekeeping_runs_with_dns_checks_off() {
    let (clock, server) = housekeeping_without_dns().await;
    let (before, _) = db_state(&server).await;
    server.create_user("ada@example.com", GOOD_PASSWORD).await;
    let signed_in = server.browser();
    let r = signed_in.sign_in("ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for _ in 0..5 {
        assert_eq!(
            anonymous_handshake(&server).await,
            StatusCode::TEMPORARY_REDIRECT
        );
    }
    let (rows, _) = db_state(&server).await;
    assert_eq!(rows["dev_browsers"], before["dev_browsers"] + 5, "{rows:?}");
    assert!(rows["handshake_nonces"] >= 5, "{rows:?}");
    // Past every lifetime but the signed-in session's (kept alive by activity).
    clock.advance_ms(31 * 24 * HOUR + CLIENT_IDLE_LIFETIME);
    until_rows(&server, "pruned", |r| {
        r["dev_browsers"] == before["dev_browsers"]
            && r["handshake_nonces"] == 0
            && r["clients"] == before["clients"]
    })
    .await;
}

/// The URL of the `i`-th of a mix of anonymous requests a visitor can make on the development
/// server at `base`, with the method: satellite syncs without a pending sync, development
/// handshakes (with and without a development browser that stands for nothing), development
/// browsers asked for from the app, and the hosted pages.
fn anonymous_request(base: &str, i: usize) -> (reqwest::Method, String) {
    use reqwest::Method;
    let sync = orbit_proto::wire::query::PENDING_SYNC;
    match i % 6 {
        0 | 1 => (
            Method::GET,
            format!(
                "{base}/v1/client/sync?link_domain=sat{i}.example&redirect_url=https%3A%2F%2Fsat{i}.example%2F&{sync}=ps_{i}"
            ),
        ),
        2 => (
            Method::GET,
            format!(
                "{base}/v1/client/handshake?redirect_url=http%3A%2F%2Flocalhost%3A3000%2F{i}&format=nonce"
            ),
        ),
        3 => (
            Method::GET,
            format!(
                "{base}/v1/client/handshake?redirect_url=http%3A%2F%2Flocalhost%3A3000%2F{i}&format=token&__clerk_db_jwt=dvb_made_up_{i}"
            ),
        ),
        4 => (Method::POST, format!("{base}/v1/dev_browser")),
        _ => {
            let page = ["/sign-in", "/sign-up", "/", "/user", "/sign-out"][i / 6 % 5];
            (Method::GET, format!("{base}{page}"))
        }
    }
}

/// Item 14: 10,000 anonymous requests (the mix of `anonymous_request`) create no client and no
/// client token, set no `__client`, and leave the database as it was once their state has
/// expired and housekeeping has run: rows and file size.
#[tokio::test]
async fn anonymous_traffic_leaves_nothing_behind() {
    let (clock, server) = housekeeping_without_dns().await;
    let (rows_before, size_before) = db_state(&server).await;
    let started = stopwatch();
    let total = 10_000;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let http = http.clone();
        let base = server.base.clone();
        tasks.spawn(async move {
            let (mut errors, mut client_cookies) = (0, 0);
            for i in (worker..total).step_by(8) {
                let (method, url) = anonymous_request(&base, i);
                let r = http
                    .request(method, url)
                    .header("origin", "http://localhost:3000")
                    .send()
                    .await
                    .unwrap();
                errors += usize::from(r.status().is_server_error());
                client_cookies += r
                    .headers()
                    .get_all("set-cookie")
                    .iter()
                    .filter(|c| c.as_bytes().starts_with(b"__client="))
                    .count();
            }
            (errors, client_cookies)
        });
    }
    let (mut errors, mut client_cookies) = (0, 0);
    while let Some(e) = tasks.join_next().await {
        let (e, c) = e.unwrap();
        errors += e;
        client_cookies += c;
    }
    let elapsed = started.elapsed();
    assert_eq!(errors, 0);
    let (rows_after, size_after) = db_state(&server).await;
    // Clients are created lazily: a visit gets none.
    assert_eq!(client_cookies, 0);
    for table in ["clients", "client_tokens", "sessions"] {
        assert_eq!(
            rows_after[table], rows_before[table],
            "{table}: {rows_after:?}"
        );
    }
    clock.advance_ms(31 * 24 * HOUR + CLIENT_IDLE_LIFETIME);
    // The start, but for the setup link the server printed when it started (no operator
    // exists), which expired meanwhile and is pruned too.
    assert_eq!(rows_before["operator_setup_tokens"], 1);
    let mut start = rows_before.clone();
    start.insert("operator_setup_tokens".into(), 0);
    until_rows(&server, "back to the start", |r| *r == start).await;
    let (rows_pruned, size_pruned) = db_state(&server).await;
    println!(
        "{total} anonymous requests in {elapsed:?}; rows before {rows_before:?}, {size_before} bytes; \
         after {rows_after:?}, {size_after} bytes; after housekeeping {rows_pruned:?}, {size_pruned} bytes"
    );
    assert_eq!(rows_pruned, start);
}

/// Item 14, the test: 10,000 anonymous `GET /v1/client/sync?link_domain=...` on a
/// production primary (verified, unverified and unknown satellites; without a pending sync id,
/// with a made-up one, with and without `redirect_url`) leave the database exactly as it was,
/// rows and file size, with no housekeeping in between; each is a 400 page that sets nothing.
#[tokio::test]
async fn anonymous_syncs_leave_the_database_the_size_it_was() {
    let world = ProdWorld::start_on(None, |c| c.housekeeping_interval_secs = 24 * 3600).await;
    world.add_satellite("satellite.test", true).await;
    world.add_satellite("satellite2.test", true).await;
    world.add_satellite("unverified.test", false).await;
    let (rows_before, size_before) = db_state(&world.server).await;
    let started = stopwatch();
    let total = 10_000;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let http = world.browser().http;
        tasks.spawn(async move {
            let mut wrong = Vec::new();
            for i in (worker..total).step_by(8) {
                let domain = [
                    "satellite.test",
                    "satellite2.test",
                    "unverified.test",
                    "unknown.test",
                ][i % 4];
                let mut url =
                    format!("https://clerk.primary.test/v1/client/sync?link_domain={domain}");
                match i / 4 % 3 {
                    0 => {}
                    1 => url.push_str(&format!("&__orbit_sync=made-up-{i}")),
                    _ => url.push_str(&format!(
                        "&__orbit_sync={i:032x}&redirect_url=https%3A%2F%2F{domain}%2Fx"
                    )),
                }
                let r = http.get(&url).send().await.unwrap();
                let sets = r.headers().get_all("set-cookie").iter().count();
                if r.status() != StatusCode::BAD_REQUEST
                    || sets > 0
                    || r.headers().contains_key("location")
                {
                    wrong.push(format!("{url}: {} with {sets} cookies", r.status()));
                }
            }
            wrong
        });
    }
    let mut wrong = Vec::new();
    while let Some(w) = tasks.join_next().await {
        wrong.extend(w.unwrap());
    }
    let elapsed = started.elapsed();
    assert!(
        wrong.is_empty(),
        "{} answered otherwise: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    let (rows_after, size_after) = db_state(&world.server).await;
    println!(
        "{total} anonymous syncs in {elapsed:?}; rows before {rows_before:?}, {size_before} bytes; \
         after {rows_after:?}, {size_after} bytes"
    );
    assert_eq!(rows_after, rows_before);
    assert_eq!(size_after, size_before);
}
