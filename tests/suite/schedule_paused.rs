//! The echo schedule and the shutdown stages of the real connection handler, timed with tokio's
//! paused clock.
//!
//! The handler runs over a Unix socket pair: a real socket (so readiness and half-close behave as
//! on TCP) without a network, which lets the paused clock jump from deadline to deadline. Times
//! are asserted exactly: under a paused clock there is no jitter to allow for.

use std::net::SocketAddr;
use std::time::Duration;

use echoctl::server::{CloseReason, Connection, ConnectionStats, Mode, ServerConfig, Shutdown};
use echoctl::timer::Timer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::{Instant, sleep_until};

const DELAY: Duration = Duration::from_secs(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config(mode: Mode) -> ServerConfig {
    ServerConfig {
        mode,
        delay: DELAY,
        ..ServerConfig::default()
    }
}

/// What the client does after sending its input.
#[derive(Clone, Copy)]
enum AtEnd {
    /// Closes its write half: end of input.
    HalfClose,
    /// Keeps the connection open, sending nothing more, until the server closes it.
    StayOpen,
}

/// A connection served on its own task over a Unix socket pair: its task, the client's lines
/// and the client's write half.
fn open(
    config: ServerConfig,
    shutdown: Shutdown,
) -> (Serving, Lines<BufReader<OwnedReadHalf>>, OwnedWriteHalf) {
    let (client, server) = UnixStream::pair().expect("socket pair");
    let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let serving =
        tokio::spawn(Connection::new(server, peer, config, &Timer::start(), shutdown).run());
    let (reader, writer) = client.into_split();
    (serving, BufReader::new(reader).lines(), writer)
}

type Serving = tokio::task::JoinHandle<(CloseReason, ConnectionStats)>;

/// Runs one connection: writes each `(at ms, bytes)` at its time, then does `at_end`, and returns
/// every line the server sent with the time it arrived, until the server closed.
async fn play(
    config: ServerConfig,
    writes: &[(u64, &[u8])],
    at_end: AtEnd,
) -> Vec<(Duration, String)> {
    let (serving, mut lines, mut writer) = open(config, Shutdown::default());
    let t0 = Instant::now();
    let listening = tokio::spawn(async move {
        let mut heard = Vec::new();
        while let Some(line) = lines.next_line().await.expect("read") {
            heard.push((t0.elapsed(), line));
        }
        heard
    });
    for (at, bytes) in writes {
        sleep_until(t0 + ms(*at)).await;
        writer.write_all(bytes).await.unwrap();
    }
    if let AtEnd::HalfClose = at_end {
        writer.shutdown().await.unwrap();
    }
    let heard = listening.await.unwrap();
    serving.await.expect("the connection task did not panic");
    heard
}

fn expect(lines: &[(u64, &str)]) -> Vec<(Duration, String)> {
    lines
        .iter()
        .map(|(t, l)| (ms(*t), format!("\t {l}")))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn sequential_finishes_each_shout_before_reading_the_next() {
    let heard = play(
        config(Mode::Sequential),
        &[(0, b"Hello?\nIs there anybody there?\nYooo-hooo!\n")],
        AtEnd::HalfClose,
    )
    .await;
    assert_eq!(
        heard,
        expect(&[
            (0, "HELLO?"),
            (1000, "Hello?"),
            (2000, "hello?"),
            (2000, "IS THERE ANYBODY THERE?"),
            (3000, "Is there anybody there?"),
            (4000, "is there anybody there?"),
            (4000, "YOOO-HOOO!"),
            (5000, "Yooo-hooo!"),
            (6000, "yooo-hooo!"),
        ])
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_echoes_each_shout_from_the_moment_it_is_read() {
    let heard = play(
        config(Mode::Concurrent),
        &[(0, b"Is there anybody there?\n"), (1500, b"Yooo-hooo!\n")],
        AtEnd::HalfClose,
    )
    .await;
    assert_eq!(
        heard,
        expect(&[
            (0, "IS THERE ANYBODY THERE?"),
            (1000, "Is there anybody there?"),
            (1500, "YOOO-HOOO!"),
            (2000, "is there anybody there?"),
            (2500, "Yooo-hooo!"),
            (3500, "yooo-hooo!"),
        ])
    );
}

#[tokio::test(start_paused = true)]
async fn sequential_reads_a_shout_sent_mid_echo_only_after_the_last_echo() {
    let heard = play(
        config(Mode::Sequential),
        &[(0, b"one\n"), (700, b"two\n")],
        AtEnd::HalfClose,
    )
    .await;
    assert_eq!(
        heard,
        expect(&[
            (0, "ONE"),
            (1000, "one"),
            (2000, "one"),
            (2000, "TWO"),
            (3000, "two"),
            (4000, "two"),
        ])
    );
}

#[tokio::test(start_paused = true)]
async fn half_close_delivers_pending_echoes_including_an_unterminated_last_line() {
    let heard = play(
        config(Mode::Concurrent),
        &[(0, b"a\r\nb")],
        AtEnd::HalfClose,
    )
    .await;
    assert_eq!(
        heard,
        expect(&[
            (0, "A"),
            (0, "B"),
            (1000, "a"),
            (1000, "b"),
            (2000, "a"),
            (2000, "b"),
        ])
    );
}

#[tokio::test(start_paused = true)]
async fn deadlines_do_not_drift_when_shouts_keep_arriving() {
    // 50 shouts, one every 300 ms: each echo is due exactly read time + k × delay, however many
    // are in flight around it.
    let shouts: Vec<(u64, Vec<u8>)> = (0..50u64)
        .map(|i| (300 * i, format!("s{i}\n").into_bytes()))
        .collect();
    let writes: Vec<(u64, &[u8])> = shouts.iter().map(|(at, s)| (*at, &s[..])).collect();
    let heard = play(config(Mode::Concurrent), &writes, AtEnd::HalfClose).await;
    assert_eq!(heard.len(), 150);
    for i in 0..50u64 {
        let read = ms(300 * i);
        let mine: Vec<Duration> = heard
            .iter()
            .filter(|(_, l)| l[2..].eq_ignore_ascii_case(&format!("s{i}")))
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(mine, [read, read + DELAY, read + 2 * DELAY], "shout {i}");
    }
}

const IDLE_NOTICE: &str = "echoctl: no complete line for 5s; closing the connection";

#[tokio::test(start_paused = true)]
async fn idle_client_is_told_and_closed_and_a_partial_line_is_not_activity() {
    let heard = play(
        ServerConfig {
            idle_timeout: Some(Duration::from_secs(5)),
            ..config(Mode::Concurrent)
        },
        &[(0, b"hi\n"), (1000, b"half a li")],
        AtEnd::StayOpen,
    )
    .await;
    let mut expected = expect(&[(0, "HI"), (1000, "hi"), (2000, "hi")]);
    expected.push((ms(5000), IDLE_NOTICE.to_string()));
    assert_eq!(heard, expected);
}

#[tokio::test(start_paused = true)]
async fn idle_time_counts_only_while_the_server_waits_for_a_line() {
    // Sequential: the server is busy echoing until t = 2 s, so idleness starts there.
    let heard = play(
        ServerConfig {
            idle_timeout: Some(Duration::from_secs(5)),
            ..config(Mode::Sequential)
        },
        &[(0, b"hi\n")],
        AtEnd::StayOpen,
    )
    .await;
    let mut expected = expect(&[(0, "HI"), (1000, "hi"), (2000, "hi")]);
    expected.push((ms(7000), IDLE_NOTICE.to_string()));
    assert_eq!(heard, expected);
}

#[tokio::test(start_paused = true)]
async fn pending_echoes_are_delivered_before_the_idle_notice() {
    let heard = play(
        ServerConfig {
            delay: Duration::from_secs(4),
            idle_timeout: Some(Duration::from_secs(5)),
            ..config(Mode::Concurrent)
        },
        &[(0, b"slow\n")],
        AtEnd::StayOpen,
    )
    .await;
    let mut expected = expect(&[(0, "SLOW"), (4000, "slow"), (8000, "slow")]);
    expected.push((ms(8000), IDLE_NOTICE.to_string()));
    assert_eq!(heard, expected);
}

/// Runs one connection that the client keeps open after `writes`, with the server's drain at
/// `drain_at` and, if given, its abort at `abort_at` (ms). Returns every line heard with its
/// time, when the server ended the stream, and the connection's closing reason as logged.
async fn play_shutdown(
    writes: &[(u64, &[u8])],
    drain_at: u64,
    abort_at: Option<u64>,
) -> (Vec<(Duration, String)>, Duration, String) {
    let shutdown = Shutdown::default();
    let (serving, mut lines, mut writer) = open(config(Mode::Concurrent), shutdown.clone());
    let t0 = Instant::now();
    let listening = tokio::spawn(async move {
        let mut heard = Vec::new();
        while let Some(line) = lines.next_line().await.expect("read") {
            heard.push((t0.elapsed(), line));
        }
        (heard, t0.elapsed())
    });
    let stopping = tokio::spawn(async move {
        sleep_until(t0 + ms(drain_at)).await;
        shutdown.drain.cancel();
        if let Some(abort_at) = abort_at {
            sleep_until(t0 + ms(abort_at)).await;
            shutdown.abort.cancel();
        }
    });
    for (at, bytes) in writes {
        sleep_until(t0 + ms(*at)).await;
        writer.write_all(bytes).await.unwrap();
    }
    let (heard, ended_at) = listening.await.unwrap();
    // The client closes once it has seen the end, which ends the server's linger.
    drop(writer);
    let (reason, _) = serving.await.expect("the connection task did not panic");
    stopping.await.unwrap();
    (heard, ended_at, reason.to_string())
}

#[tokio::test(start_paused = true)]
async fn a_draining_connection_reads_no_more_but_delivers_what_it_owes() {
    let (heard, ended_at, reason) =
        play_shutdown(&[(0, b"one\n"), (600, b"two\n")], 500, None).await;
    let mut owed = expect(&[(0, "ONE"), (1000, "one"), (2000, "one")]);
    // Then, at once, a last line saying why the connection closes.
    owed.push((
        ms(2000),
        "echoctl: the server is shutting down; closing the connection".to_string(),
    ));
    assert_eq!(heard, owed);
    assert_eq!(ended_at, ms(2000), "closed right after the last echo owed");
    assert_eq!(reason, "server shutting down");
}

#[tokio::test(start_paused = true)]
async fn an_abort_after_the_drain_drops_the_echoes_still_owed() {
    let (heard, ended_at, reason) = play_shutdown(&[(0, b"one\n")], 500, Some(1500)).await;
    assert_eq!(heard, expect(&[(0, "ONE"), (1000, "one")]));
    assert_eq!(ended_at, ms(1500), "closed at the abort");
    assert_eq!(reason, "grace period over, echoes dropped");
}

/// A client that stops reading holds the connection's last write; the grace period ending then
/// is an abort, logged as such, not the orderly end the session had reached.
#[tokio::test(start_paused = true)]
async fn an_abort_during_the_last_slow_write_is_an_abort() {
    let big = 1 << 20;
    let config = ServerConfig {
        max_line: 2 * big,
        ..config(Mode::Concurrent)
    };
    let shutdown = Shutdown::default();
    let (serving, mut lines, mut writer) = open(config, shutdown.clone());
    let t0 = Instant::now();
    let (stop_holding, held) = tokio::sync::oneshot::channel::<()>();
    let listening = tokio::spawn(async move {
        for _ in 0..2 {
            lines.next_line().await.expect("read").expect("an echo");
        }
        // Stop reading, with the socket still open, until the test is over.
        let _ = held.await;
    });
    let mut line = vec![b'x'; big];
    line.push(b'\n');
    writer.write_all(&line).await.unwrap();
    writer.shutdown().await.unwrap();
    sleep_until(t0 + ms(2100)).await;
    shutdown.drain.cancel();
    sleep_until(t0 + ms(2500)).await;
    shutdown.abort.cancel();
    let (reason, _) = serving.await.expect("the connection task did not panic");
    let _ = stop_holding.send(());
    listening.await.unwrap();
    assert_eq!(reason.to_string(), "grace period over, echoes dropped");
}

/// Time the server spends writing to a client slow to read is not time spent waiting for its
/// next line: a sequential connection busy echoing is not idle, however long the write takes.
#[tokio::test(start_paused = true)]
async fn time_spent_writing_to_a_slow_reader_is_not_idle() {
    let big = 1 << 20;
    let config = ServerConfig {
        max_line: 2 * big,
        idle_timeout: Some(Duration::from_secs(5)),
        ..config(Mode::Sequential)
    };
    let (serving, mut lines, mut writer) = open(config, Shutdown::default());
    let t0 = Instant::now();
    let listening = tokio::spawn(async move {
        let mut heard = Vec::new();
        for _ in 0..2 {
            heard.push(lines.next_line().await.expect("read").expect("an echo"));
        }
        // Ten seconds without reading, twice the idle timeout, while the last echo is written.
        sleep_until(t0 + ms(12_000)).await;
        while let Some(line) = lines.next_line().await.expect("read") {
            heard.push(line);
        }
        heard
    });
    let mut line = vec![b'x'; big];
    line.push(b'\n');
    writer.write_all(&line).await.unwrap();
    sleep_until(t0 + ms(9_000)).await;
    writer.write_all(b"next\n").await.unwrap();
    sleep_until(t0 + ms(14_000)).await;
    writer.shutdown().await.unwrap();
    let heard = listening.await.unwrap();
    let (reason, _) = serving.await.expect("the connection task did not panic");
    let lengths: Vec<usize> = heard.iter().map(String::len).collect();
    assert_eq!(lengths, [2 + big, 2 + big, 2 + big, 6, 6, 6]);
    assert_eq!(heard[3..], ["\t NEXT", "\t next", "\t next"]);
    assert_eq!(reason.to_string(), "client finished");
}
