//! The `orbit` command line. Every subcommand has `--help`.

use crate::config::{Config, ConfigLayer};
use crate::data_dir;
use clap::{Args, Parser, Subcommand};
use orbit_core::model::Instance;
use orbit_core::{NewUser, Orbit};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "orbit",
    version,
    about = "Orbit: a self-hosted authentication server for apps that live on several domains."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Data directory holding orbit.db and master.key [env: ORBIT_DATA_DIR] [default: ./orbit-data]
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database: sqlite://<path> or postgres://user:password@host:port/database
    /// [env: ORBIT_DATABASE_URL] [default: sqlite://<data-dir>/orbit.db]
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// File holding the master key (64 hex characters) that every node sharing the database
    /// reads [env: ORBIT_MASTER_KEY_FILE] [default: <data-dir>/master.key]
    #[arg(long, global = true)]
    pub master_key_file: Option<PathBuf>,
    /// TOML configuration file (keys as in the README's configuration reference) [env: ORBIT_CONFIG]
    #[arg(long, global = true, env = "ORBIT_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server. In an empty data directory, first creates an application with a
    /// development instance and prints its keys.
    Serve(ServeArgs),
    /// Show or change an instance.
    #[command(subcommand)]
    Instance(InstanceCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the operators who sign in to the dashboard (/dashboard).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage an instance's domains: satellites and their DNS verification.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Move the data to another database (e.g. from SQLite to PostgreSQL).
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Clerk's browser bundles (clerk-js, @clerk/ui) that every Frontend API host serves.
    #[command(subcommand)]
    Assets(AssetsCommand),
}

