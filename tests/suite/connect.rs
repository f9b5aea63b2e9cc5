//! `echoctl connect` in a pipe, end to end on the built binary: the flags a script uses
//! (`--timestamps`, `--wait`, `--timeline`) and the exit status of a session the server ends with
//! a notice. (The byte-exact relay itself is tested in `cli`.)

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Finished, PATIENCE, TestServer, connect, echoctl, echoes_of, finish};
use echoctl::server::{Mode, ServerConfig};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

const DELAY: Duration = Duration::from_millis(100);

/// Seconds in a `+1.002s` stamp.
fn stamp_seconds(stamp: &str) -> f64 {
    let seconds = stamp.strip_prefix('+').and_then(|s| s.strip_suffix('s'));
    let seconds = seconds.unwrap_or_else(|| panic!("not a stamp: {stamp:?}"));
    assert_eq!(
        seconds.split_once('.').map(|(_, ms)| ms.len()),
        Some(3),
        "{stamp}"
    );
    seconds.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn timestamps_precede_each_echo_line_as_received() {
    let server = TestServer::with(Mode::Concurrent, DELAY).await;
    let addr = server.addr.to_string();
    let run = connect(&["--timestamps", &addr], b"Hello?\n").await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let mut as_received = String::new();
    let mut seconds = Vec::new();
    for line in run.stdout_text().split_inclusive('\n') {
        let (stamp, rest) = line.split_at(line.find('\t').expect("a TAB after the stamp"));
        seconds.push(stamp_seconds(stamp));
        as_received.push_str(rest);
    }
    assert_eq!(as_received, echoes_of(&["Hello?"]), "each line as received");
    // The server cannot write a voice before its delay has passed since it read the shout,
    // which it read after the client sent it.
    assert!(seconds[1] >= 0.1 && seconds[2] >= 0.2, "{seconds:?}");
    assert!(
        seconds[0] < seconds[1] && seconds[1] < seconds[2],
        "{seconds:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_bounds_a_server_that_never_closes() {
    // Accepts, reads, never answers nor closes.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let silent = tokio::spawn(async move {
        let (conn, _) = listener.accept().await.unwrap();
        tokio::time::sleep(PATIENCE).await;
        drop(conn);
    });
    let started = Instant::now();
    let run = connect(&["--wait", "300ms", &addr], b"Hello?\n").await;
    assert_eq!(run.code, Some(4), "stderr: {}", run.stderr);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(run.stdout.is_empty());
    assert_eq!(
        run.stderr,
        "echoctl: error: the server had not closed the connection --wait 300ms after the end of \
         input (3 echoes still owed)\n"
    );
    silent.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_lets_a_server_that_closes_in_time_end_the_session() {
    let server = TestServer::with(Mode::Sequential, DELAY).await;
    let addr = server.addr.to_string();
    let run = connect(&["--wait", "10s", &addr], b"Hello?\n").await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stdout_text(), echoes_of(&["Hello?"]));
    server.stop().await;
}

