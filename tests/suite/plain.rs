//! The plain echo (`--mode plain`) end to end, in-process, over real TCP on 127.0.0.1 and over a
//! Unix-domain socket in a temp dir: bytes back exactly, half-close, a client that never reads,
//! and a thousand connections at once.
//!
//! Bounds on memory are checked on the server's own counters, never with a wall clock.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use echoctl::bench::{self, BenchConfig, Expect, Pace, Progress, Report};
use echoctl::net::{self, Stream, UnixListening};
use echoctl::server::{
    self, CloseReason, Connection, ConnectionStats, Mode, PlainPath, ServerConfig, ServerStats,
    Shutdown,
};
use echoctl::timer::Timer;
use echoctl_core::Address;
use echoctl_core::session::plain::COPY_CHUNK;
#[cfg(target_os = "linux")]
use echoctl_core::session::plain::SPLICE_CHUNK;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::task::JoinSet;
use tokio::time::timeout;

use crate::common::{PATIENCE, read_to_end};

/// Where a test server listens.
#[derive(Debug, Clone, Copy)]
pub enum Over {
    Tcp,
    Unix,
}

/// A temp directory removed when dropped (the Unix sockets' home).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::AtomicU64;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "echoctl-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

enum Running {
    Tcp(server::Running),
    Unix(server::Running<PathBuf>),
}

/// The real server on its own task, over TCP or a Unix socket.
pub struct Served {
    /// As `connect` takes it: `127.0.0.1:PORT` or `unix:PATH`.
    pub addr: Address,
    pub stats: Arc<ServerStats>,
    running: Running,
    _dir: Option<TempDir>,
}

impl Served {
    pub async fn start(over: Over, config: ServerConfig) -> Served {
        match over {
            Over::Tcp => {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let running = server::spawn(listener, config, Timer::start()).unwrap();
                Served {
                    addr: Address::Tcp(running.addr.into()),
                    stats: running.stats.clone(),
                    running: Running::Tcp(running),
                    _dir: None,
                }
            }
            Over::Unix => {
                let dir = TempDir::new("plain");
                let path = dir.0.join("echo.sock");
                let listener = UnixListening::bind(&path).await.unwrap();
                let running = server::spawn(listener, config, Timer::start()).unwrap();
                Served {
                    addr: Address::Unix(running.addr.clone()),
                    stats: running.stats.clone(),
                    running: Running::Unix(running),
                    _dir: Some(dir),
                }
            }
        }
    }

    pub async fn plain(over: Over) -> Served {
        Served::start(over, plain_config()).await
    }

    pub async fn connect(&self) -> Stream {
        net::connect_to(&self.addr, Some(PATIENCE)).await.unwrap()
    }

    pub async fn until_open_connections(&self, open: usize) {
        timeout(PATIENCE, async {
            while self.stats.connections_open.load(Relaxed) != open {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("server never got to {open} open connections"));
    }

    /// Stops the server; hands back its temp dir, if any, so the caller may look inside.
    pub async fn stop(self) -> Option<TempDir> {
        let stopped = match self.running {
            Running::Tcp(running) => timeout(PATIENCE, running.stop()).await,
            Running::Unix(running) => timeout(PATIENCE, running.stop()).await,
        };
        stopped.expect("server stops in time").expect("no panic");
        self._dir
    }
}

pub fn plain_config() -> ServerConfig {
    ServerConfig {
        mode: Mode::Plain,
        ..ServerConfig::default()
    }
}

/// Bytes that are every byte value, then a deterministic pseudo-random tail (xorshift).
pub fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..=255u8).collect();
    let mut x = seed | 1;
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// Writes `bytes` in pieces of uneven sizes while reading everything back; half-closes right
/// after the last piece, so what is still on its way is in flight at the half-close. Returns
/// what came back up to the server's end of stream (`read_to_end` fails on a reset).
pub async fn echo_through(stream: Stream, bytes: Vec<u8>) -> Vec<u8> {
    let (reader, mut writer) = tokio::io::split(stream);
    let receiving = tokio::spawn(read_to_end(reader));
    let sizes = [1, 7, 255, 256, 4096, 65_537, 3];
    let mut rest = &bytes[..];
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at((*size).min(rest.len()));
        writer.write_all(piece).await.unwrap();
        rest = tail;
    }
    writer.shutdown().await.unwrap();
    timeout(PATIENCE, receiving).await.unwrap().unwrap()
}

