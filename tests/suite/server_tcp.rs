//! The server end to end over real TCP on 127.0.0.1, with an ephemeral port and short delays.
//!
//! Ordering assertions rely only on causality or on margins of half a delay (100 ms here), which a
//! busy two-core machine keeps; nothing asserts how fast anything is.

use std::time::Duration;

use crate::common::{TestServer, echoes_of, read_line, read_to_end};
use echoctl::server::Mode;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::sleep;

const DELAY: Duration = Duration::from_millis(200);

const BOOK_SHOUTS: [&str; 3] = ["Hello?", "Is there anybody there?", "Yooo-hooo!"];

#[tokio::test]
async fn sequential_book_session_is_byte_exact() {
    let server = TestServer::with(Mode::Sequential, DELAY).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"Hello?\nIs there anybody there?\nYooo-hooo!\n")
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    let heard = read_to_end(stream).await;
    assert_eq!(String::from_utf8(heard).unwrap(), echoes_of(&BOOK_SHOUTS));
    server.stop().await;
}

#[tokio::test]
async fn concurrent_book_session_interleaves_as_in_the_book() {
    let server = TestServer::with(Mode::Concurrent, DELAY).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    writer
        .write_all(b"Is there anybody there?\n")
        .await
        .unwrap();
    assert_eq!(read_line(&mut reader).await, "\t IS THERE ANYBODY THERE?\n");
    assert_eq!(read_line(&mut reader).await, "\t Is there anybody there?\n");
    // Half a delay before the first shout's last echo is due: the margin the book implies.
    sleep(DELAY / 2).await;
    writer.write_all(b"Yooo-hooo!\n").await.unwrap();
    writer.shutdown().await.unwrap();
    let rest = read_to_end(reader).await;
    assert_eq!(
        String::from_utf8(rest).unwrap(),
        "\t YOOO-HOOO!\n\t is there anybody there?\n\t Yooo-hooo!\n\t yooo-hooo!\n"
    );
    server.stop().await;
}

/// 1,000 shouts sent at once, then a half-close: all 3,000 echo lines arrive, each shout's
/// triple in order, then end of stream.
async fn pipelined_shouts_all_echo(mode: Mode, delay: Duration) {
    let server = TestServer::with(mode, delay).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (reader, mut writer) = stream.into_split();
    let receiving = tokio::spawn(read_to_end(reader));
    let input: String = (0..1000).map(|i| format!("Shout {i}\n")).collect();
    writer.write_all(input.as_bytes()).await.unwrap();
    writer.shutdown().await.unwrap();
    let heard = String::from_utf8(receiving.await.unwrap()).unwrap();
    let lines: Vec<&str> = heard.split_inclusive('\n').collect();
    assert_eq!(lines.len(), 3000);
    for i in 0..1000 {
        let mine: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.eq_ignore_ascii_case(&format!("\t shout {i}\n")))
            .collect();
        let expected = [
            format!("\t SHOUT {i}\n"),
            format!("\t Shout {i}\n"),
            format!("\t shout {i}\n"),
        ];
        assert_eq!(mine, expected, "echoes of shout {i}");
    }
    if mode == Mode::Sequential {
        let all: String = (0..1000)
            .map(|i| format!("\t SHOUT {i}\n\t Shout {i}\n\t shout {i}\n"))
            .collect();
        assert_eq!(
            heard, all,
            "sequential mode keeps shouts whole and in order"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn concurrent_pipelined_thousand_shouts_then_half_close() {
    pipelined_shouts_all_echo(Mode::Concurrent, DELAY).await;
}

#[tokio::test]
async fn sequential_pipelined_thousand_shouts_then_half_close() {
    // Sequential takes 2 delays per shout: a zero delay keeps this quick.
    pipelined_shouts_all_echo(Mode::Sequential, Duration::ZERO).await;
}

#[tokio::test]
async fn a_client_reset_mid_echo_ends_only_its_own_connection() {
    let server = TestServer::with(Mode::Concurrent, DELAY).await;

    let steady = TcpStream::connect(server.addr).await.unwrap();
    let (steady_reader, mut steady_writer) = steady.into_split();
    let mut steady_reader = BufReader::new(steady_reader);

    let rude = TcpStream::connect(server.addr).await.unwrap();
    let (rude_reader, mut rude_writer) = rude.into_split();
    let mut rude_reader = BufReader::new(rude_reader);
    rude_writer.write_all(b"bye\n").await.unwrap();
    assert_eq!(read_line(&mut rude_reader).await, "\t BYE\n");

    steady_writer.write_all(b"still here\n").await.unwrap();
    assert_eq!(read_line(&mut steady_reader).await, "\t STILL HERE\n");

    // Abort the rude connection with a TCP reset while its echoes are still owed.
    let rude = rude_reader.into_inner().reunite(rude_writer).unwrap();
    rude.set_zero_linger().unwrap();
    drop(rude);

    assert_eq!(read_line(&mut steady_reader).await, "\t still here\n");
    assert_eq!(read_line(&mut steady_reader).await, "\t still here\n");

    // The server still takes new connections.
    let mut fresh = TcpStream::connect(server.addr).await.unwrap();
    fresh.write_all(b"new\n").await.unwrap();
    fresh.shutdown().await.unwrap();
    assert_eq!(read_to_end(fresh).await, b"\t NEW\n\t new\n\t new\n");
    // The reset connection has ended (and the fresh one); the steady one is still served.
    server.until_open_connections(1).await;

    steady_writer.shutdown().await.unwrap();
    assert_eq!(read_to_end(steady_reader).await, b"");
    server.stop().await;
}

#[tokio::test]
async fn echoes_are_byte_exact_for_invalid_utf8_nul_and_escapes() {
    let server = TestServer::with(Mode::Concurrent, Duration::ZERO).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"caf\xc3\xa9 \xff\x00 \x1b[1mStra\xc3\x9fe\r\n")
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    let heard = read_to_end(stream).await;
    let mut expected = Vec::new();
    expected.extend_from_slice(b"\t CAF\xc3\x89 \xff\x00 \x1b[1MSTRASSE\n");
    expected.extend_from_slice(b"\t caf\xc3\xa9 \xff\x00 \x1b[1mStra\xc3\x9fe\n");
    expected.extend_from_slice(b"\t caf\xc3\xa9 \xff\x00 \x1b[1mstra\xc3\x9fe\n");
    assert_eq!(heard, expected);
    server.stop().await;
}
