//! Clerk's browser bundles under `/npm/` on every FAPI host, from the real pinned packages:
//! serving (headers, HEAD, 304, gzip), `orbit assets fetch` against an in-test registry that
//! lies (tampered tarball, another published integrity) and air-gapped from a directory of
//! tarballs, hostile paths, and the fetch on first use (once for many requests, 503 and back-off
//! when the registry fails).
//!
//! [`clerk_bundles`] fetches the real pinned tarballs once per target directory, from the
//! registry Orbit would use (`ORBIT_NPM_REGISTRY`, else the one npm is configured with) (a file lock makes parallel test binaries share one download) and unpacks them
//! into a shared cache; servers under test link it with [`link_clerk_bundles`] or read the
//! tarballs as their `assets_dir`.

use crate::cli::{banner_value, orbit, output_of, serve_with, serve_with_env};
use crate::harness::*;
use crate::world::ProdWorld;
use axum::extract::State;
use axum::http::{StatusCode as AxumStatus, Uri};
use axum::response::IntoResponse;
use orbit_core::clock::{ManualClock, SECOND};
use orbit_server::assets::npm::{integrity_of, Cache, Registry, Source};
use orbit_server::assets::npm_config::{NpmEnvironment, RegistrySetting};
use orbit_server::assets::pins::{Package, Pin, PINS};
use orbit_server::config::Config;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The real pinned packages, fetched once for every test of this target directory.
pub struct SharedBundles {
    /// The tarballs as `npm pack` names them: an `assets_dir`.
    pub tarballs: PathBuf,
    /// An assets cache (what `<data_dir>/assets` holds) with every pin installed.
    pub cache_root: PathBuf,
}

static SHARED: tokio::sync::OnceCell<SharedBundles> = tokio::sync::OnceCell::const_new();

/// The real pinned tarballs, each checked against its pinned integrity, downloaded on the first
/// call of a test run into `target/tmp/orbit-test-assets` (kept across runs) and unpacked there
/// into a shared cache. The registry is found as `orbit serve` finds it: `ORBIT_NPM_REGISTRY`,
/// else the one npm is configured with (looked up only when a tarball is missing).
pub async fn clerk_bundles() -> &'static SharedBundles {
    SHARED
        .get_or_init(|| async {
            let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("orbit-test-assets");
            let tarballs = base.join("npm");
            std::fs::create_dir_all(&tarballs).unwrap();
            let lock_path = base.join(".lock");
            // Held until the cache is complete: other test binaries wait, then find it there.
            let _lock = tokio::task::spawn_blocking(move || FileLock::exclusive(&lock_path))
                .await
                .unwrap();
            let http = reqwest::Client::new();
            let configured = std::env::var("ORBIT_NPM_REGISTRY")
                .ok()
                .map(|url| Registry::parse(&url).unwrap());
            let registry = RegistrySetting::new(configured, NpmEnvironment::inherited());
            for pin in PINS {
                let path = tarballs.join(pin.tarball_name());
                let ok = std::fs::read(&path).is_ok_and(|b| integrity_of(&b) == pin.integrity);
                if ok {
                    continue;
                }
                let registry = &registry
                    .get()
                    .await
                    .unwrap_or_else(|e| panic!("the tests need the npm registry once: {e}"))
                    .registry;
                let url = registry.tarball_url(pin);
                let resp = http.get(&url).send().await.unwrap_or_else(|e| {
                    panic!("downloading {url} (the tests need the npm registry once): {e}")
                });
                assert!(resp.status().is_success(), "{url}: {}", resp.status());
                let bytes = resp.bytes().await.unwrap();
                assert_eq!(integrity_of(&bytes), pin.integrity, "{url}");
                let part = path.with_extension("part");
                std::fs::write(&part, &bytes).unwrap();
                std::fs::rename(&part, &path).unwrap();
            }
            let cache = Cache::in_data_dir(&base.join("data"));
            for pin in PINS {
                cache
                    .install(pin, &Source::Directory(tarballs.clone()), &mut |_| {})
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            SharedBundles {
                tarballs,
                cache_root: cache.root().to_path_buf(),
            }
        })
        .await
}

/// Makes `config`'s data directory use the shared cache (a link), so the server serves every
/// pin without fetching or unpacking anything.
pub fn link_clerk_bundles(config: &mut Config, shared: &SharedBundles) {
    std::fs::create_dir_all(&config.data_dir).unwrap();
    std::os::unix::fs::symlink(&shared.cache_root, config.data_dir.join("assets")).unwrap();
}

/// An exclusive `flock` on a file, released when dropped (or when the process dies).
struct FileLock(std::fs::File);