async fn binary_payloads_come_back_byte_for_byte(over: Over) {
    let server = Served::plain(over).await;
    let sent = payload(3 << 20, 42);
    let back = echo_through(server.connect().await, sent.clone()).await;
    assert_eq!(back.len(), sent.len());
    assert!(back == sent, "the bytes come back unchanged, in order");

    // No line limit: a stream without a newline, far past the reverb's 64 KiB.
    let sent: Vec<u8> = payload(1 << 20, 7)
        .into_iter()
        .map(|b| if b == b'\n' { b'.' } else { b })
        .collect();
    let back = echo_through(server.connect().await, sent.clone()).await;
    assert!(back == sent, "a MiB without a newline comes back whole");
    assert_eq!(
        server.stats.bytes_echoed.load(Relaxed),
        (3 << 20) + (1 << 20)
    );
    server.stop().await;
}

#[tokio::test]
async fn plain_tcp_binary_payloads_come_back_byte_for_byte() {
    binary_payloads_come_back_byte_for_byte(Over::Tcp).await;
}

#[tokio::test]
async fn plain_unix_binary_payloads_come_back_byte_for_byte() {
    binary_payloads_come_back_byte_for_byte(Over::Unix).await;
}

/// Half-closes with a quarter MiB unread and nothing read back yet: all of it still comes back,
/// then a clean end of stream.
async fn a_half_close_mid_stream_gets_everything_back_then_eof(over: Over) {
    let server = Served::plain(over).await;
    let stream = server.connect().await;
    let (mut reader, mut writer) = tokio::io::split(stream);
    let sent = payload(256 * 1024, 9);
    writer.write_all(&sent).await.unwrap();
    writer.shutdown().await.unwrap();
    let mut back = vec![0; sent.len()];
    timeout(PATIENCE, reader.read_exact(&mut back))
        .await
        .unwrap()
        .unwrap();
    assert!(back == sent);
    let mut after = Vec::new();
    let n = timeout(PATIENCE, reader.read_to_end(&mut after))
        .await
        .unwrap()
        .expect("a FIN, not a reset");
    assert_eq!(n, 0, "nothing after the echo");
    server.until_open_connections(0).await;
    server.stop().await;
}

#[tokio::test]
async fn plain_tcp_half_close_mid_stream_gets_everything_back_then_eof() {
    a_half_close_mid_stream_gets_everything_back_then_eof(Over::Tcp).await;
}

#[tokio::test]
async fn plain_unix_half_close_mid_stream_gets_everything_back_then_eof() {
    a_half_close_mid_stream_gets_everything_back_then_eof(Over::Unix).await;
}

/// A client that sends 100 MB and reads nothing: the server stops reading with one chunk owed
/// (`chunk`: the most `path` reads at once), its write timeout cuts the client off, and another
/// client is served meanwhile.
async fn a_client_that_never_reads_is_held_to_one_chunk(over: Over, path: PlainPath, chunk: usize) {
    let server = Served::start(
        over,
        ServerConfig {
            write_timeout: Some(Duration::from_millis(500)),
            plain_path: path,
            ..plain_config()
        },
    )
    .await;
    let (_hog_reader, mut hog_writer) = tokio::io::split(server.connect().await);
    let flooding = tokio::spawn(async move {
        let block = payload(1 << 20, 3);
        for _ in 0..100 {
            if hog_writer.write_all(&block).await.is_err() {
                return false;
            }
        }
        true
    });

    let back = echo_through(server.connect().await, b"still fine?".to_vec()).await;
    assert_eq!(back, b"still fine?");

    server.until_open_connections(0).await;
    let completed = timeout(PATIENCE, flooding).await.unwrap().unwrap();
    assert!(!completed, "the server must stop taking the hog's input");
    let peak = server.stats.peak_unsent_bytes.load(Relaxed);
    assert!(
        peak <= chunk,
        "held {peak} bytes read and not yet written back for one connection, bound {chunk}"
    );
    assert!(server.stats.bytes_echoed.load(Relaxed) < 100 << 20);
    server.stop().await;
}

