//! The server under bad input, overload and faults, over real TCP on 127.0.0.1.
//!
//! Every test is bounded: fixed counts, and `PATIENCE` on anything awaited. Bounds on memory are
//! checked on the server's own counters, never with a wall clock.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::common::{PATIENCE, TestServer, read_line, read_to_end};
use echoctl::server::{Mode, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::timeout;

/// Connects, shouts `shout` and waits for its first echo, so echoes are known to be in flight.
async fn shout_and_hear_the_first_echo(
    addr: std::net::SocketAddr,
    shout: &str,
) -> (BufReader<OwnedReadHalf>, OwnedWriteHalf) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    writer
        .write_all(format!("{shout}\n").as_bytes())
        .await
        .unwrap();
    let upper = shout.to_uppercase();
    assert_eq!(read_line(&mut reader).await, format!("\t {upper}\n"));
    (reader, writer)
}

const MAX_LINE: usize = 1000;

fn too_long_notice(max: usize) -> String {
    format!(
        "echoctl: line longer than {max} bytes; closing the connection (the server's --max-line is {max} bytes)\n"
    )
}

/// Sends `first\n` then `line` (then half-closes) and returns everything the server sends back.
async fn exchange(addr: std::net::SocketAddr, line: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"first\n").await.unwrap();
    stream.write_all(line).await.unwrap();
    stream.shutdown().await.unwrap();
    read_to_end(stream).await
}

#[tokio::test]
async fn line_limit_is_exact_and_a_longer_line_gets_a_notice_after_the_echoes_owed() {
    let server = TestServer::start(ServerConfig {
        mode: Mode::Concurrent,
        delay: Duration::from_millis(50),
        max_line: MAX_LINE,
        ..ServerConfig::default()
    })
    .await;
    let first = "\t FIRST\n\t first\n\t first\n";
    for terminator in ["\n", "\r\n"] {
        for len in [MAX_LINE - 1, MAX_LINE] {
            let text = "x".repeat(len);
            let heard = exchange(server.addr, format!("{text}{terminator}").as_bytes()).await;
            let heard = String::from_utf8(heard).unwrap();
            let lines: Vec<&str> = heard.lines().collect();
            assert_eq!(lines.len(), 6, "len {len} {terminator:?} is a shout");
            assert!(heard.contains(&format!("\t {text}\n")));
            assert!(heard.contains(&format!("\t {}\n", text.to_uppercase())));
        }
        let text = "x".repeat(MAX_LINE + 1);
        let heard = exchange(server.addr, format!("{text}{terminator}").as_bytes()).await;
        assert_eq!(
            String::from_utf8(heard).unwrap(),
            format!("{first}{}", too_long_notice(MAX_LINE)),
            "limit + 1 with {terminator:?}"
        );
    }
    server.stop().await;
}

