//! The seed's Next.js App Router apps (`examples/nextjs/primary` and `.../satellite`, Clerk's
//! published `@clerk/nextjs` 7 with the clerk-js and `@clerk/ui` bundles Orbit serves) against
//! Orbit in real Chromium, in development and production-like setups (issue 10 §4):
//!
//! 1. sign up on the primary through `<SignUp/>`; `<UserButton/>` shows the user;
//! 2. the satellite's protected page: signed in with no credentials typed, `<UserProfile/>` shows
//!    the same email;
//! 3. the name changed in `<UserProfile/>` on the satellite shows on the primary;
//! 4. sign-out through `<UserButton/>` on the satellite signs the primary out too;
//! 5. signed out, the satellite's protected page goes to the primary's `<SignIn/>` and back;
//! 6. no console error from Clerk's SDK in any step (collected after each step).
//!
//! The tests run what a user runs: `npm ci` in `examples/nextjs` (once per test run), `next build`
//! of each app with the variables `orbit serve` prints (once per setup and test run: the
//! publishable key is baked into the build), `next start`. Development: Orbit's plain-http
//! development server, the apps on `localhost` ports. Production-like: `ProdWorld` (TLS on 443 of
//! loopback addresses, the test CA, the local DNS server), each app behind a TLS-terminating
//! proxy on its own address, Chromium's DNS mapped with `--host-resolver-rules`; the apps get keys
//! and URLs only. Screenshots: `target/screenshots/nextjs-dev/`, `.../nextjs-prod/`.
//!
//! The harness (`Stack`, `AppProcess`, the production-like pieces, the journey's `Tab`) also
//! serves `remix.rs`: the seed's Remix apps and the cross-stack test.
//!
//! Needs Node >= 20.9 and npm, Chromium and chromedriver (`.ci/run` installs them).

// Helpers of a test: a failed step should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::assets::{clerk_bundles, link_clerk_bundles};
use crate::chromium::{in_chromium, in_chromium_recording_network, Page};
use crate::harness::*;
use crate::world::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---- the apps: install, build, start ------------------------------------------------------

/// How a stack's apps are built and served.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framework {
    /// `next build` per setup (the publishable key is baked in), `next start`.
    Next,
    /// `remix vite:build` once per run (`@clerk/remix` reads every variable on the server at
    /// run time), `remix-serve`.
    Remix,
}

/// One of the seed's stacks: an npm workspace under `examples/` with a `primary` and a
/// `satellite` app that share the journey's page structure.
#[derive(Clone, Copy)]
pub(crate) struct Stack {
    /// `nextjs` (App Router), `nextjs-pages` (Pages Router) or `remix`, under `examples/`; also
    /// the screenshot directories' prefix.
    pub(crate) dir: &'static str,
    pub(crate) framework: Framework,
    /// The primary's variable for the satellite it may send users back to
    /// (`allowedRedirectOrigins`): read at build time by a server component (App Router), in
    /// the browser (Pages Router, hence `NEXT_PUBLIC_`), or by the root loader (Remix).
    pub(crate) satellite_url_var: &'static str,
}

pub(crate) const APP_ROUTER: Stack = Stack {
    dir: "nextjs",
    framework: Framework::Next,
    satellite_url_var: "SATELLITE_URL",
};

const PAGES_ROUTER: Stack = Stack {
    dir: "nextjs-pages",
    framework: Framework::Next,
    satellite_url_var: "NEXT_PUBLIC_SATELLITE_URL",
};

impl Stack {
    /// The variable this stack's SDK reads for `what` (`PROXY_URL`, `SIGN_IN_URL`, ...).
    pub(crate) fn var(self, what: &str) -> String {
        match self.framework {
            Framework::Next => format!("NEXT_PUBLIC_CLERK_{what}"),
            Framework::Remix => format!("CLERK_{what}"),
        }
    }

    fn name(self) -> &'static str {
        match self.framework {
            Framework::Next => "Next.js",
            Framework::Remix => "Remix",
        }
    }

    /// `examples/<dir>`: one npm workspace holding both apps.
    fn workspace(self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(self.dir)
            .canonicalize()
            .unwrap()
    }
}

/// Runs `cmd` to completion; on failure, panics with its output and `what`.
fn run(mut cmd: Command, what: &str) {
    let started = stopwatch();
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("{what}: cannot start it ({e}); Node >= 20.9 and npm must be on PATH")
    });
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{what}: {:.1?}", started.elapsed());
}

/// A lock per name, held across a blocking step (an install, a build).
fn named_lock(name: &str) -> Arc<Mutex<bool>> {
    static LOCKS: Mutex<BTreeMap<String, Arc<Mutex<bool>>>> = Mutex::new(BTreeMap::new());
    LOCKS
        .lock()
        .unwrap()
        .entry(name.to_owned())
        .or_default()
        .clone()
}

