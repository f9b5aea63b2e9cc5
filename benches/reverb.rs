//! The reverb benchmarks: drives `echoctl serve` with `echoctl bench` through the scenarios of the
//! performance issue and prints one table, with the machine's cores, of medians of repeated runs.
//!
//! ```text
//! cargo bench --bench reverb                     # every scenario, 3 runs each (about 5 minutes)
//! cargo bench --bench reverb -- --runs 5 --only idle,throughput
//! cargo bench --bench reverb -- --quick          # 1,000 connections instead of 10,000: a smoke run
//! cargo bench --bench reverb -- --go             # the book's Go programs too, in the same runs
//! cargo bench --bench reverb -- --go --only steady,floor --runs 1 --svg docs   # and charts
//! cargo bench --bench reverb -- --baseline /tmp/echoctl-before   # an older build, same runs
//! ```
//!
//! The `floor` scenario is the steady load against a server with `--delay 0`: its lateness is
//! what this machine and bench resolve without a timer, in the same run, and every timed figure
//! is also given as a ratio to it (and to Go's with `--go`). With `--svg DIR`, each scenario with
//! echoes gets a chart, `DIR/bench-SCENARIO.svg`, of lateness by percentile per voice and of all
//! three (drawn as `bench --svg` draws a run), echoctl's curves solid and Go's dashed, from the run with the median p99 (each run writes its
//! distribution with `echoctl bench --percentiles` into cargo's scratch directory).
//!
//! With `--go`, `benches/go/reverb.go` (the book's reverb1 and reverb2, with flags for the
//! address, delay and mode) is built with the machine's `go`, and each run of each scenario drives
//! echoctl and then Go, one after the other, so both meet the same machine and the same noise.
//!
//! The `plain` scenario loads `serve --mode plain` with `bench --expect plain`, and beside it, in
//! the same runs, `socat TCP-LISTEN:PORT,fork,reuseaddr PIPE` as the reference plain echo when
//! `socat` is installed (Go's reverb does not take part: it has no plain mode).
//!
//! The `udp-` scenarios run over UDP (`serve --listen udp:...`, `bench udp:...`): `udp-plain`
//! (as many datagrams as a window of 4 per peer lets through) and `udp-paced` (20,000 a second)
//! load the plain echo, beside `benches/go/udpecho.go` with `--go` (the obvious Go UDP echo, a
//! `ReadFrom`/`WriteTo` loop); `udp-steady` is the steady reverb load over UDP, and `udp-floor`
//! its floor, against which its lateness is given.
//!
//! The `tls-` scenarios run over TLS: `serve --tls` and, with `--go`, the book's reverb2 on
//! Go's `crypto/tls` (`benches/go/reverb.go -tls`), both making a self-signed ECDSA P-256
//! certificate at start-up, driven by `bench --tls --insecure` (the client's checks are the
//! bench's cost, not the server's). `tls-idle` holds N idle TLS connections (peak RSS, beside
//! `idle`'s over TCP); `tls-steady` is the steady load over TLS, its lateness given against
//! the (plaintext) `floor`; `tls-handshakes` makes N/2 connections as fast as the bench can,
//! server and bench pinned to a CPU each (as `taskset -c` would), for handshakes per second of
//! server CPU, beside `handshakes`, the same over TCP (accepts alone). Each run starts a fresh
//! server, so each makes its certificate before the bench, outside the CPU measured.
//!
//! ```text
//! cargo bench --bench reverb -- --go --only idle,tls-idle,handshakes,tls-handshakes,steady,tls-steady,floor
//! ```
//!
//! With `--baseline PATH`, an older build of echoctl (a copy of an earlier `target/release/echoctl`)
//! serves every scenario too, interleaved with the current one, so that a change is measured
//! before and after in one sitting.
//!
//! Not part of `cargo test` or CI: it takes minutes and measures the machine as much as the code.
//! Each run starts a fresh server on a free 127.0.0.1 port (so its peak memory is that run's), runs
//! one `echoctl bench --json`, reads the server's peak RSS (`VmHWM`), CPU time and context
//! switches (voluntary and not, summed over its threads) from `/proc`, then stops it. Everything stays on loopback and every run is bounded in connections and time.
//! Linux only (it reads `/proc`).

use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use echoctl::bench::chart::{self, Distribution};
use echoctl::bench::hgrm;
use echoctl_core::plural::counted;
use serde_json::Value;

mod support;
use support::{
    Running, build_go, context_switches, cpu_seconds, free_port, load_average, median, peak_rss_mb,
    pin, table_header, two_cpus,
};

const ECHOCTL: &str = env!("CARGO_BIN_EXE_echoctl");

struct Scenario {
    name: &'static str,
    title: &'static str,
    /// Over UDP (`udp:` addresses, each echo line a datagram) rather than TCP.
    udp: bool,
    /// Over TLS: `serve --tls` (Go's reverb `-tls`), each making its certificate at start-up,
    /// and `bench --tls --insecure` (the client's checks are the bench's cost, not the
    /// server's).
    tls: bool,
    /// The server on one CPU and the bench on another, so that the server's CPU time is one
    /// core's (with fewer than two CPUs, not pinned, and the table says so).
    pinned: bool,
    mode: &'static str,
    delay: &'static str,
    bench: Vec<String>,
    target: &'static str,
    go: &'static str,
}

