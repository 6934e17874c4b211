//! The `orbit` binary as a user runs it: help, serve's banner, instance show, user create,
//! keys rotate, all against a running server.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub(crate) fn orbit() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_orbit"));
    // Keep the caller's ORBIT_* settings out of the tests.
    for (k, _) in std::env::vars() {
        if k.starts_with("ORBIT_") {
            c.env_remove(k);
        }
    }
    c
}

/// Runs `command` off the async runtime (it may call back into servers the test runs there);
/// (success, stdout, stderr).
pub(crate) async fn output_of(mut command: Command) -> (bool, String, String) {
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = orbit().args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Runs `orbit <args> --data-dir <data>`.
fn run_on(data: &str, args: &[&str]) -> (bool, String, String) {
    let mut all = args.to_vec();
    all.extend(["--data-dir", data]);
    run(&all)
}

/// Runs `orbit <args> --data-dir <data>`, which must succeed; returns its stdout.
fn succeeds(data: &str, args: &[&str]) -> String {
    let (ok, out, err) = run_on(data, args);
    assert!(ok, "{args:?}: {err}");
    out
}

/// Runs `orbit <args> --data-dir <data>`, which must fail; returns its stderr.
fn fails(data: &str, args: &[&str]) -> String {
    let (ok, out, err) = run_on(data, args);
    assert!(!ok, "{args:?} succeeded: {out}");
    err
}

#[test]
fn help_everywhere() {
    let (ok, out, _) = run(&["--help"]);
    assert!(ok);
    for cmd in ["serve", "instance", "keys", "user", "admin", "assets"] {
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
        &["admin", "--help"],
        &["admin", "create", "--help"],
        &["admin", "list", "--help"],
        &["assets", "--help"],
        &["assets", "fetch", "--help"],
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

pub(crate) struct ServeProcess {
    child: Child,
    pub(crate) banner: String,
}

impl ServeProcess {
    /// `kill -9`: the process gets no chance to finish anything.
    pub(crate) fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data_dir: &str) -> ServeProcess {
    serve_with(data_dir, &[])
}

/// `orbit serve` on `data_dir` with `extra` arguments (listening on `127.0.0.1:0` unless they
/// say `--listen`), once it has printed its banner.
pub(crate) fn serve_with(data_dir: &str, extra: &[&str]) -> ServeProcess {
    serve_with_env(data_dir, extra, &[])
}

/// `serve_with`, with extra environment variables.
pub(crate) fn serve_with_env(data_dir: &str, extra: &[&str], env: &[(&str, &str)]) -> ServeProcess {
    let listen = if extra.contains(&"--listen") {
        &[][..]
    } else {
        &["--listen", "127.0.0.1:0"][..]
    };
    let mut child = orbit()
        .args(["serve", "--data-dir", data_dir])
        .args(listen)
        .args(extra)
        .env("ORBIT_ARGON2_MEMORY_KIB", "1024")
        .env("ORBIT_ARGON2_ITERATIONS", "1")
        .envs(env.iter().copied())
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

pub(crate) fn banner_value(banner: &str, label: &str) -> String {
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
    let out = succeeds(data, &["instance", "show", "--json"]);
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
    let (ok, text, _) = run_on(data, &["instance", "show"]);
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
    let create = |email, password| ["user", "create", "--email", email, "--password", password];
    let out = succeeds(data, &create("cli@example.com", GOOD_PASSWORD));
    assert!(out.contains("cli@example.com"));
    let err = fails(data, &create("cli@example.com", GOOD_PASSWORD));
    assert!(err.contains("already exists"), "{err}");
    let err = fails(data, &create("weak@example.com", "password"));
    assert!(err.contains("commonly used"), "{err}");
    let browser = Browser::from_origin(&fapi);
    let r = browser.sign_in("cli@example.com", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // keys rotate while running: the server picks the new key up (its key cache lives 10 s)
    // and publishes both.
    let jwks = async || -> Value {
        http.get(format!("{fapi}/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    };
    let before = jwks().await;
    assert_eq!(before["keys"].as_array().unwrap().len(), 1);
    let out = succeeds(data, &["keys", "rotate"]);
    assert!(out.contains("stays in the JWKS"), "{out}");
    let deadline = stopwatch() + Duration::from_secs(20);
    loop {
        let now = jwks().await;
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
    let out = succeeds(data, &["domain", "add-satellite", "http://localhost:3001"]);
    assert!(
        out.contains("Added satellite localhost:3001") && out.contains("need no DNS"),
        "{out}"
    );
    let err = fails(data, &["domain", "add-satellite", "localhost:3001"]);
    assert!(err.contains("already registered"), "{err}");
    let err = fails(data, &["domain", "add-satellite", "co.uk"]);
    assert!(err.contains("public suffix"), "{err}");
    let out = succeeds(data, &["domain", "list", "--json"]);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["name"], "localhost:3001");
    assert_eq!(list[1]["verified"], true);
    let out = succeeds(data, &["instance", "show", "--json"]);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["domains"][1]["is_satellite"], true);

    // Allowed redirect origins.
    let origin = |o| ["instance", "set", "--allowed-redirect-origin", o];
    let out = succeeds(data, &origin("https://*.preview.example"));
    assert!(out.contains("https://*.preview.example"));
    let err = fails(data, &origin("https://*.com"));
    assert!(err.contains("allowed_redirect_origins"), "{err}");
    let err = fails(data, &["instance", "set"]);
    assert!(err.contains("nothing to change"), "{err}");

    // Production: a production instance, a satellite that needs DNS.
    let out = succeeds(
        data,
        &[
            "instance",
            "create-production",
            "--domain",
            "primary.example",
        ],
    );
    let prod_id = out.split_whitespace().nth(3).unwrap().to_owned();
    let in_prod = |args: &[&'static str]| [args, &["--instance", &prod_id]].concat();
    let out = succeeds(data, &in_prod(&["domain", "add-satellite", "shop.example"]));
    assert!(out.contains("clerk.shop.example  CNAME"), "{out}");
    // No DNS server answers on this port: the check fails with the reason, and says what to do.
    let blackhole = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = blackhole.local_addr().unwrap().port();
    let out = orbit()
        .args(in_prod(&["domain", "verify", "shop.example"]))
        .args(["--data-dir", data])
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
    let (_, out, _) = run_on(data, &in_prod(&["domain", "list"]));
    assert!(
        out.contains("shop.example") && out.contains("timed out"),
        "{out}"
    );
    let out = succeeds(data, &in_prod(&["domain", "remove", "shop.example"]));
    assert!(out.contains("Removed"));
    let err = fails(data, &in_prod(&["domain", "remove", "primary.example"]));
    assert!(err.contains("primary domain cannot be removed"), "{err}");
    drop(server);
}

/// Runs `orbit <args> --data-dir <data>` with `stdin` on its standard input.
fn run_with_stdin(data: &str, args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = orbit()
        .args(args)
        .args(["--data-dir", data])
        .env("ORBIT_ARGON2_MEMORY_KIB", "1024")
        .env("ORBIT_ARGON2_ITERATIONS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test]
async fn serve_prints_a_setup_link_until_admin_create_makes_an_operator() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let first = serve(data);
    let dashboard = banner_value(&first.banner, "Dashboard:");
    assert!(dashboard.ends_with("/dashboard"), "{}", first.banner);
    let link = first
        .banner
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&format!("{dashboard}/setup?token=")))
        .unwrap_or_else(|| panic!("a setup link in {}", first.banner))
        .to_owned();
    assert!(first.banner.contains("within 24 hours"), "{}", first.banner);
    assert!(!first.banner.to_lowercase().contains("default password"));
    let page = reqwest::get(&link).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    drop(first);

    // Each start while no operator exists prints a new link.
    let second = serve(data);
    assert!(second.banner.contains("/dashboard/setup?token="));
    assert!(!second.banner.contains(&link), "a new link each start");

    let create = [
        "admin",
        "create",
        "--email",
        "root@example.com",
        "--password-stdin",
    ];
    let (ok, _, err) = run_with_stdin(data, &create, "password\n");
    assert!(!ok);
    assert!(err.contains("commonly used"), "the policy's words: {err}");
    let (ok, _, err) = run_with_stdin(
        data,
        &["admin", "create", "--email", "root@example.com"],
        "",
    );
    assert!(!ok && err.contains("--password-stdin"), "{err}");
    let (ok, out, err) = run_with_stdin(data, &create, &format!("{GOOD_PASSWORD}\n"));
    assert!(ok, "{err}");
    assert!(out.contains("<root@example.com>"), "{out}");
    assert!(out.contains("Sign in at http://"), "{out}");
    let (ok, out, _) = run_with_stdin(data, &["admin", "list"], "");
    assert!(ok && out.starts_with("root@example.com"), "{out}");
    // The running server's dashboard takes the new operator's password.
    let dashboard = banner_value(&second.banner, "Dashboard:");
    let base = dashboard.trim_end_matches("/dashboard");
    let browser = Browser::from_origin(base);
    let url = format!("{base}/dashboard/sign-in");
    let signed_in = browser
        .submit(
            &url,
            &url,
            &[
                ("email_address", "root@example.com"),
                ("password", GOOD_PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    drop(second);

    let third = serve(data);
    assert!(
        !third.banner.contains("setup?token="),
        "no link once an operator exists: {}",
        third.banner
    );
}
