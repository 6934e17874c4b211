//! Satellite sync benchmark (docs/protocol.md "Satellite sync", docs/design/satellite-sync.md).
//!
//! Latency of the whole production sync as a browser sees it on loopback: the satellite FAPI's
//! handshake, the primary FAPI's `/v1/client/sync`, the satellite FAPI's `/v1/client/link`, and
//! the app's Backend API call `GET /v1/clients/handshake_payload` that redeems the nonce. Also
//! the "already linked" fast path (the satellite answers the handshake at once) and the
//! throughput with several browsers at a time.
//!
//! Setup: `orbit_server::start` in this process, a fresh SQLite data directory, plain HTTP on
//! 127.0.0.1:0 with `trusted_proxies = [127.0.0.1]`, so that `X-Forwarded-Host` picks the FAPI
//! host (`clerk.primary.test`, `clerk.satellite.test`) and `X-Forwarded-Proto: https` makes it a
//! secure origin. A production instance for `primary.test` with the satellite `satellite.test`,
//! verified through a resolver that answers any CNAME lookup (DNS is not what is measured).
//! The "browser" signs in once through the hosted portal and keeps its own cookie jar (per
//! logical host, with `Domain` and `Path` matching), since every cookie is `Secure` and the wire
//! is plain HTTP.
//!
//! CPUs: the server's runtime, its SQLite threads and the logging (an `info` fmt subscriber, the
//! server's default level, writing to a sink) are pinned to CPU 0; the browser (one
//! current-thread runtime, reqwest, keep-alive) to CPU 1. `ORBIT_BENCH_NO_PIN=1` disables it.
//!
//! Run: `cargo bench -p orbit-server --bench sync`. Without `--bench` (as `cargo test
//! --benches` runs it) it does a few syncs as a smoke test. Knobs: `SYNC_BENCH_SYNCS` (default
//! 2000), `SYNC_BENCH_WARMUP` (200), `SYNC_BENCH_CONCURRENCY` (8).
//! Prints Markdown; no timing is asserted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use orbit_core::model::InstanceKind;
use orbit_core::satellite::{CnameResolver, DnsError};
use orbit_server::config::Config;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use url::Url;

const PASSWORD: &str = "correct horse battery staple";
const SERVER_CPU: usize = 0;
const CLIENT_CPU: usize = 1;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

fn err(msg: impl Into<String>) -> BoxError {
    msg.into().into()
}

/// Now, on the monotonic clock: measuring real elapsed time is what a benchmark does, and the
/// one legitimate use of `Instant::now` (clippy.toml bans it elsewhere), so it is read here only.
#[allow(clippy::disallowed_methods)]
fn stopwatch() -> Instant {
    Instant::now()
}

// ---- CPU pinning ----------------------------------------------------------------------------