impl Scenario {
    /// Its title with N, the connections of this invocation, filled in.
    fn title(&self, connections: usize) -> String {
        self.title
            .replace("N/2", &(connections / 2).max(1).to_string())
            .replace('N', &connections.to_string())
    }
}

fn scenarios(connections: usize) -> Vec<Scenario> {
    // The bench's arguments, written as on a command line.
    let words = |line: &str| -> Vec<String> { line.split_whitespace().map(String::from).collect() };
    // The same with `-c N`, this invocation's connections, before them.
    let args = |line: &str| words(&format!("-c {connections} {line}"));
    // Connections made as fast as the bench makes them, each held without a shout: the
    // server's CPU is its accepts (and handshakes, over TLS).
    let connects = words(&format!(
        "-c {} -n 0 --duration 3s --ramp-up 0s",
        (connections / 2).max(1)
    ));
    vec![
        Scenario {
            name: "steady",
            title: "N conns, 1 shout/s each, delay 1 s, 10 s",
            udp: false,
            tls: false,
            pinned: false,
            mode: "concurrent",
            delay: "1s",
            // Connects spread over 5 s: all 10,000 within 1 s is a connect burst that pushes
            // p99 to several ms on its own, which is not what this scenario measures.
            bench: args("-n 10 -i 1s -d 1s --ramp-up 5s"),
            target: "nothing lost; p99 <= 1 ms each echo; p99.9 <= 10 ms; RSS <= 32 MB",
            go: "nothing lost; p99 0.7-0.9 / 1.7-2.6 / 2.6-3.8 ms; p99.9 10-23 ms; RSS 134 MB",
        },
        Scenario {
            name: "floor",
            title: "the steady load against --delay 0: what machine and bench resolve",
            udp: false,
            tls: false,
            pinned: false,
            mode: "concurrent",
            delay: "0",
            bench: args("-n 10 -i 1s -d 0 --ramp-up 5s"),
            target: "the floor the timed figures stand on",
            go: "-",
        },
        Scenario {
            name: "idle",
            title: "N idle conns",
            udp: false,
            tls: false,
            pinned: false,
            mode: "concurrent",
            delay: "1s",
            bench: args("-n 0 --duration 4s --ramp-up 1s"),
            target: "RSS <= 20 MB",
            go: "57 MB (5.7 KB each)",
        },
        Scenario {
            name: "throughput",
            title: "delay 0, 100 conns, 16 in flight each",
            udp: false,
            tls: false,
            pinned: false,
            mode: "concurrent",
            delay: "0",
            bench: words("-c 100 -n 10000000 -d 0 -w 16 --duration 5s --ramp-up 100ms"),
            target: ">= 5x Go in the same run (>= 1.55-1.9 M lines/s by the issue's Go figures)",
            go: "310,000-380,000 echo lines/s",
        },
        Scenario {
            name: "overload",
            title: "N conns, 10 shouts/s each, delay 100 ms, 10 s",
            udp: false,
            tls: false,
            pinned: false,
            mode: "concurrent",
            delay: "100ms",
            bench: args("-n 100 -i 100ms -d 100ms --ramp-up 1s"),
            target: "nothing lost",
            go: "70,000-100,000 echo lines lost",
        },
        Scenario {
            name: "plain",
            title: "plain echo, 100 conns, 16 in flight each",
            udp: false,
            tls: false,
            pinned: false,
            mode: "plain",
            delay: "",
            bench: words("--expect plain -c 100 -n 10000000 -w 16 --duration 5s --ramp-up 100ms"),
            target: "nothing lost",
            go: "(no plain mode in the book's reverb; socat PIPE is the reference)",
        },
        Scenario {
            name: "sequential",
            title: "sequential, N conns, a shout every 2.5 s, delay 1 s, 10 s",
            udp: false,
            tls: false,
            pinned: false,
            mode: "sequential",
            delay: "1s",
            bench: args("-n 4 -i 2.5s -d 1s --ramp-up 2500ms"),
            target: "nothing lost; p99 <= 1 ms; RSS <= 32 MB",
            go: "reverb1: nothing lost; p99 0.5 / 1.4 / 2.3 ms; RSS 79 MB",
        },
        Scenario {
            name: "udp-plain",
            title: "UDP plain echo, 100 peers, 4 datagrams in flight each",
            udp: true,
            tls: false,
            pinned: false,
            mode: "plain",
            delay: "",
            bench: words(
                "--expect plain -c 100 -n 10000000 -w 4 --duration 5s --ramp-up 100ms --grace 1s",
            ),
            target: ">= 1.5x Go's datagrams/s in the same runs",
            go: "(the obvious ReadFrom/WriteTo loop, benches/go/udpecho.go)",
        },
        Scenario {
            name: "udp-paced",
            title: "UDP plain echo, 100 peers, 200 datagrams/s each (20,000/s), 5 s",
            udp: true,
            tls: false,
            pinned: false,
            mode: "plain",
            delay: "",
            bench: words("--expect plain -c 100 -n 1000 --rate 200 --ramp-up 100ms --grace 1s"),
            target: "nothing lost where Go loses nothing",
            go: "-",
        },
        Scenario {
            name: "udp-steady",
            title: "UDP: N peers, 1 shout/s each, delay 1 s, 10 s",
            udp: true,
            tls: false,
            pinned: false,
            mode: "concurrent",
            delay: "1s",
            bench: args("-n 10 -i 1s -d 1s --ramp-up 5s"),
            target: "nothing lost; RSS <= steady's (TCP); p99 <= 3x the UDP floor",
            go: "-",
        },
        Scenario {
            name: "udp-floor",
            title: "the UDP steady load against --delay 0",
            udp: true,
            tls: false,
            pinned: false,
            mode: "concurrent",
            delay: "0",
            bench: args("-n 10 -i 1s -d 0 --ramp-up 5s"),
            target: "the floor the UDP timed figures stand on",
            go: "-",
        },
        Scenario {
            name: "handshakes",
            title: "N/2 connects as fast as the bench makes them (256 at once), held 3 s; one core each side",
            udp: false,
            tls: false,
            pinned: true,
            mode: "concurrent",
            delay: "1s",
            bench: connects.clone(),
            target: "the plaintext reference for tls-handshakes: accepts alone",
            go: "-",
        },
        Scenario {
            name: "tls-idle",
            title: "N idle TLS conns, connected over 5 s, held 10 s",
            udp: false,
            tls: true,
            pinned: false,
            mode: "concurrent",
            delay: "1s",
            bench: args("-n 0 --duration 10s --ramp-up 5s"),
            target: "RSS <= 0.5x Go's over TLS",
            go: "-",
        },
        Scenario {
            name: "tls-handshakes",
            title: "N/2 TLS handshakes as fast as the bench makes them (256 at once), held 3 s; one core each side",
            udp: false,
            tls: true,
            pinned: true,
            mode: "concurrent",
            delay: "1s",
            bench: connects,
            target: ">= Go's handshakes per server CPU second",
            go: "-",
        },
        Scenario {
            name: "tls-steady",
            title: "the steady load over TLS: N conns, 1 shout/s each, delay 1 s, 10 s",
            udp: false,
            tls: true,
            pinned: false,
            mode: "concurrent",
            delay: "1s",
            bench: args("-n 10 -i 1s -d 1s --ramp-up 5s"),
            target: "nothing lost; server CPU <= Go's over TLS; p99 <= 3x the (plaintext) floor",
            go: "-",
        },
    ]
}

