//! The environment variables an app built on Clerk's published SDKs needs to run against an
//! instance, ready to paste into its `.env`: what `orbit serve` and `orbit instance show` print
//! (docs/design/frontend-api.md "Development", README "The seed's Next.js apps" and "The seed's
//! Remix apps"), one set per stack: each SDK reads its own names.
//!
//! Production needs keys and URLs only. A development instance's Frontend API is plain http, and
//! the published SDKs build `https://<host>` for it and for their script tags, so development adds
//! the proxy URL (the FAPI reached as `localhost`, same-site with apps on `localhost` ports) and
//! the script URLs of the bundles that SDK loads.

use crate::assets::pins::Package;
use crate::config::Config;
use orbit_core::model::Instance;
use orbit_core::Orbit;
use serde_json::{json, Value};

/// One app's variables, in the order they are printed.
pub type EnvVars = Vec<(String, String)>;

/// What the apps of one stack need: the variables every app of the instance shares, the ones the
/// primary's app adds (the seed's: its own sign-in and sign-up pages), and, per satellite domain,
/// the ones its app adds.
pub struct AppEnv {
    pub shared: EnvVars,
    pub primary: EnvVars,
    pub satellites: Vec<(String, EnvVars)>,
}

/// How one SDK names its variables, and which bundles it loads in development.
struct Names {
    publishable_key: &'static str,
    /// The satellite's and the primary's own (`..._SIGN_IN_URL` and the like).
    is_satellite: &'static str,
    domain: &'static str,
    sign_in_url: &'static str,
    sign_up_url: &'static str,
    proxy_url: &'static str,
    /// The clerk-js bundle's URL variable and the clerk-js major the SDK loads.
    clerk_js: (&'static str, u64),
    /// `@clerk/ui`'s bundle, for SDKs that load it apart from clerk-js.
    ui: Option<&'static str>,
}

/// `@clerk/nextjs` 7 (App Router and Pages Router): clerk-js 6 and `@clerk/ui` 1, the browser's
/// variables under `NEXT_PUBLIC_`.
const NEXTJS: Names = Names {
    publishable_key: "NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY",
    is_satellite: "NEXT_PUBLIC_CLERK_IS_SATELLITE",
    domain: "NEXT_PUBLIC_CLERK_DOMAIN",
    sign_in_url: "NEXT_PUBLIC_CLERK_SIGN_IN_URL",
    sign_up_url: "NEXT_PUBLIC_CLERK_SIGN_UP_URL",
    proxy_url: "NEXT_PUBLIC_CLERK_PROXY_URL",
    clerk_js: ("NEXT_PUBLIC_CLERK_JS_URL", 6),
    ui: Some("NEXT_PUBLIC_CLERK_UI_URL"),
};

/// `@clerk/remix` 4: every variable read on the server (`rootAuthLoader` hands the browser what it
/// needs), clerk-js 5 with its UI inside, its URL in `CLERK_JS` (not `CLERK_JS_URL`).
const REMIX: Names = Names {
    publishable_key: "CLERK_PUBLISHABLE_KEY",
    is_satellite: "CLERK_IS_SATELLITE",
    domain: "CLERK_DOMAIN",
    sign_in_url: "CLERK_SIGN_IN_URL",
    sign_up_url: "CLERK_SIGN_UP_URL",
    proxy_url: "CLERK_PROXY_URL",
    clerk_js: ("CLERK_JS", 5),
    ui: None,
};

/// The FAPI base the browser SDK should use for a plain-http development FAPI: the same port on
/// `localhost` when the FAPI host is `127.0.0.1` (Orbit answers there too), else the FAPI URL.
pub fn development_proxy_url(frontend_api_url: &str) -> Option<String> {
    let rest = frontend_api_url.strip_prefix("http://")?;
    Some(match rest.strip_prefix("127.0.0.1:") {
        Some(port) => format!("http://localhost:{port}"),
        None => frontend_api_url.trim_end_matches('/').to_owned(),
    })
}

/// A Next.js app's (`@clerk/nextjs` 7). `summary` is `cli::instance_summary`'s JSON.
pub fn nextjs(summary: &Value) -> AppEnv {
    app_env(&NEXTJS, summary)
}

/// A Remix app's (`@clerk/remix` 4). `summary` is `cli::instance_summary`'s JSON.
pub fn remix(summary: &Value) -> AppEnv {
    app_env(&REMIX, summary)
}

fn app_env(names: &Names, summary: &Value) -> AppEnv {
    let s = |k: &str| summary[k].as_str().unwrap_or_default().to_owned();
    let var = |k: &str, v: String| (k.to_owned(), v);
    let mut shared = vec![
        var(names.publishable_key, s("publishable_key")),
        var("CLERK_SECRET_KEY", s("secret_key")),
        var("CLERK_API_URL", s("backend_api_url")),
    ];
    let development = s("environment_type") == "development";
    if let Some(proxy) = development_proxy_url(&s("frontend_api_url")) {
        let (js_var, js) = names.clerk_js;
        shared.push(var(names.proxy_url, proxy.clone()));
        shared.push(var(
            js_var,
            format!("{proxy}/npm/@clerk/clerk-js@{js}/dist/clerk.browser.js"),
        ));
        if let Some(ui_var) = names.ui {
            let ui = Package::Ui
                .pins()
                .next()
                .map(|pin| pin.major)
                .unwrap_or_default();
            shared.push(var(
                ui_var,
                format!("{proxy}/npm/@clerk/ui@{ui}/dist/ui.browser.js"),
            ));
        }
    }
    let domains = summary["domains"].as_array().cloned().unwrap_or_default();
    let primary = domains
        .iter()
        .find(|d| d["is_satellite"] == Value::Bool(false))
        .and_then(|d| d["name"].as_str())
        .unwrap_or_default();
    let scheme = if development { "http" } else { "https" };
    let satellites = domains
        .iter()
        .filter(|d| d["is_satellite"] == Value::Bool(true))
        .filter_map(|d| d["name"].as_str())
        .map(|name| {
            (
                name.to_owned(),
                vec![
                    var(names.is_satellite, "true".into()),
                    // The bare host: with a scheme the SDK builds `clerk.https//...`.
                    var(names.domain, name.to_owned()),
                    var(names.sign_in_url, format!("{scheme}://{primary}/sign-in")),
                    var(names.sign_up_url, format!("{scheme}://{primary}/sign-up")),
                ],
            )
        })
        .collect();
    let primary = vec![
        var(names.sign_in_url, "/sign-in".into()),
        var(names.sign_up_url, "/sign-up".into()),
    ];
    AppEnv {
        shared,
        primary,
        satellites,
    }
}

/// An instance's keys, URLs and domains as `orbit instance show --json` prints them and the
/// sets above read them, with `secret_key` as given (`cli::instance_summary` gives the newest in
/// clear; the dashboard, which shows a key only once, gives none).
pub async fn instance_summary(
    orbit: &Orbit,
    config: &Config,
    instance: &Instance,
    secret_key: &str,
) -> orbit_core::Result<Value> {
    let domains = orbit.domains(instance).await?;
    let primary = orbit.primary_domain(&instance.id).await?;
    let fapi = Orbit::fapi_url(instance, &primary);
    // BAPI answers on every host this server serves; a configured public URL is preferred.
    let bapi_base = config
        .public_url
        .clone()
        .map(|u| u.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| fapi.clone());
    Ok(json!({
        "application_id": instance.application_id,
        "instance_id": instance.id,
        "environment_type": instance.kind.as_str(),
        "publishable_key": orbit.publishable_key(instance).await?,
        "secret_key": secret_key,
        "frontend_api_url": fapi,
        "backend_api_url": format!("{bapi_base}/bapi"),
        "jwks_url": format!("{fapi}/.well-known/jwks.json"),
        "sign_in_url": format!("{fapi}/sign-in"),
        "sign_up_url": format!("{fapi}/sign-up"),
        "user_profile_url": format!("{fapi}/user"),
        "allowed_redirect_origins": instance.settings.allowed_redirect_origins,
        "sign_up": { "email_verification": instance.settings.sign_up_email_verification },
        "domains": domains.iter().map(|d| json!({
            "id": d.id,
            "name": d.name,
            "is_satellite": d.is_satellite,
            "verified": d.verified,
            "frontend_api_url": if d.fapi_host.is_some() { Orbit::fapi_url(instance, d) } else { fapi.clone() },
            "verification_error": d.verification_error,
        })).collect::<Vec<_>>(),
    }))
}

// ---- per framework, for one satellite's app (the dashboard's Domains page) ------------------

/// One framework's `.env` for one app.
pub struct FrameworkEnv {
    pub framework: &'static str,
    pub vars: EnvVars,
}

/// What the app on the satellite `name` needs, for each framework the dashboard offers: the
/// Next.js and Remix sets (each with the satellite's own variables) and Orbit's Rust SDK.
pub fn satellite_apps(summary: &Value, name: &str) -> Vec<FrameworkEnv> {
    let with_own = |env: AppEnv| {
        let mut vars = env.shared;
        if let Some((_, own)) = env.satellites.into_iter().find(|(n, _)| n == name) {
            vars.extend(own);
        }
        vars
    };
    let next = with_own(nextjs(summary));
    vec![
        FrameworkEnv {
            framework: "Next.js",
            vars: next.clone(),
        },
        FrameworkEnv {
            framework: "Remix",
            vars: with_own(remix(summary)),
        },
        FrameworkEnv {
            framework: "Rust SDK",
            vars: rust_sdk(&next),
        },
    ]
}

/// What an app on Orbit's Rust SDK (`OrbitConfig::from_env`) needs, from a Next.js set: the same
/// values under the SDK's `CLERK_*` names (README "The Rust SDK"), without what only the
/// browser SDK reads (the script URLs and development's proxy URL).
pub fn rust_sdk(nextjs_vars: &EnvVars) -> EnvVars {
    nextjs_vars
        .iter()
        .map(|(k, v)| (k.strip_prefix("NEXT_PUBLIC_").unwrap_or(k), v))
        .filter(|(k, _)| !matches!(*k, "CLERK_PROXY_URL" | "CLERK_JS_URL" | "CLERK_UI_URL"))
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(kind: &str, fapi: &str) -> Value {
        json!({
            "environment_type": kind,
            "publishable_key": "pk_x",
            "secret_key": "sk_x",
            "frontend_api_url": fapi,
            "backend_api_url": "https://orbit.example/bapi",
            "domains": [
                {"name": if kind == "development" { "localhost:3000" } else { "primary.dev" }, "is_satellite": false},
                {"name": if kind == "development" { "localhost:3001" } else { "satellite.dev" }, "is_satellite": true},
            ],
        })
    }

    fn names(vars: &EnvVars) -> Vec<&str> {
        vars.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn production_needs_keys_and_urls_only() {
        let env = nextjs(&summary("production", "https://clerk.primary.dev"));
        assert_eq!(
            names(&env.shared),
            [
                "NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY",
                "CLERK_SECRET_KEY",
                "CLERK_API_URL"
            ]
        );
        let (name, vars) = &env.satellites[0];
        assert_eq!(name, "satellite.dev");
        assert_eq!(
            vars[1],
            ("NEXT_PUBLIC_CLERK_DOMAIN".into(), "satellite.dev".into())
        );
        assert_eq!(
            vars[2].1, "https://primary.dev/sign-in",
            "the satellite signs in on the primary"
        );
    }

    #[test]
    fn development_reaches_the_plain_http_fapi_through_localhost() {
        let env = nextjs(&summary("development", "http://127.0.0.1:4000"));
        let get = |k: &str| {
            env.shared
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            get("NEXT_PUBLIC_CLERK_PROXY_URL"),
            Some("http://localhost:4000")
        );
        let js = get("NEXT_PUBLIC_CLERK_JS_URL").unwrap();
        assert!(
            js.starts_with("http://localhost:4000/npm/@clerk/clerk-js@6"),
            "{js}"
        );
        let ui = get("NEXT_PUBLIC_CLERK_UI_URL").unwrap();
        assert!(
            ui.starts_with("http://localhost:4000/npm/@clerk/ui@1"),
            "{ui}"
        );
        let (_, vars) = &env.satellites[0];
        assert_eq!(vars[2].1, "http://localhost:3000/sign-in");
        assert_eq!(vars[1].1, "localhost:3001");
    }

    #[test]
    fn remix_reads_its_own_names_on_the_server() {
        let env = remix(&summary("production", "https://clerk.primary.dev"));
        assert_eq!(
            names(&env.shared),
            ["CLERK_PUBLISHABLE_KEY", "CLERK_SECRET_KEY", "CLERK_API_URL"]
        );
        assert_eq!(
            names(&env.primary),
            ["CLERK_SIGN_IN_URL", "CLERK_SIGN_UP_URL"]
        );
        let (name, vars) = &env.satellites[0];
        assert_eq!(name, "satellite.dev");
        assert_eq!(
            vars.as_slice(),
            [
                ("CLERK_IS_SATELLITE".into(), "true".into()),
                ("CLERK_DOMAIN".into(), "satellite.dev".into()),
                (
                    "CLERK_SIGN_IN_URL".into(),
                    "https://primary.dev/sign-in".into()
                ),
                (
                    "CLERK_SIGN_UP_URL".into(),
                    "https://primary.dev/sign-up".into()
                ),
            ]
        );
    }

    #[test]
    fn remix_development_loads_clerk_js_5_from_clerk_js() {
        let env = remix(&summary("development", "http://127.0.0.1:4000"));
        assert_eq!(
            env.shared[3..],
            [
                ("CLERK_PROXY_URL".into(), "http://localhost:4000".into()),
                (
                    "CLERK_JS".into(),
                    "http://localhost:4000/npm/@clerk/clerk-js@5/dist/clerk.browser.js".into()
                ),
            ],
            "clerk-js 5 carries its UI: no @clerk/ui bundle"
        );
        let (_, vars) = &env.satellites[0];
        assert_eq!(vars[1].1, "localhost:3001");
        assert_eq!(vars[2].1, "http://localhost:3000/sign-in");
    }

    #[test]
    fn every_stack_loads_a_pinned_clerk_js_major() {
        for names in [&NEXTJS, &REMIX] {
            let (var, major) = names.clerk_js;
            assert!(
                Package::ClerkJs.pins().any(|p| p.major == major),
                "{var}: clerk-js {major} is not pinned"
            );
        }
    }

    #[test]
    fn a_satellites_apps_get_the_shared_variables_and_its_own() {
        let apps = satellite_apps(
            &summary("production", "https://clerk.primary.dev"),
            "satellite.dev",
        );
        let frameworks: Vec<_> = apps.iter().map(|a| a.framework).collect();
        assert_eq!(frameworks, ["Next.js", "Remix", "Rust SDK"]);
        assert_eq!(
            names(&apps[2].vars),
            [
                "CLERK_PUBLISHABLE_KEY",
                "CLERK_SECRET_KEY",
                "CLERK_API_URL",
                "CLERK_IS_SATELLITE",
                "CLERK_DOMAIN",
                "CLERK_SIGN_IN_URL",
                "CLERK_SIGN_UP_URL"
            ]
        );
        assert_eq!(apps[2].vars[4].1, "satellite.dev");
        assert_eq!(apps[2].vars[5].1, "https://primary.dev/sign-in");
        assert_eq!(apps[0].vars.len(), 7);
        assert_eq!(apps[0].vars[3].0, "NEXT_PUBLIC_CLERK_IS_SATELLITE");
        assert_eq!(apps[1].vars[3].0, "CLERK_IS_SATELLITE");
        // Development: the Rust SDK needs none of the browser's URLs; Remix loads clerk-js 5.
        let dev = satellite_apps(
            &summary("development", "http://127.0.0.1:4000"),
            "localhost:3001",
        );
        assert!(!names(&dev[2].vars).iter().any(|n| n.ends_with("_URL")
            && !matches!(
                *n,
                "CLERK_API_URL" | "CLERK_SIGN_IN_URL" | "CLERK_SIGN_UP_URL"
            )));
        assert!(names(&dev[0].vars).contains(&"NEXT_PUBLIC_CLERK_PROXY_URL"));
        assert!(names(&dev[1].vars).contains(&"CLERK_JS"));
    }

    #[test]
    fn a_development_fapi_on_another_http_host_is_its_own_proxy_url() {
        assert_eq!(
            development_proxy_url("http://auth.internal:8080/").as_deref(),
            Some("http://auth.internal:8080")
        );
        assert_eq!(development_proxy_url("https://clerk.primary.dev"), None);
    }
}
