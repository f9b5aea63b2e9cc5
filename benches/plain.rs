//! The plain echo's benchmarks: `serve --mode plain` moving bytes through the kernel (splice) and
//! through its buffers (the copy path, `--no-splice`), side by side, with Go's `io.Copy(c, c)`
//! echo and socat `PIPE` as references when asked for or installed, and prints one table of
//! medians.
//!
//! ```text
//! cargo bench --bench plain                          # every scenario, 3 runs each
//! cargo bench --bench plain -- --runs 5 --only bulk1,bulk10,bulk100
//! cargo bench --bench plain -- --go                  # Go's io.Copy echo too (benches/go/echo.go)
//! cargo bench --bench plain -- --baseline /tmp/echoctl-before   # an older build, same runs
//! cargo bench --bench plain -- --unix                # over a Unix socket instead of TCP
//! cargo bench --bench plain -- --pinned              # the server on one CPU, the client on another
//! ```
//!
//! Scenarios: `bulk1`, `bulk10` and `bulk100` stream pseudo-random bytes both ways on 1, 10 and
//! 100 connections for `--seconds` (5), every byte checked as it comes back; `gib` sends 1 GiB
//! on one connection, checked byte for byte; `idle` holds 10,000 idle connections (`echoctl
//! bench -n 0`) and reads the server's peak RSS and its descriptors; `small` is 1,000
//! connections sending 10 messages a second each for 10 s (`echoctl bench --expect plain
//! --rate 10`), for the round trip's p99.
//!
//! The bulk client runs in this process, on two tokio threads; the server's CPU (user and
//! system, from `/proc/PID/stat`, children included for socat) is read before and after each
//! load, its peak RSS (`VmHWM`) after, and its open descriptors sampled while the load runs.
//! Each run starts a fresh server (its stderr in cargo's scratch directory,
//! `plain-SCENARIO-SERVER.log`); servers alternate, each first in turn. Not part of `cargo
//! test` or CI; Linux only (it reads `/proc`).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

mod support;
use support::{
    Running, build_go, cpu_seconds, free_port, load_average, median, open_fds, peak_rss_mb, pin,
    pin_this_process, table_header, two_cpus,
};

const ECHOCTL: &str = env!("CARGO_BIN_EXE_echoctl");

/// The bulk client's writes and reads.
const CHUNK: usize = 64 * 1024;

/// The pattern's period: every connection starts at its own offset in it.
const PERIOD: usize = (1 << 20) + 4093;

#[derive(Clone, Copy)]
enum Load {
    /// Both ways on this many connections for `--seconds`.
    Bulk(usize),
    /// 1 GiB on one connection.
    Gib,
    /// 10,000 idle connections.
    Idle,
    /// 1,000 connections, 10 small messages a second each.
    Small,
}

struct Scenario {
    name: &'static str,
    title: &'static str,
    load: Load,
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "bulk1",
            title: "bulk, 1 connection",
            load: Load::Bulk(1),
        },
        Scenario {
            name: "bulk10",
            title: "bulk, 10 connections",
            load: Load::Bulk(10),
        },
        Scenario {
            name: "bulk100",
            title: "bulk, 100 connections",
            load: Load::Bulk(100),
        },
        Scenario {
            name: "gib",
            title: "1 GiB on one connection",
            load: Load::Gib,
        },
        Scenario {
            name: "idle",
            title: "10,000 idle connections",
            load: Load::Idle,
        },
        Scenario {
            name: "small",
            title: "1,000 connections x 10 messages/s, 10 s",
            load: Load::Small,
        },
    ]
}

/// A server under test.
enum Server {
    /// `serve --mode plain`: splice where it can.
    Splice,
    /// `serve --mode plain --no-splice`: the copy path.
    Copy,
    /// An older build of echoctl.
    Baseline(PathBuf),
    /// The book's `io.Copy(c, c)` echo, built from `benches/go/echo.go`.
    Go(PathBuf),
    /// `socat ... PIPE`, a process per connection.
    Socat,
}