/// Pins the calling thread (and every thread it creates afterwards) to `cpu`.
fn pin_current_thread(cpu: usize) -> bool {
    if std::env::var_os("ORBIT_BENCH_NO_PIN").is_some() {
        return false;
    }
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_setaffinity(0) targets this thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

// ---- a browser's cookie jar -----------------------------------------------------------------

#[derive(Debug, Clone)]
struct StoredCookie {
    name: String,
    value: String,
    /// Lower-case host (host-only) or domain (`Domain=`).
    domain: String,
    host_only: bool,
    path: String,
}

/// Just enough of RFC 6265 for Orbit's cookies: `Domain`, `Path`, `Max-Age` (deletion). Every
/// request is logically https, so `Secure` cookies are sent.
#[derive(Debug, Default, Clone)]
struct Jar(Vec<StoredCookie>);

impl Jar {
    fn store(&mut self, request_host: &str, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
        let mut domain = None;
        let mut path = "/".to_owned();
        let mut delete = false;
        for attr in parts {
            let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
            match k.trim().to_ascii_lowercase().as_str() {
                "domain" => domain = Some(v.trim().trim_start_matches('.').to_ascii_lowercase()),
                "path" => path = v.trim().to_owned(),
                "max-age" => delete = v.trim().parse::<i64>().is_ok_and(|n| n <= 0),
                _ => {}
            }
        }
        let host_only = domain.is_none();
        let domain = domain.unwrap_or_else(|| request_host.to_ascii_lowercase());
        self.0.retain(|c| {
            !(c.name == name && c.domain == domain && c.host_only == host_only && c.path == path)
        });
        if !delete {
            self.0.push(StoredCookie {
                name,
                value,
                domain,
                host_only,
                path,
            });
        }
    }

    /// The cookies a request to `host` sends: host-only ones for that host, `Domain` ones for it
    /// and its subdomains.
    fn for_host<'a>(&'a self, host: &'a str) -> impl Iterator<Item = &'a StoredCookie> {
        self.0.iter().filter(move |c| {
            if c.host_only {
                c.domain == host
            } else {
                host == c.domain || host.ends_with(&format!(".{}", c.domain))
            }
        })
    }

    fn header(&self, host: &str, path: &str) -> Option<String> {
        let v: Vec<String> = self
            .for_host(host)
            .filter(|c| path.starts_with(&c.path))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!v.is_empty()).then(|| v.join("; "))
    }

    fn get(&self, host: &str, name: &str) -> Option<String> {
        self.for_host(host)
            .find(|c| c.name == name)
            .map(|c| c.value.clone())
    }
}

// ---- HTTP as a browser behind the FAPI hosts ------------------------------------------------

struct Hop {
    status: StatusCode,
    location: Option<Url>,
    set_cookies: Vec<String>,
    body: String,
    took: Duration,
}

#[derive(Clone)]
struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>`: where every logical `https://clerk.*` URL is sent.
    server: String,
}

impl Browser {
    fn new(server: &str) -> Res<Self> {
        let mut headers = HeaderMap::new();
        headers.insert(
            "accept",
            HeaderValue::from_static("text/html,application/xhtml+xml"),
        );
        headers.insert("sec-fetch-dest", HeaderValue::from_static("document"));
        headers.insert(
            "user-agent",
            HeaderValue::from_static("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36"),
        );
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(64)
            .build()?;
        Ok(Self {
            http,
            server: server.to_owned(),
        })
    }

    /// Sends a logical `https://<host>/...` request to the server with `X-Forwarded-Host`, the
    /// jar's cookies for that host and path, and stores the response's cookies in the jar.
    async fn send(
        &self,
        jar: &mut Jar,
        method: reqwest::Method,
        url: &Url,
        form: Option<&[(&str, &str)]>,
    ) -> Res<Hop> {
        let host = url
            .host_str()
            .ok_or_else(|| err(format!("no host in {url}")))?
            .to_owned();
        let path_q = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let mut req = self
            .http
            .request(method, format!("{}{path_q}", self.server))
            .header("x-forwarded-host", &host)
            .header("x-forwarded-proto", "https");
        if let Some(c) = jar.header(&host, url.path()) {
            req = req.header("cookie", c);
        }
        if let Some(f) = form {
            req = req.header("origin", format!("https://{host}")).form(f);
        }
        let start = stopwatch();
        let resp = req.send().await?;
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let set_cookies: Vec<String> = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect();
        let body = resp.text().await?;
        let took = start.elapsed();
        for c in &set_cookies {
            jar.store(&host, c);
        }
        let location = match location {
            Some(l) => Some(url.join(&l)?),
            None => None,
        };
        Ok(Hop {
            status,
            location,
            set_cookies,
            body,
            took,
        })
    }

    async fn get(&self, jar: &mut Jar, url: &Url) -> Res<Hop> {
        self.send(jar, reqwest::Method::GET, url, None).await
    }

