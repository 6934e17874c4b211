//! Several `orbit serve` nodes on one PostgreSQL schema (issue 9): the shared master key, one
//! bootstrap, cluster-wide rounds, `/health` and `/ready`, and what requests get while the
//! database is unreachable.

use crate::harness::*;
use async_trait::async_trait;
use orbit_core::model::InstanceKind;
use orbit_core::satellite::{CnameResolver, DnsError};
use orbit_server::config::Config;
use orbit_server::ServeDeps;
use orbit_storage::postgres::scratch::ScratchSchema;
use orbit_storage::DatabaseUrl;
use reqwest::StatusCode;
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// A node's configuration: its own data directory, the shared database and master key file.
fn node_config(dir: &Path, database_url: &str, key_file: &Path) -> Config {
    let mut c = Config::for_test(dir);
    c.database_url = Some(DatabaseUrl::Postgres(database_url.to_owned()));
    c.master_key_file = Some(key_file.to_path_buf());
    c
}

fn key_file(dir: &Path, contents: &str) -> std::path::PathBuf {
    let path = dir.join("shared-master.key");
    std::fs::write(&path, contents).unwrap();
    path
}

async fn node(config: Config, deps: ServeDeps) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    match TestServer::try_boot_with(dir, config, deps).await {
        Ok(s) => s,
        Err((_, e)) => panic!("node starts: {e}"),
    }
}

async fn start_error(config: Config) -> String {
    let dir = tempfile::tempdir().unwrap();
    match TestServer::try_boot_with(dir, config, ServeDeps::system()).await {
        Ok(_) => panic!("the node started"),
        Err((_, e)) => e.to_string(),
    }
}

#[tokio::test]
async fn two_nodes_starting_together_on_a_fresh_schema_create_one_development_instance() {
    let schema = ScratchSchema::create().await.unwrap();
    let shared = tempfile::tempdir().unwrap();
    let key = key_file(shared.path(), KEY);
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = tokio::join!(
        node(
            node_config(d1.path(), &schema.url(), &key),
            ServeDeps::system()
        ),
        node(
            node_config(d2.path(), &schema.url(), &key),
            ServeDeps::system()
        ),
    );
    let created = [&a, &b]
        .iter()
        .filter(|s| s.running.as_ref().unwrap().created.is_some())
        .count();
    assert_eq!(created, 1, "one node bootstraps");
    for s in [&a, &b] {
        assert_eq!(s.orbit().instances().await.unwrap().len(), 1);
        assert!(
            !s.dir.path().join("master.key").exists(),
            "master_key_file replaces the data directory's key"
        );
    }
    // A token minted on one node verifies with the other's JWKS: the same keys, opened by the
    // same master key.
    let user = a.create_user("node@example.com", GOOD_PASSWORD).await;
    let token = b
        .backend()
        .mint_session_token(user["id"].as_str().unwrap())
        .await;
    assert!(token.starts_with("ey"), "{token}");
    let instance = &a.orbit().instances().await.unwrap()[0].id;
    assert_eq!(
        a.orbit().jwks(instance).await.unwrap(),
        b.orbit().jwks(instance).await.unwrap()
    );
}

#[tokio::test]
async fn master_key_file_errors_name_the_setting() {
    let schema = ScratchSchema::create().await.unwrap();
    let shared = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let config = |key: &Path| node_config(data.path(), &schema.url(), key);

    let missing = shared.path().join("absent.key");
    let e = start_error(config(&missing)).await;
    assert!(
        e.starts_with("master_key_file ") && e.contains("cannot read"),
        "{e}"
    );
    let short = key_file(shared.path(), "abcdef\n");
    let e = start_error(config(&short)).await;
    assert!(
        e.starts_with("master_key_file ") && e.contains("found 6"),
        "{e}"
    );
    let not_hex = key_file(shared.path(), &format!("{}zz", &KEY[2..]));
    let e = start_error(config(&not_hex)).await;
    assert!(
        e.starts_with("master_key_file ") && e.contains("hex"),
        "{e}"
    );
    let signed_hex = key_file(shared.path(), &format!("+f{}", &KEY[2..]));
    let e = start_error(config(&signed_hex)).await;
    assert!(e.contains("hex"), "{e}");

    // The database is created under one key; a node with another key is refused at start-up
    // instead of failing every token mint later.
    let right = key_file(shared.path(), KEY);
    let first = node(config(&right), ServeDeps::system()).await;
    let other = shared.path().join("other.key");
    std::fs::write(&other, KEY.replace('0', "1")).unwrap();
    let e = start_error(config(&other)).await;
    assert!(
        e.starts_with("master_key_file ") && e.contains("does not open the keys sealed"),
        "{e}"
    );
    // Without master_key_file, the data directory's own new key is just as wrong.
    let mut own = config(&right);
    own.master_key_file = None;
    let e = start_error(own).await;
    assert!(
        e.contains("does not open the keys sealed") && e.contains("master_key_file"),
        "{e}"
    );
    drop(first);
}

