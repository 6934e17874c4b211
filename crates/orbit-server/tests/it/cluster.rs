//! Several `orbit serve` nodes on one PostgreSQL schema (issue 9): the shared master key, one
//! bootstrap, cluster-wide rounds, `/health` and `/ready`, and what requests get while the
//! database is unreachable.

use crate::harness::*;
use crate::nodes::Balancer;
use async_trait::async_trait;
use orbit_core::model::InstanceKind;
use orbit_core::satellite::{CnameResolver, DnsError};
use orbit_server::config::Config;
use orbit_server::ServeDeps;
use orbit_storage::postgres::scratch::ScratchSchema;
use orbit_storage::DatabaseUrl;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeSet;
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

/// A TCP proxy the test can cut: connections it holds are closed, and new ones accepted and
/// dropped at once, until it is restored. Between the nodes and PostgreSQL, this IS the database
/// going away for the nodes (a crash, a restart, a partition): every pooled connection breaks
/// and no new one opens. Stopping the real PostgreSQL is not an option, since other tests share
/// it in parallel.
struct Link {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
    _accept: JoinHandle<()>,
}

impl Link {
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

/// The nodes' `database_statement_timeout_ms` in the outage test (also their pool's acquire
/// timeout): what a request may wait for the database before it is answered 503.
const STATEMENT_TIMEOUT: Duration = Duration::from_millis(1500);
/// Long after any answer should have come: a request still unanswered then hangs, and fails the
/// test.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);

/// A client of the public origin that opens a connection per request (so the balancer spreads
/// them), keeping cookies if it is a browser.
fn client(browser: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(browser)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(CLIENT_TIMEOUT)
        .build()
        .unwrap()
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

/// What the load sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    /// `GET /sign-in`, the hosted page (its CSRF token).
    SignInPage,
    /// The sign-in form, posted from a page opened earlier.
    SignIn,
    SignUpPage,
    /// A sign-up of a new address, posted from a page opened earlier.
    SignUp,
    /// A session token (FAPI) for a session signed in before the load.
    Mint,
    /// BAPI `GET /v1/users`.
    BapiUsers,
    /// BAPI `POST /v1/users`, a new address.
    BapiCreateUser,
    /// BAPI `GET /v1/jwks`.
    Jwks,
}

const OPS: [Op; 8] = [
    Op::SignInPage,
    Op::SignIn,
    Op::SignUpPage,
    Op::SignUp,
    Op::Mint,
    Op::BapiUsers,
    Op::BapiCreateUser,
    Op::Jwks,
];

impl Op {
    /// The answer while the database is there.
    fn success(self) -> StatusCode {
        match self {
            Op::SignIn | Op::SignUp => StatusCode::SEE_OTHER,
            _ => StatusCode::OK,
        }
    }

    /// The one request a node may answer without the database: BAPI's JWKS comes from the
    /// signing keys and the instance (by secret key) a node caches for `key_cache_ttl` (10 s),
    /// so it succeeds in the first seconds of an outage. Everything else reads or writes the
    /// database (every FAPI and portal request first looks up its host's instance).
    fn served_from_cache(self) -> bool {
        self == Op::Jwks
    }
}

/// One answer the load got, timed from the start of the load.
struct Answer {
    op: Op,
    sent: Duration,
    answered: Duration,
    status: StatusCode,
    retry_after: Option<String>,
    /// `X-Request-Id`, which the body of an error quotes.
    request_id: String,
    body: String,
    /// The address a sign-up or a BAPI user creation asked for.
    email: Option<String>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body: String = self.body.chars().take(400).collect();
        write!(
            f,
            "{:?} sent at {:?}, answered at {:?}: {} (Retry-After {:?}) {body}",
            self.op, self.sent, self.answered, self.status, self.retry_after
        )
    }
}

/// The load's answers and when the load should stop.
struct Recorder {
    start: std::time::Instant,
    answers: Mutex<Vec<Answer>>,
    stop: AtomicBool,
}

impl Recorder {
    fn now(&self) -> Duration {
        stopwatch() - self.start
    }

