//! The plain echo's two paths keep the same promises: splice(2) through the kernel (the default
//! on Linux) and the copy through the server's buffers (the path wherever the bytes must be
//! seen, and elsewhere than Linux; `PlainPath::Copy` in-process, the hidden `--no-splice` for
//! the binary). Each test runs on both paths, over TCP on 127.0.0.1 and over a Unix socket:
//! random bytes back byte for byte, the end of input, a client that stops reading, a client
//! that resets mid-stream, SIGTERM mid-stream (the binary end to end), and no pipe kept by an
//! idle connection.
//!
//! The server's own books say which path moved the bytes (`bytes_spliced`) and how many it held
//! at once (`peak_unsent_bytes`); nothing here waits on a wall clock to decide an outcome.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use echoctl::net::{self, Stream};
use echoctl::server::{PlainPath, ServerConfig};
use echoctl_core::Address;
use echoctl_core::session::plain::{COPY_CHUNK, SPLICE_CHUNK};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use crate::common::{PATIENCE, address_in, echoctl, finish, signal};
use crate::plain::{Over, Served, TempDir, echo_through, payload, plain_config};

const SPLICE: PlainPath = PlainPath::Splice;
const COPY: PlainPath = PlainPath::Copy;

fn config(path: PlainPath) -> ServerConfig {
    ServerConfig {
        plain_path: path,
        ..plain_config()
    }
}

/// Whether `path` moves the bytes through the kernel on this system.
fn splices(path: PlainPath) -> bool {
    cfg!(target_os = "linux") && path == SPLICE
}

/// The most bytes a connection holds read and not yet written back on `path`.
fn chunk(path: PlainPath) -> usize {
    if splices(path) {
        SPLICE_CHUNK
    } else {
        COPY_CHUNK
    }
}

/// What the server's books say it sent back, and that it took the path asked for.
fn assert_echoed_by(server: &Served, path: PlainPath, bytes: u64) {
    let echoed = server.stats.bytes_echoed.load(Relaxed);
    assert_eq!(echoed, bytes, "bytes echoed, on the {path:?} path");
    let spliced = server.stats.bytes_spliced.load(Relaxed);
    if splices(path) {
        // A streaming client's: its first read, and any after a short one, are copied.
        assert!(
            spliced > bytes / 2,
            "only {spliced} of {bytes} bytes through the kernel on the splice path"
        );
    } else {
        assert_eq!(spliced, 0, "bytes through the kernel on the copy path");
    }
    let peak = server.stats.peak_unsent_bytes.load(Relaxed);
    assert!(
        peak <= chunk(path),
        "held {peak} bytes owed at once on the {path:?} path, bound {}",
        chunk(path)
    );
}

/// Four tests from one scenario: each path over each transport.
macro_rules! on_both_paths {
    ($scenario:ident, $flavor:tt => $($name:ident: $over:ident, $path:ident;)+) => {
        $(
            #[tokio::test(flavor = $flavor)]
            async fn $name() {
                $scenario(Over::$over, $path).await;
            }
        )+
    };
}

/// More than a MiB of pseudo-random bytes, written in uneven pieces while reading: the same
/// bytes back, in order, then a clean end of stream.
async fn random_bytes_come_back_byte_for_byte(over: Over, path: PlainPath) {
    let server = Served::start(over, config(path)).await;
    let sent = payload((4 << 20) + 4099, 26);
    let back = timeout(PATIENCE, echo_through(server.connect().await, sent.clone()))
        .await
        .expect("the echo completes in time");
    assert_eq!(back.len(), sent.len());
    assert!(back == sent, "the bytes come back unchanged, in order");
    server.until_open_connections(0).await;
    assert_echoed_by(&server, path, sent.len() as u64);
    server.stop().await;
}