/// A server under test: echoctl, an older build of it (`--baseline`), the book's Go program
/// built from `benches/go/reverb.go`, socat as a plain echo, or the obvious Go UDP echo built
/// from `benches/go/udpecho.go`.
enum Server {
    Echoctl,
    Baseline(PathBuf),
    Go(PathBuf),
    Socat,
    GoUdp(PathBuf),
}

impl Server {
    fn name(&self) -> &'static str {
        match self {
            Server::Echoctl => "echoctl",
            Server::Baseline(_) => "echoctl (baseline)",
            Server::Go(_) => "Go",
            Server::Socat => "socat",
            Server::GoUdp(_) => "Go UDP echo",
        }
    }

    /// Whether this server takes part in `scenario`: Go only as a reverb over TCP (and TLS),
    /// socat only as a plain echo over TCP, Go's UDP echo only as a plain echo over UDP (and a
    /// baseline build, which may predate UDP, only over TCP; one that predates TLS fails the
    /// TLS scenarios' runs, and the table says so).
    fn serves(&self, scenario: &Scenario) -> bool {
        match self {
            Server::Echoctl => true,
            Server::Baseline(_) => !scenario.udp,
            Server::Go(_) => !scenario.udp && scenario.mode != "plain",
            Server::Socat => !scenario.udp && scenario.mode == "plain",
            Server::GoUdp(_) => scenario.udp && scenario.mode == "plain",
        }
    }

    fn command(&self, addr: &str, scenario: &Scenario) -> Command {
        match self {
            Server::Echoctl | Server::Baseline(_) => {
                let binary = match self {
                    Server::Baseline(binary) => binary.as_path(),
                    _ => Path::new(ECHOCTL),
                };
                let mut cmd = Command::new(binary);
                let addr = if scenario.udp {
                    format!("udp:{addr}")
                } else {
                    addr.to_string()
                };
                cmd.args(["serve", "-q", "--listen", &addr, "--mode", scenario.mode]);
                if scenario.mode != "plain" {
                    cmd.args(["--delay", scenario.delay]);
                }
                if scenario.tls {
                    cmd.arg("--tls");
                }
                cmd
            }
            Server::Socat => {
                let port = addr.rsplit_once(':').map_or("", |(_, port)| port);
                let mut cmd = Command::new("socat");
                cmd.arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr"))
                    .arg("PIPE");
                cmd
            }
            Server::Go(binary) => {
                let mut cmd = Command::new(binary);
                cmd.args(["-listen", addr, "-mode", scenario.mode])
                    .args(["-delay", scenario.delay]);
                if scenario.tls {
                    cmd.arg("-tls");
                }
                cmd
            }
            Server::GoUdp(binary) => {
                let mut cmd = Command::new(binary);
                cmd.args(["-listen", addr]);
                cmd
            }
        }
    }
}

/// What one run measured.
struct Run {
    bench: Value,
    server_peak_rss_mb: f64,
    server_cpu_s: f64,
    /// Over the bench's run, summed over the threads alive at its end.
    server_context_switches: f64,
    /// Where `echoctl bench --percentiles` wrote the distribution of all echoes (each voice's
    /// beside it).
    percentiles: PathBuf,
}

