//! `echoctl bench` end to end over loopback: against the real server it hears every echo and
//! passes; against small fake servers that drop, corrupt, delay or cut echoes it notices, counts
//! exactly what went wrong and fails. These check the bench's counting, never anyone's speed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::{PATIENCE, TestServer, echoctl};
use echoctl::bench::report::MeasuredFrom;
use echoctl::bench::{self, BenchConfig, Pace, Progress, Report};
use echoctl::server::Mode;
use echoctl_core::echo::Voice;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{sleep, timeout};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config(
    addr: impl ToString,
    connections: usize,
    shouts: u64,
    pace: Pace,
    delay: Duration,
) -> BenchConfig {
    BenchConfig {
        addr: addr.to_string().parse().expect("a test's address"),
        connections,
        shouts,
        pace,
        delay,
        ramp_up: ms(20),
        duration: None,
        connect_timeout: Some(Duration::from_secs(5)),
        grace: ms(500),
        expect: Default::default(),
    }
}

async fn run(config: BenchConfig) -> Report {
    timeout(PATIENCE, bench::run(config, Arc::new(Progress::default())))
        .await
        .expect("bench finishes in time")
        .expect("bench runs")
}

fn assert_all_heard(report: &Report, connections: u64, shouts: u64) {
    let t = report.table();
    assert_eq!(report.connections.made, connections, "{t}");
    assert_eq!(report.connections.failed, 0, "{t}");
    assert_eq!(report.connections.dropped, 0, "{t}");
    assert_eq!(report.shouts_sent, connections * shouts, "{t}");
    assert_eq!(report.echo_lines.expected, 3 * connections * shouts, "{t}");
    assert_eq!(
        report.echo_lines.received, report.echo_lines.expected,
        "{t}"
    );
    assert_eq!(report.echo_lines.missing, 0, "{t}");
    assert_eq!(report.echo_lines.wrong, 0, "{t}");
    assert_eq!(report.echo_lines.early, 0, "{t}");
    assert_eq!(report.lateness.upper.count, connections * shouts, "{t}");
    assert_eq!(report.lateness.all.count, 3 * connections * shouts, "{t}");
    assert!(report.ok, "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_server_passes_with_interleaved_echoes() {
    // Shouts every 30 ms with a 40 ms delay: each shout's echoes interleave with the next one's.
    let server = TestServer::with(Mode::Concurrent, ms(40)).await;
    let report = run(config(server.addr, 4, 4, Pace::Interval(ms(30)), ms(40))).await;
    assert_all_heard(&report, 4, 4);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_server_passes_and_its_queueing_shows_as_lateness() {
    // Two shouts sent together: reverb1 reads the second only after the first's last echo, so
    // the second is answered two delays late. That is lateness, not loss.
    let delay = ms(50);
    let server = TestServer::with(Mode::Sequential, delay).await;
    let report = run(config(server.addr, 2, 2, Pace::Window(2), delay)).await;
    assert_all_heard(&report, 2, 2);
    assert!(
        report.lateness.upper.max_ms >= 2.0 * 50.0,
        "{}",
        report.table()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_mode_hears_everything_from_the_real_server() {
    let server = TestServer::with(Mode::Concurrent, Duration::ZERO).await;
    let report = run(config(server.addr, 3, 300, Pace::Window(8), Duration::ZERO)).await;
    assert_all_heard(&report, 3, 300);
    assert!(report.echo_lines_per_s > 0.0);
    server.stop().await;
}

/// A delay-0 reverb server that answers a connection's shouts only once it has gone `quiet`, and
/// records the most shouts any connection had unanswered: as many as the client let itself send.
async fn batching_server(quiet: Duration) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let most_unanswered = Arc::new(AtomicUsize::new(0));
    let most = most_unanswered.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let most = most.clone();
            tokio::spawn(async move {
                let (reader, mut writer) = stream.into_split();
                let mut lines = BufReader::new(reader).lines();
                let mut unanswered = Vec::new();
                loop {
                    let next = timeout(quiet, lines.next_line()).await;
                    if let Ok(Ok(Some(shout))) = next {
                        unanswered.push(shout);
                        most.fetch_max(unanswered.len(), Ordering::SeqCst);
                        continue;
                    }
                    let mut out = Vec::new();
                    for shout in unanswered.drain(..) {
                        for voice in Voice::ALL {
                            voice.write_line(shout.as_bytes(), &mut out);
                        }
                    }
                    if writer.write_all(&out).await.is_err() || next.is_ok() {
                        return; // The client left (or its input ended) once answered.
                    }
                }
            });
        }
    });
    (addr, most_unanswered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_mode_never_has_more_than_its_window_unanswered() {
    // The server holds every answer until the client stops sending: a client that ignored its
    // window would send all 24 shouts before the first answer.
    let (addr, most_unanswered) = batching_server(ms(100)).await;
    let report = run(config(addr, 3, 24, Pace::Window(8), Duration::ZERO)).await;
    assert_all_heard(&report, 3, 24);
    let most = most_unanswered.load(Ordering::SeqCst);
    assert!(most <= 8, "{most} shouts unanswered at once, window 8");
    assert!(most > 1, "shouts are pipelined, not sent one by one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_held_until_the_duration_cap() {
    let server = TestServer::with(Mode::Concurrent, ms(10)).await;
    let mut idle = config(server.addr, 5, 0, Pace::Interval(ms(10)), ms(10));
    idle.duration = Some(ms(200));
    let report = run(idle).await;
    assert_all_heard(&report, 5, 0);
    assert!(report.elapsed_s >= 0.2, "{}", report.table());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duration_cap_stops_the_shouting_and_still_collects_what_is_owed() {
    let delay = ms(20);
    let server = TestServer::with(Mode::Concurrent, delay).await;
    let mut capped = config(server.addr, 2, 1000, Pace::Interval(ms(20)), delay);
    capped.duration = Some(ms(150));
    let report = run(capped).await;
    let t = report.table();
    // On time, 150 ms at one shout per 20 ms is 8 shouts a connection; the bound leaves the cap
    // a whole second of lateness on a busy machine, and is still far short of the 1,000 asked for.
    assert!(
        report.shouts_sent > 0 && report.shouts_sent <= 2 * 58,
        "{t}"
    );
    assert_eq!(report.echo_lines.received, 3 * report.shouts_sent, "{t}");
    assert!(report.ok, "{t}");
    server.stop().await;
}

/// What a fake server does wrong, once, to the first echo line of its first connection.
#[derive(Clone, Copy)]
enum Fault {
    Corrupt,
    Drop,
    /// Sends the lower-case echo this late (the others at once), on every shout.
    LateLower(Duration),
    /// Closes the connection after the first shout's echoes.
    CloseEarly,
    /// Sends one extra line after the last echo, when the client half-closes.
    ExtraLine,
    /// Sends the start of a line, without its newline, when the client half-closes; then closes.
    UnterminatedLine,
    /// Sends a line of [`LONG_LINE`] bytes when the client half-closes.
    LongLine,
}

/// Longer than the bench's line limit (the server's default, 64 KiB) three times over.
const LONG_LINE: usize = 200 * 1024;

/// A delay-0 reverb server with one fault, on an ephemeral loopback port.
async fn fake_server(fault: Fault) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let fault_done = Arc::new(AtomicBool::new(false));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(fake_connection(stream, fault, fault_done.clone()));
        }
    });
    addr
}