impl FileLock {
    fn exclusive(path: &Path) -> Self {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap();
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock {}", path.display());
        FileLock(file)
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as above.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

fn pin(package: Package, major: u64) -> &'static Pin {
    PINS.iter()
        .find(|p| p.package == package && p.major == major)
        .unwrap()
}

/// The bytes of `package/dist/<file>` in the pinned tarball, read from the tarball itself (not
/// from any cache), and the names of its flat dist files.
fn from_tarball(shared: &SharedBundles, pin: &Pin, file: &str) -> (Vec<u8>, Vec<String>) {
    let tgz = std::fs::File::open(shared.tarballs.join(pin.tarball_name())).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    let (mut found, mut names) = (None, Vec::new());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if let Some(name) = path.strip_prefix("package/dist/") {
            if !name.contains('/') {
                names.push(name.to_owned());
            }
            if name == file {
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).unwrap();
                found = Some(bytes);
            }
        }
    }
    (
        found.unwrap_or_else(|| panic!("{} has no dist/{file}", pin.id())),
        names,
    )
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_else(|| panic!("no {name} header: {:?}", r.headers()))
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const FLOATING: &str = "public, max-age=3600";

/// GETs `url` and checks that it is `pin`'s `dist/<file>`, byte for byte, with the headers a
/// script served to any origin needs; returns the response's ETag.
async fn check_served(
    http: &reqwest::Client,
    shared: &SharedBundles,
    url: &str,
    pin: &Pin,
    file: &str,
    cache_control: &str,
) -> String {
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    assert_eq!(
        header(&r, "content-type"),
        "text/javascript; charset=utf-8",
        "{url}"
    );
    assert_eq!(header(&r, "access-control-allow-origin"), "*", "{url}");
    assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{url}");
    assert_eq!(
        header(&r, "cross-origin-resource-policy"),
        "cross-origin",
        "{url}"
    );
    assert_eq!(header(&r, "cache-control"), cache_control, "{url}");
    assert!(r.headers().get("content-encoding").is_none(), "{url}");
    let etag = header(&r, "etag").to_owned();
    let body = r.bytes().await.unwrap();
    let (expected, _) = from_tarball(shared, pin, file);
    assert!(
        body[..] == expected[..],
        "{url}: not {}'s dist/{file}",
        pin.id()
    );
    etag
}