fn main() {
    let mut runs = 3;
    let mut connections = 10_000;
    let mut only: Option<Vec<String>> = None;
    let mut with_go = false;
    let mut svg_dir: Option<PathBuf> = None;
    let mut baseline: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(runs),
            "--quick" => connections = 1_000,
            "--connections" => {
                connections = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(connections)
            }
            "--only" => {
                only = args
                    .next()
                    .map(|s| s.split(',').map(String::from).collect())
            }
            "--go" => with_go = true,
            "--svg" => svg_dir = args.next().map(PathBuf::from),
            "--baseline" => baseline = args.next().map(PathBuf::from),
            _ => {} // cargo bench passes --bench; ignore what is not ours
        }
    }
    let mut servers = vec![Server::Echoctl];
    if let Some(binary) = baseline {
        if !binary.is_file() {
            eprintln!("error: --baseline {}: no such file", binary.display());
            std::process::exit(2);
        }
        servers.push(Server::Baseline(binary));
    }
    let socat = Command::new("socat")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if socat {
        servers.push(Server::Socat);
    } else {
        eprintln!("note: socat is not installed; the plain scenario runs without a reference");
    }
    if with_go {
        match build_go("reverb").and_then(|reverb| Ok((reverb, build_go("udpecho")?))) {
            Ok((reverb, udp)) => {
                servers.push(Server::Go(reverb));
                servers.push(Server::GoUdp(udp));
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        }
    }
    // Server and bench each raise their own open-files limit (one descriptor per connection).

    let cpus = two_cpus();
    let started = Instant::now();
    let mut rows = Vec::new();
    for scenario in scenarios(connections) {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|n| n == scenario.name))
        {
            continue;
        }
        if scenario.pinned && cpus.is_none() {
            eprintln!(
                "note: {}: fewer than two CPUs to run on, so server and bench share them: its CPU figures are not one core's",
                scenario.name
            );
        }
        let mut results: Vec<Vec<Run>> = servers.iter().map(|_| Vec::new()).collect();
        for i in 0..runs {
            // Interleaved, so that a noisy minute falls on both servers alike, and each goes
            // first in turn, so that neither always follows the other's run.
            let mut order: Vec<usize> = (0..servers.len())
                .filter(|&k| servers[k].serves(&scenario))
                .collect();
            let serving = order.len().max(1);
            order.rotate_left(i % serving);
            for &which in &order {
                let (server, results) = (&servers[which], &mut results[which]);
                eprint!(
                    "{} {} run {}/{runs} ... ",
                    scenario.name,
                    server.name(),
                    i + 1
                );
                let percentiles = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
                    "reverb-{}-{}-{}.hgrm",
                    scenario.name,
                    server.name(),
                    i + 1
                ));
                match run(server, &scenario, percentiles, cpus) {
                    Ok(r) => {
                        eprintln!("{} | load {}", one_line(&r), load_average());
                        results.push(r);
                    }
                    Err(e) => eprintln!("failed: {e}"),
                }
                // Let the system settle after the previous run's thousands of sockets.
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        if let Some(dir) = &svg_dir {
            match write_chart(dir, &scenario, &servers, &results, connections) {
                Ok(Some(path)) => eprintln!("wrote {}", path.display()),
                Ok(None) => {}
                Err(e) => eprintln!("{}: no chart: {e}", scenario.name),
            }
        }
        rows.push((scenario, results));
    }
    print_table(&rows, &servers, runs, connections, started.elapsed(), cpus);
}

/// The run with the median p99 lateness (all echoes) of `results`.
fn median_run(results: &[Run]) -> Option<&Run> {
    let mut sorted: Vec<&Run> = results.iter().collect();
    sorted.sort_by(|a, b| {
        f(&a.bench, &["lateness", "all", "p99_ms"])
            .total_cmp(&f(&b.bench, &["lateness", "all", "p99_ms"]))
    });
    sorted.get(sorted.len() / 2).copied()
}

