//! One typed configuration, loaded in layers: defaults < file < environment (`ORBIT_*`) <
//! command line; validated at start-up with errors that name the offending key.

use crate::assets::npm::{Registry, Source};
use crate::assets::npm_config::{NpmEnvironment, RegistrySetting};
use orbit_core::limits::SignInLimits;
use orbit_core::password::HashParams;
use orbit_core::{OrbitSettings, MINUTE, SECOND};
use orbit_storage::{DatabaseUrl, StoreSettings};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::mail::{Secret, SmtpConfig, SmtpTls};

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Address `orbit serve` listens on.
    pub listen: SocketAddr,
    /// `dashboard_listen`: a second address that serves the operator dashboard, and then the
    /// only one: the main listener answers `/dashboard` with 404 (docs/design/dashboard.md).
    /// `None`: the dashboard is served on the main listener, on the host of `public_url`.
    pub dashboard_listen: Option<SocketAddr>,
    /// Where the master key lives, and the SQLite database unless `database_url` says otherwise.
    pub data_dir: PathBuf,
    /// `database_url`: `sqlite://<path>` or `postgres://...`; `None`: `<data_dir>/orbit.db`.
    pub database_url: Option<DatabaseUrl>,
    /// `master_key_file`: the master key every node sharing the database reads (64 hex
    /// characters); `None`: `<data_dir>/master.key`, created on first start.
    pub master_key_file: Option<PathBuf>,
    /// `database_pool_size` and `database_statement_timeout_ms`.
    pub database: StoreSettings,
    /// Base URL browsers and apps use to reach this server (the default instance's FAPI URL and
    /// the base of the Backend API). Defaults to `http://<listen>`.
    pub public_url: Option<String>,
    /// Peers whose `X-Forwarded-For` / `X-Forwarded-Host` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Request bodies above this many bytes get 413.
    pub max_body_bytes: usize,
    pub password_hash: HashParams,
    pub limits: SignInLimits,
    /// `tracing` filter, e.g. `info` or `orbit_server=debug`.
    pub log: String,
    /// Primary domain of the development instance created in an empty data directory.
    pub dev_primary_domain: String,
    /// Where production satellites' `clerk.<domain>` CNAME records must point: this
    /// deployment's public FAPI host. Defaults to the host of `public_url`.
    pub cname_target: Option<String>,
    /// DNS servers for CNAME checks (`ip:port`); empty = the system's resolver configuration.
    pub dns_servers: Vec<SocketAddr>,
    pub dns_timeout_ms: u64,
    /// How long a client may take to send a request's headers before the connection closes.
    pub header_read_timeout_secs: u64,
    /// How often production satellites' DNS is checked (unverified ones to verify them,
    /// verified ones to notice a lapse); 0 turns the check off.
    pub dns_check_interval_secs: u64,
    /// A verified satellite whose DNS checks fail for this long is suspended.
    pub dns_recheck_grace_secs: u64,
    /// How often expired state (handshake state, failed sign-ins, idle development browsers and
    /// clients) is pruned; independent of the DNS check.
    pub housekeeping_interval_secs: u64,
    /// PEM certificate chain and private key: with both, `orbit serve` speaks https itself.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// The SMTP server that sign-up codes go through (`sign_up.email_verification`).
    pub smtp: SmtpConfig,
    /// The npm registry Clerk's browser bundles are fetched from (`orbit assets fetch`, and on
    /// first use) unless `assets_dir` is set. `None`: the registry npm is configured with,
    /// looked up when first needed (`assets::npm_config`).
    pub npm_registry: Option<Registry>,
    /// A directory of the pinned packages' tarballs as `npm pack` names them, for servers
    /// without access to a registry: when set, no registry is asked.
    pub assets_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 4000)),
            dashboard_listen: None,
            data_dir: PathBuf::from("orbit-data"),
            database_url: None,
            master_key_file: None,
            database: StoreSettings::default(),
            public_url: None,
            trusted_proxies: Vec::new(),
            max_body_bytes: 64 * 1024,
            password_hash: HashParams::default(),
            limits: SignInLimits::default(),
            log: "info".into(),
            dev_primary_domain: "localhost:3000".into(),
            cname_target: None,
            dns_servers: Vec::new(),
            dns_timeout_ms: 3000,
            header_read_timeout_secs: 10,
            dns_check_interval_secs: 300,
            dns_recheck_grace_secs: 72 * 3600,
            housekeeping_interval_secs: 60,
            tls_cert: None,
            tls_key: None,
            smtp: SmtpConfig::default(),
            npm_registry: None,
            assets_dir: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

