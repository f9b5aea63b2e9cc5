//! The built `echoctl` binary end to end: what a user at a shell or a script sees.

use std::process::Stdio;
use std::time::Duration;

use crate::common::{Finished, PATIENCE, TestServer, echoctl, echoes_of, finish, run, signal};
use echoctl::server::Mode;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::time::timeout;

const DELAY: Duration = Duration::from_millis(100);

/// Runs echoctl with `args`, no input, and collects what it printed.
async fn run_echoctl(args: &[&str]) -> Finished {
    run(echoctl().args(args)).await
}

/// The next line from a child's output, within `PATIENCE`.
async fn next_line(reader: &mut (impl AsyncBufReadExt + Unpin)) -> String {
    let mut line = String::new();
    timeout(PATIENCE, reader.read_line(&mut line))
        .await
        .expect("a line in time")
        .expect("read child output");
    line
}

/// The address in `serve`'s start-up line.
fn announced_addr(line: &str) -> String {
    line.split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("start-up line names the address: {line:?}"))
        .to_string()
}

/// Starts `echoctl connect ADDR` with all three standard streams piped.
fn spawn_connect(addr: &str) -> Child {
    echoctl()
        .args(["connect", addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echoctl")
}

/// Runs `echoctl connect ADDR` with `input` on stdin.
async fn connect_with_input(addr: &str, input: &[u8]) -> Finished {
    let mut child = spawn_connect(addr);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).await.unwrap();
    drop(stdin);
    finish(child).await
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_pipes_two_lines_and_gets_all_six_echoes() {
    let server = TestServer::with(Mode::Concurrent, DELAY).await;
    let run = connect_with_input(&server.addr.to_string(), b"Hello?\nYooo-hooo!\n").await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let expected = "\t HELLO?\n\t YOOO-HOOO!\n\t Hello?\n\t Yooo-hooo!\n\t hello?\n\t yooo-hooo!\n";
    assert_eq!(String::from_utf8(run.stdout).unwrap(), expected);
    assert_eq!(run.stderr, "", "nothing on stderr on success");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_with_empty_input_exits_cleanly() {
    let server = TestServer::with(Mode::Concurrent, DELAY).await;
    let run = connect_with_input(&server.addr.to_string(), b"").await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(run.stdout.is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_exits_when_the_server_closes_even_if_stdin_stays_open() {
    // Like a terminal nobody types into: stdin never ends. The server closes; the client must too.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut child = spawn_connect(&addr.to_string());
    let (mut conn, _) = timeout(PATIENCE, listener.accept()).await.unwrap().unwrap();
    conn.write_all(b"\t BYE\n").await.unwrap();
    drop(conn);
    let stdin = child.stdin.take();
    let run = finish(child).await;
    drop(stdin);
    assert_eq!(
        run.code,
        Some(1),
        "a session cut short; stderr: {}",
        run.stderr
    );
    assert_eq!(run.stdout, b"\t BYE\n");
    assert_eq!(
        run.stderr,
        "echoctl: error: the server closed the connection before the end of input\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_reports_a_reset_after_printing_what_arrived() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut child = spawn_connect(&addr.to_string());
    let (mut conn, _) = timeout(PATIENCE, listener.accept()).await.unwrap().unwrap();
    conn.write_all(b"\t HELLO?\n").await.unwrap();
    // Wait until the client has read it, so the reset cannot discard it in flight.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let first = next_line(&mut stdout).await;
    assert_eq!(first, "\t HELLO?\n");
    conn.set_zero_linger().unwrap();
    drop(conn);
    let stdin = child.stdin.take();
    let status = timeout(PATIENCE, child.wait()).await.unwrap().unwrap();
    drop(stdin);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("reset"), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_refused_is_one_clear_line_and_exit_1() {
    // Bind then drop to find a port with nothing listening.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let run = connect_with_input(&addr.to_string(), b"").await;
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("cannot connect"), "{}", run.stderr);
    assert!(run.stderr.contains("refused"), "{}", run.stderr);
    assert!(
        run.stderr.contains("echoctl serve"),
        "says what to do: {}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_to_a_malformed_address_says_what_is_expected() {
    let run = connect_with_input("localhost", b"").await;
    assert_eq!(run.code, Some(2), "a usage error");
    assert!(run.stderr.contains("HOST:PORT"), "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: invalid value"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2() {
    let run = run_echoctl(&["serve", "--delay", "soon"]).await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("--delay"), "{}", run.stderr);
    let run = run_echoctl(&["serve", "--mode", "parallel"]).await;
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("sequential"),
        "lists the modes: {}",
        run.stderr
    );
}

/// netcat's habits (`nc -l -p 9000`, `nc localhost 8000`) get clap's usage error, status 2,
/// and a tip with what to write here.
#[tokio::test(flavor = "multi_thread")]
async fn netcat_habits_get_a_tip_saying_what_to_write() {
    for (args, says) in [
        (
            &["serve", "--port", "9000"][..],
            "error: unexpected argument '--port' found\n\n  tip: the port is part of the \
             address: use '--listen 127.0.0.1:9000'\n\nUsage: echoctl serve [OPTIONS]\n",
        ),
        (
            &["serve", "-p", "9000"],
            "tip: the port is part of the address: use '--listen 127.0.0.1:9000'\n",
        ),
        (
            &["connect", "localhost", "8000"],
            "error: unexpected argument '8000' found\n\n  tip: the port is part of the \
             address: use 'localhost:8000'\n\nUsage: echoctl connect [OPTIONS] [ADDR]\n",
        ),
        (
            &["connect", "-l", "-p", "9000"],
            "tip: to listen, as nc -l does, use 'echoctl serve --listen 127.0.0.1:9000'\n",
        ),
        (
            &["serve", "-l", "9000"],
            "'9000' for '--listen <ADDR>': \"9000\" is only a port; an address is HOST:PORT, \
             such as localhost:9000 or 127.0.0.1:9000, or unix:PATH\n",
        ),
    ] {
        let run = run_echoctl(args).await;
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(
            !run.stderr.contains("as a value"),
            "not clap's tip for a value that starts with a dash: {}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_duration_names_only_the_units_taken_and_months_are_refused_plainly() {
    let run = run_echoctl(&["serve", "--delay", "5q"]).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("unknown unit \"q\"; the units are ns, us, ms, s, m, h, d and w"),
        "{}",
        run.stderr
    );
    let run = run_echoctl(&["connect", "--wait", "1month"]).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "'1month' for '--wait <DURATION>': months have no fixed length: give days, such \
             as 30d\n"
        ),
        "{}",
        run.stderr
    );
    for run in [
        run_echoctl(&["serve", "--delay", "5q"]).await,
        run_echoctl(&["serve", "--grace", "1year"]).await,
    ] {
        assert!(
            !run.stderr.contains("months,") && !run.stderr.contains("years,"),
            "{}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_into_a_closed_pipe_exits_quietly() {
    // `echoctl connect | head -1`: stdout closes after the first line. Input stays open, so the
    // session cannot end by itself: only noticing the closed output ends the client, however
    // slow the machine (with input closed, a late test could see a normal end instead).
    let server = TestServer::with(Mode::Concurrent, DELAY).await;
    let mut child = spawn_connect(&server.addr.to_string());
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"one\n").await.unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let first = next_line(&mut stdout).await;
    assert_eq!(first, "\t ONE\n");
    drop(stdout);
    // More echoes to write into the closed pipe (the client may already have gone on the
    // timed echoes of "one").
    let _ = stdin.write_all(b"two\n").await;
    let run = finish(child).await;
    drop(stdin);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stderr, "");
    server.stop().await;
}

/// Starts `echoctl serve` on an ephemeral port and returns it with the address it announced.
async fn spawn_serve(args: &[&str]) -> (Child, String, BufReader<tokio::process::ChildStderr>) {
    let mut child = echoctl()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let line = next_line(&mut stderr).await;
    let addr = announced_addr(&line);
    assert!(
        line.contains("mode concurrent") || line.contains("mode sequential"),
        "{line}"
    );
    (child, addr, stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_and_connect_binaries_play_the_book_session() {
    let (mut server, addr, _stderr) =
        spawn_serve(&["--mode", "sequential", "--delay", "50ms"]).await;
    let run = connect_with_input(&addr, b"Hello?\nIs there anybody there?\nYooo-hooo!\n").await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(
        String::from_utf8(run.stdout).unwrap(),
        echoes_of(&["Hello?", "Is there anybody there?", "Yooo-hooo!"])
    );

    let mut stdout = server.stdout.take().unwrap();
    signal(&server, "TERM");
    let status = timeout(PATIENCE, server.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop");
    let mut printed = Vec::new();
    stdout.read_to_end(&mut printed).await.unwrap();
    assert!(printed.is_empty(), "serve prints nothing on stdout");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_delivers_echoes_in_flight_exits_0_and_the_port_is_free_again() {
    let (mut server, addr, _stderr) = spawn_serve(&["--delay", "300ms"]).await;
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    writer.write_all(b"going down\n").await.unwrap();
    let first = next_line(&mut reader).await;
    assert_eq!(first, "\t GOING DOWN\n");
    signal(&server, "TERM");
    let rest = crate::common::read_to_end(reader).await;
    // The echoes owed, then a last line saying why the connection closes.
    assert_eq!(
        String::from_utf8_lossy(&rest),
        "\t going down\n\t going down\n\
         echoctl: the server is shutting down; closing the connection\n"
    );
    let status = timeout(PATIENCE, server.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(0));
    drop(writer);

    // Restarting at once on the same port works.
    let mut again = echoctl()
        .args(["serve", "--listen", &addr])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(again.stderr.take().unwrap());
    let line = next_line(&mut stderr).await;
    assert!(line.contains(&format!("listening on {addr}")), "{line}");
    signal(&again, "INT");
    let status = timeout(PATIENCE, again.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_quits_at_once_with_130() {
    let (mut server, addr, mut stderr) = spawn_serve(&["--delay", "1h", "--grace", "1h"]).await;
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream.write_all(b"forever\n").await.unwrap();
    let mut buf = [0u8; 10];
    timeout(PATIENCE, stream.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    signal(&server, "TERM");
    // Wait for the server to say it is stopping, so the second signal is a second one.
    let mut line = String::new();
    while !line.contains("stopping") {
        line.clear();
        let n = timeout(PATIENCE, stderr.read_line(&mut line))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "server exited before saying it was stopping");
    }
    signal(&server, "INT");
    let status = timeout(PATIENCE, server.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(130));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_port_in_use_is_one_line_that_says_what_to_do() {
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let run = run_echoctl(&["serve", "--listen", &addr]).await;
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("in use"), "{}", run.stderr);
    assert!(run.stderr.contains("--listen"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_listen_address_is_a_usage_error() {
    let run = run_echoctl(&["serve", "--listen", "8000"]).await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("HOST:PORT"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn listening_beyond_loopback_is_announced() {
    let mut child = echoctl()
        .args(["serve", "--listen", "0.0.0.0:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let line = next_line(&mut stderr).await;
    signal(&child, "TERM");
    timeout(PATIENCE, child.wait()).await.unwrap().unwrap();
    assert!(line.contains("reachable from the network"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_serve_logs_nothing_but_errors() {
    // A port picked first, so the server is reached without reading its start-up line.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let child = echoctl()
        .args(["serve", "-q", "--listen", &addr.to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once it accepts, it is serving (and handles signals: they are set up before binding).
    let mut conn = timeout(PATIENCE, async {
        loop {
            match tokio::net::TcpStream::connect(addr).await {
                Ok(conn) => return conn,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
    .unwrap();
    conn.write_all(b"shh\n").await.unwrap();
    conn.shutdown().await.unwrap();
    assert_eq!(
        crate::common::read_to_end(conn).await,
        b"\t SHH\n\t shh\n\t shh\n"
    );
    signal(&child, "TERM");
    let run = finish(child).await;
    assert_eq!(run.code, Some(0));
    // The start-up line is output, printed even when quiet (a script reads the port from it).
    assert_eq!(
        run.stderr,
        format!("listening on {addr} (mode concurrent, delay 1s)\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_timeout_gives_up_on_an_address_that_never_answers() {
    // A listener with a zero backlog that never accepts: once one connection fills it, the kernel
    // drops further SYNs, so the next connect hangs like a blackholed address (on loopback).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let _filler = tokio::net::TcpStream::connect(addr).await.unwrap();
    let run = run_echoctl(&["connect", "--connect-timeout", "300ms", &addr.to_string()]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("no answer within 300ms"),
        "{}",
        run.stderr
    );
    drop(listener);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_ends_connect_with_130() {
    let server = TestServer::with(Mode::Concurrent, Duration::from_secs(3600)).await;
    let mut child = spawn_connect(&server.addr.to_string());
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"wait\n").await.unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let first = next_line(&mut stdout).await;
    assert_eq!(first, "\t WAIT\n");
    signal(&child, "INT");
    let status = timeout(PATIENCE, child.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(130));
    drop(stdin);
    server.stop().await;
}

/// CPU time (user + system) a process has used, from /proc, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc stat");
    // Fields after the command name, which is in parentheses and may contain spaces.
    let after = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn out_of_file_descriptors_the_server_backs_off_and_recovers() {
    // A hard limit of 48 descriptors, which the server cannot raise: accept starts failing with
    // EMFILE once about 40 clients are connected.
    let mut child = Command::new("bash")
        .args([
            "-c",
            "ulimit -n 48 && exec \"$0\" serve --listen 127.0.0.1:0 --delay 0",
            env!("CARGO_BIN_EXE_echoctl"),
        ])
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let line = next_line(&mut stderr).await;
    let addr = announced_addr(&line);
    let pid = child.id().unwrap();
    let log = tokio::spawn(async move {
        let mut all = String::new();
        let _ = stderr.read_to_string(&mut all).await;
        all
    });

    // 60 clients: the kernel completes every handshake, the server runs out of descriptors.
    let mut clients = Vec::new();
    for _ in 0..60 {
        clients.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let cpu_before = cpu_ticks(pid);
    let wall = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let cpu_used = cpu_ticks(pid) - cpu_before;
    let ticks_per_second = 100; // USER_HZ on Linux
    let wall_ticks = wall.elapsed().as_millis() as u64 * ticks_per_second / 1000;
    assert!(
        cpu_used * 4 < wall_ticks,
        "the accept loop must back off, not spin: {cpu_used} of {wall_ticks} ticks"
    );

    // Free the descriptors: the server resumes by itself and serves a new client.
    drop(clients);
    let served = timeout(PATIENCE, async {
        loop {
            let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
            conn.write_all(b"back\n").await.unwrap();
            conn.shutdown().await.unwrap();
            let mut heard = Vec::new();
            let _ = conn.read_to_end(&mut heard).await;
            if heard == b"\t BACK\n\t back\n\t back\n" {
                return;
            }
        }
    })
    .await;
    assert!(served.is_ok(), "server recovered");

    signal(&child, "TERM");
    timeout(PATIENCE, child.wait()).await.unwrap().unwrap();
    let log = log.await.unwrap();
    let failures = log.matches("accept failed").count();
    assert!(failures >= 1, "the failure is logged: {log}");
    // At most one line a second (plus the first), however long this test took to get here.
    let seconds = wall.elapsed().as_secs() as usize;
    assert!(
        failures <= seconds + 2,
        "logged at a limited rate: {failures} lines in {seconds} s: {log}"
    );
}

/// Runs echoctl with `args` and a stdout whose reader is already gone, as after `| head` has
/// ended: the first write fails with a broken pipe every time, with no race to lose.
async fn run_into_a_closed_pipe(args: &[&str]) -> Finished {
    let (reader, writer) = std::io::pipe().expect("create a pipe");
    drop(reader);
    let child = echoctl()
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echoctl");
    finish(child).await
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_into_a_closed_pipe_exit_quietly() {
    let run = run_into_a_closed_pipe(&["completions", "bash"]).await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stderr, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bench_report_into_a_closed_pipe_exits_quietly() {
    let server = TestServer::with(Mode::Concurrent, Duration::ZERO).await;
    let addr = server.addr.to_string();
    let args = [
        "bench",
        &addr,
        "-c",
        "1",
        "-n",
        "1",
        "-d",
        "0",
        "--ramp-up",
        "0",
    ];
    let run = run_into_a_closed_pipe(&args).await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stderr, "");
    server.stop().await;
}

/// The bench's verdict is its exit status: a reader that stopped early (`| head`) must not turn
/// a failed run into a pass.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_bench_into_a_closed_pipe_still_fails() {
    // A port nobody listens on: every connection is refused.
    let unused = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = unused.local_addr().expect("local addr").to_string();
    drop(unused);
    let args = ["bench", &addr, "-c", "1", "-n", "1", "--ramp-up", "0"];
    let run = run_into_a_closed_pipe(&args).await;
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    assert_eq!(run.stderr, "");
}
