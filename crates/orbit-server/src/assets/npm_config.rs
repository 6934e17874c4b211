//! Which npm registry the browser bundles come from when `npm_registry` is not set: the one npm
//! itself is configured with, so that Orbit names no registry of its own
//! (docs/design/browser-bundles.md "Which registry"). In npm's order of precedence, as far as it
//! concerns a user: the `npm_config_registry` environment variable, the `registry=` line of
//! `~/.npmrc`, then whatever `npm config get registry` answers (npm's global configuration and
//! its built-in default live there).

use super::npm::Registry;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long `npm config get registry` may take; it answers in about 0.3 s. Bounded because a
/// request for a bundle may be waiting on it.
const NPM_TIMEOUT: Duration = Duration::from_secs(5);

/// The environment variables npm reads the registry from, in the order they are looked at (npm
/// matches `npm_config_*` without regard to case).
const REGISTRY_VARS: [&str; 2] = ["npm_config_registry", "NPM_CONFIG_REGISTRY"];

/// The environment npm's configuration is read in: this process's, or (tests) exactly the given
/// variables, for the lookups and for the `npm` child alike.
#[derive(Clone, Default)]
pub struct NpmEnvironment {
    only: Option<Vec<(OsString, OsString)>>,
}

impl NpmEnvironment {
    /// This process's environment, read when the registry is looked up.
    pub fn inherited() -> Self {
        NpmEnvironment { only: None }
    }

    /// Only these variables (`HOME`, `PATH`, ...), nothing of this process's.
    pub fn only<K: AsRef<OsStr>, V: AsRef<OsStr>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        NpmEnvironment {
            only: Some(
                vars.into_iter()
                    .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
                    .collect(),
            ),
        }
    }

    /// A variable's value; an empty one counts as unset, as npm counts it.
    fn var(&self, name: &str) -> Option<OsString> {
        let value = match &self.only {
            None => std::env::var_os(name),
            Some(vars) => vars
                .iter()
                .find(|(k, _)| k.as_os_str() == name)
                .map(|(_, v)| v.clone()),
        };
        value.filter(|v| !v.is_empty())
    }
}

/// Where the registry came from; shown in the log, never with the registry's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryOrigin {
    /// `npm_registry` (`ORBIT_NPM_REGISTRY`, `--registry`).
    Configured,
    /// One of [`REGISTRY_VARS`].
    Environment(&'static str),
    /// The `registry=` line of this npmrc.
    Npmrc(PathBuf),
    /// `npm config get registry`, run with this npm.
    Npm(PathBuf),
}

impl fmt::Display for RegistryOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryOrigin::Configured => f.write_str("npm_registry"),
            RegistryOrigin::Environment(var) => write!(f, "the environment variable {var}"),
            RegistryOrigin::Npmrc(path) => write!(f, "the registry= line of {}", path.display()),
            RegistryOrigin::Npm(npm) => write!(f, "`npm config get registry` ({})", npm.display()),
        }
    }
}

/// A registry and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRegistry {
    pub registry: Registry,
    pub origin: RegistryOrigin,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum RegistryError {
    /// `looked_at` says what was tried and why it gave nothing, in order.
    #[error("no npm registry configured: set npm_registry (ORBIT_NPM_REGISTRY) to your npm registry's URL, e.g. the output of `npm config get registry`, or set assets_dir for an air-gapped install ({})", looked_at.join("; "))]
    NotConfigured { looked_at: Vec<String> },
    /// A source gave something that is not a registry URL. Not passed over for the next
    /// source: npm would use it too, so the user meant it.
    #[error("the npm registry from {origin} is not usable: {message}")]
    Invalid {
        origin: RegistryOrigin,
        message: String,
    },
}