pub(crate) fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// The file and environment layers: every key optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    pub listen: Option<String>,
    pub dashboard_listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub master_key_file: Option<PathBuf>,
    pub database_pool_size: Option<u32>,
    pub database_statement_timeout_ms: Option<u64>,
    pub public_url: Option<String>,
    pub trusted_proxies: Option<Vec<String>>,
    pub max_body_bytes: Option<usize>,
    pub argon2_memory_kib: Option<u32>,
    pub argon2_iterations: Option<u32>,
    pub argon2_parallelism: Option<u32>,
    pub sign_in_per_ip_burst: Option<u32>,
    pub sign_in_per_ip_per_minute: Option<u32>,
    pub sign_in_per_instance_per_minute: Option<u32>,
    pub sign_in_per_account_burst: Option<u32>,
    pub sign_in_per_account_per_hour: Option<u32>,
    pub log: Option<String>,
    pub dev_primary_domain: Option<String>,
    pub cname_target: Option<String>,
    pub dns_servers: Option<Vec<String>>,
    pub dns_timeout_ms: Option<u64>,
    pub header_read_timeout_secs: Option<u64>,
    pub dns_check_interval_secs: Option<u64>,
    pub dns_recheck_grace_secs: Option<u64>,
    pub housekeeping_interval_secs: Option<u64>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub smtp_tls: Option<String>,
    pub smtp_from: Option<String>,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<Secret>,
    pub npm_registry: Option<String>,
    pub assets_dir: Option<PathBuf>,
}

/// Environment variable for each layer key: `ORBIT_` + upper-case key.
const ENV_KEYS: &[&str] = &[
    "listen",
    "dashboard_listen",
    "data_dir",
    "database_url",
    "master_key_file",
    "database_pool_size",
    "database_statement_timeout_ms",
    "public_url",
    "trusted_proxies",
    "max_body_bytes",
    "argon2_memory_kib",
    "argon2_iterations",
    "argon2_parallelism",
    "sign_in_per_ip_burst",
    "sign_in_per_ip_per_minute",
    "sign_in_per_instance_per_minute",
    "sign_in_per_account_burst",
    "sign_in_per_account_per_hour",
    "log",
    "dev_primary_domain",
    "cname_target",
    "dns_servers",
    "dns_timeout_ms",
    "header_read_timeout_secs",
    "dns_check_interval_secs",
    "dns_recheck_grace_secs",
    "housekeeping_interval_secs",
    "tls_cert",
    "tls_key",
    "smtp_host",
    "smtp_port",
    "smtp_tls",
    "smtp_from",
    "smtp_username",
    "smtp_password",
    "npm_registry",
    "assets_dir",
];

