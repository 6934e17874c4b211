//! `orbit-bench`: measures a real `orbit serve` process against the raw cost of the work it
//! cannot avoid, on the same machine in the same run.
//!
//! The server runs as a child process pinned to one CPU (`taskset -c 0`); this process pins
//! itself (its load-generating threads) to another CPU. The measurements:
//!
//! 1. Session token mint through the Backend API, and through the Frontend API as clerk-js asks
//!    (browsers signed in through FAPI, their `__client` cookie and the app's `Origin`), both
//!    against RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second with aws-lc-rs on one thread
//!    on the server's CPU.
//! 2. Password sign-in through the hosted portal (GET + POST /sign-in), against argon2id hashes
//!    per second at the server's default parameters on one thread on the server's CPU.
//! 3. Resident memory of the server, idle and after creating many users with a session each.
//! 4. A sign-in flood against a second server with the default abuse limits: how many attempts
//!    it answers, how many it sheds, and how long an honest sign-in takes meanwhile.
//! 5. With `--postgres`: 1 and 2 again on PostgreSQL, on one node and (`--postgres-two-nodes`)
//!    two, through a proxy that counts the database round trips per operation, with the CPU of
//!    the nodes and of PostgreSQL per operation and what that predicts for N nodes.
//!
//! The report is a Markdown table on stdout; progress goes to stderr. See BENCHMARKS.md.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use clap::Parser;
use orbit_core::clock::{Clock as _, SystemClock};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::fmt::{Display, Write as _};
use std::future::Future;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---- command line ---------------------------------------------------------------------------

#[derive(Debug, Parser)]
#[command(
    name = "orbit-bench",
    version,
    about = "Benchmarks a real `orbit serve` process: token mint, password sign-in and memory, each against a raw limit measured in the same run.",
    long_about = "Benchmarks a real `orbit serve` process (the `orbit` binary next to this one) started in a \
fresh temporary data directory and pinned to one CPU with `taskset`.\n\n\
Measures session tokens per second through the Backend API, and through the Frontend API as clerk-js asks for them, against RSA-2048 signatures per second (aws-lc-rs, one \
thread on the server's CPU), portal password sign-ins per second against argon2id hashes per second at the server's \
default parameters (m=19456 KiB, t=2, p=1), and the server's resident memory idle and after creating --users users \
with one session each.\n\n\
Build first with `cargo build --release -p orbit-server -p orbit-bench`, then run `target/release/orbit-bench`. \
Prints a Markdown report on stdout and progress on stderr."
)]
struct Args {
    /// Users (each with one session, no password) created through the Backend API before the
    /// second memory reading.
    #[arg(long, default_value_t = 100_000)]
    users: u64,
    /// Length of each throughput measurement window, in seconds (after the warm-up), and of each
    /// raw-limit loop.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Warm-up before each throughput window and raw-limit loop, in seconds (not counted).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Concurrent in-flight token requests (keep-alive HTTP/1.1 connections).
    #[arg(long, default_value_t = 12)]
    token_concurrency: usize,
    /// Concurrent sign-in attempts.
    #[arg(long, default_value_t = 4)]
    sign_in_concurrency: usize,
    /// Users with a password created for the sign-in measurement.
    #[arg(long, default_value_t = 20)]
    sign_in_users: usize,
    /// Concurrent requests while creating users and sessions for the memory measurement.
    #[arg(long, default_value_t = 32)]
    create_concurrency: usize,
    /// Attackers in flight during the sign-in flood (each attempt from its own IPv6 /64, with a
    /// wrong password for an address that has no account); 0 skips the flood phase.
    #[arg(long, default_value_t = 64)]
    flood_concurrency: usize,
    /// CPU the server (and the raw-limit loops) run on.
    #[arg(long, default_value_t = 0)]
    server_cpu: usize,
    /// CPU this process's load-generating threads run on.
    #[arg(long, default_value_t = 1)]
    bench_cpu: usize,
    /// Path of the `orbit` binary [default: `orbit` next to this executable].
    #[arg(long)]
    orbit: Option<PathBuf>,
    /// Keep the temporary data directory (and the server log) instead of deleting it.
    #[arg(long)]
    keep_data: bool,
    /// Also run the token-mint and sign-in phases against a server on PostgreSQL, for a
    /// SQLite-vs-PostgreSQL table in the same run: `postgres://user@host:port` of a server
    /// where this user may CREATE DATABASE (a fresh `orbit_bench_<pid>` is created and dropped
    /// with `psql`). The server reaches the database through a counting TCP proxy in this
    /// process (round trips per operation). PostgreSQL itself is not pinned.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// With --postgres: also run the token-mint and sign-in windows against two `orbit serve` on
    /// the one database (the second reads the first's master.key, has the first's public URL and
    /// runs on --bench-cpu): token worker w on node w % 2, sign-in attempt n on node n % 2.
    #[arg(long, requires = "postgres")]
    postgres_two_nodes: bool,
}

// ---- errors ---------------------------------------------------------------------------------

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

trait Context<T> {
    fn context(self, what: impl Display) -> Res<T>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn context(self, what: impl Display) -> Res<T> {
        self.map_err(|e| format!("{what}: {e}").into())
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: impl Display) -> Res<T> {
        self.ok_or_else(|| what.to_string().into())
    }
}

/// Now, on the monotonic clock: measuring real elapsed time is what a benchmark does, and the
/// one legitimate use of `Instant::now` (clippy.toml bans it elsewhere), so it is read here only.
#[allow(clippy::disallowed_methods)]
fn stopwatch() -> Instant {
    Instant::now()
}

fn main() -> ExitCode {
    let args = Args::parse();
    match real_main(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orbit-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(args: Args) -> Res<()> {
    if !args.seconds.is_finite()
        || args.seconds <= 0.0
        || !args.warmup.is_finite()
        || args.warmup < 0.0
    {
        return Err("--seconds must be > 0 and --warmup >= 0".into());
    }
    if args.token_concurrency == 0
        || args.sign_in_concurrency == 0
        || args.create_concurrency == 0
        || args.sign_in_users == 0
    {
        return Err("concurrency and --sign-in-users must be at least 1".into());
    }
    let taskset_ok = Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !taskset_ok {
        return Err(
            "`taskset` was not found; install util-linux (e.g. `apt-get install util-linux`)"
                .into(),
        );
    }
    let orbit = match &args.orbit {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .context("locating this executable")?
            .with_file_name("orbit"),
    };
    if !orbit.is_file() {
        return Err(format!(
            "the server binary {} does not exist; run `cargo build --release -p orbit-server --bins` first (or pass --orbit)",
            orbit.display()
        )
        .into());
    }
    let facts = MachineFacts::collect(&orbit);
    if facts.cpus < 2 {
        eprintln!(
            "warning: only {} CPU(s); the server and the load generator will share a CPU",
            facts.cpus
        );
    }
    if args.server_cpu == args.bench_cpu {
        eprintln!("warning: --server-cpu and --bench-cpu are the same CPU; the load generator will compete with the server");
    }
    // Pin this process before any other thread exists, so that every thread it starts (the
    // tokio workers that generate load) inherits the mask.
    let bench_pin = pin_process(args.bench_cpu);
    match &bench_pin {
        Ok(list) => eprintln!("load generator pinned to CPU {list}"),
        Err(e) => eprintln!(
            "warning: could not pin the load generator to CPU {}: {e}",
            args.bench_cpu
        ),
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let report = rt.block_on(async {
        tokio::select! {
            r = run(&args, &orbit, &facts) => r,
            _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
        }
    })?;
    print!("{}", report.markdown(&args, &facts, &bench_pin));
    Ok(())
}

// ---- machine facts, pinning and /proc -------------------------------------------------------

struct MachineFacts {
    cpu_model: String,
    cpus: usize,
    kernel: String,
    mem_total: String,
    date: String,
    orbit_version: String,
    compilers_at_start: String,
}

fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// How many `rustc` and `cargo` processes run now (other load on this machine).
fn compilers_running() -> String {
    let count = |name: &str| match Command::new("pgrep")
        .args(["-x", name])
        .stderr(Stdio::null())
        .output()
    {
        Ok(out) => Some(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count(),
        ),
        Err(_) => None,
    };
    match (count("rustc"), count("cargo")) {
        (Some(r), Some(c)) => format!("{r} rustc, {c} cargo"),
        _ => "unknown (pgrep missing)".into(),
    }
}

impl MachineFacts {
    fn collect(orbit: &Path) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let cpus = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count()
            .max(1);
        let kernel = command_output("uname", &["-srm"]).unwrap_or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| "unknown".into())
        });
        let mem_total = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .map(|l| l.to_owned())
            })
            .and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
            })
            .map(|kib| format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0))
            .unwrap_or_else(|| "unknown".into());
        let date = command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
            .unwrap_or_else(|| format!("{} s since the Unix epoch", SystemClock.now_ms() / 1000));
        let orbit_version = command_output(&orbit.to_string_lossy(), &["--version"])
            .unwrap_or_else(|| "unknown".into());
        Self {
            cpu_model,
            cpus,
            kernel,
            mem_total,
            date,
            orbit_version,
            compilers_at_start: compilers_running(),
        }
    }
}

/// `Cpus_allowed_list` of a /proc status file.
fn allowed_cpus(status_path: &str) -> Option<String> {
    let s = std::fs::read_to_string(status_path).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_owned())
}

/// Pins every thread of this process to `cpu`; returns the resulting allowed list.
fn pin_process(cpu: usize) -> Result<String, String> {
    let pid = std::process::id().to_string();
    let cpu_s = cpu.to_string();
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", &cpu_s, &pid])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| e.to_string())?;
    if !status.status.success() {
        return Err(String::from_utf8_lossy(&status.stderr).trim().to_owned());
    }
    let list = allowed_cpus("/proc/self/status").ok_or("cannot read /proc/self/status")?;
    if list == cpu_s {
        Ok(list)
    } else {
        Err(format!("allowed CPUs are {list}"))
    }
}

/// The calling thread's id, from /proc/thread-self.
fn current_tid() -> Result<String, String> {
    let link =
        std::fs::read_link("/proc/thread-self").map_err(|e| format!("/proc/thread-self: {e}"))?;
    link.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .ok_or_else(|| "no thread id".to_owned())
}

/// Pins the calling thread to `cpu` (through `taskset -p` on its thread id).
fn pin_current_thread(cpu: usize) -> Result<String, String> {
    let tid = current_tid()?;
    let cpu_s = cpu.to_string();
    let out = Command::new("taskset")
        .args(["-p", "-c", &cpu_s, &tid])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    let list =
        allowed_cpus("/proc/thread-self/status").ok_or("cannot read /proc/thread-self/status")?;
    if list == cpu_s {
        Ok(list)
    } else {
        Err(format!("allowed CPUs are {list}"))
    }
}

/// A `kB` field (VmRSS, VmHWM) of /proc/<pid>/status, in bytes.
fn proc_status_bytes(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(stat_path: &str) -> Option<u64> {
    let s = std::fs::read_to_string(stat_path).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command name: state is field 3, utime 14, stime 15 (1-based, proc(5)).
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn clock_ticks_per_sec() -> f64 {
    command_output("getconf", &["CLK_TCK"])
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(100.0)
}

/// Busy (user+nice+system+irq+softirq) and steal ticks of one CPU, from /proc/stat.
fn cpu_busy_steal(cpu: usize) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let name = format!("cpu{cpu}");
    let line = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name.as_str()))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let busy = v.first()? + v.get(1)? + v.get(2)? + v.get(5)? + v.get(6)?;
    Some((busy, *v.get(7)?))
}

/// A snapshot for `CpuUse::between`: the measured CPU's busy and steal ticks and the CPU time
/// of the thing under test (the server process, or the raw-limit thread).
struct CpuSnap {
    cpu: Option<(u64, u64)>,
    own: Option<u64>,
    at: Instant,
}

impl CpuSnap {
    fn take(cpu: usize, own_stat: &str) -> Self {
        Self {
            cpu: cpu_busy_steal(cpu),
            own: cpu_ticks(own_stat),
            at: stopwatch(),
        }
    }
}

/// How the measured CPU was used over a window, as shares of the window's wall time.
#[derive(Debug, Clone, Copy, Default)]
struct CpuUse {
    /// The thing under test (server process or raw thread).
    own: f64,
    /// Everything else that ran on that CPU (other processes, this machine's compilers...).
    others: f64,
    /// Time the hypervisor gave that virtual CPU to someone else.
    steal: f64,
}

impl CpuUse {
    fn between(a: &CpuSnap, b: &CpuSnap) -> Option<Self> {
        let hz = clock_ticks_per_sec();
        let wall = (b.at - a.at).as_secs_f64();
        let ((busy0, steal0), (busy1, steal1)) = (a.cpu?, b.cpu?);
        let own = b.own?.saturating_sub(a.own?) as f64 / hz / wall;
        let busy = busy1.saturating_sub(busy0) as f64 / hz / wall;
        let steal = steal1.saturating_sub(steal0) as f64 / hz / wall;
        Some(Self {
            own,
            others: (busy - own).max(0.0),
            steal,
        })
    }