/// Writes `DIR/bench-SCENARIO.svg`: each server's median run, per voice (echoctl solid, Go
/// dashed). `None` for a scenario without echoes.
fn write_chart(
    dir: &Path,
    scenario: &Scenario,
    servers: &[Server],
    results: &[Vec<Run>],
    connections: usize,
) -> Result<Option<PathBuf>, String> {
    let mut curves = Vec::new();
    for (server, results) in servers.iter().zip(results) {
        let Some(run) = median_run(results) else {
            continue;
        };
        if f(&run.bench, &["echo_lines", "received"]) == 0.0 {
            return Ok(None);
        }
        // The distribution of one voice, or of all three (`run.hgrm` itself).
        let distribution = |name: Option<&str>| -> Result<Distribution, String> {
            let path = match name {
                Some(name) => hgrm::voice_path(&run.percentiles, name),
                None => run.percentiles.clone(),
            };
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let steps = hgrm::parse(&text)?;
            Ok(Distribution {
                p99_ms: f(&run.bench, &["lateness", name.unwrap_or("all"), "p99_ms"]),
                count: steps.last().map_or(0, |s| s.total_count),
                points: chart::points_of_steps(&steps),
            })
        };
        let [upper, original, lower] = hgrm::VOICE_NAMES;
        let voices = [
            distribution(Some(upper))?,
            distribution(Some(original))?,
            distribution(Some(lower))?,
        ];
        let class = server
            .name()
            .to_lowercase()
            .replace(" (baseline)", "-baseline");
        curves.extend(chart::run_curves(
            Some((server.name(), &class)),
            voices,
            distribution(None)?,
            !matches!(server, Server::Echoctl),
        ));
    }
    if curves.is_empty() {
        return Ok(None);
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let title = format!("reverb {}: lateness by percentile", scenario.name);
    let subtitle = format!(
        "{}; echoctl solid, Go dashed; the median run of each\n{}",
        scenario.title(connections),
        machine()
    );
    let path = dir.join(format!("bench-{}.svg", scenario.name));
    std::fs::write(&path, chart::render(&title, &subtitle, &curves).to_string())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(Some(path))
}

/// One run of `scenario` against a fresh `server`; with `cpus`, a pinned scenario's server runs
/// on the first and its bench on the second.
fn run(
    server: &Server,
    scenario: &Scenario,
    percentiles: PathBuf,
    cpus: Option<[usize; 2]>,
) -> Result<Run, String> {
    let server_kind = server;
    let port = if scenario.udp {
        free_udp_port()?
    } else {
        free_port()?
    };
    let addr = format!("127.0.0.1:{port}");
    let cpus = cpus.filter(|_| scenario.pinned);
    let mut command = server.command(&addr, scenario);
    if let Some([cpu, _]) = cpus {
        pin(&mut command, cpu);
    }
    // The server's stderr goes to a file, shown after the run but for its start-up line, so
    // each run's progress stays on one line.
    let server_log_path = percentiles.with_extension("server.log");
    let server_log = std::fs::File::create(&server_log_path)
        .map_err(|e| format!("cannot create {}: {e}", server_log_path.display()))?;
    let mut server = Running::new(
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(server_log)
            .spawn()
            .map_err(|e| format!("cannot start the {} server: {e}", server.name()))?,
    );
    // Measured apart, so that the server's log is shown however it ends: what it said is the
    // reason when it did not start.
    let measured = (|| {
        if scenario.udp {
            wait_until_udp_listening(&addr)?;
        } else {
            wait_until_listening(&addr)?;
        }
        let target = if scenario.udp {
            format!("udp:{addr}")
        } else {
            addr.clone()
        };
        let pid = server.pid();
        let cpu_before = cpu_seconds(pid)?;
        let switches_before = context_switches(pid);
        let mut bench = Command::new(ECHOCTL);
        bench
            .arg("bench")
            .arg(&target)
            .args(&scenario.bench)
            .arg("--json")
            .arg("--percentiles")
            .arg(&percentiles);
        if scenario.tls {
            bench.args(["--tls", "--insecure"]);
        }
        if let Some([_, cpu]) = cpus {
            pin(&mut bench, cpu);
        }
        let output = bench
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run echoctl bench: {e}"))?;
        // What the bench had to say, but for --insecure's warning, which every TLS run would
        // repeat.
        for line in String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter(|line| !line.starts_with("warning: --insecure"))
        {
            eprintln!("{line}");
        }
        let cpu_after = cpu_seconds(pid)?;
        let switches_after = context_switches(pid);
        // socat forks a process per connection: its parent's peak says nothing of what they
        // used.
        let server_peak_rss_mb = match server_kind {
            Server::Socat => f64::NAN,
            _ => peak_rss_mb(pid)?,
        };
        Ok::<_, String>((
            output,
            server_peak_rss_mb,
            cpu_after - cpu_before,
            switches_after - switches_before,
        ))
    })();
    server.stop();
    show_server_log(&server_log_path, server_kind.name());
    let (output, server_peak_rss_mb, server_cpu_s, server_context_switches) = measured?;
    let bench: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("bench printed no JSON ({e})"))?;
    Ok(Run {
        bench,
        server_peak_rss_mb,
        server_cpu_s,
        server_context_switches,
        percentiles,
    })
}

/// Shows what a server wrote on stderr during its run, but for its start-up line.
fn show_server_log(path: &Path, server: &str) {
    let Ok(said) = std::fs::read(path) else {
        return;
    };
    for line in String::from_utf8_lossy(&said)
        .lines()
        .filter(|line| !line.starts_with("listening on"))
    {
        eprintln!("{server}: {line}");
    }
}

fn free_udp_port() -> Result<u16, String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    socket
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Waits until something listens on UDP `addr`: an empty datagram to a port nobody listens on
/// comes back refused (ICMP "port unreachable"); to a server, it is answered with nothing (the
/// reverb: no line) or with an empty datagram (a plain echo).
fn wait_until_udp_listening(addr: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    socket.connect(addr).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| e.to_string())?;
    while Instant::now() < deadline {
        let _ = socket.send(b"");
        match socket.recv(&mut [0u8; 16]) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => return Ok(()),
        }
    }
    Err(format!("server did not listen on udp:{addr}"))
}

fn wait_until_listening(addr: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("server did not listen on {addr}"))
}

/// The number at `path` in `echoctl bench --json`'s report. A missing one is a harness out of
/// step with the report, and stops the run: read as NaN it would vanish from the medians and
/// from "lost (worst run)", which would then read 0.
fn f(v: &Value, path: &[&str]) -> f64 {
    let mut v = v;
    for key in path {
        v = &v[*key];
    }
    v.as_f64()
        .unwrap_or_else(|| panic!("echoctl bench's JSON report has no number at {path:?}"))
}

