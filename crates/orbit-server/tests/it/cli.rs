//! The `orbit` binary as a user runs it: help, serve's banner, instance show, user create,
//! keys rotate, all against a running server.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn orbit() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_orbit"));
    // Keep the caller's ORBIT_* settings out of the tests.
    for (k, _) in std::env::vars() {
        if k.starts_with("ORBIT_") {
            c.env_remove(k);
        }
    }
    c
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = orbit().args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn help_everywhere() {
    let (ok, out, _) = run(&["--help"]);
    assert!(ok);
    for cmd in ["serve", "instance", "keys", "user"] {
        assert!(out.contains(cmd), "--help lists {cmd}: {out}");
    }
    for sub in [
        &["serve", "--help"][..],
        &["instance", "--help"],
        &["instance", "show", "--help"],
        &["keys", "--help"],
        &["keys", "rotate", "--help"],
        &["user", "--help"],
        &["user", "create", "--help"],
    ] {
        let (ok, out, err) = run(sub);
        assert!(ok, "{sub:?}: {err}");
        assert!(out.contains("Usage:"), "{sub:?}: {out}");
    }
    let (ok, _, err) = run(&["serve", "--bogus"]);
    assert!(!ok);
    assert!(err.contains("--bogus"));
}

#[test]
fn commands_on_a_missing_data_dir_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let (ok, _, err) = run(&["instance", "show", "--data-dir", missing.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("orbit serve --data-dir"), "{err}");
    assert!(
        !missing.exists(),
        "nothing is created by a read-only command"
    );
    let (ok, _, err) = run(&[
        "serve",
        "--listen",
        "not-an-address",
        "--data-dir",
        missing.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("listen"), "{err}");
}

struct ServeProcess {
    child: Child,
    banner: String,
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data_dir: &str) -> ServeProcess {
    let mut child = orbit()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir])
        .env("ORBIT_ARGON2_MEMORY_KIB", "1024")
        .env("ORBIT_ARGON2_ITERATIONS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    let deadline = stopwatch() + Duration::from_secs(30);
    while !banner.contains("Press Ctrl-C") {
        assert!(stopwatch() < deadline, "no banner: {banner}");
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("orbit serve exited: {banner}");
        }
        banner.push_str(&line);
    }
    ServeProcess { child, banner }
}

fn banner_value(banner: &str, label: &str) -> String {
    banner
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("{label} in {banner}"))
}