    /// Whether something else competed for the CPU (more than 5% of the window) or the thing
    /// under test could not keep it busy.
    fn disturbed(&self, min_own: f64) -> bool {
        self.own < min_own || self.others > 0.05 || self.steal > 0.05
    }

    fn describe(&self, what: &str) -> String {
        format!(
            "{what} {:.0}%, other processes {:.0}%, steal {:.0}%",
            self.own * 100.0,
            self.others * 100.0,
            self.steal * 100.0
        )
    }
}

/// 100000 -> "100,000".
fn thousands(n: u64) -> String {
    let digits: Vec<char> = n.to_string().chars().collect();
    let groups: Vec<String> = digits
        .rchunks(3)
        .rev()
        .map(|g| g.iter().collect())
        .collect();
    groups.join(",")
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

// ---- the server child -----------------------------------------------------------------------

/// The `orbit serve` child and its temporary directory; dropping it kills the server and
/// removes the directory (unless --keep-data).
struct Server {
    child: Child,
    pid: u32,
    port: u16,
    root: PathBuf,
    data_dir: PathBuf,
    /// `--database-url` given to the server (and to `orbit instance show`); `None`: SQLite.
    database_url: Option<String>,
    keep: bool,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.keep {
            eprintln!("kept the data directory {}", self.root.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

impl Server {
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn rss(&self) -> Res<u64> {
        proc_status_bytes(self.pid, "VmRSS:").context(format!("reading VmRSS of pid {}", self.pid))
    }

    /// "anon X, file Y, shmem Z" from /proc/<pid>/status.
    fn rss_breakdown(&self) -> String {
        let f = |k: &str| {
            proc_status_bytes(self.pid, k)
                .map(mb)
                .unwrap_or_else(|| "n/a".into())
        };
        format!(
            "anon {}, file {}, shmem {}",
            f("RssAnon:"),
            f("RssFile:"),
            f("RssShmem:")
        )
    }
}

fn orbit_command(orbit: &Path, args: &Args) -> Command {
    let mut cmd = Command::new("taskset");
    cmd.arg("-c").arg(args.server_cpu.to_string()).arg(orbit);
    // Nothing from this shell's ORBIT_* environment (e.g. argon2 overrides) reaches the server.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ORBIT_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// How the server's sign-in abuse limits are set for a phase.
#[derive(Clone, Copy, PartialEq)]
enum Limits {
    /// Raised so far that they never trigger: the phase measures throughput.
    Raised,
    /// The defaults, with this process trusted as a proxy so that `X-Forwarded-For` picks
    /// each request's source: the phase measures how the server sheds a flood.
    DefaultsBehindProxy,
}

/// The load generator's client: no redirects followed, many idle connections kept.
fn http_client() -> Res<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(120))
        .build()
        .context("building the HTTP client")
}

fn start_server(
    orbit: &Path,
    args: &Args,
    limits: Limits,
    database_url: Option<&str>,
    master_key_file: Option<&Path>,
    public_url: Option<&str>,
) -> Res<Server> {
    let nanos = SystemClock.now_ms();
    let root = std::env::temp_dir().join(format!("orbit-bench-{}-{nanos:x}", std::process::id()));
    let data_dir = root.join("data");
    std::fs::create_dir_all(&root).context(format!("creating {}", root.display()))?;
    let log = std::fs::File::create(root.join("server.log")).context("creating the server log")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("finding a free port")?
        .port();
    let mut cmd = orbit_command(orbit, args);
    cmd.arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&data_dir)
        .env("ORBIT_LOG", "warn");
    if let Some(url) = database_url {
        cmd.arg("--database-url").arg(url);
    }
    if let Some(key) = master_key_file {
        cmd.arg("--master-key-file").arg(key);
    }
    if let Some(public) = public_url {
        cmd.arg("--public-url").arg(public);
    }
    match limits {
        Limits::Raised => {
            cmd.env("ORBIT_SIGN_IN_PER_IP_BURST", "1000000")
                .env("ORBIT_SIGN_IN_PER_IP_PER_MINUTE", "1000000")
                .env("ORBIT_SIGN_IN_PER_ACCOUNT_BURST", "1000000")
                .env("ORBIT_SIGN_IN_PER_ACCOUNT_PER_HOUR", "1000000")
                .env("ORBIT_SIGN_IN_PER_INSTANCE_PER_MINUTE", "1000000");
        }
        Limits::DefaultsBehindProxy => {
            cmd.env("ORBIT_TRUSTED_PROXIES", "127.0.0.1");
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&root);
            return Err(format!(
                "starting `taskset -c {} {} serve`: {e}",
                args.server_cpu,
                orbit.display()
            )
            .into());
        }
    };
    let pid = child.id();
    Ok(Server {
        child,
        pid,
        port,
        root,
        data_dir,
        database_url: database_url.map(str::to_owned),
        keep: args.keep_data,
    })
}

#[derive(Debug, Clone)]
struct Keys {
    secret_key: String,
    frontend: String,
    backend: String,
}

async fn wait_ready(server: &mut Server, http: &reqwest::Client, base: &str) -> Res<()> {
    let deadline = stopwatch() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!(
                "the server exited ({status}) during start-up:\n{}",
                server.log_tail()
            )
            .into());
        }
        if let Ok(r) = http.get(format!("{base}/health")).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        if stopwatch() > deadline {
            return Err(format!(
                "the server did not answer /health within 60 s:\n{}",
                server.log_tail()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn instance_keys(orbit: &Path, args: &Args, server: &Server) -> Res<Keys> {
    let mut cmd = orbit_command(orbit, args);
    cmd.args(["instance", "show", "--json", "--data-dir"])
        .arg(&server.data_dir);
    if let Some(url) = &server.database_url {
        cmd.arg("--database-url").arg(url);
    }
    let out = cmd
        .output()
        .context("running `orbit instance show --json`")?;
    if !out.status.success() {
        return Err(format!(
            "`orbit instance show --json` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let v: Value =
        serde_json::from_slice(&out.stdout).context("parsing `orbit instance show --json`")?;
    let field = |k: &str| {
        v[k].as_str()
            .map(str::to_owned)
            .context(format!("`orbit instance show --json` has no {k}"))
    };
    let _publishable = field("publishable_key")?;
    Ok(Keys {
        secret_key: field("secret_key")?,
        frontend: field("frontend_api_url")?.trim_end_matches('/').to_owned(),
        backend: field("backend_api_url")?.trim_end_matches('/').to_owned(),
    })
}

// ---- Backend API helpers --------------------------------------------------------------------

#[derive(Clone)]
struct Bapi {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl Bapi {
    async fn post(&self, path: &str, body: &Value) -> Result<Value, String> {
        let sent = self
            .http
            .post(format!("{}{path}", self.base))
            .header(AUTHORIZATION, &self.auth)
            .json(body)
            .send()
            .await;
        json_answer(&format!("POST {path}"), sent).await
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        let sent = self
            .http
            .get(format!("{}{path}", self.base))
            .header(AUTHORIZATION, &self.auth)
            .send()
            .await;
        json_answer(&format!("GET {path}"), sent).await
    }

    async fn create_user(&self, email: &str, password: Option<&str>) -> Result<String, String> {
        let mut body = json!({ "email_address": [email] });
        if let Some(p) = password {
            body["password"] = json!(p);
        }
        let v = self.post("/v1/users", &body).await?;
        v["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("POST /v1/users: no id in {v}"))
    }

    async fn create_session(&self, user_id: &str) -> Result<String, String> {
        let v = self
            .post("/v1/sessions", &json!({ "user_id": user_id }))
            .await?;
        v["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("POST /v1/sessions: no id in {v}"))
    }
}

/// The JSON body of a 200 answer to the request `what` ("POST /v1/users"); a transport error,
/// any other status or a body that is not JSON is an error.
async fn json_answer(
    what: &str,
    sent: reqwest::Result<reqwest::Response>,
) -> Result<Value, String> {
    let resp = sent.map_err(|e| format!("{what}: {e}"))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| format!("{what}: reading the body: {e}"))?;
    if status != StatusCode::OK {
        return Err(format!("{what}: HTTP {status}: {}", snippet(&text)));
    }
    serde_json::from_str(&text).map_err(|e| format!("{what}: {e}"))
}

fn snippet(s: &str) -> String {
    let s = s.trim();
    let mut out: String = s.chars().take(160).collect();
    if s.chars().count() > 160 {
        out.push('…');
    }
    out.replace('\n', " ")
}

// ---- closed-loop load -----------------------------------------------------------------------

struct LoadResult {
    /// Successful operations that completed inside the measurement window.
    ok: u64,
    /// Failed operations during warm-up and window.
    errors: u64,
    error_samples: Vec<String>,
    latencies: Vec<Duration>,
    window: Duration,
    /// Use of the server's CPU during the window.
    server_cpu: Option<CpuUse>,
    /// Share of one CPU this process used during the window.
    bench_cpu: Option<f64>,
}

impl LoadResult {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }
    /// CPU time per completed operation, in ms, of `share` of one CPU over the window.
    fn cpu_per_op_ms(&self, share: Option<f64>) -> Option<f64> {
        let ops = self.ok;
        share
            .filter(|_| ops > 0)
            .map(|s| s * self.window.as_secs_f64() / ops as f64 * 1000.0)
    }
    fn percentile(&self, p: f64) -> Option<Duration> {
        if self.latencies.is_empty() {
            return None;
        }
        let mut v = self.latencies.clone();
        v.sort_unstable();
        let idx = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
        v.get(idx.min(v.len() - 1)).copied()
    }
}

/// Runs `concurrency` workers, each doing `op(worker, iteration)` back to back, for the warm-up
/// and then the window; counts the operations that finish inside the window.
async fn closed_loop<F, Fut>(
    concurrency: usize,
    warmup: Duration,
    window: Duration,
    server_pid: u32,
    server_cpu: usize,
    op: F,
) -> LoadResult
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let start = stopwatch();
    let window_start = start + warmup;
    let end = window_start + window;
    let samples: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for w in 0..concurrency {
        let op = op.clone();
        let samples = samples.clone();
        let errors = errors.clone();
        handles.push(tokio::spawn(async move {
            let mut ok = 0u64;
            let mut lat = Vec::new();
            let mut i = 0u64;
            while stopwatch() < end {
                let t0 = stopwatch();
                let r = op(w, i).await;
                let t1 = stopwatch();
                i += 1;
                match r {
                    Ok(()) => {
                        if t1 >= window_start && t1 <= end {
                            ok += 1;
                            lat.push(t1 - t0);
                        }
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut s) = samples.lock() {
                            if s.len() < 5 {
                                s.push(e);
                            }
                        }
                    }
                }
            }
            (ok, lat)
        }));
    }
    // CPU use of the server and of this process over the window.
    let hz = clock_ticks_per_sec();
    let server_stat = format!("/proc/{server_pid}/stat");
    tokio::time::sleep_until(window_start.into()).await;
    let s0 = CpuSnap::take(server_cpu, &server_stat);
    let b0 = cpu_ticks("/proc/self/stat");
    let w0 = stopwatch();
    tokio::time::sleep_until(end.into()).await;
    let s1 = CpuSnap::take(server_cpu, &server_stat);
    let b1 = cpu_ticks("/proc/self/stat");
    let measured = w0.elapsed().as_secs_f64();
    let share = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) if measured > 0.0 => Some((b.saturating_sub(a)) as f64 / hz / measured),
        _ => None,
    };
    let mut ok = 0;
    let mut latencies = Vec::new();
    for h in handles {
        if let Ok((n, l)) = h.await {
            ok += n;
            latencies.extend(l);
        }
    }
    let error_samples = samples.lock().map(|s| s.clone()).unwrap_or_default();
    LoadResult {
        ok,
        errors: errors.load(Ordering::Relaxed),
        error_samples,
        latencies,
        window,
        server_cpu: CpuUse::between(&s0, &s1),
        bench_cpu: share(b0, b1),
    }
}

// ---- raw limits -----------------------------------------------------------------------------

/// A raw limit measured twice, right before and right after the server's window (the server
/// idle both times), so that drift in the machine's speed over the run (other tenants, shared
/// caches) affects both sides of the ratio alike. `per_sec` is the mean of the two.
struct RawResult {
    per_sec: f64,
    before: f64,
    after: f64,
    count: u64,
    pinned: Result<String, String>,
    cpu_before: Option<CpuUse>,
    cpu_after: Option<CpuUse>,
}

impl RawResult {
    fn disturbed(&self) -> bool {
        [self.cpu_before, self.cpu_after]
            .iter()
            .any(|c| c.is_none_or(|c| c.disturbed(0.95)))
    }
    fn describe_cpu(&self) -> String {
        let d = |c: Option<CpuUse>| {
            c.map(|c| c.describe("raw thread"))
                .unwrap_or_else(|| "n/a".into())
        };
        format!(
            "before: {}; after: {}",
            d(self.cpu_before),
            d(self.cpu_after)
        )
    }
}

type RawLoop = fn(usize, Duration, Duration) -> Result<(f64, u64, Option<CpuUse>), String>;

/// One raw-limit loop on a thread pinned to `cpu`.
async fn raw_once(
    cpu: usize,
    f: RawLoop,
    warmup: Duration,
    window: Duration,
) -> Res<((f64, u64, Option<CpuUse>), Result<String, String>)> {
    on_pinned_thread(cpu, move || f(cpu, warmup, window)).await
}

/// Runs `f` on a new thread pinned to `cpu` and waits for it without blocking the runtime.
async fn on_pinned_thread<T: Send + 'static>(
    cpu: usize,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Res<(T, Result<String, String>)> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("orbit-bench-raw".into())
        .spawn(move || {
            let pinned = pin_current_thread(cpu);
            let _ = tx.send(f().map(|v| (v, pinned)));
        })
        .context("starting the raw-limit thread")?;
    let r = rx.await.context("the raw-limit thread died")?;
    r.map_err(Into::into)
}

/// RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second with aws-lc-rs on one thread.
fn raw_rsa(
    cpu: usize,
    warmup: Duration,
    window: Duration,
) -> Result<(f64, u64, Option<CpuUse>), String> {
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
    let pair =
        RsaKeyPair::generate(KeySize::Rsa2048).map_err(|e| format!("RSA key generation: {e}"))?;
    let rng = aws_lc_rs::rand::SystemRandom::new();
    // About the size of a session token's signing input (base64url header.claims).
    let message: Vec<u8> = (0..600u32).map(|i| b'A' + (i % 26) as u8).collect();
    let mut sig = vec![0u8; pair.public_modulus_len()];
    let mut sign = || {
        pair.sign(&RSA_PKCS1_SHA256, &rng, &message, &mut sig)
            .map_err(|e| format!("RSA signing: {e}"))
    };
    let t = stopwatch();
    while t.elapsed() < warmup {
        sign()?;
    }
    let snap = CpuSnap::take(cpu, "/proc/thread-self/stat");
    let t = stopwatch();
    let mut n = 0u64;
    while t.elapsed() < window {
        sign()?;
        n += 1;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    Ok((
        rate,
        n,
        CpuUse::between(&snap, &CpuSnap::take(cpu, "/proc/thread-self/stat")),
    ))
}

/// argon2id hashes per second at the server's default parameters, on one thread.
fn raw_argon2(
    cpu: usize,
    warmup: Duration,
    window: Duration,
) -> Result<(f64, u64, Option<CpuUse>), String> {
    use argon2::{Algorithm, Argon2, Params, Version};
    let d = orbit_core::password::HashParams::default();
    let params = Params::new(d.memory_kib, d.iterations, d.parallelism, Some(32))
        .map_err(|e| e.to_string())?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let password = b"Orbit-bench-password-0-q7Zx";
    let salt = *b"orbit-bench-salt";
    let mut out = [0u8; 32];
    let mut hash = || {
        argon
            .hash_password_into(password, &salt, &mut out)
            .map_err(|e| format!("argon2: {e}"))
    };
    let t = stopwatch();
    hash()?;
    while t.elapsed() < warmup {
        hash()?;
    }
    let snap = CpuSnap::take(cpu, "/proc/thread-self/stat");
    let t = stopwatch();
    let mut n = 0u64;
    while t.elapsed() < window {
        hash()?;
        n += 1;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    Ok((
        rate,
        n,
        CpuUse::between(&snap, &CpuSnap::take(cpu, "/proc/thread-self/stat")),
    ))
}

// ---- the measurements -----------------------------------------------------------------------

struct MemoryResult {
    users: u64,
    errors: u64,
    error_samples: Vec<String>,
    elapsed: Duration,
    rss_after: u64,
    rss_after_parts: String,
    hwm_after: Option<u64>,
    db_bytes: u64,
    wal_bytes: u64,
    shm_bytes: u64,
    wal_peak: u64,
}

struct Report {
    server_pin: String,
    idle_rss: u64,
    idle_rss_parts: String,
    memory: MemoryResult,
    rsa: RawResult,
    tokens: LoadResult,
    token_verified: Result<(), String>,
    /// The same window through FAPI, as clerk-js asks (between `tokens` and `rsa`'s "after").
    fapi_tokens: LoadResult,
    fapi_token_verified: Result<(), String>,
    argon: RawResult,
    sign_ins: LoadResult,
    end_rss: Option<u64>,
    end_hwm: Option<u64>,
    compilers_at_end: String,
    flood: Option<FloodResult>,
    postgres: Option<PgResult>,
}

async fn run(args: &Args, orbit: &Path, _facts: &MachineFacts) -> Res<Report> {
    let warmup = Duration::from_secs_f64(args.warmup);
    let window = Duration::from_secs_f64(args.seconds);
    let mut server = start_server(orbit, args, Limits::Raised, None, None, None)?;
    eprintln!(
        "started `taskset -c {} orbit serve` (pid {}) in {}",
        args.server_cpu,
        server.pid,
        server.root.display()
    );
    let http = http_client()?;

    let listen_base = format!("http://127.0.0.1:{}", server.port);
    wait_ready(&mut server, &http, &listen_base).await?;
    let keys = instance_keys(orbit, args, &server)?;
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", server.pid)).unwrap_or_default();
    if comm.trim() != "orbit" {
        return Err(format!(
            "pid {} is {:?}, not `orbit` (taskset did not exec?)",
            server.pid,
            comm.trim()
        )
        .into());
    }
    let server_pin =
        allowed_cpus(&format!("/proc/{}/status", server.pid)).unwrap_or_else(|| "unknown".into());
    eprintln!(
        "server ready at {} (FAPI) / {} (BAPI), allowed CPUs {server_pin}",
        keys.frontend, keys.backend
    );
    let bapi = Bapi {
        http: http.clone(),
        base: keys.backend.clone(),
        auth: format!("Bearer {}", keys.secret_key),
    };

    // 1. Idle memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = server.rss()?;
    let idle_rss_parts = server.rss_breakdown();
    eprintln!("idle VmRSS {}", mb(idle_rss));

    // 2. Memory after N users with one session each (first, so that the figure is not inflated
    //    by the sign-in measurement's argon2 buffers).
    let memory = create_users(&bapi, args, &server).await?;

    // 3. Token mint: sessions to mint for (through BAPI, and browsers signed in through FAPI),
    //    then the raw limit while the server idles, then the BAPI and FAPI windows.
    let sessions = token_sessions(&bapi, args).await?;
    let browsers = fapi_browsers(&bapi, &keys.frontend, args).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    eprintln!(
        "raw limit: RSA-2048 signatures on one thread on CPU {} ({:.0}+{:.0} s)...",
        args.server_cpu, args.warmup, args.seconds
    );
    let ((rsa_before, rsa_n1, rsa_cpu1), rsa_pin1) =
        raw_once(args.server_cpu, raw_rsa, warmup, window).await?;
    eprintln!("  {rsa_before:.0} signatures/s");
    eprintln!(
        "token mint: {} in flight, {:.0}+{:.0} s...",
        args.token_concurrency, args.warmup, args.seconds
    );
    let tokens = token_load(&sessions, args, server.pid).await;
    eprintln!("  {:.0} tokens/s, {} errors", tokens.rate(), tokens.errors);
    tokio::time::sleep(Duration::from_millis(500)).await;
    eprintln!(
        "token mint through FAPI as clerk-js: {} in flight, {:.0}+{:.0} s...",
        args.token_concurrency, args.warmup, args.seconds
    );
    let fapi_tokens = token_load(&browsers, args, server.pid).await;
    eprintln!(
        "  {:.0} tokens/s, {} errors",
        fapi_tokens.rate(),
        fapi_tokens.errors
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    eprintln!(
        "raw limit again, server idle: RSA-2048 signatures on CPU {}...",
        args.server_cpu
    );
    let ((rsa_after, rsa_n2, rsa_cpu2), rsa_pin2) =
        raw_once(args.server_cpu, raw_rsa, warmup, window).await?;
    eprintln!("  {rsa_after:.0} signatures/s");
    let rsa = RawResult {
        per_sec: (rsa_before + rsa_after) / 2.0,
        before: rsa_before,
        after: rsa_after,
        count: rsa_n1 + rsa_n2,
        pinned: rsa_pin1.and(rsa_pin2),
        cpu_before: rsa_cpu1,
        cpu_after: rsa_cpu2,
    };
    let token_verified = verify_one_token(&bapi, &sessions[0]).await;
    let fapi_token_verified = verify_one_token(&bapi, &browsers[0]).await;

    // 4. Password sign-in.
    let creds = sign_in_users(&bapi, args).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    eprintln!(
        "raw limit: argon2id m=19456 t=2 p=1 on one thread on CPU {} ({:.0}+{:.0} s)...",
        args.server_cpu, args.warmup, args.seconds
    );
    let ((argon_before, argon_n1, argon_cpu1), argon_pin1) =
        raw_once(args.server_cpu, raw_argon2, warmup, window).await?;
    eprintln!("  {argon_before:.1} hashes/s");
    eprintln!(
        "sign-in: {} concurrent attempts, {:.0}+{:.0} s...",
        args.sign_in_concurrency, args.warmup, args.seconds
    );
    let (sign_ins, _) = sign_in_load(
        &http,
        &[Portal::direct(&keys.frontend)],
        &creds,
        args,
        server.pid,
    )
    .await;
    eprintln!(
        "  {:.1} sign-ins/s, {} errors",
        sign_ins.rate(),
        sign_ins.errors
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    eprintln!(
        "raw limit again, server idle: argon2id on CPU {}...",
        args.server_cpu
    );
    let ((argon_after, argon_n2, argon_cpu2), argon_pin2) =
        raw_once(args.server_cpu, raw_argon2, warmup, window).await?;
    eprintln!("  {argon_after:.1} hashes/s");
    let argon = RawResult {
        per_sec: (argon_before + argon_after) / 2.0,
        before: argon_before,
        after: argon_after,
        count: argon_n1 + argon_n2,
        pinned: argon_pin1.and(argon_pin2),
        cpu_before: argon_cpu1,
        cpu_after: argon_cpu2,
    };

    tokio::time::sleep(Duration::from_secs(2)).await;
    let end_rss = server.rss().ok();
    let end_hwm = proc_status_bytes(server.pid, "VmHWM:");
    let compilers_at_end = compilers_running();
    drop(server);
    eprintln!("stopped the server");
    let postgres = match &args.postgres {
        Some(base) => Some(postgres_phase(orbit, args, base).await?),
        None => None,
    };
    let flood = if args.flood_concurrency > 0 {
        Some(flood(orbit, args).await?)
    } else {
        None
    };
    Ok(Report {
        postgres,
        flood,
        server_pin,
        idle_rss,
        idle_rss_parts,
        memory,
        rsa,
        tokens,
        token_verified,
        fapi_tokens,
        fapi_token_verified,
        argon,
        sign_ins,
        end_rss,
        end_hwm,
        compilers_at_end,
    })
}

/// `closed_loop` with the warm-up and window of the command line, against the server's CPU.
async fn window_loop<F, Fut>(concurrency: usize, args: &Args, server_pid: u32, op: F) -> LoadResult
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    closed_loop(
        concurrency,
        Duration::from_secs_f64(args.warmup),
        Duration::from_secs_f64(args.seconds),
        server_pid,
        args.server_cpu,
        op,
    )
    .await
}

/// One user with one session per in-flight token request, minted for through the Backend API.
async fn token_sessions(bapi: &Bapi, args: &Args) -> Res<Arc<Vec<Minter>>> {
    let mut minters = Vec::new();
    for i in 0..args.token_concurrency {
        let user = bapi
            .create_user(&format!("token-{i}@example.com"), None)
            .await?;
        minters.push(Minter {
            api: TokenApi::Bapi(bapi.clone()),
            session: bapi.create_session(&user).await?,
        });
    }
    Ok(Arc::new(minters))
}

/// One browser per in-flight token request, signed in through the Frontend API as clerk-js
/// does it: a user with a password (Backend API), then `POST /v1/client/sign_ins` with the
/// identifier and the password from the app's page, in a cookie jar of the browser's own that
/// keeps the `__client` cookie of the sign-in. Each browser mints for its new session.
async fn fapi_browsers(bapi: &Bapi, fapi: &str, args: &Args) -> Res<Arc<Vec<Minter>>> {
    eprintln!(
        "signing in {} browsers through FAPI as clerk-js does...",
        args.token_concurrency
    );
    let mut minters = Vec::new();
    for i in 0..args.token_concurrency {
        let email = format!("fapi-token-{i}@example.com");
        let password = format!("Orbit-bench-fapi-{i}-q7Zx");
        bapi.create_user(&email, Some(&password)).await?;
        let browser = ClerkJs::new(fapi)?;
        let v = browser
            .post(
                "/client/sign_ins",
                &[
                    ("identifier", email.as_str()),
                    ("password", password.as_str()),
                    ("strategy", "password"),
                ],
            )
            .await?;
        let sign_in = &v["response"];
        let session = match (
            sign_in["status"].as_str(),
            sign_in["created_session_id"].as_str(),
        ) {
            (Some("complete"), Some(sid)) if !sid.is_empty() => sid.to_owned(),
            _ => {
                return Err(format!(
                    "FAPI sign-in of {email} did not complete: {}",
                    snippet(&sign_in.to_string())
                )
                .into())
            }
        };
        minters.push(Minter {
            api: TokenApi::Fapi(browser),
            session,
        });
    }
    Ok(Arc::new(minters))
}

/// A token-mint window: worker w mints for `minters[w % len]`, back to back.
async fn token_load(minters: &Arc<Vec<Minter>>, args: &Args, server_pid: u32) -> LoadResult {
    let minters = minters.clone();
    window_loop(args.token_concurrency, args, server_pid, move |w, _| {
        let minter = minters[w % minters.len()].clone();
        async move { minter.mint().await.map(|_| ()) }
    })
    .await
}

/// Users with a password for the sign-in window: (email, password).
async fn sign_in_users(bapi: &Bapi, args: &Args) -> Res<Arc<Vec<(String, String)>>> {
    eprintln!("creating {} users with passwords...", args.sign_in_users);
    let mut creds = Vec::new();
    for i in 0..args.sign_in_users {
        let email = format!("signin-{i}@example.com");
        let password = format!("Orbit-bench-pass-{i}-q7Zx");
        bapi.create_user(&email, Some(&password)).await?;
        creds.push((email, password));
    }
    Ok(Arc::new(creds))
}

/// The sign-in window: attempt n signs in user n % users with a fresh cookie jar, on node
/// n % nodes (its GET and POST both). Also returns the sign-ins each node completed (warm-up
/// included).
async fn sign_in_load(
    http: &reqwest::Client,
    portals: &[Portal],
    creds: &Arc<Vec<(String, String)>>,
    args: &Args,
    server_pid: u32,
) -> (LoadResult, Vec<u64>) {
    let http = http.clone();
    let portals: Arc<Vec<Portal>> = Arc::new(portals.to_vec());
    let creds = creds.clone();
    let counter = Arc::new(AtomicU64::new(0));
    let served: Arc<Vec<AtomicU64>> = Arc::new(portals.iter().map(|_| AtomicU64::new(0)).collect());
    let per_node = served.clone();
    let result = window_loop(args.sign_in_concurrency, args, server_pid, move |_, _| {
        let http = http.clone();
        let n = counter.fetch_add(1, Ordering::Relaxed) as usize;
        let node = n % portals.len();
        let portal = portals[node].clone();
        let served = served.clone();
        let (email, password) = creds[n % creds.len()].clone();
        async move {
            sign_in(&http, &portal, &email, &password).await?;
            served[node].fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    })
    .await;
    let served = per_node.iter().map(|n| n.load(Ordering::Relaxed)).collect();
    (result, served)
}

async fn create_users(bapi: &Bapi, args: &Args, server: &Server) -> Res<MemoryResult> {
    let total = args.users;
    eprintln!(
        "creating {total} users with one session each ({} in flight)...",
        args.create_concurrency
    );
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let samples: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let start = stopwatch();
    // The WAL's largest size while the writes go on (it may be truncated before the end).
    let wal_path = server.data_dir.join("orbit.db-wal");
    let wal_peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (wal_peak, done, wal_path) = (wal_peak.clone(), done.clone(), wal_path.clone());
        let errors = errors.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(m) = std::fs::metadata(&wal_path) {
                    wal_peak.fetch_max(m.len(), Ordering::Relaxed);
                }
                if done.load(Ordering::Relaxed) + errors.load(Ordering::Relaxed) >= total {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let mut handles = Vec::new();
    for _ in 0..args.create_concurrency {
        let (bapi, next, done, errors, samples) = (
            bapi.clone(),
            next.clone(),
            done.clone(),
            errors.clone(),
            samples.clone(),
        );
        let wal_path = wal_path.clone();
        handles.push(tokio::spawn(async move {
            loop {
                // Stop early when something is clearly broken rather than hammering on.
                if errors.load(Ordering::Relaxed) > 100 {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let r = async {
                    let user = bapi
                        .create_user(&format!("bench-{i}@example.com"), None)
                        .await?;
                    bapi.create_session(&user).await
                }
                .await;
                match r {
                    Ok(_) => {
                        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if d % 10_000 == 0 {
                            let secs = start.elapsed().as_secs_f64();
                            let wal = std::fs::metadata(&wal_path).map(|m| m.len()).unwrap_or(0);
                            eprintln!(
                                "  {d} users + sessions ({:.0} s, {:.0} users/s, orbit.db-wal {})",
                                secs,
                                d as f64 / secs,
                                mb(wal)
                            );
                        }
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut s) = samples.lock() {
                            if s.len() < 5 {
                                s.push(e);
                            }
                        }
                    }
                }
            }
        }));
    }
    for h in handles {
        h.await.context("a user-creating task failed")?;
    }
    sampler.abort();
    if let Ok(m) = std::fs::metadata(&wal_path) {
        wal_peak.fetch_max(m.len(), Ordering::Relaxed);
    }
    let elapsed = start.elapsed();
    let users = done.load(Ordering::Relaxed);
    eprintln!(
        "  created {users} users + sessions in {:.1} s; settling 2 s",
        elapsed.as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = server.rss()?;
    let rss_after_parts = server.rss_breakdown();
    let hwm_after = proc_status_bytes(server.pid, "VmHWM:");
    let size = |name: &str| {
        std::fs::metadata(server.data_dir.join(name))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    let error_samples = samples.lock().map(|s| s.clone()).unwrap_or_default();
    eprintln!(
        "  VmRSS {}, orbit.db {}, orbit.db-wal {}",
        mb(rss_after),
        mb(size("orbit.db")),
        mb(size("orbit.db-wal"))
    );
    Ok(MemoryResult {
        users,
        errors: errors.load(Ordering::Relaxed),
        error_samples,
        elapsed,
        rss_after,
        rss_after_parts,
        hwm_after,
        db_bytes: size("orbit.db"),
        wal_bytes: size("orbit.db-wal"),
        shm_bytes: size("orbit.db-shm"),
        wal_peak: wal_peak.load(Ordering::Relaxed),
    })
}

/// The app's origin in the development instance (its primary domain, `localhost:3000` by
/// default): clerk-js calls FAPI from the app's pages, and FAPI refuses any call that is not a
/// GET without an allowed `Origin`. It becomes the `azp` of the tokens it mints.
const APP_ORIGIN: &str = "http://localhost:3000";

/// The query parameters clerk-js 6.40 adds to every FAPI call (`core/fapiClient.ts`).
const CLERK_JS_QUERY: &str = "__clerk_api_version=2026-08-20&_clerk_js_version=6.40.0";

/// A browser running clerk-js on a page of the app: a cookie jar of its own (the host-only
/// `__client` cookie of its sign-in), form bodies, `Origin: APP_ORIGIN` on every POST.
#[derive(Clone)]
struct ClerkJs {
    http: reqwest::Client,
    /// The instance's FAPI base, e.g. `http://127.0.0.1:port`.
    fapi: String,
}

impl ClerkJs {
    fn new(fapi: &str) -> Res<Self> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(120))
            .build()
            .context("building a browser's HTTP client")?;
        Ok(Self {
            http,
            fapi: fapi.to_owned(),
        })
    }

    /// `POST /v1{path}` with clerk-js's query parameters and `form` as the form body.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<Value, String> {
        let sent = self
            .http
            .post(format!("{}/v1{path}?{CLERK_JS_QUERY}", self.fapi))
            .header(ORIGIN, APP_ORIGIN)
            .form(form)
            .send()
            .await;
        json_answer(&format!("POST /v1{path}"), sent).await
    }
}

/// Which API a token-mint worker asks.
#[derive(Clone)]
enum TokenApi {
    /// `POST /v1/sessions/{id}/tokens` on the Backend API, with the secret key.
    Bapi(Bapi),
    /// `POST /v1/client/sessions/{id}/tokens` on the Frontend API, from a browser signed in to
    /// that session, as clerk-js asks (empty form body).
    Fapi(ClerkJs),
}

/// A session and the API its tokens are minted through.
#[derive(Clone)]
struct Minter {
    api: TokenApi,
    session: String,
}

impl Minter {
    /// One fresh session token; an answer other than 200 `{"object":"token","jwt":…}` is an
    /// error.
    async fn mint(&self) -> Result<String, String> {
        let session = &self.session;
        let v = match &self.api {
            TokenApi::Bapi(bapi) => {
                bapi.post(&format!("/v1/sessions/{session}/tokens"), &json!({}))
                    .await?
            }
            TokenApi::Fapi(browser) => {
                browser
                    .post(&format!("/client/sessions/{session}/tokens"), &[])
                    .await?
            }
        };
        match (v["object"].as_str(), v["jwt"].as_str()) {
            (Some("token"), Some(jwt)) if jwt.split('.').count() == 3 => Ok(jwt.to_owned()),
            _ => Err(format!(
                "unexpected token response {}",
                snippet(&v.to_string())
            )),
        }
    }

    /// The `azp` its tokens must carry: the app's origin through FAPI, none through BAPI.
    fn azp(&self) -> Option<&'static str> {
        match self.api {
            TokenApi::Bapi(_) => None,
            TokenApi::Fapi(_) => Some(APP_ORIGIN),
        }
    }
}

/// Checks one token `minter` mints: its signature against the instance's JWKS, its `sid`, and
/// through FAPI its `azp`.
async fn verify_one_token(bapi: &Bapi, minter: &Minter) -> Result<(), String> {
    let jwt = minter.mint().await?;
    let jwks = bapi.get("/v1/jwks").await?;
    let keys = jwks["keys"].as_array().ok_or("JWKS without keys")?;
    let verified = keys.iter().any(|k| {
        let (Some(n), Some(e)) = (k["n"].as_str(), k["e"].as_str()) else {
            return false;
        };
        let (Ok(n), Ok(e)) = (URL_SAFE_NO_PAD.decode(n), URL_SAFE_NO_PAD.decode(e)) else {
            return false;
        };
        orbit_core::keys::verify_rs256(&jwt, &n, &e)
    });
    if !verified {
        return Err("a minted token does not verify against the JWKS".into());
    }
    let claims: Value = jwt
        .split('.')
        .nth(1)
        .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
        .and_then(|c| serde_json::from_slice(&c).ok())
        .ok_or("a minted token's claims are not JSON")?;
    if claims["sid"].as_str() != Some(minter.session.as_str()) {
        return Err(format!(
            "a minted token's sid is {}, not {}",
            claims["sid"], minter.session
        ));
    }
    if let Some(azp) = minter.azp() {
        if claims["azp"].as_str() != Some(azp) {
            return Err(format!(
                "a minted token's azp is {}, not {azp}",
                claims["azp"]
            ));
        }
    }
    Ok(())
}

/// Where a browser's portal requests go: the public origin the instance was created with (its
/// FAPI host, sent as `Host` and `Origin`), and the node that answers them. With several nodes
/// the bench connects to each node directly with that `Host`, as a layer-4 balancer in front of
/// them would deliver it, without a balancer's copying on the load generator's CPU.
#[derive(Debug, Clone)]
struct Portal {
    origin: String,
    node: String,
}

impl Portal {
    /// The origin's own address answers (one node, no public URL of its own).
    fn direct(fapi: &str) -> Self {
        Self {
            origin: fapi.to_owned(),
            node: fapi.to_owned(),
        }
    }
}

/// One complete portal sign-in with a fresh cookie jar: GET /sign-in (CSRF cookie and form
/// token), then POST /sign-in. Success is a 303 that sets `__client`; anything else is an error.
async fn sign_in(
    http: &reqwest::Client,
    portal: &Portal,
    email: &str,
    password: &str,
) -> Result<(), String> {
    let resp = sign_in_attempt(http, portal, email, password, None, None).await?;
    let status = resp.status();
    let has_client = sets_client_cookie(&resp);
    if status == StatusCode::SEE_OTHER && has_client {
        return Ok(());
    }
    Err(describe_failure(resp, has_client).await)
}

fn sets_client_cookie(resp: &reqwest::Response) -> bool {
    set_cookie(resp, "__client").is_some_and(|v| !v.is_empty())
}

/// The value of the cookie `name` that `resp` sets, if it sets one.
fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(name)?.strip_prefix('='))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
}

async fn describe_failure(resp: reqwest::Response, has_client: bool) -> String {
    let status = resp.status();
    let location = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = resp.text().await.unwrap_or_default();
    let title = text
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or("")
        .trim()
        .to_owned();
    format!("POST /sign-in: HTTP {status}, __client set: {has_client}, location {location:?}, page {title:?}")
}

/// GET + POST `/sign-in`, optionally as `X-Forwarded-For: forwarded_for`; the POST's response.
async fn sign_in_attempt(
    http: &reqwest::Client,
    portal: &Portal,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
    device: Option<&str>,
) -> Result<reqwest::Response, String> {
    let fapi = portal.origin.as_str();
    let url = format!("{}/sign-in", portal.node);
    // The `Host` the instance expects when the node is not the origin's own address (reqwest
    // keeps a `Host` header it is given).
    let host = (portal.node != portal.origin)
        .then(|| url::Url::parse(fapi).ok())
        .flatten()
        .and_then(|u| {
            let host = u.host_str()?.to_owned();
            Some(match u.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        });
    let mut get = http.get(&url);
    if let Some(h) = &host {
        get = get.header(HOST, h);
    }
    let page = get.send().await.map_err(|e| format!("GET /sign-in: {e}"))?;
    if page.status() != StatusCode::OK {
        return Err(format!("GET /sign-in: HTTP {}", page.status()));
    }
    let csrf_cookie =
        set_cookie(&page, "__orbit_csrf").ok_or("GET /sign-in set no __orbit_csrf cookie")?;
    let html = page
        .text()
        .await
        .map_err(|e| format!("GET /sign-in: {e}"))?;
    const FIELD: &str = "name=\"csrf_token\" value=\"";
    let at = html
        .find(FIELD)
        .ok_or("GET /sign-in: no csrf_token field")?
        + FIELD.len();
    let token = html[at..].split('"').next().unwrap_or_default().to_owned();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf_token", &token)
        .append_pair("email_address", email)
        .append_pair("password", password)
        .finish();
    let mut post = http
        .post(&url)
        .header(ORIGIN, fapi)
        .header(
            COOKIE,
            match device {
                Some(d) => format!("__orbit_csrf={csrf_cookie}; __orbit_device={d}"),
                None => format!("__orbit_csrf={csrf_cookie}"),
            },
        )
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(h) = &host {
        post = post.header(HOST, h);
    }
    if let Some(ip) = forwarded_for {
        post = post.header("x-forwarded-for", ip);
    }
    post.body(body)
        .send()
        .await
        .map_err(|e| format!("POST /sign-in: {e}"))
}

// ---- sign-in flood ------------------------------------------------------------------------------

struct FloodResult {
    window: Duration,
    /// Attackers' answers by HTTP status.
    by_status: std::collections::BTreeMap<u16, u64>,
    transport_errors: u64,
    /// Honest sign-ins before the flood, one at a time.
    baseline: Vec<Duration>,
    /// Honest sign-ins during the flood: latency of each that got in, and the failures.
    honest: Vec<Duration>,
    honest_failed: Vec<String>,
    /// The same from the owner's own browser (its `__orbit_device` cookie).
    known: Vec<Duration>,
    known_failed: Vec<String>,
    server_cpu: Option<CpuUse>,
    rss_end: Option<u64>,
    hwm_end: Option<u64>,
}

impl FloodResult {
    fn answered(&self) -> u64 {
        self.by_status.values().sum()
    }
    fn count(&self, status: u16) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }
}

fn percentile(v: &[Duration], p: f64) -> Option<Duration> {
    let mut v = v.to_vec();
    v.sort_unstable();
    let idx = ((p / 100.0) * (v.len().checked_sub(1)?) as f64).round() as usize;
    v.get(idx).copied()
}

/// A fresh server with the default abuse limits behind a trusted proxy (this process): honest
/// sign-ins, one at a time, first alone and then while `--flood-concurrency` attackers, each
/// attempt from a new IPv6 /64, try wrong passwords for addresses without an account (each
/// costing a full dummy argon2 hash unless the server sheds it).
async fn flood(orbit: &Path, args: &Args) -> Res<FloodResult> {
    const HONEST_EMAIL: &str = "owner@example.com";
    const HONEST_PASSWORD: &str = "Orbit-flood-owner-Zq81";
    let mut server = start_server(orbit, args, Limits::DefaultsBehindProxy, None, None, None)?;
    let http = http_client()?;
    let listen_base = format!("http://127.0.0.1:{}", server.port);
    wait_ready(&mut server, &http, &listen_base).await?;
    let keys = instance_keys(orbit, args, &server)?;
    let bapi = Bapi {
        http: http.clone(),
        base: keys.backend.clone(),
        auth: format!("Bearer {}", keys.secret_key),
    };
    bapi.create_user(HONEST_EMAIL, Some(HONEST_PASSWORD))
        .await?;
    // The owner comes from a new IPv4 address each time, so the per-source budget (30 a
    // minute) never decides the owner's figures: what is measured is the shared capacity.
    let honest_source = Arc::new(AtomicU64::new(1));
    let honest_once = {
        let http = http.clone();
        let portal = Portal::direct(&keys.frontend);
        let source = honest_source.clone();
        move |device: Option<String>| {
            let http = http.clone();
            let portal = portal.clone();
            let n = source.fetch_add(1, Ordering::Relaxed);
            async move {
                let ip = format!("198.51.{}.{}", n / 250, 1 + n % 250);
                let t0 = stopwatch();
                let resp = sign_in_attempt(
                    &http,
                    &portal,
                    HONEST_EMAIL,
                    HONEST_PASSWORD,
                    Some(&ip),
                    device.as_deref(),
                )
                .await?;
                let took = t0.elapsed();
                let has_client = sets_client_cookie(&resp);
                let device = set_cookie(&resp, "__orbit_device");
                if resp.status() == StatusCode::SEE_OTHER && has_client {
                    Ok((took, device))
                } else {
                    Err(describe_failure(resp, has_client).await)
                }
            }
        }
    };
    eprintln!("flood: 10 honest sign-ins alone...");
    let mut baseline = Vec::new();
    let mut device = None;
    for _ in 0..10 {
        let (took, issued) = honest_once(None)
            .await
            .map_err(|e| format!("honest sign-in alone: {e}"))?;
        baseline.push(took);
        device = issued;
    }
    let device = device.ok_or("a sign-in set no __orbit_device cookie")?;

    let window = Duration::from_secs_f64(args.seconds * 2.0);
    let start = stopwatch();
    let window_start = start + Duration::from_secs_f64(args.warmup);
    let end = window_start + window;
    eprintln!(
        "flood: {} attackers, {:.0}+{:.0} s, honest sign-ins one at a time meanwhile...",
        args.flood_concurrency,
        args.warmup,
        window.as_secs_f64()
    );
    let mut attackers = Vec::new();
    for w in 0..args.flood_concurrency {
        let http = http.clone();
        let portal = Portal::direct(&keys.frontend);
        attackers.push(tokio::spawn(async move {
            let mut by_status = std::collections::BTreeMap::<u16, u64>::new();
            let mut transport_errors = 0u64;
            let mut i = 0u64;
            while stopwatch() < end {
                i += 1;
                let ip = format!("2001:db8:{w:x}:{:x}::1", i & 0xffff);
                let email = format!("nobody-{w}-{i}@example.com");
                let r =
                    sign_in_attempt(&http, &portal, &email, "wrong-password-1", Some(&ip), None)
                        .await;
                let t = stopwatch();
                if t < window_start || t > end {
                    continue;
                }
                match r {
                    Ok(resp) => *by_status.entry(resp.status().as_u16()).or_default() += 1,
                    Err(_) => transport_errors += 1,
                }
            }
            (by_status, transport_errors)
        }));
    }
    tokio::time::sleep_until(window_start.into()).await;
    let server_stat = format!("/proc/{}/stat", server.pid);
    let s0 = CpuSnap::take(args.server_cpu, &server_stat);
    // The owner alternates: a new browser, then their own browser (its device cookie).
    let mut honest = Vec::new();
    let mut honest_failed = Vec::new();
    let mut known = Vec::new();
    let mut known_failed = Vec::new();
    while stopwatch() < end {
        match honest_once(None).await {
            Ok((took, _)) => honest.push(took),
            Err(e) => honest_failed.push(e),
        }
        match honest_once(Some(device.clone())).await {
            Ok((took, _)) => known.push(took),
            Err(e) => known_failed.push(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep_until(end.into()).await;
    let s1 = CpuSnap::take(args.server_cpu, &server_stat);
    let mut by_status = std::collections::BTreeMap::<u16, u64>::new();
    let mut transport_errors = 0;
    for a in attackers {
        let (counts, errors) = a.await.context("an attacker task")?;
        for (k, v) in counts {
            *by_status.entry(k).or_default() += v;
        }
        transport_errors += errors;
    }
    let rss_end = server.rss().ok();
    let hwm_end = proc_status_bytes(server.pid, "VmHWM:");
    drop(server);
    Ok(FloodResult {
        window,
        by_status,
        transport_errors,
        baseline,
        honest,
        honest_failed,
        known,
        known_failed,
        server_cpu: CpuUse::between(&s0, &s1),
        rss_end,
        hwm_end,
    })
}

impl FloodResult {
    fn markdown(&self, args: &Args, argon_per_sec: f64) -> String {
        let mut o = String::new();
        let secs = self.window.as_secs_f64();
        let _ = writeln!(o, "### Sign-in flood (default limits)\n");
        let _ = writeln!(o, "| Metric | Value |");
        let _ = writeln!(o, "|---|---|");
        let _ = writeln!(
            o,
            "| Attackers in flight (each attempt from a new IPv6 /64, wrong password, no such account) | {} |",
            args.flood_concurrency
        );
        let _ = writeln!(
            o,
            "| Attempts answered | {:.1}/s ({} in {:.0} s; raw argon2 limit {:.1} hashes/s) |",
            self.answered() as f64 / secs,
            thousands(self.answered()),
            secs,
            argon_per_sec
        );
        let shed = self.count(503) + self.count(429);
        let _ = writeln!(
            o,
            "| Answered without a hash (503 shed or 429 over a limit) | {:.1}/s ({:.0} %) |",
            shed as f64 / secs,
            100.0 * shed as f64 / self.answered().max(1) as f64
        );
        let statuses: Vec<String> = self
            .by_status
            .iter()
            .map(|(k, v)| format!("{k}: {}", thousands(*v)))
            .collect();
        let _ = writeln!(
            o,
            "| Attackers' answers by status | {}; {} transport errors |",
            statuses.join(", "),
            self.transport_errors
        );
        let _ = writeln!(
            o,
            "| Honest sign-in alone, p50 / max (10) | {} / {} |",
            ms(percentile(&self.baseline, 50.0)),
            ms(percentile(&self.baseline, 100.0))
        );
        for (who, ok, failed) in [
            ("a new browser", &self.honest, &self.honest_failed),
            (
                "the owner's own browser (device cookie)",
                &self.known,
                &self.known_failed,
            ),
        ] {
            let _ = writeln!(
                o,
                "| Owner's sign-ins during the flood from {who}: in / refused; p50 / p95 / max of those in | {} / {}; {} / {} / {} |",
                ok.len(),
                failed.len(),
                ms(percentile(ok, 50.0)),
                ms(percentile(ok, 95.0)),
                ms(percentile(ok, 100.0))
            );
        }
        let _ = writeln!(
            o,
            "| Server CPU during the flood | {} |",
            self.server_cpu
                .map(|c| c.describe("server"))
                .unwrap_or_else(|| "n/a".into())
        );
        let _ = writeln!(
            o,
            "| Server VmRSS / VmHWM at the end | {} / {} |",
            self.rss_end.map(mb).unwrap_or_else(|| "n/a".into()),
            self.hwm_end.map(mb).unwrap_or_else(|| "n/a".into())
        );
        for e in self.honest_failed.iter().take(1) {
            let _ = writeln!(o, "\n- sample refusal (new browser): {e}");
        }
        for e in self.known_failed.iter().take(3) {
            let _ = writeln!(o, "\n- sample refusal (own browser): {e}");
        }
        o
    }
}

// ---- PostgreSQL ---------------------------------------------------------------------------------

/// The token-mint and sign-in windows against `orbit serve` on PostgreSQL: one node, then
/// (with --postgres-two-nodes) two.
struct PgResult {
    server_pin: String,
    /// `Cpus_allowed_list` of the PostgreSQL postmaster (not pinned by this tool).
    pg_allowed: String,
    /// Where the counting proxy listened, and the PostgreSQL address behind it.
    proxy: String,
    tokens: LoadResult,
    sign_ins: LoadResult,
    db_tokens: DbWindow,
    db_sign_ins: DbWindow,
    two_nodes: Option<TwoNodes>,
    dropped: Result<(), String>,
}

/// Runs one SQL statement with `psql` against the `postgres` database of `base`.
fn psql(base: &str, sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .arg(format!("{}/postgres", base.trim_end_matches('/')))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("running psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "psql `{sql}`: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Every `postgres` process: their summed CPU ticks, and the allowed CPUs of the oldest one
/// (the postmaster).
fn postgres_processes() -> (u64, Option<String>) {
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.sort_unstable();
    let mut ticks = 0;
    let mut allowed = None;
    for pid in pids {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() != "postgres" {
            continue;
        }
        ticks += cpu_ticks(&format!("/proc/{pid}/stat")).unwrap_or(0);
        if allowed.is_none() {
            allowed = allowed_cpus(&format!("/proc/{pid}/status"));
        }
    }
    (ticks, allowed)
}

/// The address of the PostgreSQL server `base` names (TCP only: the proxy needs one).
fn pg_upstream(base: &str) -> Res<SocketAddr> {
    let u = url::Url::parse(base).context(format!("--postgres {base:?}"))?;
    let port = u.port().unwrap_or(5432);
    match u.host() {
        Some(url::Host::Ipv4(ip)) => Ok(SocketAddr::from((ip, port))),
        Some(url::Host::Ipv6(ip)) => Ok(SocketAddr::from((ip, port))),
        Some(url::Host::Domain(name)) if !name.is_empty() => (name, port)
            .to_socket_addrs()
            .context(format!("resolving {name}"))?
            .next()
            .context(format!("{name} has no address")),
        _ => Err(format!(
            "--postgres {base:?} names no TCP host; the bench reaches PostgreSQL through a counting TCP proxy"
        )
        .into()),
    }
}

/// `base` with its host and port replaced by `addr` and its database by `db`.
fn pg_url_via(base: &str, addr: SocketAddr, db: &str) -> Res<String> {
    let mut u = url::Url::parse(base).context(format!("--postgres {base:?}"))?;
    u.set_ip_host(addr.ip())
        .map_err(|()| format!("--postgres {base:?}: cannot set its host"))?;
    u.set_port(Some(addr.port()))
        .map_err(|()| format!("--postgres {base:?}: cannot set its port"))?;
    u.set_path(&format!("/{db}"));
    Ok(u.to_string())
}

// ---- the counting proxy in front of PostgreSQL ----------------------------------------------------

/// PostgreSQL's Sync message alone, which ReadyForQuery answers: how sqlx pings a pooled
/// connection, when it takes it from the idle pool (`test_before_acquire`, on by default) and
/// when it gets it back (always, in a task of its own after the caller let go).
const PG_SYNC_ALONE: &[u8] = b"S\0\0\0\x04";

/// Traffic a `DbProxy` counted since it started; `since` gives a window's share.
#[derive(Debug, Clone, Copy, Default)]
struct DbTraffic {
    /// Client connections accepted (connections a node's pool opened, `orbit instance show`).
    connections: u64,
    /// Request/response exchanges: each time a client sends after having received, or sends
    /// first on its connection, is one.
    round_trips: u64,
    /// Of those, the exchanges whose request was a lone Sync: sqlx's pings, two per checkout.
    pings: u64,
}

impl DbTraffic {
    fn since(self, earlier: DbTraffic) -> DbTraffic {
        DbTraffic {
            connections: self.connections.saturating_sub(earlier.connections),
            round_trips: self.round_trips.saturating_sub(earlier.round_trips),
            pings: self.pings.saturating_sub(earlier.pings),
        }
    }
}

#[derive(Default)]
struct DbCounters {
    connections: AtomicU64,
    round_trips: AtomicU64,
    pings: AtomicU64,
}

impl DbCounters {
    fn read(&self) -> DbTraffic {
        DbTraffic {
            connections: self.connections.load(Ordering::SeqCst),
            round_trips: self.round_trips.load(Ordering::SeqCst),
            pings: self.pings.load(Ordering::SeqCst),
        }
    }
}

/// A TCP proxy on 127.0.0.1 between the node(s) and PostgreSQL that counts round trips. It runs
/// on a thread of its own (a current-thread runtime), so that its CPU time can be told apart
/// from the load generator's; that thread inherits this process's pinning (--bench-cpu).
struct DbProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    counters: Arc<DbCounters>,
    /// `/proc/self/task/<tid>/stat` of the proxy's thread.
    stat_path: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl DbProxy {
    fn start(upstream: SocketAddr) -> Res<Self> {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").context("binding the database proxy")?;
        listener
            .set_nonblocking(true)
            .context("setting up the database proxy")?;
        let addr = listener
            .local_addr()
            .context("reading the database proxy's address")?;
        let counters = Arc::new(DbCounters::default());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let shared = counters.clone();
        let thread = std::thread::Builder::new()
            .name("orbit-bench-db-proxy".into())
            .spawn(move || {
                let started = current_tid().and_then(|tid| {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_io()
                        .build()
                        .map_err(|e| format!("starting its runtime: {e}"))?;
                    Ok((tid, rt))
                });
                let rt = match started {
                    Ok((tid, rt)) => {
                        let _ = tid_tx.send(Ok(tid));
                        rt
                    }
                    Err(e) => {
                        let _ = tid_tx.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        _ = stop_rx => {}
                        _ = proxy_accept(listener, upstream, shared) => {}
                    }
                });
            })
            .context("starting the database proxy thread")?;
        let tid = tid_rx
            .recv()
            .context("the database proxy thread died")?
            .context("the database proxy")?;
        Ok(Self {
            addr,
            upstream,
            counters,
            stat_path: format!("/proc/self/task/{tid}/stat"),
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

async fn proxy_accept(
    listener: tokio::net::TcpListener,
    upstream: SocketAddr,
    counters: Arc<DbCounters>,
) {
    loop {
        let Ok((down, _)) = listener.accept().await else {
            continue;
        };
        let counters = counters.clone();
        tokio::spawn(async move {
            // The client sees its connection closed, as if PostgreSQL had refused it.
            let Ok(up) = tokio::net::TcpStream::connect(upstream).await else {
                return;
            };
            // The protocol's messages are small: with Nagle's algorithm a message could wait
            // for the acknowledgement of the previous one, a delay the direct path lacks.
            let _ = down.set_nodelay(true);
            let _ = up.set_nodelay(true);
            counters.connections.fetch_add(1, Ordering::SeqCst);
            proxy_connection(down, up, &counters).await;
        });
    }
}

/// Pipes one connection both ways and counts its round trips.
async fn proxy_connection(
    down: tokio::net::TcpStream,
    up: tokio::net::TcpStream,
    counters: &DbCounters,
) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let (mut down_r, mut down_w) = down.into_split();
    let (mut up_r, mut up_w) = up.into_split();
    // Whether the client has sent since it last received. The response side clears it before
    // forwarding, so the client's next request (which it sends only after reading that
    // response) always finds it cleared.
    let sent = std::sync::atomic::AtomicBool::new(false);
    let requests = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match down_r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            if !sent.swap(true, Ordering::SeqCst) {
                counters.round_trips.fetch_add(1, Ordering::SeqCst);
                if chunk == PG_SYNC_ALONE {
                    counters.pings.fetch_add(1, Ordering::SeqCst);
                }
            }
            if up_w.write_all(chunk).await.is_err() {
                break;
            }
        }
        let _ = up_w.shutdown().await;
    };
    let responses = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match up_r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            sent.store(false, Ordering::SeqCst);
            if down_w.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = down_w.shutdown().await;
    };
    tokio::join!(requests, responses);
}

/// What the database side did during one window (after its warm-up).
#[derive(Debug, Clone, Copy, Default)]
struct DbWindow {
    /// Share of one CPU all `postgres` processes used.
    pg_cpu: Option<f64>,
    /// Share of one CPU node B used (two-node windows).
    node_b_cpu: Option<f64>,
    /// Share of one CPU the counting proxy's thread used.
    proxy_cpu: Option<f64>,
    traffic: DbTraffic,
}

/// Runs `load` and, alongside, measures over its window (after the warm-up) the CPU of the
/// `postgres` processes, of `other_pid` (node B) and of the proxy, and the proxy's counts.
async fn with_db_meters<Fut: Future<Output = T>, T>(
    args: &Args,
    other_pid: Option<u32>,
    proxy: &DbProxy,
    load: Fut,
) -> (T, DbWindow) {
    let window_start = stopwatch() + Duration::from_secs_f64(args.warmup);
    let end = window_start + Duration::from_secs_f64(args.seconds);
    let counters = proxy.counters.clone();
    let proxy_stat = proxy.stat_path.clone();
    let sampler = tokio::spawn(async move {
        tokio::time::sleep_until(window_start.into()).await;
        let other = other_pid.map(|p| format!("/proc/{p}/stat"));
        let other_ticks = || other.as_deref().and_then(cpu_ticks);
        let snap = || {
            (
                postgres_processes().0,
                other_ticks(),
                cpu_ticks(&proxy_stat),
                counters.read(),
            )
        };
        let (pg0, o0, p0, c0) = snap();
        let t0 = stopwatch();
        tokio::time::sleep_until(end.into()).await;
        let (pg1, o1, p1, c1) = snap();
        let wall = t0.elapsed().as_secs_f64();
        let share = |x: u64, y: u64| {
            (wall > 0.0).then(|| y.saturating_sub(x) as f64 / clock_ticks_per_sec() / wall)
        };
        DbWindow {
            pg_cpu: if pg0 > 0 { share(pg0, pg1) } else { None },
            node_b_cpu: o0.zip(o1).and_then(|(x, y)| share(x, y)),
            proxy_cpu: p0.zip(p1).and_then(|(x, y)| share(x, y)),
            traffic: c1.since(c0),
        }
    });
    let result = load.await;
    let db = sampler.await.unwrap_or_default();
    (result, db)
}

/// Creates a fresh database on the PostgreSQL server at `base`, runs the token-mint and
/// sign-in windows against `orbit serve` on it through the counting proxy, and drops the
/// database.
async fn postgres_phase(orbit: &Path, args: &Args, base: &str) -> Res<PgResult> {
    let base = base.trim_end_matches('/');
    let upstream = pg_upstream(base)?;
    let db = format!("orbit_bench_{}", std::process::id());
    psql(base, &format!("CREATE DATABASE {db}"))?;
    eprintln!("created the PostgreSQL database {db}");
    let result = async {
        let proxy = DbProxy::start(upstream)?;
        eprintln!(
            "counting proxy for PostgreSQL {} on {}",
            proxy.upstream, proxy.addr
        );
        let url = pg_url_via(base, proxy.addr, &db)?;
        // The nodes stop inside; the proxy after them.
        postgres_windows(orbit, args, &url, &proxy).await
    }
    .await;
    let dropped = psql(base, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    match &dropped {
        Ok(()) => eprintln!("dropped the PostgreSQL database {db}"),
        Err(e) => eprintln!("warning: {e}"),
    }
    result.map(|r| PgResult { dropped, ..r })
}

async fn postgres_windows(orbit: &Path, args: &Args, url: &str, proxy: &DbProxy) -> Res<PgResult> {
    let mut server = start_server(orbit, args, Limits::Raised, Some(url), None, None)?;
    eprintln!(
        "started `taskset -c {} orbit serve` on PostgreSQL through {} (pid {})",
        args.server_cpu, proxy.addr, server.pid
    );
    let http = http_client()?;
    let listen_base = format!("http://127.0.0.1:{}", server.port);
    wait_ready(&mut server, &http, &listen_base).await?;
    let keys = instance_keys(orbit, args, &server)?;
    let server_pin =
        allowed_cpus(&format!("/proc/{}/status", server.pid)).unwrap_or_else(|| "unknown".into());
    let bapi = Bapi {
        http: http.clone(),
        base: keys.backend.clone(),
        auth: format!("Bearer {}", keys.secret_key),
    };
    let sessions = token_sessions(&bapi, args).await?;
    eprintln!("PostgreSQL token mint...");
    let (tokens, db_tokens) =
        with_db_meters(args, None, proxy, token_load(&sessions, args, server.pid)).await;
    eprintln!(
        "  {:.0} tokens/s, {} errors, {} round trips",
        tokens.rate(),
        tokens.errors,
        db_tokens.traffic.round_trips
    );
    let creds = sign_in_users(&bapi, args).await?;
    eprintln!("PostgreSQL sign-in...");
    let ((sign_ins, _), db_sign_ins) = with_db_meters(
        args,
        None,
        proxy,
        sign_in_load(
            &http,
            &[Portal::direct(&keys.frontend)],
            &creds,
            args,
            server.pid,
        ),
    )
    .await;
    eprintln!(
        "  {:.1} sign-ins/s, {} errors, {} round trips",
        sign_ins.rate(),
        sign_ins.errors,
        db_sign_ins.traffic.round_trips
    );
    let (_, pg_allowed) = postgres_processes();
    let two_nodes = if args.postgres_two_nodes {
        let work = NodeWork {
            keys: &keys,
            sessions: &sessions,
            creds: &creds,
        };
        Some(two_nodes(orbit, args, url, &server, work, proxy).await?)
    } else {
        None
    };
    drop(server);
    Ok(PgResult {
        server_pin,
        pg_allowed: pg_allowed.unwrap_or_else(|| "unknown (no `postgres` process found)".into()),
        proxy: format!("127.0.0.1:{} → {}", proxy.addr.port(), proxy.upstream),
        tokens,
        sign_ins,
        db_tokens,
        db_sign_ins,
        two_nodes,
        dropped: Ok(()),
    })
}

/// What the one-node windows set up and the two-node windows reuse.
struct NodeWork<'a> {
    keys: &'a Keys,
    sessions: &'a Arc<Vec<Minter>>,
    creds: &'a Arc<Vec<(String, String)>>,
}

/// The token-mint and sign-in windows against node A (the phase's server, on --server-cpu) and
/// a node B started on the same database with A's master.key and A's public URL, then moved to
/// --bench-cpu. Tokens: worker w mints on node w % 2. Sign-ins: attempt n goes to node n % 2,
/// GET and POST both, with the `Host` the instance was created with (A's address).
async fn two_nodes(
    orbit: &Path,
    args: &Args,
    url: &str,
    a: &Server,
    work: NodeWork<'_>,
    proxy: &DbProxy,
) -> Res<TwoNodes> {
    let keys = work.keys;
    let key = a.data_dir.join("master.key");
    let mut b = start_server(
        orbit,
        args,
        Limits::Raised,
        Some(url),
        Some(&key),
        Some(&keys.frontend),
    )?;
    let http = http_client()?;
    let b_base = format!("http://127.0.0.1:{}", b.port);
    wait_ready(&mut b, &http, &b_base).await?;
    let cpu = args.bench_cpu.to_string();
    let moved = Command::new("taskset")
        .args(["-a", "-p", "-c", &cpu, &b.pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let b_pin = allowed_cpus(&format!("/proc/{}/status", b.pid)).unwrap_or_default();
    eprintln!(
        "node B (pid {}) ready, moved: {moved}, allowed CPUs {b_pin}",
        b.pid
    );
    let on_b = |u: &str| u.replace(&format!(":{}", a.port), &format!(":{}", b.port));
    let bapis = [keys.backend.clone(), on_b(&keys.backend)].map(|base| Bapi {
        http: http.clone(),
        base,
        auth: format!("Bearer {}", keys.secret_key),
    });
    // Worker w mints on node w % 2, for the session it had on one node.
    let sessions = work.sessions;
    let minters: Arc<Vec<Minter>> = Arc::new(
        (0..args.token_concurrency)
            .map(|w| Minter {
                api: TokenApi::Bapi(bapis[w % 2].clone()),
                session: sessions[w % sessions.len()].session.clone(),
            })
            .collect(),
    );
    eprintln!("two nodes: token mint...");
    let (tokens, db_tokens) =
        with_db_meters(args, Some(b.pid), proxy, token_load(&minters, args, a.pid)).await;
    eprintln!("  {:.0} tokens/s, {} errors", tokens.rate(), tokens.errors);
    eprintln!("two nodes: sign-in...");
    let portals = [
        Portal::direct(&keys.frontend),
        Portal {
            origin: keys.frontend.clone(),
            node: b_base,
        },
    ];
    let ((sign_ins, sign_ins_per_node), db_sign_ins) = with_db_meters(
        args,
        Some(b.pid),
        proxy,
        sign_in_load(&http, &portals, work.creds, args, a.pid),
    )
    .await;
    eprintln!(
        "  {:.1} sign-ins/s, {} errors (node A {}, node B {})",
        sign_ins.rate(),
        sign_ins.errors,
        sign_ins_per_node.first().copied().unwrap_or(0),
        sign_ins_per_node.get(1).copied().unwrap_or(0)
    );
    drop(b);
    Ok(TwoNodes {
        b_pin,
        tokens,
        db_tokens,
        sign_ins,
        db_sign_ins,
        sign_ins_per_node,
    })
}

/// The two-node windows; `db_*.node_b_cpu` is node B's CPU, the `LoadResult`s' `server_cpu`
/// node A's.
struct TwoNodes {
    b_pin: String,
    tokens: LoadResult,
    db_tokens: DbWindow,
    sign_ins: LoadResult,
    db_sign_ins: DbWindow,
    /// Sign-ins each node completed, warm-up included (A, B).
    sign_ins_per_node: Vec<u64>,
}

/// One row of the PostgreSQL section's tables.
struct PgRow<'a> {
    phase: &'static str,
    unit: &'static str,
    setup: String,
    load: &'a LoadResult,
    /// `None`: SQLite (in-process, no proxy).
    db: Option<&'a DbWindow>,
    two_nodes: bool,
}

impl PgRow<'_> {
    /// Node CPU over the window in shares of one CPU: A, and B on two nodes.
    fn node_shares(&self) -> (Option<f64>, Option<f64>) {
        let a = self.load.server_cpu.map(|c| c.own);
        let b = if self.two_nodes {
            self.db.and_then(|d| d.node_b_cpu)
        } else {
            None
        };
        (a, b)
    }

    /// Node CPU per operation (A + B on two nodes), in ms.
    fn node_ms(&self) -> Option<f64> {
        let (a, b) = self.node_shares();
        let total = if self.two_nodes {
            a.zip(b).map(|(a, b)| a + b)
        } else {
            a
        };
        self.load.cpu_per_op_ms(total)
    }

    fn pg_ms(&self) -> Option<f64> {
        self.load.cpu_per_op_ms(self.db.and_then(|d| d.pg_cpu))
    }

    /// "1.00 (+ 2.00 pings)" per completed operation.
    fn round_trips(&self) -> String {
        let Some(db) = self.db else {
            return "— (in-process)".into();
        };
        let ops = self.load.ok;
        if ops == 0 {
            return "n/a".into();
        }
        let t = db.traffic;
        let per = |n: u64| n as f64 / ops as f64;
        format!(
            "{:.2} (+ {:.2} pings)",
            per(t.round_trips.saturating_sub(t.pings)),
            per(t.pings)
        )
    }
}

fn ms_cpu(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.3} ms"))
}

fn per_sec(v: f64) -> String {
    if v >= 100.0 {
        thousands(v.round() as u64)
    } else {
        format!("{v:.1}")
    }
}

impl PgResult {
    fn markdown(
        &self,
        args: &Args,
        sqlite_tokens: &LoadResult,
        sqlite_sign_ins: &LoadResult,
        sqlite_pin: &str,
    ) -> String {
        let mut o = String::new();
        let two = self.two_nodes.as_ref();
        let two_setup = two.map(|t| {
            format!(
                "PostgreSQL, 2 nodes (A on CPU {}, B on CPU {})",
                self.server_pin, t.b_pin
            )
        });
        // Per phase: SQLite, PostgreSQL on one node, then on two nodes if they ran.
        let phases = [
            (
                "Token mint",
                "tokens/s",
                sqlite_tokens,
                (&self.tokens, &self.db_tokens),
                two.map(|t| (&t.tokens, &t.db_tokens)),
            ),
            (
                "Sign-in",
                "sign-ins/s",
                sqlite_sign_ins,
                (&self.sign_ins, &self.db_sign_ins),
                two.map(|t| (&t.sign_ins, &t.db_sign_ins)),
            ),
        ];
        let mut rows = Vec::new();
        for (phase, unit, sqlite, (one, db_one), on_two) in phases {
            let row = |setup: String, load, db, two_nodes| PgRow {
                phase,
                unit,
                setup,
                load,
                db,
                two_nodes,
            };
            rows.push(row("SQLite, 1 node".into(), sqlite, None, false));
            rows.push(row("PostgreSQL, 1 node".into(), one, Some(db_one), false));
            if let (Some((load, db)), Some(setup)) = (on_two, &two_setup) {
                rows.push(row(setup.clone(), load, Some(db), true));
            }
        }

        let _ = writeln!(o, "### SQLite vs PostgreSQL, 1 node vs 2 nodes\n");
        let _ = writeln!(
            o,
            "- `orbit serve` allowed CPUs: {sqlite_pin} (SQLite), {} (PostgreSQL, node A){}; load generator on CPU {}; PostgreSQL (not pinned) allowed CPUs {}",
            self.server_pin,
            two.map_or(String::new(), |t| format!(", {} (node B)", t.b_pin)),
            args.bench_cpu,
            self.pg_allowed
        );
        let _ = writeln!(
            o,
            "- The nodes reach PostgreSQL through the bench's counting proxy ({}), a thread of the load generator",
            self.proxy
        );
        let _ = writeln!(
            o,
            "- CPU use per process during each window, in shares of one CPU (from /proc/<pid>/stat; `postgres` is the sum over all its processes; the load generator's column leaves out the proxy's thread)\n"
        );
        let _ = writeln!(
            o,
            "| Phase | Setup | Rate | p50 / p99 | Errors | DB round trips per op (+ sqlx pings) | CPU: orbit | CPU: postgres | CPU: load generator | CPU: DB proxy |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|");
        let share = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{:.0}%", v * 100.0));
        for r in &rows {
            let (a, b) = r.node_shares();
            let orbit_cpu = if r.two_nodes {
                format!("A {}, B {}", share(a), share(b))
            } else {
                share(a)
            };
            let proxy_cpu = r.db.and_then(|d| d.proxy_cpu);
            let load_cpu = match (r.load.bench_cpu, r.db) {
                (Some(all), Some(_)) => proxy_cpu.map(|p| (all - p).max(0.0)),
                (all, None) => all,
                _ => None,
            };
            let _ = writeln!(
                o,
                "| {} | {} | {:.1} {} | {} / {} | {} | {} | {} | {} | {} | {} |",
                r.phase,
                r.setup,
                r.load.rate(),
                r.unit,
                ms(r.load.percentile(50.0)),
                ms(r.load.percentile(99.0)),
                r.load.errors,
                r.round_trips(),
                orbit_cpu,
                r.db.map_or("— (in-process)".into(), |d| share(d.pg_cpu)),
                share(load_cpu),
                r.db.map_or("—".into(), |_| share(proxy_cpu)),
            );
        }
        let _ = writeln!(o);
        for r in rows.iter().filter(|r| r.db.is_some()) {
            let t = r.db.map(|d| d.traffic).unwrap_or_default();
            let _ = writeln!(
                o,
                "- {}, {}: {} operations in the window, {} round trips through the proxy ({} of them pings), {} new connections",
                r.phase,
                r.setup,
                r.load.ok,
                t.round_trips,
                t.pings,
                t.connections
            );
        }
        if let Some(t) = two {
            let _ = writeln!(
                o,
                "- 2 nodes: token workers {} on node A and {} on node B; sign-ins completed per node (warm-up included): A {}, B {}",
                args.token_concurrency.div_ceil(2),
                args.token_concurrency / 2,
                t.sign_ins_per_node.first().copied().unwrap_or(0),
                t.sign_ins_per_node.get(1).copied().unwrap_or(0)
            );
        }

        // CPU per operation and what it predicts for more cores.
        let _ = writeln!(o, "\n### CPU per operation (PostgreSQL)\n");
        let _ = writeln!(
            o,
            "| Phase | Setup | orbit CPU per op (all nodes) | postgres CPU per op | postgres ÷ orbit |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|");
        for r in rows.iter().filter(|r| r.db.is_some()) {
            let ratio = r
                .pg_ms()
                .zip(r.node_ms())
                .filter(|(_, n)| *n > 0.0)
                .map_or("n/a".into(), |(p, n)| format!("{:.2}", p / n));
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                r.phase,
                r.setup,
                ms_cpu(r.node_ms()),
                ms_cpu(r.pg_ms()),
                ratio
            );
        }
        let _ = writeln!(
            o,
            "\nOn paper, from the one-node PostgreSQL rows: N nodes on N cores of their own, PostgreSQL on cores of its own. A node core completes 1 ÷ (orbit CPU per op) operations a second; a PostgreSQL core serves 1 ÷ (postgres CPU per op); so one PostgreSQL core keeps up with (orbit CPU per op) ÷ (postgres CPU per op) nodes.\n"
        );
        let ns = [1u32, 2, 4, 8, 16];
        let header: Vec<String> = ns
            .iter()
            .map(|n| format!("{n} node{}", if *n == 1 { "" } else { "s" }))
            .collect();
        let _ = writeln!(
            o,
            "| Phase | per node core | per PostgreSQL core | nodes per PostgreSQL core | {} |",
            header.join(" | ")
        );
        let _ = writeln!(o, "|---|---|---|---|{}", "---|".repeat(ns.len()));
        for r in rows.iter().filter(|r| r.db.is_some() && !r.two_nodes) {
            let positive = |v: Option<f64>| v.filter(|v| *v > 0.0);
            let (Some(node), Some(pgm)) = (positive(r.node_ms()), positive(r.pg_ms())) else {
                let _ = writeln!(
                    o,
                    "| {} | n/a | n/a | n/a |{}",
                    r.phase,
                    " n/a |".repeat(ns.len())
                );
                continue;
            };
            let (node_rate, pg_rate) = (1000.0 / node, 1000.0 / pgm);
            let cells: Vec<String> = ns
                .iter()
                .map(|n| {
                    let rate = f64::from(*n) * node_rate;
                    format!(
                        "{} {} ({:.2} PostgreSQL cores)",
                        per_sec(rate),
                        r.unit,
                        rate / pg_rate
                    )
                })
                .collect();
            let _ = writeln!(
                o,
                "| {} | {} {} | {} {} | {:.1} | {} |",
                r.phase,
                per_sec(node_rate),
                r.unit,
                per_sec(pg_rate),
                r.unit,
                node / pgm,
                cells.join(" | ")
            );
        }
        let _ = writeln!(o);

        let mut samples: Vec<(String, &Vec<String>)> = vec![
            ("PostgreSQL token".into(), &self.tokens.error_samples),
            ("PostgreSQL sign-in".into(), &self.sign_ins.error_samples),
        ];
        if let Some(t) = two {
            samples.push(("2-node token".into(), &t.tokens.error_samples));
            samples.push(("2-node sign-in".into(), &t.sign_ins.error_samples));
        }
        for (what, samples) in samples {
            for e in samples {
                let _ = writeln!(o, "- {what} error sample: {e}");
            }
        }
        if let Err(e) = &self.dropped {
            let _ = writeln!(o, "- WARNING: the bench database was not dropped: {e}");
        }
        o
    }
}

// ---- the report -----------------------------------------------------------------------------

fn ms(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.2} ms", d.as_secs_f64() * 1000.0))
        .unwrap_or_else(|| "n/a".into())
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.0}%", v * 100.0))
        .unwrap_or_else(|| "n/a".into())
}

/// The verdict, marked when the server's CPU was shared with other work during the measurement
/// (then the figures say more about the machine than about Orbit; run again on a quiet machine).
fn verdict_noted(ok: bool, disturbed: bool) -> String {
    if disturbed {
        format!("{} (CPU disturbed, see notes)", verdict(ok))
    } else {
        verdict(ok).to_owned()
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "**FAIL**"
    }
}

impl Report {
    fn markdown(
        &self,
        args: &Args,
        facts: &MachineFacts,
        bench_pin: &Result<String, String>,
    ) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "## Orbit benchmark\n");
        let _ = writeln!(o, "- Date: {}", facts.date);
        let _ = writeln!(
            o,
            "- CPU: {} ({} logical CPUs)",
            facts.cpu_model, facts.cpus
        );
        let _ = writeln!(o, "- Kernel: {}", facts.kernel);
        let _ = writeln!(o, "- Memory: {}", facts.mem_total);
        let _ = writeln!(
            o,
            "- Server: {}, `orbit serve` pinned with `taskset -c {}` (allowed CPUs: {})",
            facts.orbit_version, args.server_cpu, self.server_pin
        );
        let _ = writeln!(
            o,
            "- Load generator: {}",
            match bench_pin {
                Ok(l) => format!("pinned to CPU {l}"),
                Err(e) => format!("NOT pinned ({e})"),
            }
        );
        let _ = writeln!(
            o,
            "- Settings: --users {} --seconds {} --warmup {} --token-concurrency {} --sign-in-concurrency {} --sign-in-users {} --create-concurrency {}",
            args.users, args.seconds, args.warmup, args.token_concurrency, args.sign_in_concurrency, args.sign_in_users, args.create_concurrency
        );
        let _ = writeln!(
            o,
            "- Compilers running: at start {}; at end {}",
            facts.compilers_at_start, self.compilers_at_end
        );
        let _ = writeln!(o);

        let _ = writeln!(
            o,
            "| Metric | Orbit | Raw limit (same run) | Ratio | Target | Result |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|");
        // Token mint.
        let t = &self.tokens;
        let t_ratio = t.rate() / self.rsa.per_sec;
        let t_pass = t_ratio >= 0.6 && t.errors == 0 && self.token_verified.is_ok();
        let t_disturbed = self.rsa.disturbed() || t.server_cpu.is_none_or(|c| c.disturbed(0.9));
        let _ = writeln!(
            o,
            "| Session token mint, BAPI `POST /v1/sessions/{{id}}/tokens`, server on 1 core, {} in flight | {:.0} tokens/s | {:.0} RSA-2048 signatures/s (aws-lc-rs, 1 thread, mean of before/after) | {:.2} | ≥ 0.60 | {} |",
            args.token_concurrency,
            t.rate(),
            self.rsa.per_sec,
            t_ratio,
            verdict_noted(t_pass, t_disturbed)
        );
        let _ = writeln!(
            o,
            "| Token request latency p50 / p99 | {} / {} | — | — | — | info |",
            ms(t.percentile(50.0)),
            ms(t.percentile(99.0))
        );
        // The same through FAPI, as clerk-js asks: no target of its own.
        let f = &self.fapi_tokens;
        let f_ok = f.errors == 0 && self.fapi_token_verified.is_ok();
        let f_disturbed = self.rsa.disturbed() || f.server_cpu.is_none_or(|c| c.disturbed(0.9));
        let f_result = match (f_ok, f_disturbed) {
            (true, false) => "info".to_owned(),
            (true, true) => "info (CPU disturbed, see notes)".to_owned(),
            (false, _) => verdict_noted(false, f_disturbed),
        };
        let _ = writeln!(
            o,
            "| Session token mint, FAPI `POST /v1/client/sessions/{{id}}/tokens` as clerk-js (`__client` cookie, `Origin: {APP_ORIGIN}`), server on 1 core, {} in flight | {:.0} tokens/s ({:.2} × BAPI) | {:.0} RSA-2048 signatures/s (the same) | {:.2} | — | {} |",
            args.token_concurrency,
            f.rate(),
            f.rate() / t.rate(),
            self.rsa.per_sec,
            f.rate() / self.rsa.per_sec,
            f_result
        );
        let _ = writeln!(
            o,
            "| FAPI token request latency p50 / p99 | {} / {} | — | — | — | info |",
            ms(f.percentile(50.0)),
            ms(f.percentile(99.0))
        );
        // Sign-in.
        let s = &self.sign_ins;
        let s_ratio = s.rate() / self.argon.per_sec;
        let s_pass = s_ratio >= 0.85 && s.errors == 0;
        let s_disturbed = self.argon.disturbed() || s.server_cpu.is_none_or(|c| c.disturbed(0.9));
        let _ = writeln!(
            o,
            "| Password sign-in, portal GET + POST `/sign-in`, server on 1 core, {} concurrent | {:.1} sign-ins/s | {:.1} argon2id hashes/s (m=19456 KiB, t=2, p=1, 1 thread, mean of before/after) | {:.2} | ≥ 0.85 | {} |",
            args.sign_in_concurrency,
            s.rate(),
            self.argon.per_sec,
            s_ratio,
            verdict_noted(s_pass, s_disturbed)
        );
        let _ = writeln!(
            o,
            "| Sign-in latency (GET + POST) p50 / p99 | {} / {} | — | — | — | info |",
            ms(s.percentile(50.0)),
            ms(s.percentile(99.0))
        );
        // Memory.
        let m = &self.memory;
        let _ = writeln!(
            o,
            "| Server VmRSS, idle after start (2 s settle) | {} ({}) | — | — | ≤ 20 MB | {} |",
            mb(self.idle_rss),
            self.idle_rss_parts,
            verdict(self.idle_rss <= 20_000_000)
        );
        let per_user = if m.users > 0 {
            (m.rss_after.saturating_sub(self.idle_rss)) as f64 / m.users as f64
        } else {
            0.0
        };
        let _ = writeln!(
            o,
            "| Server VmRSS after {} users with 1 session each (no password; 2 s settle) | {} ({}) | — | — | — | info ({:.0} bytes/user above idle) |",
            thousands(m.users),
            mb(m.rss_after),
            m.rss_after_parts,
            per_user
        );
        let _ = writeln!(
            o,
            "| SQLite files after {} users + sessions | orbit.db {} (+ orbit.db-wal {}, orbit.db-shm {}; WAL peaked at {} during the writes) | — | — | — | info |",
            thousands(m.users),
            mb(m.db_bytes),
            mb(m.wal_bytes),
            mb(m.shm_bytes),
            mb(m.wal_peak)
        );
        let _ = writeln!(o);

        let _ = writeln!(o, "Notes:\n");
        let _ = writeln!(
            o,
            "- Token mint: {} tokens {}; {} errors; a minted token {} against the JWKS. {}. Raw limit: mean of {:.0} signatures/s before and {:.0} after the window ({} signatures of a 600-byte message in total, one thread on CPU {}, server idle; CPU {} {}){}.",
            t.ok,
            window_span(t, args),
            t.errors,
            verified_note(&self.token_verified),
            window_cpu(t, args),
            self.rsa.before,
            self.rsa.after,
            self.rsa.count,
            args.server_cpu,
            args.server_cpu,
            self.rsa.describe_cpu(),
            pin_note(&self.rsa.pinned),
        );
        let cpu_per_token = |l: &LoadResult| ms_cpu(l.cpu_per_op_ms(l.server_cpu.map(|c| c.own)));
        let _ = writeln!(
            o,
            "- FAPI token mint: {} tokens {} (right after the BAPI window; the raw limit is the BAPI row's, measured before the BAPI window and after this one); {} errors; a minted token {} against the JWKS and carries `azp` {APP_ORIGIN}. Each worker is a browser with its own cookie jar, signed in beforehand through `POST /v1/client/sign_ins` (identifier, password, `strategy=password`) from `Origin: {APP_ORIGIN}`, one user with a password each; it posts an empty form to `/v1/client/sessions/{{id}}/tokens?{CLERK_JS_QUERY}` with its `__client` cookie and that `Origin`. {}. Server CPU per token: FAPI {}, BAPI {}.",
            f.ok,
            window_span(f, args),
            f.errors,
            verified_note(&self.fapi_token_verified),
            window_cpu(f, args),
            cpu_per_token(f),
            cpu_per_token(t),
        );
        let _ = writeln!(
            o,
            "- Sign-in: {} completed sign-ins (303 with a `__client` cookie, each from a fresh cookie jar) {}, over {} users; {} errors. {}. Server argon2 parameters: defaults (not overridden). Raw limit: mean of {:.1} hashes/s before and {:.1} after the window ({} hashes in total, one thread on CPU {}, server idle; CPU {} {}){}.",
            s.ok,
            window_span(s, args),
            args.sign_in_users,
            s.errors,
            window_cpu(s, args),
            self.argon.before,
            self.argon.after,
            self.argon.count,
            args.server_cpu,
            args.server_cpu,
            self.argon.describe_cpu(),
            pin_note(&self.argon.pinned),
        );
        let _ = writeln!(
            o,
            "- Memory: users were created without passwords (so that this phase measures users and sessions, not {} argon2 hashes), {} in flight, {:.0} users + sessions per second ({:.1} s); {} errors. VmRSS is read from /proc/<pid>/status of the `orbit serve` process itself; MB = 10^6 bytes. Peak VmHWM after creation: {}. The memory phase runs before the throughput phases; VmRSS at the end of the run (after the sign-in phase's argon2 buffers): {} (VmHWM {}).",
            thousands(args.users),
            args.create_concurrency,
            if m.elapsed.as_secs_f64() > 0.0 { m.users as f64 / m.elapsed.as_secs_f64() } else { 0.0 },
            m.elapsed.as_secs_f64(),
            m.errors,
            m.hwm_after.map(mb).unwrap_or_else(|| "n/a".into()),
            self.end_rss.map(mb).unwrap_or_else(|| "n/a".into()),
            self.end_hwm.map(mb).unwrap_or_else(|| "n/a".into()),
        );
        for (what, samples) in [
            ("token", &t.error_samples),
            ("FAPI token", &f.error_samples),
            ("sign-in", &s.error_samples),
            ("user creation", &m.error_samples),
        ] {
            for e in samples {
                let _ = writeln!(o, "- {what} error sample: {e}");
            }
        }
        if let Some(pg) = &self.postgres {
            let _ = writeln!(o);
            o.push_str(&pg.markdown(args, &self.tokens, &self.sign_ins, &self.server_pin));
        }
        if let Some(flood) = &self.flood {
            let _ = writeln!(o);
            o.push_str(&flood.markdown(args, self.argon.per_sec));
        }
        o
    }
}

/// "in a 5.0 s window after 1.0 s warm-up".
fn window_span(load: &LoadResult, args: &Args) -> String {
    format!(
        "in a {:.1} s window after {:.1} s warm-up",
        load.window.as_secs_f64(),
        args.warmup
    )
}

/// "CPU 0 during the window: server …; load generator: 12% of CPU 1".
fn window_cpu(load: &LoadResult, args: &Args) -> String {
    format!(
        "CPU {} during the window: {}; load generator: {} of CPU {}",
        args.server_cpu,
        load.server_cpu
            .map(|c| c.describe("server"))
            .unwrap_or_else(|| "n/a".into()),
        pct(load.bench_cpu),
        args.bench_cpu
    )
}

/// "verifies", or "does NOT verify (why)".
fn verified_note(verified: &Result<(), String>) -> String {
    match verified {
        Ok(()) => "verifies".to_owned(),
        Err(e) => format!("does NOT verify ({e})"),
    }
}

fn pin_note(p: &Result<String, String>) -> String {
    match p {
        Ok(_) => String::new(),
        Err(e) => format!(" (WARNING: the raw thread could not be pinned: {e})"),
    }
}
