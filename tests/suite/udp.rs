//! UDP end to end (`udp:HOST:PORT`), both ends over real loopback datagrams against the built
//! binary: the plain echo of any bytes, the book's transcripts per peer, two peers at once, the
//! guard (sources on the ports of small services ignored and counted, the reply bound against a
//! fast sender), datagrams too large, the limits and the grace period; `connect`'s end of input
//! against reverb and plain servers and its `--wait`; the bench's loss, duplication and
//! reordering counts against a fake server that drops, repeats and swaps datagrams; and peers
//! nobody here wrote: Python's socket module and OpenBSD's `nc -u`.
//!
//! Nothing waits on a bare clock for something to happen: each test waits for what it expects,
//! bounded by `PATIENCE`. Where a test shows that something did *not* arrive, it first waits for
//! a later answer the server sends through the same socket, in order, after it.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UdpSocket;
use tokio::process::Child;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use crate::common::{PATIENCE, echoctl, finish, signal};

/// `echoctl serve --listen udp:127.0.0.1:0` with more arguments, its stderr gathered as it
/// comes.
struct Served {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
    reader: JoinHandle<()>,
}

impl Served {
    async fn start(args: &[&str]) -> Served {
        let (child, first, stderr) = crate::common::spawn_serve(
            echoctl()
                .args(["serve", "--listen", "udp:127.0.0.1:0"])
                .args(args),
        )
        .await;
        let addr = crate::common::address_in(&first)
            .strip_prefix("udp:")
            .unwrap_or_else(|| panic!("start-up line: {first}"))
            .parse()
            .unwrap_or_else(|e| panic!("{first}: {e}"));
        let mut lines = stderr.lines();
        let log = Arc::new(Mutex::new(first));
        let reader = tokio::spawn({
            let log = log.clone();
            async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        Served {
            child,
            addr,
            log,
            reader,
        }
    }

    fn target(&self) -> String {
        format!("udp:{}", self.addr)
    }

    /// A socket of the test's own, connected to the server.
    async fn peer(&self) -> UdpSocket {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.connect(self.addr).await.unwrap();
        socket
    }

    /// Waits until the log holds `text` (the log is written as the server goes).
    async fn until_logged(&self, text: &str) -> String {
        timeout(PATIENCE, async {
            loop {
                let log = self.log.lock().unwrap().clone();
                if log.contains(text) {
                    return log;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the log never said {text:?}:\n{}", self.log.lock().unwrap()))
    }

    /// Stops the server with SIGTERM; its exit status and its whole log.
    async fn stop(self) -> (Option<i32>, String) {
        signal(&self.child, "TERM");
        self.stop_after_signal().await
    }
}

/// The next datagram on `socket`, failing the test after `PATIENCE`.
async fn recv(socket: &UdpSocket) -> Vec<u8> {
    let mut buffer = vec![0u8; 70_000];
    let n = timeout(PATIENCE, socket.recv(&mut buffer))
        .await
        .expect("a datagram in time")
        .expect("receive");
    buffer.truncate(n);
    buffer
}

/// The next `n` datagrams on `socket`, as text.
async fn recv_lines(socket: &UdpSocket, n: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for _ in 0..n {
        lines.push(String::from_utf8(recv(socket).await).expect("UTF-8"));
    }
    lines
}

/// Whether a datagram is waiting on `socket` now.
fn nothing_waiting(socket: &UdpSocket) -> bool {
    let mut buffer = [0u8; 64];
    matches!(socket.try_recv(&mut buffer), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

fn echoes(shout: &str) -> Vec<String> {
    vec![
        format!("\t {}\n", shout.to_uppercase()),
        format!("\t {shout}\n"),
        format!("\t {}\n", shout.to_lowercase()),
    ]
}

#[tokio::test]
async fn the_plain_echo_sends_any_datagram_back_unchanged() {
    let server = Served::start(&["--mode", "plain"]).await;
    let log = server.log.lock().unwrap().clone();
    assert!(
        log.starts_with(&format!("listening on udp:{} (mode plain)\n", server.addr)),
        "{log}"
    );
    let socket = server.peer().await;
    let every_byte: Vec<u8> = (0..=255).collect();
    let largest = vec![0xa5; 65_507];
    for datagram in [&every_byte[..], b"no newline", b"\r\n\r\n", b"", &largest] {
        socket.send(datagram).await.unwrap();
        assert_eq!(recv(&socket).await, datagram, "{} bytes", datagram.len());
    }
    let (code, log) = server.stop().await;
    assert_eq!(code, Some(0));
    assert!(log.contains("udp: 5 datagrams in"), "{log}");
}

#[tokio::test]
async fn the_books_sessions_over_datagrams_each_peer_its_own() {
    // reverb1: Yooo-hooo! is sent while the shout before it still echoes, and waits its turn.
    let delay = Duration::from_millis(600);
    let server = Served::start(&["--mode", "sequential", "--delay", "600ms"]).await;
    let socket = server.peer().await;
    let mut heard = Vec::new();
    socket.send(b"Hello?\n").await.unwrap();
    heard.extend(recv_lines(&socket, 3).await);
    socket.send(b"Is there anybody there?\n").await.unwrap();
    heard.extend(recv_lines(&socket, 1).await);
    socket.send(b"Yooo-hooo!\n").await.unwrap();
    heard.extend(recv_lines(&socket, 5).await);
    let expected: Vec<String> = ["Hello?", "Is there anybody there?", "Yooo-hooo!"]
        .iter()
        .flat_map(|s| echoes(s))
        .collect();
    assert_eq!(heard, expected);
    server.stop().await;

    // reverb2: Yooo-hooo! is sent half a delay after the first shout's second echo, and its
    // echoes fall between that shout's.
    let server = Served::start(&["--mode", "concurrent", "--delay", "600ms"]).await;
    let socket = server.peer().await;
    socket.send(b"Is there anybody there?\n").await.unwrap();
    let mut heard = recv_lines(&socket, 2).await;
    tokio::time::sleep(delay / 2).await;
    socket.send(b"Yooo-hooo!\n").await.unwrap();
    heard.extend(recv_lines(&socket, 4).await);
    assert_eq!(
        heard,
        [
            "\t IS THERE ANYBODY THERE?\n",
            "\t Is there anybody there?\n",
            "\t YOOO-HOOO!\n",
            "\t is there anybody there?\n",
            "\t Yooo-hooo!\n",
            "\t yooo-hooo!\n",
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn two_peers_are_served_at_once_each_in_its_own_order() {
    let server = Served::start(&["--mode", "sequential", "--delay", "200ms"]).await;
    let (a, b) = (server.peer().await, server.peer().await);
    a.send(b"a one\n").await.unwrap();
    a.send(b"a two\n").await.unwrap();
    b.send(b"b one\n").await.unwrap();
    b.send(b"b two\n").await.unwrap();
    let started = Instant::now();
    let (heard_a, heard_b) = tokio::join!(
        async {
            let lines = recv_lines(&a, 6).await;
            (lines, started.elapsed())
        },
        async {
            let first = recv_lines(&b, 1).await;
            let first_at = started.elapsed();
            let mut lines = first;
            lines.extend(recv_lines(&b, 5).await);
            (lines, first_at)
        }
    );
    let expected = |who: &str| -> Vec<String> {
        [format!("{who} one"), format!("{who} two")]
            .iter()
            .flat_map(|s| echoes(s))
            .collect()
    };
    assert_eq!(heard_a.0, expected("a"), "sequential for a");
    assert_eq!(heard_b.0, expected("b"), "sequential for b");
    assert!(
        heard_b.1 < heard_a.1,
        "b's first echo ({:?}) came before a was done ({:?}): the peers do not wait for each \
         other",
        heard_b.1,
        heard_a.1
    );
    let (code, log) = server.stop().await;
    assert_eq!(code, Some(0));
    assert!(log.contains("from 2 peers"), "{log}");
}

#[tokio::test]
async fn sources_on_the_ports_of_small_services_are_never_answered_and_are_counted() {
    // Ports 7 (echo) and 19 (chargen) are privileged: the test needs root or
    // CAP_NET_BIND_SERVICE (CI runs as root). Port 0 cannot be a source at all; the core's
    // unit tests refuse it (`udp::peers`).
    let server = Served::start(&["--delay", "0"]).await;
    let mut privileged = Vec::new();
    for port in [7, 19] {
        let socket = UdpSocket::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "this test binds UDP port {port} to send from it, and cannot ({e}): run the \
                 tests as root, or with CAP_NET_BIND_SERVICE, or with \
                 net.ipv4.ip_unprivileged_port_start=0"
                )
            });
        socket.connect(server.addr).await.unwrap();
        privileged.push(socket);
    }
    for socket in &privileged {
        socket.send(b"loop me\n").await.unwrap();
    }
    // Datagrams are handled in the order they come: once an ordinary peer's answer is back,
    // the two before it were handled, and any answer to them would be waiting already.
    let ordinary = server.peer().await;
    ordinary.send(b"ordinary\n").await.unwrap();
    assert_eq!(recv_lines(&ordinary, 3).await, echoes("ordinary"));
    for socket in &privileged {
        assert!(
            nothing_waiting(socket),
            "no answer to port {:?}",
            socket.local_addr()
        );
    }
    server
        .until_logged("from source ports 0, 7, 9, 13, 17, 19 or 37 (loop and reflection guard)")
        .await;
    let (code, log) = server.stop().await;
    assert_eq!(code, Some(0));
    assert!(
        log.contains(
            "2 not answered (2 from source ports 0, 7, 9, 13, 17, 19 or 37 (loop and \
             reflection guard))"
        ),
        "{log}"
    );
}

#[tokio::test]
async fn the_plain_echo_ignores_the_ports_of_small_services_too() {
    let server = Served::start(&["--mode", "plain"]).await;
    let echo_port = UdpSocket::bind("127.0.0.1:7").await.unwrap_or_else(|e| {
        panic!(
            "this test binds UDP port 7 to send from it, and cannot ({e}): run the tests as \
             root, or with CAP_NET_BIND_SERVICE"
        )
    });
    echo_port.connect(server.addr).await.unwrap();
    echo_port.send(b"x").await.unwrap();
    let ordinary = server.peer().await;
    ordinary.send(b"y").await.unwrap();
    assert_eq!(recv(&ordinary).await, b"y");
    assert!(nothing_waiting(&echo_port));
    let (_, log) = server.stop().await;
    assert!(log.contains("1 not answered (1 from source ports"), "{log}");
}

#[tokio::test]
async fn what_a_fast_sender_gets_back_stays_within_four_times_what_it_sent() {
    let server = Served::start(&["--delay", "0"]).await;
    let socket = server.peer().await;
    // A receive buffer large enough that nothing the server sends is lost on the way: what
    // comes back is all it sent.
    let socket = {
        let std = socket.into_std().unwrap();
        let socket2 = socket2::Socket::from(std);
        socket2.set_recv_buffer_size(4 << 20).unwrap();
        UdpSocket::from_std(socket2.into()).unwrap()
    };
    let single = b"one line, a datagram of its own\n";
    let many_short = b"a\nb\nc\nd\ne\nf\ng\nh\n";
    let (mut sent_bytes, mut singles) = (0, 0);
    let rounds = 500;
    for i in 0..rounds {
        let datagram: &[u8] = if i % 2 == 0 { single } else { many_short };
        socket.send(datagram).await.unwrap();
        sent_bytes += datagram.len() + 28;
        singles += usize::from(i % 2 == 0);
    }
    // A last single line, whose three echoes come after everything else's, quiet one last.
    socket.send(b"Last\n").await.unwrap();
    sent_bytes += 5 + 28;
    let mut got_bytes = 0;
    let mut echoes_heard = 0;
    loop {
        let datagram = recv(&socket).await;
        got_bytes += datagram.len() + 28;
        echoes_heard += 1;
        if datagram == b"\t last\n" {
            break;
        }
    }
    assert_eq!(
        echoes_heard,
        3 * singles + 3,
        "each single line echoed, no datagram of many short lines"
    );
    assert!(
        got_bytes <= 4 * sent_bytes,
        "{got_bytes} bytes back for {sent_bytes} sent, headers counted"
    );
    server.until_logged("udp: not answered: ").await;
    let (_, log) = server.stop().await;
    assert!(
        log.contains(&format!(
            "{} not answered ({} whose echoes would be over 4x their size)",
            rounds / 2,
            rounds / 2
        )),
        "{log}"
    );
}

#[tokio::test]
async fn datagrams_too_large_to_echo_are_refused_with_a_notice_and_the_server_goes_on() {
    let server = Served::start(&["--delay", "0"]).await;
    let socket = server.peer().await;
    // An echo line is the line and 3 bytes: 65,504 bytes fill the largest datagram.
    let longest = vec![b'x'; 65_504];
    socket.send(&longest).await.unwrap();
    for _ in 0..3 {
        assert_eq!(recv(&socket).await.len(), 65_507);
    }
    let too_long = vec![b'y'; 65_505];
    socket.send(&too_long).await.unwrap();
    assert_eq!(
        recv(&socket).await,
        b"echoctl: line longer than 65504 bytes; datagram not echoed\n"
    );
    socket.send(b"still here\n").await.unwrap();
    assert_eq!(recv_lines(&socket, 3).await, echoes("still here"));
    server.stop().await;

    let server = Served::start(&["--delay", "0", "--max-line", "100"]).await;
    let socket = server.peer().await;
    let mut datagram = vec![b'z'; 101];
    datagram.extend_from_slice(b"\nshort\n");
    socket.send(&datagram).await.unwrap();
    assert_eq!(
        recv(&socket).await,
        b"echoctl: line longer than 100 bytes; datagram not echoed\n",
        "the whole datagram is refused, its short line too"
    );
    socket.send(&[b'z'; 100]).await.unwrap();
    assert_eq!(
        recv(&socket).await.len(),
        103,
        "exactly the limit is a shout"
    );
    let (_, log) = server.stop().await;
    assert!(
        log.contains("1 with a line too long to echo (--max-line)"),
        "{log}"
    );
}

#[tokio::test]
async fn the_limits_hold_per_peer_and_the_grace_period_delivers_what_is_owed() {
    let server = Served::start(&[
        "--mode",
        "sequential",
        "--delay",
        "1s",
        "--max-connections",
        "1",
        "--max-pending",
        "1",
    ])
    .await;
    let first = server.peer().await;
    first.send(b"one\n").await.unwrap();
    assert_eq!(recv_lines(&first, 1).await, ["\t ONE\n"]);
    first.send(b"two\n").await.unwrap();
    first.send(b"three\n").await.unwrap();
    // Another peer over --max-connections is told, at most once a second.
    let other = server.peer().await;
    other.send(b"me too\n").await.unwrap();
    assert_eq!(
        recv(&other).await,
        b"echoctl: server is full (1 peers); try again later\n"
    );
    // one echoing, two waiting, three over --max-pending: dropped.
    server
        .until_logged("1 from peers with too many shouts waiting (--max-pending)")
        .await;
    assert_eq!(
        recv_lines(&first, 3).await,
        ["\t one\n", "\t one\n", "\t TWO\n"]
    );
    // A stop now: two's last echoes are still delivered, then the server exits 0.
    signal(&server.child, "TERM");
    assert_eq!(recv_lines(&first, 2).await, ["\t two\n", "\t two\n"]);
    let (code, log) = server.stop_after_signal().await;
    assert_eq!(code, Some(0));
    assert!(
        log.contains("shutting down: delivering echoes owed to 1 peer(s)"),
        "{log}"
    );
    assert!(
        nothing_waiting(&first),
        "no notice of the shutdown, no three"
    );
}

impl Served {
    /// Waits for a server already signalled to stop.
    async fn stop_after_signal(mut self) -> (Option<i32>, String) {
        let status = timeout(PATIENCE, self.child.wait())
            .await
            .expect("server stops in time")
            .expect("wait for the server");
        let _ = timeout(PATIENCE, self.reader).await;
        let log = self.log.lock().unwrap().clone();
        (status.code(), log)
    }
}

#[tokio::test]
async fn listening_beyond_loopback_warns_of_forged_sources() {
    let mut child = echoctl()
        .args([
            "serve",
            "-q",
            "--listen",
            "udp:0.0.0.0:0",
            "--mode",
            "plain",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = timeout(PATIENCE, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(first.starts_with("listening on udp:0.0.0.0:"), "{first}");
    assert!(
        first.ends_with(
            "(mode plain); reachable from the network: a datagram's source can be forged to \
             aim the answers at someone else (each datagram's answers are at most 4x its size)"
        ),
        "{first}"
    );
    signal(&child, "TERM");
    let _ = timeout(PATIENCE, child.wait()).await;
}

#[tokio::test]
async fn usage_errors_for_what_udp_does_not_have() {
    for (args, said) in [
        (
            &["--idle-timeout", "5s"][..],
            "--idle-timeout means nothing over UDP",
        ),
        (&["--fault", "drop=10%"], "--fault drop=10% needs a stream"),
    ] {
        let done = crate::common::run(
            echoctl()
                .args(["serve", "--listen", "udp:127.0.0.1:0"])
                .args(args),
        )
        .await;
        assert_eq!(done.code, Some(2), "{}", done.stderr);
        assert!(done.stderr.contains(said), "{}", done.stderr);
    }
}

/// Runs `echoctl connect ARGS` with `input` on stdin.
async fn connect(args: &[&str], input: &[u8]) -> (crate::common::Finished, Duration) {
    let started = Instant::now();
    let done = crate::common::connect(args, input).await;
    (done, started.elapsed())
}

#[tokio::test]
async fn connect_ends_when_the_echoes_owed_have_come_from_a_reverb_or_a_plain_echo() {
    let reverb = Served::start(&["--delay", "100ms"]).await;
    let wait = ["--wait", "30s"];
    let (done, took) = connect(&[&reverb.target(), wait[0], wait[1]], b"Hello?\nYooo-hooo!").await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(
        done.stdout_text(),
        "\t HELLO?\n\t YOOO-HOOO!\n\t Hello?\n\t Yooo-hooo!\n\t hello?\n\t yooo-hooo!\n",
        "a last line without a newline is a datagram too"
    );
    assert!(
        took < Duration::from_secs(15),
        "ended on its echoes, not --wait ({took:?})"
    );
    reverb.stop().await;

    let plain = Served::start(&["--mode", "plain"]).await;
    let (done, took) = connect(&[&plain.target(), wait[0], wait[1]], b"abc\n\x00\xff\n").await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, b"abc\n\x00\xff\n");
    assert!(
        took < Duration::from_secs(15),
        "one echo a line from a plain echo ({took:?})"
    );
    plain.stop().await;
}

#[tokio::test]
async fn connect_waits_for_silence_then_exits_4_with_the_echoes_missing() {
    // A server that hears and never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = format!("udp:{}", silent.local_addr().unwrap());
    let (done, took) = connect(&["--wait", "300ms", &target], b"Hello?\n").await;
    assert_eq!(done.code, Some(4), "{}", done.stderr);
    assert_eq!(
        done.stderr,
        "echoctl: error: nothing arrived for --wait 300ms after the end of input, and 3 \
         echoes are still missing (lost, or the server is not an echo)\n"
    );
    assert!(took >= Duration::from_millis(300));
    assert_eq!(
        recv(&silent).await,
        b"Hello?\n",
        "the line went, with its newline"
    );
    // The default wait over UDP is 3 s.
    let (done, took) = connect(&[&target], b"x\n").await;
    assert_eq!(done.code, Some(4));
    assert!(done.stderr.contains("--wait 3s"), "{}", done.stderr);
    assert!(took >= Duration::from_secs(3), "{took:?}");

    // A server that answers once: the wait runs from that answer, and two are missing.
    let once = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = format!("udp:{}", once.local_addr().unwrap());
    let answer = tokio::spawn(async move {
        let mut buffer = [0u8; 64];
        let (_, from) = once.recv_from(&mut buffer).await.unwrap();
        once.send_to(b"\t HI\n", from).await.unwrap();
        once
    });
    let (done, _) = connect(&["--wait", "300ms", &target], b"Hi\n").await;
    assert_eq!(done.code, Some(4), "{}", done.stderr);
    assert_eq!(done.stdout, b"\t HI\n");
    assert!(
        done.stderr.contains("2 echoes are still missing"),
        "{}",
        done.stderr
    );
    drop(answer.await);
}

#[tokio::test]
async fn connect_to_a_udp_port_nobody_listens_on_is_refused() {
    let closed = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let (done, _) = connect(&[&format!("udp:{addr}")], b"anyone?\n").await;
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert_eq!(
        done.stderr,
        format!(
            "echoctl: error: cannot connect to udp:{addr}: connection refused (tried {addr}); \
             nothing listens there: is `echoctl serve` running, on that port?\n"
        )
    );
}

#[tokio::test]
async fn the_bench_counts_datagrams_lost_repeated_and_swapped_by_a_fake_echo() {
    // A plain echo that drops the 3rd datagram, sends the 5th twice, and the 8th before the
    // 7th.
    let fake = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = format!("udp:{}", fake.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let mut buffer = [0u8; 1024];
        let mut held: Option<Vec<u8>> = None;
        for n in 1..=10 {
            let (len, from) = fake.recv_from(&mut buffer).await.unwrap();
            let datagram = buffer[..len].to_vec();
            match n {
                3 => {}
                5 => {
                    fake.send_to(&datagram, from).await.unwrap();
                    fake.send_to(&datagram, from).await.unwrap();
                }
                7 => held = Some(datagram),
                8 => {
                    fake.send_to(&datagram, from).await.unwrap();
                    fake.send_to(&held.take().unwrap(), from).await.unwrap();
                }
                _ => {
                    fake.send_to(&datagram, from).await.unwrap();
                }
            }
        }
    });
    let done = crate::common::run(echoctl().args([
        "bench", &target, "--expect", "plain", "-c", "1", "-n", "10", "-i", "20ms", "--grace",
        "500ms", "--json",
    ]))
    .await;
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    let report: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(report["schema_version"], 5);
    let datagrams = &report["datagrams"];
    assert_eq!(datagrams["lost"], 1, "{datagrams}");
    assert_eq!(datagrams["duplicated"], 1, "{datagrams}");
    assert_eq!(datagrams["reordered"], 1, "{datagrams}");
    assert_eq!(datagrams["loopback"], true);
    assert_eq!(datagrams["lost_percent"], 10.0);
    assert_eq!(report["echo_lines"]["received"], 9);
    assert_eq!(
        report["failed_checks"],
        serde_json::json!(["1 lost (10.0%, over the --max-loss of 0%)", "1 wrong"])
    );
    server.await.unwrap();
}

#[tokio::test]
async fn the_bench_passes_a_real_udp_echo_and_a_loss_within_max_loss() {
    let reverb = Served::start(&["--delay", "100ms"]).await;
    let done = crate::common::run(echoctl().args([
        "bench",
        &reverb.target(),
        "-c",
        "20",
        "-n",
        "3",
        "-i",
        "100ms",
        "-d",
        "100ms",
        "--ramp-up",
        "100ms",
    ]))
    .await;
    assert_eq!(
        done.code,
        Some(0),
        "{}\n{}",
        done.stdout_text(),
        done.stderr
    );
    let table = done.stdout_text();
    assert!(
        table.contains("echo lines   180 expected, 180 received, 0 missing, 0 wrong"),
        "{table}"
    );
    assert!(
        table.contains("datagrams    0 lost (0%), 0 duplicated, 0 reordered"),
        "{table}"
    );
    let (_, log) = reverb.stop().await;
    assert!(log.contains("60 shouts from 20 peers"), "{log}");

    // A fake that drops every 10th datagram: 10% lost passes --max-loss 10, not 5.
    for (max_loss, code) in [("10", 0), ("5", 1)] {
        let fake = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let target = format!("udp:{}", fake.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let mut buffer = [0u8; 1024];
            for n in 1..=20 {
                let (len, from) = fake.recv_from(&mut buffer).await.unwrap();
                if n % 10 != 0 {
                    fake.send_to(&buffer[..len], from).await.unwrap();
                }
            }
        });
        let done = crate::common::run(echoctl().args([
            "bench",
            &target,
            "--expect",
            "plain",
            "-c",
            "1",
            "-n",
            "20",
            "-i",
            "5ms",
            "--grace",
            "300ms",
            "--max-loss",
            max_loss,
        ]))
        .await;
        assert_eq!(
            done.code,
            Some(code),
            "--max-loss {max_loss}: {}",
            done.stdout_text()
        );
        assert!(
            done.stdout_text()
                .contains("datagrams    2 lost (10.0%), 0 duplicated, 0 reordered\n"),
            "{}",
            done.stdout_text()
        );
        assert!(
            done.stdout_text().contains("lost on loopback"),
            "the likely cause is named: {}",
            done.stdout_text()
        );
        server.await.unwrap();
    }
}

/// Runs `program` with `script` as its input (Python's, say), to its end.
async fn run_program(program: &str, args: &[&str]) -> crate::common::Finished {
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}): the tests need it (.ci/run installs it)")
        });
    finish(child).await
}

#[tokio::test]
async fn python_as_a_client_over_udp() {
    let reverb = Served::start(&["--delay", "100ms"]).await;
    let plain = Served::start(&["--mode", "plain"]).await;
    let script = r#"
import socket, sys
def peer(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    return s
reverb, plain = peer(int(sys.argv[1])), peer(int(sys.argv[2]))
reverb.send(b"Hello?\n")
for _ in range(3):
    print(repr(reverb.recv(65536)))
plain.send(bytes(range(256)))
print(plain.recv(65536) == bytes(range(256)))
"#;
    let done = run_program(
        "python3",
        &[
            "-c",
            script,
            &reverb.addr.port().to_string(),
            &plain.addr.port().to_string(),
        ],
    )
    .await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(
        done.stdout_text(),
        "b'\\t HELLO?\\n'\nb'\\t Hello?\\n'\nb'\\t hello?\\n'\nTrue\n"
    );
    reverb.stop().await;
    plain.stop().await;
}

#[tokio::test]
async fn the_reverb_session_from_openbsd_nc() {
    // nc -u sends what each read of its input gives as one datagram: a line at a time here, as
    // a person types them.
    let server = Served::start(&["--delay", "100ms"]).await;
    let mut nc = tokio::process::Command::new("nc")
        .args(["-u", "127.0.0.1", &server.addr.port().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run nc ({e}): the tests need OpenBSD's (.ci/run installs netcat-openbsd)"
            )
        });
    let mut stdin = nc.stdin.take().unwrap();
    let mut stdout = BufReader::new(nc.stdout.take().unwrap());
    let mut heard = String::new();
    for shout in ["Hello?", "Yooo-hooo!"] {
        stdin
            .write_all(format!("{shout}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
        for _ in 0..3 {
            let mut line = String::new();
            timeout(PATIENCE, stdout.read_line(&mut line))
                .await
                .expect("an echo in time")
                .unwrap();
            heard.push_str(&line);
        }
    }
    assert_eq!(
        heard,
        [echoes("Hello?"), echoes("Yooo-hooo!")].concat().concat()
    );
    drop(stdin);
    let _ = nc.kill().await;
    let mut rest = Vec::new();
    let _ = stdout.read_to_end(&mut rest).await;
    server.stop().await;
}
