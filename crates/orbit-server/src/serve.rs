//! Building the router, binding, bootstrapping an empty data directory, and running.

use crate::config::Config;
use crate::dashboard::{self, Placement};
use crate::error::{ApiError, REQUEST_ID};
use crate::{assets, bapi, data_dir, fapi, portal, AppState};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use orbit_core::clock::{Clock, SystemClock};
use orbit_core::model::{Domain, InstanceKind};
use orbit_core::random::{Random, SystemRandom};
use orbit_core::satellite::CnameResolver;
use orbit_core::store::RoundGuard;
use orbit_core::{InstanceCredentials, Orbit, Round};
use orbit_proto::wire;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub fn router(state: AppState) -> Router {
    let mut routes = Router::new()
        .merge(fapi::routes(state.clone()))
        .merge(portal::routes());
    // With a listener of its own, the dashboard is served there only.
    if state.config.dashboard_listen.is_none() {
        routes = routes.merge(dashboard::routes(state.clone(), Placement::PublicHost));
    }
    let routes = routes
        .nest("/bapi", bapi::routes(state.clone()))
        .route("/health", axum::routing::get(|| async { "ok" }))
        .route("/ready", axum::routing::get(ready));
    guarded(routes, state)
}

/// The router of `dashboard_listen`: the dashboard on whatever host it is reached by, and
/// `/health`.
pub fn dashboard_router(state: AppState) -> Router {
    let routes = dashboard::routes(state.clone(), Placement::OwnListener)
        .route("/health", axum::routing::get(|| async { "ok" }));
    guarded(routes, state)
}

/// `routes` with what every listener's requests get: the JSON 404, the body limit, the
/// per-request guard, and the Frontend API's method override.
fn guarded(routes: Router<AppState>, state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let routes = routes
        .fallback(|| async { ApiError::not_found_route() })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state.clone());
    // Around the routes rather than on them: a router's own layers run after it picked a route,
    // and `_method` must change the method before that (docs/design/frontend-api.md).
    let app = tower::ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(state, guard))
        .layer(middleware::from_fn(fapi::request::method_override))
        .service(routes);
    Router::new().fallback_service(app)
}

/// How long `/ready` waits for the database before answering 503.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Readiness for load balancers: 200 `{"status":"ready"}` when the database answers within
/// `READY_TIMEOUT` with every migration applied; else 503 with `Retry-After` and the reason
/// (the cause itself is logged). `/health` is liveness only and never touches the database.
async fn ready(State(state): State<AppState>) -> Response {
    use orbit_core::store::Readiness;
    let reason = match tokio::time::timeout(READY_TIMEOUT, state.orbit.readiness()).await {
        Ok(Ok(Readiness::Ready)) => {
            return axum::Json(serde_json::json!({ "status": "ready" })).into_response()
        }
        Ok(Ok(Readiness::MigrationsPending { applied, known })) => format!(
            "database migrations pending: the database is at version {applied}, this server needs {known}"
        ),
        Ok(Err(e)) => {
            tracing::warn!("readiness: {e}");
            "the database is unreachable".to_owned()
        }
        Err(_) => format!(
            "the database did not answer within {} ms",
            READY_TIMEOUT.as_millis()
        ),
    };
    let body = serde_json::json!({ "status": "unavailable", "reason": reason });
    let mut resp = (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(body),
    )
        .into_response();
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(crate::error::DATABASE_RETRY_AFTER_SECS),
    );
    resp
}

/// Per request: an id (for logs and error bodies), the body size limit by Content-Length
/// (bodies without one are cut off by `DefaultBodyLimit`), baseline security headers, and a log
/// line that carries the path but never the query (it may hold tokens).
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let id = state.orbit.random().token(9);
    let limit = state.config.max_body_bytes;
    let too_big = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > limit);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    // HSTS on every https answer, TLS terminated here or by a trusted proxy.
    let (parts, body) = req.into_parts();
    let https = state.tls
        || crate::extract::forwarded(&parts, &state, wire::header::FORWARDED_PROTO).as_deref()
            == Some("https");
    let req = Request::from_parts(parts, body);
    let mut resp = REQUEST_ID
        .scope(id.clone(), async move {
            if too_big {
                ApiError::payload_too_large(limit).into_response()
            } else {
                next.run(req).await
            }
        })
        .await;
    tracing::info!(request_id = %id, %method, %path, status = resp.status().as_u16(), "request");
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert(wire::header::REQUEST_ID, v);
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "referrer-policy",
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    resp
}