#[tokio::test]
async fn the_development_fapi_host_serves_the_pinned_bundles() {
    let shared = clerk_bundles().await;
    let server = TestServer::start_with(|c| link_clerk_bundles(c, shared)).await;
    let http = reqwest::Client::new();
    let (v6, v5, ui) = (
        pin(Package::ClerkJs, 6),
        pin(Package::ClerkJs, 5),
        pin(Package::Ui, 1),
    );
    let (_, names) = from_tarball(shared, v6, "clerk.browser.js");
    // A lazy chunk, as clerk-js asks for it: by its exact version.
    let chunk = names
        .iter()
        .find(|n| {
            n.starts_with("vendors_clerk.browser_") && n.ends_with(&format!("_{}.js", v6.version))
        })
        .expect("a vendors chunk in clerk-js 6");
    let rows: [(&str, &Pin, &str, &str); 8] = [
        (
            "/npm/@clerk/clerk-js@6/dist/clerk.browser.js",
            v6,
            "clerk.browser.js",
            FLOATING,
        ),
        (
            "/npm/@clerk/clerk-js@^6.1/dist/clerk.browser.js",
            v6,
            "clerk.browser.js",
            FLOATING,
        ),
        (
            "/npm/@clerk/clerk-js@~6/dist/clerk.browser.js",
            v6,
            "clerk.browser.js",
            FLOATING,
        ),
        (
            "/npm/@clerk/clerk-js@6.1.0/dist/clerk.browser.js",
            v6,
            "clerk.browser.js",
            FLOATING,
        ),
        (
            &format!("/npm/@clerk/clerk-js@{}/dist/{chunk}", v6.version),
            v6,
            chunk,
            IMMUTABLE,
        ),
        (
            "/npm/@clerk/ui@1/dist/ui.browser.js",
            ui,
            "ui.browser.js",
            FLOATING,
        ),
        (
            &format!("/npm/@clerk/ui@{}/dist/ui.browser.js", ui.version),
            ui,
            "ui.browser.js",
            IMMUTABLE,
        ),
        (
            "/npm/@clerk/clerk-js@5/dist/clerk.browser.js",
            v5,
            "clerk.browser.js",
            FLOATING,
        ),
    ];
    for (path, pin, file, cache_control) in rows {
        check_served(&http, shared, &server.url(path), pin, file, cache_control).await;
    }

    // HEAD: the same headers, no body.
    let url = server.url("/npm/@clerk/ui@1/dist/ui.browser.js");
    let (ui_js, _) = from_tarball(shared, ui, "ui.browser.js");
    let r = http.head(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-length"), ui_js.len().to_string());
    assert_eq!(header(&r, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(header(&r, "access-control-allow-origin"), "*");
    let etag = header(&r, "etag").to_owned();
    assert!(r.bytes().await.unwrap().is_empty());

    // Revalidation: 304 for the ETag (weak or strong), 200 for another.
    for tag in [etag.clone(), format!("W/{etag}"), format!("\"x\", {etag}")] {
        let r = http
            .get(&url)
            .header("if-none-match", &tag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{tag}");
        assert_eq!(header(&r, "etag"), etag);
        assert_eq!(header(&r, "access-control-allow-origin"), "*");
        assert!(r.bytes().await.unwrap().is_empty());
    }
    let r = http
        .get(&url)
        .header("if-none-match", "\"another\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // gzip when asked for, decoding to the same bytes; its own ETag, which revalidates too.
    let r = http
        .get(&url)
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-encoding"), "gzip");
    assert_eq!(header(&r, "vary"), "Accept-Encoding");
    let gz_etag = header(&r, "etag").to_owned();
    assert_ne!(gz_etag, etag);
    let gz = r.bytes().await.unwrap();
    assert!(
        gz.len() < ui_js.len() / 2,
        "{} of {}",
        gz.len(),
        ui_js.len()
    );
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut plain)
        .unwrap();
    assert!(plain == ui_js, "the gzip encoding decodes to ui.browser.js");
    let r = http
        .get(&url)
        .header("accept-encoding", "gzip")
        .header("if-none-match", &gz_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    // A file the package does not have.
    let r = http
        .get(server.url("/npm/@clerk/clerk-js@6/dist/nothing.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&r, "access-control-allow-origin"), "*");
    let (_, body) = json_of(r).await;
    assert_eq!(body["errors"][0]["code"], "bundle_file_not_found", "{body}");
}

#[tokio::test]
async fn production_and_satellite_fapi_hosts_serve_them_and_other_hosts_do_not() {
    let shared = clerk_bundles().await;
    let world = ProdWorld::start_on(None, |c| link_clerk_bundles(c, shared)).await;
    world.add_satellite("satellite.test", true).await;
    world.add_satellite("unverified.test", false).await;
    let http = world.browser().http;
    let (v6, ui) = (pin(Package::ClerkJs, 6), pin(Package::Ui, 1));
    for host in ["clerk.primary.test", "clerk.satellite.test", "orbit.test"] {
        check_served(
            &http,
            shared,
            &format!("https://{host}/npm/@clerk/clerk-js@6/dist/clerk.browser.js"),
            v6,
            "clerk.browser.js",
            FLOATING,
        )
        .await;
        check_served(
            &http,
            shared,
            &format!(
                "https://{host}/npm/@clerk/ui@{}/dist/ui.browser.js",
                ui.version
            ),
            ui,
            "ui.browser.js",
            IMMUTABLE,
        )
        .await;
    }
    let r = http
        .head("https://clerk.satellite.test/npm/@clerk/clerk-js@5/dist/clerk.browser.js")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("strict-transport-security"));
    // An app's own host is no FAPI host; an unverified satellite's FAPI host serves nothing yet.
    for (host, status, code) in [
        ("primary.test", StatusCode::NOT_FOUND, "host_not_found"),
        (
            "clerk.unverified.test",
            StatusCode::MISDIRECTED_REQUEST,
            "domain_not_verified",
        ),
    ] {
        let r = http
            .get(format!(
                "https://{host}/npm/@clerk/clerk-js@6/dist/clerk.browser.js"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{host}");
        let (_, body) = json_of(r).await;
        assert_eq!(body["errors"][0]["code"], code, "{host}: {body}");
    }
}

/// `GET <path>` with `Host: host` exactly as written (no client-side normalisation of `..`,
/// `%2e` or `\`); returns the status and the body.
async fn raw_get(addr: std::net::SocketAddr, host: &str, path: &str) -> (u16, String) {
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    sock.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    sock.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line for {path}: {text}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn hostile_paths_never_leave_dist() {
    let shared = clerk_bundles().await;
    let server = TestServer::start_with(|c| link_clerk_bundles(c, shared)).await;
    let addr = server.running.as_ref().unwrap().addr;
    let host = server.base.trim_start_matches("http://").to_owned();
    let v6 = pin(Package::ClerkJs, 6);
    // Files next to dist/ in the cache, and outside it altogether.
    assert!(Cache::in_data_dir(&server.config.data_dir)
        .dir(v6)
        .join("integrity")
        .is_file());
    let long_name = "a".repeat(4000);
    let long_spec = "6".repeat(5000);
    let e = &format!("/npm/@clerk/clerk-js@{}", v6.version);
    let rows: Vec<(String, u16, &str)> = vec![
        (format!("{e}/dist/../integrity"), 404, "resource_not_found"),
        (
            format!("{e}/dist/..%2fintegrity"),
            400,
            "bundle_path_invalid",
        ),
        (
            format!("{e}/dist/..%2Fintegrity"),
            400,
            "bundle_path_invalid",
        ),
        (
            format!("{e}/dist/%2e%2e%2fintegrity"),
            400,
            "bundle_path_invalid",
        ),
        (
            format!("{e}/dist/%2e%2e/integrity"),
            404,
            "resource_not_found",
        ),
        (format!("{e}/dist/.."), 400, "bundle_path_invalid"),
        (format!("{e}/dist/%2e%2e"), 400, "bundle_path_invalid"),
        (
            format!("{e}/dist/..\\integrity"),
            400,
            "bundle_path_invalid",
        ),
        (
            format!("{e}/dist/..%5cintegrity"),
            400,
            "bundle_path_invalid",
        ),
        (
            format!("{e}/dist/clerk.browser.js%00.png"),
            400,
            "bundle_path_invalid",
        ),
        (
            format!("{e}/dist/../../../../../../../../etc/passwd"),
            404,
            "resource_not_found",
        ),
        (
            format!("{e}/dist/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd"),
            400,
            "bundle_path_invalid",
        ),
        (
            format!("{e}/dist/%252e%252e%252fintegrity"),
            400,
            "bundle_path_invalid",
        ),
        (
            format!("{e}%2f..%2f..%2f..%2fetc/dist/passwd"),
            400,
            "bundle_path_invalid",
        ),
        (format!("{e}/../../integrity"), 404, "resource_not_found"),
        (
            format!("{e}/gzip/clerk.browser.js.gz"),
            404,
            "resource_not_found",
        ),
        (format!("{e}/integrity"), 404, "resource_not_found"),
        (format!("{e}/dist/"), 400, "bundle_path_invalid"),
        (format!("{e}/dist/types"), 404, "bundle_file_not_found"),
        (
            format!("{e}/dist/types/index.d.ts"),
            404,
            "resource_not_found",
        ),
        (
            format!("{e}/dist/{long_name}.js"),
            400,
            "bundle_path_invalid",
        ),
        (
            "/npm/@clerk/nextjs@7/dist/index.js".into(),
            404,
            "bundle_package_not_served",
        ),
        (
            "/npm/@clerk/clerk-js/dist/clerk.browser.js".into(),
            404,
            "bundle_version_missing",
        ),
        (
            "/npm/react@18/umd/react.production.min.js".into(),
            404,
            "resource_not_found",
        ),
        (
            "/npm/@clerk/clerk-js@7/dist/clerk.browser.js".into(),
            404,
            "bundle_version_not_served",
        ),
        (
            "/npm/@clerk/clerk-js@latest/dist/clerk.browser.js".into(),
            404,
            "bundle_version_not_served",
        ),
        (
            "/npm/@clerk/ui@2/dist/ui.browser.js".into(),
            404,
            "bundle_version_not_served",
        ),
        (
            format!("{e}.1/dist/clerk.browser.js"),
            400,
            "bundle_version_invalid",
        ),
        (
            "/npm/@clerk/clerk-js@99999999999999999999999/dist/clerk.browser.js".into(),
            400,
            "bundle_version_invalid",
        ),
        (
            "/npm/@clerk/clerk-js@6%20%7C%7C%207/dist/clerk.browser.js".into(),
            400,
            "bundle_version_invalid",
        ),
        (
            "/npm/@clerk/clerk-js@../dist/clerk.browser.js".into(),
            400,
            "bundle_version_invalid",
        ),
        (
            "/npm/@clerk/clerk-js@%5E/dist/clerk.browser.js".into(),
            400,
            "bundle_version_invalid",
        ),
        (
            format!("/npm/@clerk/clerk-js@{long_spec}/dist/clerk.browser.js"),
            400,
            "bundle_version_invalid",
        ),
    ];
    for (path, status, code) in &rows {
        let (got, body) = raw_get(addr, &host, path).await;
        let shown: String = path.chars().take(120).collect();
        assert_eq!(got, *status, "{shown}: {body}");
        let json: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{shown}: {body}"));
        assert_eq!(json["errors"][0]["code"], *code, "{shown}: {body}");
        assert!(
            !body.contains("sha512-") && !body.contains("root:"),
            "{shown}: {body}"
        );
    }
    // The refusals name what is served.
    let (_, body) = raw_get(addr, &host, "/npm/@clerk/clerk-js@7/dist/clerk.browser.js").await;
    assert!(
        body.contains(&format!("@6 ({}", v6.version))
            && body.contains(&format!("@5 ({}", pin(Package::ClerkJs, 5).version)),
        "{body}"
    );
    let (_, body) = raw_get(addr, &host, "/npm/@clerk/ui@2/dist/ui.browser.js").await;
    assert!(
        body.contains(&format!("@1 ({}", pin(Package::Ui, 1).version)),
        "{body}"
    );
    let (_, body) = raw_get(addr, &host, "/npm/@clerk/nextjs@7/dist/index.js").await;
    assert!(
        body.contains("@clerk/clerk-js@<version>") && body.contains("@clerk/ui@<version>"),
        "{body}"
    );
    // Only FAPI hosts serve bundles.
    let (status, body) = raw_get(
        addr,
        "evil.example",
        "/npm/@clerk/clerk-js@6/dist/clerk.browser.js",
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("host_not_found"), "{body}");
    // Nothing but GET and HEAD.
    let r = reqwest::Client::new()
        .post(server.url("/npm/@clerk/clerk-js@6/dist/clerk.browser.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

/// An npm registry on loopback: per pin, the integrity its version document publishes and the
/// tarball it serves; it counts requests and can fail every one with 500.
#[derive(Clone, Default)]
struct TestRegistry {
    packages: Arc<HashMap<String, (String, Vec<u8>)>>,
    docs: Arc<AtomicUsize>,
    tarballs: Arc<Mutex<HashMap<String, usize>>>,
    broken: Arc<AtomicBool>,
}

impl TestRegistry {
    /// Serves `packages`: pin → (published integrity, tarball bytes). Returns its base URL.
    async fn start(packages: Vec<(&Pin, String, Vec<u8>)>) -> (Self, String) {
        let registry = TestRegistry {
            packages: Arc::new(
                packages
                    .into_iter()
                    .map(|(p, integrity, bytes)| (p.id(), (integrity, bytes)))
                    .collect(),
            ),
            ..Default::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(registry_answer)
            .with_state((registry.clone(), base.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (registry, base)
    }

    /// The real pinned packages, as published.
    async fn real(shared: &SharedBundles) -> (Self, String) {
        let packages = PINS
            .iter()
            .map(|p| {
                let bytes = std::fs::read(shared.tarballs.join(p.tarball_name())).unwrap();
                (p, p.integrity.to_owned(), bytes)
            })
            .collect();
        Self::start(packages).await
    }

    fn tarball_hits(&self, pin: &Pin) -> usize {
        self.tarballs
            .lock()
            .unwrap()
            .get(&pin.id())
            .copied()
            .unwrap_or(0)
    }

    fn requests(&self) -> usize {
        self.docs.load(Ordering::SeqCst) + self.tarballs.lock().unwrap().values().sum::<usize>()
    }
}

/// `/@clerk%2f<name>/<version>` (the version document npm asks for) and
/// `/@clerk/<name>/-/<name>-<version>.tgz`.
async fn registry_answer(
    State((registry, base)): State<(TestRegistry, String)>,
    uri: Uri,
) -> axum::response::Response {
    let path = uri.path();
    if let Some(rest) = path.strip_prefix("/@clerk%2f") {
        registry.docs.fetch_add(1, Ordering::SeqCst);
        if registry.broken.load(Ordering::SeqCst) {
            return AxumStatus::INTERNAL_SERVER_ERROR.into_response();
        }
        let Some((name, version)) = rest.split_once('/') else {
            return AxumStatus::NOT_FOUND.into_response();
        };
        let id = format!("@clerk/{name}@{version}");
        let Some((integrity, _)) = registry.packages.get(&id) else {
            return AxumStatus::NOT_FOUND.into_response();
        };
        return axum::Json(serde_json::json!({
            "name": format!("@clerk/{name}"),
            "version": version,
            "dist": {
                "integrity": integrity,
                "tarball": format!("{base}/@clerk/{name}/-/{name}-{version}.tgz"),
            }
        }))
        .into_response();
    }
    let Some((name, file)) = path
        .strip_prefix("/@clerk/")
        .and_then(|r| r.split_once("/-/"))
    else {
        return AxumStatus::NOT_FOUND.into_response();
    };
    let Some(version) = file
        .strip_prefix(&format!("{name}-"))
        .and_then(|v| v.strip_suffix(".tgz"))
    else {
        return AxumStatus::NOT_FOUND.into_response();
    };
    let id = format!("@clerk/{name}@{version}");
    *registry
        .tarballs
        .lock()
        .unwrap()
        .entry(id.clone())
        .or_default() += 1;
    if registry.broken.load(Ordering::SeqCst) {
        return AxumStatus::INTERNAL_SERVER_ERROR.into_response();
    }
    match registry.packages.get(&id) {
        Some((_, bytes)) => bytes.clone().into_response(),
        None => AxumStatus::NOT_FOUND.into_response(),
    }
}

/// What the cache at `<data>/assets` holds: its entries, recursively, relative to it.
fn cache_contents(data: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(root).unwrap().display().to_string());
            if p.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    let root = data.join("assets");
    walk(&root, &root, &mut out);
    out
}

async fn assets_fetch(data: &Path, args: &[&str]) -> (bool, String, String) {
    let mut cmd = orbit();
    cmd.args(["assets", "fetch", "--data-dir"])
        .arg(data)
        .args(args);
    output_of(cmd).await
}

#[tokio::test]
async fn fetch_refuses_a_tarball_that_does_not_match_the_pin() {
    let shared = clerk_bundles().await;
    let v6 = pin(Package::ClerkJs, 6);
    let mut tampered = std::fs::read(shared.tarballs.join(v6.tarball_name())).unwrap();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    let actual = integrity_of(&tampered);
    // The registry publishes the pinned integrity but serves other bytes.
    let (registry, url) = TestRegistry::start(vec![(v6, v6.integrity.to_owned(), tampered)]).await;
    let data = tempfile::tempdir().unwrap();
    let (ok, out, err) = assets_fetch(data.path(), &["--registry", &url]).await;
    assert!(!ok, "{out}");
    let line = err
        .lines()
        .find(|l| l.starts_with(&format!("error: {}", v6.id())))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains(v6.integrity) && line.contains(&actual),
        "{line}"
    );
    assert!(line.contains("nothing was installed"), "{line}");
    assert_eq!(registry.tarball_hits(v6), 1);
    // The other pins are not on this registry: named, not installed.
    assert!(
        err.contains(&format!("error: {}", pin(Package::Ui, 1).id())) && err.contains("404"),
        "{err}"
    );
    assert!(out.contains("0 of 3 browser bundles cached"), "{out}");
    assert_eq!(cache_contents(data.path()), vec!["@clerk".to_owned()]);
}

#[tokio::test]
async fn fetch_refuses_a_registry_that_publishes_another_integrity() {
    let shared = clerk_bundles().await;
    let v6 = pin(Package::ClerkJs, 6);
    let real = std::fs::read(shared.tarballs.join(v6.tarball_name())).unwrap();
    let published = integrity_of(b"another tarball");
    let (registry, url) = TestRegistry::start(vec![(v6, published.clone(), real)]).await;
    let data = tempfile::tempdir().unwrap();
    let (ok, out, err) = assets_fetch(data.path(), &["--registry", &url]).await;
    assert!(!ok, "{out}");
    let line = err
        .lines()
        .find(|l| l.starts_with(&format!("error: {}", v6.id())))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains(&published) && line.contains(v6.integrity),
        "{line}"
    );
    assert_eq!(registry.tarball_hits(v6), 0, "refused before downloading");
    assert_eq!(cache_contents(data.path()), vec!["@clerk".to_owned()]);
}

#[tokio::test]
async fn fetch_from_assets_dir_needs_no_registry_and_is_idempotent() {
    let shared = clerk_bundles().await;
    let data = tempfile::tempdir().unwrap();
    let dir = shared.tarballs.to_str().unwrap();
    let unreachable = ["--registry", "http://127.0.0.1:1", "--assets-dir", dir];
    let (ok, out, err) = assets_fetch(data.path(), &unreachable).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("3 of 3 browser bundles cached") && out.contains("(3 fetched now)"),
        "{out}"
    );
    assert!(
        !err.contains("127.0.0.1:1"),
        "the registry is never mentioned: {err}"
    );
    let cache = Cache::in_data_dir(data.path());
    for p in PINS {
        assert!(cache.is_installed(p), "{}", p.id());
        let entry = p.package.entry_file();
        let (expected, names) = from_tarball(shared, p, entry);
        assert_eq!(std::fs::read(cache.dist(p).join(entry)).unwrap(), expected);
        let mut unpacked: Vec<String> = std::fs::read_dir(cache.dist(p))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        unpacked.sort();
        let mut names = names;
        names.sort();
        assert_eq!(unpacked, names, "{}: every flat dist file", p.id());
    }
    // Again: nothing to do. Through ORBIT_ASSETS_DIR this time.
    let mut cmd = orbit();
    cmd.args([
        "assets",
        "fetch",
        "--registry",
        "http://127.0.0.1:1",
        "--data-dir",
    ])
    .arg(data.path())
    .env("ORBIT_ASSETS_DIR", dir);
    let (ok, out, err) = output_of(cmd).await;
    assert!(ok, "{err}");
    assert!(out.contains("(0 fetched now)"), "{out}");
    assert_eq!(err.matches("already cached").count(), 3, "{err}");

    // A directory without the tarballs says what to put there.
    let empty = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let (ok, _, err) = assets_fetch(
        other.path(),
        &["--assets-dir", empty.path().to_str().unwrap()],
    )
    .await;
    assert!(!ok);
    let v6 = pin(Package::ClerkJs, 6);
    assert!(
        err.contains(&format!("npm pack {}", v6.id())) && err.contains(&v6.tarball_name()),
        "{err}"
    );
}

#[tokio::test]
async fn first_use_fetches_once_for_concurrent_requests() {
    let shared = clerk_bundles().await;
    let (registry, url) = TestRegistry::real(shared).await;
    let server =
        TestServer::start_with(|c| c.npm_registry = Some(Registry::parse(&url).unwrap())).await;
    let (v6, ui) = (pin(Package::ClerkJs, 6), pin(Package::Ui, 1));
    let (_, names) = from_tarball(shared, v6, "clerk.browser.js");
    let chunk = names
        .iter()
        .find(|n| n.starts_with("zxcvbn-common_clerk.browser_"))
        .unwrap()
        .clone();
    let http = reqwest::Client::new();
    let requests = [
        (
            "/npm/@clerk/clerk-js@6/dist/clerk.browser.js".to_owned(),
            "clerk.browser.js".to_owned(),
            FLOATING,
        ),
        (
            "/npm/@clerk/clerk-js@^6.2/dist/clerk.browser.js".to_owned(),
            "clerk.browser.js".to_owned(),
            FLOATING,
        ),
        (
            format!("/npm/@clerk/clerk-js@{}/dist/{chunk}", v6.version),
            chunk.clone(),
            IMMUTABLE,
        ),
        (
            format!("/npm/@clerk/clerk-js@{}/dist/clerk.browser.js", v6.version),
            "clerk.browser.js".to_owned(),
            IMMUTABLE,
        ),
    ];
    // All at once, on a cache that has none of them.
    let mut all = tokio::task::JoinSet::new();
    for (path, file, cache_control) in requests {
        let (http, url) = (http.clone(), server.url(&path));
        all.spawn(async move { check_served(&http, shared, &url, v6, &file, cache_control).await });
    }
    while let Some(done) = all.join_next().await {
        done.unwrap();
    }
    assert_eq!(registry.tarball_hits(v6), 1, "one fetch for every request");
    assert_eq!(registry.tarball_hits(ui), 0, "only what was asked for");
    check_served(
        &http,
        shared,
        &server.url("/npm/@clerk/ui@1/dist/ui.browser.js"),
        ui,
        "ui.browser.js",
        FLOATING,
    )
    .await;
    assert_eq!(registry.tarball_hits(ui), 1);
    check_served(
        &http,
        shared,
        &server.url("/npm/@clerk/clerk-js@6/dist/clerk.browser.js"),
        v6,
        "clerk.browser.js",
        FLOATING,
    )
    .await;
    assert_eq!(
        registry.tarball_hits(v6),
        1,
        "served from the cache from then on"
    );
    let cache = Cache::in_data_dir(&server.config.data_dir);
    assert!(cache.is_installed(v6) && cache.is_installed(ui));
}

#[tokio::test]
async fn first_use_answers_503_and_backs_off_while_the_registry_fails() {
    let shared = clerk_bundles().await;
    let (registry, url) = TestRegistry::real(shared).await;
    registry.broken.store(true, Ordering::SeqCst);
    let clock = ManualClock::new(1_800_000_000_000);
    let server = TestServer::start_with_clock_and(&clock, |c| {
        c.npm_registry = Some(Registry::parse(&url).unwrap())
    })
    .await;
    let http = reqwest::Client::new();
    let bundle = server.url("/npm/@clerk/clerk-js@6/dist/clerk.browser.js");
    let unavailable = |retry_after: &'static str| {
        let (http, bundle, url) = (http.clone(), bundle.clone(), url.clone());
        async move {
            let r = http.get(&bundle).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(header(&r, "retry-after"), retry_after);
            assert_eq!(header(&r, "access-control-allow-origin"), "*");
            let (_, body) = json_of(r).await;
            assert_eq!(body["errors"][0]["code"], "bundle_unavailable", "{body}");
            let message = body["errors"][0]["long_message"]
                .as_str()
                .unwrap()
                .to_owned();
            for hint in [
                &pin(Package::ClerkJs, 6).id(),
                "orbit assets fetch",
                "assets_dir",
                "npm pack",
            ] {
                assert!(message.contains(hint), "{hint}: {message}");
            }
            assert!(
                !message.contains(&url),
                "the registry is the operator's business: {message}"
            );
        }
    };
    unavailable("30").await;
    assert_eq!(registry.requests(), 1, "one attempt");
    // Page views during the back-off do not reach the registry.
    for _ in 0..5 {
        unavailable("30").await;
    }
    clock.advance_ms(10 * SECOND);
    unavailable("20").await;
    assert_eq!(registry.requests(), 1, "no attempt during the back-off");
    // After it, one more attempt, and a longer back-off when it fails too.
    clock.advance_ms(21 * SECOND);
    unavailable("60").await;
    assert_eq!(registry.requests(), 2);
    unavailable("60").await;
    assert_eq!(registry.requests(), 2);

    // The operator runs `orbit assets fetch` (here from the tarballs): served at once.
    let dir = shared.tarballs.to_str().unwrap();
    let (ok, _, err) = assets_fetch(&server.config.data_dir, &["--assets-dir", dir]).await;
    assert!(ok, "{err}");
    check_served(
        &http,
        shared,
        &bundle,
        pin(Package::ClerkJs, 6),
        "clerk.browser.js",
        FLOATING,
    )
    .await;
    assert_eq!(registry.requests(), 2);
}

#[tokio::test]
async fn first_use_with_an_unreachable_registry_answers_503() {
    let server = TestServer::start_with(|c| {
        c.npm_registry = Some(Registry::parse("http://127.0.0.1:1").unwrap())
    })
    .await;
    let r = reqwest::get(server.url("/npm/@clerk/ui@1/dist/ui.browser.js"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    let (_, body) = json_of(r).await;
    let message = body["errors"][0]["long_message"].as_str().unwrap();
    assert!(
        message.contains("orbit assets fetch") && message.contains("assets_dir"),
        "{message}"
    );
    assert_eq!(
        cache_contents(&server.config.data_dir),
        vec!["@clerk".to_owned()]
    );
}

#[tokio::test]
async fn serve_says_whether_the_bundles_are_cached() {
    let shared = clerk_bundles().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let line = |banner: &str| {
        banner
            .lines()
            .find(|l| l.starts_with("Browser bundles:"))
            .unwrap_or_else(|| panic!("{banner}"))
            .to_owned()
    };
    let mut first = serve_with(data, &[]);
    let missing = line(&first.banner);
    first.kill();
    for expected in [
        &pin(Package::ClerkJs, 6).id(),
        &pin(Package::Ui, 1).id(),
        "not cached",
        "orbit assets fetch",
        "assets_dir",
        "on first use",
    ] {
        assert!(missing.contains(expected), "{expected}: {missing}");
    }
    let (ok, _, err) = assets_fetch(
        dir.path(),
        &["--assets-dir", shared.tarballs.to_str().unwrap()],
    )
    .await;
    assert!(ok, "{err}");
    let second = serve_with(data, &[]);
    let cached = line(&second.banner);
    assert!(
        cached.contains("cached in") && !cached.contains("not cached"),
        "{cached}"
    );
}

/// `orbit assets fetch` without `--registry`, in a temporary HOME (with `npmrc` as its
/// `.npmrc`) and with no npm on PATH: only what the test gives decides the registry.
async fn assets_fetch_in_home(data: &Path, npmrc: Option<&str>) -> (bool, String, String) {
    let home = tempfile::tempdir().unwrap();
    if let Some(text) = npmrc {
        std::fs::write(home.path().join(".npmrc"), text).unwrap();
    }
    let no_npm = tempfile::tempdir().unwrap();
    let mut cmd = orbit();
    cmd.args(["assets", "fetch", "--data-dir"])
        .arg(data)
        .env("HOME", home.path())
        .env("PATH", no_npm.path())
        .env_remove("npm_config_registry")
        .env_remove("NPM_CONFIG_REGISTRY");
    output_of(cmd).await
}

#[tokio::test]
async fn fetch_uses_the_registry_npm_is_configured_with() {
    let shared = clerk_bundles().await;
    let (registry, url) = TestRegistry::real(shared).await;
    let data = tempfile::tempdir().unwrap();
    let npmrc = format!("fund=false\nregistry={url}/\n");
    let (ok, out, err) = assets_fetch_in_home(data.path(), Some(&npmrc)).await;
    assert!(ok, "{err}");
    assert!(out.contains("(3 fetched now)"), "{out}");
    assert!(
        err.contains("npm registry from the registry= line of") && err.contains(".npmrc"),
        "says where the registry came from: {err}"
    );
    for p in PINS {
        assert_eq!(registry.tarball_hits(p), 1, "{}", p.id());
    }
    // All cached: no registry is needed, so none is looked up.
    let (ok, out, err) = assets_fetch_in_home(data.path(), None).await;
    assert!(ok, "{err}");
    assert!(out.contains("(0 fetched now)"), "{out}");
}

#[tokio::test]
async fn fetch_without_any_registry_says_what_to_set() {
    let data = tempfile::tempdir().unwrap();
    let (ok, out, err) = assets_fetch_in_home(data.path(), Some("fund=false\n")).await;
    assert!(!ok, "{out}");
    assert!(
        err.starts_with("error: no npm registry configured: set npm_registry (ORBIT_NPM_REGISTRY) to your npm registry's URL, e.g. the output of `npm config get registry`, or set assets_dir for an air-gapped install"),
        "{err}"
    );
    assert!(
        err.contains("no registry= line") && err.contains("npm: not on PATH"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "said once, not per package: {err}");
    assert!(cache_contents(data.path()).is_empty(), "nothing written");
}

#[tokio::test]
async fn first_use_finds_the_registry_npm_is_configured_with() {
    let shared = clerk_bundles().await;
    let (registry, url) = TestRegistry::real(shared).await;
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join(".npmrc"), format!("registry={url}\n")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("HOME", home.path().to_str().unwrap()),
        // Empty is unset, for npm and for Orbit.
        ("npm_config_registry", ""),
        ("NPM_CONFIG_REGISTRY", ""),
    ];
    let server = serve_with_env(dir.path().to_str().unwrap(), &[], &env);
    let line = server
        .banner
        .lines()
        .find(|l| l.starts_with("Browser bundles:"))
        .unwrap();
    assert!(
        line.contains("fetched from the registry npm is configured with on first use"),
        "{line}"
    );
    let fapi = banner_value(&server.banner, "Frontend API:");
    let v6 = pin(Package::ClerkJs, 6);
    check_served(
        &reqwest::Client::new(),
        shared,
        &format!("{fapi}/npm/@clerk/clerk-js@6/dist/clerk.browser.js"),
        v6,
        "clerk.browser.js",
        FLOATING,
    )
    .await;
    assert_eq!(registry.tarball_hits(v6), 1);
}