/// Answers nothing until released, counting lookups: a DNS round in progress.
#[derive(Default)]
struct HeldResolver {
    lookups: AtomicUsize,
    released: tokio::sync::Notify,
    open: AtomicBool,
}

#[async_trait]
impl CnameResolver for HeldResolver {
    async fn cname(&self, _name: &str) -> Result<Vec<String>, DnsError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        if !self.open.load(Ordering::SeqCst) {
            self.released.notified().await;
        }
        Ok(vec!["orbit.test".into()])
    }
}

#[tokio::test]
async fn one_node_at_a_time_works_a_dns_check_round() {
    let schema = ScratchSchema::create().await.unwrap();
    let shared = tempfile::tempdir().unwrap();
    let key = key_file(shared.path(), KEY);
    let resolver = Arc::new(HeldResolver::default());
    let deps = ServeDeps {
        resolver: Some(resolver.clone()),
        ..ServeDeps::system()
    };
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = |d: &Path| {
        let mut c = node_config(d, &schema.url(), &key);
        c.dns_check_interval_secs = 1;
        // The production instance verifies sign-up emails; no mail is sent in this test.
        c.smtp.host = Some("127.0.0.1".into());
        c.smtp.tls = orbit_server::config::SmtpTls::None;
        c.smtp.from = Some("orbit@example.com".into());
        c
    };
    let a = node(config(d1.path()), deps.clone()).await;
    let production = a
        .orbit()
        .create_application(
            "p",
            InstanceKind::Production,
            "example.com",
            "clerk.example.com",
        )
        .await
        .unwrap();
    a.orbit()
        .add_satellite(&production, "satellite.test")
        .await
        .unwrap();
    let b = node(config(d2.path()), deps).await;

    let deadline = stopwatch() + Duration::from_secs(10);
    while resolver.lookups.load(Ordering::SeqCst) == 0 {
        assert!(stopwatch() < deadline, "no DNS round started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Both nodes tick every second: while one round is held, the other node skips its own.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(
        resolver.lookups.load(Ordering::SeqCst),
        1,
        "one node checks"
    );

    // Released, the next rounds run (on whichever node claims them first).
    resolver.open.store(true, Ordering::SeqCst);
    resolver.released.notify_waiters();
    while resolver.lookups.load(Ordering::SeqCst) < 3 {
        assert!(
            stopwatch() < deadline + Duration::from_secs(10),
            "rounds stopped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop((a, b));
}

/// A TCP proxy in front of PostgreSQL that the test can cut: connections it holds are closed
/// and new ones refused (accepted and dropped) until it is restored.
struct DbLink {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
    _accept: JoinHandle<()>,
}

impl DbLink {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let pipes: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (up2, pipes2) = (up.clone(), pipes.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut out) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                pipes2.lock().unwrap().push(pipe);
            }
        });
        Self {
            addr,
            up,
            pipes,
            _accept: accept,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for p in self.pipes.lock().unwrap().drain(..) {
            p.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

async fn get(
    http: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = http.get(url);
    if let Some(sk) = bearer {
        req = req.bearer_auth(sk);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = r.text().await.unwrap();
    (
        status,
        retry_after,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn database_outage_gets_503_with_retry_after_and_the_node_recovers() {
    let schema = ScratchSchema::create().await.unwrap();
    let mut url = url::Url::parse(&schema.url()).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let link = DbLink::start(upstream).await;
    url.set_port(Some(link.addr.port())).unwrap();
    let shared = tempfile::tempdir().unwrap();
    let key = key_file(shared.path(), KEY);
    let d = tempfile::tempdir().unwrap();
    let mut config = node_config(d.path(), url.as_str(), &key);
    config.database.statement_timeout = Duration::from_millis(1500);
    let server = node(config, ServeDeps::system()).await;
    // A client that gives up long after any answer should have come: a hang fails the test.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let users = server.url("/bapi/v1/users");
    let sk = server.secret_key.clone();

    let (s, _, body) = get(&http, &server.url("/ready"), None).await;
    assert_eq!(
        (s, body),
        (StatusCode::OK, serde_json::json!({"status": "ready"}))
    );
    let (s, _, _) = get(&http, &users, Some(&sk)).await;
    assert_eq!(s, StatusCode::OK);

    let browser = server.browser();
    let csrf = browser.get(&server.url("/sign-in")).await.csrf();

    link.cut();
    let (s, retry, body) = get(&http, &server.url("/health"), None).await;
    assert_eq!(
        (s, retry),
        (StatusCode::OK, None),
        "liveness needs no database: {body}"
    );
    let (s, retry, body) = get(&http, &server.url("/ready"), None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(retry.as_deref(), Some("5"));
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["reason"].as_str().unwrap().contains("database"),
        "{body}"
    );
    for _ in 0..2 {
        let (s, retry, body) = get(&http, &users, Some(&sk)).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(retry.as_deref(), Some("5"));
        assert_eq!(body["errors"][0]["code"], "service_unavailable", "{body}");
        let text = body.to_string();
        for internal in ["sqlx", "pool", "127.0.0.1", "postgres", "os error"] {
            assert!(!text.contains(internal), "{internal} in {text}");
        }
    }
    // The hosted sign-in form: a 503 page with Retry-After, not a 500 page.
    let page = browser
        .post_form(
            &server.url("/sign-in"),
            &[
                ("csrf_token", csrf.as_str()),
                ("email_address", "x@example.com"),
                ("password", "whatever it is"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert_eq!(page.headers["retry-after"], "5");

    link.restore();
    let deadline = stopwatch() + Duration::from_secs(5);
    loop {
        let (ready, _, _) = get(&http, &server.url("/ready"), None).await;
        let (api, _, _) = get(&http, &users, Some(&sk)).await;
        if ready == StatusCode::OK && api == StatusCode::OK {
            break;
        }
        assert!(
            stopwatch() < deadline,
            "not recovered within 5 s: {ready} {api}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A rate limit the database cannot check in time answers like any unavailable database: 503
/// with `Retry-After`, not 500. Here the limits' table alone is held by a stuck session past
/// the statement timeout (SQLSTATE 57014), so the page, its host and the instance are read as
/// usual and the sign-in fails at its source's bucket, the first thing it asks of the store.
#[tokio::test]
async fn a_rate_limit_the_database_cannot_check_in_time_gets_503() {
    let schema = ScratchSchema::create().await.unwrap();
    let shared = tempfile::tempdir().unwrap();
    let key = key_file(shared.path(), KEY);
    let d = tempfile::tempdir().unwrap();
    let mut config = node_config(d.path(), &schema.url(), &key);
    config.database.statement_timeout = Duration::from_millis(1500);
    let server = node(config, ServeDeps::system()).await;
    server.create_user("ada@example.com", GOOD_PASSWORD).await;
    let browser = server.browser();
    let sign_in = server.url("/sign-in");
    let csrf = browser.get(&sign_in).await.csrf();
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("email_address", "ada@example.com"),
        ("password", GOOD_PASSWORD),
    ];

    let stuck = schema.lock_table("rate_limits").await.unwrap();
    let page = browser.post_form(&sign_in, &fields).await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert_eq!(page.headers["retry-after"], "5");
    // The page and BAPI answer meanwhile: only the limit could not be checked.
    assert_eq!(browser.get(&sign_in).await.status, StatusCode::OK);
    let (s, _) = server.backend().get("/v1/users").await;
    assert_eq!(s, StatusCode::OK);

    stuck.release().await.unwrap();
    let page = browser.post_form(&sign_in, &fields).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

/// `orbit <args> --data-dir <data>` with extra environment; (success, stdout, stderr).
async fn cli(data: &Path, args: &[&str], env: &[(&str, &Path)]) -> (bool, String, String) {
    let mut command = crate::cli::orbit();
    command.args(args).arg("--data-dir").arg(data);
    for (k, v) in env {
        command.env(k, v);
    }
    crate::cli::output_of(command).await
}

#[tokio::test]
async fn the_cli_reads_master_key_file_from_its_flag_and_the_environment() {
    let server = TestServer::start().await;
    let data = server.dir.path();
    let own = data.join("master.key");
    let shared = tempfile::tempdir().unwrap();
    let other = key_file(shared.path(), KEY);

    let (ok, _, err) = cli(data, &["instance", "show", "--master-key-file"], &[]).await;
    assert!(!ok, "{err}");
    let flag = [
        "instance",
        "show",
        "--master-key-file",
        other.to_str().unwrap(),
    ];
    let (ok, _, err) = cli(data, &flag, &[]).await;
    assert!(
        !ok && err.contains("master_key_file") && err.contains("does not open"),
        "{err}"
    );
    let (ok, _, err) = cli(
        data,
        &["instance", "show"],
        &[("ORBIT_MASTER_KEY_FILE", &other)],
    )
    .await;
    assert!(
        !ok && err.contains("master_key_file") && err.contains("does not open"),
        "{err}"
    );

    let flag = [
        "instance",
        "show",
        "--master-key-file",
        own.to_str().unwrap(),
    ];
    let (ok, out, err) = cli(data, &flag, &[]).await;
    assert!(ok, "{err}");
    assert!(out.contains(&server.secret_key), "{out}");
}