#[derive(Debug, Subcommand)]
pub enum AssetsCommand {
    /// Download the pinned versions of @clerk/clerk-js and @clerk/ui from the npm registry (or
    /// read them from --assets-dir), check each tarball against the sha512 integrity pinned in
    /// Orbit, and unpack their browser files into <data-dir>/assets. Packages already there are
    /// left alone. Without it, the server fetches a missing package when a page first asks
    /// for it.
    Fetch {
        /// The npm registry (or a mirror of it) to download from [env: ORBIT_NPM_REGISTRY]
        /// [default: the registry npm is configured with (`npm config get registry`)]. Not used
        /// when assets_dir is set.
        #[arg(long, value_name = "URL")]
        registry: Option<String>,
        /// A directory holding the tarballs as `npm pack @clerk/clerk-js@<version>` writes them
        /// (clerk-clerk-js-<version>.tgz, clerk-ui-<version>.tgz), for servers without network
        /// access; no registry is asked [env: ORBIT_ASSETS_DIR]
        #[arg(long, value_name = "DIR")]
        assets_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Copy every instance (or one) with its users, sessions, clients, keys, domains and
    /// settings into another database, in one transaction. Run it with the --data-dir of the
    /// server that wrote the source: the copied keys stay sealed with its master.key, which the
    /// new server must use too. Stop the server first, or what it writes meanwhile is not copied.
    Copy {
        /// The database to read [default: the configured one: --database-url, or
        /// sqlite://<data-dir>/orbit.db]
        #[arg(long, value_name = "URL")]
        from: Option<String>,
        /// The database to write: postgres://user:password@host:port/database (or sqlite://<path>).
        /// It must hold no Orbit data, unless --replace.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Copy only this instance and its application (default: everything).
        #[arg(long)]
        instance: Option<String>,
        /// Delete everything the target holds before copying, instead of refusing a target that
        /// holds data.
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Register a satellite domain (e.g. satellite.example.com, or localhost:3001 in development).
    AddSatellite {
        /// The satellite's host name.
        host: String,
        /// Instance id (default: the first instance).
        #[arg(long)]
        instance: Option<String>,
    },
    /// List the instance's domains with their DNS status.
    List {
        #[arg(long)]
        json: bool,
        /// Instance id (default: the first instance).
        #[arg(long)]
        instance: Option<String>,
    },
    /// Check a production satellite's CNAME record now.
    Verify {
        host: String,
        /// Instance id (default: the first instance).
        #[arg(long)]
        instance: Option<String>,
    },
    /// Remove a satellite domain.
    Remove {
        host: String,
        /// Instance id (default: the first instance).
        #[arg(long)]
        instance: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [env: ORBIT_LISTEN] [default: 127.0.0.1:4000]
    #[arg(long)]
    pub listen: Option<String>,
    /// Public base URL of this server, if it differs from http://<listen> (e.g. behind a proxy)
    /// [env: ORBIT_PUBLIC_URL]
    #[arg(long)]
    pub public_url: Option<String>,
    /// Log filter, e.g. info or orbit_server=debug [env: ORBIT_LOG] [default: info]
    #[arg(long)]
    pub log: Option<String>,
    /// PEM certificate chain: serve https (needs --tls-key) [env: ORBIT_TLS_CERT]
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert [env: ORBIT_TLS_KEY]
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A directory of the browser bundles' tarballs (see `orbit assets fetch --help`) to unpack
    /// from instead of the npm registry [env: ORBIT_ASSETS_DIR]
    #[arg(long, value_name = "DIR")]
    pub assets_dir: Option<PathBuf>,
    /// Serve the operator dashboard on this address only (e.g. 127.0.0.1:4001, to keep it off
    /// the internet) instead of under /dashboard on the public URL's host
    /// [env: ORBIT_DASHBOARD_LISTEN]
    #[arg(long, value_name = "ADDR")]
    pub dashboard_listen: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum InstanceCommand {
    /// Print an instance's keys, URLs and domains. Works while the server runs.
    Show {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Instance id (default: the first instance).
        #[arg(long)]
        instance: Option<String>,
    },
    /// Change an instance's settings.
    Set {
        /// An origin (or https://*.example.com wildcard) besides the instance's domains that
        /// may be redirected to after sign-in, sign-up and sign-out. Repeat for several; replaces
        /// the current list.
        #[arg(long = "allowed-redirect-origin")]
        allowed_redirect_origins: Vec<String>,
        /// Empty the allowed redirect origins.
        #[arg(long, conflicts_with = "allowed_redirect_origins")]
        clear_allowed_redirect_origins: bool,
        /// `sign_up.email_verification`: whether hosted sign-ups prove the address with a code
        /// sent by mail before the account exists (needs the smtp_* settings).
        #[arg(long, value_name = "on|off", value_parser = on_off)]
        sign_up_email_verification: Option<bool>,
        /// Instance id (default: the first instance).
        #[arg(long)]
        instance: Option<String>,
    },
    /// Add a production instance to the application, with its primary domain (e.g. primary.dev;
    /// its Frontend API is served at clerk.primary.dev).
    CreateProduction {
        /// The primary domain of the production instance.
        #[arg(long)]
        domain: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key. The old one stays in the JWKS until its tokens have expired.
    Rotate {
        /// Instance id (default: the first instance).
        #[arg(long)]
        instance: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user with an email address and a password.
    Create {
        #[arg(long)]
        email: String,
        /// The password (subject to the password policy). Prefer --password-stdin on shared machines.
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
        /// Instance id (default: the first instance).
        #[arg(long)]
        instance: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an operator of the dashboard (not a user of any instance), under the same
    /// password policy as users. The password is read from the first line of standard input,
    /// so it never shows in the process list or the shell's history.
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List the dashboard's operators.
    List,
}

pub type CliResult = Result<(), String>;

fn load_config(global: &GlobalArgs, flags: ConfigLayer) -> Result<Config, String> {
    let mut flags = flags;
    if let Some(d) = &global.data_dir {
        flags.data_dir = Some(d.clone());
    }
    if let Some(u) = &global.database_url {
        flags.database_url = Some(u.clone());
    }
    if let Some(k) = &global.master_key_file {
        flags.master_key_file = Some(k.clone());
    }
    Config::load(global.config.as_deref(), |k| std::env::var(k).ok(), flags)
        .map_err(|e| format!("configuration: {e}"))
}

pub async fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Serve(args) => {
            let flags = ConfigLayer {
                listen: args.listen,
                public_url: args.public_url,
                log: args.log,
                tls_cert: args.tls_cert,
                tls_key: args.tls_key,
                assets_dir: args.assets_dir,
                dashboard_listen: args.dashboard_listen,
                ..Default::default()
            };
            serve(load_config(&cli.global, flags)?).await
        }
        Command::Instance(InstanceCommand::Show { json, instance }) => {
            let config = load_config(&cli.global, ConfigLayer::default())?;
            let orbit = open_existing(&config).await?;
            let instance = pick_instance(&orbit, instance.as_deref()).await?;
            show_instance(&orbit, &config, &instance, json).await
        }
        Command::Instance(InstanceCommand::Set {
            allowed_redirect_origins,
            clear_allowed_redirect_origins,
            sign_up_email_verification,
            instance,
        }) => {
            let config = load_config(&cli.global, ConfigLayer::default())?;
            let orbit = open_existing(&config).await?;
            let instance = pick_instance(&orbit, instance.as_deref()).await?;
            let origins_change =
                !allowed_redirect_origins.is_empty() || clear_allowed_redirect_origins;
            if !origins_change && sign_up_email_verification.is_none() {
                return Err("nothing to change: give --allowed-redirect-origin ORIGIN (repeatable), --clear-allowed-redirect-origins or --sign-up-email-verification on|off".into());
            }
            let mut settings = instance.settings.clone();
            if origins_change {
                settings.allowed_redirect_origins = allowed_redirect_origins;
            }
            if let Some(on) = sign_up_email_verification {
                settings.sign_up_email_verification = on;
            }
            let updated = orbit
                .update_settings(&instance.id, settings)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "Instance {}: sign_up.email_verification is {}.",
                updated.id,
                on_off_word(updated.settings.sign_up_email_verification)
            );
            if updated.settings.allowed_redirect_origins.is_empty() {
                println!(
                    "Instance {}: no allowed redirect origins besides its domains.",
                    updated.id
                );
            } else {
                println!(
                    "Instance {}: allowed redirect origins: {}",
                    updated.id,
                    updated.settings.allowed_redirect_origins.join(", ")
                );
            }
            Ok(())
        }
        Command::Instance(InstanceCommand::CreateProduction { domain }) => {
            let config = load_config(&cli.global, ConfigLayer::default())?;
            let orbit = open_existing(&config).await?;
            let first = pick_instance(&orbit, None).await?;
            eprintln!("Generating keys for the production instance of {domain}...");
            let instance = orbit
                .create_production_instance(&first.application_id, &domain)
                .await
                .map_err(|e| match e {
                    orbit_core::Error::Invalid { reason, .. } => format!("--domain: {reason}"),
                    e => e.to_string(),
                })?;
            let name = orbit
                .primary_domain(&instance.id)
                .await
                .map_err(|e| e.to_string())?
                .name;
            println!(
                "Created production instance {} with primary domain {name}.",
                instance.id
            );
            println!(
                "Point clerk.{name} at this server, then: orbit instance show --instance {}",
                instance.id
            );
            if orbit.settings().mail.is_none() {
                println!(
                    "Sign-ups verify email addresses (sign_up.email_verification is on): configure smtp_host and smtp_from before `orbit serve`, or run `orbit instance set --instance {} --sign-up-email-verification off`.",
                    instance.id
                );
            }
            Ok(())
        }
        Command::Domain(cmd) => domain_command(&cli.global, cmd).await,
        Command::Admin(cmd) => {
            let config = load_config(&cli.global, ConfigLayer::default())?;
            let orbit = open_existing(&config).await?;
            match cmd {
                AdminCommand::Create { email, .. } => {
                    let line = admin_create(&orbit, &email, &mut std::io::stdin().lock()).await?;
                    println!("{line}");
                    let public_base = config.public_base(config.listen);
                    println!(
                        "Sign in at {}",
                        config.dashboard_url(&public_base, config.dashboard_listen)
                    );
                }
                AdminCommand::List => {
                    for line in admin_list(&orbit).await? {
                        println!("{line}");
                    }
                }
            }
            Ok(())
        }
        Command::Assets(AssetsCommand::Fetch {
            registry,
            assets_dir,
        }) => {
            let flags = ConfigLayer {
                npm_registry: registry,
                assets_dir,
                ..Default::default()
            };
            assets_fetch(&load_config(&cli.global, flags)?).await
        }
        Command::Migrate(MigrateCommand::Copy {
            from,
            to,
            instance,
            replace,
        }) => {
            let config = load_config(&cli.global, ConfigLayer::default())?;
            migrate_copy(config, from, &to, instance, replace).await
        }
        Command::Keys(KeysCommand::Rotate { instance }) => {
            let config = load_config(&cli.global, ConfigLayer::default())?;
            let orbit = open_existing(&config).await?;
            let instance = pick_instance(&orbit, instance.as_deref()).await?;
            eprintln!(
                "Generating a new RSA-2048 signing key for instance {}...",
                instance.id
            );
            let kid = orbit
                .rotate_signing_key(&instance.id)
                .await
                .map_err(|e| e.to_string())?;
            let lead = orbit.key_publish_lead() / 1000;
            println!(
                "New signing key {kid} is in the JWKS now and signs new tokens in {lead} s, once every node has it."
            );
            println!(
                "The previous key signs until then and stays in the JWKS {} s longer, until every token it signed has expired.",
                orbit_core::keys::RETIRED_KEY_RETENTION / 1000
            );
            Ok(())
        }
        Command::User(UserCommand::Create {
            email,
            password,
            password_stdin,
            first_name,
            last_name,
            instance,
        }) => {
            let config = load_config(&cli.global, ConfigLayer::default())?;
            let password = match (password, password_stdin) {
                (Some(p), _) => p,
                (None, true) => password_line(&mut std::io::stdin().lock())?,
                (None, false) => {
                    return Err("give the password with --password or --password-stdin".into())
                }
            };
            let orbit = open_existing(&config).await?;
            let instance = pick_instance(&orbit, instance.as_deref()).await?;
            let user = orbit
                .create_user(
                    &instance,
                    NewUser {
                        email,
                        password: Some(password),
                        first_name,
                        last_name,
                    },
                )
                .await
                .map_err(|e| format!("cannot create the user: {e}"))?;
            println!("Created user {} <{}>", user.id, user.email);
            Ok(())
        }
    }
}

/// `orbit admin create`: the operator whose password is the first line of `stdin`, created as
/// the command line's doing in the audit log. Returns the line to print.
pub async fn admin_create(
    orbit: &Orbit,
    email: &str,
    stdin: &mut dyn std::io::BufRead,
) -> Result<String, String> {
    let password = password_line(stdin)?;
    if password.is_empty() {
        return Err(
            "no password on standard input: pipe it in, e.g. `orbit admin create --email you@example.com --password-stdin < password.txt`"
                .into(),
        );
    }
    let operator = orbit
        .create_operator(email, &password, &orbit_core::Actor::Cli)
        .await
        .map_err(|e| format!("cannot create the operator: {e}"))?;
    Ok(format!(
        "Created operator {} <{}>.",
        operator.id, operator.email
    ))
}

/// The first line of `stdin`, without its line ending (`--password-stdin`).
fn password_line(stdin: &mut dyn std::io::BufRead) -> Result<String, String> {
    let mut line = String::new();
    stdin
        .read_line(&mut line)
        .map_err(|e| format!("reading the password from standard input: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// `orbit admin list`: one line per operator.
pub async fn admin_list(orbit: &Orbit) -> Result<Vec<String>, String> {
    let operators = orbit.operators().await.map_err(|e| e.to_string())?;
    if operators.is_empty() {
        return Ok(vec![
            "No operators yet: `orbit admin create --email E --password-stdin`, or the setup link `orbit serve` prints.".into(),
        ]);
    }
    Ok(operators
        .iter()
        .map(|o| {
            let last = o
                .last_sign_in_at
                .map(orbit_core::clock::format_utc)
                .unwrap_or_else(|| "never".into());
            format!(
                "{:<40} {}  created {}  last sign-in {last}",
                o.email,
                o.id,
                orbit_core::clock::format_utc(o.created_at)
            )
        })
        .collect())
}

async fn domain_command(global: &GlobalArgs, cmd: DomainCommand) -> CliResult {
    let config = load_config(global, ConfigLayer::default())?;
    let orbit = open_existing(&config).await?;
    let target = config.cname_target(&config.public_base(config.listen));
    match cmd {
        DomainCommand::AddSatellite { host, instance } => {
            let instance = pick_instance(&orbit, instance.as_deref()).await?;
            let d = orbit
                .add_satellite(&instance, &host)
                .await
                .map_err(|e| format!("cannot add {host}: {e}"))?;
            println!(
                "Added satellite {} to {} instance {}.",
                d.name,
                instance.kind.as_str(),
                instance.id
            );
            match Orbit::cname_target(&d, &target) {
                Some(t) if instance.kind == orbit_core::model::InstanceKind::Production => {
                    println!(
                        "Create this DNS record, then run `orbit domain verify {}`:",
                        d.name
                    );
                    println!("  {}  CNAME  {}", t.host, t.value);
                }
                _ => println!("Development satellites need no DNS; it works now."),
            }
            Ok(())
        }
        DomainCommand::List { json, instance } => {
            let instance = pick_instance(&orbit, instance.as_deref()).await?;
            let domains = orbit.domains(&instance).await.map_err(|e| e.to_string())?;
            if json {
                let list: Vec<serde_json::Value> = domains
                    .iter()
                    .map(|d| {
                        json!({
                            "id": d.id, "name": d.name, "is_satellite": d.is_satellite, "verified": d.verified,
                            "verification_error": d.verification_error, "fapi_host": d.fapi_host,
                            "status": orbit.dns_status(d).to_string(), "dns_failures": d.dns_failures,
                            "dns_failing_since": d.dns_failing_since, "suspended_at": d.suspended_at,
                            "cname_target": Orbit::cname_target(d, &target).filter(|_| instance.kind == orbit_core::model::InstanceKind::Production)
                                .map(|t| json!({"host": t.host, "value": t.value})),
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?
                );
            } else {
                for d in &domains {
                    let kind = if d.is_satellite {
                        "satellite"
                    } else {
                        "primary"
                    };
                    let status = orbit.dns_status(d);
                    println!("{:<32} {:<9} {status}", d.name, kind);
                }
            }
            Ok(())
        }
        DomainCommand::Verify { host, instance } => {
            let instance = pick_instance(&orbit, instance.as_deref()).await?;
            let d = orbit
                .find_domain(&instance, &host)
                .await
                .map_err(|e| e.to_string())?;
            let resolver = crate::serve::resolver(&config)?;
            eprintln!(
                "Looking up the CNAME of {} ...",
                d.fapi_host.clone().unwrap_or_else(|| d.name.clone())
            );
            let d = orbit
                .verify_domain(&d, resolver.as_ref(), &target)
                .await
                .map_err(|e| e.to_string())?;
            if d.verified {
                println!("{} is verified.", d.name);
                Ok(())
            } else if d.suspended_at.is_some() {
                Err(format!(
                    "{} stays suspended: {}",
                    d.name,
                    orbit.dns_status(&d)
                ))
            } else {
                Err(format!(
                    "{} is not verified: {}. Create `{} CNAME {target}` and try again (DNS changes can take a while to appear).",
                    d.name,
                    d.verification_error.unwrap_or_default(),
                    d.fapi_host.unwrap_or_default()
                ))
            }
        }
        DomainCommand::Remove { host, instance } => {
            let instance = pick_instance(&orbit, instance.as_deref()).await?;
            let d = orbit
                .remove_domain(&instance, &host)
                .await
                .map_err(|e| format!("cannot remove {host}: {e}"))?;
            println!("Removed satellite {}.", d.name);
            Ok(())
        }
    }
}

/// `orbit assets fetch`: every pin into the cache, progress on stderr, a summary on stdout.
/// Goes on with the other packages when one fails, then fails naming each.
async fn assets_fetch(config: &Config) -> CliResult {
    use crate::assets::npm::{Cache, Outcome, Source};
    use crate::assets::npm_config::RegistryOrigin;
    use crate::assets::pins::PINS;
    let cache = Cache::in_data_dir(&config.data_dir);
    let source = config.bundle_source();
    std::fs::create_dir_all(cache.root())
        .map_err(|e| format!("{}: {e}", cache.root().display()))?;
    if let Source::Registry(setting) = &source {
        // Looked up once here rather than failing once per package; not at all when every
        // package is cached.
        if PINS.iter().any(|pin| !cache.is_installed(pin)) {
            let resolved = setting.get().await.map_err(|e| e.to_string())?;
            if resolved.origin != RegistryOrigin::Configured {
                eprintln!("npm registry from {}", resolved.origin);
            }
        }
    }
    eprintln!(
        "Browser bundles from {source} into {}:",
        cache.root().display()
    );
    let (mut fetched, mut failed) = (0, Vec::new());
    for pin in PINS {
        let id = pin.id();
        let mut report = |step: crate::assets::npm::Step<'_>| eprintln!("  {id}: {step}");
        match cache.install(pin, &source, &mut report).await {
            Ok(Outcome::AlreadyCached) => eprintln!("  {id}: already cached"),
            Ok(Outcome::Installed { .. }) => fetched += 1,
            Err(e) => {
                eprintln!("  {id}: failed");
                failed.push(e.to_string());
            }
        }
    }
    let cached = PINS.len() - failed.len();
    println!(
        "{cached} of {} browser bundles cached in {} ({fetched} fetched now).",
        PINS.len(),
        cache.root().display()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\nerror: "))
    }
}

/// `orbit migrate copy`: checks that the data directory's master key opens every sealed key of
/// the source, then copies the rows (docs/design/storage.md "Moving to PostgreSQL").
async fn migrate_copy(
    mut config: Config,
    from: Option<String>,
    to: &str,
    instance: Option<String>,
    replace: bool,
) -> CliResult {
    use orbit_storage::copy::{copy, CopyOptions, Progress};
    use orbit_storage::DatabaseUrl;
    let from = match from {
        Some(url) => DatabaseUrl::parse(&url).map_err(|e| format!("--from: {e}"))?,
        None => data_dir::database_url(&config),
    };
    let to = DatabaseUrl::parse(to).map_err(|e| format!("--to: {e}"))?;
    if from == to {
        return Err(format!(
            "--from and --to name the same database ({})",
            to.redacted()
        ));
    }
    if let DatabaseUrl::Sqlite(path) = &from {
        if !path.exists() {
            return Err(format!("--from: {} does not exist", from.redacted()));
        }
    }
    config.database_url = Some(from.clone());
    let source = open_existing(&config).await?;
    let key_file = config.data_dir.join(data_dir::MASTER_KEY_FILE);
    let instances = match &instance {
        Some(id) => vec![pick_instance(&source, Some(id)).await?],
        None => source.instances().await.map_err(|e| e.to_string())?,
    };
    for i in &instances {
        let sealed = source.check_master_key(&i.id).await.map_err(|e| {
            format!(
                "instance {}: {e}: {} is not the master key the source was written with; run this command with the --data-dir of the server that used {}",
                i.id,
                key_file.display(),
                from.redacted()
            )
        })?;
        eprintln!(
            "Instance {}: {} opens its {sealed} sealed keys.",
            i.id,
            key_file.display()
        );
    }
    drop(source);
    eprintln!("Copying {} to {} ...", from.redacted(), to.redacted());
    let options = CopyOptions { instance, replace };
    let mut shown = 0;
    let mut report = |p: Progress<'_>| {
        // A line when a table starts, every 10,000 rows, and when it is done.
        if p.copied == 0 || p.copied == p.total || p.copied >= shown + 10_000 {
            shown = p.copied;
            eprintln!("  {:<18} {:>9} / {}", p.table, p.copied, p.total);
        }
    };
    let copied = copy(&from, &to, &options, &mut report)
        .await
        .map_err(|e| e.to_string())?;
    let rows: u64 = copied.values().sum();
    println!("Copied {rows} rows into {}.", to.redacted());
    println!(
        "Start the server on it with the same master key: orbit serve --data-dir {} --database-url {}",
        config.data_dir.display(),
        to.redacted()
    );
    Ok(())
}

async fn open_existing(config: &Config) -> Result<Arc<Orbit>, String> {
    data_dir::open(config, false, config.orbit_settings())
        .await
        .map_err(|e| e.to_string())
}

async fn pick_instance(orbit: &Orbit, id: Option<&str>) -> Result<Instance, String> {
    let all = orbit.instances().await.map_err(|e| e.to_string())?;
    match id {
        Some(id) => all
            .into_iter()
            .find(|i| i.id == id)
            .ok_or_else(|| format!("no instance {id}; `orbit instance show` lists the first one")),
        None => all
            .into_iter()
            .next()
            .ok_or_else(|| "the data directory has no instance yet; run `orbit serve` once".into()),
    }
}

/// What `instance show` prints, also used by `serve`'s banner: `app_env::instance_summary`
/// with the instance's newest secret key in clear.
pub async fn instance_summary(
    orbit: &Orbit,
    config: &Config,
    instance: &Instance,
) -> Result<serde_json::Value, String> {
    let creds = orbit
        .credentials(instance)
        .await
        .map_err(|e| e.to_string())?;
    crate::app_env::instance_summary(orbit, config, instance, &creds.secret_key)
        .await
        .map_err(|e| e.to_string())
}

async fn show_instance(
    orbit: &Orbit,
    config: &Config,
    instance: &Instance,
    as_json: bool,
) -> CliResult {
    let s = instance_summary(orbit, config, instance).await?;
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&s).map_err(|e| e.to_string())?
        );
    } else {
        print_summary(&s);
    }
    Ok(())
}

fn print_summary(s: &serde_json::Value) {
    let f = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
    println!(
        "{} instance {}",
        capital(&f("environment_type")),
        f("instance_id")
    );
    println!("  Publishable key:  {}", f("publishable_key"));
    println!("  Secret key:       {}", f("secret_key"));
    println!("  Frontend API:     {}", f("frontend_api_url"));
    println!("  Backend API:      {}", f("backend_api_url"));
    println!("  Sign-in page:     {}", f("sign_in_url"));
    println!(
        "  Email verification at sign-up (sign_up.email_verification): {}",
        on_off_word(
            s["sign_up"]["email_verification"]
                .as_bool()
                .unwrap_or(false)
        )
    );
    if let Some(domains) = s["domains"].as_array() {
        for d in domains {
            let kind = if d["is_satellite"].as_bool().unwrap_or(false) {
                "satellite"
            } else {
                "primary"
            };
            let verified = if d["verified"].as_bool().unwrap_or(false) {
                "verified"
            } else {
                "not verified"
            };
            println!(
                "  Domain:           {} ({kind}, {verified})",
                d["name"].as_str().unwrap_or_default()
            );
        }
    }
    for (stack, file, env) in [
        ("Next.js", ".env.local", crate::app_env::nextjs(s)),
        ("Remix", ".env", crate::app_env::remix(s)),
    ] {
        print_app_env(stack, file, &env);
    }
}

/// One stack's variables, ready to paste: the shared ones, then what each app adds.
fn print_app_env(stack: &str, file: &str, env: &crate::app_env::AppEnv) {
    println!("  {stack} apps ({file} of the primary and of each satellite):");
    for (k, v) in &env.shared {
        println!("    {k}={v}");
    }
    println!("  ...and the primary's app adds:");
    for (k, v) in &env.primary {
        println!("    {k}={v}");
    }
    for (domain, vars) in &env.satellites {
        println!("  ...and the satellite {domain} adds:");
        for (k, v) in vars {
            println!("    {k}={v}");
        }
    }
}

fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("{s:?}: use on or off")),
    }
}

fn on_off_word(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

async fn serve(config: Config) -> CliResult {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log)
                .map_err(|e| format!("log filter {:?}: {e}", config.log))?,
        )
        .with_writer(std::io::stderr)
        .init();
    eprintln!(
        "Opening data directory {} and database {} ...",
        config.data_dir.display(),
        data_dir::database_url(&config).redacted()
    );
    let running = crate::start(config.clone())
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Orbit is listening on {} (public URL {})",
        running.addr, running.public_base
    );
    if running.created.is_some() {
        println!(
            "Created an application with a development instance in {}.",
            config.data_dir.display()
        );
    }
    println!("{}", running.bundles.status_line());
    let instances = running.orbit.instances().await.map_err(|e| e.to_string())?;
    for instance in &instances {
        let s = instance_summary(&running.orbit, &config, instance).await?;
        if instance.kind == orbit_core::model::InstanceKind::Development {
            print_summary(&s);
        } else {
            println!(
                "Production instance {} (keys: `orbit instance show --instance {}`)",
                instance.id, instance.id
            );
        }
    }
    println!("Dashboard: {}", running.dashboard_url);
    if let Some(link) = &running.setup_link {
        println!(
            "No dashboard operator exists yet. Create the first one within {} hours at this one-time link:",
            orbit_core::orbit::SETUP_TOKEN_LIFETIME / orbit_core::HOUR
        );
        println!("  {link}");
        println!(
            "  (or on this machine: orbit admin create --email you@example.com --password-stdin)"
        );
    }
    println!("Press Ctrl-C to stop.");
    let addr = running.addr;
    tokio::select! {
        r = running.wait() => r.map_err(|e| format!("server on {addr} stopped: {e}")),
        _ = tokio::signal::ctrl_c() => {
            eprintln!("Stopping.");
            Ok(())
        }
    }
}
