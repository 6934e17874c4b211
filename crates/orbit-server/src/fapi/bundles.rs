//! `GET|HEAD /npm/@clerk/{clerk-js,ui}@<spec>/dist/<file>` on every FAPI host: the pinned
//! package's file, read from the cache per request (docs/protocol.md "Browser bundles",
//! docs/design/browser-bundles.md "Serving").

use crate::assets::npm::is_plain_file_name;
use crate::assets::pins::{self, Naming, Package, Pin, SpecError};
use crate::assets::Unavailable;
use crate::browser::host::FapiRejection;
use crate::browser::Fapi;
use crate::error::ApiError;
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use std::path::Path;

pub fn routes() -> Router<AppState> {
    // GET routes answer HEAD too (axum drops the body; `serve` sends none for HEAD anyway).
    Router::new().route("/npm/{*path}", get(bundle_file))
}

/// A long-lived answer: the URL names the exact pinned version, whose files never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// A floating spec (`@6`, `@^6.1`) may name another version once the pin moves.
const FLOATING: &str = "public, max-age=3600";

/// What a `/npm/...` path asks for.
#[derive(Debug, PartialEq, Eq)]
struct BundleRequest {
    pin: &'static Pin,
    naming: Naming,
    file: String,
}

fn layout_hint() -> String {
    format!(
        "Orbit serves /npm/@clerk/clerk-js@<version>/dist/<file> ({}) and /npm/@clerk/ui@<version>/dist/<file> ({}).",
        pins::served_versions(Package::ClerkJs),
        pins::served_versions(Package::Ui)
    )
}

fn not_found(code: &'static str, message: &str, long_message: String) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, code, message, long_message)
}

fn bad_path(long_message: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bundle_path_invalid",
        "Invalid bundle path",
        long_message,
    )
}

/// Parses the raw (still percent-encoded) path. Segments are split before decoding, so an
/// encoded `/` stays inside its segment and is refused there with `..`, `\` and NUL.
fn parse(raw_path: &str) -> Result<BundleRequest, ApiError> {
    let rest = raw_path.strip_prefix("/npm/").unwrap_or_default();
    let segments: Vec<&str> = rest.split('/').collect();
    let [scope, name_spec, dist, file] = segments[..] else {
        return Err(not_found("resource_not_found", "Not found", layout_hint()));
    };
    let decode = |s: &str| -> Result<String, ApiError> {
        let decoded = percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map_err(|_| bad_path("The path is not UTF-8 once decoded.".into()))?;
        if decoded.contains(['/', '\\', '\0']) {
            return Err(bad_path(format!(
                "{:?} holds a /, \\ or NUL once decoded; bundle paths have none.",
                truncate(s)
            )));
        }
        Ok(decoded.into_owned())
    };
    let (scope, name_spec, dist, file) = (
        decode(scope)?,
        decode(name_spec)?,
        decode(dist)?,
        decode(file)?,
    );
    if scope != "@clerk" || dist != "dist" {
        return Err(not_found("resource_not_found", "Not found", layout_hint()));
    }
    let Some((name, spec)) = name_spec.split_once('@') else {
        return Err(not_found(
            "bundle_version_missing",
            "Version missing",
            format!(
                "Name a version after the package, e.g. /npm/@clerk/{}@6/dist/... {}",
                truncate(&name_spec),
                layout_hint()
            ),
        ));
    };
    let Some(package) = Package::from_short_name(name) else {
        return Err(not_found(
            "bundle_package_not_served",
            "Package not served",
            format!(
                "Orbit does not serve @clerk/{}. {}",
                truncate(name),
                layout_hint()
            ),
        ));
    };
    let (pin, naming) = pins::resolve(package, spec).map_err(|e| match e {
        SpecError::Invalid => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bundle_version_invalid",
            "Invalid version",
            format!(
                "{:?} is not a version of {package}: use a major (6), a version (6.40.0) or a range of one major (^6.1, ~6, 6.x).",
                truncate(spec)
            ),
        ),
        SpecError::NotServed => not_found(
            "bundle_version_not_served",
            "Version not served",
            format!(
                "Orbit does not serve {package}@{}: it serves {package} {}.",
                truncate(spec),
                pins::served_versions(package)
            ),
        ),
    })?;
    if !is_plain_file_name(&file) {
        return Err(bad_path(format!(
            "{:?} is not a file name of {package}'s dist/ folder (letters, digits, '.', '_', '-'; no folders).",
            truncate(&file)
        )));
    }
    Ok(BundleRequest { pin, naming, file })
}

/// Echoes of request input are kept short.
fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The response of every `/npm/` request, answers and errors alike, may be read by any origin:
/// pages load these scripts with `crossorigin="anonymous"`, and a preload without it must not be
/// blocked either (Chromium's ORB).
fn cross_origin(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    resp
}

