//! Getting a pinned package into the cache: from the npm registry or from a directory of
//! tarballs (`assets_dir`), checked against the pinned sha512 integrity before anything is
//! unpacked, unpacked (the flat files of `package/dist/` only, no links, no `..`) into a
//! temporary directory and renamed into place, so the cache holds a verified package or nothing
//! (docs/design/browser-bundles.md "Fetching"). Used by `orbit assets fetch` and by the server
//! on first use; it knows nothing of HTTP serving.

use super::npm_config::{RegistryError, RegistrySetting};
use super::pins::Pin;
use base64::Engine;
use sha2::{Digest, Sha512};
use std::fmt;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Larger downloads are cut off: the pinned tarballs are under 8 MiB.
const MAX_TARBALL_BYTES: u64 = 64 * 1024 * 1024;
/// What one package may unpack to; the pinned ones unpack to at most 20 MiB.
const MAX_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// The file in a cached package's directory that says which tarball it was unpacked from.
const INTEGRITY_FILE: &str = "integrity";

/// Where packages come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// An npm registry: `npm_registry`, else the one npm is configured with.
    Registry(Arc<RegistrySetting>),
    /// A directory of tarballs named as `npm pack` names them (`assets_dir`); no network.
    Directory(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Registry(r) => r.fmt(f),
            Source::Directory(d) => write!(f, "assets_dir {}", d.display()),
        }
    }
}

/// An npm registry's base URL. Shown without any user name or password it carries.
#[derive(Clone, PartialEq, Eq)]
pub struct Registry(url::Url);

impl Registry {
    /// An http(s) URL without query or fragment, e.g. what `npm config get registry` prints
    /// or a mirror's `https://npm.internal/repository/npm/`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let url = url::Url::parse(s.trim()).map_err(|e| format!("{:?}: {e}", redact(s)))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!("{:?} must be an http(s) URL", redact(s)));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("{:?} must not have a query or fragment", redact(s)));
        }
        Ok(Registry(url))
    }

    /// Where the registry keeps `pin`'s tarball by convention (its version document names
    /// the actual place).
    pub fn tarball_url(&self, pin: &Pin) -> String {
        self.join(&pin.tarball_path())
    }

    /// `<base>/<path>`, whether or not the base ends with a slash.
    fn join(&self, path: &str) -> String {
        format!("{}/{path}", self.0.as_str().trim_end_matches('/'))
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(redact(self.0.as_str()).trim_end_matches('/'))
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Registry({self})")
    }
}

/// `url` with any user name and password replaced by `***`.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("***");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{pin}: {source}")]
    NoRegistry { pin: String, source: RegistryError },
    #[error("{pin}: fetching {url} failed: {message}")]
    Registry {
        pin: String,
        url: String,
        message: String,
    },
    #[error("{pin}: the registry {registry} publishes the integrity {published}, but Orbit pins {pinned}; refusing it (a different tarball is published under this version, or this is not a mirror of the npm registry)")]
    PublishedIntegrity {
        pin: String,
        registry: String,
        published: String,
        pinned: String,
    },
    #[error("{pin}: the tarball from {from} has the integrity {actual}, but Orbit pins {expected}; refusing it, nothing was installed")]
    Integrity {
        pin: String,
        from: String,
        expected: String,
        actual: String,
    },
    #[error("{pin}: {} is missing; on a machine with npm and network access run `npm pack {pin}`, copy the {} it writes into assets_dir, and try again", path.display(), file)]
    MissingTarball {
        pin: String,
        path: PathBuf,
        file: String,
    },
    #[error("{pin}: refusing the tarball: entry {entry:?} {reason}")]
    UnsafeEntry {
        pin: String,
        entry: String,
        reason: &'static str,
    },
    #[error("{pin}: the tarball is not what was pinned: {problem}")]
    Malformed { pin: String, problem: String },
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + '_ {
    move |source| FetchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A step of an install, for progress output.