on_both_paths!(random_bytes_come_back_byte_for_byte, "current_thread" =>
    splice_tcp_random_bytes_come_back_byte_for_byte: Tcp, SPLICE;
    splice_unix_random_bytes_come_back_byte_for_byte: Unix, SPLICE;
    copy_tcp_random_bytes_come_back_byte_for_byte: Tcp, COPY;
    copy_unix_random_bytes_come_back_byte_for_byte: Unix, COPY;
);

/// A client that sends everything, half-closes, and only then reads: all of it comes back,
/// then a FIN. A client that half-closes at once gets a FIN and nothing else.
async fn the_end_of_input_loses_nothing(over: Over, path: PlainPath) {
    let server = Served::start(over, config(path)).await;
    let (mut reader, mut writer) = tokio::io::split(server.connect().await);
    let sent = payload((2 << 20) + 17, 11);
    // Sent from a task: it cannot all be in flight before anything is read back.
    let writing = {
        let sent = sent.clone();
        tokio::spawn(async move {
            writer.write_all(&sent).await.unwrap();
            writer.shutdown().await.unwrap();
            writer
        })
    };
    let mut back = Vec::new();
    timeout(PATIENCE, reader.read_to_end(&mut back))
        .await
        .expect("the echo ends in time")
        .expect("a FIN, not a reset");
    assert!(back == sent, "everything back before the end of stream");
    drop(timeout(PATIENCE, writing).await.unwrap().unwrap());

    let (mut reader, mut writer) = tokio::io::split(server.connect().await);
    writer.shutdown().await.unwrap();
    let mut nothing = Vec::new();
    timeout(PATIENCE, reader.read_to_end(&mut nothing))
        .await
        .unwrap()
        .expect("a FIN, not a reset");
    assert!(nothing.is_empty());
    server.until_open_connections(0).await;
    assert_echoed_by(&server, path, sent.len() as u64);
    server.stop().await;
}

on_both_paths!(the_end_of_input_loses_nothing, "current_thread" =>
    splice_tcp_the_end_of_input_loses_nothing: Tcp, SPLICE;
    splice_unix_the_end_of_input_loses_nothing: Unix, SPLICE;
    copy_tcp_the_end_of_input_loses_nothing: Tcp, COPY;
    copy_unix_the_end_of_input_loses_nothing: Unix, COPY;
);

/// The flood's stream repeats every `PERIOD` bytes; twice over here, so that any piece of it is
/// one slice.
fn flood_stream() -> Vec<u8> {
    let period = payload(PERIOD, 77);
    [&period[..], &period[..]].concat()
}

/// A client writing the flood's stream until told to stop, counting what it sent.
struct Flood {
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

const PERIOD: usize = 1 << 20;

fn flood(mut writer: impl tokio::io::AsyncWrite + Unpin + Send + 'static) -> Flood {
    let sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let task = {
        let (sent, stop) = (sent.clone(), stop.clone());
        tokio::spawn(async move {
            let block = flood_stream();
            while !stop.load(Relaxed) {
                let at = (sent.load(Relaxed) % PERIOD as u64) as usize;
                let piece = &block[at..at + 64 * 1024];
                if writer.write_all(piece).await.is_err() {
                    return;
                }
                sent.fetch_add(piece.len() as u64, Relaxed);
            }
            let _ = writer.shutdown().await;
        })
    };
    Flood { sent, stop, task }
}

/// Reads until `heard` has reached `until` or the stream has ended (then `true`), checking
/// each byte against the flood's stream and counting in `heard` as it goes.
async fn hear_flood<R: tokio::io::AsyncRead + Unpin>(
    mut reader: R,
    heard: Arc<AtomicU64>,
    until: u64,
) -> std::io::Result<(R, bool)> {
    let block = flood_stream();
    let mut buf = vec![0; 64 * 1024];
    while heard.load(Relaxed) < until {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok((reader, true));
        }
        let from = heard.load(Relaxed);
        let at = (from % PERIOD as u64) as usize;
        assert!(
            buf[..n] == block[at..at + n],
            "the {n} bytes from byte {from} of the echo differ from those sent"
        );
        heard.fetch_add(n as u64, Relaxed);
    }
    Ok((reader, false))
}