/// `npm ci` in the stack's workspace, once per test run (both setups share the install).
fn npm_ci_once(stack: Stack) {
    let lock = named_lock(&format!("npm ci {}", stack.dir));
    let mut done = lock.lock().unwrap();
    if !*done {
        let mut cmd = Command::new("npm");
        cmd.args(["ci", "--no-audit", "--no-fund"])
            .current_dir(stack.workspace());
        run(cmd, &format!("npm ci in examples/{}", stack.dir));
        *done = true;
    }
}

/// Variables of one app, for its build and its server alike.
pub(crate) type Env = BTreeMap<String, String>;

/// What every run of Next.js gets besides the app's variables: no telemetry (neither Next's nor
/// clerk-js's, which would post to hosts this machine cannot reach) and a build directory of the
/// setup's own (`.next-dev`, `.next-prod`; next.config.mjs).
fn next_command(stack: Stack, app: &str, dist: &str, env: &Env, args: &[&str]) -> Command {
    let dir = stack.workspace().join(app);
    let mut cmd = Command::new("node");
    cmd.arg(stack.workspace().join("node_modules/next/dist/bin/next"))
        .args(args)
        .current_dir(&dir)
        .env("NEXT_TELEMETRY_DISABLED", "1")
        .env("NEXT_PUBLIC_CLERK_TELEMETRY_DISABLED", "1")
        .env("CLERK_TELEMETRY_DISABLED", "1")
        .env("ORBIT_NEXT_DIST_DIR", dist)
        .envs(env);
    cmd
}

/// Builds `app` of `stack` for a setup: `next build` into `dist` with the setup's variables, or,
/// for Remix, `remix vite:build` and a type check once per run, whatever the setup.
pub(crate) async fn build(stack: Stack, app: &'static str, dist: &'static str, env: Env) {
    match stack.framework {
        Framework::Next => next_build(stack, app, dist, env).await,
        Framework::Remix => tokio::task::spawn_blocking(move || remix_build_once(stack, app))
            .await
            .unwrap(),
    }
}

/// `remix vite:build` (into the app's `build/`) and `tsc` of `app`, once per test run: both
/// setups serve this one build.
fn remix_build_once(stack: Stack, app: &str) {
    let lock = named_lock(&format!("remix build {} {app}", stack.dir));
    let mut done = lock.lock().unwrap();
    if *done {
        return;
    }
    let ws = stack.workspace();
    for (tool, args, what) in [
        (
            "node_modules/@remix-run/dev/dist/cli.js",
            &["vite:build"][..],
            "remix vite:build",
        ),
        ("node_modules/typescript/bin/tsc", &[][..], "tsc"),
    ] {
        let mut cmd = Command::new("node");
        cmd.arg(ws.join(tool)).args(args).current_dir(ws.join(app));
        run(cmd, &format!("{what} of examples/{}/{app}", stack.dir));
    }
    *done = true;
}

/// `next build` of `app` into `dist`. Builds of one app wait for each other: they share the app's
/// `next-env.d.ts` and TypeScript build info.
async fn next_build(stack: Stack, app: &'static str, dist: &'static str, env: Env) {
    tokio::task::spawn_blocking(move || {
        let lock = named_lock(&format!("next build {} {app}", stack.dir));
        let _one_at_a_time = lock.lock().unwrap();
        // The build's own tsconfig (next.config.mjs): its types only, not the other build's,
        // whose generated declarations would clash with these.
        let dir = stack.workspace().join(app);
        let tsconfig = serde_json::json!({
            "extends": "./tsconfig.json",
            "include": [
                "next-env.d.ts", "**/*.ts", "**/*.tsx",
                format!("{dist}/types/**/*.ts"), format!("{dist}/dev/types/**/*.ts"),
            ],
            "exclude": ["node_modules", ".next", ".next-dev", ".next-prod"],
        });
        let name = format!("tsconfig.orbit-{}.json", dist.trim_start_matches(".next-"));
        std::fs::write(dir.join(&name), format!("{tsconfig:#}\n")).unwrap();
        let mut cmd = next_command(stack, app, dist, &env, &["build"]);
        cmd.env("ORBIT_NEXT_TSCONFIG", &name);
        run(
            cmd,
            &format!("next build of examples/{}/{app} ({dist})", stack.dir),
        );
    })
    .await
    .unwrap();
}

/// A built app's server on `localhost:<port>` (`next start -H localhost -p <port>`, or
/// `remix-serve` with `HOST` and `PORT`), in its own process group (killed on drop), its output
/// in a log file shown when it fails.
pub(crate) struct AppProcess {
    child: Child,
    port: u16,
    log: PathBuf,
    what: String,
}