#[tokio::test]
async fn plain_tcp_client_that_never_reads_is_held_to_one_chunk() {
    a_client_that_never_reads_is_held_to_one_chunk(Over::Tcp, PlainPath::Copy, COPY_CHUNK).await;
}

#[tokio::test]
async fn plain_unix_client_that_never_reads_is_held_to_one_chunk() {
    a_client_that_never_reads_is_held_to_one_chunk(Over::Unix, PlainPath::Copy, COPY_CHUNK).await;
}

/// Through the kernel the bytes owed wait in a pipe, at most one of its fills.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn plain_tcp_client_that_never_reads_is_held_to_one_pipe_full_when_spliced() {
    a_client_that_never_reads_is_held_to_one_chunk(Over::Tcp, PlainPath::Splice, SPLICE_CHUNK)
        .await;
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn plain_unix_client_that_never_reads_is_held_to_one_pipe_full_when_spliced() {
    a_client_that_never_reads_is_held_to_one_chunk(Over::Unix, PlainPath::Splice, SPLICE_CHUNK)
        .await;
}

/// A thousand connections open at once, each echoing its own data.
async fn a_thousand_connections_at_once_each_get_their_own_bytes(over: Over) {
    const CONNECTIONS: usize = 1000;
    // Both ends are in this process: two descriptors per connection.
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
    let wanted = 2 * CONNECTIONS as u64 + 500;
    if soft < wanted {
        let raised = rlimit::increase_nofile_limit(wanted).unwrap();
        assert!(
            raised >= wanted,
            "this test needs {wanted} file descriptors; the hard limit is {hard} (raise it with \
             `ulimit -Hn` as root)"
        );
    }
    let server = Served::plain(over).await;
    let mut streams = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        streams.push(server.connect().await);
    }
    // All open at once before anything is sent.
    server.until_open_connections(CONNECTIONS).await;
    let mut echoing = JoinSet::new();
    for (i, stream) in streams.into_iter().enumerate() {
        echoing.spawn(async move {
            let mine = payload(2000 + i, i as u64);
            let back = echo_through(stream, mine.clone()).await;
            (i, back == mine)
        });
    }
    let mut right = 0;
    while let Some(done) = timeout(PATIENCE, echoing.join_next()).await.unwrap() {
        let (i, same) = done.unwrap();
        assert!(same, "connection {i} got back bytes that were not its own");
        right += 1;
    }
    assert_eq!(right, CONNECTIONS);
    assert_eq!(
        server.stats.connections_accepted.load(Relaxed),
        CONNECTIONS as u64
    );
    server.until_open_connections(0).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_tcp_thousand_connections_at_once() {
    a_thousand_connections_at_once_each_get_their_own_bytes(Over::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_unix_thousand_connections_at_once() {
    a_thousand_connections_at_once_each_get_their_own_bytes(Over::Unix).await;
}

/// Shutting down after an exchange: the server closes by itself without a reset, its listening
/// socket is gone, and so is a Unix socket's file.
async fn shutdown_closes_cleanly_after_what_was_echoed(over: Over) {
    let server = Served::plain(over).await;
    let (mut reader, mut writer) = tokio::io::split(server.connect().await);
    writer.write_all(b"last words").await.unwrap();
    let mut back = [0; 10];
    timeout(PATIENCE, reader.read_exact(&mut back))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&back, b"last words");
    let addr = server.addr.clone();
    let stopping = tokio::spawn(server.stop());
    // The server closes by itself, and the client sees a clean end of stream.
    let rest = read_to_end(reader).await;
    assert!(rest.is_empty(), "nothing more came back: {rest:?}");
    let dir = timeout(PATIENCE, stopping).await.unwrap().unwrap();
    assert!(
        net::connect_to(&addr, Some(PATIENCE)).await.is_err(),
        "the listening socket is closed"
    );
    if let Address::Unix(path) = &addr {
        let dir = dir.expect("a Unix socket's temp dir");
        assert!(dir.0.is_dir());
        assert!(!std::path::Path::new(path).exists(), "socket file removed");
    }
}

#[tokio::test]
async fn plain_tcp_shutdown_closes_cleanly_after_what_was_echoed() {
    shutdown_closes_cleanly_after_what_was_echoed(Over::Tcp).await;
}

#[tokio::test]
async fn plain_unix_shutdown_closes_cleanly_after_what_was_echoed() {
    shutdown_closes_cleanly_after_what_was_echoed(Over::Unix).await;
}

/// Under tokio's paused clock, over a Unix socket pair (as `schedule_paused` runs the reverb):
/// times are exact.
#[tokio::test(start_paused = true)]
async fn plain_idle_timeout_counts_bytes_not_lines() {
    idle_timeout_counts_bytes_not_lines(PlainPath::Splice).await;
}

#[tokio::test(start_paused = true)]
async fn plain_idle_timeout_counts_bytes_not_lines_on_the_copy_path() {
    idle_timeout_counts_bytes_not_lines(PlainPath::Copy).await;
}

/// A plain echo on `path` with `idle_timeout`, served on its own task over a Unix socket pair:
/// its task and the client's two halves.
fn serve_pair(
    path: PlainPath,
    idle_timeout: Duration,
) -> (
    tokio::task::JoinHandle<(CloseReason, ConnectionStats)>,
    OwnedReadHalf,
    OwnedWriteHalf,
) {
    let (client, server_side) = tokio::net::UnixStream::pair().unwrap();
    let config = ServerConfig {
        idle_timeout: Some(idle_timeout),
        plain_path: path,
        ..plain_config()
    };
    let peer: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
    let serving = tokio::spawn(
        Connection::plain(
            server_side,
            peer,
            config,
            &Timer::start(),
            Shutdown::default(),
        )
        .run(),
    );
    let (reader, writer) = client.into_split();
    (serving, reader, writer)
}

async fn idle_timeout_counts_bytes_not_lines(path: PlainPath) {
    let (serving, mut reader, mut writer) = serve_pair(path, Duration::from_millis(300));
    let t0 = tokio::time::Instant::now();
    // A byte every 250 ms, never a newline: activity for the plain echo, never idle.
    for (i, piece) in [b"a", b"b", b"c", b"d", b"e"].iter().enumerate() {
        tokio::time::sleep_until(t0 + Duration::from_millis(250 * i as u64)).await;
        writer.write_all(*piece).await.unwrap();
        let mut one = [0; 1];
        reader.read_exact(&mut one).await.unwrap();
        assert_eq!(&one, *piece);
    }
    // Then silence: closed 300 ms after the last byte, with nothing but the echo on the wire.
    let mut rest = Vec::new();
    reader
        .read_to_end(&mut rest)
        .await
        .expect("a FIN, not a reset");
    assert!(rest.is_empty(), "no farewell in a plain stream: {rest:?}");
    assert_eq!(t0.elapsed(), Duration::from_millis(1300));
    let (reason, _) = serving.await.unwrap();
    assert_eq!(reason.to_string(), "idle for 300ms (--idle-timeout)");
    drop(writer);
}

/// Time spent writing back to a client slow to read is not idle time: the idle clock starts
/// once everything the client sent is back, as the reverb's does. Under tokio's paused clock.
#[tokio::test(start_paused = true)]
async fn plain_time_spent_writing_to_a_slow_reader_is_not_idle() {
    time_spent_writing_to_a_slow_reader_is_not_idle(PlainPath::Splice).await;
}

#[tokio::test(start_paused = true)]
async fn plain_time_spent_writing_to_a_slow_reader_is_not_idle_on_the_copy_path() {
    time_spent_writing_to_a_slow_reader_is_not_idle(PlainPath::Copy).await;
}

async fn time_spent_writing_to_a_slow_reader_is_not_idle(path: PlainPath) {
    let (serving, mut reader, mut writer) = serve_pair(path, Duration::from_secs(5));
    let t0 = tokio::time::Instant::now();
    let block = payload(1 << 20, 7);
    let sending = {
        let block = block.clone();
        tokio::spawn(async move {
            writer.write_all(&block).await.unwrap();
            writer
        })
    };
    // Ten seconds without reading, twice the idle timeout, while the server writes back.
    tokio::time::sleep_until(t0 + Duration::from_secs(10)).await;
    let mut back = vec![0; block.len()];
    reader
        .read_exact(&mut back)
        .await
        .expect("everything back, not closed as idle meanwhile");
    assert!(back == block, "the bytes come back as sent");
    let mut writer = sending.await.unwrap();
    tokio::time::sleep_until(t0 + Duration::from_secs(12)).await;
    writer.write_all(b"more").await.unwrap();
    let mut more = [0; 4];
    reader.read_exact(&mut more).await.expect("still served");
    assert_eq!(&more, b"more");
    writer.shutdown().await.unwrap();
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).await.expect("a FIN");
    assert!(rest.is_empty());
    let (reason, _) = serving.await.unwrap();
    assert_eq!(reason.to_string(), "client finished");
}