/// Waits until the flood's writes stop moving: the client's socket is full because the server
/// has stopped reading.
async fn until_the_client_is_held_back(flood: &Flood) {
    timeout(PATIENCE, async {
        loop {
            let before = flood.sent.load(Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
            if before > 0 && flood.sent.load(Relaxed) == before {
                return;
            }
        }
    })
    .await
    .expect("the client's writes stall once it stops reading");
}

/// Waits until the server's books stop moving with `flood` still sending: the client's side is
/// full and the server has stopped reading.
async fn until_the_server_is_held_back(server: &Served, flood: &Flood) {
    timeout(PATIENCE, async {
        loop {
            let before = (
                server.stats.bytes_echoed.load(Relaxed),
                flood.sent.load(Relaxed),
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
            let after = (
                server.stats.bytes_echoed.load(Relaxed),
                flood.sent.load(Relaxed),
            );
            if before.0 > 0 && before == after {
                return;
            }
        }
    })
    .await
    .expect("the server stops once the client stops reading");
}

/// A client that stops reading: the server stops reading too, holding at most one chunk, and
/// when the client reads again every byte comes back, in order, none lost.
async fn a_client_that_stops_reading_holds_the_server_to_one_chunk(over: Over, path: PlainPath) {
    let server = Served::start(over, config(path)).await;
    let (reader, writer) = tokio::io::split(server.connect().await);
    let flood = flood(writer);
    until_the_server_is_held_back(&server, &flood).await;
    assert!(!flood.task.is_finished(), "the client is held back");
    let peak = server.stats.peak_unsent_bytes.load(Relaxed);
    assert!(
        peak <= chunk(path),
        "held {peak} bytes owed at once on the {path:?} path, bound {}",
        chunk(path)
    );
    // Reading again: the rest flows, then the client ends its input.
    let heard = Arc::new(AtomicU64::new(0));
    let (reader, _) = timeout(PATIENCE, hear_flood(reader, heard.clone(), 8 << 20))
        .await
        .expect("the echo flows again")
        .unwrap();
    flood.stop.store(true, Relaxed);
    let hearing = tokio::spawn(hear_flood(reader, heard.clone(), u64::MAX));
    timeout(PATIENCE, flood.task).await.unwrap().unwrap();
    let (_, ended) = timeout(PATIENCE, hearing).await.unwrap().unwrap().unwrap();
    assert!(ended, "a FIN");
    let heard = heard.load(Relaxed);
    assert_eq!(heard, flood.sent.load(Relaxed), "every byte sent came back");
    server.until_open_connections(0).await;
    assert_echoed_by(&server, path, heard);
    server.stop().await;
}

on_both_paths!(a_client_that_stops_reading_holds_the_server_to_one_chunk, "current_thread" =>
    splice_tcp_a_client_that_stops_reading_holds_the_server_to_one_chunk: Tcp, SPLICE;
    splice_unix_a_client_that_stops_reading_holds_the_server_to_one_chunk: Unix, SPLICE;
    copy_tcp_a_client_that_stops_reading_holds_the_server_to_one_chunk: Tcp, COPY;
    copy_unix_a_client_that_stops_reading_holds_the_server_to_one_chunk: Unix, COPY;
);

/// A client that resets the connection while the server holds bytes for it: the connection
/// ends, and nothing of it is left behind for the clients after it (who are served on the same
/// thread: a single-threaded runtime).
async fn a_client_that_resets_mid_stream_leaves_nothing_behind(over: Over, path: PlainPath) {
    let server = Served::start(over, config(path)).await;
    let stream = server.connect().await;
    if let Stream::Tcp(tcp) = &stream {
        // Closing then sends a reset. (A Unix socket closed with unread input resets its
        // peer's writes by itself.)
        tcp.set_zero_linger().unwrap();
    }
    let (reader, writer) = tokio::io::split(stream);
    let flood = flood(writer);
    until_the_server_is_held_back(&server, &flood).await;
    flood.task.abort();
    let _ = flood.task.await;
    drop(reader);
    server.until_open_connections(0).await;
    assert_eq!(server.stats.connections_accepted.load(Relaxed), 1);
    for seed in 0..3 {
        let mine = payload(300_000 + seed, seed as u64);
        let back = timeout(PATIENCE, echo_through(server.connect().await, mine.clone()))
            .await
            .unwrap_or_else(|_| panic!("client {seed} after the reset is served"));
        assert!(
            back == mine,
            "client {seed} after the reset gets its own bytes only"
        );
    }
    server.until_open_connections(0).await;
    server.stop().await;
}

on_both_paths!(a_client_that_resets_mid_stream_leaves_nothing_behind, "current_thread" =>
    splice_tcp_a_client_that_resets_mid_stream_leaves_nothing_behind: Tcp, SPLICE;
    splice_unix_a_client_that_resets_mid_stream_leaves_nothing_behind: Unix, SPLICE;
    copy_tcp_a_client_that_resets_mid_stream_leaves_nothing_behind: Tcp, COPY;
    copy_unix_a_client_that_resets_mid_stream_leaves_nothing_behind: Unix, COPY;
);

/// `echoctl serve --mode plain -v` on `over` and `path`: the child, its stderr, the address it
/// listens on and, for a Unix socket, the socket's directory.
async fn serve_plain(
    over: Over,
    path: PlainPath,
    extra: &[&str],
) -> (
    tokio::process::Child,
    BufReader<tokio::process::ChildStderr>,
    Address,
    Option<TempDir>,
) {
    let dir = matches!(over, Over::Unix).then(|| TempDir::new("paths"));
    let listen = match &dir {
        Some(dir) => format!("unix:{}", dir.0.join("echo.sock").display()),
        None => "127.0.0.1:0".to_string(),
    };
    let mut command = echoctl();
    command
        .args([
            "serve", "--mode", "plain", "--color", "never", "--listen", &listen,
        ])
        .args(extra);
    if path == COPY {
        command.arg("--no-splice");
    }
    // As many worker threads (each with its spare pipes) on any machine.
    command.env("TOKIO_WORKER_THREADS", "2");
    let (child, startup, stderr) = crate::common::spawn_serve(&mut command).await;
    let addr = address_in(&startup)
        .parse()
        .expect("the start-up line names an address");
    (child, stderr, addr, dir)
}

/// SIGTERM while bytes stream both ways and the server holds some it cannot write back yet:
/// the server stops reading, sends back everything it read once the client reads again, closes
/// with a FIN and exits 0; the client hears a prefix of what it sent, byte for byte, and the
/// closing log line counts exactly that. `-v` says which path was taken.
async fn sigterm_mid_stream_sends_back_everything_read(over: Over, path: PlainPath) {
    let (child, mut stderr, addr, _dir) = serve_plain(over, path, &["-v"]).await;
    let stream = net::connect_to(&addr, Some(PATIENCE)).await.unwrap();
    let (reader, writer) = tokio::io::split(stream);
    let flood = flood(writer);
    let heard = Arc::new(AtomicU64::new(0));
    let (reader, _) = timeout(PATIENCE, hear_flood(reader, heard.clone(), 4 << 20))
        .await
        .expect("the echo flows")
        .unwrap();
    // The client stops reading until the server, holding bytes it cannot send, is told to stop.
    until_the_client_is_held_back(&flood).await;
    signal(&child, "TERM");
    let mut logs = String::new();
    while !logs.contains("shutting down: delivering echoes in flight on 1 connection") {
        let mut line = String::new();
        let n = timeout(PATIENCE, stderr.read_line(&mut line))
            .await
            .expect("the server logs that it is shutting down")
            .unwrap();
        assert!(n > 0, "the server's logs ended early: {logs}");
        logs += &line;
    }
    let (_, ended) = timeout(PATIENCE, hear_flood(reader, heard.clone(), u64::MAX))
        .await
        .expect("the server closes in time")
        .expect("a FIN, not a reset");
    assert!(ended);
    let heard = heard.load(Relaxed);
    flood.stop.store(true, Relaxed);
    flood.task.abort();
    let _ = flood.task.await;
    timeout(PATIENCE, stderr.read_to_string(&mut logs))
        .await
        .unwrap()
        .unwrap();
    let finished = finish(child).await;
    assert_eq!(finished.code, Some(0), "{logs}");
    let path_line = if splices(path) {
        "plain echo by splice(2)"
    } else {
        "plain echo by copy"
    };
    assert!(logs.contains(path_line), "-v names the path: {logs}");
    let closing = format!(", {heard} bytes echoed: server shutting down");
    assert!(
        logs.lines()
            .any(|line| line.contains("connection closed after") && line.ends_with(&closing)),
        "the closing line counts the {heard} bytes the client heard: {logs}"
    );
}

on_both_paths!(sigterm_mid_stream_sends_back_everything_read, "multi_thread" =>
    splice_tcp_sigterm_mid_stream_sends_back_everything_read: Tcp, SPLICE;
    splice_unix_sigterm_mid_stream_sends_back_everything_read: Unix, SPLICE;
    copy_tcp_sigterm_mid_stream_sends_back_everything_read: Tcp, COPY;
    copy_unix_sigterm_mid_stream_sends_back_everything_read: Unix, COPY;
);

/// The descriptors a process holds, from `/proc`.
#[cfg(target_os = "linux")]
fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the server's /proc entry")
        .count()
}

/// Connections that have gone quiet hold their socket and nothing else: a pipe is the
/// kernel's for the moment bytes flow, then back among a few spares per worker thread. One
/// per connection would be two descriptors more each.
#[cfg(target_os = "linux")]
async fn quiet_connections_hold_one_descriptor_each(over: Over, path: PlainPath) {
    const CONNECTIONS: usize = 200;
    let (child, _stderr, addr, _dir) = serve_plain(over, path, &[]).await;
    let pid = child.id().expect("the server runs");
    let before = open_descriptors(pid);
    let mut streams = Vec::new();
    for _ in 0..CONNECTIONS {
        streams.push(net::connect_to(&addr, Some(PATIENCE)).await.unwrap());
    }
    // Each sends more than a pipe holds, and reads it back, all at once; then they go quiet.
    let mut echoing = tokio::task::JoinSet::new();
    for (i, stream) in streams.into_iter().enumerate() {
        echoing.spawn(async move {
            let (mut reader, mut writer) = tokio::io::split(stream);
            let mine = payload(3 * SPLICE_CHUNK + i, i as u64);
            let sending = {
                let mine = mine.clone();
                tokio::spawn(async move {
                    writer.write_all(&mine).await.unwrap();
                    writer
                })
            };
            let mut back = vec![0; mine.len()];
            timeout(PATIENCE, reader.read_exact(&mut back))
                .await
                .expect("the echo completes in time")
                .unwrap();
            assert!(back == mine, "connection {i}: its own bytes back");
            let writer = sending.await.unwrap();
            reader.unsplit(writer)
        });
    }
    let mut quiet = Vec::new();
    while let Some(done) = timeout(PATIENCE, echoing.join_next()).await.unwrap() {
        quiet.push(done.unwrap());
    }
    let held = open_descriptors(pid) - before;
    // Two worker threads (`serve_plain` sets them) and their spare pipes, with room to spare.
    assert!(
        held <= CONNECTIONS + CONNECTIONS / 4,
        "{held} descriptors for {CONNECTIONS} quiet connections on the {path:?} path"
    );
    drop(quiet);
    signal(&child, "TERM");
    assert_eq!(finish(child).await.code, Some(0));
}

#[cfg(target_os = "linux")]
on_both_paths!(quiet_connections_hold_one_descriptor_each, "multi_thread" =>
    splice_tcp_quiet_connections_hold_one_descriptor_each: Tcp, SPLICE;
    splice_unix_quiet_connections_hold_one_descriptor_each: Unix, SPLICE;
    copy_tcp_quiet_connections_hold_one_descriptor_each: Tcp, COPY;
    copy_unix_quiet_connections_hold_one_descriptor_each: Unix, COPY;
);

/// A server whose bytes must be seen (watched by a trace or hex dump, or shaped by a fault)
/// copies them, on the splice path too: nothing goes through the kernel, and all comes back.
#[tokio::test(flavor = "multi_thread")]
async fn a_watched_or_faulted_server_copies_every_byte() {
    let watched = ServerConfig {
        observe: true,
        ..config(SPLICE)
    };
    let faulted = ServerConfig {
        faults: echoctl_core::fault::Faults {
            specs: vec!["latency=1ms".parse().unwrap()],
            seed: 26,
        },
        ..config(SPLICE)
    };
    for (what, config) in [("watched", watched), ("faulted", faulted)] {
        let server = Served::start(Over::Tcp, config).await;
        let sent = payload(1 << 20, 27);
        let heard = timeout(PATIENCE, echo_through(server.connect().await, sent.clone()))
            .await
            .expect("the echo comes back in time");
        assert!(heard == sent, "{what}: the same bytes back");
        server.until_open_connections(0).await;
        assert_eq!(
            server.stats.bytes_spliced.load(Relaxed),
            0,
            "{what}: bytes through the kernel"
        );
        server.stop().await;
    }
}

/// `-v` names the copy path wherever the bytes must be seen (a hex dump, a trace, a fault) or
/// the stream offers no socket to splice (TLS), on Linux too.
#[tokio::test(flavor = "multi_thread")]
async fn whatever_must_see_the_bytes_takes_the_copy_path() {
    let dir = TempDir::new("paths-seen");
    let dump = dir.0.join("dump.txt");
    let trace = dir.0.join("trace.json");
    for extra in [
        &["--hex-dump", dump.to_str().unwrap()][..],
        &["--trace", trace.to_str().unwrap()],
        &["--fault", "latency=1ms"],
        &["--tls"],
    ] {
        let (child, mut stderr, addr, _dir) =
            serve_plain(Over::Tcp, SPLICE, &[&["-v"][..], extra].concat()).await;
        let tls: &[&str] = if extra == ["--tls"] {
            &["--tls", "--insecure"]
        } else {
            &[]
        };
        let mut client = echoctl()
            .arg("connect")
            .args(tls)
            .arg(addr.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn echoctl connect");
        let sent = payload(256 << 10, 28);
        let mut stdin = client.stdin.take().expect("stdin piped");
        let writing = tokio::spawn(async move {
            stdin.write_all(&sent).await.unwrap();
            sent.len()
        });
        let done = finish(client).await;
        let sent = writing.await.unwrap();
        assert_eq!(done.code, Some(0), "{extra:?}: {}", done.stderr);
        assert_eq!(done.stdout.len(), sent, "{extra:?}: every byte back");
        let mut logs = String::new();
        while !logs.contains("plain echo by") {
            let mut line = String::new();
            let n = timeout(PATIENCE, stderr.read_line(&mut line))
                .await
                .expect("the server names the path")
                .unwrap();
            assert!(n > 0, "{extra:?}: the server's logs ended early: {logs}");
            logs += &line;
        }
        assert!(
            logs.contains("plain echo by copy"),
            "{extra:?}: -v names the copy path: {logs}"
        );
        signal(&child, "TERM");
        let finished = finish(child).await;
        assert_eq!(finished.code, Some(0), "{extra:?}");
    }
}