/// Checks that a session ended by a notice exits 3, with the server's bytes on stdout and the
/// notice said again on stderr; returns the notice.
fn assert_ended_by_notice(run: &Finished) -> String {
    assert_eq!(run.code, Some(3), "stderr: {}", run.stderr);
    let said = run
        .stderr
        .strip_prefix("echoctl: error: the server ended the session: ")
        .unwrap_or_else(|| panic!("stderr: {}", run.stderr));
    assert_eq!(said.lines().count(), 1, "one line: {}", run.stderr);
    let notice = format!("echoctl: {said}");
    assert!(
        run.stdout_text().ends_with(&notice),
        "stdout ends with the server's notice, as it sent it: {:?}",
        run.stdout_text()
    );
    notice
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_the_server_turns_away_says_so_and_exits_3() {
    let server = TestServer::start(ServerConfig {
        max_connections: 1,
        delay: DELAY,
        ..ServerConfig::default()
    })
    .await;
    let _first = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    server.until_open_connections(1).await;
    let run = connect(&[&server.addr.to_string()], b"x\n").await;
    let notice = assert_ended_by_notice(&run);
    assert!(notice.starts_with("echoctl: server is full"), "{notice}");
    assert_eq!(run.stdout_text(), notice, "nothing else came back");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_line_too_long_ends_the_session_with_status_3() {
    let server = TestServer::start(ServerConfig {
        max_line: 8,
        delay: Duration::from_millis(10),
        ..ServerConfig::default()
    })
    .await;
    let run = connect(&[&server.addr.to_string()], b"ok\n0123456789\n").await;
    let notice = assert_ended_by_notice(&run);
    assert!(notice.contains("line longer than 8 bytes"), "{notice}");
    assert_eq!(
        run.stdout_text(),
        format!("{}{notice}", echoes_of(&["ok"])),
        "the echoes owed, then the notice"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_timeline_goes_to_stderr_and_stdout_stays_byte_exact() {
    let server = TestServer::with(Mode::Sequential, DELAY).await;
    let addr = server.addr.to_string();
    let run = connect(
        &["--timeline", "--color", "never", &addr],
        b"Hello?\nYooo-hooo!\n",
    )
    .await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stdout_text(), echoes_of(&["Hello?", "Yooo-hooo!"]));
    let rows: Vec<&str> = run.stderr.lines().collect();
    assert!(rows[0].starts_with("delay "), "a title: {rows:?}");
    assert!(rows[1].starts_with("Hello?"), "{rows:?}");
    assert!(rows[2].starts_with("Yooo-hooo!"), "{rows:?}");
    for row in &rows[1..3] {
        for mark in ['>', '█', '▒', '░'] {
            assert_eq!(row.matches(mark).count(), 1, "{mark} in {row:?}");
        }
    }
    // reverb1 held the second shout back while the first one's echoes were due.
    assert!(rows[2].contains('═'), "the wait is drawn: {rows:?}");
    assert!(
        rows.last().unwrap().contains("> sent"),
        "a legend: {rows:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_says_where_it_connected_what_it_waits_for_and_why_it_ended() {
    let server = TestServer::with(Mode::Concurrent, DELAY).await;
    let addr = server.addr.to_string();
    let mut child = echoctl()
        .args(["-v", "--color", "never", "connect", &addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echoctl");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"Hi\nYo\n").await.unwrap();
    drop(stdin);
    let run = finish(child).await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(
        run.stdout_text(),
        "\t HI\n\t YO\n\t Hi\n\t Yo\n\t hi\n\t yo\n"
    );
    let said: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|line| line.split_once("DEBUG ").map(|(_, said)| said))
        .collect();
    assert_eq!(said.len(), 3, "stderr: {}", run.stderr);
    assert_eq!(said[0], format!("connected to {addr}"));
    // Six owed, less the loud echoes already back when the input ended.
    let waiting = ["4", "5", "6"].map(|n| format!("input closed; waiting for {n} echoes"));
    assert!(waiting.contains(&said[1].to_string()), "{}", said[1]);
    assert_eq!(
        said[2],
        "session ended: the server closed the connection after the end of input"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn timestamps_keep_a_partial_last_line_when_wait_runs_out() {
    // Sends an echo and half a line at once, then neither closes nor sends more.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let partial = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        conn.write_all(b"\t HI\n\t partial").await.unwrap();
        tokio::time::sleep(PATIENCE).await;
        drop(conn);
    });
    let run = connect(&["--timestamps", "--wait", "300ms", &addr], b"").await;
    assert_eq!(run.code, Some(4), "stderr: {}", run.stderr);
    assert_eq!(
        run.stdout_text(),
        "\t HI\n\t partial",
        "every byte the server sent (no shout, so no stamp)"
    );
    partial.abort();
}