#[tokio::test]
async fn serve_prints_keys_and_the_cli_works_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let server = serve(data);
    let b = &server.banner;
    assert!(
        b.contains("Created an application with a development instance"),
        "{b}"
    );
    let pk = banner_value(b, "Publishable key:");
    let sk = banner_value(b, "Secret key:");
    let fapi = banner_value(b, "Frontend API:");
    let bapi = banner_value(b, "Backend API:");
    let sign_in = banner_value(b, "Sign-in page:");
    assert!(
        pk.starts_with("pk_test_") && sk.starts_with("sk_test_"),
        "{b}"
    );
    assert_eq!(sign_in, format!("{fapi}/sign-in"));
    assert!(b.contains("localhost:3000 (primary, verified)"), "{b}");
    // The publishable key names the FAPI host, which has a dot (the published SDKs need one).
    let decoded = orbit_proto::PublishableKey::parse(&pk).unwrap();
    assert_eq!(format!("http://{}", decoded.fapi_host), fapi);

    // instance show --json while the server runs.
    let (ok, out, err) = run(&["instance", "show", "--json", "--data-dir", data]);
    assert!(ok, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["publishable_key"], pk);
    assert_eq!(shown["secret_key"], sk);
    assert_eq!(shown["frontend_api_url"], fapi);
    assert_eq!(shown["backend_api_url"], bapi);
    assert_eq!(
        shown["domains"],
        serde_json::json!([{
            "id": shown["domains"][0]["id"], "name": "localhost:3000", "is_satellite": false, "verified": true, "frontend_api_url": fapi,
            "verification_error": null
        }])
    );
    let (ok, text, _) = run(&["instance", "show", "--data-dir", data]);
    assert!(ok && text.contains(&pk));

    // The printed secret key works against the printed BAPI URL.
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{bapi}/v1/users"))
        .bearer_auth(&sk)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // user create, then sign in on the portal.
    let (ok, out, err) = run(&[
        "user",
        "create",
        "--email",
        "cli@example.com",
        "--password",
        GOOD_PASSWORD,
        "--data-dir",
        data,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("cli@example.com"));
    let (ok, _, err) = run(&[
        "user",
        "create",
        "--email",
        "cli@example.com",
        "--password",
        GOOD_PASSWORD,
        "--data-dir",
        data,
    ]);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    let (ok, _, err) = run(&[
        "user",
        "create",
        "--email",
        "weak@example.com",
        "--password",
        "password",
        "--data-dir",
        data,
    ]);
    assert!(!ok);
    assert!(err.contains("commonly used"), "{err}");
    let browser = Browser {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        origin: fapi.clone(),
    };
    let r = browser
        .submit(
            &format!("{fapi}/sign-in"),
            &format!("{fapi}/sign-in"),
            &[
                ("email_address", "cli@example.com"),
                ("password", GOOD_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // keys rotate while running: the server picks the new key up (its key cache lives 10 s)
    // and publishes both.
    let before: Value = http
        .get(format!("{fapi}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(before["keys"].as_array().unwrap().len(), 1);
    let (ok, out, err) = run(&["keys", "rotate", "--data-dir", data]);
    assert!(ok, "{err}");
    assert!(out.contains("stays in the JWKS"), "{out}");
    let deadline = stopwatch() + Duration::from_secs(20);
    loop {
        let now: Value = http
            .get(format!("{fapi}/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if now["keys"].as_array().unwrap().len() == 2 {
            break;
        }
        assert!(
            stopwatch() < deadline,
            "the server did not pick up the rotated key: {now}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(server);

    // A second start on the same data directory creates nothing new.
    let again = serve(data);
    assert!(
        !again.banner.contains("Created an application"),
        "{}",
        again.banner
    );
}

#[tokio::test]
async fn domain_commands() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let server = serve(data);
    // Development: no DNS needed.
    let (ok, out, err) = run(&[
        "domain",
        "add-satellite",
        "http://localhost:3001",
        "--data-dir",
        data,
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Added satellite localhost:3001") && out.contains("need no DNS"),
        "{out}"
    );
    let (ok, _, err) = run(&[
        "domain",
        "add-satellite",
        "localhost:3001",
        "--data-dir",
        data,
    ]);
    assert!(!ok && err.contains("already registered"), "{err}");
    let (ok, _, err) = run(&["domain", "add-satellite", "co.uk", "--data-dir", data]);
    assert!(!ok && err.contains("public suffix"), "{err}");
    let (ok, out, _) = run(&["domain", "list", "--json", "--data-dir", data]);
    assert!(ok);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["name"], "localhost:3001");
    assert_eq!(list[1]["verified"], true);
    let (ok, out, _) = run(&["instance", "show", "--json", "--data-dir", data]);
    assert!(ok);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["domains"][1]["is_satellite"], true);

    // Allowed redirect origins.
    let (ok, out, err) = run(&[
        "instance",
        "set",
        "--allowed-redirect-origin",
        "https://*.preview.example",
        "--data-dir",
        data,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("https://*.preview.example"));
    let (ok, _, err) = run(&[
        "instance",
        "set",
        "--allowed-redirect-origin",
        "https://*.com",
        "--data-dir",
        data,
    ]);
    assert!(!ok && err.contains("allowed_redirect_origins"), "{err}");
    let (ok, _, err) = run(&["instance", "set", "--data-dir", data]);
    assert!(!ok && err.contains("nothing to change"), "{err}");

    // Production: a production instance, a satellite that needs DNS.
    let (ok, out, err) = run(&[
        "instance",
        "create-production",
        "--domain",
        "primary.example",
        "--data-dir",
        data,
    ]);
    assert!(ok, "{err}");
    let prod_id = out.split_whitespace().nth(3).unwrap().to_owned();
    let (ok, out, err) = run(&[
        "domain",
        "add-satellite",
        "shop.example",
        "--instance",
        &prod_id,
        "--data-dir",
        data,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("clerk.shop.example  CNAME"), "{out}");
    // No DNS server answers on this port: the check fails with the reason, and says what to do.
    let blackhole = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = blackhole.local_addr().unwrap().port();
    let out = orbit()
        .args([
            "domain",
            "verify",
            "shop.example",
            "--instance",
            &prod_id,
            "--data-dir",
            data,
        ])
        .env("ORBIT_DNS_SERVERS", format!("127.0.0.1:{port}"))
        .env("ORBIT_DNS_TIMEOUT_MS", "200")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not verified") && err.contains("timed out") && err.contains("CNAME"),
        "{err}"
    );
    let (_, out, _) = run(&["domain", "list", "--instance", &prod_id, "--data-dir", data]);
    assert!(
        out.contains("shop.example") && out.contains("timed out"),
        "{out}"
    );
    let (ok, out, err) = run(&[
        "domain",
        "remove",
        "shop.example",
        "--instance",
        &prod_id,
        "--data-dir",
        data,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("Removed"));
    let (ok, _, err) = run(&[
        "domain",
        "remove",
        "primary.example",
        "--instance",
        &prod_id,
        "--data-dir",
        data,
    ]);
    assert!(
        !ok && err.contains("primary domain cannot be removed"),
        "{err}"
    );
    drop(server);
}