    /// The app's server redeeming the handshake nonce through the Backend API.
    async fn handshake_payload(
        &self,
        secret_key: &str,
        nonce: &str,
    ) -> Res<(Vec<String>, Duration)> {
        let start = stopwatch();
        let resp = self
            .http
            .get(format!("{}/bapi/v1/clients/handshake_payload", self.server))
            .query(&[("nonce", nonce)])
            .bearer_auth(secret_key)
            .header("accept", "application/json")
            .send()
            .await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        let took = start.elapsed();
        if status != StatusCode::OK {
            return Err(err(format!(
                "handshake_payload: {status} {}",
                String::from_utf8_lossy(&body)
            )));
        }
        let v: Value = serde_json::from_slice(&body)?;
        let directives = v["directives"]
            .as_array()
            .ok_or_else(|| err("no directives"))?
            .iter()
            .filter_map(|d| d.as_str().map(str::to_owned))
            .collect();
        Ok((directives, took))
    }
}

fn hidden(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    let end = body[start..].find('"')?;
    Some(body[start..start + end].to_owned())
}

/// The session token in a handshake's directives (the SDK's rule: the value of the last
/// `__session*` directive, between the first `=` and the next `;`).
fn session_of(directives: &[String]) -> Option<String> {
    directives
        .iter()
        .rfind(|d| d.starts_with("__session"))
        .and_then(|d| d.split(';').next())
        .and_then(|kv| kv.split('=').nth(1))
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A satellite handshake URL as `@clerk/backend` (and the Orbit SDK) builds it.
fn handshake_url(fapi_host: &str, redirect_url: &str, reason: &str) -> Url {
    let mut u =
        Url::parse(&format!("https://{fapi_host}/v1/client/handshake")).expect("static URL");
    u.query_pairs_mut()
        .append_pair("redirect_url", redirect_url)
        .append_pair("__clerk_api_version", "2026-05-12")
        .append_pair("suffixed_cookies", "false")
        .append_pair("__clerk_hs_reason", reason)
        .append_pair("format", "nonce");
    u
}

// ---- the flows ------------------------------------------------------------------------------

/// One browser signed in on the primary through the hosted portal.
async fn signed_in_browser(b: &Browser, bapi_key: &str, email: &str) -> Res<Jar> {
    let r = b
        .http
        .post(format!("{}/bapi/v1/users", b.server))
        .bearer_auth(bapi_key)
        .json(&serde_json::json!({"email_address": [email], "password": PASSWORD}))
        .send()
        .await?;
    if r.status() != StatusCode::OK {
        return Err(err(format!(
            "creating the user: {} {}",
            r.status(),
            r.text().await?
        )));
    }
    let mut jar = Jar::default();
    let sign_in = Url::parse("https://clerk.primary.test/sign-in")?;
    let page = b.get(&mut jar, &sign_in).await?;
    if page.status != StatusCode::OK {
        return Err(err(format!("sign-in page: {} {}", page.status, page.body)));
    }
    let csrf =
        hidden(&page.body, "csrf_token").ok_or_else(|| err("no csrf_token on the sign-in page"))?;
    let r = b
        .send(
            &mut jar,
            reqwest::Method::POST,
            &sign_in,
            Some(&[
                ("csrf_token", csrf.as_str()),
                ("email_address", email),
                ("password", PASSWORD),
            ]),
        )
        .await?;
    if r.status != StatusCode::SEE_OTHER || jar.get("clerk.primary.test", "__Host-client").is_none()
    {
        return Err(err(format!(
            "sign-in: {} {:?} {}",
            r.status, r.set_cookies, r.body
        )));
    }
    Ok(jar)
}

/// Times of one sync: the browser's hops to Orbit, then the app's BAPI call.
#[derive(Debug, Default, Clone)]
struct SyncTimes {
    hops: Vec<Duration>,
    bapi: Duration,
    wall: Duration,
}

/// A full sync, as a browser signed in on the primary opening `https://satellite.test/?__clerk_synced=false`
/// after the app's middleware redirected it: handshake → sync → link → app, then the app
/// redeems the nonce. Checks every step and that it ends signed in.
async fn full_sync(
    b: &Browser,
    jar: &mut Jar,
    secret_key: &str,
    expect_hosts: &[&str],
) -> Res<SyncTimes> {
    let wall = stopwatch();
    let mut url = handshake_url(
        "clerk.satellite.test",
        "https://satellite.test/?__clerk_synced=false",
        "satellite-needs-syncing",
    );
    let mut times = SyncTimes::default();
    for (i, want_host) in expect_hosts.iter().enumerate() {
        if url.host_str() != Some(want_host) {
            return Err(err(format!(
                "hop {}: expected {want_host}, got {url}",
                i + 1
            )));
        }
        let hop = b.get(jar, &url).await?;
        if hop.status != StatusCode::TEMPORARY_REDIRECT {
            return Err(err(format!(
                "hop {} {url}: {} {}",
                i + 1,
                hop.status,
                hop.body
            )));
        }
        times.hops.push(hop.took);
        url = hop
            .location
            .ok_or_else(|| err(format!("hop {}: no Location", i + 1)))?;
    }
    // Back at the app, with `__clerk_synced=true` and the nonce cookie on satellite.test.
    if url.host_str() != Some("satellite.test")
        || !url
            .query_pairs()
            .any(|(k, v)| k == "__clerk_synced" && v == "true")
    {
        return Err(err(format!(
            "the last hop must return to the app with __clerk_synced=true, not {url}"
        )));
    }
    let nonce = jar
        .get("satellite.test", "__clerk_handshake_nonce")
        .ok_or_else(|| err("no __clerk_handshake_nonce cookie on satellite.test"))?;
    let (directives, bapi) = b.handshake_payload(secret_key, &nonce).await?;
    times.bapi = bapi;
    // The app re-emits the directives on its response to the browser.
    for d in &directives {
        jar.store("satellite.test", d);
    }
    if session_of(&directives).is_none() {
        return Err(err(format!("the sync ended signed out: {directives:?}")));
    }
    if jar
        .get("satellite.test", "__clerk_handshake_nonce")
        .is_some()
    {
        return Err(err("the directives did not clear the nonce cookie"));
    }
    times.wall = wall.elapsed();
    Ok(times)
}

/// The fast path: a satellite host already linked, a plain handshake (token refresh), answered
/// by the satellite FAPI at once.
async fn fast_handshake(b: &Browser, jar: &mut Jar, secret_key: &str) -> Res<SyncTimes> {
    let wall = stopwatch();
    let url = handshake_url(
        "clerk.satellite.test",
        "https://satellite.test/orders",
        "session-token-expired-refresh-non-eligible-no-refresh-cookie",
    );
    let hop = b.get(jar, &url).await?;
    let back = hop
        .location
        .as_ref()
        .filter(|_| hop.status == StatusCode::TEMPORARY_REDIRECT);
    let Some(back) = back else {
        return Err(err(format!("fast path: {} {}", hop.status, hop.body)));
    };
    if back.host_str() != Some("satellite.test") {
        return Err(err(format!("fast path went to {back} instead of the app")));
    }
    let nonce = jar
        .get("satellite.test", "__clerk_handshake_nonce")
        .ok_or_else(|| err("fast path: no nonce cookie"))?;
    let (directives, bapi) = b.handshake_payload(secret_key, &nonce).await?;
    for d in &directives {
        jar.store("satellite.test", d);
    }
    if session_of(&directives).is_none() {
        return Err(err(format!(
            "the fast path ended signed out: {directives:?}"
        )));
    }
    Ok(SyncTimes {
        hops: vec![hop.took],
        bapi,
        wall: wall.elapsed(),
    })
}

// ---- statistics and output ------------------------------------------------------------------

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

struct Row {
    name: String,
    p50: Duration,
    p99: Duration,
    mean: Duration,
    max: Duration,
}

fn row(name: &str, mut v: Vec<Duration>) -> Row {
    v.sort();
    let mean = if v.is_empty() {
        Duration::ZERO
    } else {
        v.iter().sum::<Duration>() / v.len() as u32
    };
    Row {
        name: name.to_owned(),
        p50: pct(&v, 50.0),
        p99: pct(&v, 99.0),
        mean,
        max: v.last().copied().unwrap_or_default(),
    }
}

fn print_rows(rows: &[Row]) {
    println!("| step | p50 (ms) | p99 (ms) | mean (ms) | max (ms) |");
    println!("|---|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.name,
            ms(r.p50),
            ms(r.p99),
            ms(r.mean),
            ms(r.max)
        );
    }
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
    // SAFETY: sysconf has no preconditions. (available_parallelism would count this thread's
    // affinity mask, i.e. 1 once pinned.)
    let cores = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {date}, load average {load} at the end")
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---- main -----------------------------------------------------------------------------------

/// Answers every CNAME lookup with `orbit.bench`, so the satellite verifies without DNS.
struct AnyCname;

#[async_trait::async_trait]
impl CnameResolver for AnyCname {
    async fn cname(&self, _name: &str) -> Result<Vec<String>, DnsError> {
        Ok(vec!["orbit.bench".into()])
    }
}

struct Setup {
    server: String,
    secret_key: String,
    /// The data directory and its filesystem type.
    data_where: String,
}

fn main() -> Res<()> {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let (syncs, warmup, concurrency) = if bench_mode {
        (
            env_usize("SYNC_BENCH_SYNCS", 2000),
            env_usize("SYNC_BENCH_WARMUP", 200),
            env_usize("SYNC_BENCH_CONCURRENCY", 8),
        )
    } else {
        (5, 1, 2)
    };

    // Everything created from here on (the server's runtime, SQLite's threads) runs on CPU 0.
    let pinned = pin_current_thread(SERVER_CPU);
    // The server's default log level is `info` (a line per request); format it, write nowhere.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::sink)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    // SYNC_BENCH_TMPDIR=/dev/shm puts SQLite on tmpfs (to see what fsyncs cost); default: the
    // system's temporary directory.
    let dir = match std::env::var_os("SYNC_BENCH_TMPDIR") {
        Some(parent) => tempfile::tempdir_in(parent)?,
        None => tempfile::tempdir()?,
    };
    let data_fs = std::process::Command::new("df")
        .args(["--output=fstype"])
        .arg(dir.path())
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .nth(1)
                .map(|l| l.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into());
    let data_where = format!("{} ({data_fs})", dir.path().display());
    let (running, setup) = rt.block_on(async {
        let mut config = Config::for_test(dir.path());
        config.listen = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        config.trusted_proxies = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
        config.dns_check_interval_secs = 0;
        config.log = "info".into();
        let running = orbit_server::start(config)
            .await
            .map_err(|e| err(e.to_string()))?;
        let orbit = running.orbit.clone();
        let instance = orbit
            .create_application(
                "b",
                InstanceKind::Production,
                "primary.test",
                "clerk.primary.test",
            )
            .await?;
        let sat = orbit.add_satellite(&instance, "satellite.test").await?;
        // DNS is not what is measured: a resolver that answers the expected CNAME.
        orbit.verify_domain(&sat, &AnyCname, "orbit.bench").await?;
        let creds = orbit.credentials(&instance).await?;
        let setup = Setup {
            server: format!("http://{}", running.addr),
            secret_key: creds.secret_key,
            data_where,
        };
        Ok::<_, BoxError>((running, setup))
    })?;

    let client = std::thread::spawn(move || -> Res<()> {
        let client_pinned = pin_current_thread(CLIENT_CPU);
        let crt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        crt.block_on(run(
            setup,
            syncs,
            warmup,
            concurrency,
            bench_mode,
            pinned && client_pinned,
        ))
    });
    let result = client
        .join()
        .map_err(|_| err("the browser thread panicked"))?;
    rt.block_on(async {
        let _ = running.stop().await;
    });
    result
}

async fn run(
    setup: Setup,
    syncs: usize,
    warmup: usize,
    concurrency: usize,
    bench_mode: bool,
    pinned: bool,
) -> Res<()> {
    let b = Browser::new(&setup.server)?;
    let sk = setup.secret_key.clone();
    let mut jar = signed_in_browser(&b, &sk, "bench@example.com").await?;
    let expect = [
        "clerk.satellite.test",
        "clerk.primary.test",
        "clerk.satellite.test",
    ];

    // Full syncs, one browser, one after another. The browser keeps its cookies, as a real one
    // does: from the second sync on, the satellite host's `__client` and the app's `__session`
    // ride along (and hop 1 looks the client up), the more expensive case.
    let mut errors = 0usize;
    let mut first_error = None;
    for _ in 0..warmup {
        if let Err(e) = full_sync(&b, &mut jar, &sk, &expect).await {
            errors += 1;
            first_error.get_or_insert(e.to_string());
        }
    }
    let mut all = Vec::with_capacity(syncs);
    let started = stopwatch();
    for _ in 0..syncs {
        match full_sync(&b, &mut jar, &sk, &expect).await {
            Ok(t) => all.push(t),
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    let elapsed = started.elapsed();

    // The fast path: this browser's satellite host is linked now.
    let mut fast = Vec::with_capacity(syncs);
    let mut fast_errors = 0usize;
    for _ in 0..warmup {
        if let Err(e) = fast_handshake(&b, &mut jar, &sk).await {
            fast_errors += 1;
            first_error.get_or_insert(e.to_string());
        }
    }
    let fast_started = stopwatch();
    for _ in 0..syncs {
        match fast_handshake(&b, &mut jar, &sk).await {
            Ok(t) => fast.push(t),
            Err(e) => {
                fast_errors += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    let fast_elapsed = fast_started.elapsed();

    // Throughput: `concurrency` browsers (each signed in on its own), full syncs in parallel.
    let mut tasks = tokio::task::JoinSet::new();
    let per_browser = syncs.div_ceil(concurrency.max(1));
    let mut jars = Vec::new();
    for i in 0..concurrency {
        jars.push(signed_in_browser(&b, &sk, &format!("bench{i}@example.com")).await?);
    }
    let conc_started = stopwatch();
    for mut j in jars {
        let b = b.clone();
        let sk = sk.clone();
        tasks.spawn(async move {
            let mut ok = Vec::new();
            let mut errs = Vec::new();
            for _ in 0..per_browser {
                match full_sync(&b, &mut j, &sk, &expect).await {
                    Ok(t) => ok.push(t),
                    Err(e) => errs.push(e.to_string()),
                }
            }
            (ok, errs)
        });
    }
    let mut conc = Vec::new();
    let mut conc_errors = 0usize;
    while let Some(r) = tasks.join_next().await {
        let (ok, errs) = r.map_err(|e| err(e.to_string()))?;
        conc.extend(ok);
        conc_errors += errs.len();
        if let Some(e) = errs.into_iter().next() {
            first_error.get_or_insert(e);
        }
    }
    let conc_elapsed = conc_started.elapsed();

    // ---- report ----
    let hop_names = [
        "hop 1: `clerk.satellite.test/v1/client/handshake` → 307 primary",
        "hop 2: `clerk.primary.test/v1/client/sync` → 307 satellite",
        "hop 3: `clerk.satellite.test/v1/client/link` → 307 app",
    ];
    println!();
    if !bench_mode {
        println!("(smoke test: {syncs} syncs; run `cargo bench -p orbit-server --bench sync` to measure)");
    }
    println!("## Satellite sync (production, loopback, SQLite)\n");
    println!("Machine: {}. SQLite data directory {} (WAL, synchronous=NORMAL). Server in-process (`orbit_server::start`, 1 runtime worker, `info` logging to a sink), plain HTTP on 127.0.0.1 with `X-Forwarded-Host`/`X-Forwarded-Proto: https` from a trusted proxy; {}. One browser (reqwest, keep-alive, its own cookie jar), syncs one after another; {warmup} warm-up syncs not counted. Times are client-observed per request (send → full body), so they include loopback and client HTTP overhead.\n",
        machine(),
        setup.data_where,
        if pinned { "server (runtime + SQLite threads) pinned to CPU 0, browser to CPU 1 (sched_setaffinity)" } else { "no CPU pinning" });
    let mut rows = Vec::new();
    for (i, name) in hop_names.iter().enumerate() {
        rows.push(row(name, all.iter().map(|t| t.hops[i]).collect()));
    }
    rows.push(row(
        "app: BAPI `GET /v1/clients/handshake_payload`",
        all.iter().map(|t| t.bapi).collect(),
    ));
    rows.push(row(
        "**total: 3 hops**",
        all.iter().map(|t| t.hops.iter().sum()).collect(),
    ));
    rows.push(row(
        "**total: 3 hops + BAPI call**",
        all.iter()
            .map(|t| t.hops.iter().sum::<Duration>() + t.bapi)
            .collect(),
    ));
    rows.push(row(
        "wall time per sync (incl. browser-side work)",
        all.iter().map(|t| t.wall).collect(),
    ));
    println!("### Full sync ({} syncs)\n", all.len());
    print_rows(&rows);
    let total_p50 = rows[5].p50;

    println!(
        "\n### Already linked: the satellite answers the handshake at once ({} handshakes)\n",
        fast.len()
    );
    let fast_rows = vec![
        row(
            "hop 1: `clerk.satellite.test/v1/client/handshake` → 307 app",
            fast.iter().map(|t| t.hops[0]).collect(),
        ),
        row(
            "app: BAPI `GET /v1/clients/handshake_payload`",
            fast.iter().map(|t| t.bapi).collect(),
        ),
        row(
            "**total: 1 hop + BAPI call**",
            fast.iter().map(|t| t.hops[0] + t.bapi).collect(),
        ),
    ];
    print_rows(&fast_rows);

    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    let conc_rows = row(
        "",
        conc.iter()
            .map(|t| t.hops.iter().sum::<Duration>() + t.bapi)
            .collect(),
    );
    println!("\n### Summary\n");
    println!("| measure | value | target | result |");
    println!("|---|---:|---|---|");
    println!(
        "| full sync, p50 of 3 hops + BAPI (server on 1 CPU) | {} ms | ≤ 5 ms | {} |",
        ms(total_p50),
        if total_p50 <= Duration::from_millis(5) {
            "PASS"
        } else {
            "FAIL"
        }
    );
    println!(
        "| full sync, p99 of 3 hops + BAPI | {} ms | | |",
        ms(rows[5].p99)
    );
    println!(
        "| browser round trips to Orbit per sync | 3 redirects (307), + 1 BAPI call by the app | ≤ 3 (docs/protocol.md / design: handshake → sync → link) | {} |",
        if all.iter().all(|t| t.hops.len() == 3) { "PASS" } else { "FAIL" }
    );
    println!("| already linked: round trips | 1 redirect + 1 BAPI call | 1 | PASS |");
    println!(
        "| already linked: p50 / p99 of 1 hop + BAPI | {} / {} ms | | |",
        ms(fast_rows[2].p50),
        ms(fast_rows[2].p99)
    );
    println!(
        "| syncs/s, 1 browser, sequential | {:.0} | | |",
        rate(all.len(), elapsed)
    );
    println!(
        "| handshakes/s already linked, 1 browser, sequential | {:.0} | | |",
        rate(fast.len(), fast_elapsed)
    );
    println!(
        "| syncs/s, {concurrency} browsers concurrently ({} syncs; p50 / p99 {} / {} ms) | {:.0} | | |",
        conc.len(),
        ms(conc_rows.p50),
        ms(conc_rows.p99),
        rate(conc.len(), conc_elapsed)
    );
    println!(
        "| errors (every sync must end signed in: non-empty `__session` directive) | {} | 0 | {} |",
        errors + fast_errors + conc_errors,
        if errors + fast_errors + conc_errors == 0 {
            "PASS"
        } else {
            "FAIL"
        }
    );
    if let Some(e) = first_error {
        println!("\nFirst error: {e}");
    }
    Ok(())
}