    /// Sends `request` and records its answer; a request without one (the client's timeout, a
    /// dropped connection) fails the test.
    async fn send(
        &self,
        op: Op,
        request: reqwest::RequestBuilder,
        email: Option<&str>,
    ) -> (StatusCode, String) {
        let sent = self.now();
        let r = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{op:?} sent at {sent:?} got no answer: {e:?}"));
        let status = r.status();
        let retry_after = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let request_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body = r
            .text()
            .await
            .unwrap_or_else(|e| panic!("{op:?} sent at {sent:?}: no body: {e:?}"));
        self.answers.lock().unwrap().push(Answer {
            op,
            sent,
            answered: self.now(),
            status,
            retry_after,
            request_id,
            body: body.clone(),
            email: email.map(str::to_owned),
        });
        (status, body)
    }

    /// How many answers to `op` were successes.
    fn successes(&self, op: Op) -> usize {
        let answers = self.answers.lock().unwrap();
        answers
            .iter()
            .filter(|a| a.op == op && a.status == op.success())
            .count()
    }

    /// Whether every operation got an answer to a request sent after `since`.
    fn each_sent_after(&self, since: Duration) -> bool {
        let answers = self.answers.lock().unwrap();
        OPS.iter()
            .all(|op| answers.iter().any(|a| a.op == *op && a.sent >= since))
    }
}

/// A hosted form (sign-in or sign-up) opened in a browser: the browser and its CSRF token.
type OpenForm = (reqwest::Client, String);

/// Opens the hosted page at `url` in a fresh browser; the form, if the page came.
async fn open_form(rec: &Recorder, op: Op, url: &str) -> Option<OpenForm> {
    let browser = client(true);
    let (status, page) = rec.send(op, browser.get(url), None).await;
    (status == StatusCode::OK).then(|| (browser, hidden(&page, "csrf_token").unwrap()))
}

/// A user of the load: signs in over and over and mints for one session signed in before.
struct LoadUser {
    email: String,
    /// The browser of the session signed in before the load, and that session.
    minting: reqwest::Client,
    sid: String,
}

/// One worker of the load, until told to stop: visitors open the hosted sign-in and sign-up
/// pages and submit forms opened earlier (a few are open before the load starts, so forms are
/// also submitted while the pages cannot be served), a session token is minted, and BAPI lists
/// users, creates one and reads the JWKS.
async fn load(rec: Arc<Recorder>, public: String, sk: String, w: usize, user: LoadUser) {
    let bapi = client(false);
    let (sign_in, sign_up) = (format!("{public}/sign-in"), format!("{public}/sign-up"));
    let mut sign_ins = std::collections::VecDeque::new();
    let mut sign_ups = std::collections::VecDeque::new();
    for _ in 0..4 {
        sign_ins.extend(open_form(&rec, Op::SignInPage, &sign_in).await);
        sign_ups.extend(open_form(&rec, Op::SignUpPage, &sign_up).await);
    }
    let mut k = 0;
    while !rec.stop.load(Ordering::SeqCst) {
        k += 1;
        sign_ins.extend(open_form(&rec, Op::SignInPage, &sign_in).await);
        if let Some((browser, csrf)) = sign_ins.pop_front() {
            let form = [
                ("csrf_token", csrf.as_str()),
                ("email_address", user.email.as_str()),
                ("password", GOOD_PASSWORD),
            ];
            let post = browser
                .post(&sign_in)
                .header(reqwest::header::ORIGIN, &public)
                .form(&form);
            rec.send(Op::SignIn, post, None).await;
        }

        let mint = user
            .minting
            .post(format!("{public}/v1/client/sessions/{}/tokens", user.sid))
            .header(reqwest::header::ORIGIN, &public);
        rec.send(Op::Mint, mint, None).await;

        sign_ups.extend(open_form(&rec, Op::SignUpPage, &sign_up).await);
        if let Some((browser, csrf)) = sign_ups.pop_front() {
            let email = format!("signup-{w}-{k}@example.com");
            let form = [
                ("csrf_token", csrf.as_str()),
                ("email_address", email.as_str()),
                ("password", GOOD_PASSWORD),
            ];
            let post = browser
                .post(&sign_up)
                .header(reqwest::header::ORIGIN, &public)
                .form(&form);
            rec.send(Op::SignUp, post, Some(&email)).await;
        }

        let list = bapi
            .get(format!("{public}/bapi/v1/users?limit=5"))
            .bearer_auth(&sk);
        rec.send(Op::BapiUsers, list, None).await;
        let email = format!("bapi-{w}-{k}@example.com");
        let create = bapi
            .post(format!("{public}/bapi/v1/users"))
            .bearer_auth(&sk)
            .json(&serde_json::json!({"email_address": [email], "password": GOOD_PASSWORD}));
        rec.send(Op::BapiCreateUser, create, Some(&email)).await;
        let jwks = bapi.get(format!("{public}/bapi/v1/jwks")).bearer_auth(&sk);
        rec.send(Op::Jwks, jwks, None).await;
    }
}