#[tokio::test]
async fn plain_over_the_connection_limit_a_client_is_told_the_server_is_full() {
    let server = Served::start(
        Over::Unix,
        ServerConfig {
            max_connections: 1,
            ..plain_config()
        },
    )
    .await;
    let (mut reader, mut writer) = tokio::io::split(server.connect().await);
    writer.write_all(b"in").await.unwrap();
    let mut back = [0; 2];
    timeout(PATIENCE, reader.read_exact(&mut back))
        .await
        .unwrap()
        .unwrap();
    let refused = server.connect().await;
    assert_eq!(
        String::from_utf8(read_to_end(refused).await).unwrap(),
        "echoctl: server is full (1 connection); try again later\n"
    );
    assert_eq!(server.stats.connections_refused.load(Relaxed), 1);
    drop((reader, writer));
    server.until_open_connections(0).await;
    let back = echo_through(server.connect().await, b"my turn".to_vec()).await;
    assert_eq!(back, b"my turn");
    server.stop().await;
}

#[tokio::test]
async fn plain_shutdown_drops_a_client_that_never_reads_when_the_grace_period_ends() {
    shutdown_drops_a_client_that_never_reads_when_the_grace_period_ends(PlainPath::Splice).await;
}

#[tokio::test]
async fn plain_shutdown_drops_a_client_that_never_reads_when_the_grace_period_ends_on_the_copy_path()
 {
    shutdown_drops_a_client_that_never_reads_when_the_grace_period_ends(PlainPath::Copy).await;
}

