//! The data directory: `master.key` (seals secrets at rest) unless `master_key_file` names the
//! key every node shares, and, unless `database_url` names another database, `orbit.db`
//! (SQLite).

use crate::config::Config;
use orbit_core::clock::{Clock, SystemClock};
use orbit_core::keys::MasterKey;
use orbit_core::random::{Random, SystemRandom};
use orbit_core::{Orbit, OrbitSettings};
use orbit_storage::DatabaseUrl;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const DB_FILE: &str = "orbit.db";
pub const MASTER_KEY_FILE: &str = "master.key";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("no Orbit data in {0}: start the server once with `orbit serve --data-dir {0}` to create it, or pass the right --data-dir")]
    Missing(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{setting} {}: {problem}", path.display())]
    MasterKey {
        /// `master_key_file`, or the data directory's `master.key`.
        setting: &'static str,
        path: PathBuf,
        problem: String,
    },
    #[error("database_url {url}: cannot open the database: {message}")]
    Store { url: String, message: String },
    #[error("{0}")]
    Core(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens the data directory and the configured database; with `create` (the server), makes
/// the directory (and a new master key) when absent and runs the database's background work,
/// which a short CLI command leaves to the server.
pub async fn open(
    config: &Config,
    create: bool,
    settings: OrbitSettings,
) -> Result<Arc<Orbit>, DataDirError> {
    open_with(
        config,
        create,
        settings,
        Arc::new(SystemClock),
        Arc::new(SystemRandom),
    )
    .await
}

/// Like `open`, with the clock and the randomness the `Orbit` (and a new master key) use.
pub async fn open_with(
    config: &Config,
    create: bool,
    settings: OrbitSettings,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
) -> Result<Arc<Orbit>, DataDirError> {
    let dir = config.data_dir.as_path();
    let url = database_url(config);
    let key_path = dir.join(MASTER_KEY_FILE);
    let initialised = (config.master_key_file.is_some() || key_path.exists())
        && match &url {
            DatabaseUrl::Sqlite(file) => file.exists(),
            DatabaseUrl::Postgres(_) => true,
        };
    if !create && !initialised {
        return Err(DataDirError::Missing(dir.to_path_buf()));
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let (master, setting, key_path) = match &config.master_key_file {
        Some(path) => (
            read_master_key(path, "master_key_file")?,
            "master_key_file",
            path,
        ),
        None => {
            let key = load_or_create_master_key(&key_path, random.as_ref())?;
            (key, "master key", &key_path)
        }
    };
    let store = orbit_storage::open(&url, config.database, create)
        .await
        .map_err(|e| DataDirError::Store {
            url: url.redacted(),
            message: e.to_string(),
        })?;
    let orbit = Orbit::new(store, clock, random, master, settings)
        .map_err(|e| DataDirError::Core(e.to_string()))?;
    // A wrong key would otherwise surface as 500s on the first token mint.
    let opens = orbit
        .master_key_opens_the_database()
        .await
        .map_err(|e| DataDirError::Store {
            url: url.redacted(),
            message: format!("reading a sealed key to check the {setting}: {e}"),
        })?;
    if !opens {
        return Err(DataDirError::MasterKey {
            setting,
            path: key_path.clone(),
            problem: format!(
                "this key does not open the keys sealed in the database ({}); every node must read the key the database was created with (set master_key_file to it)",
                url.redacted()
            ),
        });
    }
    Ok(Arc::new(orbit))
}

/// The database: `database_url`, or `orbit.db` in the data directory.
pub fn database_url(config: &Config) -> DatabaseUrl {
    config
        .database_url
        .clone()
        .unwrap_or_else(|| DatabaseUrl::Sqlite(config.data_dir.join(DB_FILE)))
}

fn load_or_create_master_key(path: &Path, random: &dyn Random) -> Result<MasterKey, DataDirError> {
    if !path.exists() {
        let key = MasterKey::generate(random);
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        create_whole(path, &format!("{hex}\n"), random)?;
    }
    read_master_key(path, "master key")
}

/// Reads a master key file: 64 hex characters (32 bytes), surrounding whitespace ignored.
/// Errors name `setting` and the file.
fn read_master_key(path: &Path, setting: &'static str) -> Result<MasterKey, DataDirError> {
    let bad = |problem: String| DataDirError::MasterKey {
        setting,
        path: path.to_path_buf(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let text = text.trim();
    if text.len() != 64 {
        return Err(bad(format!(
            "expected 64 hex characters, found {}",
            text.chars().count()
        )));
    }
    let not_hex = || bad("expected 64 hex characters (0-9, a-f), found others".into());
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_hex());
    }
    let bytes: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| not_hex())?;
    MasterKey::from_bytes(&bytes).map_err(|e| bad(e.to_string()))
}

/// Creates `path` with `contents` unless it exists, so that it appears whole or not at all: of
/// two processes starting on one fresh data directory, the first key written is the one both
/// read (written aside, then hard-linked into place, which fails if the name is taken).
fn create_whole(path: &Path, contents: &str, random: &dyn Random) -> Result<(), DataDirError> {
    let aside = path.with_extension(format!("tmp-{}", random.token(8)));
    write_private(&aside, contents)?;
    let linked = std::fs::hard_link(&aside, path);
    let _ = std::fs::remove_file(&aside);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io(path)(e)),
    }
}

/// Writes a new file readable by its owner only.
fn write_private(path: &Path, contents: &str) -> Result<(), DataDirError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(contents.as_bytes()).map_err(io(path))
}