#[derive(Debug)]
pub enum Step<'a> {
    /// Downloading the tarball from this URL.
    Downloading { url: &'a str },
    /// Reading the tarball from assets_dir.
    Reading { path: &'a Path },
    /// The tarball matched the pinned integrity.
    Verified { bytes: u64 },
    /// The browser files are in the cache.
    Installed { files: usize, bytes: u64 },
}

impl fmt::Display for Step<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Downloading { url } => write!(f, "downloading {}", redact(url)),
            Step::Reading { path } => write!(f, "reading {}", path.display()),
            Step::Verified { bytes } => write!(f, "{} verified (sha512)", size(*bytes)),
            Step::Installed { files, bytes } => {
                write!(f, "{files} files ({}) installed", size(*bytes))
            }
        }
    }
}

fn size(bytes: u64) -> String {
    // Display only.
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes as f64 / (1024.0 * 1024.0);
    format!("{mib:.1} MiB")
}

/// What an install did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The package was in the cache already: nothing was read or written.
    AlreadyCached,
    /// Fetched, verified and unpacked now.
    Installed { files: usize },
}

/// The cache of unpacked packages: `<data_dir>/assets/@clerk/clerk-js@6.40.0/` holding
/// `dist/<file>` (the package's flat `dist/` files as published), `gzip/<file>.gz` (their
/// gzip encodings, made once here) and `integrity` (the pin's integrity, written last).
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Cache {
            root: data_dir.join("assets"),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/@clerk/clerk-js@6.40.0`.
    pub fn dir(&self, pin: &Pin) -> PathBuf {
        self.root
            .join(format!("{}@{}", pin.package.name(), pin.version))
    }

    /// Where a cached package's browser files are.
    pub fn dist(&self, pin: &Pin) -> PathBuf {
        self.dir(pin).join("dist")
    }

    /// Where a cached package's gzip encodings are (`<file>.gz`).
    pub fn gzip(&self, pin: &Pin) -> PathBuf {
        self.dir(pin).join("gzip")
    }

    /// Whether the pin is in the cache: its directory was renamed into place whole, with the
    /// pinned integrity written into it.
    pub fn is_installed(&self, pin: &Pin) -> bool {
        let dir = self.dir(pin);
        std::fs::read_to_string(dir.join(INTEGRITY_FILE)).is_ok_and(|s| s.trim() == pin.integrity)
            && dir.join("dist").join(pin.package.entry_file()).is_file()
    }

    /// Puts `pin` into the cache from `source` unless it is there already. Nothing is unpacked
    /// before the tarball's sha512 matches the pin; on any failure the cache is left as it was.
    pub async fn install(
        &self,
        pin: &'static Pin,
        source: &Source,
        progress: &mut (dyn FnMut(Step<'_>) + Send),
    ) -> Result<Outcome, FetchError> {
        if self.is_installed(pin) {
            return Ok(Outcome::AlreadyCached);
        }
        let parent = self
            .dir(pin)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.clone());
        std::fs::create_dir_all(&parent).map_err(io_at(&parent))?;
        // Removed when dropped, with whatever a failure left in it.
        let work = tempfile::Builder::new()
            .prefix(".fetch-")
            .tempdir_in(&self.root)
            .map_err(io_at(&self.root))?;
        let tarball = work.path().join("package.tgz");
        let (actual, bytes, from) = match source {
            Source::Registry(setting) => {
                let registry = &setting
                    .get()
                    .await
                    .map_err(|source| FetchError::NoRegistry {
                        pin: pin.id(),
                        source,
                    })?
                    .registry;
                download(registry, pin, &tarball, progress).await?
            }
            Source::Directory(dir) => copy_from_dir(dir, pin, &tarball, progress).await?,
        };
        if actual != pin.integrity {
            return Err(FetchError::Integrity {
                pin: pin.id(),
                from,
                expected: pin.integrity.to_owned(),
                actual,
            });
        }
        progress(Step::Verified { bytes });
        let staged = work.path().join("package");
        let unpacked = {
            let (tarball, staged) = (tarball.clone(), staged.clone());
            tokio::task::spawn_blocking(move || unpack(&tarball, &staged, pin))
                .await
                .map_err(|e| FetchError::Malformed {
                    pin: pin.id(),
                    problem: format!("unpacking stopped: {e}"),
                })??
        };
        let marker = staged.join(INTEGRITY_FILE);
        std::fs::write(&marker, format!("{}\n", pin.integrity)).map_err(io_at(&marker))?;
        self.put_in_place(pin, &staged, work.path())?;
        progress(Step::Installed {
            files: unpacked.files,
            bytes: unpacked.bytes,
        });
        Ok(Outcome::Installed {
            files: unpacked.files,
        })
    }

    /// Renames `staged` to the pin's directory. Another process that installed it meanwhile
    /// wins; a directory there that is not a whole install (no or another integrity) is moved
    /// aside into `work` first.
    fn put_in_place(&self, pin: &Pin, staged: &Path, work: &Path) -> Result<(), FetchError> {
        let target = self.dir(pin);
        match std::fs::rename(staged, &target) {
            Ok(()) => return Ok(()),
            Err(_) if self.is_installed(pin) => return Ok(()),
            Err(_) if !target.exists() => {}
            Err(_) => {
                let aside = work.join("replaced");
                std::fs::rename(&target, &aside).map_err(io_at(&target))?;
            }
        }
        std::fs::rename(staged, &target).map_err(io_at(&target))
    }
}

/// The registry's version document, of which only `dist` matters.
#[derive(serde::Deserialize)]
struct VersionDoc {
    dist: Dist,
}

#[derive(serde::Deserialize)]
struct Dist {
    integrity: Option<String>,
    tarball: Option<String>,
}

fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("orbit/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(error_chain)
}

/// `e` and its causes, without the URL reqwest puts in (it may carry credentials; callers name
/// the redacted URL themselves).
fn error_chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// Checks the registry's published integrity of `pin` against the pin, then downloads the
/// tarball into `to` while hashing it. Returns (sha512 SRI, bytes, where it came from).
async fn download(
    registry: &Registry,
    pin: &Pin,
    to: &Path,
    progress: &mut (dyn FnMut(Step<'_>) + Send),
) -> Result<(String, u64, String), FetchError> {
    let failed = |url: &str, message: String| FetchError::Registry {
        pin: pin.id(),
        url: redact(url),
        message,
    };
    let http = http_client().map_err(|m| failed(&registry.to_string(), m))?;
    // `@clerk%2fclerk-js/6.40.0`, as npm itself asks.
    let doc_url = registry.join(&format!(
        "{}/{}",
        pin.package.name().replace('/', "%2f"),
        pin.version
    ));
    let resp = http
        .get(&doc_url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| failed(&doc_url, error_chain(e)))?;
    if !resp.status().is_success() {
        return Err(failed(
            &doc_url,
            format!("the registry answered {}", resp.status()),
        ));
    }
    let doc: VersionDoc = resp.json().await.map_err(|e| {
        failed(
            &doc_url,
            format!("not a version document: {}", error_chain(e)),
        )
    })?;
    match doc.dist.integrity.as_deref() {
        Some(published) if published == pin.integrity => {}
        published => {
            return Err(FetchError::PublishedIntegrity {
                pin: pin.id(),
                registry: registry.to_string(),
                published: published.unwrap_or("(none)").to_owned(),
                pinned: pin.integrity.to_owned(),
            })
        }
    }
    // A mirror may serve tarballs elsewhere; the hash check below covers any URL.
    let tarball_url = match doc.dist.tarball {
        Some(u) if u.starts_with("https://") || u.starts_with("http://") => u,
        Some(u) => {
            return Err(failed(
                &doc_url,
                format!("dist.tarball {u:?} is not an http(s) URL"),
            ))
        }
        None => registry.tarball_url(pin),
    };
    progress(Step::Downloading { url: &tarball_url });
    let mut resp = http
        .get(&tarball_url)
        .send()
        .await
        .map_err(|e| failed(&tarball_url, error_chain(e)))?;
    if !resp.status().is_success() {
        return Err(failed(
            &tarball_url,
            format!("the registry answered {}", resp.status()),
        ));
    }
    let mut file = tokio::fs::File::create(to).await.map_err(io_at(to))?;
    let mut hasher = Sha512::new();
    let mut bytes = 0u64;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| failed(&tarball_url, error_chain(e)))?
    {
        bytes += chunk.len() as u64;
        if bytes > MAX_TARBALL_BYTES {
            return Err(failed(
                &tarball_url,
                format!("the tarball is larger than {}", size(MAX_TARBALL_BYTES)),
            ));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io_at(to))?;
    }
    file.flush().await.map_err(io_at(to))?;
    Ok((sri(hasher), bytes, redact(&tarball_url)))
}

/// Copies `<dir>/<npm pack name>` to `to` while hashing it (the copy is what gets unpacked, so
/// the file cannot change between the check and the unpacking).
async fn copy_from_dir(
    dir: &Path,
    pin: &Pin,
    to: &Path,
    progress: &mut (dyn FnMut(Step<'_>) + Send),
) -> Result<(String, u64, String), FetchError> {
    let path = dir.join(pin.tarball_name());
    if !path.is_file() {
        return Err(FetchError::MissingTarball {
            pin: pin.id(),
            path,
            file: pin.tarball_name(),
        });
    }
    progress(Step::Reading { path: &path });
    let (from, to_owned, pin_id) = (path.clone(), to.to_path_buf(), pin.id());
    let copied = tokio::task::spawn_blocking(move || -> Result<(String, u64), FetchError> {
        let mut input = std::fs::File::open(&from).map_err(io_at(&from))?;
        let mut output = std::fs::File::create(&to_owned).map_err(io_at(&to_owned))?;
        let mut hasher = Sha512::new();
        let mut bytes = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = input.read(&mut buf).map_err(io_at(&from))?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
            if bytes > MAX_TARBALL_BYTES {
                return Err(FetchError::Malformed {
                    pin: pin_id,
                    problem: format!(
                        "{} is larger than {}",
                        from.display(),
                        size(MAX_TARBALL_BYTES)
                    ),
                });
            }
            hasher.update(&buf[..n]);
            output.write_all(&buf[..n]).map_err(io_at(&to_owned))?;
        }
        Ok((sri(hasher), bytes))
    })
    .await
    .map_err(|e| FetchError::Malformed {
        pin: pin.id(),
        problem: format!("reading stopped: {e}"),
    })??;
    Ok((copied.0, copied.1, path.display().to_string()))
}

/// `sha512-<base64>`, npm's `dist.integrity` form.
fn sri(hasher: Sha512) -> String {
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(hasher.finalize())
    )
}

/// The sha512 integrity of `bytes`, as the registry publishes it.
pub fn integrity_of(bytes: &[u8]) -> String {
    let mut h = Sha512::new();
    h.update(bytes);
    sri(h)
}

/// Whether `name` may be a served file: one plain name (letters, digits, `.`, `_`, `-`), not
/// starting with a dot, at most 255 bytes. The unpacker and the URL parser share it, so any
/// file unpacked can be asked for and no name asked for can leave `dist/`.
pub fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Worth storing a gzip encoding for (text that browsers fetch).
fn compressible(name: &str) -> bool {
    let ext = name.rsplit('.').next().unwrap_or_default();
    matches!(
        ext,
        "js" | "mjs" | "cjs" | "css" | "map" | "json" | "svg" | "txt"
    )
}

struct Unpacked {
    files: usize,
    bytes: u64,
}

/// Why a tarball entry's path is refused, if it is: absolute, `..`, backslashes (a Windows
/// separator), or control characters.
fn unsafe_path(path: &str) -> Option<&'static str> {
    if path.starts_with('/') {
        Some("is an absolute path")
    } else if path.split('/').any(|c| c == "..") {
        Some("climbs out of the package with `..`")
    } else if path.contains('\\') {
        Some("contains a backslash")
    } else if path.chars().any(char::is_control) {
        Some("contains a control character")
    } else if path.split('/').next().is_some_and(|c| c.ends_with(':')) {
        Some("starts with a drive letter")
    } else {
        None
    }
}

/// Unpacks the flat files of `package/dist/` from the gzip'd tarball `tgz` into `<into>/dist`
/// (and their gzip encodings into `<into>/gzip`). Every entry of the tarball is checked, not
/// only those kept: links, devices, absolute paths and `..` refuse the whole tarball. Files in
/// subfolders of `dist/` (ES modules and type declarations for bundlers) are not kept: browsers
/// load the flat bundles and chunks only.
fn unpack(tgz: &Path, into: &Path, pin: &Pin) -> Result<Unpacked, FetchError> {
    let refuse = |entry: &str, reason| FetchError::UnsafeEntry {
        pin: pin.id(),
        entry: entry.to_owned(),
        reason,
    };
    let malformed = |problem: String| FetchError::Malformed {
        pin: pin.id(),
        problem,
    };
    let dist = into.join("dist");
    let gzip = into.join("gzip");
    for d in [&dist, &gzip] {
        std::fs::create_dir_all(d).map_err(io_at(d))?;
    }
    let file = std::fs::File::open(tgz).map_err(io_at(tgz))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
    let mut files = 0usize;
    let mut bytes = 0u64;
    let entries = archive
        .entries()
        .map_err(|e| malformed(format!("not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| malformed(format!("reading the archive: {e}")))?;
        let raw = entry.path_bytes().into_owned();
        let path = String::from_utf8_lossy(&raw).into_owned();
        if raw.contains(&0) || std::str::from_utf8(&raw).is_err() {
            return Err(refuse(&path, "is not a UTF-8 path"));
        }
        if let Some(reason) = unsafe_path(&path) {
            return Err(refuse(&path, reason));
        }
        match entry.header().entry_type() {
            tar::EntryType::Regular => {}
            tar::EntryType::Directory | tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => {
                continue
            }
            tar::EntryType::Symlink => return Err(refuse(&path, "is a symbolic link")),
            tar::EntryType::Link => return Err(refuse(&path, "is a hard link")),
            _ => return Err(refuse(&path, "is not a regular file")),
        }
        let Some(name) = path.strip_prefix("package/dist/") else {
            continue;
        };
        if name.contains('/') {
            continue;
        }
        if !is_plain_file_name(name) {
            return Err(refuse(&path, "is not a plain file name"));
        }
        bytes += entry.size();
        if bytes > MAX_UNPACKED_BYTES {
            return Err(malformed(format!(
                "dist/ unpacks to more than {}",
                size(MAX_UNPACKED_BYTES)
            )));
        }
        let target = dist.join(name);
        let mut out = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(refuse(&path, "appears twice"))
            }
            Err(e) => return Err(io_at(&target)(e)),
        };
        let mut content = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        entry
            .read_to_end(&mut content)
            .map_err(|e| malformed(format!("reading {path}: {e}")))?;
        out.write_all(&content).map_err(io_at(&target))?;
        if compressible(name) && content.len() >= 1024 {
            store_gzip(&gzip.join(format!("{name}.gz")), &content)?;
        }
        files += 1;
    }
    if !dist.join(pin.package.entry_file()).is_file() {
        return Err(malformed(format!(
            "it has no package/dist/{}",
            pin.package.entry_file()
        )));
    }
    Ok(Unpacked { files, bytes })
}

/// Writes the gzip encoding of `content` to `path` when it saves at least a tenth.
fn store_gzip(path: &Path, content: &[u8]) -> Result<(), FetchError> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(content).map_err(io_at(path))?;
    let gz = enc.finish().map_err(io_at(path))?;
    if gz.len() * 10 < content.len() * 9 {
        std::fs::write(path, gz).map_err(io_at(path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::pins::{Package, PINS};

    /// A pin whose integrity is that of `tgz`, for tarballs made in the test.
    fn pin_for(tgz: &[u8]) -> &'static Pin {
        Box::leak(Box::new(Pin {
            package: Package::ClerkJs,
            major: 6,
            version: "6.40.0",
            integrity: Box::leak(integrity_of(tgz).into_boxed_str()),
            loaded_by: "a test",
        }))
    }

    /// A gzip'd tarball of `entries`: (path, type, content or link target), headers written
    /// byte by byte so that paths the `tar` builder refuses can be made.
    fn tarball(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind, data) in entries {
            let mut header = tar::Header::new_old();
            {
                let name = &mut header.as_old_mut().name;
                name[..path.len()].copy_from_slice(path.as_bytes());
            }
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            if matches!(kind, tar::EntryType::Symlink | tar::EntryType::Link) {
                let link = &mut header.as_old_mut().linkname;
                link[..data.len()].copy_from_slice(data);
                header.set_size(0);
                header.set_cksum();
                builder.append(&header, std::io::empty()).unwrap();
            } else {
                header.set_size(data.len() as u64);
                header.set_cksum();
                builder.append(&header, *data).unwrap();
            }
        }
        let tar = builder.into_inner().unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&tar).unwrap();
        enc.finish().unwrap()
    }

    const JS: &[u8] = b"window.Clerk = {};\n";

    fn install(tgz: &[u8]) -> (tempfile::TempDir, Cache, Result<Outcome, FetchError>) {
        let pin = pin_for(tgz);
        let dir = tempfile::tempdir().unwrap();
        let npm = dir.path().join("npm");
        std::fs::create_dir(&npm).unwrap();
        std::fs::write(npm.join(pin.tarball_name()), tgz).unwrap();
        let cache = Cache::in_data_dir(&dir.path().join("data"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let result = rt.block_on(cache.install(pin, &Source::Directory(npm), &mut |_| {}));
        (dir, cache, result)
    }

    /// Nothing but the (empty) cache root and the `@clerk` folder: no package, no leftovers.
    fn assert_cache_empty(cache: &Cache) {
        let mut left = Vec::new();
        for entry in walk(cache.root()) {
            if entry != cache.root().join("@clerk") {
                left.push(entry);
            }
        }
        assert!(left.is_empty(), "left in the cache: {left:?}");
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).into_iter().flatten() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
        out
    }

    #[test]
    fn a_good_tarball_keeps_the_flat_dist_files() {
        let big = "console.log('chunk');\n".repeat(200);
        let tgz = tarball(&[
            ("package/", tar::EntryType::Directory, b""),
            ("package/package.json", tar::EntryType::Regular, b"{}"),
            ("package/dist/clerk.browser.js", tar::EntryType::Regular, JS),
            (
                "package/dist/vendors_clerk.browser_abc123_6.40.0.js",
                tar::EntryType::Regular,
                big.as_bytes(),
            ),
            (
                "package/dist/types/index.d.ts",
                tar::EntryType::Regular,
                b"x",
            ),
        ]);
        let (_dir, cache, result) = install(&tgz);
        let pin = pin_for(&tgz);
        assert_eq!(result.unwrap(), Outcome::Installed { files: 2 });
        let dist = cache.dist(pin);
        assert_eq!(std::fs::read(dist.join("clerk.browser.js")).unwrap(), JS);
        assert!(!dist.join("types").exists(), "subfolders are not kept");
        assert!(!cache.dir(pin).join("package.json").exists());
        let gz = std::fs::read(
            cache
                .gzip(pin)
                .join("vendors_clerk.browser_abc123_6.40.0.js.gz"),
        )
        .unwrap();
        let mut plain = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, big);
        assert!(
            !cache.gzip(pin).join("clerk.browser.js.gz").exists(),
            "tiny files are not worth an encoding"
        );
        assert!(cache.is_installed(pin));
        let leftovers: Vec<_> = std::fs::read_dir(cache.root())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("@clerk")]);
    }

    #[test]
    fn hostile_entries_refuse_the_whole_tarball() {
        let cases: &[(&str, tar::EntryType, &[u8], &str)] = &[
            (
                "package/dist/../../evil.js",
                tar::EntryType::Regular,
                JS,
                "climbs out",
            ),
            ("../evil.js", tar::EntryType::Regular, JS, "climbs out"),
            ("/etc/evil.js", tar::EntryType::Regular, JS, "absolute"),
            (
                "package/dist/..\\..\\evil.js",
                tar::EntryType::Regular,
                JS,
                "backslash",
            ),
            (
                "package/dist/link.js",
                tar::EntryType::Symlink,
                b"/etc/passwd",
                "symbolic link",
            ),
            (
                "package/README.md",
                tar::EntryType::Symlink,
                b"../../x",
                "symbolic link",
            ),
            (
                "package/dist/hard.js",
                tar::EntryType::Link,
                b"package/dist/clerk.browser.js",
                "hard link",
            ),
            (
                "package/dist/dev",
                tar::EntryType::Char,
                b"",
                "not a regular file",
            ),
            (
                "package/dist/fifo",
                tar::EntryType::Fifo,
                b"",
                "not a regular file",
            ),
            (
                "package/dist/a b.js",
                tar::EntryType::Regular,
                JS,
                "not a plain file name",
            ),
            (
                "package/dist/.hidden",
                tar::EntryType::Regular,
                JS,
                "not a plain file name",
            ),
            (
                "package/dist/clerk.browser.js",
                tar::EntryType::Regular,
                JS,
                "appears twice",
            ),
        ];
        for (path, kind, data, why) in cases {
            let tgz = tarball(&[
                ("package/dist/clerk.browser.js", tar::EntryType::Regular, JS),
                (path, *kind, data),
            ]);
            let (dir, cache, result) = install(&tgz);
            let err = result.expect_err(path).to_string();
            assert!(err.contains(why), "{path}: {err}");
            assert!(err.contains(&format!("{path:?}")), "{path}: {err}");
            assert_cache_empty(&cache);
            assert!(
                !dir.path().join("evil.js").exists() && !dir.path().join("data/evil.js").exists()
            );
        }
    }

    #[test]
    fn a_tarball_without_the_entry_script_is_refused() {
        let tgz = tarball(&[("package/dist/other.js", tar::EntryType::Regular, JS)]);
        let (_dir, cache, result) = install(&tgz);
        let err = result.unwrap_err().to_string();
        assert!(err.contains("no package/dist/clerk.browser.js"), "{err}");
        assert_cache_empty(&cache);
    }

    #[test]
    fn a_tarball_that_is_not_the_pinned_one_is_not_unpacked() {
        let tgz = tarball(&[("package/dist/clerk.browser.js", tar::EntryType::Regular, JS)]);
        let pin = &PINS[0];
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(pin.tarball_name()), &tgz).unwrap();
        let cache = Cache::in_data_dir(&dir.path().join("data"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt
            .block_on(cache.install(
                pin,
                &Source::Directory(dir.path().to_path_buf()),
                &mut |_| {},
            ))
            .unwrap_err()
            .to_string();
        assert!(err.contains(pin.integrity), "{err}");
        assert!(err.contains(&integrity_of(&tgz)), "{err}");
        assert!(err.contains(&pin.id()), "{err}");
        assert_cache_empty(&cache);
    }

    #[test]
    fn registry_urls_are_shown_without_credentials() {
        let r = Registry::parse("https://ci:s3cret@npm.internal/repo/").unwrap();
        assert!(!r.to_string().contains("s3cret"), "{r}");
        assert!(!format!("{r:?}").contains("s3cret"));
        assert_eq!(
            r.join("@clerk%2fclerk-js/6.40.0"),
            "https://ci:s3cret@npm.internal/repo/@clerk%2fclerk-js/6.40.0"
        );
        for bad in ["ftp://x", "not a url", "https://x/?q=1", "file:///tmp"] {
            assert!(Registry::parse(bad).is_err(), "{bad}");
        }
        let e = Registry::parse("ftp://u:s3cret@x").unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn plain_file_names() {
        for ok in [
            "clerk.browser.js",
            "vendors_clerk.browser_3f2a1b_6.40.0.js",
            "ui.browser.js.map",
            "a",
        ] {
            assert!(is_plain_file_name(ok), "{ok}");
        }
        let long = "a".repeat(256);
        for bad in [
            "", ".", "..", ".hidden", "a/b", "a\\b", "a\0b", "a b", "a%2fb", "é.js", &long,
        ] {
            assert!(!is_plain_file_name(bad), "{bad:?}");
        }
    }
}
