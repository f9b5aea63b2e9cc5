//! `serve --fault` end to end: the built binary on a loopback port, and a client that checks
//! what it sees of each kind (split lines, a reset or a clean end, a held echo, a throttled
//! stream, a silent open socket), that the same seed draws the same faults, and that the
//! server's log says what it did. The share of connections a chance picks is checked in the
//! core, without sockets (`fault::tests`).

use std::io;
use std::time::Duration;

use crate::common::{PATIENCE, address_in, echoctl, finish, read_line, run, signal, spawn_serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStderr};
use tokio::time::{Instant, timeout};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A server started by [`serve`]: the child, the address it announced, its start-up line and
/// the rest of its stderr.
pub struct Faulty {
    pub child: Child,
    pub addr: String,
    pub startup: String,
    pub stderr: BufReader<ChildStderr>,
}

/// Starts `echoctl serve --listen 127.0.0.1:0 ARGS`.
pub async fn serve(args: &[&str]) -> Faulty {
    serve_on("127.0.0.1:0", args).await
}

/// Starts `echoctl serve --listen LISTEN ARGS`.
async fn serve_on(listen: &str, args: &[&str]) -> Faulty {
    let (child, startup, stderr) =
        spawn_serve(echoctl().args(["serve", "--listen", listen]).args(args)).await;
    let addr = address_in(&startup);
    Faulty {
        child,
        addr,
        startup,
        stderr,
    }
}