/// The registry npm is configured with in `env` (see the module's comment for the order).
pub async fn resolve(env: &NpmEnvironment) -> Result<ResolvedRegistry, RegistryError> {
    let mut looked_at = Vec::new();
    for var in REGISTRY_VARS {
        if let Some(value) = env.var(var) {
            let origin = RegistryOrigin::Environment(var);
            return parse(&value.to_string_lossy(), origin);
        }
    }
    looked_at.push(format!("{}: not set", REGISTRY_VARS.join(", ")));

    match env.var("HOME") {
        None => looked_at.push("~/.npmrc: HOME is not set".to_owned()),
        Some(home) => {
            let path = Path::new(&home).join(".npmrc");
            match std::fs::read_to_string(&path) {
                Ok(text) => match npmrc_registry(&text, env) {
                    Ok(Some(value)) => return parse(&value, RegistryOrigin::Npmrc(path)),
                    Ok(None) => looked_at.push(format!("{}: no registry= line", path.display())),
                    Err(message) => {
                        return Err(RegistryError::Invalid {
                            origin: RegistryOrigin::Npmrc(path),
                            message,
                        })
                    }
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    looked_at.push(format!("{}: no such file", path.display()));
                }
                Err(e) => looked_at.push(format!("{}: {e}", path.display())),
            }
        }
    }

    match find_npm(env) {
        None => looked_at.push("npm: not on PATH".to_owned()),
        Some(npm) => match npm_config_get_registry(&npm, env).await {
            Ok(value) => return parse(&value, RegistryOrigin::Npm(npm)),
            Err(why) => looked_at.push(format!("{}: {why}", npm.display())),
        },
    }
    Err(RegistryError::NotConfigured { looked_at })
}

fn parse(value: &str, origin: RegistryOrigin) -> Result<ResolvedRegistry, RegistryError> {
    match Registry::parse(value) {
        Ok(registry) => Ok(ResolvedRegistry { registry, origin }),
        Err(message) => Err(RegistryError::Invalid { origin, message }),
    }
}

/// The value of the last top-level `registry=` line of an npmrc (ini: later keys win, keys under
/// a `[section]` are not top-level), unquoted, its comment cut off and `${VAR}` replaced from
/// the environment as npm does. Tokens and other settings in the file are never looked at.
fn npmrc_registry(text: &str, env: &NpmEnvironment) -> Result<Option<String>, String> {
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            break;
        }
        if line.starts_with([';', '#']) {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != "registry" {
            continue;
        }
        let value = value.trim();
        let unquoted = match value.as_bytes() {
            [b'"', .., b'"'] | [b'\'', .., b'\''] => &value[1..value.len() - 1],
            _ => value.split([';', '#']).next().unwrap_or_default().trim(),
        };
        found = Some(unquoted.to_owned());
    }
    found.map(|v| expand_env(&v, env)).transpose()
}