fn lost(r: &Run) -> f64 {
    f(&r.bench, &["echo_lines", "missing"])
        + f(&r.bench, &["echo_lines", "wrong"])
        + f(&r.bench, &["connections", "failed"])
}

fn one_line(r: &Run) -> String {
    // The bench's own slip behind its schedule (none in throughput mode).
    let slip = r.bench["send_slip"]["p99_ms"]
        .as_f64()
        .map_or(String::new(), |p99| format!(" | slip p99 {p99:.2} ms"));
    // Over TLS, the handshakes the bench timed.
    let handshakes = if f(&r.bench, &["handshake_time", "count"]) > 0.0 {
        format!(
            " | {:.0} handshakes, p50/p99 {:.2}/{:.2} ms",
            f(&r.bench, &["handshake_time", "count"]),
            f(&r.bench, &["handshake_time", "p50_ms"]),
            f(&r.bench, &["handshake_time", "p99_ms"])
        )
    } else {
        String::new()
    };
    format!(
        "lost {} | p99 {:.2}/{:.2}/{:.2} ms | p99.9 {:.2} ms | {:.0} lines/s | server RSS {} MB, CPU {:.2} s, {} | bench CPU {:.0}%{slip}{handshakes}",
        lost(r),
        f(&r.bench, &["lateness", "upper", "p99_ms"]),
        f(&r.bench, &["lateness", "original", "p99_ms"]),
        f(&r.bench, &["lateness", "lower", "p99_ms"]),
        f(&r.bench, &["lateness", "all", "p99_9_ms"]),
        f(&r.bench, &["echo_lines_per_s"]),
        if r.server_peak_rss_mb.is_finite() {
            format!("{:.1}", r.server_peak_rss_mb)
        } else {
            "-".into()
        },
        r.server_cpu_s,
        counted(r.server_context_switches.round(), "context switch"),
        f(&r.bench, &["bench_cpu", "percent_of_one_core"]),
    )
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let load = load_average();
    format!("{cores} cores ({model}), load average {load} at the end")
}

fn print_table(
    rows: &[(Scenario, Vec<Vec<Run>>)],
    servers: &[Server],
    runs: usize,
    connections: usize,
    took: Duration,
    cpus: Option<[usize; 2]>,
) {
    println!();
    println!(
        "reverb benchmarks, N = {connections}: server and bench on one machine, {}",
        machine()
    );
    println!(
        "medians of {} unless a row says fewer (lost = missing + wrong + failed connections, the worst run); took {:.0} s",
        counted(runs, "run"),
        took.as_secs_f64()
    );
    println!();
    table_header(&[
        "scenario",
        "server",
        "lost (worst run)",
        "lateness p99 upper / original / lower",
        "p99.9 (all)",
        "echo lines/s",
        "server peak RSS",
        "server CPU",
        "server CPU per line",
        "server context switches per shout",
        "bench CPU",
        "echoctl's target",
    ]);
    for (s, per_server) in rows {
        for (server, results) in servers.iter().zip(per_server) {
            if !server.serves(s) {
                continue;
            }
            println!(
                "| {} ({}) | {} | {} | {} |",
                s.title(connections),
                s.name,
                server.name(),
                summary(results, runs, s.mode == "plain").join(" | "),
                if matches!(server, Server::Echoctl) {
                    s.target
                } else {
                    ""
                },
            );
        }
    }
    println!();
    print_connections(rows, servers, cpus);
    for (k, other) in servers.iter().enumerate().skip(1) {
        if !rows.iter().any(|(s, _)| other.serves(s)) {
            continue;
        }
        println!(
            "echoctl against {} in the same runs (medians):",
            other.name()
        );
        for (s, per_server) in rows.iter().filter(|(s, _)| other.serves(s)) {
            let [ours, go] = [&per_server[0], &per_server[k]];
            if ours.is_empty() || go.is_empty() {
                println!(
                    "- {}: no comparison, a server had no successful run",
                    s.name
                );
                continue;
            }
            let m = |results: &[Run], path: &[&str]| {
                median(results.iter().map(|r| f(&r.bench, path)).collect())
            };
            let rss =
                |results: &[Run]| median(results.iter().map(|r| r.server_peak_rss_mb).collect());
            if matches!(other, Server::Baseline(_)) {
                let cpu =
                    |results: &[Run]| median(results.iter().map(|r| r.server_cpu_s).collect());
                let echoes = m(ours, &["echo_lines", "expected"]) > 0.0;
                let mut parts = Vec::new();
                if echoes {
                    parts.push(format!(
                        "{:.2}x the echo lines/s",
                        m(ours, &["echo_lines_per_s"]) / m(go, &["echo_lines_per_s"])
                    ));
                }
                parts.push(format!("{:.2}x the peak RSS", rss(ours) / rss(go)));
                parts.push(format!("{:.2}x the server CPU", cpu(ours) / cpu(go)));
                if let (Some(a), Some(b)) = (switches_per_shout(ours), switches_per_shout(go)) {
                    parts.push(format!("{a:.2} against {b:.2} context switches per shout"));
                }
                if echoes {
                    parts.push(format!(
                        "{:.2}x the p99 lateness (all echoes)",
                        m(ours, &["lateness", "all", "p99_ms"])
                            / m(go, &["lateness", "all", "p99_ms"])
                    ));
                }
                println!("- {}: {}", s.name, parts.join(", "));
            } else if matches!(other, Server::Socat) {
                println!(
                    "- {}: {:.2}x the echo lines/s, {:.2}x the p99 round trip, {:.2}x the CPU per line",
                    s.name,
                    m(ours, &["echo_lines_per_s"]) / m(go, &["echo_lines_per_s"]),
                    m(ours, &["lateness", "all", "p99_ms"]) / m(go, &["lateness", "all", "p99_ms"]),
                    cpu_per_line(ours) / cpu_per_line(go),
                );
            } else if m(ours, &["echo_lines", "expected"]) > 0.0 {
                println!(
                    "- {}: {:.2}x the echo lines/s, {:.2}x the p99 lateness (all echoes), {:.2}x the peak RSS, {:.2}x the server CPU",
                    s.name,
                    m(ours, &["echo_lines_per_s"]) / m(go, &["echo_lines_per_s"]),
                    m(ours, &["lateness", "all", "p99_ms"]) / m(go, &["lateness", "all", "p99_ms"]),
                    rss(ours) / rss(go),
                    server_cpu(ours) / server_cpu(go),
                );
            } else if s.pinned {
                let ratio = per_cpu_second(ours) / per_cpu_second(go);
                println!(
                    "- {}: {} the connections per server CPU second, {:.2}x the peak RSS",
                    s.name,
                    if ratio.is_finite() {
                        format!("{ratio:.2}x")
                    } else {
                        "(too little server CPU to compare)".into()
                    },
                    rss(ours) / rss(go)
                );
            } else {
                println!("- {}: {:.2}x the peak RSS", s.name, rss(ours) / rss(go));
            }
        }
        println!();
    }
    print_ratios(rows, servers);
    println!("The issue's figures for the book's Go programs on such a machine, for reference:");
    for (s, _) in rows.iter().filter(|(s, _)| s.go != "-") {
        println!("- {}: {}", s.name, s.go);
    }
}