impl Faulty {
    /// Reads the log until a line that contains `wanted` (failing after `PATIENCE`).
    pub async fn log_line(&mut self, wanted: &str) -> String {
        timeout(PATIENCE, async {
            loop {
                let line = read_line(&mut self.stderr).await;
                if line.contains(wanted) {
                    return line;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no log line with {wanted:?}"))
    }

    /// Stops the server as Ctrl-C would; it must exit 0.
    pub async fn stop(self) {
        signal(&self.child, "TERM");
        drop(self.stderr);
        assert_eq!(finish(self.child).await.code, Some(0));
    }
}

/// What a client heard: every read as it came, and how the stream ended.
struct Heard {
    /// When the client sent its input (or began to read, with none): a server's holds start
    /// after it, so timings measured from it are never short.
    sent: Instant,
    reads: Vec<(Instant, Vec<u8>)>,
    end: io::Result<()>,
}

impl Heard {
    fn bytes(&self) -> Vec<u8> {
        self.reads.iter().flat_map(|(_, r)| r.clone()).collect()
    }
}

/// Connects, sends `input` (then ends it, if `half_close`), and reads until the server ends
/// the stream: `Ok` at a clean end of stream, the error at a reset.
async fn exchange(addr: &str, input: &[u8], half_close: bool) -> Heard {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let sent = Instant::now();
    stream.write_all(input).await.expect("send");
    if half_close {
        stream.shutdown().await.expect("half-close");
    }
    Heard {
        sent,
        ..read_all(&mut stream).await
    }
}

async fn read_all(stream: &mut TcpStream) -> Heard {
    let sent = Instant::now();
    let mut reads = Vec::new();
    let mut buf = [0u8; 4096];
    let end = timeout(PATIENCE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => return Ok(()),
                Ok(n) => reads.push((Instant::now(), buf[..n].to_vec())),
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .expect("the server ends the stream in time");
    Heard { sent, reads, end }
}

#[tokio::test(flavor = "multi_thread")]
async fn slice_cuts_every_echo_line_at_the_same_points_a_delay_apart() {
    let mut server = serve(&["-m", "sequential", "-d", "0", "--fault", "slice=2/60ms"]).await;
    let heard = exchange(&server.addr, b"Hi\n", true).await;
    assert!(heard.end.is_ok(), "a clean end: {:?}", heard.end);
    assert_eq!(heard.bytes(), b"\t HI\n\t Hi\n\t hi\n");
    // Pieces of two bytes: "\t ", "HI", "\n" per line. A read may take more than one piece if
    // the client is slow, but never ends inside one.
    let pieces: Vec<usize> = [2, 4, 5, 7, 9, 10, 12, 14, 15].to_vec();
    let mut at = 0;
    for (_, read) in &heard.reads {
        at += read.len();
        assert!(
            pieces.contains(&at),
            "a read ends at byte {at}, inside a piece"
        );
    }
    let took = heard.reads.last().unwrap().0 - heard.sent;
    assert!(
        took >= ms(8 * 60),
        "nine pieces 60 ms apart took only {took:?} from the shout"
    );
    let opened = server.log_line("connection opened").await;
    assert!(opened.contains("faults: slice=2/60ms"), "{opened}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_after_resets_and_close_after_ends_cleanly_after_exactly_the_lines_counted() {
    for (fault, reset) in [("reset-after=3lines", true), ("close-after=3lines", false)] {
        let mut server = serve(&["-m", "sequential", "-d", "0", "--fault", fault]).await;
        // Two shouts: the stream is cut after the first's three echoes, whatever follows.
        let heard = exchange(&server.addr, b"a\nb\n", false).await;
        assert_eq!(heard.bytes(), b"\t A\n\t a\n\t a\n", "{fault}");
        match heard.end {
            Err(e) => assert!(
                reset && e.kind() == io::ErrorKind::ConnectionReset,
                "{fault}: {e}"
            ),
            Ok(()) => assert!(!reset, "{fault}: a clean end of stream, not a reset"),
        }
        let what = if reset { "reset" } else { "closed" };
        server
            .log_line(&format!("{what} after 3 echo lines (fault)"))
            .await;
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_byte_count_cuts_inside_a_line_in_plain_mode_too() {
    let server = serve(&["-m", "plain", "--fault", "close-after=5bytes"]).await;
    let heard = exchange(&server.addr, b"abc\ndefgh\n", false).await;
    assert_eq!(heard.bytes(), b"abc\nd");
    assert!(heard.end.is_ok(), "{:?}", heard.end);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stall_after_holds_the_socket_open_and_silent_beyond_the_timeouts() {
    let mut server = serve(&[
        "-d",
        "0",
        "--fault",
        "stall-after=1line",
        "--write-timeout",
        "100ms",
        "--idle-timeout",
        "100ms",
    ])
    .await;
    let mut stream = TcpStream::connect(&server.addr).await.unwrap();
    stream.write_all(b"x\n").await.unwrap();
    let mut buf = [0u8; 64];
    let n = timeout(PATIENCE, stream.read(&mut buf))
        .await
        .expect("the first echo line")
        .unwrap();
    assert_eq!(&buf[..n], b"\t X\n");
    server.log_line("stalled after 1 echo line (fault)").await;
    // Silent and open: no byte, no end of stream, long past both timeouts.
    let silent = timeout(ms(600), stream.read(&mut buf)).await;
    assert!(silent.is_err(), "the stalled socket said {silent:?}");
    stream.write_all(b"are you there?\n").await.unwrap();
    // Ending its input is not giving up: a client may still wait to hear.
    stream.shutdown().await.unwrap();
    let silent = timeout(ms(300), stream.read(&mut buf)).await;
    assert!(
        silent.is_err(),
        "after the client's end, the socket said {silent:?}"
    );
    // A reset is.
    stream.set_zero_linger().unwrap();
    drop(stream);
    let closed = server.log_line("connection closed").await;
    assert!(
        closed.contains("stalled after 1 echo line (fault), until the client went away"),
        "{closed}"
    );
    server.stop().await;
}

/// A client that ends its input and then closes its socket, as `connect --wait` and `bench` do,
/// frees its stalled connection's place under `--max-connections`: its end alone keeps the
/// place (it may still be waiting to hear), its close gives it up, and the next client is
/// served, not told the server is full. `client` connects to the address the server announced.
async fn a_stalled_client_that_closes_frees_its_place<S>(
    listen: &str,
    client: impl AsyncFn(&str) -> S,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut server = serve_on(
        listen,
        &[
            "--fault",
            "stall-after=0lines",
            "--max-connections",
            "1",
            // The last client is held until the grace period ends.
            "--grace",
            "100ms",
        ],
    )
    .await;
    let mut stalled = client(&server.addr).await;
    stalled.write_all(b"x\n").await.unwrap();
    stalled.shutdown().await.unwrap();
    server.log_line("stalled after 0 echo lines (fault)").await;
    let mut full = client(&server.addr).await;
    let mut told = String::new();
    timeout(PATIENCE, full.read_to_string(&mut told))
        .await
        .expect("the notice in time")
        .unwrap();
    assert!(told.starts_with("echoctl: server is full"), "{told:?}");
    server.log_line("refused, server full").await;
    drop(stalled);
    // The place is given up just after the close is logged: a client may still be turned away
    // meanwhile, and tries again.
    let mut let_go = false;
    timeout(PATIENCE, async {
        let mut _next = client(&server.addr).await;
        loop {
            let line = read_line(&mut server.stderr).await;
            if line.contains("connection opened") {
                return;
            } else if line.contains("refused, server full") {
                tokio::time::sleep(ms(50)).await;
                _next = client(&server.addr).await;
            } else {
                let closed = "connection closed after";
                let how = "stalled after 0 echo lines (fault), until the client went away";
                assert!(line.contains(closed) && line.contains(how), "{line}");
                let_go = true;
            }
        }
    })
    .await
    .expect("the next client served in time");
    assert!(let_go, "the stalled connection's close was logged");
    server.stop().await;
}

/// TCP cannot tell a closed client from one that only ended its input: keepalive probes find
/// out once the client's system forgets the connection (Linux: `tcp_fin_timeout`, 60 s, after
/// the close). The client here has it forget after 1 s (`TCP_LINGER2`), so the test need not
/// wait a minute; the probes still have to find out.
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_tcp_client_that_closes_frees_its_place() {
    a_stalled_client_that_closes_frees_its_place("127.0.0.1:0", async |addr: &str| {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let forget_after: libc::c_int = 1;
        // SAFETY: the descriptor is the stream's, and the value a c_int of the size given.
        let set = unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&stream),
                libc::IPPROTO_TCP,
                libc::TCP_LINGER2,
                std::ptr::from_ref(&forget_after).cast(),
                std::mem::size_of_val(&forget_after) as libc::socklen_t,
            )
        };
        assert_eq!(set, 0, "TCP_LINGER2: {}", io::Error::last_os_error());
        stream
    })
    .await;
}

/// A Unix socket says when its peer has closed.
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_unix_client_that_closes_frees_its_place() {
    let dir = crate::plain::TempDir::new("faults");
    let listen = format!("unix:{}", dir.0.join("echo.sock").display());
    a_stalled_client_that_closes_frees_its_place(&listen, async |addr: &str| {
        let path = addr.strip_prefix("unix:").expect("a unix: address");
        tokio::net::UnixStream::connect(path)
            .await
            .expect("connect")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refuse_resets_before_a_byte_is_read() {
    let mut server = serve(&["--fault", "refuse"]).await;
    let heard = match TcpStream::connect(&server.addr).await {
        Ok(mut stream) => read_all(&mut stream).await,
        // The reset came before the connect was seen to complete.
        Err(e) => Heard {
            sent: Instant::now(),
            reads: Vec::new(),
            end: Err(e),
        },
    };
    server
        .log_line("reset at once, before a byte is read")
        .await;
    assert!(heard.reads.is_empty());
    let e = heard.end.expect_err("a reset, not an end of stream");
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn latency_holds_every_echo_and_slow_close_holds_the_end() {
    let server = serve(&[
        "-m",
        "sequential",
        "-d",
        "0",
        "--fault",
        "latency=300ms",
        "--fault",
        "slow-close=400ms",
    ])
    .await;
    let heard = exchange(&server.addr, b"x\n", true).await;
    let ended = Instant::now();
    let sent = heard.sent;
    assert_eq!(heard.bytes(), b"\t X\n\t x\n\t x\n");
    assert!(heard.end.is_ok());
    let first = heard.reads[0].0 - sent;
    assert!(first >= ms(300), "the first echo came after {first:?}");
    // The echoes held 300 ms from the shout, then the end 400 ms from the echoes.
    assert!(
        ended - sent >= ms(700),
        "the end came {:?} after",
        ended - sent
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bandwidth_holds_a_stream_to_its_rate() {
    let server = serve(&["-m", "plain", "--fault", "bandwidth=8KiB/s"]).await;
    let data: Vec<u8> = (0..4096u32).map(|i| b'a' + (i % 26) as u8).collect();
    let heard = exchange(&server.addr, &data, true).await;
    assert_eq!(heard.bytes(), data);
    // 4 KiB at 8 KiB a second: the last piece half a second after the first, less one piece
    // (a fiftieth of a second's worth), and the first is written after the data is sent; a
    // busy machine only makes it slower.
    let took = heard.reads.last().unwrap().0 - heard.sent;
    let at_least = Duration::from_secs_f64((4096.0 - 8192.0 / 50.0) / 8192.0);
    assert!(took >= at_least, "4 KiB took {took:?}, under {at_least:?}");
    assert!(took < ms(5000), "4 KiB took {took:?}");
    server.stop().await;
}

/// What twenty shouts get back from a server dropping and corrupting echo lines.
async fn damaged_echoes(seed: &str) -> Vec<u8> {
    let server = serve(&[
        "-m",
        "sequential",
        "-d",
        "0",
        "--fault",
        "drop=20%",
        "--fault",
        "corrupt=20%",
        "--fault-seed",
        seed,
    ])
    .await;
    let shouts: String = (0..20).map(|i| format!("Shout n{i} n{i}\n")).collect();
    let heard = exchange(&server.addr, shouts.as_bytes(), true).await;
    assert!(heard.end.is_ok());
    server.stop().await;
    heard.bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn drop_and_corrupt_damage_lines_the_same_way_for_the_same_seed() {
    let heard = damaged_echoes("7").await;
    let expected: Vec<String> = (0..20)
        .flat_map(|i| {
            let text = format!("Shout n{i} n{i}");
            [text.to_uppercase(), text.clone(), text.to_lowercase()]
        })
        .map(|voice| format!("\t {voice}\n"))
        .collect();
    let lines: Vec<&[u8]> = heard.split_inclusive(|&b| b == b'\n').collect();
    assert!(lines.len() < 60, "some lines dropped");
    let mut owed = expected.iter();
    let mut changed = 0;
    for line in &lines {
        let echo = owed
            .by_ref()
            .find(|e| {
                e.len() == line.len()
                    && e.bytes().zip(line.iter()).filter(|(a, b)| a != *b).count() <= 1
            })
            .unwrap_or_else(|| panic!("{:?} is no echo, nor one byte off one", line));
        changed += usize::from(echo.as_bytes() != *line);
    }
    assert!(changed > 0, "some lines changed");
    assert_eq!(
        damaged_echoes("7").await,
        heard,
        "the same seed, the same damage"
    );
    assert_ne!(
        damaged_echoes("8").await,
        heard,
        "another seed, other damage"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chance_picks_the_same_connections_for_the_same_seed() {
    async fn refused(seed: &str) -> Vec<bool> {
        let server = serve(&["--fault", "refuse@50%", "--fault-seed", seed]).await;
        assert!(
            server
                .startup
                .contains(&format!("faults: refuse@50%, seed {seed})")),
            "{}",
            server.startup
        );
        let mut refused = Vec::new();
        for _ in 0..12 {
            // One at a time, so they are accepted in this order.
            // A reset may come before the connect is seen to complete, or after.
            let mut stream = match TcpStream::connect(&server.addr).await {
                Ok(stream) => stream,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    refused.push(true);
                    continue;
                }
                Err(e) => panic!("connect: {e}"),
            };
            // A refused connection may be reset already: its half-close fails too.
            let _ = stream.shutdown().await;
            refused.push(read_all(&mut stream).await.end.is_err());
        }
        server.stop().await;
        refused
    }
    let first = refused("3").await;
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");
    assert_eq!(refused("3").await, first);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_start_up_line_names_the_faults_and_a_random_seed_when_none_is_given() {
    let server = serve(&[
        "-d",
        "250ms",
        "--fault",
        "latency=200ms~50ms",
        "--fault",
        "reset-after=5lines@20%",
    ])
    .await;
    let rest = server
        .startup
        .strip_prefix(&format!(
            "listening on {} (mode concurrent, delay 250ms, faults: latency=200ms~50ms, \
             reset-after=5lines@20%, seed ",
            server.addr
        ))
        .unwrap_or_else(|| panic!("{}", server.startup));
    let seed = rest.trim_end().trim_end_matches(')');
    assert!(seed.parse::<u64>().is_ok(), "{}", server.startup);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fault_that_does_not_parse_or_means_nothing_there_is_a_usage_error() {
    for (args, wanted) in [
        (
            &["--fault", "latency=fast"][..],
            &["'latency=fast'", "latency=DURATION[~JITTER]"][..],
        ),
        (
            &["--fault", "teleport"],
            &["unknown fault \"teleport\"", "slice=BYTES[/DELAY]"],
        ),
        (
            &["--mode", "plain", "--fault", "drop=5%"],
            &["--fault drop=5% means nothing with --mode plain"],
        ),
        (
            &[
                "--listen",
                "unix:/tmp/echoctl-faults.sock",
                "--fault",
                "reset-after=1line",
            ],
            &["--fault reset-after=1line needs TCP"],
        ),
        (&["--fault-seed", "7"], &["--fault <SPEC>"]),
    ] {
        let done = run(echoctl().arg("serve").args(args)).await;
        assert_eq!(done.code, Some(2), "{args:?}: {}", done.stderr);
        for part in wanted {
            assert!(
                done.stderr.contains(part),
                "{part:?} not in {}",
                done.stderr
            );
        }
    }
}

/// `echoctl bench` of four connections, three shouts each, against `addr`, giving up on echoes
/// `grace` past due.
async fn bench(addr: &str, allow_faults: bool, grace: &str) -> crate::common::Finished {
    let mut command = echoctl();
    command.args([
        "bench",
        "-c",
        "4",
        "-n",
        "3",
        "-i",
        "50ms",
        "-d",
        "50ms",
        "--ramp-up",
        "20ms",
        "--grace",
        grace,
        addr,
    ]);
    if allow_faults {
        command.arg("--allow-faults");
    }
    run(&mut command).await
}

/// Against each kind of damage, the bench names it, fails, and passes with --allow-faults;
/// against a late server it names the late lines and passes anyway.
#[tokio::test(flavor = "multi_thread")]
async fn bench_names_what_each_fault_did_and_passes_it_only_when_allowed() {
    // A short grace where the bench has to give up (a stalled connection is held through it);
    // a long one where nothing may go missing, however busy the machine.
    let cases: [(&[&str], &str, bool, &str); 6] = [
        (
            &["reset-after=4lines"],
            "faults seen  4 connections reset, 0 closed early",
            true,
            "300ms",
        ),
        (
            &["close-after=4lines"],
            "0 connections reset, 4 closed early, 0 stalled",
            true,
            "300ms",
        ),
        (
            &["stall-after=4lines"],
            "0 closed early, 4 stalled",
            true,
            "300ms",
        ),
        (&["drop=30%"], "FAILED: ", true, "300ms"),
        (&["corrupt=30%"], "one byte off an echo owed", true, "300ms"),
        (
            &["latency=150ms"],
            "36 late (over 100ms past due)",
            false,
            "5s",
        ),
    ];
    let mut runs = tokio::task::JoinSet::new();
    for (faults, wanted, fails, grace) in cases {
        runs.spawn(async move {
            // A short grace: a stalled connection is held until the server's grace ends.
            let mut args = vec!["-d", "50ms", "--grace", "200ms", "--fault-seed", "1"];
            for fault in faults {
                args.extend(["--fault", fault]);
            }
            let server = serve(&args).await;
            let strict = bench(&server.addr, false, grace).await;
            let report = strict.stdout_text().to_string();
            assert!(
                report.contains(wanted),
                "{faults:?}: {wanted:?} not in\n{report}"
            );
            assert_eq!(
                strict.code,
                Some(if fails { 1 } else { 0 }),
                "{faults:?}\n{report}"
            );
            let allowed = bench(&server.addr, true, grace).await;
            assert_eq!(
                allowed.code,
                Some(0),
                "{faults:?}\n{}",
                allowed.stdout_text()
            );
            assert!(
                allowed.stdout_text().contains("result       OK"),
                "{}",
                allowed.stdout_text()
            );
            server.stop().await;
            report
        });
    }
    while let Some(report) = runs.join_next().await {
        let report = report.expect("a case panicked");
        if report.contains("one byte off") {
            // Every wrong line a corrupting server sends is one byte off an echo owed.
            let wrong = report
                .split(" wrong (")
                .next()
                .and_then(|before| before.rsplit(' ').next())
                .unwrap_or_default();
            assert!(
                report.contains(&format!("{wrong} wrong ({wrong} one byte off")),
                "{report}"
            );
        }
    }
}

/// The commands of docs/faults.md's recipes, in order: `echoctl ...` lines of its `sh` blocks,
/// and the `$ ...` line of its `console` block with the output shown under it.
fn recipes() -> (Vec<Vec<String>>, String, String) {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/faults.md"))
        .expect("docs/faults.md");
    let (mut commands, mut console) = (Vec::new(), String::new());
    let mut block = None;
    for line in doc.lines() {
        match (block, line.strip_prefix("```")) {
            (None, Some(kind)) => block = Some(kind),
            (Some(_), Some(_)) => block = None,
            (Some("sh"), None) => {
                commands.push(line.split_whitespace().map(String::from).collect())
            }
            (Some("console"), None) => console.push_str(&format!("{line}\n")),
            _ => {}
        }
    }
    let (client, shown) = console.split_once('\n').expect("a console block");
    let client = client.strip_prefix("$ ").expect("a prompt").to_string();
    (commands, client, shown.to_string())
}

/// Each recipe's server starts and names its faults; the first one's client sees what the
/// recipe shows; the second one's lines come in the pieces it names, as late as it says; the
/// third one's bench passes with --allow-faults and names the resets.
#[tokio::test(flavor = "multi_thread")]
async fn the_recipes_in_docs_faults_md_do_what_they_say() {
    let (commands, client, shown) = recipes();
    let serves: Vec<&Vec<String>> = commands.iter().filter(|c| c[1] == "serve").collect();
    assert_eq!(serves.len(), 3, "three recipes: {commands:?}");
    for (i, command) in serves.iter().enumerate() {
        assert_eq!(command[0], "echoctl");
        let args: Vec<&str> = command[1..].iter().map(String::as_str).skip(1).collect();
        let server = serve(&args).await;
        let faults: Vec<&str> = args
            .windows(2)
            .filter(|w| w[0] == "--fault")
            .map(|w| w[1])
            .collect();
        assert!(!faults.is_empty());
        assert!(
            server
                .startup
                .contains(&format!("faults: {}, seed ", faults.join(", "))),
            "recipe {}: {}",
            i + 1,
            server.startup
        );
        match i {
            0 => {
                let (input, connect) = client.split_once(" | ").expect("printf ... | connect");
                assert_eq!(connect, "echoctl connect");
                let input = input
                    .strip_prefix("printf '")
                    .and_then(|s| s.strip_suffix('\''))
                    .expect("printf 'TEXT'")
                    .replace("\\n", "\n");
                let done = crate::common::connect(&[&server.addr], input.as_bytes()).await;
                assert_eq!(done.code, Some(1), "{}", done.stderr);
                assert_eq!(format!("{}{}", done.stdout_text(), done.stderr), shown);
            }
            1 => {
                let heard = exchange(&server.addr, b"Hello?\n", true).await;
                assert!(heard.end.is_ok(), "{:?}", heard.end);
                let line = |voice: &str| format!("\t {voice}\n").into_bytes();
                let lines = [line("HELLO?"), line("Hello?"), line("hello?")];
                assert_eq!(heard.bytes(), lines.concat());
                // Pieces of four bytes, "\t HE", "LLO?", "\n": a read may take more than one if
                // the client is slow, but never ends inside one.
                let mut at = 0;
                for (_, read) in &heard.reads {
                    at += read.len();
                    assert!(
                        [0, 4, 8].contains(&(at % 9)),
                        "a read ends at byte {at}, inside a piece"
                    );
                }
                // Each line due 250ms after the one before (the first at once), its first
                // piece 150 to 250ms later, its last two pieces 20ms apart after it. A line
                // is timed by the reads that hold its first and last byte, from the shout;
                // a busy machine only makes them later, so the upper bound is generous.
                let arrival = |byte: usize| {
                    let mut end = 0;
                    heard
                        .reads
                        .iter()
                        .find(|(_, read)| {
                            end += read.len();
                            end > byte
                        })
                        .map(|(when, _)| *when - heard.sent)
                        .expect("every byte read")
                };
                for k in 0..3 {
                    let due = ms(250 * k as u64);
                    let (first, last) = (arrival(9 * k), arrival(9 * k + 8));
                    assert!(
                        first >= due + ms(150) && first <= due + ms(250) + ms(2000),
                        "line {k}, due at {due:?}, began at {first:?}"
                    );
                    assert!(
                        last >= due + ms(150 + 2 * 20),
                        "line {k}, due at {due:?}, ended at {last:?}"
                    );
                }
            }
            2 => {
                let bench = commands
                    .iter()
                    .find(|c| c[1] == "bench")
                    .expect("a bench command");
                let done = run(echoctl().args(&bench[1..]).arg(&server.addr)).await;
                assert_eq!(done.code, Some(0), "{}", done.stdout_text());
                let report = done.stdout_text();
                assert!(report.contains("faults seen  "), "{report}");
                assert!(
                    report.contains(
                        "result       OK with --allow-faults: what arrived was right or the \
                         damage faults do"
                    ),
                    "{report}"
                );
            }
            _ => {}
        }
        server.stop().await;
    }
}