/// npm's `${NAME}` (an error when unset) and `${NAME?}` (empty when unset) in npmrc values.
fn expand_env(value: &str, env: &NpmEnvironment) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let (name, optional) = match after[..end].strip_suffix('?') {
            Some(name) => (name, true),
            None => (&after[..end], false),
        };
        match env.var(name) {
            Some(v) => out.push_str(&v.to_string_lossy()),
            None if optional => {}
            None => return Err(format!("${{{name}}} is used but {name} is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The first executable `npm` in `PATH`'s absolute directories: a relative entry (or an empty
/// one, meaning the working directory) never gets to pick the program Orbit runs.
fn find_npm(env: &NpmEnvironment) -> Option<PathBuf> {
    let path = env.var("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join("npm"))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// What `npm config get registry` prints, or why it printed nothing usable.
async fn npm_config_get_registry(npm: &Path, env: &NpmEnvironment) -> Result<String, String> {
    let mut command = tokio::process::Command::new(npm);
    command
        .args(["config", "get", "registry"])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(vars) = &env.only {
        command.env_clear().envs(vars.iter().cloned());
    }
    // npm would otherwise ask the registry whether a newer npm exists.
    command.env("npm_config_update_notifier", "false");
    let output = match tokio::time::timeout(NPM_TIMEOUT, command.output()).await {
        Err(_) => {
            return Err(format!(
                "`npm config get registry` did not answer within {} s",
                NPM_TIMEOUT.as_secs()
            ))
        }
        Ok(Err(e)) => return Err(format!("cannot run `npm config get registry`: {e}")),
        Ok(Ok(output)) => output,
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().map(str::trim).find(|l| !l.is_empty());
        let first: String = first.unwrap_or_default().chars().take(200).collect();
        return Err(format!(
            "`npm config get registry` failed ({}): {first}",
            output.status
        ));
    }
    let value = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if value.is_empty() || value == "undefined" {
        return Err("`npm config get registry` printed no registry".to_owned());
    }
    Ok(value)
}

/// `npm_registry`, or when it is not set the registry npm is configured with, looked up on first
/// need and then kept for the life of the process. A failed lookup is not kept: the next fetch
/// looks again, so fixing `~/.npmrc` needs no restart.
pub struct RegistrySetting {
    resolved: tokio::sync::OnceCell<ResolvedRegistry>,
    env: NpmEnvironment,
}

impl RegistrySetting {
    pub fn new(configured: Option<Registry>, env: NpmEnvironment) -> Self {
        let configured = configured.map(|registry| ResolvedRegistry {
            registry,
            origin: RegistryOrigin::Configured,
        });
        RegistrySetting {
            resolved: tokio::sync::OnceCell::new_with(configured),
            env,
        }
    }

    /// The registry, looked up now if it was not configured and not looked up before.
    pub async fn get(&self) -> Result<&ResolvedRegistry, RegistryError> {
        self.resolved
            .get_or_try_init(|| async {
                let resolved = resolve(&self.env).await?;
                tracing::info!(
                    registry = %resolved.registry,
                    from = %resolved.origin,
                    "npm registry for the browser bundles"
                );
                Ok(resolved)
            })
            .await
    }
}

impl fmt::Display for RegistrySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.resolved.get() {
            Some(r) => write!(f, "the registry {}", r.registry),
            None => f.write_str("the registry npm is configured with"),
        }
    }
}

impl fmt::Debug for RegistrySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The environment may hold secrets: never shown.
        write!(f, "RegistrySetting({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A program on the test process's PATH (the tests need npm and node, as `compat/node`
    /// does).
    fn on_path(program: &str) -> PathBuf {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("these tests need {program} on PATH (Node >= 20.9)"))
    }

    /// A temporary HOME (with `npmrc` as its `.npmrc`, if any), a PATH that holds only npm and
    /// node (or nothing), and npm's global configuration in a file of its own, which only npm
    /// reads: a registry found there came from `npm config get registry`.
    struct Machine {
        dir: tempfile::TempDir,
    }

    const FROM_NPM: &str = "http://127.0.0.1:9/from-npm-global-config/";

    impl Machine {
        fn new(npmrc: Option<&str>) -> Self {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir(dir.path().join("home")).unwrap();
            if let Some(text) = npmrc {
                std::fs::write(dir.path().join("home/.npmrc"), text).unwrap();
            }
            let bin = dir.path().join("bin");
            std::fs::create_dir(&bin).unwrap();
            for program in ["npm", "node"] {
                std::os::unix::fs::symlink(on_path(program), bin.join(program)).unwrap();
            }
            std::fs::create_dir(dir.path().join("empty-bin")).unwrap();
            std::fs::write(
                dir.path().join("global-npmrc"),
                format!("registry={FROM_NPM}\n"),
            )
            .unwrap();
            Machine { dir }
        }

        fn path(&self, name: &str) -> String {
            self.dir.path().join(name).to_str().unwrap().to_owned()
        }

        /// HOME, PATH (with npm or without) and `extra`.
        fn env(&self, npm: bool, extra: &[(&str, &str)]) -> NpmEnvironment {
            let bin = if npm { "bin" } else { "empty-bin" };
            let mut vars = vec![
                ("HOME".to_owned(), self.path("home")),
                ("PATH".to_owned(), self.path(bin)),
                (
                    "npm_config_globalconfig".to_owned(),
                    self.path("global-npmrc"),
                ),
            ];
            vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            NpmEnvironment::only(vars)
        }
    }

    fn run<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    /// One row: what the machine has, and the registry expected with where it came from.
    fn check(npmrc: Option<&str>, npm: bool, vars: &[(&str, &str)], url: &str, origin: &str) {
        let machine = Machine::new(npmrc);
        let env = machine.env(npm, vars);
        let resolved = run(resolve(&env)).unwrap_or_else(|e| panic!("{vars:?} {npmrc:?}: {e}"));
        assert_eq!(
            resolved.registry,
            Registry::parse(url).unwrap(),
            "{vars:?} {npmrc:?} npm: {npm}"
        );
        let expected_origin = match origin {
            "npmrc" => RegistryOrigin::Npmrc(machine.dir.path().join("home/.npmrc")),
            "npm" => RegistryOrigin::Npm(machine.dir.path().join("bin/npm")),
            var => {
                RegistryOrigin::Environment(REGISTRY_VARS.into_iter().find(|v| *v == var).unwrap())
            }
        };
        assert_eq!(resolved.origin, expected_origin, "{vars:?} {npmrc:?}");
    }

    const ENV_URL: &str = "http://127.0.0.1:9/from-env/";
    const NPMRC: &str = "; user config\nfund=false\nregistry = http://127.0.0.1:9/from-npmrc/\n";

    #[test]
    fn resolution_order() {
        // The environment variable beats ~/.npmrc and npm.
        check(
            Some(NPMRC),
            true,
            &[("npm_config_registry", ENV_URL)],
            ENV_URL,
            "npm_config_registry",
        );
        check(
            Some(NPMRC),
            true,
            &[("NPM_CONFIG_REGISTRY", ENV_URL)],
            ENV_URL,
            "NPM_CONFIG_REGISTRY",
        );
        check(
            None,
            false,
            &[
                ("npm_config_registry", ENV_URL),
                ("NPM_CONFIG_REGISTRY", "http://127.0.0.1:9/upper/"),
            ],
            ENV_URL,
            "npm_config_registry",
        );
        // An empty variable is unset, as for npm.
        check(
            Some(NPMRC),
            true,
            &[("npm_config_registry", "")],
            "http://127.0.0.1:9/from-npmrc/",
            "npmrc",
        );
        // ~/.npmrc beats npm's global configuration.
        check(
            Some(NPMRC),
            true,
            &[],
            "http://127.0.0.1:9/from-npmrc/",
            "npmrc",
        );
        // npm answers from its global configuration, which Orbit does not read itself.
        check(
            Some("fund=false\n//127.0.0.1:9/:_authToken=t0ken\n"),
            true,
            &[],
            FROM_NPM,
            "npm",
        );
        check(None, true, &[], FROM_NPM, "npm");
    }

    #[test]
    fn npm_answers_with_its_built_in_default() {
        let machine = Machine::new(None);
        std::fs::remove_file(machine.path("global-npmrc")).unwrap();
        let resolved = run(resolve(&machine.env(true, &[]))).unwrap();
        assert_eq!(
            resolved.origin,
            RegistryOrigin::Npm(machine.dir.path().join("bin/npm"))
        );
        assert!(
            resolved.registry.to_string().starts_with("https://"),
            "{}",
            resolved.registry
        );
    }

    #[test]
    fn npmrc_lines() {
        let env = NpmEnvironment::only([("MIRROR", "npm.internal"), ("EMPTY", "")]);
        for (text, expected) in [
            ("registry=http://a/\n", Some("http://a/")),
            ("  registry  =  http://a/  \r\n", Some("http://a/")),
            ("registry=\"http://a/\"\n", Some("http://a/")),
            ("registry='http://a/'\n", Some("http://a/")),
            ("registry=http://a/ ; the mirror\n", Some("http://a/")),
            (
                "registry=http://a/\nregistry=http://b/\n",
                Some("http://b/"),
            ),
            ("; registry=http://a/\n# registry=http://b/\n", None),
            ("@clerk:registry=http://a/\n", None),
            ("//a/:_authToken=x\nalways-auth=true\n", None),
            ("[section]\nregistry=http://a/\n", None),
            (
                "registry=http://a/\n[section]\nregistry=http://b/\n",
                Some("http://a/"),
            ),
            (
                "registry=https://${MIRROR}/npm/\n",
                Some("https://npm.internal/npm/"),
            ),
            ("registry=https://x${UNSET?}/\n", Some("https://x/")),
            ("registry=https://x${EMPTY?}/\n", Some("https://x/")),
            ("", None),
        ] {
            assert_eq!(
                npmrc_registry(text, &env).unwrap().as_deref(),
                expected,
                "{text:?}"
            );
        }
        let e = npmrc_registry("registry=https://${UNSET}/\n", &env).unwrap_err();
        assert!(e.contains("UNSET is not set"), "{e}");
    }

    #[test]
    fn nothing_configured_is_an_error_saying_what_to_set() {
        let machine = Machine::new(Some("fund=false\n"));
        let e = run(resolve(&machine.env(false, &[]))).unwrap_err();
        let RegistryError::NotConfigured { looked_at } = &e else {
            panic!("{e}")
        };
        assert_eq!(looked_at.len(), 3, "{e}");
        let message = e.to_string();
        assert!(
            message.starts_with("no npm registry configured: set npm_registry (ORBIT_NPM_REGISTRY) to your npm registry's URL, e.g. the output of `npm config get registry`, or set assets_dir for an air-gapped install ("),
            "{message}"
        );
        for looked in [
            "npm_config_registry, NPM_CONFIG_REGISTRY: not set",
            &format!("{}: no registry= line", machine.path("home/.npmrc")),
            "npm: not on PATH",
        ] {
            assert!(message.contains(looked), "{looked}: {message}");
        }
        // Without a HOME and without a .npmrc.
        let bare = NpmEnvironment::only([("PATH", machine.path("empty-bin"))]);
        let e = run(resolve(&bare)).unwrap_err().to_string();
        assert!(e.contains("HOME is not set"), "{e}");
        let machine = Machine::new(None);
        let e = run(resolve(&machine.env(false, &[])))
            .unwrap_err()
            .to_string();
        assert!(e.contains(".npmrc: no such file"), "{e}");
        // A relative PATH entry holding npm is not used: no program from the working directory.
        let relative = NpmEnvironment::only([("HOME", machine.path("home"))]);
        assert!(find_npm(&relative).is_none());
        let cwd_relative = NpmEnvironment::only([("PATH", "bin:.")]);
        assert!(find_npm(&cwd_relative).is_none());
    }

    #[test]
    fn an_unusable_value_is_an_error_naming_its_source_and_not_its_password() {
        let machine = Machine::new(Some("registry=ftp://ci:s3cret@npm.internal/\n"));
        let e = run(resolve(&machine.env(true, &[]))).unwrap_err();
        assert!(
            matches!(
                &e,
                RegistryError::Invalid {
                    origin: RegistryOrigin::Npmrc(_),
                    ..
                }
            ),
            "{e}"
        );
        let message = e.to_string();
        assert!(
            message.contains(".npmrc") && message.contains("http(s)"),
            "{message}"
        );
        assert!(!message.contains("s3cret"), "{message}");
        let e = run(resolve(
            &machine.env(true, &[("npm_config_registry", "not a url")]),
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("npm_config_registry"), "{e}");
    }

    #[test]
    fn a_setting_resolves_once_and_shows_no_credentials() {
        let configured = Registry::parse("https://ci:s3cret@npm.internal/").unwrap();
        let setting = RegistrySetting::new(
            Some(configured.clone()),
            NpmEnvironment::only::<&str, &str>([]),
        );
        assert_eq!(setting.to_string(), "the registry https://***@npm.internal");
        let resolved = run(setting.get()).unwrap();
        assert_eq!(
            (resolved.registry.clone(), resolved.origin.clone()),
            (configured, RegistryOrigin::Configured)
        );

        let machine = Machine::new(Some(NPMRC));
        let setting = RegistrySetting::new(None, machine.env(false, &[]));
        assert_eq!(setting.to_string(), "the registry npm is configured with");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let first = rt.block_on(setting.get()).unwrap().clone();
        assert_eq!(first.registry.to_string(), "http://127.0.0.1:9/from-npmrc");
        // Kept: the file changing afterwards does not move it.
        std::fs::write(
            machine.path("home/.npmrc"),
            "registry=http://127.0.0.1:9/other/\n",
        )
        .unwrap();
        assert_eq!(rt.block_on(setting.get()).unwrap(), &first);
        assert!(format!("{setting:?}").contains("from-npmrc"));

        // A failed lookup is not kept.
        let machine = Machine::new(None);
        let setting = RegistrySetting::new(None, machine.env(false, &[]));
        assert!(rt.block_on(setting.get()).is_err());
        std::fs::write(machine.path("home/.npmrc"), NPMRC).unwrap();
        let found = rt.block_on(setting.get()).unwrap();
        assert!(matches!(found.origin, RegistryOrigin::Npmrc(_)));
    }
}
