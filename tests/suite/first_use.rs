//! What a new user trips over (issue 15), on the built binary: printed durations that paste
//! back, `0` and `off` for timeouts, the start-up line a script reads, and the one-line messages
//! for the usual mistakes.

use std::process::Stdio;
use std::time::Duration;

use crate::common::{
    Finished, PATIENCE, address_in, echoctl, finish, read_line, run, signal, spawn_serve,
};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr};
use tokio::time::timeout;

async fn run_echoctl(args: &[&str]) -> Finished {
    run(echoctl().args(args)).await
}

/// Starts `echoctl serve --listen 127.0.0.1:0 ARGS` and returns it, its start-up line and the
/// rest of its stderr.
async fn serve(args: &[&str]) -> (Child, String, BufReader<ChildStderr>) {
    spawn_serve(
        echoctl()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args),
    )
    .await
}

/// Stops a server started by [`serve`]. Its stderr reader may be gone by then: the logs it
/// writes on stopping must not crash it.
async fn stop(child: Child) -> Finished {
    signal(&child, "TERM");
    finish(child).await
}

/// The usage error of a refused value: exit status 2, one `error:` line naming what to do.
fn assert_usage_error(run: &Finished, wanted: &[&str]) {
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let first = run.stderr.lines().next().unwrap_or_default();
    for part in wanted {
        assert!(first.contains(part), "{part:?} missing from {first:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_header_pastes_back_as_a_serve_command() {
    // 10.5 ms is within the demo's range and needs two units in humantime's style, `10ms 500us`,
    // which the shell would split into two arguments.
    let demo = run_echoctl(&[
        "demo",
        "--mode",
        "sequential",
        "--delay",
        "10500us",
        "--color",
        "never",
    ])
    .await;
    assert_eq!(demo.code, Some(0), "{}", demo.stderr);
    let header = demo.stdout_text().lines().next().unwrap_or_default();
    assert_eq!(header, "$ echoctl serve --mode sequential --delay 10.5ms &");
    // Paste it: the words between `$ echoctl serve` and `&`, with a free port.
    let words: Vec<&str> = header
        .trim_start_matches("$ echoctl serve ")
        .trim_end_matches(" &")
        .split(' ')
        .collect();
    let (child, startup, _) = serve(&words).await;
    assert!(
        startup.contains("(mode sequential, delay 10.5ms)"),
        "{startup}"
    );
    assert_eq!(stop(child).await.code, Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_start_up_line_prints_each_duration_as_one_token_serve_takes() {
    for (given, printed) in [
        ("1.5s", "1.5s"),
        ("1s 500ms", "1.5s"),
        ("43182ms", "43.182s"),
        ("1000000s", "1000000s"),
        ("120s", "2m"),
        ("0", "0s"),
    ] {
        let (child, startup, _) = serve(&["--delay", given]).await;
        assert!(
            startup.contains(&format!(", delay {printed})")),
            "{given}: {startup}"
        );
        assert_eq!(stop(child).await.code, Some(0));
        // And what was printed is taken back.
        let (child, again, _) = serve(&["--delay", printed]).await;
        assert!(again.contains(&format!(", delay {printed})")), "{again}");
        assert_eq!(stop(child).await.code, Some(0));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zero_timeout_is_refused_naming_off() {
    for (command, option) in [
        ("serve", "--idle-timeout"),
        ("serve", "--write-timeout"),
        ("connect", "--connect-timeout"),
        ("connect", "--wait"),
        ("bench", "--connect-timeout"),
    ] {
        for zero in ["0", "0s"] {
            let refused = run_echoctl(&[command, option, zero]).await;
            assert_usage_error(&refused, &[option, "0 would time out at once", "write off"]);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn off_is_taken_by_every_timeout_and_the_server_keeps_a_quiet_client() {
    const IDLE: &str = "150ms";
    // First a server that does time out, to show the silence below is long enough to matter
    // (and that its notice names the duration as the option takes it).
    let (timing, startup, _) = serve(&["--idle-timeout", IDLE]).await;
    let mut quiet = tokio::net::TcpStream::connect(address_in(&startup))
        .await
        .unwrap();
    let closing = crate::common::read_to_end(&mut quiet).await;
    assert!(
        String::from_utf8_lossy(&closing).contains(&format!("no complete line for {IDLE}")),
        "{closing:?}"
    );
    assert_eq!(stop(timing).await.code, Some(0));

    let (server, startup, _) = serve(&[
        "--idle-timeout",
        "off",
        "--write-timeout",
        "off",
        "--delay",
        "10ms",
    ])
    .await;
    let mut client = echoctl()
        .args(["connect", "--connect-timeout", "off", &address_in(&startup)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = client.stdin.take().unwrap();
    stdin.write_all(b"first\n").await.unwrap();
    let mut stdout = BufReader::new(client.stdout.take().unwrap());
    assert_eq!(read_line(&mut stdout).await, "\t FIRST\n");
    // Silent for three times the idle timeout above: with the timeout off, nothing closes.
    tokio::time::sleep(Duration::from_millis(450)).await;
    stdin.write_all(b"late\n").await.unwrap();
    drop(stdin);
    let mut rest = String::new();
    timeout(
        PATIENCE,
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut rest),
    )
    .await
    .expect("echoes in time")
    .unwrap();
    assert_eq!(rest, "\t first\n\t first\n\t LATE\n\t late\n\t late\n");
    let ended = finish(client).await;
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    assert_eq!(stop(server).await.code, Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quiet_server_still_prints_the_address_a_script_reads() {
    // As a script would: start it quiet on a free port, read the address from its first line,
    // use it, stop it.
    let script = r#"
        exec 3< <("$ECHOCTL" serve -q --listen 127.0.0.1:0 --delay 10ms 2>&1 >/dev/null)
        server=$!
        read -r startup <&3
        addr=${startup#listening on }
        addr=${addr%% *}
        printf 'hi\n' | "$ECHOCTL" connect "$addr"
        status=$?
        kill -TERM "$server"
        wait "$server"
        stopped=$?
        printf 'status %s; server %s; then %s\n' "$status" "$stopped" "$(cat <&3)"
    "#;
    let ran = run(tokio::process::Command::new("bash")
        .args(["--noprofile", "--norc", "-c", script])
        .env("ECHOCTL", env!("CARGO_BIN_EXE_echoctl"))
        .env_remove("RUST_LOG")
        .kill_on_drop(true))
    .await;
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    // The echoes; the server itself stopped by the signal (exit 0); and after the start-up line
    // nothing more on stderr from a quiet server.
    assert_eq!(
        ran.stdout_text(),
        "\t HI\n\t hi\n\t hi\nstatus 0; server 0; then \n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_usual_mistakes_get_one_line_that_says_what_to_do() {
    for (args, wanted) in [
        (
            &["connect", "http://localhost:8000"][..],
            &["URL", "write localhost:8000 instead"][..],
        ),
        (
            &["connect", "127.0.0.1:0"],
            &["port 0", "give the port the server listens on"],
        ),
        (&["serve", "--delay", "-1s"], &["cannot be negative"]),
        (&["serve", "--delay", "0.5"], &["needs one: 0.5s, or 500ms"]),
        (&["serve", "--delay", "1y"], &["give days, such as 365d"]),
        (&["demo", "--delay", "1ms"], &["at least 10ms"]),
    ] {
        let refused = run_echoctl(args).await;
        assert_usage_error(&refused, wanted);
    }

    // Two paces at once: the usage line is the command's, not one making both look required.
    let both = run_echoctl(&["bench", "-i", "1s", "--rate", "5"]).await;
    assert_usage_error(
        &both,
        &["'--interval <DURATION>' cannot be used with '--rate"],
    );
    assert!(
        both.stderr
            .contains("\nUsage: echoctl bench [OPTIONS] [ADDR]\n"),
        "{}",
        both.stderr
    );

    // A port nothing listens on: the address once, and what to check.
    let free = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = free.local_addr().unwrap().to_string();
    drop(free);
    let refused = run_echoctl(&["connect", &addr]).await;
    assert_eq!(refused.code, Some(1));
    assert_eq!(
        refused.stderr,
        format!(
            "echoctl: error: cannot connect to {addr}: connection refused; nothing listens \
             there: is `echoctl serve` running, on that port?\n"
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_local_address_without_a_zone_says_to_add_one() {
    let refused = run_echoctl(&["serve", "--listen", "[fe80::1]:0"]).await;
    // Where IPv6 is off entirely the system says so differently; the hint is for EINVAL.
    if !refused.stderr.contains("Invalid argument") {
        eprintln!("note: binding fe80::1 failed otherwise: {}", refused.stderr);
        return;
    }
    assert_eq!(refused.code, Some(1));
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("a link-local address needs a zone")
            && refused.stderr.contains("[fe80::1%2]:0"),
        "{}",
        refused.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn log_lines_are_stamped_in_the_zone_tz_names() {
    // POSIX zone rules, which need no time zone database: east of UTC, then west of it.
    for (tz, offset) in [("<+0530>-05:30", "+05:30"), ("<-0930>09:30", "-09:30")] {
        let (child, startup, mut stderr) = spawn_serve(
            echoctl()
                .args(["serve", "--listen", "127.0.0.1:0"])
                .env("TZ", tz),
        )
        .await;
        assert!(startup.starts_with("listening on "), "{startup}");
        signal(&child, "TERM");
        let stopping = log_line(&mut stderr, |line| line.contains("stopping")).await;
        let (stamp, _) = stopping.split_once(' ').unwrap();
        assert!(stamp.ends_with(offset), "TZ={tz}: {stopping}");
        drop(stderr);
        assert_eq!(finish(child).await.code, Some(0), "TZ={tz}");
    }
}

/// Reads `stderr` until a line for which `wanted` holds, failing after `PATIENCE` or at its end.
async fn log_line(stderr: &mut BufReader<ChildStderr>, wanted: impl Fn(&str) -> bool) -> String {
    timeout(PATIENCE, async {
        loop {
            let line = read_line(stderr).await;
            if wanted(&line) {
                return line;
            }
        }
    })
    .await
    .expect("the log line in time")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_logs_for_people() {
    let (server, startup, mut stderr) = serve(&["-v", "--delay", "200ms"]).await;
    let addr = address_in(&startup);

    // A shout with a byte that is not UTF-8 is logged with the byte escaped.
    let mut shouter = tokio::net::TcpStream::connect(&addr).await.unwrap();
    shouter.write_all(b"caf\xe9\n").await.unwrap();
    let shout = log_line(&mut stderr, |line| line.contains("shout")).await;
    assert!(shout.contains(r#"shout "caf\xe9""#), "{shout}");
    // Every log line starts with the local time to the millisecond and its UTC offset.
    let (stamp, _) = shout.split_once(' ').unwrap();
    let shape: String = stamp
        .chars()
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect();
    assert!(
        shape == "0000-00-00T00:00:00.000+00:00" || shape == "0000-00-00T00:00:00.000-00:00",
        "{stamp}"
    );

    // A client that leaves with echoes owed (a reset, as when Ctrl-C kills a client) is
    // logged as gone, with the echo lines it was sent.
    let mut first = [0u8; 7];
    tokio::io::AsyncReadExt::read_exact(&mut shouter, &mut first)
        .await
        .unwrap();
    assert_eq!(&first, b"\t CAF\xe9\n");
    shouter.set_zero_linger().unwrap();
    drop(shouter);
    let closed = log_line(&mut stderr, |line| {
        line.contains("closed") || line.contains("went away")
    })
    .await;
    assert!(
        closed.contains(": client went away (it reset the connection) after ")
            && closed.ends_with(": 1 shout, 1 echo line sent\n"),
        "{closed}"
    );

    signal(&server, "TERM");
    let stopping = log_line(&mut stderr, |line| line.contains("stopping")).await;
    assert!(
        stopping.contains("stopping; send SIGTERM again to quit at once"),
        "{stopping}"
    );
    assert_eq!(finish(server).await.code, Some(0));
}

/// Starts `serve` with RUST_LOG set, shouts once, stops it and returns everything it logged.
async fn serve_logging(rust_log: &str, flag: &str) -> String {
    let (child, startup, mut stderr) = spawn_serve(
        echoctl()
            .args(["serve", "--listen", "127.0.0.1:0", "--delay", "0", flag])
            .env("RUST_LOG", rust_log),
    )
    .await;
    let mut shouter = tokio::net::TcpStream::connect(address_in(&startup))
        .await
        .unwrap();
    shouter.write_all(b"hi\n").await.unwrap();
    shouter.shutdown().await.unwrap();
    let mut echoes = Vec::new();
    timeout(
        PATIENCE,
        tokio::io::AsyncReadExt::read_to_end(&mut shouter, &mut echoes),
    )
    .await
    .expect("the echoes in time")
    .unwrap();
    assert_eq!(echoes, b"\t HI\n\t hi\n\t hi\n");
    signal(&child, "TERM");
    let mut logged = String::new();
    timeout(
        PATIENCE,
        tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut logged),
    )
    .await
    .expect("the logs in time")
    .unwrap();
    assert_eq!(finish(child).await.code, Some(0));
    logged
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_log_overrides_the_quiet_and_verbose_flags() {
    let verbose_anyway = serve_logging("debug", "-q").await;
    assert!(verbose_anyway.contains(r#"shout "hi""#), "{verbose_anyway}");
    let by_target = serve_logging("echoctl=debug", "-q").await;
    assert!(by_target.contains(r#"shout "hi""#), "{by_target}");
    let quiet_anyway = serve_logging("error", "-v").await;
    assert_eq!(quiet_anyway, "", "nothing below error level");
}