impl AppProcess {
    /// `dist` is the Next.js build directory; for Remix, whose one build serves every setup, only
    /// a label for the log.
    pub(crate) async fn start(
        stack: Stack,
        app: &str,
        dist: &str,
        env: &Env,
        node: &[(String, String)],
        port: u16,
    ) -> Self {
        let what = format!(
            "{} of examples/{}/{app} ({dist}) on localhost:{port}",
            match stack.framework {
                Framework::Next => "next start",
                Framework::Remix => "remix-serve",
            },
            stack.dir
        );
        let log = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{}-{app}-{dist}-{port}.log", stack.dir));
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = match stack.framework {
            // `-H localhost`: with `-H 127.0.0.1`, Next.js answers 500 behind the middleware (it
            // fetches its own rewrite from `localhost` and takes it for an external URL).
            Framework::Next => next_command(
                stack,
                app,
                dist,
                env,
                &["start", "-H", "localhost", "-p", &port.to_string()],
            ),
            // remix-serve does not read `.env`: the variables come from its environment.
            Framework::Remix => {
                let mut cmd = Command::new("node");
                cmd.arg(
                    stack
                        .workspace()
                        .join("node_modules/@remix-run/serve/dist/cli.js"),
                )
                .arg("build/server/index.js")
                .current_dir(stack.workspace().join(app))
                .env("NODE_ENV", "production")
                .env("HOST", "localhost")
                .env("PORT", port.to_string())
                .env("CLERK_TELEMETRY_DISABLED", "1")
                .envs(env);
                cmd
            }
        };
        let child = cmd
            .envs(node.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let mut server = AppProcess {
            child,
            port,
            log,
            what,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let deadline = stopwatch() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited ({status}):\n{}", self.what, self.output());
            }
            if http
                .get(format!("http://localhost:{}/", self.port))
                .send()
                .await
                .is_ok()
            {
                return;
            }
            assert!(
                stopwatch() < deadline,
                "{} not ready after 60 s:\n{}",
                self.what,
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn free_port() -> u16 {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The variables `orbit serve` / `orbit instance show` print for `stack`'s apps of the instance
/// of `secret_key`: the primary's app's, and the satellite `satellite`'s.
pub(crate) async fn printed_env(
    stack: Stack,
    server: &TestServer,
    secret_key: &str,
    satellite: &str,
) -> (Env, Env) {
    let orbit = server.orbit();
    let instance = orbit
        .instance_for_secret_key(secret_key)
        .await
        .unwrap()
        .unwrap();
    let summary = orbit_server::cli::instance_summary(orbit, &server.config, &instance)
        .await
        .unwrap();
    let env = match stack.framework {
        Framework::Next => orbit_server::app_env::nextjs(&summary),
        Framework::Remix => orbit_server::app_env::remix(&summary),
    };
    let shared: Env = env.shared.into_iter().collect();
    let mut primary = shared.clone();
    primary.extend(env.primary);
    let (_, sat) = env
        .satellites
        .into_iter()
        .find(|(name, _)| name == satellite)
        .unwrap_or_else(|| panic!("no variables printed for the satellite {satellite}: {summary}"));
    let mut satellite = shared;
    satellite.extend(sat);
    (primary, satellite)
}

/// The primary's variables: as printed (the shared ones and the primary's), and the example's
/// own, the satellite it may send users back to (`allowedRedirectOrigins`).
pub(crate) fn primary_env(stack: Stack, printed: &Env, satellite_url: &str) -> Env {
    let mut env = printed.clone();
    env.insert(stack.satellite_url_var.into(), satellite_url.into());
    env
}

// ---- development --------------------------------------------------------------------------

#[tokio::test]
async fn seed_nextjs_apps_in_chromium_development() {
    development_journey(APP_ROUTER).await;
}

#[tokio::test]
async fn seed_nextjs_pages_apps_in_chromium_development() {
    development_journey(PAGES_ROUTER).await;
}

pub(crate) async fn development_journey(stack: Stack) {
    // Next.js needs its port before Orbit creates the development instance for it.
    let (p1, p2) = (free_port().await, free_port().await);
    let shared_bundles = clerk_bundles().await;
    let server = TestServer::start_with(|c| {
        c.dev_primary_domain = format!("localhost:{p1}");
        link_clerk_bundles(c, shared_bundles);
    })
    .await;
    server
        .backend()
        .add_satellite(&format!("localhost:{p2}"))
        .await;
    let (printed, satellite) = printed_env(
        stack,
        &server,
        &server.secret_key,
        &format!("localhost:{p2}"),
    )
    .await;
    // As printed: the publishable key names 127.0.0.1, the browser SDK reaches Orbit as
    // `localhost` (same-site with the apps, so FAPI's cookies travel with its calls).
    let orbit_port = url::Url::parse(&server.base).unwrap().port().unwrap();
    assert_eq!(
        printed[&stack.var("PROXY_URL")],
        format!("http://localhost:{orbit_port}")
    );
    assert_eq!(
        satellite[&stack.var("SIGN_IN_URL")],
        format!("http://localhost:{p1}/sign-in")
    );
    let primary = primary_env(stack, &printed, &format!("http://localhost:{p2}"));

    let started = stopwatch();
    let apps = build_and_start(stack, ".next-dev", primary, satellite, &[], (p1, p2)).await;
    eprintln!(
        "{} apps built and started: {:.1?}",
        stack.name(),
        started.elapsed()
    );

    let setup = Setup {
        primary: format!("http://localhost:{p1}"),
        satellite: format!("http://localhost:{p2}"),
        email: "ada@example.com",
        first_name: "Ada",
        last_name: "Lovelace",
    };
    let shots = format!("{}-dev", stack.dir);
    in_chromium(
        &format!("seed's apps in Chromium ({shots})"),
        &shots,
        &[],
        move |page| journey(page, setup),
    )
    .await;
    drop(apps);
    drop(server);
}

/// Builds both apps of a setup (the two at once) and starts them on `ports` (primary,
/// satellite).
async fn build_and_start(
    stack: Stack,
    dist: &'static str,
    primary: Env,
    satellite: Env,
    node: &[(String, String)],
    ports: (u16, u16),
) -> (AppProcess, AppProcess) {
    install(stack).await;
    tokio::join!(
        build(stack, "primary", dist, primary.clone()),
        build(stack, "satellite", dist, satellite.clone())
    );
    let p = AppProcess::start(stack, "primary", dist, &primary, node, ports.0).await;
    let s = AppProcess::start(stack, "satellite", dist, &satellite, node, ports.1).await;
    (p, s)
}

/// `npm ci` of `stack`'s workspace, once per run.
pub(crate) async fn install(stack: Stack) {
    tokio::task::spawn_blocking(move || npm_ci_once(stack))
        .await
        .unwrap();
}

// ---- production-like ----------------------------------------------------------------------

#[tokio::test]
async fn seed_nextjs_apps_in_chromium_production_like() {
    production_journey(APP_ROUTER).await;
}

#[tokio::test]
async fn seed_nextjs_pages_apps_in_chromium_production_like() {
    production_journey(PAGES_ROUTER).await;
}

pub(crate) async fn production_journey(stack: Stack) {
    let prod = ProdStack::start(stack).await;
    if let Ok(secs) = std::env::var("ORBIT_TEST_HOLD_SECS") {
        // For debugging by hand: the world stays up this long before the journey.
        eprintln!("HOLD chromium args: {:?}", prod.chromium_args);
        tokio::time::sleep(Duration::from_secs(secs.parse().unwrap())).await;
    }
    let setup = Setup {
        primary: "https://primary.test".into(),
        satellite: "https://satellite.test".into(),
        email: "grace@example.com",
        first_name: "Grace",
        last_name: "Hopper",
    };
    let shots = format!("{}-prod", stack.dir);
    in_chromium(
        &format!("seed's apps in Chromium ({shots})"),
        &shots,
        &prod.chromium_args,
        move |page| journey(page, setup),
    )
    .await;
    drop(prod);
}

/// The production-like setup: `ProdWorld` with the verified satellite `satellite.test`, both
/// apps built with the printed variables (keys and URLs only) and served over TLS on their own
/// addresses, and the Chromium arguments that map the names and accept the test certificate.
struct ProdStack {
    chromium_args: Vec<String>,
    _apps: Vec<ProdApp>,
    _node: NodeToWorld,
    world: ProdWorld,
    /// One production-like setup of a stack at a time: a Next.js build directory is `.next-prod`.
    _one_at_a_time: tokio::sync::OwnedMutexGuard<()>,
}

impl ProdStack {
    async fn start(stack: Stack) -> Self {
        let guard = one_at_a_time(&format!("{} .next-prod", stack.dir)).await;
        let world = prod_world().await;
        world.add_satellite("satellite.test", true).await;
        let (printed, satellite) =
            printed_env(stack, &world.server, &world.secret_key, "satellite.test").await;
        // Keys and URLs only.
        let mut expected = vec![
            "CLERK_API_URL".to_owned(),
            "CLERK_SECRET_KEY".to_owned(),
            stack.var("PUBLISHABLE_KEY"),
            stack.var("SIGN_IN_URL"),
            stack.var("SIGN_UP_URL"),
        ];
        expected.sort();
        assert_eq!(printed.keys().cloned().collect::<Vec<_>>(), expected);
        assert_eq!(printed["CLERK_API_URL"], world.bapi_url());
        assert_eq!(satellite[&stack.var("DOMAIN")], "satellite.test");
        let primary = primary_env(stack, &printed, "https://satellite.test");

        let node = NodeToWorld::new(&world);
        let started = stopwatch();
        let (p, s) = build_and_start(
            stack,
            ".next-prod",
            primary,
            satellite,
            &node.env,
            (free_port().await, free_port().await),
        )
        .await;
        eprintln!(
            "{} apps built and started: {:.1?}",
            stack.name(),
            started.elapsed()
        );
        let apps = vec![
            ProdApp::serve(&world, "primary.test", p).await,
            ProdApp::serve(&world, "satellite.test", s).await,
        ];
        ProdStack {
            chromium_args: chromium_args(&world, &apps),
            _apps: apps,
            _node: node,
            world,
            _one_at_a_time: guard,
        }
    }
}

/// Waits for the setup called `name` to be free (setups that share a build directory run one
/// after the other).
pub(crate) async fn one_at_a_time(name: &str) -> tokio::sync::OwnedMutexGuard<()> {
    static LOCKS: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>> =
        Mutex::new(BTreeMap::new());
    let lock = LOCKS
        .lock()
        .unwrap()
        .entry(name.to_owned())
        .or_default()
        .clone();
    lock.lock_owned().await
}

/// A production-like world serving Clerk's bundles from the run's shared cache.
pub(crate) async fn prod_world() -> ProdWorld {
    let shared_bundles = clerk_bundles().await;
    ProdWorld::start_on(None, |c| link_clerk_bundles(c, shared_bundles)).await
}

/// What the apps' servers need to reach the world's Backend API at orbit.test: Node trusts the
/// test CA and resolves `*.test` to the world's address (compat/node/resolve-test-hosts.mjs).
pub(crate) struct NodeToWorld {
    pub(crate) env: Vec<(String, String)>,
    _ca: tempfile::NamedTempFile,
}

impl NodeToWorld {
    pub(crate) fn new(world: &ProdWorld) -> Self {
        let ca = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(ca.path(), &world.certs.ca_pem).unwrap();
        let preload = url::Url::from_file_path(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../compat/node/resolve-test-hosts.mjs"),
        )
        .unwrap();
        let env = vec![
            ("NODE_OPTIONS".to_owned(), format!("--import={preload}")),
            (
                "NODE_EXTRA_CA_CERTS".to_owned(),
                ca.path().display().to_string(),
            ),
            ("ORBIT_TEST_IP".to_owned(), world.ip.to_string()),
        ];
        NodeToWorld { env, _ca: ca }
    }
}

/// An app's server behind a TLS-terminating proxy on an address of its own, as `host`.
pub(crate) struct ProdApp {
    host: &'static str,
    proxy: AppServer,
    _process: AppProcess,
}

impl ProdApp {
    pub(crate) async fn serve(world: &ProdWorld, host: &'static str, process: AppProcess) -> Self {
        ProdApp {
            host,
            proxy: world.serve_app(reverse_proxy(process.port)).await,
            _process: process,
        }
    }
}

/// The Chromium arguments that map each app's name to its proxy and every other `*.test` name
/// to the world, and accept the test certificate.
pub(crate) fn chromium_args(world: &ProdWorld, apps: &[ProdApp]) -> Vec<String> {
    let apps: Vec<(&str, std::net::IpAddr)> = apps.iter().map(|a| (a.host, a.proxy.ip)).collect();
    world.chromium_args(&apps)
}

/// An app behind a TLS-terminating proxy: forwards every request to `next start` on
/// `localhost:<port>` with its `Host` (and `X-Forwarded-Host`; `serve_app` adds
/// `X-Forwarded-Proto: https`), and answers with what the app answered, redirects included.
fn reverse_proxy(port: u16) -> axum::Router {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    axum::Router::new().fallback(move |req: axum::extract::Request| {
        let http = http.clone();
        async move {
            let (parts, body) = req.into_parts();
            let host = parts
                .headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
                .or_else(|| parts.uri.authority().map(|a| a.to_string()))
                .unwrap_or_default();
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let body = axum::body::to_bytes(body, 16 << 20).await.unwrap();
            let mut headers = reqwest::header::HeaderMap::new();
            for (k, v) in &parts.headers {
                if !matches!(
                    k.as_str(),
                    "host" | "connection" | "keep-alive" | "transfer-encoding" | "te" | "upgrade"
                ) {
                    headers.append(k.clone(), v.clone());
                }
            }
            headers.insert("host", host.parse().unwrap());
            headers.insert("x-forwarded-host", host.parse().unwrap());
            let resp = http
                .request(parts.method, format!("http://localhost:{port}{path}"))
                .headers(headers)
                .body(body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("proxy to localhost:{port}: {e}"));
            let mut out = axum::http::Response::builder().status(resp.status());
            for (k, v) in resp.headers() {
                if !matches!(
                    k.as_str(),
                    "connection" | "keep-alive" | "transfer-encoding"
                ) {
                    out = out.header(k, v);
                }
            }
            out.body(axum::body::Body::from(resp.bytes().await.unwrap()))
                .unwrap()
        }
    })
}

// ---- the journey --------------------------------------------------------------------------

struct Setup {
    primary: String,
    satellite: String,
    email: &'static str,
    first_name: &'static str,
    last_name: &'static str,
}

/// The browser's tab with the journey's checks; console errors from Clerk's SDK are collected
/// after every step.
pub(crate) struct Tab {
    pub(crate) page: Page,
    /// Console errors that did not come from Clerk's SDK, shown at the end.
    other_errors: Vec<String>,
}

impl Tab {
    pub(crate) fn new(page: Page) -> Self {
        Tab {
            page,
            other_errors: Vec::new(),
        }
    }

    /// Ends the journey: what else the console said, for the log (step 6 is checked after every
    /// step).
    pub(crate) fn finish(self) {
        if !self.other_errors.is_empty() {
            eprintln!(
                "console errors not from Clerk's SDK:\n{}",
                self.other_errors.join("\n")
            );
        }
    }

    /// Step (1): signs up on `primary`'s <SignUp/>, lands on its home signed in, and
    /// <UserButton/> shows the user.
    pub(crate) async fn sign_up_on_primary(&mut self, primary: &str, email: &str) {
        self.page.goto(&format!("{primary}/sign-up")).await;
        self.page
            .wait_for("input[name=emailAddress]", "the primary's <SignUp/>")
            .await;
        self.step_done("primary-sign-up-form").await;
        self.page.fill("input[name=emailAddress]", email).await;
        self.page.fill("input[name=password]", GOOD_PASSWORD).await;
        self.submit().await;
        self.page
            .wait_for("#signed-in", "the primary's home after sign-up")
            .await;
        self.assert_at(primary, "/", "after sign-up").await;
        let popover = self
            .user_button_popover("the primary's <UserButton/>")
            .await;
        assert!(popover.contains(email), "<UserButton/> shows {popover:?}");
        self.step_done("primary-signed-up-user-button").await;
    }

    /// Step (2): `satellite`'s protected page shows <UserProfile/> with `email`, no credentials
    /// typed.
    pub(crate) async fn satellite_profile_signed_in(
        &mut self,
        satellite: &str,
        email: &str,
        shot: &str,
    ) {
        self.page.goto(&format!("{satellite}/profile")).await;
        self.page
            .wait_for_text(
                email,
                "the satellite's <UserProfile/> after sign-up on the primary",
            )
            .await;
        self.assert_at(satellite, "/profile", "the satellite's protected page")
            .await;
        self.page
            .wait_for(".cl-userProfile-root", "<UserProfile/>")
            .await;
        self.step_done(shot).await;
    }

    /// Ends a step: a screenshot, and no console error from Clerk's SDK since the last step.
    pub(crate) async fn step_done(&mut self, name: &str) {
        self.page.screenshot(name).await;
        let entries = self.page.console_entries().await;
        let (clerk, other) = classify_console_errors(&entries);
        assert!(
            clerk.is_empty(),
            "step {name:?}: Clerk's SDK logged errors:\n{}",
            clerk.join("\n")
        );
        self.other_errors
            .extend(other.into_iter().map(|e| format!("{name}: {e}")));
    }

    /// Opens `<UserButton/>`'s popover and returns its text.
    async fn user_button_popover(&self, step: &str) -> String {
        self.page.wait_for(".cl-userButtonTrigger", step).await;
        self.page.click(".cl-userButtonTrigger").await;
        self.page.wait_for(".cl-userButtonPopoverCard", step).await;
        self.page.text(".cl-userButtonPopoverCard").await
    }

    async fn assert_at(&self, origin: &str, path: &str, step: &str) {
        let url = self.page.url().await;
        assert_eq!(
            url.origin().ascii_serialization(),
            origin,
            "{step}: at {url}"
        );
        assert_eq!(url.path(), path, "{step}: at {url}");
    }

    /// Clicks the card's primary button ("Continue", "Save").
    async fn submit(&self) {
        self.page.click(".cl-formButtonPrimary").await;
    }
}

/// Console entries at level SEVERE, split into those from Clerk's SDK (logged by its scripts
/// under `/npm/@clerk/`, naming Clerk, or a failed Frontend API call) and the others.
fn classify_console_errors(entries: &[Value]) -> (Vec<String>, Vec<String>) {
    let mut clerk = Vec::new();
    let mut other = Vec::new();
    for e in entries {
        if e["level"] != json!("SEVERE") {
            continue;
        }
        let message = e["message"].as_str().unwrap_or_default();
        let source = e["source"].as_str().unwrap_or_default();
        let fapi_call = source == "network" && message.contains("/v1/");
        if message.contains("/npm/@clerk/") || message.contains("Clerk") || fapi_call {
            clerk.push(format!("[{source}] {message}"));
        } else {
            other.push(format!("[{source}] {message}"));
        }
    }
    (clerk, other)
}

async fn journey(page: Page, s: Setup) {
    let mut tab = Tab::new(page);
    let name = format!("{} {}", s.first_name, s.last_name);
    let profile = format!("{}/profile", s.satellite);

    // (1) Sign up on the primary through <SignUp/>; <UserButton/> shows the user.
    tab.sign_up_on_primary(&s.primary, s.email).await;
    // The primary's server renders the same user (its middleware verified the session token).
    tab.page.goto(&format!("{}/", s.primary)).await;
    tab.page.wait_for("#signed-in", "the primary's home").await;
    let server_view = tab.page.text("#server-user").await;
    assert!(
        server_view.starts_with("Server sees user_"),
        "{server_view}"
    );

    // (2) The satellite's protected page: signed in, no credentials typed.
    tab.satellite_profile_signed_in(&s.satellite, s.email, "satellite-user-profile")
        .await;

    // (3) Change the name in <UserProfile/> on the satellite; the primary shows it.
    tab.page
        .click(".cl-profileSectionPrimaryButton__profile")
        .await;
    tab.page
        .wait_for("input[name=firstName]", "<UserProfile/>'s profile form")
        .await;
    tab.page.fill("input[name=firstName]", s.first_name).await;
    tab.page.fill("input[name=lastName]", s.last_name).await;
    tab.step_done("satellite-profile-form").await;
    tab.submit().await;
    tab.page
        .wait_for_text(&name, "<UserProfile/> after saving the name")
        .await;
    tab.step_done("satellite-name-saved").await;
    tab.page.goto(&format!("{}/", s.primary)).await;
    tab.page.wait_for("#signed-in", "the primary's home").await;
    let popover = tab.user_button_popover("the primary's <UserButton/>").await;
    assert!(
        popover.contains(&name),
        "the primary's <UserButton/> shows the new name: {popover:?}"
    );
    tab.step_done("primary-shows-new-name").await;

    // (4) Sign out through <UserButton/> on the satellite; the primary is signed out too.
    // From the satellite's public home page: on its protected page, Next.js refreshes that page
    // after the sign-out, which the middleware then sends to the primary's sign-in, racing the
    // SDK's own navigation to `/`.
    tab.page.goto(&format!("{}/", s.satellite)).await;
    tab.page
        .wait_for("#signed-in", "the satellite's home, signed in")
        .await;
    tab.user_button_popover("the satellite's <UserButton/>")
        .await;
    tab.page
        .click(".cl-userButtonPopoverActionButton__signOut")
        .await;
    tab.page
        .wait_for("#signed-out", "the satellite's home after sign-out")
        .await;
    tab.assert_at(&s.satellite, "/", "after sign-out").await;
    tab.step_done("satellite-signed-out").await;
    // The session ended on the server. The primary's clerk-js finds no session as soon as it
    // loads the client (GET /v1/client, which in production also sets the app's
    // `__client_uat` to 0); the primary's server, which would trust its session token until it
    // expires (60 s), handshakes on its next request because of that cookie and sees no user.
    tab.page.goto(&format!("{}/", s.primary)).await;
    tab.page
        .wait_for("#signed-out", "the primary after sign-out on the satellite")
        .await;
    tab.step_done("primary-signed-out-too").await;
    tab.page.goto(&format!("{}/", s.primary)).await;
    tab.page.wait_for("#signed-out", "the primary's home").await;
    assert_eq!(
        tab.page.text("#server-user").await,
        "Server sees no user",
        "the primary's server, one page view after its clerk-js saw the sign-out"
    );

    // (5) Signed out, the satellite's protected page: the primary's <SignIn/>, then back.
    tab.page.goto(&profile).await;
    tab.page
        .wait_for(
            "input[name=identifier]",
            "the primary's <SignIn/> for the satellite",
        )
        .await;
    tab.assert_at(&s.primary, "/sign-in", "signing in for the satellite")
        .await;
    tab.step_done("primary-sign-in-for-satellite").await;
    tab.page.fill("input[name=identifier]", s.email).await;
    tab.submit().await;
    tab.page
        .wait_for_text("Enter your password", "<SignIn/>'s password step")
        .await;
    tab.page.fill("input[name=password]", GOOD_PASSWORD).await;
    tab.step_done("primary-sign-in-password").await;
    tab.submit().await;
    tab.page
        .wait_for(
            ".cl-userProfile-root",
            "the satellite's <UserProfile/> after signing in",
        )
        .await;
    tab.page
        .wait_for_text(s.email, "the satellite's <UserProfile/> after signing in")
        .await;
    tab.assert_at(
        &s.satellite,
        "/profile",
        "back on the satellite's protected page",
    )
    .await;
    tab.page.wait_for_text(&name, "the same user").await;
    tab.step_done("satellite-profile-after-sign-in").await;

    // (6) is checked after every step.
    tab.finish();
}

// ---- measured: a satellite's first signed-in page view -------------------------------------

/// Issue 10 §5 (BENCHMARKS.md "A satellite's first signed-in page view"): a browser signed in
/// on the primary opens the satellite's protected page for the first time; every request from
/// the first document request to the rendered `<UserProfile/>` is counted, and the time the
/// servers took for each (from the request sent to the response headers, as Chromium's DevTools
/// timing reports it). Five fresh browsers; a table on stderr. Not a test of speed: run it by
/// hand,
///
/// ```sh
/// cargo test --release -p orbit-server --test it nextjs::measure_ -- --ignored --nocapture
/// ```
#[tokio::test]
#[ignore = "a measurement, not a test: run it by hand (see its doc comment)"]
async fn measure_a_satellites_first_signed_in_page_view() {
    let prod = ProdStack::start(APP_ROUTER).await;
    prod.world
        .backend()
        .create_user("ada@example.com", GOOD_PASSWORD)
        .await;
    let mut rows = Vec::new();
    for run in 1..=5 {
        let (tx, rx) = tokio::sync::oneshot::channel();
        in_chromium_recording_network(
            &format!("first satellite view, run {run}"),
            "nextjs-measure",
            &prod.chromium_args,
            move |page| async move {
                let _ = tx.send(first_satellite_view(page).await);
            },
        )
        .await;
        let row = rx.await.unwrap();
        if run == 1 {
            eprintln!("run 1, every request:\n{}", row.listing);
        }
        rows.push(row);
    }
    eprintln!("{}", view_table(&rows));
}

/// One request as Chromium saw it: each redirect hop is a request of its own.
struct Hop {
    url: String,
    status: u16,
    /// From the request sent to the response headers received, ms.
    server_ms: f64,
}

struct ViewRun {
    hops: Vec<Hop>,
    wall_ms: f64,
    listing: String,
}

async fn first_satellite_view(mut page: Page) -> ViewRun {
    // Signed in on the primary through <SignIn/>.
    page.goto("https://primary.test/sign-in").await;
    page.wait_for("input[name=identifier]", "<SignIn/>").await;
    page.fill("input[name=identifier]", "ada@example.com").await;
    page.click(".cl-formButtonPrimary").await;
    page.wait_for_text("Enter your password", "password step")
        .await;
    page.fill("input[name=password]", GOOD_PASSWORD).await;
    page.click(".cl-formButtonPrimary").await;
    page.wait_for("#signed-in", "the primary, signed in").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    page.network_events().await;

    // The satellite's protected page, first time.
    let started_ms = epoch_ms();
    let started = stopwatch();
    page.goto("https://satellite.test/profile").await;
    page.wait_for(".cl-userProfile-root", "<UserProfile/>")
        .await;
    page.wait_for_text("ada@example.com", "<UserProfile/> with the email")
        .await;
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let done_ms = started_ms + wall_ms;
    page.screenshot("satellite-user-profile").await;
    let events = page.network_events().await;
    let hops = hops_between(&events, started_ms, done_ms);
    let listing = hops
        .iter()
        .map(|h| format!("  {:>3} {:>7.1} ms  {}", h.status, h.server_ms, h.url))
        .collect::<Vec<_>>()
        .join("\n");
    ViewRun {
        hops,
        wall_ms,
        listing,
    }
}

/// Wall-clock time, to compare with the timestamps chromedriver puts on its log entries (no
/// server clock is involved).
#[allow(clippy::disallowed_methods)]
fn epoch_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

/// The requests (redirect hops included) whose response came between `from_ms` and `until_ms`
/// (the primary's lazily loaded chunks may still arrive after its page showed).
fn hops_between(events: &[(f64, Value)], from_ms: f64, until_ms: f64) -> Vec<Hop> {
    let server_ms = |timing: &Value| {
        let sent = timing["sendEnd"].as_f64().unwrap_or(0.0);
        let headers = timing["receiveHeadersStart"]
            .as_f64()
            .filter(|v| *v > 0.0)
            .or_else(|| timing["receiveHeadersEnd"].as_f64())
            .unwrap_or(sent);
        (headers - sent).max(0.0)
    };
    let mut hops = Vec::new();
    for (at, e) in events {
        if *at < from_ms || *at > until_ms {
            continue;
        }
        let p = &e["params"];
        let response = match e["method"].as_str() {
            // A redirect: the hop's response arrives with the next request of the chain.
            Some("Network.requestWillBeSent") => &p["redirectResponse"],
            Some("Network.responseReceived") => &p["response"],
            _ => continue,
        };
        let Some(url) = response["url"].as_str() else {
            continue;
        };
        if url.starts_with("data:") || url.starts_with("blob:") {
            continue;
        }
        hops.push(Hop {
            url: url.chars().take(120).collect(),
            status: response["status"].as_u64().unwrap_or(0) as u16,
            server_ms: server_ms(&response["timing"]),
        });
    }
    hops
}

/// Markdown: per run, requests and server time by kind, and the wall time; then the medians.
fn view_table(runs: &[ViewRun]) -> String {
    let kind = |url: &str| {
        let host = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        if url.contains("/npm/@clerk/") {
            "bundles"
        } else if host.starts_with("clerk.") || host == "orbit.test" {
            "orbit"
        } else {
            "app"
        }
    };
    let mut out = String::from(
        "| run | requests | of which Orbit (FAPI) | Orbit server ms | bundle requests | bundle server ms | app requests | app server ms | wall ms |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); 8];
    for (i, r) in runs.iter().enumerate() {
        let sum = |k: &str| -> (f64, f64) {
            let hs: Vec<&Hop> = r.hops.iter().filter(|h| kind(&h.url) == k).collect();
            (hs.len() as f64, hs.iter().map(|h| h.server_ms).sum())
        };
        let (on, oms) = sum("orbit");
        let (bn, bms) = sum("bundles");
        let (an, ams) = sum("app");
        let row = [r.hops.len() as f64, on, oms, bn, bms, an, ams, r.wall_ms];
        for (c, v) in cols.iter_mut().zip(row) {
            c.push(v);
        }
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} | {} | {:.0} | {} | {:.0} | {:.0} |\n",
            i + 1,
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7]
        ));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let m: Vec<f64> = cols.iter_mut().map(median).collect();
    out.push_str(&format!(
        "| median | {} | {} | {:.0} | {} | {:.0} | {} | {:.0} | {:.0} |\n",
        m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]
    ));
    out
}