// That the server holds at most one line meanwhile is the splitter's bound, unit-tested in
// `lines.rs` (read_allowance_never_lets_the_buffer_exceed_one_line): its counters see only
// lines taken as shouts, and this one never is.
#[tokio::test]
async fn a_mebibyte_without_newline_is_refused_with_the_notice() {
    let server = TestServer::start(ServerConfig {
        delay: Duration::ZERO,
        ..ServerConfig::default()
    })
    .await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (reader, mut writer) = stream.into_split();
    let sending = tokio::spawn(async move {
        // The server stops reading at the limit; the rest is drained or refused, either is fine.
        let _ = writer.write_all(&vec![b'y'; 1 << 20]).await;
        let _ = writer.shutdown().await;
    });
    assert_eq!(
        String::from_utf8(read_to_end(reader).await).unwrap(),
        too_long_notice(64 * 1024)
    );
    timeout(PATIENCE, sending).await.unwrap().unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_never_reads_cannot_grow_the_server_or_slow_others() {
    const MAX_PENDING: usize = 16;
    const LINE: usize = 100;
    let server = TestServer::start(ServerConfig {
        mode: Mode::Concurrent,
        // Echoes due at once fill the hog's socket buffers quickly, so its writes stall soon.
        delay: Duration::ZERO,
        max_pending: MAX_PENDING,
        write_timeout: Some(Duration::from_millis(500)),
        ..ServerConfig::default()
    })
    .await;

    // 100,000 lines of 100 bytes from a client that never reads its echoes.
    let hog = TcpStream::connect(server.addr).await.unwrap();
    let (_hog_reader, mut hog_writer) = hog.into_split();
    let flooding = tokio::spawn(async move {
        let line = format!("{}\n", "z".repeat(LINE - 1));
        let block = line.repeat(1000);
        for _ in 0..100 {
            if hog_writer.write_all(block.as_bytes()).await.is_err() {
                return false;
            }
        }
        true
    });

    // Meanwhile another client is served normally.
    let mut polite = TcpStream::connect(server.addr).await.unwrap();
    polite.write_all(b"still fine?\n").await.unwrap();
    polite.shutdown().await.unwrap();
    assert_eq!(
        read_to_end(polite).await,
        b"\t STILL FINE?\n\t still fine?\n\t still fine?\n"
    );

    // The hog is cut off for not reading, and its queue never held more than the limit allows.
    server.until_open_connections(0).await;
    let completed = timeout(PATIENCE, flooding).await.unwrap().unwrap();
    assert!(!completed, "the server must stop taking the hog's input");
    let peak = server.stats.peak_queued_bytes.load(Relaxed);
    assert!(peak > 0);
    assert!(
        peak <= MAX_PENDING * LINE,
        "queued {peak} bytes for one connection, limit {}",
        MAX_PENDING * LINE
    );
    server.stop().await;
}

#[tokio::test]
async fn over_the_connection_limit_a_client_is_told_the_server_is_full() {
    let server = TestServer::start(ServerConfig {
        delay: Duration::ZERO,
        max_connections: 2,
        ..ServerConfig::default()
    })
    .await;
    let mut first = BufReader::new(TcpStream::connect(server.addr).await.unwrap());
    let mut second = BufReader::new(TcpStream::connect(server.addr).await.unwrap());
    for conn in [&mut first, &mut second] {
        conn.get_mut().write_all(b"here\n").await.unwrap();
        assert_eq!(read_line(conn).await, "\t HERE\n");
    }
    // It already sent a line: the server must not reset the connection and lose its notice.
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third.write_all(b"let me in\n").await.unwrap();
    assert_eq!(
        String::from_utf8(read_to_end(third).await).unwrap(),
        "echoctl: server is full (2 connections); try again later\n"
    );
    assert_eq!(server.stats.connections_refused.load(Relaxed), 1);

    // Below the limit again, nothing changes.
    first.get_mut().shutdown().await.unwrap();
    read_to_end(first).await;
    server.until_open_connections(1).await;
    let mut fourth = TcpStream::connect(server.addr).await.unwrap();
    fourth.write_all(b"back\n").await.unwrap();
    fourth.shutdown().await.unwrap();
    assert_eq!(read_to_end(fourth).await, b"\t BACK\n\t back\n\t back\n");
    drop(second);
    server.stop().await;
}

#[tokio::test]
async fn shutdown_delivers_echoes_in_flight_then_closes() {
    let server = TestServer::start(ServerConfig {
        delay: Duration::from_millis(200),
        ..ServerConfig::default()
    })
    .await;
    let (reader, writer) = shout_and_hear_the_first_echo(server.addr, "last words").await;
    let addr = server.addr;
    let stopping = tokio::spawn(server.stop());
    // The remaining echoes still come, then the server says why and closes without being asked.
    assert_eq!(
        read_to_end(reader).await,
        b"\t last words\n\t last words\n\
          echoctl: the server is shutting down; closing the connection\n"
    );
    timeout(PATIENCE, stopping).await.unwrap().unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listening socket is closed"
    );
    drop(writer);
}

#[tokio::test]
async fn shutdown_does_not_reset_a_client_still_sending() {
    let server = TestServer::start(ServerConfig {
        delay: Duration::from_millis(200),
        ..ServerConfig::default()
    })
    .await;
    let (reader, mut writer) = shout_and_hear_the_first_echo(server.addr, "one").await;
    let stopping = tokio::spawn(server.stop());
    // The draining server reads no more; this input stays unread at the server until it closes.
    writer.write_all(b"two\n").await.unwrap();
    // read_to_end fails the test on a reset: the end must be a clean end of stream.
    assert_eq!(
        read_to_end(reader).await,
        b"\t one\n\t one\n\
          echoctl: the server is shutting down; closing the connection\n"
    );
    timeout(PATIENCE, stopping).await.unwrap().unwrap();
}

#[tokio::test]
async fn the_grace_period_bounds_shutdown() {
    let server = TestServer::start(ServerConfig {
        delay: Duration::from_secs(3600),
        grace: Duration::from_millis(100),
        ..ServerConfig::default()
    })
    .await;
    let (mut reader, writer) = shout_and_hear_the_first_echo(server.addr, "patience").await;
    let stopping = std::time::Instant::now();
    server.stop().await;
    let took = stopping.elapsed();
    // An echo an hour away is dropped when the grace period ends: never before it, and long
    // before the 5 s default (wide of any scheduling delay) or the hour.
    assert!(
        took >= Duration::from_millis(100) && took < Duration::from_millis(2500),
        "stop took {took:?} with a 100 ms grace period"
    );
    let mut rest = Vec::new();
    // Closed with echoes still owed: end of stream (or a reset), not a hang.
    let _ = timeout(PATIENCE, reader.read_to_end(&mut rest))
        .await
        .unwrap();
    assert!(rest.is_empty());
    drop(writer);
}
