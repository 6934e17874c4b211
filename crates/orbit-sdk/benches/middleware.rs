//! SDK middleware benchmark: what authenticating a signed-in request costs, against the raw
//! RSA-2048 verification it cannot avoid and against `@clerk/backend`'s `verifyToken` in Node.
//!
//! A real token: this bench starts the built server binary (`target/release/orbit serve` in a
//! fresh temporary data directory, pinned to CPU 0), reads the development instance's keys with
//! `orbit instance show --json`, and creates a user, a session and session tokens through the
//! Backend API (a fresh token right before each measurement window: tokens live 60 s).
//!
//! Measured on one thread pinned to CPU 1 (current-thread tokio runtime), ~5 s windows:
//! a) raw: RSA-2048 PKCS#1 v1.5 SHA-256 verifications/s of the token's signature with aws-lc-rs
//!    (the JWKS key, parsed once, as the SDK does);
//! b) `Orbit::authenticate(&parts)` on a signed-in document request (`__session` + `__client_uat`
//!    cookies), after one warm-up call that fetches the JWKS; also `TokenVerifier::verify` alone;
//! c) an axum `Router` with `orbit.layer()` and a trivial handler, driven in-process with
//!    `tower::ServiceExt::oneshot`, against the same router without the layer;
//! d) `node compat/node/verify-bench.mjs` (pinned to CPU 1 too): `verifyToken` with `jwtKey` (the
//!    SPKI PEM of the same key) and with `secretKey` + `apiUrl` (remote JWKS, cached).
//!
//! Build the server first: `cargo build --release -p orbit-server --bins`. Then
//! `cargo bench -p orbit-sdk --bench middleware`. `npm ci --prefix compat/node` for part d.
//! Knobs: `MIDDLEWARE_BENCH_SECONDS` (5), `ORBIT_BIN`, `ORBIT_BENCH_NO_PIN=1`,
//! `MIDDLEWARE_BENCH_ONLY=authenticate` (parts a and b only, for `perf record`). Without `--bench`
//! (as `cargo test --benches` runs it) it does short windows, and skips if the binary is missing.
//! Prints Markdown; no timing is asserted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use axum::body::Body;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use http::{Request, StatusCode};
use orbit_sdk::{Auth, AuthStatus, Orbit, OrbitConfig};
use serde_json::{json, Value};
use std::cell::Cell;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tower::ServiceExt as _;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

const SERVER_CPU: usize = 0;
const BENCH_CPU: usize = 1;
const APP_HOST: &str = "localhost:3000";

fn err(msg: impl Into<String>) -> BoxError {
    msg.into().into()
}

/// Now, on the monotonic clock: measuring real elapsed time is what a benchmark does, and the
/// one legitimate use of `Instant::now` (clippy.toml bans it elsewhere), so it is read here only.
#[allow(clippy::disallowed_methods)]
fn stopwatch() -> Instant {
    Instant::now()
}

fn pinning() -> bool {
    std::env::var_os("ORBIT_BENCH_NO_PIN").is_none()
}

/// Pins the calling thread (and the threads it creates afterwards) to `cpu`.
fn pin_current_thread(cpu: usize) -> bool {
    if !pinning() {
        return false;
    }
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_setaffinity(0) targets this thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

fn online_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(0)
}