impl Server {
    fn name(&self) -> &'static str {
        match self {
            Server::Splice => "echoctl splice",
            Server::Copy => "echoctl copy",
            Server::Baseline(_) => "echoctl baseline",
            Server::Go(_) => "Go io.Copy",
            Server::Socat => "socat PIPE",
        }
    }

    /// socat forks a process per connection: not for 10,000 of them. Under bulk load on more
    /// than one connection its children stall for good, each blocked writing 8 KiB into its
    /// own full pipe, which only it reads.
    fn serves(&self, scenario: &Scenario) -> bool {
        match (self, scenario.load) {
            (Server::Socat, Load::Idle) => false,
            (Server::Socat, Load::Bulk(connections)) => connections == 1,
            _ => true,
        }
    }

    fn command(&self, addr: &Addr) -> Command {
        let echoctl = |binary: &Path, extra: &[&str]| {
            let mut cmd = Command::new(binary);
            cmd.args([
                "serve",
                "-q",
                "--mode",
                "plain",
                "--listen",
                &addr.echoctl(),
            ])
            .args(extra);
            cmd
        };
        match self {
            Server::Splice => echoctl(Path::new(ECHOCTL), &[]),
            Server::Copy => echoctl(Path::new(ECHOCTL), &["--no-splice"]),
            Server::Baseline(binary) => echoctl(binary, &[]),
            Server::Go(binary) => {
                let mut cmd = Command::new(binary);
                cmd.args(["-listen", &addr.echoctl()]);
                cmd
            }
            Server::Socat => {
                let mut cmd = Command::new("socat");
                match addr {
                    Addr::Tcp(port) => {
                        cmd.arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr"))
                    }
                    Addr::Unix(path) => cmd.arg(format!("UNIX-LISTEN:{},fork", path.display())),
                };
                cmd.arg("PIPE");
                cmd
            }
        }
    }
}

/// Where a run's server listens.
#[derive(Clone)]
enum Addr {
    Tcp(u16),
    Unix(PathBuf),
}

impl Addr {
    /// As echoctl (and the Go echo) take it.
    fn echoctl(&self) -> String {
        match self {
            Addr::Tcp(port) => format!("127.0.0.1:{port}"),
            Addr::Unix(path) => format!("unix:{}", path.display()),
        }
    }
}

/// A connected client socket, either kind.
trait Socket: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Socket for T {}

async fn connect(addr: &Addr) -> std::io::Result<Box<dyn Socket>> {
    Ok(match addr {
        Addr::Tcp(port) => Box::new(tokio::net::TcpStream::connect(("127.0.0.1", *port)).await?),
        Addr::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
    })
}

/// What one run measured.
struct Run {
    /// Bytes echoed and checked (bulk and gib).
    bytes: u64,
    seconds: f64,
    server_cpu_s: f64,
    server_peak_rss_mb: f64,
    /// The most descriptors the server held while the load ran.
    server_fds: usize,
    /// The round trip's p99 (small).
    p99_ms: Option<f64>,
    /// Echoes lost or wrong (small and idle, from `echoctl bench`).
    lost: f64,
    /// The bulk client's own CPU (this process), user and system.
    client_cpu_s: f64,
}

struct Options {
    runs: usize,
    seconds: u64,
    only: Option<Vec<String>>,
    unix: bool,
    /// The server on the first CPU and this harness (the client) on the second.
    pinned: Option<[usize; 2]>,
    /// The machine's cores, counted before any pinning.
    cores: usize,
}