async fn fake_connection(stream: TcpStream, fault: Fault, fault_done: Arc<AtomicBool>) {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    while let Ok(Some(shout)) = lines.next_line().await {
        let mut out = Vec::new();
        let mut late_line = None;
        for voice in Voice::ALL {
            let mut line = Vec::new();
            voice.write_line(shout.as_bytes(), &mut line);
            match fault {
                Fault::Corrupt | Fault::Drop if !fault_done.swap(true, Ordering::SeqCst) => {
                    if matches!(fault, Fault::Corrupt) {
                        line[3] ^= 0x20;
                        out.extend_from_slice(&line);
                    }
                }
                Fault::LateLower(_) if voice == Voice::Lower => late_line = Some(line),
                _ => out.extend_from_slice(&line),
            }
        }
        if writer.write_all(&out).await.is_err() {
            return;
        }
        // Written in line, after the pause: nothing races the pause.
        if let (Fault::LateLower(late), Some(line)) = (fault, late_line) {
            sleep(late).await;
            if writer.write_all(&line).await.is_err() {
                return;
            }
        }
        if matches!(fault, Fault::CloseEarly) {
            return;
        }
    }
    let after_the_end: Vec<u8> = match fault {
        Fault::ExtraLine => b"\t surprise\n".to_vec(),
        Fault::UnterminatedLine => b"\t surprise".to_vec(),
        Fault::LongLine => [vec![b'x'; LONG_LINE], b"\n".to_vec()].concat(),
        _ => Vec::new(),
    };
    let _ = writer.write_all(&after_the_end).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_echo_line_is_counted_missing() {
    let addr = fake_server(Fault::Drop).await;
    let report = run(config(addr, 2, 3, Pace::Window(2), Duration::ZERO)).await;
    let t = report.table();
    assert_eq!(report.echo_lines.expected, 18, "{t}");
    assert_eq!(report.echo_lines.received, 17, "{t}");
    assert_eq!(report.echo_lines.missing, 1, "{t}");
    assert_eq!(report.echo_lines.wrong, 0, "{t}");
    assert_eq!(report.connections.dropped, 0, "{t}");
    assert!(!report.ok, "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_echoes_show_their_lateness_per_voice() {
    let late = ms(150);
    let addr = fake_server(Fault::LateLower(late)).await;
    let report = run(config(addr, 1, 2, Pace::Window(1), Duration::ZERO)).await;
    assert_all_heard(&report, 1, 2);
    let l = &report.lateness;
    assert!(l.lower.p50_ms >= 150.0, "{}", report.table());
    assert!(l.upper.max_ms < l.lower.p50_ms, "{}", report.table());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_closes_early_drops_the_connection_and_the_rest_is_missing() {
    let addr = fake_server(Fault::CloseEarly).await;
    let report = run(config(addr, 1, 3, Pace::Window(1), Duration::ZERO)).await;
    let t = report.table();
    assert_eq!(report.connections.dropped, 1, "{t}");
    assert_eq!(report.echo_lines.received, 3, "{t}");
    assert!(report.echo_lines.missing >= 3, "{t}");
    assert!(t.contains("server closed the connection"), "{t}");
    assert!(!report.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_after_the_last_echo_is_wrong() {
    let addr = fake_server(Fault::ExtraLine).await;
    let report = run(config(addr, 1, 2, Pace::Window(2), Duration::ZERO)).await;
    let t = report.table();
    assert_eq!(report.echo_lines.received, 6, "{t}");
    assert_eq!(report.echo_lines.wrong, 1, "{t}");
    assert!(t.contains(r#""\t surprise\n""#), "{t}");
    assert!(!report.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_last_line_without_its_newline_is_wrong() {
    let addr = fake_server(Fault::UnterminatedLine).await;
    let report = run(config(addr, 1, 2, Pace::Window(2), Duration::ZERO)).await;
    let t = report.table();
    assert_eq!(report.echo_lines.received, 6, "{t}");
    assert_eq!(report.echo_lines.wrong, 1, "{t}");
    assert!(
        t.contains(
            r#"wrong line   "\t surprise"
"#
        ),
        "{t}"
    );
    assert!(!report.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_line_is_wrong_and_cut_rather_than_held_whole() {
    let addr = fake_server(Fault::LongLine).await;
    let report = run(config(addr, 1, 2, Pace::Window(2), Duration::ZERO)).await;
    let t = report.table();
    assert_eq!(report.echo_lines.received, 6, "{t}");
    // Pieces of it are handed out once past the limit: at least two (the bench holds at most
    // the limit plus one 64 KiB read), at most three cuts of over 64 KiB and the rest.
    let wrong = report.echo_lines.wrong;
    assert!((2..=4).contains(&wrong), "{wrong} wrong lines\n{t}");
    let shown = format!(r#"wrong line   "{}...""#, "x".repeat(120));
    assert!(t.contains(&shown), "{t}");
    assert!(!report.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_counted_failed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let report = run(config(addr, 3, 1, Pace::Window(1), Duration::ZERO)).await;
    let t = report.table();
    assert_eq!(report.connections.failed, 3, "{t}");
    assert_eq!(report.connections.made, 0, "{t}");
    assert!(t.contains("is the server running there?"), "{t}");
    assert!(!report.ok);
}

// The built binary: what a user or a script sees.

async fn echoctl_bench(args: &[&str]) -> (Option<i32>, String, String) {
    let run = crate::common::run(echoctl().arg("bench").args(args)).await;
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    (run.code, stdout, run.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_passes_against_the_real_server_with_json() {
    let server = TestServer::with(Mode::Concurrent, ms(30)).await;
    let addr = server.addr.to_string();
    let args = [
        "-c",
        "3",
        "-n",
        "2",
        "-i",
        "20ms",
        "-d",
        "30ms",
        "--ramp-up",
        "10ms",
        "--json",
    ];
    let (code, stdout, stderr) = echoctl_bench(&[&[addr.as_str()][..], &args].concat()).await;
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stderr.is_empty(),
        "no progress bar off a terminal: {stderr}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    assert_eq!(json["ok"], true);
    assert_eq!(json["echo_lines"]["expected"], 18);
    assert_eq!(json["echo_lines"]["received"], 18);
    assert_eq!(json["echo_lines"]["missing"], 0);
    assert_eq!(json["echo_lines"]["wrong"], 0);
    assert_eq!(json["connections"]["made"], 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_fails_on_a_corrupted_line_and_says_which() {
    let addr = fake_server(Fault::Corrupt).await;
    let (code, stdout, stderr) = echoctl_bench(&[
        &addr, "-c", "2", "-n", "3", "-d", "0", "-w", "2", "--grace", "300ms",
    ])
    .await;
    assert_eq!(code, Some(1), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("18 expected, 17 received, 1 missing, 1 wrong"),
        "{stdout}"
    );
    assert!(stdout.contains("wrong line   \"\\t ShOUT C"), "{stdout}");
    assert!(stdout.contains("FAILED"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_takes_a_malformed_address_as_a_usage_error() {
    let (code, stdout, stderr) = echoctl_bench(&["localhost8000"]).await;
    assert_eq!(code, Some(2), "a usage error: {stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("HOST:PORT"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_refuses_idle_connections_without_a_duration() {
    for zero in ["0", "00"] {
        let (code, stdout, stderr) = echoctl_bench(&["127.0.0.1:1", "-n", zero]).await;
        assert_eq!(code, Some(2), "-n {zero}: a usage error: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains("--duration"), "{stderr}");
    }
}

// The schedule: lateness from the plan, under tokio's paused clock (times are exact).

#[tokio::test(start_paused = true)]
async fn a_bench_held_back_keeps_its_plan_and_times_echoes_from_it() {
    // One connection, five shouts planned every 100 ms, against the real server in this
    // runtime. At 50 ms the clock jumps 300 ms while the bench cannot run, as when the machine
    // stalls it: shouts 1, 2 and 3 (planned at 100, 200, 300 ms) are overdue at 350 ms and go
    // out together; shout 4 goes out on time at 400 ms.
    let delay = ms(1000);
    let server = TestServer::with(Mode::Concurrent, delay).await;
    let mut held = config(server.addr, 1, 5, Pace::Interval(ms(100)), delay);
    held.ramp_up = Duration::ZERO;
    let bench = tokio::spawn(bench::run(held, Arc::new(Progress::default())));
    sleep(ms(50)).await;
    tokio::time::advance(ms(300)).await;
    let report = bench.await.expect("bench task").expect("bench runs");
    assert_all_heard(&report, 1, 5);
    let m = &report.measurements;
    let slips_ms = [0, 250, 150, 50, 0];
    let counted = |h: &hdrhistogram::Histogram<u64>| -> Vec<(u64, u64)> {
        [0u64, 50, 150, 250]
            .iter()
            .map(|&at| (at, h.count_at(at * 1000)))
            .collect()
    };
    let expected: Vec<(u64, u64)> = [0u64, 50, 150, 250]
        .iter()
        .map(|&at| (at, slips_ms.iter().filter(|&&s| s == at).count() as u64))
        .collect();
    // Nothing skipped: five shouts sent, each slip from its own plan.
    assert_eq!(m.slip.len(), 5);
    assert_eq!(counted(&m.slip), expected);
    for voice in Voice::ALL {
        // The server answers each shout exactly k delays after it read it: late only by the
        // slip from the plan, on time from the send.
        let from_plan = m.from_plan.histogram(voice);
        assert_eq!(from_plan.len(), 5, "{voice:?}");
        assert_eq!(counted(from_plan), expected, "{voice:?}");
        let from_send = m.from_send.histogram(voice);
        assert_eq!((from_send.len(), from_send.max()), (5, 0), "{voice:?}");
    }
    assert_eq!(report.lateness_measured_from, MeasuredFrom::Plan);
    let slip = report.send_slip.expect("paced by time");
    // The histogram's 0.1 %: 250 ms is kept as the top of its bucket.
    assert_eq!(slip.count, 5);
    assert!((250.0..250.25).contains(&slip.max_ms), "{slip:?}");
    assert!(
        report
            .table()
            .contains("warning      the bench fell behind its schedule"),
        "{}",
        report.table()
    );
    server.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_bench_on_time_has_no_slip_and_no_lateness() {
    // The same run, not held back: the control for the test above.
    let delay = ms(1000);
    let server = TestServer::with(Mode::Concurrent, delay).await;
    let mut on_time = config(server.addr, 1, 5, Pace::Interval(ms(100)), delay);
    on_time.ramp_up = Duration::ZERO;
    let report = run(on_time).await;
    assert_all_heard(&report, 1, 5);
    let m = &report.measurements;
    assert_eq!((m.slip.len(), m.slip.max()), (5, 0));
    for voice in Voice::ALL {
        let from_plan = m.from_plan.histogram(voice);
        assert_eq!((from_plan.len(), from_plan.max()), (5, 0), "{voice:?}");
    }
    assert!(!report.table().contains("warning"), "{}", report.table());
    server.stop().await;
}

// The built binary: the distribution, the picture, the checks and Ctrl-C.

/// A fresh directory for a test's files, removed first if a previous run left it.
fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("echoctl-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

/// The percentile lines of an `.hgrm` file, read here independently of the bench's own reader:
/// the header, then `Value Percentile TotalCount 1/(1-Percentile)` rows (the last, at
/// percentile 1, without the fourth column), then `#[...]` lines.
fn hgrm_rows(text: &str) -> Vec<(f64, f64, u64)> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split_whitespace().collect();
    assert_eq!(
        header,
        ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"]
    );
    assert_eq!(lines.next(), Some(""), "a blank line after the header");
    let mut rows = Vec::new();
    for line in lines.take_while(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let value: f64 = fields[0].parse().expect("a value");
        let percentile: f64 = fields[1].parse().expect("a percentile");
        let total: u64 = fields[2].parse().expect("a total count");
        if percentile < 1.0 {
            assert_eq!(fields.len(), 4, "{line}");
            let inverse: f64 = fields[3].parse().expect("1/(1-Percentile)");
            assert!((inverse - 1.0 / (1.0 - percentile)).abs() < 0.01, "{line}");
        } else {
            assert_eq!(fields.len(), 3, "{line}");
        }
        rows.push((value, percentile, total));
    }
    assert!(text.contains("#[Max     ="), "{text}");
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_writes_the_distribution_as_hgrm_and_a_chart_with_a_curve_per_voice() {
    let server = TestServer::with(Mode::Concurrent, ms(20)).await;
    let dir = scratch_dir("files");
    let (hgrm, svg) = (dir.join("lateness.hgrm"), dir.join("lateness.svg"));
    let addr = server.addr.to_string();
    let (code, stdout, stderr) = echoctl_bench(&[
        &addr,
        "-c",
        "3",
        "-n",
        "4",
        "-i",
        "15ms",
        "-d",
        "20ms",
        "--ramp-up",
        "10ms",
        "--json",
        "--percentiles",
        hgrm.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ])
    .await;
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    for (name, file) in [
        ("all", "lateness.hgrm"),
        ("upper", "lateness.upper.hgrm"),
        ("original", "lateness.original.hgrm"),
        ("lower", "lateness.lower.hgrm"),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).expect(file);
        let rows = hgrm_rows(&text);
        let &(last_value, last_percentile, last_total) = rows.last().expect("rows");
        let max = json["lateness"][name]["max_ms"].as_f64().expect("max_ms");
        let count = json["lateness"][name]["count"].as_u64().expect("count");
        assert_eq!(last_percentile, 1.0, "{file}");
        assert!(
            (last_value - max).abs() < 0.0005,
            "{file}: {last_value} vs {max}"
        );
        assert_eq!(last_total, count, "{file}");
        assert!(
            rows.windows(2)
                .all(|w| w[0].1 <= w[1].1 && w[0].2 <= w[1].2)
        );
    }
    assert_eq!(json["lateness"]["all"]["count"], 36);

    let text = std::fs::read_to_string(&svg).expect("the chart");
    let doc = roxmltree::Document::parse(&text).expect("the chart is XML");
    let curves: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("path"))
        .filter_map(|n| n.attribute("class"))
        .collect();
    assert_eq!(
        curves,
        ["curve upper", "curve original", "curve lower", "curve all"]
    );
    // Each in the legend with its p99, as the table gives it.
    let legend: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("path"))
        .filter_map(|n| n.attribute("data-label"))
        .collect();
    for (label, voice) in legend.iter().zip(["upper", "original", "lower", "all"]) {
        let p99 = json["lateness"][voice]["p99_ms"].as_f64().expect("p99_ms");
        assert_eq!(
            *label,
            format!("{voice} (p99 {})", echoctl::bench::report::ms(p99)),
            "{legend:?}"
        );
    }
    let title = doc
        .descendants()
        .find(|n| n.has_tag_name("title"))
        .and_then(|n| n.text())
        .unwrap_or_default();
    assert!(title.contains(&addr), "{title}");
    // And it renders: usvg reads it as a picture, with the three curves in it.
    let tree = usvg::Tree::from_str(&text, &usvg::Options::default()).expect("a valid SVG");
    assert!(tree.size().width() > 0.0);
    let _ = std::fs::remove_dir_all(&dir);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_refuses_a_file_it_cannot_create_before_it_loads_anything() {
    let (code, stdout, stderr) = echoctl_bench(&[
        "127.0.0.1:1",
        "--percentiles",
        "/nonexistent-echoctl-dir/run.hgrm",
    ])
    .await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("cannot create /nonexistent-echoctl-dir/run.hgrm"),
        "{stderr}"
    );
    assert!(!stderr.contains("connect"), "nothing was loaded: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_fails_on_echoes_before_they_are_due_and_says_so() {
    // The server's delay is 5 ms where the bench was told 300 ms: every shout's second and third
    // echoes come early. (The first is due at once, whatever the delay.)
    let server = TestServer::with(Mode::Concurrent, ms(5)).await;
    let addr = server.addr.to_string();
    let (code, stdout, stderr) =
        echoctl_bench(&[&addr, "-c", "2", "-n", "3", "-i", "20ms", "-d", "300ms"]).await;
    assert_eq!(code, Some(1), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("18 expected, 18 received, 0 missing, 0 wrong"),
        "{stdout}"
    );
    assert!(
        stdout.contains("result       FAILED: 12 early\n"),
        "{stdout}"
    );
    assert!(stdout.contains("12 early by up to "), "{stdout}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_fails_when_the_servers_delay_is_longer_than_told_and_says_by_how_much() {
    // A real server waiting 200 ms between echoes, a bench told 100 ms: every original echo is
    // about 100 ms late and every quiet one about 200 ms, all received, each voice a step later.
    let mut server = echoctl()
        .args(["serve", "--listen", "127.0.0.1:0", "--delay", "200ms"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn echoctl serve");
    let mut logs = BufReader::new(server.stderr.take().expect("stderr piped"));
    let startup = crate::common::read_line(&mut logs).await;
    let addr = startup
        .strip_prefix("listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("not a start-up line: {startup:?}"))
        .to_string();
    let (code, stdout, stderr) = echoctl_bench(&[
        &addr, "-c", "2", "-n", "3", "-i", "50ms", "-d", "100ms", "--grace", "2s",
    ])
    .await;
    crate::common::signal(&server, "TERM");
    drop(logs);
    crate::common::finish(server).await;
    assert_eq!(code, Some(1), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("18 expected, 18 received, 0 missing, 0 wrong"),
        "every echo came, late: {stdout}"
    );
    let result = stdout
        .lines()
        .find_map(|line| line.strip_prefix("result       FAILED: the server's delay looks "))
        .unwrap_or_else(|| panic!("the verdict names the delay: {stdout}"));
    let longer = result
        .strip_suffix(" longer than --delay")
        .unwrap_or_else(|| panic!("{result}"));
    // One token the options take, about the 100 ms the two delays differ by.
    let longer = echoctl_core::duration::parse(longer).expect("a duration token");
    assert!((ms(80)..=ms(150)).contains(&longer), "{longer:?}: {stdout}");
    assert!(
        stdout.contains("is the server's delay longer than --delay? It looks like "),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_fails_a_run_over_max_p99_and_passes_one_under_it() {
    // Every lower echo comes 300 ms late; the other two at once.
    let addr = fake_server(Fault::LateLower(ms(300))).await;
    let args = |limit: &'static str| {
        [
            addr.clone(),
            "-c".into(),
            "1".into(),
            "-n".into(),
            "2".into(),
            "-w".into(),
            "1".into(),
            "-d".into(),
            "0".into(),
            "--max-p99".into(),
            limit.into(),
        ]
    };
    let over = args("150ms");
    let over: Vec<&str> = over.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = echoctl_bench(&over).await;
    assert_eq!(code, Some(1), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout
            .contains("result       FAILED: p99 lateness over the 150ms limit in 1 voice (lower "),
        "{stdout}"
    );
    let under = args("5s");
    let under: Vec<&str> = under.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = echoctl_bench(&under).await;
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("result       OK"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_cut_short_by_ctrl_c_reports_what_it_measured_and_exits_130() {
    // A run that would take 50 s: Ctrl-C once its connections are up ends it with a report.
    let server = TestServer::with(Mode::Concurrent, ms(10)).await;
    let child = echoctl()
        .arg("bench")
        .arg(server.addr.to_string())
        .args(["-c", "2", "-n", "5000", "-i", "10ms", "-d", "10ms"])
        .args(["--ramp-up", "0"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn echoctl");
    server.until_open_connections(2).await;
    crate::common::signal(&child, "INT");
    let finished = crate::common::finish(child).await;
    let stdout = finished.stdout_text();
    assert_eq!(finished.code, Some(130), "{stdout}\n{}", finished.stderr);
    assert!(
        stdout.contains("result       CUT SHORT by a stop signal"),
        "{stdout}"
    );
    // Echoes are always in flight (each shout's span two delays, a shout every delay); none is
    // overdue by --grace (5s) at the cut: they are not yet due, not missing.
    assert!(
        stdout.contains(" received, 0 missing, 0 wrong, ")
            && stdout.contains(" not yet due when cut short\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(
            "result       CUT SHORT by a stop signal: the figures are what was measured until then\n"
        ),
        "nothing failed until then: {stdout}"
    );
    assert!(stdout.contains("connections  2 made, 0 failed"), "{stdout}");
    assert!(
        !stdout.contains("10000 sent"),
        "it stopped shouting: {stdout}"
    );
    server.stop().await;
}

/// On a terminal 60 columns wide the report fits it: no line longer, the lateness grid narrowed
/// to the columns that fit, the other lines wrapped at spaces.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_fits_its_report_to_a_terminal_60_columns_wide() {
    let server = TestServer::with(Mode::Concurrent, ms(20)).await;
    let (terminal, screen) = crate::common::pty(60);
    let mut command = echoctl();
    command
        .arg("bench")
        .arg(server.addr.to_string())
        .args(["-c", "2", "-n", "3", "-i", "20ms", "-d", "20ms"])
        .args(["--ramp-up", "10ms"])
        .stdin(std::process::Stdio::null())
        .stdout(terminal)
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("spawn echoctl");
    drop(command);
    let finished = crate::common::finish(child).await;
    assert_eq!(finished.code, Some(0), "stderr: {}", finished.stderr);
    let shown = timeout(PATIENCE, screen)
        .await
        .expect("the pty is released")
        .expect("the reader did not panic");
    // The terminal ends each line with `\r\n`.
    let text = String::from_utf8_lossy(&shown).replace("\r\n", "\n");
    for line in text.lines() {
        assert!(line.chars().count() <= 60, "{line:?}\n{text}");
    }
    assert!(
        text.contains("\n             count      p50       p99     p99.9       max\n"),
        "{text}"
    );
    assert!(
        text.contains("\nrate         ") && text.contains("\nresult       OK"),
        "{text}"
    );
    server.stop().await;
}

/// A delay-0 reverb server that reads nothing for `hold`, with a receive buffer of a few KiB so
/// that the bench's writes block long before its shouts are all written; then it answers every
/// shout at once.
async fn server_that_does_not_read_for(hold: Duration) -> String {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    // Set before listen, so that accepted connections inherit it (and advertise a small window).
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
    let listener = socket.listen(16).expect("listen");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                sleep(hold).await;
                let (reader, mut writer) = stream.into_split();
                let mut lines = BufReader::new(reader).lines();
                while let Ok(Some(shout)) = lines.next_line().await {
                    let mut out = Vec::new();
                    for voice in Voice::ALL {
                        voice.write_line(shout.as_bytes(), &mut out);
                    }
                    if writer.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_held_back_by_a_server_that_does_not_read_keep_their_plan() {
    // 250,000 shouts (4.5 MB) planned over 100 ms; the server reads nothing for 300 ms. The
    // kernel's buffers take about 3 MB of them; the rest are written (the socket takes their
    // last byte) only once the server reads: at least 200 ms after their plan. That wait is the
    // send slip, and it is in the lateness from the plan, not skipped and not hidden.
    let addr = server_that_does_not_read_for(ms(300)).await;
    let shouts = 250_000;
    let pace = Pace::Interval(Duration::from_nanos(400));
    let mut held = config(addr, 1, shouts, pace, Duration::ZERO);
    held.ramp_up = Duration::ZERO;
    held.grace = Duration::from_secs(5);
    let report = run(held).await;
    assert_all_heard(&report, 1, shouts);
    let t = report.table();
    let slip = report.send_slip.expect("paced by time");
    assert_eq!(slip.count, shouts, "every shout sent, none skipped: {t}");
    assert!(slip.max_ms >= 200.0, "blocked writes are slip: {t}");
    let (plan, send) = (&report.lateness.all, &report.lateness_from_send.all);
    assert!(plan.max_ms >= send.max_ms, "{t}");
    assert!(plan.max_ms >= 200.0, "{t}");
    assert!(
        t.contains("warning      the bench fell behind its schedule"),
        "{t}"
    );
}