fn have_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `program args..`, through `taskset -c <cpu>` when pinning is on and taskset exists.
fn pinned_command(cpu: usize, program: &Path) -> Command {
    if pinning() && have_taskset() {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(cpu.to_string()).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

// ---- the server -----------------------------------------------------------------------------

struct Server {
    child: Child,
    dir: PathBuf,
    bapi: String,
    http: reqwest::Client,
    secret_key: String,
    publishable_key: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn orbit_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("ORBIT_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    target.join("release/orbit")
}

async fn start_server(bin: &Path) -> Res<Server> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let dir = std::env::temp_dir().join(format!("orbit-sdk-bench-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let log = std::fs::File::create(dir.join("server.log"))?;
    let child = pinned_command(SERVER_CPU, bin)
        .arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--log")
        .arg("warn")
        .env_remove("ORBIT_CONFIG")
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .map_err(|e| err(format!("starting {}: {e}", bin.display())))?;
    let http = reqwest::Client::builder().no_proxy().build()?;
    let mut server = Server {
        child,
        dir: dir.clone(),
        bapi: String::new(),
        http,
        secret_key: String::new(),
        publishable_key: String::new(),
    };
    let health = format!("http://127.0.0.1:{port}/health");
    let deadline = stopwatch() + Duration::from_secs(30);
    loop {
        if server
            .http
            .get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        if let Some(status) = server.child.try_wait()? {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            return Err(err(format!("orbit serve exited ({status}):\n{log}")));
        }
        if stopwatch() > deadline {
            return Err(err("orbit serve did not answer /health within 30 s"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = Command::new(bin)
        .args(["instance", "show", "--json", "--data-dir"])
        .arg(dir.join("data"))
        .env_remove("ORBIT_CONFIG")
        .output()?;
    if !out.status.success() {
        return Err(err(format!(
            "orbit instance show: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let show: Value = serde_json::from_slice(&out.stdout)?;
    let field = |k: &str| {
        show[k]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| err(format!("instance show has no {k}: {show}")))
    };
    server.publishable_key = field("publishable_key")?;
    server.secret_key = field("secret_key")?;
    server.bapi = field("backend_api_url")?;
    Ok(server)
}

impl Server {
    async fn bapi(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Res<Value> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.bapi))
            .bearer_auth(&self.secret_key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await?;
        let status = r.status();
        let v: Value = r.json().await?;
        if !status.is_success() {
            return Err(err(format!("BAPI {path}: {status} {v}")));
        }
        Ok(v)
    }

    async fn session(&self) -> Res<String> {
        let user = self
            .bapi(
                reqwest::Method::POST,
                "/v1/users",
                Some(json!({"email_address": ["sdk-bench@example.com"]})),
            )
            .await?;
        let user_id = user["id"]
            .as_str()
            .ok_or_else(|| err(format!("user: {user}")))?;
        let session = self
            .bapi(
                reqwest::Method::POST,
                "/v1/sessions",
                Some(json!({"user_id": user_id})),
            )
            .await?;
        Ok(session["id"]
            .as_str()
            .ok_or_else(|| err(format!("session: {session}")))?
            .to_owned())
    }

    async fn token(&self, session_id: &str) -> Res<String> {
        let t = self
            .bapi(
                reqwest::Method::POST,
                &format!("/v1/sessions/{session_id}/tokens"),
                None,
            )
            .await?;
        Ok(t["jwt"]
            .as_str()
            .ok_or_else(|| err(format!("token: {t}")))?
            .to_owned())
    }
}

// ---- keys -----------------------------------------------------------------------------------

struct Key {
    parsed: ParsedPublicKey,
    /// SPKI PEM, 64-column lines (what `jwtKey` expects).
    pem: String,
}

fn key_for(jwks: &Value, kid: &str) -> Res<Key> {
    let k = jwks["keys"]
        .as_array()
        .and_then(|ks| ks.iter().find(|k| k["kid"] == kid))
        .ok_or_else(|| err(format!("no kid {kid} in {jwks}")))?;
    let n = URL_SAFE_NO_PAD.decode(k["n"].as_str().unwrap_or_default())?;
    let e = URL_SAFE_NO_PAD.decode(k["e"].as_str().unwrap_or_default())?;
    let der = RsaPublicKeyComponents {
        n: n.as_slice(),
        e: e.as_slice(),
    }
    .as_der()
    .map_err(|e| err(e.to_string()))?;
    let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_ref())
        .map_err(|e| err(e.to_string()))?;
    Ok(Key {
        parsed,
        pem: spki_pem(&n, &e)?,
    })
}

/// SubjectPublicKeyInfo DER of an RSA key (rsaEncryption, NULL parameters), as PEM.
fn spki_pem(n: &[u8], e: &[u8]) -> Res<String> {
    fn len(n: usize) -> Vec<u8> {
        match n {
            0..=127 => vec![n as u8],
            128..=255 => vec![0x81, n as u8],
            _ => vec![0x82, (n >> 8) as u8, n as u8],
        }
    }
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        v.extend(len(body.len()));
        v.extend_from_slice(body);
        v
    }
    fn int(bytes: &[u8]) -> Vec<u8> {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        let mut body = Vec::new();
        if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
            body.push(0);
        }
        body.extend(trimmed);
        tlv(0x02, &body)
    }
    let rsa_key = tlv(0x30, &[int(n), int(e)].concat());
    let mut bit_string = vec![0u8];
    bit_string.extend(rsa_key);
    let alg = tlv(
        0x30,
        &[
            tlv(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
            ),
            vec![0x05, 0x00],
        ]
        .concat(),
    );
    let spki = tlv(0x30, &[alg, tlv(0x03, &bit_string)].concat());
    let b64 = STANDARD.encode(spki);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk)?);
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    Ok(pem)
}

fn kid_of(token: &str) -> Res<String> {
    let header = token.split('.').next().ok_or_else(|| err("not a JWT"))?;
    let h: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header)?)?;
    Ok(h["kid"].as_str().ok_or_else(|| err("no kid"))?.to_owned())
}

// ---- measurement ----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    n: usize,
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn stats(mut lat: Vec<Duration>, elapsed: Duration) -> Stats {
    lat.sort();
    Stats {
        per_sec: lat.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        p50: pct(&lat, 50.0),
        p99: pct(&lat, 99.0),
        n: lat.len(),
    }
}

/// Runs `op` one call at a time for `warmup`, then for `window`, timing every call.
async fn measure<F, Fut>(warmup: Duration, window: Duration, mut op: F) -> Stats
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let end = stopwatch() + warmup;
    while stopwatch() < end {
        op().await;
    }
    let mut lat = Vec::with_capacity(1 << 18);
    let start = stopwatch();
    let end = start + window;
    let mut now = start;
    while now < end {
        let t0 = stopwatch();
        op().await;
        now = stopwatch();
        lat.push(now - t0);
    }
    stats(lat, start.elapsed())
}

fn request(token: &str) -> Request<Body> {
    Request::builder()
        .method("GET")
        .uri("/dashboard")
        .header("host", APP_HOST)
        .header(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
        .header("sec-fetch-dest", "document")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-site", "same-origin")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36",
        )
        .header("cookie", format!("__session={token}; __client_uat=1"))
        .body(Body::empty())
        .expect("a valid request")
}

/// The trivial handler of both routers: 200 unless the layer ran and said "signed out".
async fn handler(req: Request<Body>) -> StatusCode {
    match req.extensions().get::<Auth>() {
        Some(a) if !a.is_signed_in() => StatusCode::UNAUTHORIZED,
        _ => StatusCode::OK,
    }
}

#[derive(Debug, Clone)]
struct NodeResult {
    mode: String,
    stats: Option<Stats>,
    error: Option<String>,
    version: String,
}

fn run_node(token: &str, key_pem: &str, server: &Server, seconds: f64) -> Res<Vec<NodeResult>> {
    let root = workspace_root();
    let script = root.join("compat/node/verify-bench.mjs");
    if !root
        .join("compat/node/node_modules/@clerk/backend")
        .exists()
    {
        return Err(err(
            "compat/node/node_modules is missing: run `npm ci --prefix compat/node`",
        ));
    }
    let mut cmd = pinned_command(BENCH_CPU, Path::new("node"));
    let out = cmd
        .arg(&script)
        .current_dir(root.join("compat/node"))
        .env("ORBIT_TOKEN", token)
        .env("ORBIT_JWT_KEY", key_pem)
        .env("ORBIT_SECRET_KEY", &server.secret_key)
        .env("ORBIT_API_URL", &server.bapi)
        .env("BENCH_SECONDS", seconds.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| err(format!("starting node: {e}")))?;
    let mut results = Vec::new();
    for line in BufReader::new(out.stdout.as_slice()).lines() {
        let line = line?;
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let us = |k: &str| Duration::from_secs_f64(v[k].as_f64().unwrap_or(0.0) / 1e6);
        let ok = v["ok"].as_bool() == Some(true);
        results.push(NodeResult {
            mode: v["mode"].as_str().unwrap_or("?").to_owned(),
            stats: ok.then(|| Stats {
                per_sec: v["ops_per_sec"].as_f64().unwrap_or(0.0),
                p50: us("p50_us"),
                p99: us("p99_us"),
                n: v["n"].as_u64().unwrap_or(0) as usize,
            }),
            error: v["error"].as_str().map(str::to_owned),
            version: format!(
                "node {}, @clerk/backend {}",
                v["node"].as_str().unwrap_or("?"),
                v["sdk"].as_str().unwrap_or("?")
            ),
        });
    }
    if results.is_empty() {
        return Err(err(format!("node printed nothing ({})", out.status)));
    }
    Ok(results)
}

// ---- output ---------------------------------------------------------------------------------

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!(
        "{cpu}, {} cores, {date}, load average {load} at the end",
        online_cpus()
    )
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

// ---- main -----------------------------------------------------------------------------------

fn main() -> Res<()> {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let bin = orbit_binary();
    if !bin.exists() {
        let msg = format!(
            "{} is missing: build it first with `cargo build --release -p orbit-server --bins`",
            bin.display()
        );
        if bench_mode {
            return Err(err(msg));
        }
        eprintln!("middleware bench (smoke test) skipped: {msg}");
        return Ok(());
    }
    let pinned = pin_current_thread(BENCH_CPU);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(bin, bench_mode, pinned))
}

async fn run(bin: PathBuf, bench_mode: bool, pinned: bool) -> Res<()> {
    let seconds: f64 = if bench_mode {
        std::env::var("MIDDLEWARE_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5.0)
    } else {
        0.2
    };
    let window = Duration::from_secs_f64(seconds);
    let warmup = Duration::from_secs_f64((seconds / 10.0).max(0.1));

    let server = start_server(&bin).await?;
    let session_id = server.session().await?;
    let token = server.token(&session_id).await?;
    let jwks = server.bapi(reqwest::Method::GET, "/v1/jwks", None).await?;
    let key = key_for(&jwks, &kid_of(&token)?)?;

    // (a) raw: the token's own signature, the JWKS key parsed once.
    let (input, sig) = token.rsplit_once('.').ok_or_else(|| err("not a JWT"))?;
    let sig = URL_SAFE_NO_PAD.decode(sig)?;
    key.parsed
        .verify_sig(input.as_bytes(), &sig)
        .map_err(|_| err("raw verification of the token failed"))?;
    let raw = {
        let end = stopwatch() + warmup;
        while stopwatch() < end {
            let _ = std::hint::black_box(key.parsed.verify_sig(input.as_bytes(), &sig));
        }
        let start = stopwatch();
        let mut n = 0u64;
        while start.elapsed() < window {
            for _ in 0..64 {
                let r = key.parsed.verify_sig(
                    std::hint::black_box(input.as_bytes()),
                    std::hint::black_box(&sig),
                );
                assert!(r.is_ok());
                n += 1;
            }
        }
        let el = start.elapsed();
        let per = el / u32::try_from(n).unwrap_or(u32::MAX);
        Stats {
            per_sec: n as f64 / el.as_secs_f64(),
            p50: per,
            p99: per,
            n: n as usize,
        }
    };
    eprintln!("raw: {:.0}/s", raw.per_sec);

    // (b) Orbit::authenticate on a signed-in document request.
    let config = OrbitConfig::builder(&server.publishable_key)
        .secret_key(&server.secret_key)
        .api_url(&server.bapi)
        .build()?;
    let orbit = Orbit::new(config)?;
    let token = server.token(&session_id).await?;
    let parts = request(&token).into_parts().0;
    let first = orbit.authenticate(&parts).await; // fetches the JWKS
    if first.status != AuthStatus::SignedIn {
        return Err(err(format!(
            "the warm-up request is not signed in: {:?} {}",
            first.status,
            first.reason()
        )));
    }
    let failures = Cell::new(0usize);
    let sdk = measure(warmup, window, || {
        let f = orbit.authenticate(&parts);
        let failures = &failures;
        async move {
            if f.await.status != AuthStatus::SignedIn {
                failures.set(failures.get() + 1);
            }
        }
    })
    .await;
    eprintln!("authenticate: {:.0}/s", sdk.per_sec);

    if std::env::var("MIDDLEWARE_BENCH_ONLY").as_deref() == Ok("authenticate") {
        // For profiling (`perf record`): part (b) only.
        println!(
            "authenticate only: {:.0}/s, p50 {} µs, p99 {} µs, {} samples",
            sdk.per_sec,
            us(sdk.p50),
            us(sdk.p99),
            sdk.n
        );
        return Ok(());
    }

    // (b') the verifier alone (what `verifyToken` does).
    let token = server.token(&session_id).await?;
    let authorized = vec![format!("http://{APP_HOST}")];
    let verifier = orbit.verifier().clone();
    let verify_only = measure(warmup, window, || {
        let f = verifier.verify(&token, &authorized);
        let failures = &failures;
        async move {
            if f.await.is_err() {
                failures.set(failures.get() + 1);
            }
        }
    })
    .await;

    // (c) the full tower stack, in-process, with and without the layer.
    let with_layer: Router = Router::new()
        .route("/dashboard", get(handler))
        .layer(orbit.layer());
    let without: Router = Router::new().route("/dashboard", get(handler));
    let token = server.token(&session_id).await?;
    let stack = |router: Router| {
        let token = token.clone();
        async move {
            let bad = Cell::new(0usize);
            let s = measure(warmup, window, || {
                let r = router.clone().oneshot(request(&token));
                let bad = &bad;
                async move {
                    match r.await {
                        Ok(resp) if resp.status() == StatusCode::OK => {}
                        _ => bad.set(bad.get() + 1),
                    }
                }
            })
            .await;
            (s, bad.get())
        }
    };
    let (layered, bad1) = stack(with_layer).await;
    let (bare, bad2) = stack(without).await;
    failures.set(failures.get() + bad1 + bad2);
    let failures = failures.get();
    eprintln!(
        "tower: {:.0}/s with the layer, {:.0}/s without",
        layered.per_sec, bare.per_sec
    );

    // (d) Node, same token (a fresh one: it must outlive two windows), same key.
    let token = server.token(&session_id).await?;
    let node = match run_node(&token, &key.pem, &server, seconds) {
        Ok(n) => n,
        Err(e) => vec![NodeResult {
            mode: "jwtKey".into(),
            stats: None,
            error: Some(e.to_string()),
            version: String::new(),
        }],
    };

    // ---- report ----
    let ratio_raw = sdk.per_sec / raw.per_sec;
    println!();
    if !bench_mode {
        println!("(smoke test with {seconds} s windows; run `cargo bench -p orbit-sdk --bench middleware` to measure)");
    }
    println!("## SDK middleware (signed-in request, RSA-2048 session token)\n");
    println!(
        "Machine: {}. {} Windows of {seconds} s after a {:.1} s warm-up, one call at a time.\n",
        machine(),
        if pinned {
            "Measurements on one thread pinned to CPU 1 (current-thread tokio runtime; Node under `taskset -c 1`); the token-minting `orbit serve` under `taskset -c 0`, idle during the windows."
        } else {
            "No CPU pinning."
        },
        warmup.as_secs_f64()
    );
    println!("| measure | ops/s | p50 (µs) | p99 (µs) | target | result |");
    println!("|---|---:|---:|---:|---|---|");
    println!("| (a) raw RSA-2048 PKCS#1 SHA-256 verify, aws-lc-rs, 1 thread (the limit) | {:.0} | {} (mean) | | | |", raw.per_sec, us(raw.p50));
    println!(
        "| (b) `orbit.authenticate(&parts)`, signed-in document request | {:.0} | {} | {} | ≥ 0.7 × raw | {:.3} × raw: {} |",
        sdk.per_sec,
        us(sdk.p50),
        us(sdk.p99),
        ratio_raw,
        verdict(ratio_raw >= 0.7)
    );
    println!(
        "| (b') `TokenVerifier::verify` alone | {:.0} | {} | {} | | {:.3} × raw |",
        verify_only.per_sec,
        us(verify_only.p50),
        us(verify_only.p99),
        verify_only.per_sec / raw.per_sec
    );
    println!(
        "| (c) axum `Router` + `orbit.layer()`, `oneshot` in-process | {:.0} | {} | {} | | {:.3} × raw |",
        layered.per_sec,
        us(layered.p50),
        us(layered.p99),
        layered.per_sec / raw.per_sec
    );
    println!(
        "| (c) same `Router` without the layer | {:.0} | {} | {} | | |",
        bare.per_sec,
        us(bare.p50),
        us(bare.p99)
    );
    println!(
        "| (c) latency added by the layer (with − without) | | {} | {} | | |",
        us(layered.p50.saturating_sub(bare.p50)),
        us(layered.p99.saturating_sub(bare.p99))
    );
    let mut node_version = String::new();
    for r in &node {
        match &r.stats {
            Some(s) => {
                node_version = r.version.clone();
                let ratio = sdk.per_sec / s.per_sec;
                println!(
                    "| (d) Node `verifyToken` ({}) | {:.0} | {} | {} | | |",
                    r.mode,
                    s.per_sec,
                    us(s.p50),
                    us(s.p99)
                );
                println!(
                    "| Orbit `authenticate` ÷ Node `verifyToken` ({}), ops/s | {ratio:.2} × | | | ≥ 5 × | {} |",
                    r.mode,
                    verdict(ratio >= 5.0)
                );
                println!(
                    "| Orbit `TokenVerifier::verify` ÷ Node `verifyToken` ({}), ops/s | {:.2} × | | | | |",
                    r.mode,
                    verify_only.per_sec / s.per_sec
                );
            }
            None => println!(
                "| (d) Node `verifyToken` ({}) | failed: {} | | | ≥ 5 × | FAIL |",
                r.mode,
                r.error.clone().unwrap_or_default()
            ),
        }
    }
    println!(
        "| failed calls (every call must be signed in) | {failures} | | | 0 | {} |",
        verdict(failures == 0)
    );
    println!(
        "\nSamples: raw {}, authenticate {}, verify {}, layered {}, bare {}{}.",
        raw.n,
        sdk.n,
        verify_only.n,
        layered.n,
        bare.n,
        node.iter()
            .filter_map(|r| r.stats.map(|s| format!(", node {} {}", r.mode, s.n)))
            .collect::<String>()
    );
    if !node_version.is_empty() {
        println!("Node: {node_version}.");
    }
    drop(server);
    Ok(())
}