async fn shutdown_drops_a_client_that_never_reads_when_the_grace_period_ends(path: PlainPath) {
    let server = Served::start(
        Over::Tcp,
        ServerConfig {
            write_timeout: Some(Duration::from_secs(3600)),
            grace: Duration::from_millis(100),
            plain_path: path,
            ..plain_config()
        },
    )
    .await;
    let (_reader, mut writer) = tokio::io::split(server.connect().await);
    let flooding = tokio::spawn(async move {
        let block = payload(1 << 20, 5);
        for _ in 0..100 {
            if writer.write_all(&block).await.is_err() {
                return;
            }
        }
    });
    // Until the server holds bytes it cannot write back: the client's side is full.
    timeout(PATIENCE, async {
        let echoed = || server.stats.bytes_echoed.load(Relaxed);
        loop {
            let before = echoed();
            tokio::time::sleep(Duration::from_millis(200)).await;
            if before > 0 && echoed() == before {
                break;
            }
        }
    })
    .await
    .expect("the server's writes stall");
    let stopping = std::time::Instant::now();
    server.stop().await;
    let took = stopping.elapsed();
    // Never before the grace period, and long before the hour-long write timeout.
    assert!(
        took >= Duration::from_millis(100) && took < Duration::from_millis(2500),
        "stop took {took:?} with a 100 ms grace period"
    );
    flooding.abort();
}