/// A server running in this process.
pub struct Running {
    pub addr: SocketAddr,
    pub public_base: String,
    pub orbit: Arc<Orbit>,
    /// Credentials of the development instance created on first start, if this start created it.
    pub created: Option<InstanceCredentials>,
    /// Clerk's browser bundles this server serves.
    pub bundles: Arc<assets::Bundles>,
    /// The address of `dashboard_listen`, when the dashboard has a listener of its own.
    pub dashboard_addr: Option<SocketAddr>,
    /// Where the dashboard is: `<public_url>/dashboard`, or on `dashboard_listen`.
    pub dashboard_url: String,
    /// The one-time link that creates the first operator, when this start found none
    /// (`<dashboard>/setup?token=...`, valid `SETUP_TOKEN_LIFETIME`).
    pub setup_link: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    dashboard_task: Option<JoinHandle<std::io::Result<()>>>,
    background: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting connections, finishes in-flight requests and returns.
    pub async fn stop(mut self) -> std::io::Result<()> {
        for b in &self.background {
            b.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(d) = self.dashboard_task.take() {
            d.await.map_err(std::io::Error::other)??;
        }
        self.task.await.map_err(std::io::Error::other)?
    }

    /// Waits until the server stops on its own (it does not, unless one of its listeners
    /// fails).
    pub async fn wait(self) -> std::io::Result<()> {
        let Running {
            task,
            dashboard_task,
            shutdown,
            ..
        } = self;
        let _keep_open = shutdown;
        match dashboard_task {
            None => task.await.map_err(std::io::Error::other)?,
            Some(dashboard) => tokio::select! {
                r = task => r.map_err(std::io::Error::other)?,
                r = dashboard => r.map_err(std::io::Error::other)?,
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source} (is another server running there? choose another with --listen)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr} for the dashboard: {source} (is another server running there? choose another with --dashboard-listen)")]
    DashboardBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    DataDir(#[from] data_dir::DataDirError),
    #[error("creating the development instance: {0}")]
    Bootstrap(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("DNS resolver: {0}")]
    Dns(String),

    #[error("instance {0} has sign_up.email_verification on, but no SMTP server is configured: set smtp_host and smtp_from (README \"Configuration\"), or turn verification off with `orbit instance set --instance {0} --sign-up-email-verification off`")]
    NoMailForVerification(String),
}

/// The CNAME resolver the configuration asks for.
pub fn resolver(config: &Config) -> Result<Arc<dyn CnameResolver>, String> {
    let r = crate::dns::HickoryCnameResolver::new(
        &config.dns_servers,
        std::time::Duration::from_millis(config.dns_timeout_ms),
    )?;
    Ok(Arc::new(r))
}

/// What a server takes from the world besides its configuration: time, randomness and DNS.
/// `start` uses [`ServeDeps::system`]; tests hand in a manual clock.
#[derive(Clone)]
pub struct ServeDeps {
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    /// Resolver for satellites' CNAME checks; `None`: the one the configuration asks for
    /// ([`resolver`]).
    pub resolver: Option<Arc<dyn CnameResolver>>,
}

impl ServeDeps {
    /// The system clock, the operating system's randomness, the configured resolver.
    pub fn system() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            random: Arc::new(SystemRandom),
            resolver: None,
        }
    }
}

/// Opens the data directory, binds, creates the development instance in an empty data
/// directory, and serves until stopped.
pub async fn start(config: Config) -> Result<Running, StartError> {
    start_with(config, ServeDeps::system()).await
}

/// `start` on the given clock, randomness and resolver.
pub async fn start_with(config: Config, deps: ServeDeps) -> Result<Running, StartError> {
    let ServeDeps {
        clock,
        random,
        resolver: given_resolver,
    } = deps;
    let orbit = data_dir::open_with(&config, true, config.orbit_settings(), clock, random).await?;
    // The address is taken first (the development instance's FAPI host names its port), but
    // connections are accepted only once the data directory is ready: whoever finds the port
    // answering (a CLI command, a health check) finds the instance too.
    let bind_error = |source| StartError::Bind {
        addr: config.listen,
        source,
    };
    let socket = bound_socket(config.listen).map_err(bind_error)?;
    let addr = socket.local_addr().map_err(bind_error)?;
    let public_base = config.public_base(addr);
    let dashboard_socket = match config.dashboard_listen {
        Some(d) => {
            let bind_error = |source| StartError::DashboardBind { addr: d, source };
            let socket = bound_socket(d).map_err(bind_error)?;
            let bound = socket.local_addr().map_err(bind_error)?;
            Some((socket, bound))
        }
        None => None,
    };
    let created = bootstrap(&orbit, &config, &public_base)
        .await
        .map_err(|e| StartError::Bootstrap(e.to_string()))?;
    if orbit.settings().mail.is_none() {
        let instances = orbit
            .instances()
            .await
            .map_err(|e| StartError::Bootstrap(e.to_string()))?;
        if let Some(i) = instances
            .iter()
            .find(|i| i.settings.sign_up_email_verification)
        {
            return Err(StartError::NoMailForVerification(i.id.clone()));
        }
    }
    let dashboard_url = config.dashboard_url(&public_base, dashboard_socket.as_ref().map(|s| s.1));
    // While no operator exists, each start prints a new one-time link that creates the first.
    let setup_link = orbit
        .issue_setup_token()
        .await
        .map_err(|e| StartError::Bootstrap(e.to_string()))?
        .map(|token| format!("{dashboard_url}/setup?token={token}"));
    let listener = socket.listen(1024).map_err(bind_error)?;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            // One process-wide crypto provider; a second install attempt is harmless.
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            let c = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|e| {
                    StartError::Tls(format!(
                        "loading {} and {}: {e}",
                        cert.display(),
                        key.display()
                    ))
                })?;
            Some(c)
        }
        _ => None,
    };
    let resolver = match given_resolver {
        Some(r) => r,
        None => resolver(&config).map_err(StartError::Dns)?,
    };
    let bundles = Arc::new(assets::Bundles::new(
        assets::npm::Cache::in_data_dir(&config.data_dir),
        config.bundle_source(),
        orbit.clock().clone(),
    ));
    let state = AppState {
        bundles: bundles.clone(),
        orbit: orbit.clone(),
        cname_target: config.cname_target(&public_base),
        config: Arc::new(config),
        public_base: public_base.clone(),
        tls: tls.is_some(),
        resolver,
    };
    let header_read_timeout = state.config.header_read_timeout();
    let mut background = vec![tokio::spawn(housekeeping(state.clone()))];
    if state.config.dns_check_interval_secs > 0 {
        background.push(tokio::spawn(dns_checks(state.clone())));
    }
    let dashboard_app = dashboard_socket.as_ref().map(|_| {
        dashboard_router(state.clone()).into_make_service_with_connect_info::<SocketAddr>()
    });
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let (tx, rx) = oneshot::channel::<()>();
    // One server for plain and TLS listeners: hyper's HTTP/1 builder gives slow clients
    // `header_read_timeout` to send their headers, then closes the connection.
    let std_listener = listener
        .into_std()
        .map_err(|source| StartError::Bind { addr, source })?;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    let dashboard_handle = axum_server::Handle::new();
    let dashboard_stopper = dashboard_handle.clone();
    tokio::spawn(async move {
        let _ = rx.await;
        let grace = Some(std::time::Duration::from_secs(5));
        stopper.graceful_shutdown(grace);
        dashboard_stopper.graceful_shutdown(grace);
    });
    let task = serve_on(std_listener, tls.clone(), handle, header_read_timeout, app);
    let mut dashboard_addr = None;
    let mut dashboard_task = None;
    if let (Some((socket, bound)), Some(app)) = (dashboard_socket, dashboard_app) {
        let bind_error = |source| StartError::DashboardBind {
            addr: bound,
            source,
        };
        let listener = socket
            .listen(1024)
            .and_then(|l| l.into_std())
            .map_err(bind_error)?;
        dashboard_addr = Some(bound);
        dashboard_task = Some(serve_on(
            listener,
            tls,
            dashboard_handle,
            header_read_timeout,
            app,
        ));
    }
    Ok(Running {
        addr,
        public_base,
        orbit,
        created,
        bundles,
        dashboard_addr,
        dashboard_url,
        setup_link,
        shutdown: Some(tx),
        task,
        dashboard_task,
        background,
    })
}

