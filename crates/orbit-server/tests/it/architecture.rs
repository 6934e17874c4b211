//! The invariants of ARCHITECTURE.md that a reader could break without a failing behaviour test:
//! no module cycles in the server, fapi, portal and dashboard built on the browser layer and
//! never on each other (nor on bapi), core free of HTTP and SQL, the SDK on orbit-proto alone,
//! wire names spelled only in orbit-proto.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The server's top-level modules and the other top-level modules each one names through
/// `crate::`, outside its tests.
fn server_module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = workspace().join("crates/orbit-server/src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let rel = file.strip_prefix(&src).unwrap();
        let module = rel
            .iter()
            .next()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if matches!(module.as_str(), "lib" | "main") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let deps = graph.entry(module.clone()).or_default();
        // `crate::x` and `use crate::{x, y::z}` both name modules.
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                group
                    .split(',')
                    .map(|s| s.trim().split("::").next().unwrap_or(""))
                    .collect()
            } else {
                vec![rest
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or("")]
            };
            for name in names {
                let first = name.chars().next();
                if first.is_some_and(char::is_lowercase) && name != module {
                    deps.insert(name.to_owned());
                }
            }
        }
    }
    graph
}

fn reaches(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> bool {
    graph
        .get(from)
        .into_iter()
        .flatten()
        .any(|next| next == to || (seen.insert(next.clone()) && reaches(graph, next, to, seen)))
}

#[test]
fn server_modules_have_no_cycles() {
    let graph = server_module_graph();
    assert!(
        ["browser", "fapi", "portal", "bapi", "dashboard"]
            .iter()
            .all(|m| graph.contains_key(*m)),
        "{:?}",
        graph.keys()
    );
    for module in graph.keys() {
        assert!(
            !reaches(&graph, module, module, &mut BTreeSet::new()),
            "the server module {module} depends on itself through {:?}",
            graph[module]
        );
    }
    // The surfaces never use each other; bapi is not a browser surface at all.
    let surfaces = ["fapi", "portal", "bapi", "dashboard"];
    for a in surfaces {
        for b in surfaces {
            assert!(
                a == b || !graph[a].contains(b),
                "{a} must not use {b}: {:?}",
                graph[a]
            );
        }
    }
    assert!(
        !graph["bapi"].contains("browser"),
        "bapi must not use browser"
    );
    // The dashboard builds on the browser layer's pages, cookies and CSRF checks, as the
    // portal does.
    assert!(
        graph["dashboard"].contains("browser"),
        "{:?}",
        graph["dashboard"]
    );
    for layer in [
        "browser",
        "resources",
        "extract",
        "error",
        "config",
        "assets",
    ] {
        assert!(
            !graph[layer].contains("dashboard"),
            "{layer} must not use dashboard"
        );
    }
    for leaf in ["error", "extract"] {
        for layer in ["browser", "fapi", "portal", "bapi", "dashboard"] {
            assert!(!graph[leaf].contains(layer), "{leaf} must not use {layer}");
        }
    }
}

fn dependencies(manifest: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(workspace().join(manifest)).unwrap();
    let value: toml::Value = toml::from_str(&text).unwrap();
    value
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn crate_boundaries() {
    let core = dependencies("crates/orbit-core/Cargo.toml");
    for banned in ["axum", "sqlx", "cookie", "hyper", "tower", "reqwest"] {
        assert!(!core.contains(banned), "orbit-core depends on {banned}");
    }
    let sdk = dependencies("crates/orbit-sdk/Cargo.toml");
    for banned in ["orbit-core", "orbit-server", "orbit-storage"] {
        assert!(!sdk.contains(banned), "orbit-sdk depends on {banned}");
    }
    assert!(sdk.contains("orbit-proto"));
    let proto = dependencies("crates/orbit-proto/Cargo.toml");
    for banned in ["tokio", "aws-lc-rs", "reqwest", "sqlx"] {
        assert!(
            !proto.contains(banned),
            "orbit-proto does I/O or cryptography through {banned}"
        );
    }
}

/// Cookie and parameter names that a published SDK reads: spelled once, in orbit-proto.
#[test]
fn wire_names_live_in_proto() {
    let names = [
        "\"__session\"",
        "\"__client_uat\"",
        "\"__client\"",
        "\"__clerk_db_jwt\"",
        "\"__clerk_handshake\"",
        "\"__clerk_handshake_nonce\"",
        "\"__clerk_synced\"",
        "\"__clerk_redirect_count\"",
        "\"__clerk_hs_reason\"",
        "\"__clerk_api_version\"",
        "\"__orbit_sync\"",
        "\"__orbit_csrf\"",
        "\"orbit_dashboard\"",
        "\"__Host-orbit_dashboard\"",
        "\"orbit_dashboard_csrf\"",
        "\"__Host-orbit_dashboard_csrf\"",
    ];
    let mut found = Vec::new();
    for dir in [
        "crates/orbit-server/src",
        "crates/orbit-sdk/src",
        "crates/orbit-core/src",
    ] {
        for file in rust_files(&workspace().join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            for (n, line) in code.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for name in names {
                    if line.contains(name) {
                        found.push(format!("{}:{}: {name}", file.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "wire names spelled outside orbit-proto:\n{}",
        found.join("\n")
    );
}
