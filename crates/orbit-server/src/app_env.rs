//! The environment variables an app built on Clerk's published SDKs needs to run against an
//! instance, ready to paste into its `.env`: what `orbit serve` and `orbit instance show` print
//! (docs/design/frontend-api.md "Development", README "The seed's Next.js apps").
//!
//! Production needs keys and URLs only. A development instance's Frontend API is plain http, and
//! the published SDKs build `https://<host>` for it and for their script tags, so development adds
//! the proxy URL (the FAPI reached as `localhost`, same-site with apps on `localhost` ports) and
//! the two script URLs.

use crate::assets::pins::Package;
use crate::config::Config;
use orbit_core::model::Instance;
use orbit_core::Orbit;
use serde_json::{json, Value};

/// One app's variables, in the order they are printed.
pub type EnvVars = Vec<(String, String)>;

/// What a Next.js app (`@clerk/nextjs` 7) of the instance needs: the variables every app of the
/// instance shares, the ones the primary's app adds (the seed's: its own sign-in and sign-up
/// pages), and, per satellite domain, the ones its app adds.
pub struct NextjsEnv {
    pub shared: EnvVars,
    pub primary: EnvVars,
    pub satellites: Vec<(String, EnvVars)>,
}

/// The FAPI base the browser SDK should use for a plain-http development FAPI: the same port on
/// `localhost` when the FAPI host is `127.0.0.1` (Orbit answers there too), else the FAPI URL.
pub fn development_proxy_url(frontend_api_url: &str) -> Option<String> {
    let rest = frontend_api_url.strip_prefix("http://")?;
    Some(match rest.strip_prefix("127.0.0.1:") {
        Some(port) => format!("http://localhost:{port}"),
        None => frontend_api_url.trim_end_matches('/').to_owned(),
    })
}

/// `summary` is `cli::instance_summary`'s JSON.
pub fn nextjs(summary: &Value) -> NextjsEnv {
    let s = |k: &str| summary[k].as_str().unwrap_or_default().to_owned();
    let var = |k: &str, v: String| (k.to_owned(), v);
    let mut shared = vec![
        var("NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY", s("publishable_key")),
        var("CLERK_SECRET_KEY", s("secret_key")),
        var("CLERK_API_URL", s("backend_api_url")),
    ];
    let development = s("environment_type") == "development";
    if let Some(proxy) = development_proxy_url(&s("frontend_api_url")) {
        let major = |p: Package| p.pins().next().map(|pin| pin.major).unwrap_or_default();
        let (js, ui) = (major(Package::ClerkJs), major(Package::Ui));
        shared.push(var("NEXT_PUBLIC_CLERK_PROXY_URL", proxy.clone()));
        shared.push(var(
            "NEXT_PUBLIC_CLERK_JS_URL",
            format!("{proxy}/npm/@clerk/clerk-js@{js}/dist/clerk.browser.js"),
        ));
        shared.push(var(
            "NEXT_PUBLIC_CLERK_UI_URL",
            format!("{proxy}/npm/@clerk/ui@{ui}/dist/ui.browser.js"),
        ));
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
                    var("NEXT_PUBLIC_CLERK_IS_SATELLITE", "true".into()),
                    // The bare host: with a scheme the SDK builds `clerk.https//...`.
                    var("NEXT_PUBLIC_CLERK_DOMAIN", name.to_owned()),
                    var(
                        "NEXT_PUBLIC_CLERK_SIGN_IN_URL",
                        format!("{scheme}://{primary}/sign-in"),
                    ),
                    var(
                        "NEXT_PUBLIC_CLERK_SIGN_UP_URL",
                        format!("{scheme}://{primary}/sign-up"),
                    ),
                ],
            )
        })
        .collect();
    let primary = vec![
        var("NEXT_PUBLIC_CLERK_SIGN_IN_URL", "/sign-in".into()),
        var("NEXT_PUBLIC_CLERK_SIGN_UP_URL", "/sign-up".into()),
    ];
    NextjsEnv {
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
pub struct AppEnv {
    pub framework: &'static str,
    pub vars: EnvVars,
}

/// What the app on the satellite `name` needs, for each framework the dashboard offers.
/// Remix (`@clerk/remix`): once a `remix` set exists in this module, add it to this list.
pub fn satellite_apps(summary: &Value, name: &str) -> Vec<AppEnv> {
    let next = nextjs(summary);
    let mut vars = next.shared;
    if let Some((_, own)) = next.satellites.into_iter().find(|(n, _)| n == name) {
        vars.extend(own);
    }
    vec![
        AppEnv {
            framework: "Rust SDK",
            vars: rust_sdk(&vars),
        },
        AppEnv {
            framework: "Next.js",
            vars,
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
    fn a_satellites_apps_get_the_shared_variables_and_its_own() {
        let apps = satellite_apps(
            &summary("production", "https://clerk.primary.dev"),
            "satellite.dev",
        );
        let frameworks: Vec<_> = apps.iter().map(|a| a.framework).collect();
        assert_eq!(frameworks, ["Rust SDK", "Next.js"]);
        assert_eq!(
            names(&apps[0].vars),
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
        assert_eq!(apps[0].vars[4].1, "satellite.dev");
        assert_eq!(apps[0].vars[5].1, "https://primary.dev/sign-in");
        assert_eq!(apps[1].vars.len(), 7);
        assert_eq!(apps[1].vars[3].0, "NEXT_PUBLIC_CLERK_IS_SATELLITE");
        // Development: the Rust SDK needs none of the browser's URLs.
        let dev = satellite_apps(
            &summary("development", "http://127.0.0.1:4000"),
            "localhost:3001",
        );
        assert!(!names(&dev[0].vars).iter().any(|n| n.ends_with("_URL")
            && !matches!(
                *n,
                "CLERK_API_URL" | "CLERK_SIGN_IN_URL" | "CLERK_SIGN_UP_URL"
            )));
        assert!(names(&dev[1].vars).contains(&"NEXT_PUBLIC_CLERK_PROXY_URL"));
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
