//! Several `orbit serve` nodes on one PostgreSQL (docs/design/storage.md "Several nodes"): real
//! processes on a scratch schema, each on its own loopback port, sharing one data directory (the
//! master key) and one public URL, that of an in-test TCP load balancer. Browsers and the SDK see
//! that one origin; the balancer spreads connections round robin, at random or to one node, and
//! retries the next node when a node refuses the connection (it was killed). A cluster can also
//! run as production does (`Cluster::start_tls`): TLS, the balancer on port 443, a production
//! instance with a verified satellite, so satellite syncs go through it.
//!
//! The production proofs (satellite sync, the seed's scenario, key rotation) run `world.rs`'s
//! production world on in-process nodes instead (`ProdNodes`), each on port 443 of its own
//! loopback address, since FAPI hosts carry no port there; the test routes each request by name
//! resolution (`RoutedDns`) with the same spreads.

use crate::cli::{banner_value, serve_with_env, ServeProcess};
use crate::compat_node::NodeSdk;
use crate::dns_server::LocalDns;
use crate::harness::*;
use crate::sdk::{assert_shows, link};
use crate::world::{
    cookie_in, directive_value, handshake_url, make_certs, world_dns, CertFiles, Certs, Hop,
    ProdWorld, WorldBrowser, HOSTS,
};
use orbit_sdk::{Orbit as Sdk, OrbitConfig};
use orbit_storage::postgres::scratch::ScratchSchema;
use reqwest::cookie::Jar;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, ORIGIN};
use reqwest::{redirect, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// How the balancer picks the node for a new connection.
#[derive(Clone, Copy, Debug)]
enum Spread {
    RoundRobin,
    /// A fixed-seed xorshift: random-looking, the same every run.
    Random,
    /// Every connection to this node, no retry: the test says which node does what.
    Pinned(usize),
}

struct Routing {
    nodes: Vec<SocketAddr>,
    spread: Spread,
    rng: u64,
    next: usize,
    /// Connections forwarded, per node.
    served: Vec<usize>,
    /// Connections a node refused (the balancer then tried the next one).
    refused: usize,
}

/// Which node gets the next connection: one routing table that the balancer and the routed
/// name resolution below share.
#[derive(Clone)]
struct Routes(Arc<Mutex<Routing>>);

impl Routes {
    fn new(nodes: Vec<SocketAddr>, spread: Spread) -> Self {
        Routes(Arc::new(Mutex::new(Routing {
            served: vec![0; nodes.len()],
            nodes,
            spread,
            rng: 0x9e37_79b9_7f4a_7c15,
            next: 0,
            refused: 0,
        })))
    }

    /// The nodes, the one the spread picks for the next connection, and whether the others may
    /// be tried when it refuses.
    fn pick(&self) -> Option<(Vec<SocketAddr>, usize, bool)> {
        let mut r = self.0.lock().unwrap();
        let n = r.nodes.len();
        if n == 0 {
            return None;
        }
        let (first, retry) = match r.spread {
            Spread::RoundRobin => {
                r.next += 1;
                (r.next % n, true)
            }
            Spread::Random => {
                r.rng ^= r.rng << 13;
                r.rng ^= r.rng >> 7;
                r.rng ^= r.rng << 17;
                ((r.rng % n as u64) as usize, true)
            }
            Spread::Pinned(i) => (i, false),
        };
        Some((r.nodes.clone(), first, retry))
    }

    fn count_served(&self, i: usize) {
        self.0.lock().unwrap().served[i] += 1;
    }

    fn count_refused(&self) {
        self.0.lock().unwrap().refused += 1;
    }

    fn set_nodes(&self, nodes: Vec<SocketAddr>) {
        let mut r = self.0.lock().unwrap();
        r.served = vec![0; nodes.len()];
        r.nodes = nodes;
    }

    fn spread(&self, spread: Spread) {
        self.0.lock().unwrap().spread = spread;
    }

    fn served(&self) -> Vec<usize> {
        self.0.lock().unwrap().served.clone()
    }

    fn refused(&self) -> usize {
        self.0.lock().unwrap().refused
    }
}

/// A layer-4 load balancer on 127.0.0.1:0: each client connection is piped to one node (round
/// robin until told otherwise).
pub(crate) struct Balancer {
    pub(crate) addr: SocketAddr,
    routes: Routes,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Balancer {
    pub(crate) async fn start() -> Self {
        Self::serve(TcpListener::bind("127.0.0.1:0").await.unwrap())
    }

    /// On port 443 of the first free 127.0.0.N, as production FAPI hosts carry no port.
    async fn start_on_443() -> Self {
        for n in 2..=254u8 {
            if let Ok(l) = TcpListener::bind((Ipv4Addr::new(127, 0, 0, n), 443)).await {
                return Self::serve(l);
            }
        }
        panic!("no free 127.0.0.N:443");
    }

    fn serve(listener: TcpListener) -> Self {
        let addr = listener.local_addr().unwrap();
        let routes = Routes::new(Vec::new(), Spread::RoundRobin);
        let shared = routes.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut down, _)) = listener.accept().await else {
                    continue;
                };
                let routes = shared.clone();
                tokio::spawn(async move {
                    let Some(mut up) = Self::connect(&routes).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                });
            }
        });
        Balancer { addr, routes, task }
    }

    /// Connects to the node the spread picks, or to the next ones in turn if it refuses.
    async fn connect(routes: &Routes) -> Option<TcpStream> {
        let (nodes, first, retry) = routes.pick()?;
        let tries = if retry { nodes.len() } else { 1 };
        for k in 0..tries {
            let i = (first + k) % nodes.len();
            match TcpStream::connect(nodes[i]).await {
                Ok(up) => {
                    routes.count_served(i);
                    return Some(up);
                }
                Err(_) => routes.count_refused(),
            }
        }
        None
    }

    pub(crate) fn set_nodes(&self, nodes: Vec<SocketAddr>) {
        self.routes.set_nodes(nodes);
    }
}

/// What a cluster needs to run as production does: the balancer on port 443 of its own loopback
/// address, the nodes on other ports of that address (so one name maps to both), certificates
/// from a test CA for `world::HOSTS`, and the DNS the satellites' CNAMEs are checked against.
struct Tls {
    ip: IpAddr,
    certs: Certs,
    files: CertFiles,
    dns: LocalDns,
}

impl Tls {
    async fn new(ip: IpAddr) -> Self {
        let certs = make_certs(HOSTS);
        let files = certs.write();
        Tls {
            ip,
            certs,
            files,
            dns: world_dns().await,
        }
    }
}

/// A production instance's keys.
struct Production {
    publishable_key: String,
    secret_key: String,
}

/// `n` `orbit serve` processes on one scratch schema behind one balancer.
struct Cluster {
    balancer: Balancer,
    nodes: Vec<ServeProcess>,
    /// Each node's own base URL, for BAPI calls aimed at one node.
    node_urls: Vec<String>,
    /// The public URL: the balancer, which is the development instance's FAPI host.
    fapi: String,
    publishable_key: String,
    secret_key: String,
    tls: Option<Tls>,
    database_url: String,
    data: tempfile::TempDir,
    schema: ScratchSchema,
}

impl Cluster {
    /// Plain http, the balancer on 127.0.0.1.
    async fn start(n: usize) -> Self {
        Self::start_with(n, false, &[]).await
    }