/// What an answer body must not show: the driver, the database, its address, a cause.
fn internals(body: &str, link: &str) -> Vec<String> {
    let body = body.to_ascii_lowercase();
    [
        "sqlx",
        "pool",
        "postgres",
        "os error",
        "error returned",
        "connection refused",
        "connection reset",
        "broken pipe",
        "timed out",
        "panicked",
        "127.0.0.1",
        ":5432",
        link,
    ]
    .iter()
    .filter(|s| body.contains(*s))
    .map(|s| s.to_string())
    .collect()
}

async fn count(schema: &ScratchSchema, sql: &str) -> i64 {
    schema.column(sql).await.unwrap()[0].parse().unwrap()
}

/// Issue 9: PostgreSQL gone for 10 s under load. Two nodes behind a balancer reach the database
/// through a `Link`; workers sign in and up on the hosted pages, mint tokens and call BAPI
/// through the balancer while the link is cut for 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10_s_database_outage_under_load_gets_503s_and_the_nodes_recover_within_5_s() {
    const WORKERS: usize = 4;
    const OUTAGE: Duration = Duration::from_secs(10);
    /// The bound: the nodes recover on their own within 5 s of the database returning.
    const RECOVERY: Duration = Duration::from_secs(5);
    let schema = ScratchSchema::create().await.unwrap();
    let mut url = url::Url::parse(&schema.url()).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let link = Link::start(upstream).await;
    url.set_port(Some(link.addr.port())).unwrap();
    let shared = tempfile::tempdir().unwrap();
    let key = key_file(shared.path(), KEY);
    let balancer = Balancer::start().await;
    let public = format!("http://{}", balancer.addr);
    let config = |d: &Path| {
        let mut c = node_config(d, url.as_str(), &key);
        c.public_url = Some(public.clone());
        c.database.statement_timeout = STATEMENT_TIMEOUT;
        // Every request of the load comes from 127.0.0.1.
        c.limits.per_ip_burst = 100_000;
        c.limits.per_ip_per_minute = 100_000;
        c.limits.per_instance_per_minute = 100_000;
        c
    };
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = node(config(d1.path()), ServeDeps::system()).await;
    let b = node(config(d2.path()), ServeDeps::system()).await;
    let nodes = [&a, &b].map(|n| format!("http://{}", n.running.as_ref().unwrap().addr));
    balancer.set_nodes(vec![
        a.running.as_ref().unwrap().addr,
        b.running.as_ref().unwrap().addr,
    ]);
    let sk = a.secret_key.clone();
    let http = client(false);
    let backend = Backend {
        http: http.clone(),
        base: format!("{public}/bapi"),
        key: sk.clone(),
    };

    // Each worker's user, signed in before the load in the browser that mints.
    let mut users = Vec::new();
    for w in 0..WORKERS {
        let email = format!("load{w}@example.com");
        let user = backend.create_user(&email, GOOD_PASSWORD).await;
        let minting = client(true);
        let url = format!("{public}/sign-in");
        let page = minting
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let form = [
            ("csrf_token", hidden(&page, "csrf_token").unwrap()),
            ("email_address", email.clone()),
            ("password", GOOD_PASSWORD.to_owned()),
        ];
        let r = minting
            .post(&url)
            .header(reqwest::header::ORIGIN, &public)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let path = format!(
            "/v1/sessions?user_id={}&status=active",
            user["id"].as_str().unwrap()
        );
        let (s, sessions) = backend.get(&path).await;
        assert_eq!(s, StatusCode::OK, "{sessions}");
        let sid = sessions[0]["id"].as_str().unwrap().to_owned();
        users.push(LoadUser {
            email,
            minting,
            sid,
        });
    }
    // An app's SDK that fetched the JWKS (from node A) before the outage, over a network that
    // goes down with the database: what it verifies then, it verifies with what it has.
    let app_link = Link::start(a.running.as_ref().unwrap().addr.to_string()).await;
    let sdk = orbit_sdk::Orbit::new(
        orbit_sdk::OrbitConfig::builder(&a.publishable_key)
            .secret_key(&sk)
            .api_url(format!("http://{}/bapi", app_link.addr))
            .build()
            .unwrap(),
    )
    .unwrap();

    for node in &nodes {
        let (s, _, body) = get(&http, &format!("{node}/ready"), None).await;
        assert_eq!(
            (s, body),
            (StatusCode::OK, serde_json::json!({"status": "ready"}))
        );
    }

    let rec = Arc::new(Recorder {
        start: stopwatch(),
        answers: Mutex::default(),
        stop: AtomicBool::new(false),
    });
    let workers: Vec<_> = users
        .into_iter()
        .enumerate()
        .map(|(w, user)| tokio::spawn(load(rec.clone(), public.clone(), sk.clone(), w, user)))
        .collect();
    let deadline = stopwatch() + Duration::from_secs(60);
    while OPS.iter().any(|op| rec.successes(*op) < 3) {
        assert!(stopwatch() < deadline, "the load does not get going");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let minted: Vec<String> = {
        let answers = rec.answers.lock().unwrap();
        answers
            .iter()
            .filter(|a| a.op == Op::Mint && a.status == StatusCode::OK)
            .map(|a| {
                let token: Value = serde_json::from_str(&a.body).unwrap();
                token["jwt"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    sdk.verifier().verify(&minted[0], &[]).await.unwrap();

    let cut_at = rec.now();
    link.cut();
    app_link.cut();
    // While the database is away: liveness holds, readiness does not, and the app's SDK, cut off
    // from Orbit, verifies every token minted before with the JWKS it has.
    let check_nodes = async || {
        for node in &nodes {
            let (s, retry, body) = get(&http, &format!("{node}/health"), None).await;
            assert_eq!(
                (s, retry),
                (StatusCode::OK, None),
                "liveness needs no database: {body}"
            );
            let (s, retry, body) = get(&http, &format!("{node}/ready"), None).await;
            assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{node}: {body}");
            assert_eq!(retry.as_deref(), Some("5"));
            assert_eq!(body["status"], "unavailable");
            assert!(
                body["reason"].as_str().unwrap().contains("database"),
                "{body}"
            );
        }
        for jwt in &minted {
            let claims = sdk.verifier().verify(jwt, &[]).await;
            assert!(claims.is_ok(), "{claims:?}");
        }
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    check_nodes().await;
    tokio::time::sleep((cut_at + OUTAGE - Duration::from_secs(1)).saturating_sub(rec.now())).await;
    check_nodes().await;
    tokio::time::sleep((cut_at + OUTAGE).saturating_sub(rec.now())).await;
    let restore_at = rec.now();
    link.restore();
    app_link.restore();

    // Back: every node ready, and the load on its feet again.
    let ready = loop {
        let mut all = true;
        for node in &nodes {
            let (s, _, body) = get(&http, &format!("{node}/ready"), None).await;
            all &= (s, body) == (StatusCode::OK, serde_json::json!({"status": "ready"}));
        }
        if all {
            break rec.now() - restore_at;
        }
        assert!(
            rec.now() < restore_at + RECOVERY,
            "a node is not ready {RECOVERY:?} after the database returned"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let deadline = stopwatch() + Duration::from_secs(60);
    while !rec.each_sent_after(restore_at + RECOVERY + Duration::from_secs(1)) {
        assert!(stopwatch() < deadline, "the load stalled after the outage");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rec.stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    let answers = std::mem::take(&mut *rec.answers.lock().unwrap());

    // Every answer: the operation's success or a 503 with Retry-After that names no internals;
    // never a 500, another error, or no answer (the load panics on those).
    let link_addr = link.addr.to_string();
    let unavailable = |a: &Answer| {
        a.status == StatusCode::SERVICE_UNAVAILABLE && a.retry_after.as_deref() == Some("5")
    };
    for a in &answers {
        assert!(a.status == a.op.success() || unavailable(a), "{a:?}");
        if a.status == StatusCode::SERVICE_UNAVAILABLE {
            // The request id is random letters: "pOoL" is not a pool.
            let shown = internals(&a.body.replace(&a.request_id, ""), &link_addr);
            assert!(shown.is_empty(), "{shown:?} in {a:?}");
            if !matches!(
                a.op,
                Op::SignInPage | Op::SignIn | Op::SignUpPage | Op::SignUp
            ) {
                let body: Value = serde_json::from_str(&a.body).unwrap();
                assert_eq!(body["errors"][0]["code"], "service_unavailable", "{a:?}");
            }
        }
    }
    let in_cut = |a: &Answer| a.sent >= cut_at && a.answered <= restore_at;
    for a in answers.iter().filter(|a| a.answered < cut_at) {
        assert_eq!(a.status, a.op.success(), "before the outage: {a:?}");
    }
    for a in answers.iter().filter(|a| in_cut(a)) {
        assert!(
            unavailable(a) || a.op.served_from_cache(),
            "served without the database: {a:?}"
        );
    }
    for a in answers.iter().filter(|a| a.sent >= restore_at + RECOVERY) {
        assert_eq!(
            a.status,
            a.op.success(),
            "not recovered {RECOVERY:?} after the database returned: {a:?}"
        );
    }
    for op in OPS {
        assert!(
            answers.iter().any(|a| a.op == op && in_cut(a)),
            "{op:?} was not sent during the outage"
        );
    }
    // Recovered when the last answer that was not a success came.
    let recovered = answers
        .iter()
        .filter(|a| a.status != a.op.success() && a.answered > restore_at)
        .map(|a| a.answered - restore_at)
        .max()
        .unwrap_or_default();
    let slowest = answers.iter().map(|a| a.answered - a.sent).max().unwrap();
    let mut during = std::collections::BTreeMap::<(Op, u16), usize>::new();
    for a in answers.iter().filter(|a| in_cut(a)) {
        *during.entry((a.op, a.status.as_u16())).or_default() += 1;
    }
    println!(
        "{} answers; during the {OUTAGE:?} outage: {during:?}; after it, /ready 200 on both nodes \
         in {} ms, the last failed answer at {} ms; slowest answer {} ms (statement timeout {} ms)",
        answers.len(),
        ready.as_millis(),
        recovered.as_millis(),
        slowest.as_millis(),
        STATEMENT_TIMEOUT.as_millis()
    );

    // Nothing half-written, read by SQL in the scratch schema.
    let checks = [
        (
            "users without an email address",
            "SELECT count(*)::text FROM users WHERE email = '' OR email_id = ''",
        ),
        (
            "sessions without their client",
            "SELECT count(*)::text FROM sessions s WHERE NOT EXISTS \
             (SELECT 1 FROM clients c WHERE c.id = s.client_id)",
        ),
        (
            "sessions without their user",
            "SELECT count(*)::text FROM sessions s WHERE NOT EXISTS \
             (SELECT 1 FROM users u WHERE u.id = s.user_id)",
        ),
        (
            "client tokens without their client",
            "SELECT count(*)::text FROM client_tokens t WHERE NOT EXISTS \
             (SELECT 1 FROM clients c WHERE c.id = t.client_id)",
        ),
        // Only `start_session` creates clients, with their session and token in one write.
        (
            "clients without a session",
            "SELECT count(*)::text FROM clients c WHERE NOT EXISTS \
             (SELECT 1 FROM sessions s WHERE s.client_id = c.id)",
        ),
    ];
    for (what, sql) in checks {
        assert_eq!(count(&schema, sql).await, 0, "{what}");
    }
    let users: BTreeSet<String> = schema
        .column("SELECT email FROM users")
        .await
        .unwrap()
        .into_iter()
        .collect();
    let signed_up: BTreeSet<String> = schema
        .column("SELECT DISTINCT u.email FROM users u JOIN sessions s ON s.user_id = u.id")
        .await
        .unwrap()
        .into_iter()
        .collect();
    let mut committed_though_503 = 0;
    for a in &answers {
        let email = a.email.as_deref().unwrap_or_default();
        match (a.op, a.status == a.op.success()) {
            (Op::SignUp, true) => assert!(signed_up.contains(email), "{a:?}"),
            (Op::SignUp, false) => {
                // The answer was lost with the connection after the commit: the account and its
                // session are there, whole; or nothing is.
                assert!(
                    !users.contains(email) || signed_up.contains(email),
                    "a sign-up answered 503 left a user without a session: {a:?}"
                );
                committed_though_503 += usize::from(users.contains(email));
            }
            (Op::BapiCreateUser, true) => assert!(users.contains(email), "{a:?}"),
            (Op::BapiCreateUser, false) => {
                committed_though_503 += usize::from(users.contains(email))
            }
            _ => {}
        }
    }
    println!(
        "{} users, {} with a session; {committed_though_503} writes answered 503 were committed",
        users.len(),
        signed_up.len()
    );
    drop((a, b));
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

/// The Rust SDK through an outage longer than its JWKS max age: the keys it fetched keep
/// verifying for `jwks_stale_if_error` while BAPI cannot be reached, and not at all with a zero
/// window; a `kid` it never saw is refused with the fetch's error; once BAPI answers again the
/// fresh JWKS is used.
#[tokio::test]
async fn the_sdk_verifies_from_a_stale_jwks_while_the_backend_api_is_unreachable() {
    let server = TestServer::start().await;
    let upstream = server.base.trim_start_matches("http://").to_owned();
    let link = Link::start(upstream).await;
    let max_age = Duration::from_millis(300);
    let sdk = |stale: Duration| {
        let config = orbit_sdk::OrbitConfig::builder(&server.publishable_key)
            .secret_key(&server.secret_key)
            .api_url(format!("http://{}/bapi", link.addr))
            .jwks_cache_max_age(max_age)
            .jwks_stale_if_error(stale)
            .build()
            .unwrap();
        orbit_sdk::Orbit::new(config).unwrap()
    };
    let riding_out = sdk(Duration::from_secs(600));
    let strict = sdk(Duration::ZERO);
    let user = server.create_user("ada@example.com", GOOD_PASSWORD).await;
    let token = server
        .backend()
        .mint_session_token(user["id"].as_str().unwrap())
        .await;
    for s in [&riding_out, &strict] {
        s.verifier().verify(&token, &[]).await.unwrap();
    }

    link.cut();
    tokio::time::sleep(max_age + Duration::from_millis(100)).await;
    let claims = riding_out.verifier().verify(&token, &[]).await.unwrap();
    assert_eq!(claims.sub, user["id"].as_str().unwrap());
    // Again, within the refetch throttle: still the stale keys, not a bare "unknown kid".
    riding_out.verifier().verify(&token, &[]).await.unwrap();
    let err = strict.verifier().verify(&token, &[]).await.unwrap_err();
    assert_eq!(err.reason(), "jwk-remote-failed-to-load", "{err}");
    // A key it never fetched is not trusted from a stale JWKS.
    let mut forged = token.split('.').map(str::to_owned).collect::<Vec<_>>();
    let header = serde_json::json!({"alg": "RS256", "kid": "ins_key_never_seen", "typ": "JWT"});
    forged[0] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        header.to_string(),
    );
    let forged = forged.join(".");
    assert!(riding_out.verifier().verify(&forged, &[]).await.is_err());

    link.restore();
    // Past the refetch throttle (5 s, or the max age if shorter): both fetch again and verify.
    tokio::time::sleep(max_age).await;
    for s in [&riding_out, &strict] {
        s.verifier().verify(&token, &[]).await.unwrap();
    }
}