fn main() {
    let mut options = Options {
        runs: 3,
        seconds: 5,
        only: None,
        unix: false,
        pinned: None,
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
    };
    let mut with_go = false;
    let mut with_socat = true;
    let mut baseline: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => options.runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(3),
            "--seconds" => options.seconds = args.next().and_then(|n| n.parse().ok()).unwrap_or(5),
            "--only" => {
                options.only = args
                    .next()
                    .map(|s| s.split(',').map(String::from).collect())
            }
            "--unix" => options.unix = true,
            "--pinned" => match two_cpus() {
                Some(cpus) => options.pinned = Some(cpus),
                None => {
                    eprintln!("error: --pinned needs two CPUs to run on");
                    std::process::exit(2);
                }
            },
            "--go" => with_go = true,
            "--no-socat" => with_socat = false,
            "--baseline" => baseline = args.next().map(PathBuf::from),
            _ => {} // cargo bench passes --bench; ignore what is not ours
        }
    }
    let mut servers = vec![Server::Splice, Server::Copy];
    if let Some(binary) = baseline {
        if !binary.is_file() {
            eprintln!("error: --baseline {}: no such file", binary.display());
            std::process::exit(2);
        }
        servers.push(Server::Baseline(binary));
    }
    if with_go {
        match build_go("echo") {
            Ok(binary) => servers.push(Server::Go(binary)),
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        }
    }
    let socat = with_socat
        && Command::new("socat")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if socat {
        servers.push(Server::Socat);
    } else if with_socat {
        eprintln!("note: socat is not installed (apt-get install socat); it sits these out");
    }
    if let Some([_, client_cpu]) = options.pinned {
        // Before the client's runtime starts, so that its threads run there too.
        if let Err(e) = pin_this_process(client_cpu) {
            eprintln!("error: --pinned: {e}");
            std::process::exit(2);
        }
    }
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime for the bulk client");
    let pattern = Arc::new(pattern());

    let started = Instant::now();
    let mut rows = Vec::new();
    for scenario in scenarios() {
        if options
            .only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|n| n == scenario.name))
        {
            continue;
        }
        let mut results: Vec<Vec<Run>> = servers.iter().map(|_| Vec::new()).collect();
        for i in 0..options.runs {
            let mut order: Vec<usize> = (0..servers.len())
                .filter(|&k| servers[k].serves(&scenario))
                .collect();
            let serving = order.len().max(1);
            order.rotate_left(i % serving);
            for &which in &order {
                let server = &servers[which];
                eprint!(
                    "{} {} run {}/{} ... ",
                    scenario.name,
                    server.name(),
                    i + 1,
                    options.runs
                );
                match run(&client, &pattern, server, &scenario, &options) {
                    Ok(r) => {
                        eprintln!("{} | load {}", one_line(&r), load_average());
                        results[which].push(r);
                    }
                    Err(e) => eprintln!("failed: {e}"),
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        rows.push((scenario, results));
    }
    print_table(&rows, &servers, &options, started.elapsed());
}

/// `PERIOD` pseudo-random bytes (xorshift), twice over, so that any window of up to `PERIOD`
/// bytes starting in the first copy is one slice.
fn pattern() -> Vec<u8> {
    let mut bytes = Vec::with_capacity(2 * PERIOD + 8);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while bytes.len() < PERIOD {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(PERIOD);
    bytes.extend_from_within(..);
    bytes
}

fn run(
    client: &tokio::runtime::Runtime,
    pattern: &Arc<Vec<u8>>,
    server: &Server,
    scenario: &Scenario,
    options: &Options,
) -> Result<Run, String> {
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let addr = if options.unix && !matches!(scenario.load, Load::Idle | Load::Small) {
        let path = scratch.join(format!("plain-bench-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        Addr::Unix(path)
    } else {
        Addr::Tcp(free_port()?)
    };
    // Its start-up line and complaints (Go's when out of descriptors, one per accept) go to a
    // file rather than across the progress lines.
    let log = scratch.join(format!(
        "plain-{}-{}.log",
        scenario.name,
        server.name().replace(' ', "-")
    ));
    let log =
        std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let mut command = server.command(&addr);
    if let Some([server_cpu, _]) = options.pinned {
        pin(&mut command, server_cpu);
    }
    let mut child = Running::new(
        command
            // Its own process group, so that socat's children go with it.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", server.name()))?,
    );
    client.block_on(wait_until_listening(&addr))?;
    let pid = child.pid();
    let cpu_before = cpu_seconds(pid)?;
    let mut run = match scenario.load {
        Load::Bulk(connections) => client.block_on(bulk(
            &addr,
            pattern,
            connections,
            Budget::For(Duration::from_secs(options.seconds)),
            pid,
        ))?,
        Load::Gib => client.block_on(bulk(&addr, pattern, 1, Budget::Bytes(1 << 30), pid))?,
        Load::Idle => echoctl_bench(
            &addr,
            &[
                "-c",
                "10000",
                "-n",
                "0",
                "--duration",
                "4s",
                "--ramp-up",
                "1s",
            ],
            pid,
        )?,
        Load::Small => echoctl_bench(
            &addr,
            &["-c", "1000", "--rate", "10", "-n", "100", "--ramp-up", "1s"],
            pid,
        )?,
    };
    if matches!(server, Server::Socat) {
        // Its children count once they have ended and it has reaped them: each lingers half a
        // second after its client's end.
        std::thread::sleep(Duration::from_millis(1500));
    }
    run.server_cpu_s = cpu_seconds(pid)? - cpu_before;
    run.server_peak_rss_mb = peak_rss_mb(pid)?;
    child.stop();
    if let Addr::Unix(path) = &addr {
        let _ = std::fs::remove_file(path);
    }
    Ok(run)
}

enum Budget {
    For(Duration),
    Bytes(u64),
}

/// Streams the pattern both ways on `connections` connections, each from its own offset, and
/// checks every byte that comes back; samples the server's descriptors meanwhile.
async fn bulk(
    addr: &Addr,
    pattern: &Arc<Vec<u8>>,
    connections: usize,
    budget: Budget,
    pid: u32,
) -> Result<Run, String> {
    let client_cpu_before = own_cpu_seconds();
    let mut sockets = Vec::new();
    for _ in 0..connections {
        sockets.push(connect(addr).await.map_err(|e| format!("connect: {e}"))?);
    }
    let started = Instant::now();
    let deadline = match budget {
        Budget::For(d) => Some(started + d),
        Budget::Bytes(_) => None,
    };
    let limit = match budget {
        Budget::Bytes(n) => n,
        Budget::For(_) => u64::MAX,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for (i, socket) in sockets.into_iter().enumerate() {
        let pattern = pattern.clone();
        let start = (i * 7919 * 131) % PERIOD;
        tasks.spawn(async move {
            let (mut reader, mut writer) = tokio::io::split(socket);
            let writing = {
                let pattern = pattern.clone();
                tokio::spawn(async move {
                    let mut sent: u64 = 0;
                    while sent < limit && deadline.is_none_or(|d| Instant::now() < d) {
                        let at = (start + (sent % PERIOD as u64) as usize) % PERIOD;
                        let n = CHUNK.min((limit - sent).try_into().unwrap_or(CHUNK));
                        writer
                            .write_all(&pattern[at..at + n])
                            .await
                            .map_err(|e| format!("write: {e}"))?;
                        sent += n as u64;
                    }
                    writer
                        .shutdown()
                        .await
                        .map_err(|e| format!("shutdown: {e}"))?;
                    Ok::<u64, String>(sent)
                })
            };
            let mut buf = vec![0u8; CHUNK];
            let mut got: u64 = 0;
            loop {
                let n = reader
                    .read(&mut buf)
                    .await
                    .map_err(|e| format!("connection {i}: read: {e}"))?;
                if n == 0 {
                    break;
                }
                let at = (start + (got % PERIOD as u64) as usize) % PERIOD;
                if buf[..n] != pattern[at..at + n] {
                    return Err(format!(
                        "connection {i}: the bytes after {got} came back changed"
                    ));
                }
                got += n as u64;
            }
            let sent = writing
                .await
                .map_err(|e| format!("connection {i}: writer: {e}"))??;
            if got != sent {
                return Err(format!(
                    "connection {i}: sent {sent} bytes, {got} came back"
                ));
            }
            Ok(got)
        });
    }
    let mut bytes = 0;
    let mut fds = 0;
    let patience = match budget {
        Budget::For(d) => d + Duration::from_secs(30),
        Budget::Bytes(_) => Duration::from_secs(300),
    };
    let give_up = started + patience;
    loop {
        fds = fds.max(open_fds(pid));
        match tokio::time::timeout(Duration::from_millis(100), tasks.join_next()).await {
            Ok(None) => break,
            Ok(Some(done)) => bytes += done.map_err(|e| e.to_string())??,
            Err(_) if Instant::now() > give_up => return Err("the echo stalled".into()),
            Err(_) => {}
        }
    }
    Ok(Run {
        bytes,
        seconds: started.elapsed().as_secs_f64(),
        server_cpu_s: 0.0,
        server_peak_rss_mb: 0.0,
        server_fds: fds,
        p99_ms: None,
        lost: 0.0,
        client_cpu_s: own_cpu_seconds() - client_cpu_before,
    })
}

/// Runs `echoctl bench --expect plain` against the server, sampling its descriptors meanwhile.
fn echoctl_bench(addr: &Addr, args: &[&str], pid: u32) -> Result<Run, String> {
    let started = Instant::now();
    let mut bench = Command::new(ECHOCTL)
        .arg("bench")
        .arg(addr.echoctl())
        .args(["--expect", "plain", "--json"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run echoctl bench: {e}"))?;
    let mut fds = 0;
    while bench.try_wait().map_err(|e| e.to_string())?.is_none() {
        fds = fds.max(open_fds(pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = bench.wait_with_output().map_err(|e| e.to_string())?;
    let report: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("bench printed no JSON ({e})"))?;
    let num = |path: &[&str]| {
        let mut v = &report;
        for key in path {
            v = &v[*key];
        }
        v.as_f64()
            .ok_or_else(|| format!("echoctl bench's JSON has no number at {path:?}"))
    };
    let lost = num(&["echo_lines", "missing"])?
        + num(&["echo_lines", "wrong"])?
        + num(&["connections", "failed"])?;
    let p99_ms = if num(&["echo_lines", "expected"])? > 0.0 {
        Some(num(&["lateness", "original", "p99_ms"])?)
    } else {
        None
    };
    Ok(Run {
        bytes: 0,
        seconds: started.elapsed().as_secs_f64(),
        server_cpu_s: 0.0,
        server_peak_rss_mb: 0.0,
        server_fds: fds,
        p99_ms,
        lost,
        client_cpu_s: f64::NAN,
    })
}

async fn wait_until_listening(addr: &Addr) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!("the server did not listen on {}", addr.echoctl()))
}

/// User + system CPU seconds of this process (the bulk client), all threads.
fn own_cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct it is handed and reads nothing else.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return f64::NAN;
    }
    // SAFETY: getrusage succeeded, so it filled the struct.
    let usage = unsafe { usage.assume_init() };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn mb_per_s(r: &Run) -> f64 {
    r.bytes as f64 / 1e6 / r.seconds
}

fn cpu_per_gb(r: &Run) -> f64 {
    if r.bytes == 0 {
        f64::NAN
    } else {
        r.server_cpu_s / (r.bytes as f64 / 1e9)
    }
}

fn client_cpu_per_gb(r: &Run) -> f64 {
    if r.bytes == 0 {
        f64::NAN
    } else {
        r.client_cpu_s / (r.bytes as f64 / 1e9)
    }
}

fn one_line(r: &Run) -> String {
    let mut parts = Vec::new();
    if r.bytes > 0 {
        parts.push(format!(
            "{:.0} MB in {:.2} s, {:.0} MB/s, {:.3} s CPU per GB (client {:.3} s)",
            r.bytes as f64 / 1e6,
            r.seconds,
            mb_per_s(r),
            cpu_per_gb(r),
            client_cpu_per_gb(r)
        ));
    }
    if let Some(p99) = r.p99_ms {
        parts.push(format!("p99 {p99:.2} ms, lost {}", r.lost));
    }
    parts.push(format!(
        "server CPU {:.2} s, peak RSS {:.1} MB, {} fds",
        r.server_cpu_s, r.server_peak_rss_mb, r.server_fds
    ));
    parts.join(" | ")
}

fn print_table(
    rows: &[(Scenario, Vec<Vec<Run>>)],
    servers: &[Server],
    options: &Options,
    took: Duration,
) {
    let cores = options.cores;
    println!();
    println!(
        "plain echo benchmarks over {}: server and client on one machine, {cores} cores{}, load average {} at the end",
        if options.unix {
            "a Unix socket (bulk, gib)"
        } else {
            "TCP on 127.0.0.1"
        },
        match options.pinned {
            Some([server, client]) =>
                format!(" (the server on CPU {server}, the client on CPU {client})"),
            None => String::new(),
        },
        load_average()
    );
    println!(
        "medians of {} runs ({} s per bulk run); took {:.0} s",
        options.runs,
        options.seconds,
        took.as_secs_f64()
    );
    println!();
    table_header(&[
        "scenario",
        "server",
        "runs",
        "MB/s",
        "server CPU per GB",
        "client CPU per GB",
        "server CPU",
        "p99 round trip",
        "lost",
        "server peak RSS",
        "server fds (most)",
    ]);
    for (scenario, per_server) in rows {
        for (server, results) in servers.iter().zip(per_server) {
            if !server.serves(scenario) {
                continue;
            }
            let m = |f: &dyn Fn(&Run) -> f64| median(results.iter().map(f).collect());
            let cell = |v: f64, text: String| if v.is_finite() { text } else { "-".into() };
            let mbs = m(&|r| if r.bytes > 0 { mb_per_s(r) } else { f64::NAN });
            let per_gb = m(&cpu_per_gb);
            let client_per_gb = m(&client_cpu_per_gb);
            let p99 = m(&|r| r.p99_ms.unwrap_or(f64::NAN));
            println!(
                "| {} | {} | {} of {} | {} | {} | {} | {:.2} s | {} | {} | {:.1} MB | {:.0} |",
                scenario.title,
                server.name(),
                results.len(),
                options.runs,
                cell(mbs, format!("{mbs:.0}")),
                cell(per_gb, format!("{per_gb:.3} s")),
                cell(client_per_gb, format!("{client_per_gb:.3} s")),
                m(&|r| r.server_cpu_s),
                cell(p99, format!("{p99:.2} ms")),
                results.iter().map(|r| r.lost).fold(0.0, f64::max),
                m(&|r| r.server_peak_rss_mb),
                m(&|r| r.server_fds as f64),
            );
        }
    }
    println!();
    for (k, other) in servers.iter().enumerate().skip(1) {
        println!(
            "echoctl splice against {} (ratios of medians):",
            other.name()
        );
        for (scenario, per_server) in rows.iter().filter(|(s, _)| other.serves(s)) {
            let (ours, theirs) = (&per_server[0], &per_server[k]);
            if ours.is_empty() || theirs.is_empty() {
                println!(
                    "- {}: no comparison, a server had no successful run",
                    scenario.name
                );
                continue;
            }
            let m =
                |results: &[Run], f: &dyn Fn(&Run) -> f64| median(results.iter().map(f).collect());
            let mut parts = Vec::new();
            if matches!(scenario.load, Load::Bulk(_) | Load::Gib) {
                parts.push(format!(
                    "{:.2}x the MB/s",
                    m(ours, &mb_per_s) / m(theirs, &mb_per_s)
                ));
                parts.push(format!(
                    "{:.2}x the CPU per GB",
                    m(ours, &cpu_per_gb) / m(theirs, &cpu_per_gb)
                ));
            } else {
                parts.push(format!(
                    "{:.2}x the server CPU",
                    m(ours, &|r| r.server_cpu_s) / m(theirs, &|r| r.server_cpu_s)
                ));
                parts.push(format!(
                    "{:.2}x the peak RSS",
                    m(ours, &|r| r.server_peak_rss_mb) / m(theirs, &|r| r.server_peak_rss_mb)
                ));
                if matches!(scenario.load, Load::Small) {
                    let p99 = |r: &Run| r.p99_ms.unwrap_or(f64::NAN);
                    parts.push(format!("{:.2}x the p99", m(ours, &p99) / m(theirs, &p99)));
                }
            }
            println!("- {}: {}", scenario.name, parts.join(", "));
        }
        println!();
    }
}