    /// TLS, the public URL `https://orbit.test` on the balancer's port 443.
    async fn start_tls(n: usize) -> Self {
        Self::start_with(n, true, &[]).await
    }

    /// `n` nodes whose environment also has `env` (which wins over the raised per-IP limits).
    async fn start_with_env(n: usize, env: &[(&str, &str)]) -> Self {
        Self::start_with(n, false, env).await
    }

    async fn start_with(n: usize, tls: bool, env: &[(&str, &str)]) -> Self {
        let schema = ScratchSchema::create().await.unwrap();
        let url = schema.url();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap().to_owned();
        let (balancer, tls) = if tls {
            let balancer = Balancer::start_on_443().await;
            let tls = Tls::new(balancer.addr.ip()).await;
            (balancer, Some(tls))
        } else {
            (Balancer::start().await, None)
        };
        let public = match &tls {
            Some(_) => "https://orbit.test".to_owned(),
            None => format!("http://{}", balancer.addr),
        };
        let mut args = vec!["--database-url".to_owned(), url.clone()];
        args.extend(["--public-url".to_owned(), public.clone()]);
        // Every sign-in of these tests comes from 127.0.0.1 (the balancer): unless a test says
        // otherwise, the per-IP limits must not get in the way.
        let mut all = vec![
            ("ORBIT_SIGN_IN_PER_IP_BURST", "10000".to_owned()),
            ("ORBIT_SIGN_IN_PER_IP_PER_MINUTE", "10000".to_owned()),
        ];
        all.retain(|(k, _)| !env.iter().any(|(key, _)| key == k));
        all.extend(env.iter().map(|(k, v)| (*k, (*v).to_owned())));
        if let Some(t) = &tls {
            args.extend([
                "--listen".to_owned(),
                format!("{}:0", t.ip),
                "--tls-cert".to_owned(),
                t.files.cert.to_str().unwrap().to_owned(),
                "--tls-key".to_owned(),
                t.files.key.to_str().unwrap().to_owned(),
            ]);
            all.push(("ORBIT_DNS_SERVERS", t.dns.addr.to_string()));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (args, env) = (args.as_slice(), env.as_slice());
        // The first node bootstraps the instance and writes the master key the others read.
        let mut nodes = vec![serve_with_env(&data, args, env)];
        nodes.extend(std::thread::scope(|s| {
            let starting: Vec<_> = (1..n)
                .map(|_| s.spawn(|| serve_with_env(&data, args, env)))
                .collect();
            starting
                .into_iter()
                .map(|t| t.join().unwrap())
                .collect::<Vec<_>>()
        }));
        // A development instance's Frontend API URL says http (`Orbit::fapi_url`), whatever
        // serves it.
        let dev_fapi = public.replacen("https://", "http://", 1);
        let mut addrs = Vec::new();
        for node in &nodes {
            let listening = banner_value(&node.banner, "Orbit is listening on");
            let addr: SocketAddr = listening.split(' ').next().unwrap().parse().unwrap();
            addrs.push(addr);
            assert_eq!(banner_value(&node.banner, "Frontend API:"), dev_fapi);
        }
        let b = &nodes[0].banner;
        let publishable_key = banner_value(b, "Publishable key:");
        let secret_key = banner_value(b, "Secret key:");
        for node in &nodes[1..] {
            assert_eq!(banner_value(&node.banner, "Secret key:"), secret_key);
        }
        balancer.routes.set_nodes(addrs.clone());
        let node_urls = addrs
            .iter()
            .map(|a| match &tls {
                // `client_builder` maps orbit.test to the nodes' address.
                Some(_) => format!("https://orbit.test:{}", a.port()),
                None => format!("http://{a}"),
            })
            .collect();
        Cluster {
            balancer,
            nodes,
            node_urls,
            fapi: public,
            publishable_key,
            secret_key,
            tls,
            database_url: url,
            data: dir,
            schema,
        }
    }

    /// A client that opens a connection per request, so that the balancer's spread applies to
    /// each request, and that reaches the test's host names over TLS when the cluster has it.
    fn client_builder(&self) -> reqwest::ClientBuilder {
        let Some(t) = &self.tls else {
            return reqwest::Client::builder()
                .redirect(redirect::Policy::none())
                .pool_max_idle_per_host(0);
        };
        let mut b = t.certs.client_builder().pool_max_idle_per_host(0);
        for h in HOSTS {
            b = b.resolve(h, SocketAddr::new(t.ip, 443));
        }
        b
    }

    /// A browser on the public origin.
    fn browser(&self) -> Browser {
        Browser {
            http: self.client_builder().cookie_store(true).build().unwrap(),
            origin: self.fapi.clone(),
        }
    }

    /// A browser of the production instance's primary, with a cookie jar the test reads (the
    /// handshake nonce is a cookie on the satellite's domain).
    fn production_browser(&self) -> (Browser, Arc<Jar>) {
        let jar = Arc::new(Jar::default());
        let http = self
            .client_builder()
            .cookie_provider(jar.clone())
            .build()
            .unwrap();
        let browser = Browser {
            http,
            origin: PRIMARY.0.into(),
        };
        (browser, jar)
    }

    /// BAPI of node `i` alone.
    fn backend_on(&self, i: usize) -> Backend {
        self.backend_at(&self.node_urls[i], &self.secret_key)
    }

    /// BAPI at `base` with the secret key `key`.
    fn backend_at(&self, base: &str, key: &str) -> Backend {
        Backend {
            http: self.client_builder().build().unwrap(),
            base: format!("{base}/bapi"),
            key: key.to_owned(),
        }
    }

    /// The Rust SDK, whose BAPI (and so JWKS) is node `i`.
    fn sdk_on(&self, i: usize) -> Sdk {
        self.sdk_with(i, &self.publishable_key, &self.secret_key)
    }

    /// The Rust SDK of the instance with these keys, whose BAPI (and so JWKS) is node `i`.
    fn sdk_with(&self, i: usize, publishable_key: &str, secret_key: &str) -> Sdk {
        let config = OrbitConfig::builder(publishable_key)
            .secret_key(secret_key)
            .api_url(format!("{}/bapi", self.node_urls[i]))
            .build()
            .unwrap();
        Sdk::with_http_client(config, self.client_builder().build().unwrap()).unwrap()
    }

    /// `orbit <args>` on the cluster's data directory and database, as an operator runs it
    /// while the nodes serve; its stdout.
    async fn cli(&self, args: &[&str]) -> String {
        let mut command = crate::cli::orbit();
        command
            .args(args)
            .arg("--data-dir")
            .arg(self.data.path())
            .args(["--database-url", &self.database_url])
            .env("ORBIT_PUBLIC_URL", &self.fapi);
        if let Some(t) = &self.tls {
            command.env("ORBIT_DNS_SERVERS", t.dns.addr.to_string());
        }
        let (ok, out, err) = crate::cli::output_of(command).await;
        assert!(ok, "orbit {args:?}: {err}");
        out
    }

    /// A production instance for `primary.test` with the satellite `satellite.test`, its CNAME
    /// verified: made with the CLI, as an operator would, while the nodes run.
    async fn production(&self) -> Production {
        assert!(
            self.tls.is_some(),
            "production instances need a TLS cluster"
        );
        let out = self
            .cli(&["instance", "create-production", "--domain", "primary.test"])
            .await;
        let id = out.split_whitespace().nth(3).unwrap().to_owned();
        let on = |args: &[&'static str]| [args, &["--instance", &id]].concat();
        self.cli(&on(&["domain", "add-satellite", "satellite.test"]))
            .await;
        self.cli(&on(&["domain", "verify", "satellite.test"])).await;
        let shown: Value =
            serde_json::from_str(&self.cli(&on(&["instance", "show", "--json"])).await).unwrap();
        Production {
            publishable_key: shown["publishable_key"].as_str().unwrap().to_owned(),
            secret_key: shown["secret_key"].as_str().unwrap().to_owned(),
        }
    }

    /// Ids of the user's sessions with `status` (BAPI, through node `i`).
    async fn session_ids(&self, i: usize, user_id: &str, status: &str) -> BTreeSet<String> {
        let (s, sessions) = self
            .backend_on(i)
            .get(&format!("/v1/sessions?user_id={user_id}&status={status}"))
            .await;
        assert_eq!(s, StatusCode::OK, "{sessions}");
        ids(&sessions)
    }
}

fn ids(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The one id in `after` and not in `before`.
fn the_new_one(before: &BTreeSet<String>, after: &BTreeSet<String>) -> String {
    let new: Vec<_> = after.difference(before).collect();
    assert_eq!(new.len(), 1, "{before:?} -> {after:?}");
    new[0].clone()
}

async fn jwt_of(r: reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::OK);
    let token: Value = r.json().await.unwrap();
    token["jwt"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_users_sessions_keys_and_handshake_nonces() {
    let cluster = Cluster::start(3).await;
    let lb = &cluster.balancer.routes;
    let fapi = cluster.fapi.as_str();

    // Sign up through node A.
    lb.spread(Spread::Pinned(0));
    let first = cluster.browser();
    let sign_up = format!("{fapi}/sign-up");
    let fields = [
        ("email_address", "ada@example.com"),
        ("password", GOOD_PASSWORD),
        ("first_name", "Ada"),
    ];
    let r = first.submit(&sign_up, &sign_up, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(lb.served(), [2, 0, 0], "the page and the form, on A");
    let (_, users) = cluster.backend_on(1).get("/v1/users").await;
    let user_id = users[0]["id"].as_str().unwrap().to_owned();
    let signed_up = cluster.session_ids(2, &user_id, "active").await;
    assert_eq!(signed_up.len(), 1);

    // Sign in and mint a session token through node B.
    lb.spread(Spread::Pinned(1));
    let second = cluster.browser();
    let r = second.sign_in("ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let sid = the_new_one(
        &signed_up,
        &cluster.session_ids(0, &user_id, "active").await,
    );
    let token = jwt_of(second.mint(fapi, &sid).await).await;
    assert_eq!(lb.served(), [2, 3, 0]);

    // The Rust SDK verifies it with the JWKS it fetched through node C, then without network:
    // a token minted on node A verifies with the keys it has.
    let sdk = cluster.sdk_on(2);
    let claims = sdk.verifier().verify(&token, &[]).await.unwrap();
    assert_eq!(
        (claims.sub.as_str(), claims.sid.as_str()),
        (&*user_id, &*sid)
    );
    lb.spread(Spread::Pinned(0));
    let from_a = jwt_of(second.mint(fapi, &sid).await).await;
    assert_eq!(sdk.verifier().verify(&from_a, &[]).await.unwrap().sid, sid);
    // Every node publishes the same keys.
    let mut published = BTreeSet::new();
    for i in 0..3 {
        lb.spread(Spread::Pinned(i));
        let jwks: Value = reqwest::get(format!("{fapi}/.well-known/jwks.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        published.insert(jwks.to_string());
    }
    assert_eq!(published.len(), 1, "{published:?}");

    // Round robin, then at random: the first browser's session mints on every node.
    let before = lb.served();
    let first_sid = signed_up.first().unwrap().clone();
    for spread in [Spread::RoundRobin, Spread::Random] {
        lb.spread(spread);
        for _ in 0..12 {
            let jwt = jwt_of(first.mint(fapi, &first_sid).await).await;
            assert_eq!(
                sdk.verifier().verify(&jwt, &[]).await.unwrap().sid,
                first_sid
            );
        }
    }
    let after = lb.served();
    for i in 0..3 {
        assert!(after[i] - before[i] >= 4, "{before:?} -> {after:?}");
    }

    // Sign out through node C ends the session for every node.
    lb.spread(Spread::Pinned(2));
    let r = second
        .http
        .delete(format!("{fapi}/v1/client/sessions"))
        .header(ORIGIN, fapi)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!cluster
        .session_ids(0, &user_id, "active")
        .await
        .contains(&sid));
    for i in 0..3 {
        lb.spread(Spread::Pinned(i));
        let r = second.mint(fapi, &sid).await;
        assert!(r.status().is_client_error(), "node {i}: {}", r.status());
    }

    // A handshake nonce read on node A reads the same on nodes B and C (several loaders of one
    // request read it), and 30 reads of a fresh nonce racing on the three nodes all get its
    // directives; once expired, no node gives either.
    lb.spread(Spread::RoundRobin);
    let nonce = dev_handshake_nonce(&cluster).await;
    let path = format!("/v1/clients/handshake_payload?nonce={nonce}");
    let (s, first) = cluster.backend_on(0).get(&path).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    for i in [1, 2, 0] {
        assert_eq!(
            cluster.backend_on(i).get(&path).await,
            (StatusCode::OK, first.clone()),
            "node {i}"
        );
    }
    let raced = dev_handshake_nonce(&cluster).await;
    let mut racing = Vec::new();
    for k in 0..30 {
        let bapi = cluster.backend_on(k % 3);
        let path = format!("/v1/clients/handshake_payload?nonce={raced}");
        racing.push(tokio::spawn(async move { bapi.get(&path).await }));
    }
    let mut reads = Vec::new();
    for r in racing {
        reads.push(r.await.unwrap());
    }
    assert!(
        reads[0].0 == StatusCode::OK && reads.iter().all(|r| *r == reads[0]),
        "{reads:?}"
    );
    expire_handshake_nonces(&cluster.schema).await;
    for (i, nonce) in [(0, &nonce), (1, &raced), (2, &nonce)] {
        let path = format!("/v1/clients/handshake_payload?nonce={nonce}");
        let (s, body) = cluster.backend_on(i).get(&path).await;
        assert_eq!(
            (s, body["errors"][0]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("handshake_nonce_invalid")),
            "node {i}"
        );
    }
}

/// Ends every handshake nonce's minute in the database, as time would: nodes run on the system
/// clock, and waiting a minute would only slow the suite.
async fn expire_handshake_nonces(schema: &ScratchSchema) {
    let n = schema
        .execute("UPDATE handshake_nonces SET expires_at = 0")
        .await
        .unwrap();
    assert!(n > 0, "no handshake nonce to expire");
}

/// A handshake nonce of a development browser for the app on localhost:3000, made through the
/// balancer.
async fn dev_handshake_nonce(cluster: &Cluster) -> String {
    let browser = cluster.browser();
    let r = browser
        .http
        .post(format!("{}/v1/dev_browser", cluster.fapi))
        .header(ORIGIN, "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let dvb: Value = r.json().await.unwrap();
    let mut u = url::Url::parse(&format!("{}/v1/client/handshake", cluster.fapi)).unwrap();
    u.query_pairs_mut()
        .append_pair("redirect_url", "http://localhost:3000/x")
        .append_pair("format", "nonce")
        .append_pair("__clerk_db_jwt", dvb["token"].as_str().unwrap());
    let r = browser.get(u.as_str()).await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT, "{}", r.body);
    let location = url::Url::parse(r.location().unwrap()).unwrap();
    location
        .query_pairs()
        .find(|(k, _)| k == "__clerk_handshake_nonce")
        .unwrap()
        .1
        .into_owned()
}

/// A satellite sync that completed, and what it spent.
struct Synced {
    /// Hop 2, the primary's `/v1/client/sync`: its pending sync was consumed by the link.
    to_primary: String,
    /// Hop 3, the satellite's `/v1/client/link` with its sync token.
    link: String,
    /// The handshake nonce the app read, and the directives it got.
    nonce: String,
    directives: Value,
}

/// What one worker of the load loop saw.
#[derive(Default)]
struct Seen {
    /// (browser, session id) of each sign-in whose answer arrived.
    sessions: Vec<(Browser, String)>,
    syncs: Vec<Synced>,
    /// Requests that got no answer (the node died under them); the operation was retried.
    lost_connections: usize,
    mints: usize,
}

/// Retries `op` while the request got no answer (a connection the killed node dropped).
async fn retried<T, F, Fut>(lost: &mut usize, mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, reqwest::Error>>,
{
    for _ in 0..5 {
        match op().await {
            Ok(v) => return v,
            Err(e) => {
                assert!(e.is_connect() || e.is_request(), "{e:?}");
                *lost += 1;
            }
        }
    }
    panic!("no node answered five times in a row");
}

/// Signs in on the hosted page from `browser`: the page (for its CSRF token), then the form.
async fn try_sign_in(b: &Browser, email: &str) -> Result<StatusCode, reqwest::Error> {
    let url = format!("{}/sign-in", b.origin);
    let page = b.http.get(&url).send().await?;
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = hidden(&page.text().await?, "csrf_token").unwrap();
    let r = b
        .http
        .post(&url)
        .header(ORIGIN, &b.origin)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email_address", email),
            ("password", GOOD_PASSWORD),
        ])
        .send()
        .await?;
    Ok(r.status())
}

async fn try_mint(b: &Browser, sid: &str) -> Result<String, reqwest::Error> {
    let r = b
        .http
        .post(format!("{}/v1/client/sessions/{sid}/tokens", b.origin))
        .header(ORIGIN, &b.origin)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let token: Value = r.json().await?;
    Ok(token["jwt"].as_str().unwrap().to_owned())
}

/// Where `hop`, a 307, sends the browser; it must contain `to`.
fn redirect_of(hop: &Hop, to: &str) -> String {
    assert_eq!(hop.status, StatusCode::TEMPORARY_REDIRECT, "{hop:?}");
    let location = hop.location.clone().unwrap();
    assert!(location.contains(to), "{hop:?}");
    location
}

/// A satellite sync of `b` as `@clerk/backend` on satellite.test starts it (docs/design/
/// satellite-sync.md: hops 1-3 through the balancer), then the app's redemption of the handshake
/// nonce through BAPI; what it spent and the session id of the token the app got. An error is a
/// request without answer, and the caller starts over: what the lost request spent stays spent.
async fn try_sync(
    b: &Browser,
    jar: &Jar,
    bapi: &Backend,
    jwks: &Value,
) -> Result<(Synced, String), reqwest::Error> {
    let start = handshake_url(
        "clerk.satellite.test",
        "https://satellite.test/?__clerk_synced=false",
        "satellite-needs-syncing",
    );
    let to_primary = redirect_of(&Hop::try_get(&b.http, &start).await?, "/v1/client/sync?");
    let link = redirect_of(
        &Hop::try_get(&b.http, &to_primary).await?,
        "/v1/client/link?",
    );
    let back = redirect_of(
        &Hop::try_get(&b.http, &link).await?,
        "https://satellite.test/",
    );
    assert!(back.contains("__clerk_synced=true"), "{back}");
    let nonce = cookie_in(jar, "https://satellite.test/", "__clerk_handshake_nonce")
        .expect("a handshake nonce cookie on the satellite's domain");
    let r = bapi
        .http
        .get(format!(
            "{}/v1/clients/handshake_payload?nonce={nonce}",
            bapi.base
        ))
        .bearer_auth(&bapi.key)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let payload: Value = r.json().await?;
    let directives: Vec<String> = payload["directives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_owned())
        .collect();
    let token = directive_value(&directives, "__session=").expect("a session token");
    let (_, claims) = crate::bapi::verify_with_jwks(&token, jwks);
    let synced = Synced {
        to_primary,
        link,
        nonce,
        directives: payload["directives"].clone(),
    };
    Ok((synced, claims["sid"].as_str().unwrap().to_owned()))
}

/// Issue 9: `kill -9` of a node under load. Two nodes serve a production instance over TLS
/// behind the balancer; workers sign in on the primary's hosted page, mint session tokens, and
/// sync the satellite (handshake, sync, link, nonce redeemed through BAPI) while node A dies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_node_under_load_loses_no_session() {
    const WORKERS: usize = 4;
    const ROUNDS: usize = 8;
    const KILL_AFTER: usize = 10;
    let mut cluster = Cluster::start_tls(2).await;
    cluster.balancer.routes.spread(Spread::RoundRobin);
    let prod = cluster.production().await;
    let mut victim = cluster.nodes.remove(0);
    let cluster = Arc::new(cluster);
    let survivor = 1;
    let backend = cluster.backend_at(&cluster.fapi, &prod.secret_key);
    let mut users = Vec::new();
    for w in 0..WORKERS {
        let email = format!("load{w}@example.com");
        let user = backend.create_user(&email, GOOD_PASSWORD).await;
        users.push((email, user["id"].as_str().unwrap().to_owned()));
    }
    let on_survivor = cluster.backend_at(&cluster.node_urls[survivor], &prod.secret_key);
    let (_, keys_before) = on_survivor.get("/v1/jwks").await;
    let (_, dev_keys_before) = cluster.backend_on(survivor).get("/v1/jwks").await;
    let sdk = cluster.sdk_with(survivor, &prod.publishable_key, &prod.secret_key);
    let sign_ins = Arc::new(AtomicUsize::new(0));
    let syncs = Arc::new(AtomicUsize::new(0));

    // Each worker signs its user in from a fresh browser, mints tokens and syncs the satellite,
    // ROUNDS times; the session's id comes from BAPI (the sessions that were not there before).
    let mut workers = Vec::new();
    for (email, user_id) in users.clone() {
        let (sign_ins, syncs) = (sign_ins.clone(), syncs.clone());
        let sdk = sdk.clone();
        let cluster = cluster.clone();
        let keys = keys_before.clone();
        let secret_key = prod.secret_key.clone();
        workers.push(tokio::spawn(async move {
            let mut seen = Seen::default();
            let backend = cluster.backend_at(&cluster.fapi, &secret_key);
            let active = async |lost: &mut usize| -> BTreeSet<String> {
                let path = format!("/v1/sessions?user_id={user_id}&status=active");
                let list = retried(lost, || async {
                    let r = backend
                        .http
                        .get(format!("{}{path}", backend.base))
                        .bearer_auth(&backend.key)
                        .send()
                        .await?;
                    assert_eq!(r.status(), StatusCode::OK);
                    r.json::<Value>().await
                })
                .await;
                ids(&list)
            };
            for _ in 0..ROUNDS {
                let before = active(&mut seen.lost_connections).await;
                let (browser, jar) = retried(&mut seen.lost_connections, || async {
                    let (b, jar) = cluster.production_browser();
                    let status = try_sign_in(&b, &email).await?;
                    assert_eq!(status, StatusCode::SEE_OTHER);
                    Ok((b, jar))
                })
                .await;
                sign_ins.fetch_add(1, Ordering::SeqCst);
                // A sign-in whose answer was lost may have started a session too: the browser's
                // own is the new one it can mint for.
                let after = active(&mut seen.lost_connections).await;
                let mut own = None;
                for sid in after.difference(&before) {
                    let status = retried(&mut seen.lost_connections, || async {
                        let r = browser
                            .http
                            .post(format!(
                                "{}/v1/client/sessions/{sid}/tokens",
                                browser.origin
                            ))
                            .header(ORIGIN, &browser.origin)
                            .send()
                            .await?;
                        Ok(r.status())
                    })
                    .await;
                    if status == StatusCode::OK {
                        own = Some(sid.clone());
                    }
                }
                let sid = own.unwrap_or_else(|| {
                    panic!("the browser's new session: {before:?} -> {after:?}")
                });
                for _ in 0..2 {
                    let jwt =
                        retried(&mut seen.lost_connections, || try_mint(&browser, &sid)).await;
                    let claims = sdk.verifier().verify(&jwt, &[]).await.unwrap();
                    assert_eq!(claims.sid, sid);
                    seen.mints += 1;
                }
                let (synced, synced_sid) = retried(&mut seen.lost_connections, || {
                    try_sync(&browser, &jar, &backend, &keys)
                })
                .await;
                assert_eq!(synced_sid, sid, "the satellite got the browser's session");
                syncs.fetch_add(1, Ordering::SeqCst);
                seen.syncs.push(synced);
                seen.sessions.push((browser, sid));
            }
            seen
        }));
    }
    // kill -9 of node A once the load is under way.
    while sign_ins.load(Ordering::SeqCst) < KILL_AFTER {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    victim.kill();
    let served_at_kill = cluster.balancer.routes.served();
    let synced_at_kill = syncs.load(Ordering::SeqCst);
    let mut seen = Vec::new();
    for w in workers {
        seen.push(w.await.unwrap());
    }
    let served = cluster.balancer.routes.served();
    let lost: usize = seen.iter().map(|s| s.lost_connections).sum();
    let retried_on_refusal = cluster.balancer.routes.refused();
    println!(
        "sign-ins {}, mints {}, syncs {} ({synced_at_kill} before the kill), connections served \
         {served_at_kill:?} at the kill, {served:?} in all, refused and retried \
         {retried_on_refusal}, lost in \
         flight {lost}",
        WORKERS * ROUNDS,
        seen.iter().map(|s| s.mints).sum::<usize>(),
        seen.iter().map(|s| s.syncs.len()).sum::<usize>(),
    );
    assert!(
        retried_on_refusal > 0,
        "the balancer retried on the live node"
    );
    assert!(lost <= 2 * WORKERS, "{lost} requests lost");
    assert!(synced_at_kill > 0, "no sync before the kill");

    // No session lost: every one is active on the surviving node and mints.
    for (w, (_, user_id)) in users.iter().enumerate() {
        let (s, all) = on_survivor
            .get(&format!("/v1/sessions?user_id={user_id}"))
            .await;
        assert_eq!(s, StatusCode::OK);
        let all = all.as_array().unwrap();
        assert!(all.len() >= ROUNDS, "{all:?}");
        assert!(
            all.iter().all(|s| s["status"] == "active"),
            "worker {w}: {all:?}"
        );
    }
    for s in &seen {
        for (browser, sid) in &s.sessions {
            let jwt = try_mint(browser, sid).await.unwrap();
            assert_eq!(sdk.verifier().verify(&jwt, &[]).await.unwrap().sid, *sid);
        }
    }
    // Nothing a sync spent, on either node, works again on the survivor: not its sync token,
    // not its pending sync. The handshake nonces the app read, on either node, read the same on
    // the survivor until they expire, and not after.
    cluster.balancer.routes.spread(Spread::Pinned(survivor));
    let (replayer, _) = cluster.production_browser();
    for synced in seen.iter().flat_map(|s| &s.syncs) {
        let hop = Hop::try_get(&replayer.http, &synced.link).await.unwrap();
        refused(&hop);
        assert!(hop.body.contains("already used"), "{hop:?}");
        let hop = Hop::try_get(&replayer.http, &synced.to_primary)
            .await
            .unwrap();
        refused(&hop);
        assert!(hop.body.contains("Sync not started"), "{hop:?}");
        let path = format!("/v1/clients/handshake_payload?nonce={}", synced.nonce);
        let (s, body) = on_survivor.get(&path).await;
        assert_eq!(
            (s, &body["directives"]),
            (StatusCode::OK, &synced.directives),
            "{body}"
        );
    }
    expire_handshake_nonces(&cluster.schema).await;
    for synced in seen.iter().flat_map(|s| &s.syncs) {
        let path = format!("/v1/clients/handshake_payload?nonce={}", synced.nonce);
        let (s, body) = on_survivor.get(&path).await;
        assert_eq!(
            (s, body["errors"][0]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("handshake_nonce_invalid")),
            "{body}"
        );
    }
    let (_, keys_after) = on_survivor.get("/v1/jwks").await;
    assert_eq!(keys_before, keys_after, "no key changed");
    let (_, dev_keys_after) = cluster.backend_on(survivor).get("/v1/jwks").await;
    assert_eq!(dev_keys_before, dev_keys_after, "no key changed");
}

// ---- a production world on several in-process nodes ---------------------------------------

/// `ProdWorld` on a PostgreSQL scratch schema, served by `n` in-process nodes: the world's own
/// server (node 0) and `n - 1` others (`ProdWorld::another_node`), each on port 443 of its own
/// loopback address.
struct ProdNodes {
    world: ProdWorld,
    others: Vec<TestServer>,
    schema: ScratchSchema,
}

impl ProdNodes {
    async fn start(n: usize) -> Self {
        let schema = ScratchSchema::create().await.unwrap();
        let url = orbit_storage::DatabaseUrl::parse(&schema.url()).unwrap();
        let world = ProdWorld::start_on(None, |c| c.database_url = Some(url.clone())).await;
        let mut others = Vec::new();
        for _ in 1..n {
            others.push(world.another_node().await);
        }
        ProdNodes {
            world,
            others,
            schema,
        }
    }

    fn len(&self) -> usize {
        1 + self.others.len()
    }

    fn node(&self, i: usize) -> &TestServer {
        match i {
            0 => &self.world.server,
            _ => &self.others[i - 1],
        }
    }

    fn ip(&self, i: usize) -> IpAddr {
        self.node(i).config.listen.ip()
    }

    /// A routing table over the nodes, starting with `spread`.
    fn routes(&self, spread: Spread) -> Routes {
        let nodes = (0..self.len())
            .map(|i| SocketAddr::new(self.ip(i), 443))
            .collect();
        Routes::new(nodes, spread)
    }

    /// A browser whose every request goes to the node `routes` picks for it (each request opens
    /// a connection, so looks its host up again); `apps` are the apps' hosts and addresses. It
    /// sends what a browser sends on page loads, and follows no redirect by itself.
    fn browser(&self, routes: &Routes, apps: &[(&str, IpAddr)]) -> WorldBrowser {
        let jar = Arc::new(Jar::default());
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml"),
        );
        headers.insert("sec-fetch-dest", HeaderValue::from_static("document"));
        let http = self
            .world
            .certs
            .client_builder()
            .dns_resolver(Arc::new(RoutedDns::new(routes, apps)))
            .pool_max_idle_per_host(0)
            .default_headers(headers)
            .cookie_provider(jar.clone())
            .build()
            .unwrap();
        WorldBrowser { http, jar }
    }

    /// An HTTP client for an SDK whose every BAPI request goes to the node `routes` picks.
    fn sdk_http_client(&self, routes: &Routes) -> reqwest::Client {
        reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.world.certs.ca_pem.as_bytes()).unwrap(),
            )
            .dns_resolver(Arc::new(RoutedDns::new(routes, &[])))
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    }

    /// BAPI of node `i` alone.
    fn backend_on(&self, i: usize) -> Backend {
        self.world.backend_via(self.ip(i))
    }

    /// The kids of node `i`'s JWKS (BAPI, where the SDKs fetch it).
    async fn kids_on(&self, i: usize) -> BTreeSet<String> {
        let (s, jwks) = self.backend_on(i).get("/v1/jwks").await;
        assert_eq!(s, StatusCode::OK, "node {i}: {jwks}");
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The kids every node's JWKS lists.
    async fn kids_everywhere(&self) -> BTreeSet<String> {
        let mut all = self.kids_on(0).await;
        for i in 1..self.len() {
            let on = self.kids_on(i).await;
            all.retain(|k| on.contains(k));
        }
        all
    }
}

/// Name resolution by `Routes`: each lookup of one of the world's hosts gets the address of the
/// node the spread picks (counted as served by it); an app's host gets the app's address.
struct RoutedDns {
    routes: Routes,
    apps: Vec<(String, IpAddr)>,
}

impl RoutedDns {
    fn new(routes: &Routes, apps: &[(&str, IpAddr)]) -> Self {
        RoutedDns {
            routes: routes.clone(),
            apps: apps.iter().map(|(h, ip)| ((*h).to_owned(), *ip)).collect(),
        }
    }
}

impl reqwest::dns::Resolve for RoutedDns {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let addr = match self.apps.iter().find(|(h, _)| *h == host) {
            Some((_, ip)) => Some(SocketAddr::new(*ip, 443)),
            None if HOSTS.contains(&host.as_str()) => self.routes.pick().map(|(nodes, i, _)| {
                self.routes.count_served(i);
                nodes[i]
            }),
            None => None,
        };
        Box::pin(async move {
            match addr {
                Some(a) => Ok(Box::new(std::iter::once(a)) as reqwest::dns::Addrs),
                None => Err(format!("{host} is not a host of the test world").into()),
            }
        })
    }
}

/// `host/path` of each of `hops` that Orbit served (its FAPI and portal hosts), in order.
fn orbit_paths(hops: &[Hop]) -> Vec<String> {
    hops.iter()
        .filter_map(|h| {
            let u = Url::parse(&h.url).unwrap();
            let host = u.host_str()?;
            (host.starts_with("clerk.") || host == "orbit.test")
                .then(|| format!("{host}{}", u.path()))
        })
        .collect()
}

/// Requests each node served between two readings of `Routes::served`.
fn grew(before: &[usize], after: &[usize]) -> Vec<usize> {
    before.iter().zip(after).map(|(b, a)| a - b).collect()
}

/// A production world (TLS, FAPI hosts `clerk.*.test`, a verified satellite) on PostgreSQL,
/// served by two in-process nodes on their own loopback addresses: a pending sync consumed on one
/// node, and a sync token redeemed on one, are refused on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_tokens_and_pending_syncs_are_single_use_across_nodes() {
    let nodes = ProdNodes::start(2).await;
    let world = &nodes.world;
    world.add_satellite("satellite.test", true).await;
    let (on_a, _) = world.signed_in_browser("ada@example.com").await;
    let on_b = world.same_browser_via(&on_a, nodes.ip(1));
    // docs/design/satellite-sync.md: hop 2 (the primary) reads the pending sync and issues a
    // sync token; hop 3 (the link) consumes both. Hop 1 on node A, hop 2 on A and again on B.
    let start = handshake_url(
        "clerk.satellite.test",
        "https://satellite.test/?__clerk_synced=false",
        "satellite-needs-syncing",
    );
    for (first, second) in [(&on_a, &on_b), (&on_b, &on_a)] {
        let to_primary = first.get(&start).await.location.unwrap();
        assert!(to_primary.contains("__orbit_sync="), "{to_primary}");
        let token_1 = first.get(&to_primary).await.location.unwrap();
        let token_2 = second.get(&to_primary).await.location.unwrap();
        assert!(token_1.contains("/v1/client/link?"), "{token_1}");
        assert_ne!(token_1, token_2);
        // The link on the second node consumes the token and the pending sync ...
        let linked = second.get(&token_1).await;
        assert_eq!(linked.status, StatusCode::TEMPORARY_REDIRECT, "{linked:?}");
        // ... so the first node refuses the token again, the other token of the same pending
        // sync, and the primary's step for it.
        refused(&first.get(&token_1).await);
        refused(&first.get(&token_2).await);
        refused(&first.get(&to_primary).await);
    }
}

/// A refused sync step: 400, no redirect, no cookie.
fn refused(hop: &Hop) {
    assert_eq!(hop.status, StatusCode::BAD_REQUEST, "{hop:?}");
    assert!(hop.location.is_none(), "{hop:?}");
    assert!(hop.set_cookies.is_empty(), "{hop:?}");
}

/// The seed's scenario (docs/seed.md) on three nodes of one production world, with the seed's
/// apps (the Rust SDK) and every request of the browser and of the apps' SDKs sent to a node of
/// the test's choosing: sign up on node A, sync the satellite through node B, sign out through
/// node C. The signing key is rotated on node C between the sign-up and the sync, and tokens are
/// minted on every node, round robin and at random, until every node signs with the new key.
/// Each token's kid was in every node's JWKS before the token was minted, and each token
/// verifies with the Rust SDK and with `@clerk/backend`, both holding a JWKS fetched before the
/// rotation. The wait is the real `key_publish_lead` (20 s): the configuration does not expose
/// `key_cache_ttl`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_run_the_seeds_scenario_with_a_key_rotation_mid_run() {
    const A: usize = 0;
    const B: usize = 1;
    const C: usize = 2;
    let started = stopwatch();
    let nodes = ProdNodes::start(3).await;
    let world = &nodes.world;
    // The apps' SDKs call BAPI on each node in turn.
    let app_routes = nodes.routes(Spread::RoundRobin);
    let (apps, _servers) =
        crate::sdk::prod_seed_apps_with(world, nodes.sdk_http_client(&app_routes)).await;
    let routes = nodes.routes(Spread::Pinned(A));
    let browser = nodes.browser(&routes, &apps);
    // The Rust SDK's verifier calls BAPI on each node in turn; `verifier_routes` counts its
    // JWKS fetches. `@clerk/backend` fetches it from node A.
    let verifier_routes = nodes.routes(Spread::RoundRobin);
    let config = OrbitConfig::builder(&world.publishable_key)
        .secret_key(&world.secret_key)
        .api_url(world.bapi_url())
        .build()
        .unwrap();
    let sdk = Sdk::with_http_client(config, nodes.sdk_http_client(&verifier_routes)).unwrap();
    let (node_sdk, node_options) = crate::compat_node::prod_sdk(world).await;

    // (1) Sign up on node A, from the primary's home page, back on it signed in.
    let home = browser.browse("https://primary.test/").await;
    let sign_up = link(&home.last().unwrap().body, "sign-up");
    let fields = [
        ("first_name", "Grace"),
        ("email_address", "grace@example.com"),
        ("password", GOOD_PASSWORD),
    ];
    let hops = browser.submit(&sign_up, "/sign-up", &fields).await;
    let end = hops.last().unwrap();
    assert_eq!(end.url, "https://primary.test/", "{hops:#?}");
    assert!(end.body.contains("You are signed in"), "{}", end.body);
    let on_orbit = orbit_paths(&hops);
    assert_eq!(
        on_orbit,
        [
            "clerk.primary.test/sign-up",
            "clerk.primary.test/sign-up",
            "clerk.primary.test/v1/client/handshake"
        ],
        "{hops:#?}"
    );
    assert_eq!(routes.served(), [on_orbit.len(), 0, 0]);
    let (_, users) = nodes.backend_on(B).get("/v1/users").await;
    let user_id = users[0]["id"].as_str().unwrap().to_owned();
    let (_, sessions) = nodes
        .backend_on(C)
        .get(&format!("/v1/sessions?user_id={user_id}&status=active"))
        .await;
    let sid = the_new_one(&BTreeSet::new(), &ids(&sessions));
    let mut tokens = Tokens {
        nodes: &nodes,
        browser: Browser {
            http: browser.http.clone(),
            origin: "https://primary.test".into(),
        },
        sdk: &sdk,
        node_sdk,
        node_options,
        user_id: user_id.clone(),
        sid: sid.clone(),
    };

    // (2) Before the rotation: one key, which both verifiers fetch now.
    routes.spread(Spread::RoundRobin);
    let (old_kid, _) = tokens.mint(PRIMARY).await;
    assert_eq!(
        nodes.kids_everywhere().await,
        BTreeSet::from([old_kid.clone()])
    );
    assert_eq!(
        verifier_routes.served().iter().sum::<usize>(),
        1,
        "the Rust SDK fetched the JWKS for the first token"
    );

    // (3) Rotate on node C: published there at once.
    let rotated = stopwatch();
    let new_kid = nodes
        .node(C)
        .orbit()
        .rotate_signing_key(&world.instance.id)
        .await
        .unwrap();
    assert!(nodes.kids_on(C).await.contains(&new_kid));

    // (4) Sync the satellite through node B: its protected page sends the browser to the
    // primary's sign-in, which is signed in already and sends it back; the satellite's
    // handshake, the primary's sync, the satellite's link; back on the page, signed in.
    routes.spread(Spread::Pinned(B));
    let before = routes.served();
    let hops = browser.browse("https://satellite.test/profile").await;
    let end = hops.last().unwrap();
    assert_eq!(
        end.url, "https://satellite.test/profile?__clerk_synced=true",
        "{hops:#?}"
    );
    assert_shows(&end.body, "grace@example.com");
    let on_orbit = orbit_paths(&hops);
    assert_eq!(
        on_orbit,
        [
            "clerk.primary.test/sign-in",
            "clerk.satellite.test/v1/client/handshake",
            "clerk.primary.test/v1/client/sync",
            "clerk.satellite.test/v1/client/link"
        ],
        "{hops:#?}"
    );
    assert_eq!(grew(&before, &routes.served()), [0, on_orbit.len(), 0]);
    // The app read the link's handshake nonce through BAPI: every node reads it the same until
    // it expires, and none after.
    let link_hop = hops
        .iter()
        .find(|h| h.url.contains("/v1/client/link"))
        .unwrap();
    let nonce = link_hop.set_cookie("__clerk_handshake_nonce")["__clerk_handshake_nonce=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let path = format!("/v1/clients/handshake_payload?nonce={nonce}");
    let (s, first) = nodes.backend_on(A).get(&path).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    for i in [B, C] {
        assert_eq!(
            nodes.backend_on(i).get(&path).await,
            (StatusCode::OK, first.clone()),
            "node {i}"
        );
    }
    expire_handshake_nonces(&nodes.schema).await;
    for i in [A, B, C] {
        let (s, body) = nodes.backend_on(i).get(&path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "node {i}: {body}");
    }

    // (5) Tokens from the primary's FAPI host and the satellite's, on every node, round robin
    // and at random, until each node has signed one with the new key.
    let mut minted: Vec<(usize, String)> = Vec::new();
    let mut first_new = None;
    for k in 0.. {
        routes.spread(if k % 2 == 0 {
            Spread::RoundRobin
        } else {
            Spread::Random
        });
        let before = routes.served();
        let (kid, _) = tokens
            .mint(if k / 2 % 2 == 0 { PRIMARY } else { SATELLITE })
            .await;
        let node = grew(&before, &routes.served())
            .iter()
            .position(|&n| n == 1)
            .unwrap();
        assert!(kid == old_kid || kid == new_kid, "{kid}");
        if kid == new_kid && first_new.is_none() {
            first_new = Some(rotated.elapsed());
        }
        minted.push((node, kid));
        let signing_new: BTreeSet<usize> = minted
            .iter()
            .filter(|(_, kid)| *kid == new_kid)
            .map(|(n, _)| *n)
            .collect();
        if signing_new.len() == nodes.len() {
            break;
        }
        // Generous: every node signs with the new key from key_publish_lead (20 s) on.
        assert!(
            rotated.elapsed() < Duration::from_secs(45),
            "45 s after the rotation, not every node signs with {new_kid}: {minted:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let old_after_rotation = minted.iter().filter(|(_, kid)| *kid == old_kid).count();
    assert!(
        old_after_rotation > 0,
        "the new key signed at once: {minted:?}"
    );
    assert_eq!(
        verifier_routes.served().iter().sum::<usize>(),
        2,
        "the Rust SDK fetched the JWKS before the rotation and once more, for the new kid"
    );

    // (6) The satellite app takes a token signed with the new key, set on its domain as
    // clerk-js sets a refreshed token: its protected page, at once.
    routes.spread(Spread::Random);
    let (kid, jwt) = tokens.mint(SATELLITE).await;
    assert_eq!(kid, new_kid);
    browser.jar.add_cookie_str(
        &format!("__session={jwt}; Path=/; Secure"),
        &Url::parse("https://satellite.test/").unwrap(),
    );
    let hops = browser.browse("https://satellite.test/profile").await;
    assert_eq!(hops.len(), 1, "{hops:#?}");
    assert_shows(&hops[0].body, "grace@example.com");

    // (7) Sign out through node C, from the satellite's sign-out link: Orbit's page, the form,
    // the primary's `signed_out`; back on the satellite, whose next request goes through the
    // handshake and ends signed out.
    routes.spread(Spread::Pinned(C));
    let before = routes.served();
    let sign_out = link(&hops[0].body, "sign-out");
    let hops = browser.submit(&sign_out, "/sign-out", &[]).await;
    let end = hops.last().unwrap();
    assert_eq!(
        end.url, "https://satellite.test/?__clerk_synced=true",
        "{hops:#?}"
    );
    assert!(end.body.contains("You are signed out"), "{}", end.body);
    let on_orbit = orbit_paths(&hops);
    assert_eq!(
        on_orbit,
        [
            "clerk.satellite.test/sign-out",
            "clerk.satellite.test/sign-out",
            "clerk.primary.test/v1/client/signed_out",
            "clerk.satellite.test/v1/client/handshake"
        ],
        "{hops:#?}"
    );
    assert_eq!(grew(&before, &routes.served()), [0, 0, on_orbit.len()]);
    // At random over the nodes: the satellite's protected page goes to the primary's sign-in,
    // the primary is signed out too, and no node mints for the session any more.
    routes.spread(Spread::Random);
    let hops = browser.browse("https://satellite.test/profile").await;
    let end = hops.last().unwrap();
    assert!(
        end.url
            .starts_with("https://clerk.primary.test/sign-in?redirect_url="),
        "{hops:#?}"
    );
    let hops = browser.browse("https://primary.test/").await;
    let end = hops.last().unwrap();
    assert!(end.body.contains("You are signed out"), "{hops:#?}");
    for i in [A, B, C] {
        routes.spread(Spread::Pinned(i));
        for (fapi, app) in [PRIMARY, SATELLITE] {
            let r = tokens.browser.mint_as(fapi, &sid, app).await;
            assert!(
                r.status().is_client_error(),
                "node {i}, {fapi}: {}",
                r.status()
            );
        }
    }
    println!(
        "{} tokens after the rotation ({old_after_rotation} with the old key); the new key \
         first signed {:?} after it; browser requests per node {:?}; the apps' BAPI calls per \
         node {:?}; {:?} in all",
        minted.len(),
        first_new.unwrap(),
        routes.served(),
        app_routes.served(),
        started.elapsed()
    );
}

/// The primary's and the satellite's FAPI hosts, each with the origin of its app.
const PRIMARY: (&str, &str) = ("https://clerk.primary.test", "https://primary.test");
const SATELLITE: (&str, &str) = ("https://clerk.satellite.test", "https://satellite.test");

/// Mints the session's tokens from a browser and checks each the way apps would take it.
struct Tokens<'a> {
    nodes: &'a ProdNodes,
    browser: Browser,
    sdk: &'a Sdk,
    node_sdk: NodeSdk,
    node_options: Value,
    user_id: String,
    sid: String,
}

impl Tokens<'_> {
    /// A token from `fapi` for a page of `app`: its kid was in every node's JWKS before the
    /// mint, and the Rust SDK and `@clerk/backend` take it for the session, with `app` the one
    /// authorized party. Returns the kid and the token.
    async fn mint(&mut self, (fapi, app): (&str, &str)) -> (String, String) {
        let published = self.nodes.kids_everywhere().await;
        let (s, token) = json_of(self.browser.mint_as(fapi, &self.sid, app).await).await;
        assert_eq!(s, StatusCode::OK, "{fapi}: {token}");
        let jwt = token["jwt"].as_str().unwrap().to_owned();
        let header: Value = orbit_proto::jwt::UnverifiedJwt::parse(&jwt)
            .unwrap()
            .header()
            .unwrap();
        let kid = header["kid"].as_str().unwrap().to_owned();
        assert!(
            published.contains(&kid),
            "{fapi} signed with {kid}, which not every node published before: {published:?}"
        );
        let claims = self
            .sdk
            .verifier()
            .verify(&jwt, &[app.to_owned()])
            .await
            .unwrap_or_else(|e| panic!("the Rust SDK refuses a token signed with {kid}: {e}"));
        assert_eq!(
            (claims.sub.as_str(), claims.sid.as_str()),
            (&*self.user_id, &*self.sid)
        );
        let api = [
            (
                "host",
                Url::parse(app).unwrap().host_str().unwrap().to_owned(),
            ),
            ("accept", "application/json".to_owned()),
            ("authorization", format!("Bearer {jwt}")),
        ];
        let r = self
            .node_sdk
            .authenticate(
                &self.node_options,
                &json!({"authorizedParties": [app]}),
                &format!("{app}/api/me"),
                &api,
            )
            .await;
        r.assert_signed_in(&self.user_id);
        assert_eq!(r.session_id.as_deref(), Some(&*self.sid));
        (kid, jwt)
    }
}

/// The per-IP budget is one budget across nodes (issue 9): with a burst of 4, the fifth attempt
/// from one source is refused whichever node answers it. Were the buckets per node, each of the
/// two nodes would let 4 through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_ip_budget_holds_across_nodes() {
    let cluster = Cluster::start_with_env(
        2,
        &[
            ("ORBIT_SIGN_IN_PER_IP_BURST", "4"),
            ("ORBIT_SIGN_IN_PER_IP_PER_MINUTE", "1"),
        ],
    )
    .await;
    let lb = &cluster.balancer.routes;
    cluster
        .backend_on(0)
        .create_user("ada@example.com", GOOD_PASSWORD)
        .await;
    let browser = cluster.browser();
    let sign_in = format!("{}/sign-in", cluster.fapi);
    lb.spread(Spread::Pinned(0));
    let mut csrf = browser.get(&sign_in).await.csrf();
    // Round robin: the attempts alternate between the nodes.
    lb.spread(Spread::RoundRobin);
    let mut answers = Vec::new();
    for (n, password) in ["wrong one", "wrong two", "wrong three", "wrong four"]
        .into_iter()
        .chain(["wrong five", GOOD_PASSWORD, "wrong six", GOOD_PASSWORD])
        .enumerate()
    {
        let before = lb.served();
        let page = browser
            .post_form(
                &sign_in,
                &[
                    ("csrf_token", csrf.as_str()),
                    ("email_address", "ada@example.com"),
                    ("password", password),
                ],
            )
            .await;
        let after = lb.served();
        let node = (0..2).find(|&i| after[i] > before[i]).unwrap();
        let retry_after = page
            .headers
            .get("retry-after")
            .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
        println!(
            "attempt {}: node {node}, {}, Retry-After {retry_after:?}",
            n + 1,
            page.status
        );
        if let Some(fresh) = hidden(&page.body, "csrf_token") {
            csrf = fresh;
        }
        answers.push((node, page.status, retry_after));
    }
    let through: Vec<_> = answers[..4].iter().map(|a| (a.1, a.2)).collect();
    assert_eq!(
        through,
        [(StatusCode::UNPROCESSABLE_ENTITY, None); 4],
        "the burst of 4 reaches the password check: {answers:?}"
    );
    for (node, status, retry_after) in &answers[4..] {
        assert_eq!(
            *status,
            StatusCode::TOO_MANY_REQUESTS,
            "node {node}, past the shared burst: {answers:?}"
        );
        // One token a minute: the next one is at most a minute away.
        assert!(
            retry_after.is_some_and(|s| (1..=60).contains(&s)),
            "node {node}: {answers:?}"
        );
    }
    for part in [&answers[..4], &answers[4..]] {
        let nodes: BTreeSet<usize> = part.iter().map(|a| a.0).collect();
        assert_eq!(nodes.len(), 2, "both nodes answered: {answers:?}");
    }
}