/// Serves `app` on `listener` (over TLS with `tls`) until `handle` shuts it down.
fn serve_on(
    listener: std::net::TcpListener,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    handle: axum_server::Handle,
    header_read_timeout: std::time::Duration,
    app: axum::extract::connect_info::IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
) -> JoinHandle<std::io::Result<()>> {
    match tls {
        None => {
            let mut server = axum_server::from_tcp(listener).handle(handle);
            with_header_timeout(server.http_builder(), header_read_timeout);
            tokio::spawn(async move { server.serve(app).await })
        }
        Some(tls) => {
            let mut server = axum_server::from_tcp_rustls(listener, tls).handle(handle);
            with_header_timeout(server.http_builder(), header_read_timeout);
            tokio::spawn(async move { server.serve(app).await })
        }
    }
}

/// Claims `round` for this node: `None` when another node sharing the database works it now
/// (or the database cannot say; the next tick tries again).
async fn claim(orbit: &Orbit, round: Round) -> Option<Box<dyn RoundGuard>> {
    match orbit.try_round(round).await {
        Ok(Some(guard)) => Some(guard),
        Ok(None) => {
            tracing::debug!(?round, "another node works this round");
            None
        }
        Err(e) => {
            tracing::warn!(?round, "claiming the round: {e}");
            None
        }
    }
}