/// The server's CPU seconds: the median of the runs.
fn server_cpu(results: &[Run]) -> f64 {
    median(results.iter().map(|r| r.server_cpu_s).collect())
}

/// Connections made per second of server CPU (over TLS, each with its handshake): the median
/// of the runs; NaN where a run's server used less than a clock tick of CPU, too little to count.
fn per_cpu_second(results: &[Run]) -> f64 {
    median(
        results
            .iter()
            .map(|r| {
                if r.server_cpu_s > 0.0 {
                    f(&r.bench, &["connections", "made"]) / r.server_cpu_s
                } else {
                    f64::NAN
                }
            })
            .collect(),
    )
}

/// `per_cpu_second`'s figure for the table, or why there is none.
fn per_cpu_second_cell(results: &[Run]) -> String {
    let per_second = per_cpu_second(results);
    if per_second.is_finite() {
        format!("{per_second:.0}")
    } else {
        "- (under a clock tick of server CPU: too few connections to count)".into()
    }
}

/// For the scenarios over TLS or pinned: the connections made, per second of server CPU where
/// pinned, and the bench's handshake times over TLS, each server's medians.
fn print_connections(
    rows: &[(Scenario, Vec<Vec<Run>>)],
    servers: &[Server],
    cpus: Option<[usize; 2]>,
) {
    let mut printed = false;
    for (s, per_server) in rows.iter().filter(|(s, _)| s.tls || s.pinned) {
        if !printed {
            println!(
                "Connections and TLS handshakes (medians; handshake times as the bench saw them; {}):",
                match cpus {
                    Some([server, bench]) => format!(
                        "the pinned scenarios' server on CPU {server} and bench on CPU {bench}"
                    ),
                    None => "fewer than two CPUs, so nothing pinned".into(),
                }
            );
            printed = true;
        }
        let mut parts = Vec::new();
        for (server, results) in servers.iter().zip(per_server) {
            if !server.serves(s) {
                continue;
            }
            if results.is_empty() {
                parts.push(format!("{} no run succeeded", server.name()));
                continue;
            }
            let m = |path: &[&str]| median(results.iter().map(|r| f(&r.bench, path)).collect());
            let mut part = format!(
                "{} {:.0} of {:.0} connections made",
                server.name(),
                m(&["connections", "made"]),
                m(&["connections", "attempted"])
            );
            if s.pinned {
                part += &format!(
                    ", {} per server CPU second ({:.2} s)",
                    per_cpu_second_cell(results),
                    server_cpu(results)
                );
            }
            if s.tls {
                part += &format!(
                    ", handshake p50 / p99 / max {:.2} / {:.2} / {:.2} ms",
                    m(&["handshake_time", "p50_ms"]),
                    m(&["handshake_time", "p99_ms"]),
                    m(&["handshake_time", "max_ms"])
                );
            }
            parts.push(part);
        }
        println!("- {}: {}", s.name, parts.join("; "));
    }
    if printed {
        println!();
    }
}

/// Server context switches per shout sent: the median of the runs; `None` without shouts.
fn switches_per_shout(results: &[Run]) -> Option<f64> {
    let per_run: Vec<f64> = results
        .iter()
        .filter(|r| f(&r.bench, &["shouts_sent"]) > 0.0)
        .map(|r| r.server_context_switches / f(&r.bench, &["shouts_sent"]))
        .collect();
    (!per_run.is_empty()).then(|| median(per_run))
}