async fn bundle_file(
    State(state): State<AppState>,
    fapi: Result<Fapi, FapiRejection>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    // Only FAPI hosts serve bundles; a page on another host gets the usual answer.
    if let Err(rejection) = fapi {
        return cross_origin(rejection.into_response());
    }
    let resp = match answer(&state, &method, uri.path(), &headers).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    cross_origin(resp)
}

async fn answer(
    state: &AppState,
    method: &Method,
    raw_path: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let req = parse(raw_path)?;
    let dist = state
        .bundles
        .dist(req.pin)
        .await
        .map_err(|u| unavailable(req.pin, u))?;
    let plain = dist.join(&req.file);
    let missing = || {
        not_found(
            "bundle_file_not_found",
            "File not found",
            format!("{} has no dist/{}.", req.pin.id(), req.file),
        )
    };
    let plain_meta = match tokio::fs::symlink_metadata(&plain).await {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Err(missing()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
        Err(e) => return Err(ApiError::internal(format!("{}: {e}", plain.display()))),
    };
    let gz = state
        .bundles
        .cache()
        .gzip(req.pin)
        .join(format!("{}.gz", req.file));
    let encoded = if accepts_gzip(headers) {
        match tokio::fs::symlink_metadata(&gz).await {
            Ok(m) if m.is_file() => Some(m),
            _ => None,
        }
    } else {
        None
    };
    let (path, len, encoding): (&Path, u64, Option<&str>) = match &encoded {
        Some(m) => (&gz, m.len(), Some("gzip")),
        None => (&plain, plain_meta.len(), None),
    };
    let etag = etag(req.pin, &req.file, encoding);
    let cache_control = match req.naming {
        Naming::Exact => IMMUTABLE,
        Naming::Floating => FLOATING,
    };
    let mut builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, cache_control)
        .header(header::VARY, "Accept-Encoding");
    if if_none_match(headers, req.pin, &req.file) {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(ApiError::internal);
    }
    builder = builder
        .header(header::CONTENT_TYPE, content_type(&req.file))
        .header(header::CONTENT_LENGTH, len);
    if let Some(e) = encoding {
        builder = builder.header(header::CONTENT_ENCODING, e);
    }
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| ApiError::internal(format!("{}: {e}", path.display())))?;
        Body::from_stream(tokio_util::io::ReaderStream::new(file))
    };
    builder.body(body).map_err(ApiError::internal)
}

fn unavailable(pin: &Pin, u: Unavailable) -> ApiError {
    let (why, secs) = match u {
        Unavailable::Fetching { retry_after_secs } => {
            ("is being fetched into Orbit's cache", retry_after_secs)
        }
        Unavailable::Failed { retry_after_secs } => (
            "is not in Orbit's cache and could not be fetched (the server log says why)",
            retry_after_secs,
        ),
    };
    let mut e = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "bundle_unavailable",
        "Browser bundle not available yet",
        format!(
            "{} {why}. The server's operator can run `orbit assets fetch` on it, or set assets_dir to a directory holding {} (`npm pack {}`). Try again in {secs} seconds.",
            pin.id(),
            pin.tarball_name(),
            pin.id()
        ),
    );
    e.retry_after = Some(secs);
    e
}

/// The entity tag of one representation: the file's content is fixed by the pinned integrity
/// and its name, so no file is hashed per request.
fn etag(pin: &Pin, file: &str, encoding: Option<&str>) -> String {
    let digest = Sha256::new()
        .chain_update(pin.integrity)
        .chain_update([0])
        .chain_update(file)
        .finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    match encoding {
        Some(e) => format!("\"{hex}-{e}\""),
        None => format!("\"{hex}\""),
    }
}

/// Whether `If-None-Match` names either representation of the file (weak comparison, as RFC
/// 9110 says for this header).
fn if_none_match(headers: &HeaderMap, pin: &Pin, file: &str) -> bool {
    let ours = [etag(pin, file, None), etag(pin, file, Some("gzip"))];
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || ours.iter().any(|o| o == t))
}

/// Whether `Accept-Encoding` allows gzip (listed without `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            coding.eq_ignore_ascii_case("gzip") && !refused
        })
}

fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next().unwrap_or_default() {
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "map" | "json" => "application/json",
        "svg" => "image/svg+xml",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "png" => "image/png",
        "wasm" => "application/wasm",
        "txt" | "md" | "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pinned version, naming and file a path asks for, or the status and code refusing it.
    type Parsed = Result<(&'static str, Naming, String), (StatusCode, &'static str)>;

    fn status(path: &str) -> Parsed {
        parse(path)
            .map(|r| (r.pin.version, r.naming, r.file))
            .map_err(|e| (e.status, e.code))
    }

    #[test]
    fn paths() {
        use Naming::*;
        let ok = |v: &'static str, n, f: &str| Ok((v, n, f.to_owned()));
        let pinned =
            |package: Package, major| package.pins().find(|p| p.major == major).unwrap().version;
        let (v6, v5, ui) = (
            pinned(Package::ClerkJs, 6),
            pinned(Package::ClerkJs, 5),
            pinned(Package::Ui, 1),
        );
        let chunk = format!("vendors_clerk.browser_abc_{v6}.js");
        let exact = format!("/npm/@clerk/clerk-js@{v6}/dist/{chunk}");
        let rows: &[(&str, Parsed)] = &[
            (
                "/npm/@clerk/clerk-js@6/dist/clerk.browser.js",
                ok(v6, Floating, "clerk.browser.js"),
            ),
            (&exact, ok(v6, Exact, &chunk)),
            (
                "/npm/@clerk/clerk-js@%5E6.1/dist/clerk.browser.js",
                ok(v6, Floating, "clerk.browser.js"),
            ),
            (
                "/npm/%40clerk/clerk-js%406/dist/clerk.browser.js",
                ok(v6, Floating, "clerk.browser.js"),
            ),
            (
                "/npm/@clerk/ui@1/dist/ui.browser.js",
                ok(ui, Floating, "ui.browser.js"),
            ),
            (
                "/npm/@clerk/clerk-js@5/dist/clerk.browser.js",
                ok(v5, Floating, "clerk.browser.js"),
            ),
            (
                "/npm/@clerk/clerk-js@7/dist/clerk.browser.js",
                Err((StatusCode::NOT_FOUND, "bundle_version_not_served")),
            ),
            (
                "/npm/@clerk/clerk-js@latest/dist/clerk.browser.js",
                Err((StatusCode::NOT_FOUND, "bundle_version_not_served")),
            ),
            (
                "/npm/@clerk/ui@6/dist/ui.browser.js",
                Err((StatusCode::NOT_FOUND, "bundle_version_not_served")),
            ),
            (
                "/npm/@clerk/clerk-js@6..0/dist/clerk.browser.js",
                Err((StatusCode::BAD_REQUEST, "bundle_version_invalid")),
            ),
            (
                "/npm/@clerk/nextjs@7/dist/index.js",
                Err((StatusCode::NOT_FOUND, "bundle_package_not_served")),
            ),
            (
                "/npm/@clerk/clerk-js/dist/clerk.browser.js",
                Err((StatusCode::NOT_FOUND, "bundle_version_missing")),
            ),
            (
                "/npm/react@18/dist/react.js",
                Err((StatusCode::NOT_FOUND, "resource_not_found")),
            ),
            (
                "/npm/@clerk/clerk-js@6/dist/types/index.d.ts",
                Err((StatusCode::NOT_FOUND, "resource_not_found")),
            ),
            (
                "/npm/@clerk/clerk-js@6/dist/../integrity",
                Err((StatusCode::NOT_FOUND, "resource_not_found")),
            ),
            (
                "/npm/@clerk/clerk-js@6/dist/..",
                Err((StatusCode::BAD_REQUEST, "bundle_path_invalid")),
            ),
            (
                "/npm/@clerk/clerk-js@6/dist/%2e%2e",
                Err((StatusCode::BAD_REQUEST, "bundle_path_invalid")),
            ),
            (
                "/npm/@clerk/clerk-js@6/dist/..%2fintegrity",
                Err((StatusCode::BAD_REQUEST, "bundle_path_invalid")),
            ),
            (
                "/npm/@clerk/clerk-js@6/dist/..%5Cintegrity",
                Err((StatusCode::BAD_REQUEST, "bundle_path_invalid")),
            ),
            (
                "/npm/@clerk/clerk-js@6/dist/a%00.js",
                Err((StatusCode::BAD_REQUEST, "bundle_path_invalid")),
            ),
            (
                "/npm/@clerk/clerk-js@6/dist/%ff.js",
                Err((StatusCode::BAD_REQUEST, "bundle_path_invalid")),
            ),
            (
                "/npm/@clerk/clerk-js@6/dist/",
                Err((StatusCode::BAD_REQUEST, "bundle_path_invalid")),
            ),
            (
                "/npm/@clerk/clerk-js@6/dist/.integrity",
                Err((StatusCode::BAD_REQUEST, "bundle_path_invalid")),
            ),
            (
                "/npm/@clerk/clerk-js@6%2f..%2f..%2fx/dist/clerk.browser.js",
                Err((StatusCode::BAD_REQUEST, "bundle_path_invalid")),
            ),
            (
                "/npm/@clerk/clerk-js@6/gzip/clerk.browser.js.gz",
                Err((StatusCode::NOT_FOUND, "resource_not_found")),
            ),
        ];
        for (path, expected) in rows {
            assert_eq!(&status(path), expected, "{path}");
        }
    }

    #[test]
    fn gzip_negotiation() {
        let check = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepts_gzip(&h)
        };
        assert!(check("gzip, deflate, br, zstd"));
        assert!(check("br;q=1.0, gzip;q=0.8"));
        assert!(check("GZIP"));
        assert!(!check("gzip;q=0"));
        assert!(!check("br, identity"));
        assert!(!check("x-gzip-not"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