/// Periodic pruning of expired state (`Orbit::prune_expired`), on its own timer: turning the
/// DNS check off must not let rows pile up. One node of those sharing the database prunes at a
/// time.
async fn housekeeping(state: AppState) {
    let every = std::time::Duration::from_secs(state.config.housekeeping_interval_secs);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(_round) = claim(&state.orbit, Round::Pruning).await else {
            continue;
        };
        for (what, e) in state.orbit.prune_expired().await {
            tracing::warn!("pruning {what}: {e}");
        }
    }
}

fn log_dns_check(orbit: &Orbit, before: &Domain, after: orbit_core::Result<Domain>) {
    let name = &before.name;
    match after {
        Err(e) => tracing::warn!(domain = %name, "DNS check failed: {e}"),
        Ok(d) if d.suspended_at.is_some() && before.suspended_at.is_none() => {
            tracing::warn!(domain = %name, status = %orbit.dns_status(&d), "satellite suspended")
        }
        Ok(d) if d.verified && !before.verified => {
            tracing::info!(domain = %name, "satellite DNS verified")
        }
        Ok(d) if d.dns_failures > 0 || d.suspended_at.is_some() => {
            tracing::warn!(domain = %name, status = %orbit.dns_status(&d), "satellite DNS check failing")
        }
        Ok(d) if !d.verified => {
            tracing::info!(domain = %name, reason = ?d.verification_error, "satellite DNS not verified yet")
        }
        Ok(_) => {}
    }
}

/// Periodic DNS check of every production satellite: verifying new ones, suspending lapsed
/// ones (docs/design/dns-verification.md); by one node at a time of those sharing the database.
async fn dns_checks(state: AppState) {
    let every = std::time::Duration::from_secs(state.config.dns_check_interval_secs);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(_round) = claim(&state.orbit, Round::DnsChecks).await else {
            continue;
        };
        match state
            .orbit
            .recheck_satellites(state.resolver.as_ref(), &state.cname_target)
            .await
        {
            Ok(checked) => {
                for (before, after) in checked {
                    log_dns_check(&state.orbit, &before, after);
                }
            }
            Err(e) => tracing::warn!("listing satellites for the DNS check: {e}"),
        }
    }
}

/// A socket bound to `addr` that does not accept connections yet.
fn bound_socket(addr: SocketAddr) -> std::io::Result<TcpSocket> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // As `TcpListener::bind` does for a given port: a restarted server may take it back at
    // once. Not for port 0: Linux may hand one ephemeral port to two such sockets that are not
    // listening yet, and the second `listen` would fail.
    #[cfg(unix)]
    if addr.port() != 0 {
        socket.set_reuseaddr(true)?;
    }
    socket.bind(addr)?;
    Ok(socket)
}

/// In an empty data directory: one application with a development instance whose primary
/// domain is `dev_primary_domain` and whose FAPI host is this server's public host.
async fn bootstrap(
    orbit: &Orbit,
    config: &Config,
    public_base: &str,
) -> orbit_core::Result<Option<InstanceCredentials>> {
    if !orbit.instances().await?.is_empty() {
        return Ok(None);
    }
    let host = url::Url::parse(public_base)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_owned(),
            })
        })
        .unwrap_or_default();
    // Another server starting on this data directory may have created it meanwhile.
    let Some(instance) = orbit
        .create_first_application(
            "My application",
            InstanceKind::Development,
            &config.dev_primary_domain,
            &host,
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(orbit.credentials(&instance).await?))
}

fn with_header_timeout(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    timeout: std::time::Duration,
) {
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(timeout);
}