/// Server CPU per echo line received, in µs: the median of the runs.
fn cpu_per_line(results: &[Run]) -> f64 {
    median(
        results
            .iter()
            .map(|r| 1e6 * r.server_cpu_s / f(&r.bench, &["echo_lines", "received"]))
            .collect(),
    )
}

/// The table cells after the server's name, from one server's runs of one scenario (`runs`
/// were asked for; a failed run is left out, and the count says so). A plain echo has one
/// "voice", the round trip.
fn summary(results: &[Run], runs: usize, plain: bool) -> Vec<String> {
    if results.is_empty() {
        let mut cells = vec!["no run succeeded".to_string()];
        cells.resize(9, "-".into());
        return cells;
    }
    let m = |path: &[&str]| median(results.iter().map(|r| f(&r.bench, path)).collect());
    let worst_lost = results.iter().map(lost).fold(0.0, f64::max);
    let rss = median(results.iter().map(|r| r.server_peak_rss_mb).collect());
    let cpu_per_line = cpu_per_line(results);
    let has_echoes = m(&["echo_lines", "expected"]) > 0.0;
    let if_echoes = |cell: String| if has_echoes { cell } else { "-".into() };
    let missing_runs = if results.len() < runs {
        format!(" ({} of {runs} runs)", results.len())
    } else {
        String::new()
    };
    vec![
        format!(
            "{worst_lost:.0} of {:.0}{missing_runs}",
            m(&["echo_lines", "expected"])
        ),
        if_echoes(if plain {
            format!(
                "round trip {:.2} ms",
                m(&["lateness", "original", "p99_ms"])
            )
        } else {
            format!(
                "{:.2} / {:.2} / {:.2} ms",
                m(&["lateness", "upper", "p99_ms"]),
                m(&["lateness", "original", "p99_ms"]),
                m(&["lateness", "lower", "p99_ms"])
            )
        }),
        if_echoes(format!("{:.2} ms", m(&["lateness", "all", "p99_9_ms"]))),
        if_echoes(format!("{:.0}", m(&["echo_lines_per_s"]))),
        if rss.is_finite() {
            format!("{rss:.1} MB")
        } else {
            "- (a process per connection)".into()
        },
        format!(
            "{:.2} s",
            median(results.iter().map(|r| r.server_cpu_s).collect())
        ),
        if has_echoes && cpu_per_line.is_finite() {
            format!("{cpu_per_line:.2} us")
        } else {
            "-".into()
        },
        match switches_per_shout(results) {
            Some(n) if n.is_finite() => format!("{n:.2}"),
            _ => "-".into(),
        },
        format!("{:.0}% of a core", m(&["bench_cpu", "percent_of_one_core"])),
    ]
}

/// Each timed scenario's p99 per voice (medians) beside the floor (echoctl's, in the same
/// invocation) and Go's, with the ratios.
fn print_ratios(rows: &[(Scenario, Vec<Vec<Run>>)], servers: &[Server]) {
    let p99s = |results: &[Run]| -> Option<[f64; 3]> {
        if results.is_empty()
            || median(
                results
                    .iter()
                    .map(|r| f(&r.bench, &["echo_lines", "received"]))
                    .collect(),
            ) == 0.0
        {
            return None;
        }
        Some(["upper", "original", "lower"].map(|voice| {
            median(
                results
                    .iter()
                    .map(|r| f(&r.bench, &["lateness", voice, "p99_ms"]))
                    .collect(),
            )
        }))
    };
    // Each transport's timed scenarios against its own floor.
    let floor_of = |s: &Scenario| {
        let name = if s.udp { "udp-floor" } else { "floor" };
        rows.iter()
            .find(|(s, _)| s.name == name)
            .and_then(|(_, per_server)| p99s(&per_server[0]))
    };
    let go_at = servers.iter().position(|s| matches!(s, Server::Go(_)));
    let three = |v: [f64; 3], unit: &str| format!("{:.2} / {:.2} / {:.2}{unit}", v[0], v[1], v[2]);
    let ratio = |a: [f64; 3], b: [f64; 3]| three([a[0] / b[0], a[1] / b[1], a[2] / b[2]], "x");
    let mut printed = false;
    for (s, per_server) in rows.iter().filter(|(s, _)| !s.name.ends_with("floor")) {
        let Some(ours) = p99s(&per_server[0]) else {
            continue;
        };
        let floor = floor_of(s);
        if !printed {
            println!(
                "p99 lateness per voice (upper / original / lower), medians, as ratios to the floor (the steady load against --delay 0) and to Go:"
            );
            printed = true;
        }
        let mut line = format!("- {}: echoctl {}", s.name, three(ours, " ms"));
        if let Some(floor) = floor {
            line += &format!(
                "; floor {} (echoctl at {} the floor)",
                three(floor, " ms"),
                ratio(ours, floor)
            );
        }
        if let Some(go) = go_at
            .filter(|&i| servers[i].serves(s))
            .and_then(|i| p99s(&per_server[i]))
        {
            line += &format!(
                "; Go {} (echoctl at {} Go's)",
                three(go, " ms"),
                ratio(ours, go)
            );
        }
        println!("{line}");
    }
    if printed {
        println!();
    }
}