fn bench_config(addr: &Address, expect: Expect) -> BenchConfig {
    BenchConfig {
        addr: addr.clone(),
        connections: 20,
        shouts: 50,
        pace: Pace::Window(4),
        delay: Duration::ZERO,
        ramp_up: Duration::from_millis(20),
        duration: None,
        connect_timeout: Some(Duration::from_secs(5)),
        grace: Duration::from_millis(500),
        expect,
    }
}

async fn bench_run(config: BenchConfig) -> Report {
    timeout(PATIENCE, bench::run(config, Arc::new(Progress::default())))
        .await
        .expect("bench finishes in time")
        .expect("bench runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_expect_plain_passes_the_plain_echo_over_tcp_and_unix() {
    for over in [Over::Tcp, Over::Unix] {
        let server = Served::plain(over).await;
        let report = bench_run(bench_config(&server.addr, Expect::Plain)).await;
        let lines = &report.echo_lines;
        assert_eq!(lines.expected, 20 * 50, "{over:?}: one line per shout");
        assert_eq!(lines.received, lines.expected, "{over:?}");
        assert_eq!((lines.missing, lines.wrong), (0, 0), "{over:?}");
        assert_eq!(report.lateness.original.count, 20 * 50);
        assert_eq!(report.lateness.upper.count, 0);
        assert!(report.ok, "{over:?}: {}", report.table());
        assert!(report.table().contains("plain echo"));
        // Every shout went through the server once, and nothing else.
        let shout_bytes: usize = (0..20)
            .flat_map(|c| (0..50).map(move |n| format!("Shout c{c} n{n}\n").len()))
            .sum();
        assert_eq!(
            server.stats.bytes_echoed.load(Relaxed),
            shout_bytes as u64,
            "{over:?}"
        );
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_expect_plain_fails_a_reverb_server_and_the_reverb_check_fails_a_plain_one() {
    let reverb = Served::start(
        Over::Tcp,
        ServerConfig {
            delay: Duration::ZERO,
            ..ServerConfig::default()
        },
    )
    .await;
    let report = bench_run(bench_config(&reverb.addr, Expect::Plain)).await;
    assert!(!report.ok);
    assert_eq!(report.echo_lines.received, 0);
    assert!(report.echo_lines.wrong > 0, "{}", report.table());
    assert!(report.echo_lines.missing > 0);
    reverb.stop().await;

    let plain = Served::plain(Over::Unix).await;
    let report = bench_run(bench_config(&plain.addr, Expect::Reverb)).await;
    assert!(!report.ok);
    assert!(report.echo_lines.wrong > 0, "{}", report.table());
    plain.stop().await;
}

/// The reverb modes over a Unix socket: the same server, another transport.
#[tokio::test]
async fn reverb_over_a_unix_socket_echoes_and_half_closes_as_on_tcp() {
    for mode in [Mode::Sequential, Mode::Concurrent] {
        let server = Served::start(
            Over::Unix,
            ServerConfig {
                mode,
                delay: Duration::from_millis(20),
                ..ServerConfig::default()
            },
        )
        .await;
        let back = echo_through(server.connect().await, b"Hello?\nYooo-hooo!".to_vec()).await;
        let back = String::from_utf8(back).unwrap();
        let expected = crate::common::echoes_of(&["Hello?", "Yooo-hooo!"]);
        if mode == Mode::Sequential {
            assert_eq!(back, expected);
        } else {
            // Concurrent echoes interleave: the same lines, each shout's in order.
            let mut lines: Vec<&str> = back.lines().collect();
            let mut want: Vec<&str> = expected.lines().collect();
            for shout in ["hello?", "yooo-hooo!"] {
                let mine: Vec<&str> = lines
                    .iter()
                    .copied()
                    .filter(|l| l.to_lowercase() == format!("\t {shout}"))
                    .collect();
                assert_eq!(mine.len(), 3, "{back}");
                assert_eq!(mine[0], mine[0].to_uppercase(), "loud first: {back}");
                assert_eq!(mine[2], mine[2].to_lowercase(), "quiet last: {back}");
            }
            lines.sort();
            want.sort();
            assert_eq!(lines, want);
        }
        server.stop().await;
    }
}