impl ConfigLayer {
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })
    }

    /// Reads `ORBIT_*` variables through `get` (so tests need not touch the process env).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut table = toml::Table::new();
        for key in ENV_KEYS {
            let var = format!("ORBIT_{}", key.to_ascii_uppercase());
            let Some(raw) = get(&var) else { continue };
            let value = match *key {
                "trusted_proxies" | "dns_servers" => toml::Value::Array(
                    raw.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| toml::Value::String(s.into()))
                        .collect(),
                ),
                k if k.starts_with("argon2_")
                    || k.starts_with("sign_in_")
                    || matches!(
                        k,
                        "max_body_bytes"
                            | "database_pool_size"
                            | "database_statement_timeout_ms"
                            | "dns_timeout_ms"
                            | "dns_check_interval_secs"
                            | "dns_recheck_grace_secs"
                            | "housekeeping_interval_secs"
                            | "header_read_timeout_secs"
                            | "smtp_port"
                    ) =>
                {
                    let n: i64 = raw.trim().parse().map_err(|_| {
                        invalid(&var, format!("expected a whole number, got {raw:?}"))
                    })?;
                    toml::Value::Integer(n)
                }
                _ => toml::Value::String(raw),
            };
            table.insert((*key).to_owned(), value);
        }
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| invalid("ORBIT_*", e.to_string()))
    }

    /// Applies this layer over `config`.
    pub fn apply(self, config: &mut Config) -> Result<(), ConfigError> {
        if let Some(v) = self.listen {
            config.listen = v.parse().map_err(|_| {
                invalid(
                    "listen",
                    format!("{v:?} is not an address like 127.0.0.1:4000"),
                )
            })?;
        }
        if let Some(v) = self.dashboard_listen {
            config.dashboard_listen = Some(v.parse().map_err(|_| {
                invalid(
                    "dashboard_listen",
                    format!("{v:?} is not an address like 127.0.0.1:4001"),
                )
            })?);
        }
        if let Some(v) = self.data_dir {
            config.data_dir = v;
        }
        if let Some(v) = self.database_url {
            let url = DatabaseUrl::parse(&v).map_err(|e| invalid("database_url", e))?;
            config.database_url = Some(url);
        }
        if let Some(v) = self.master_key_file {
            config.master_key_file = Some(v);
        }
        if let Some(v) = self.database_pool_size {
            config.database.pool_size = Some(v);
        }
        if let Some(v) = self.database_statement_timeout_ms {
            config.database.statement_timeout = std::time::Duration::from_millis(v);
        }
        if let Some(v) = self.public_url {
            config.public_url = Some(v);
        }
        if let Some(v) = self.trusted_proxies {
            config.trusted_proxies = v
                .iter()
                .map(|s| {
                    s.parse().map_err(|_| {
                        invalid("trusted_proxies", format!("{s:?} is not an IP address"))
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = self.max_body_bytes {
            config.max_body_bytes = v;
        }
        if let Some(v) = self.argon2_memory_kib {
            config.password_hash.memory_kib = v;
        }
        if let Some(v) = self.argon2_iterations {
            config.password_hash.iterations = v;
        }
        if let Some(v) = self.argon2_parallelism {
            config.password_hash.parallelism = v;
        }
        if let Some(v) = self.sign_in_per_ip_burst {
            config.limits.per_ip_burst = v;
        }
        if let Some(v) = self.sign_in_per_ip_per_minute {
            config.limits.per_ip_per_minute = v;
        }
        if let Some(v) = self.sign_in_per_instance_per_minute {
            config.limits.per_instance_per_minute = v;
        }
        if let Some(v) = self.sign_in_per_account_burst {
            config.limits.per_account_burst = v;
        }
        if let Some(v) = self.sign_in_per_account_per_hour {
            config.limits.per_account_per_hour = v;
        }
        if let Some(v) = self.log {
            config.log = v;
        }
        if let Some(v) = self.dev_primary_domain {
            config.dev_primary_domain = v;
        }
        if let Some(v) = self.cname_target {
            config.cname_target = Some(v);
        }
        if let Some(v) = self.dns_servers {
            config.dns_servers = v
                .iter()
                .map(|s| {
                    s.parse::<SocketAddr>()
                        .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                        .map_err(|_| {
                            invalid(
                                "dns_servers",
                                format!("{s:?} is not an IP address or ip:port"),
                            )
                        })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = self.dns_timeout_ms {
            config.dns_timeout_ms = v;
        }
        if let Some(v) = self.header_read_timeout_secs {
            config.header_read_timeout_secs = v;
        }
        if let Some(v) = self.dns_check_interval_secs {
            config.dns_check_interval_secs = v;
        }
        if let Some(v) = self.dns_recheck_grace_secs {
            config.dns_recheck_grace_secs = v;
        }
        if let Some(v) = self.housekeeping_interval_secs {
            config.housekeeping_interval_secs = v;
        }
        if let Some(v) = self.tls_cert {
            config.tls_cert = Some(v);
        }
        if let Some(v) = self.tls_key {
            config.tls_key = Some(v);
        }
        if let Some(v) = self.smtp_host {
            config.smtp.host = Some(v);
        }
        if let Some(v) = self.smtp_port {
            config.smtp.port = Some(v);
        }
        if let Some(v) = self.smtp_tls {
            config.smtp.tls = match v.as_str() {
                "none" => SmtpTls::None,
                "starttls" => SmtpTls::StartTls,
                "tls" => SmtpTls::Tls,
                _ => {
                    return Err(invalid(
                        "smtp_tls",
                        format!("{v:?}: use none, starttls or tls"),
                    ))
                }
            };
        }
        if let Some(v) = self.smtp_from {
            config.smtp.from = Some(v);
        }
        if let Some(v) = self.smtp_username {
            config.smtp.username = Some(v);
        }
        if let Some(v) = self.smtp_password {
            config.smtp.password = Some(v);
        }
        if let Some(v) = self.npm_registry {
            let registry = Registry::parse(&v).map_err(|e| invalid("npm_registry", e))?;
            config.npm_registry = Some(registry);
        }
        if let Some(v) = self.assets_dir {
            config.assets_dir = Some(v);
        }
        Ok(())
    }
}

impl Config {
    /// defaults < `file` (if any) < environment < `flags`.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        flags: ConfigLayer,
    ) -> Result<Self, ConfigError> {
        let mut config = Config::default();
        if let Some(path) = file {
            ConfigLayer::from_file(path)?.apply(&mut config)?;
        }
        ConfigLayer::from_env(env)?.apply(&mut config)?;
        flags.apply(&mut config)?;
        config.validate()?;
        Ok(config)
    }

    /// How long a client may take to send a request's headers (`header_read_timeout_secs`).
    pub fn header_read_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.header_read_timeout_secs)
    }

    /// A configuration for tests: an ephemeral port, cheap password hashing, generous limits.
    pub fn for_test(data_dir: &Path) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_path_buf(),
            password_hash: HashParams {
                memory_kib: 256,
                iterations: 1,
                parallelism: 1,
            },
            log: "warn".into(),
            ..Config::default()
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self
            .dashboard_listen
            .is_some_and(|d| d == self.listen && d.port() != 0)
        {
            return Err(invalid(
                "dashboard_listen",
                format!(
                    "{} is the main listen address; give the dashboard another one, or leave dashboard_listen unset to serve it on the main one",
                    self.listen
                ),
            ));
        }
        if self.max_body_bytes < 1024 {
            return Err(invalid("max_body_bytes", "must be at least 1024"));
        }
        let h = self.password_hash;
        argon2::Params::new(h.memory_kib, h.iterations, h.parallelism, None).map_err(|e| {
            invalid(
                "argon2_memory_kib/argon2_iterations/argon2_parallelism",
                e.to_string(),
            )
        })?;
        if self.limits.per_account_per_hour == 0 {
            return Err(invalid(
                "sign_in_per_account_per_hour",
                "must be at least 1",
            ));
        }
        if self.limits.per_ip_per_minute == 0 {
            return Err(invalid("sign_in_per_ip_per_minute", "must be at least 1"));
        }
        if self.limits.per_instance_per_minute == 0 {
            return Err(invalid(
                "sign_in_per_instance_per_minute",
                "must be at least 1",
            ));
        }
        if let Some(u) = &self.public_url {
            let parsed =
                url::Url::parse(u).map_err(|e| invalid("public_url", format!("{u:?}: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(invalid(
                    "public_url",
                    format!("{u:?} must be an http(s) URL with a host"),
                ));
            }
            if parsed.path() != "/" || parsed.query().is_some() {
                return Err(invalid(
                    "public_url",
                    format!("{u:?} must not have a path or query"),
                ));
            }
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(invalid(
                "tls_cert/tls_key",
                "give both the certificate and the key, or neither",
            ));
        }
        for (key, path) in [("tls_cert", &self.tls_cert), ("tls_key", &self.tls_key)] {
            if let Some(p) = path {
                if !p.is_file() {
                    return Err(invalid(
                        key,
                        format!("{} is not a readable file", p.display()),
                    ));
                }
            }
        }
        if self.database.pool_size == Some(0) {
            return Err(invalid("database_pool_size", "must be at least 1"));
        }
        if self.database.statement_timeout.is_zero() {
            return Err(invalid(
                "database_statement_timeout_ms",
                "must be at least 1",
            ));
        }
        if self.dns_timeout_ms == 0 {
            return Err(invalid("dns_timeout_ms", "must be at least 1"));
        }
        if self.housekeeping_interval_secs == 0 {
            return Err(invalid("housekeeping_interval_secs", "must be at least 1"));
        }
        if self.header_read_timeout_secs == 0 {
            return Err(invalid("header_read_timeout_secs", "must be at least 1"));
        }
        crate::mail::check(&self.smtp).map_err(|(key, message)| invalid(key, message))?;
        if let Some(dir) = &self.assets_dir {
            if !dir.is_dir() {
                return Err(invalid(
                    "assets_dir",
                    format!(
                        "{} is not a directory; it should hold the tarballs `npm pack` writes (README \"Browser bundles\")",
                        dir.display()
                    ),
                ));
            }
        }
        if self.dev_primary_domain.trim().is_empty() || self.dev_primary_domain.contains('/') {
            return Err(invalid(
                "dev_primary_domain",
                "a host with optional port, like localhost:3000",
            ));
        }
        Ok(())
    }

    pub fn orbit_settings(&self) -> OrbitSettings {
        OrbitSettings {
            hash_params: self.password_hash,
            sign_in_limits: self.limits,
            session_touch_interval: MINUTE,
            dns_recheck_grace: i64::try_from(self.dns_recheck_grace_secs)
                .unwrap_or(i64::MAX)
                .saturating_mul(SECOND),
            mail: crate::mail::transport(&self.smtp).ok().flatten(),
            ..OrbitSettings::default()
        }
    }

    /// Where Clerk's browser bundles come from: `assets_dir` when set, else `npm_registry`,
    /// else the registry npm is configured with in this process's environment (looked up on
    /// the first fetch, so that no start-up waits for npm).
    pub fn bundle_source(&self) -> Source {
        match &self.assets_dir {
            Some(dir) => Source::Directory(dir.clone()),
            None => Source::Registry(Arc::new(RegistrySetting::new(
                self.npm_registry.clone(),
                NpmEnvironment::inherited(),
            ))),
        }
    }

    /// The public base URL (no trailing slash), given the address actually bound.
    pub fn public_base(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None if self.tls_cert.is_some() => format!("https://{bound}"),
            None => format!("http://{bound}"),
        }
    }

    /// Where the dashboard is: on `dashboard_listen` once bound at `dashboard_bound`, else
    /// under the public base URL.
    pub fn dashboard_url(&self, public_base: &str, dashboard_bound: Option<SocketAddr>) -> String {
        match dashboard_bound {
            Some(bound) => {
                let scheme = if self.tls_cert.is_some() {
                    "https"
                } else {
                    "http"
                };
                format!("{scheme}://{bound}/dashboard")
            }
            None => format!("{public_base}/dashboard"),
        }
    }

    /// The CNAME target production satellites must point at.
    pub fn cname_target(&self, public_base: &str) -> String {
        self.cname_target.clone().unwrap_or_else(|| {
            url::Url::parse(public_base)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn layers_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("orbit.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:5000\"\nlog = \"debug\"\nmax_body_bytes = 2048\n",
        )
        .unwrap();
        let flags = ConfigLayer {
            log: Some("trace".into()),
            ..Default::default()
        };
        let c = Config::load(
            Some(&file),
            env(&[("ORBIT_LISTEN", "127.0.0.1:6000"), ("ORBIT_LOG", "warn")]),
            flags,
        )
        .unwrap();
        assert_eq!(c.listen.port(), 6000, "env beats file");
        assert_eq!(c.log, "trace", "flags beat env");
        assert_eq!(c.max_body_bytes, 2048, "file beats defaults");
        assert_eq!(c.data_dir, PathBuf::from("orbit-data"));
    }

    #[test]
    fn dashboard_listen() {
        let c = Config::load(None, env(&[]), ConfigLayer::default()).unwrap();
        assert_eq!(c.dashboard_listen, None, "the main listener serves it");
        let c = Config::load(
            None,
            env(&[("ORBIT_DASHBOARD_LISTEN", "127.0.0.1:4001")]),
            ConfigLayer::default(),
        )
        .unwrap();
        assert_eq!(c.dashboard_listen, Some("127.0.0.1:4001".parse().unwrap()));
        assert_eq!(
            c.dashboard_url("https://orbit.example.com", c.dashboard_listen),
            "http://127.0.0.1:4001/dashboard"
        );
        assert_eq!(
            c.dashboard_url("https://orbit.example.com", None),
            "https://orbit.example.com/dashboard"
        );
        for (value, says) in [
            ("nope", "not an address"),
            ("127.0.0.1:4000", "main listen"),
        ] {
            let e = Config::load(
                None,
                env(&[("ORBIT_DASHBOARD_LISTEN", value)]),
                ConfigLayer::default(),
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.starts_with("dashboard_listen:") && e.contains(says),
                "{e}"
            );
        }
    }

    #[test]
    fn errors_name_the_key() {
        let e = Config::load(
            None,
            env(&[("ORBIT_LISTEN", "nope")]),
            ConfigLayer::default(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("listen:"), "{e}");
        let e = Config::load(
            None,
            env(&[("ORBIT_MAX_BODY_BYTES", "x")]),
            ConfigLayer::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("ORBIT_MAX_BODY_BYTES"), "{e}");
        let e = Config::load(
            None,
            env(&[("ORBIT_PUBLIC_URL", "ftp://x")]),
            ConfigLayer::default(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("public_url:"), "{e}");
        let e = Config::load(
            None,
            env(&[("ORBIT_TRUSTED_PROXIES", "10.0.0.1, bad")]),
            ConfigLayer::default(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("trusted_proxies:"), "{e}");
        // A bucket that never refills has no interval to hold it to.
        let e = Config::load(
            None,
            env(&[("ORBIT_SIGN_IN_PER_IP_PER_MINUTE", "0")]),
            ConfigLayer::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("sign_in_per_ip_per_minute:"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("orbit.toml");
        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        let e = Config::load(Some(&file), env(&[]), ConfigLayer::default()).unwrap_err();
        assert!(e.to_string().contains("lisen"), "{e}");
    }

    #[test]
    fn database_settings() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load(None, env(&[]), ConfigLayer::default()).unwrap();
        assert_eq!(c.database_url, None, "orbit.db in the data directory");
        let file = dir.path().join("orbit.toml");
        std::fs::write(
            &file,
            "database_url = \"sqlite:///tmp/file.db\"\ndatabase_pool_size = 3\n",
        )
        .unwrap();
        let flags = ConfigLayer {
            database_url: Some("postgres://orbit@db.internal/orbit".into()),
            ..Default::default()
        };
        let c = Config::load(
            Some(&file),
            env(&[
                ("ORBIT_DATABASE_URL", "sqlite:///tmp/env.db"),
                ("ORBIT_DATABASE_STATEMENT_TIMEOUT_MS", "2500"),
            ]),
            flags,
        )
        .unwrap();
        assert_eq!(
            c.database_url,
            Some(DatabaseUrl::Postgres(
                "postgres://orbit@db.internal/orbit".into()
            )),
            "the flag beats the environment and the file"
        );
        assert_eq!(c.database.pool_size, Some(3));
        assert_eq!(c.database.statement_timeout.as_millis(), 2500);
        for (var, value, key) in [
            (
                "ORBIT_DATABASE_URL",
                "mysql://u:hunter2@db/x",
                "database_url:",
            ),
            (
                "ORBIT_DATABASE_URL",
                "postgres://u:hunter2@db:port/x",
                "database_url:",
            ),
            ("ORBIT_DATABASE_POOL_SIZE", "0", "database_pool_size:"),
            (
                "ORBIT_DATABASE_STATEMENT_TIMEOUT_MS",
                "0",
                "database_statement_timeout_ms:",
            ),
        ] {
            let e = Config::load(None, env(&[(var, value)]), ConfigLayer::default()).unwrap_err();
            assert!(e.to_string().starts_with(key), "{e}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn env_parses_lists_and_numbers() {
        let c = Config::load(
            None,
            env(&[
                ("ORBIT_TRUSTED_PROXIES", "10.0.0.1, ::1"),
                ("ORBIT_ARGON2_MEMORY_KIB", "8192"),
            ]),
            ConfigLayer::default(),
        )
        .unwrap();
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!(c.password_hash.memory_kib, 8192);
    }

    #[test]
    fn npm_registry_is_unset_unless_configured() {
        let c = Config::load(None, env(&[]), ConfigLayer::default()).unwrap();
        assert_eq!(c.npm_registry, None, "npm's own configuration decides");
        assert_eq!(
            c.bundle_source().to_string(),
            "the registry npm is configured with"
        );
        let flags = ConfigLayer {
            npm_registry: Some("https://npm.internal/flag/".into()),
            ..Default::default()
        };
        let c = Config::load(
            None,
            env(&[("ORBIT_NPM_REGISTRY", "https://npm.internal/env/")]),
            flags,
        )
        .unwrap();
        assert_eq!(
            c.npm_registry,
            Some(Registry::parse("https://npm.internal/flag/").unwrap()),
            "the flag beats the environment"
        );
        assert_eq!(
            c.bundle_source().to_string(),
            "the registry https://npm.internal/flag"
        );
        let e = Config::load(
            None,
            env(&[("ORBIT_NPM_REGISTRY", "ftp://ci:hunter2@npm.internal/")]),
            ConfigLayer::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("npm_registry:"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }
}
