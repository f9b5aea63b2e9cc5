//! `serve --listen unix:PATH` and `connect unix:PATH`, the built binary on Unix-domain sockets in
//! a temp dir: what happens to a file already at PATH, removal on a graceful stop, bad paths, and
//! the client on both ends of a pipe.

use std::path::Path;

use tokio::io::BufReader;
use tokio::process::{Child, ChildStderr};

use crate::common::{echoctl, run, stop_serve};
use crate::plain::TempDir;

/// Starts `echoctl serve --listen unix:PATH ARGS` and waits for its start-up line.
async fn spawn_serve(path: &Path, args: &[&str]) -> (Child, String, BufReader<ChildStderr>) {
    crate::common::spawn_serve(
        echoctl()
            .args(["serve", "--listen", &format!("unix:{}", path.display())])
            .args(args),
    )
    .await
}

/// `printf INPUT | echoctl connect unix:PATH`.
async fn connect(path: &Path, input: &[u8]) -> crate::common::Finished {
    crate::common::connect(&[&format!("unix:{}", path.display())], input).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leftover_socket_is_replaced_and_the_file_is_removed_on_stop() {
    let dir = TempDir::new("unix");
    let path = dir.0.join("echo.sock");
    // A socket file whose server is gone, as a killed server leaves it.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());

    let (server, line, _stderr) = spawn_serve(&path, &["--mode", "plain"]).await;
    assert!(
        line.contains(&format!(
            "listening on unix:{} (mode plain)",
            path.display()
        )),
        "{line}"
    );
    let run = connect(&path, b"abc\x00\xff no newline").await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stdout, b"abc\x00\xff no newline");
    stop_serve(server).await;
    assert!(
        !path.exists(),
        "the socket file is removed on a graceful stop"
    );
    assert!(dir.0.is_dir());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_socket_is_refused_and_keeps_its_server() {
    let dir = TempDir::new("unix");
    let path = dir.0.join("echo.sock");
    let (server, _, _stderr) = spawn_serve(&path, &["--delay", "0"]).await;

    let second =
        run(echoctl().args(["serve", "--listen", &format!("unix:{}", path.display())])).await;
    assert_eq!(second.code, Some(1), "stderr: {}", second.stderr);
    assert_eq!(second.stderr.lines().count(), 1, "{}", second.stderr);
    assert!(
        second.stderr.contains("another server is listening there"),
        "{}",
        second.stderr
    );

    // The first server still has its socket and serves on it (reverb, over the Unix socket).
    let run = connect(&path, b"still mine\n").await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stdout, b"\t STILL MINE\n\t still mine\n\t still mine\n");
    stop_serve(server).await;
    assert!(!path.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_path_that_is_not_a_socket_is_never_removed() {
    let dir = TempDir::new("unix");
    let path = dir.0.join("notes.txt");
    std::fs::write(&path, "keep me").unwrap();
    let run = run(echoctl().args(["serve", "--listen", &format!("unix:{}", path.display())])).await;
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("is not a socket"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_or_a_directory_is_named_as_not_a_socket_on_both_ends() {
    let dir = TempDir::new("unix");
    let file = dir.0.join("notes.txt");
    std::fs::write(&file, "keep me").unwrap();
    for (path, kind) in [(&file, "a regular file"), (&dir.0, "a directory")] {
        let address = format!("unix:{}", path.display());
        for args in [
            vec!["connect", &address],
            vec!["serve", "--listen", &address],
        ] {
            let run = run(echoctl().args(&args)).await;
            assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
            assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
            let says = format!("{} is not a socket but {kind}", path.display());
            assert!(run.stderr.contains(&says), "{args:?}: {}", run.stderr);
            assert!(
                !run.stderr.contains("listening"),
                "{args:?}: {}",
                run.stderr
            );
        }
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_socket_paths_are_one_clear_line_and_exit_1() {
    let dir = TempDir::new("unix");
    let too_long = format!("unix:{}/{}", dir.0.display(), "s".repeat(120));
    let missing = format!("unix:{}/no/such/dir/echo.sock", dir.0.display());
    for (address, says) in [
        (too_long.as_str(), "a socket path holds at most"),
        (
            missing.as_str(),
            "does not exist (create it, or pick another path)",
        ),
    ] {
        for args in [vec!["serve", "--listen", address], vec!["connect", address]] {
            let run = run(echoctl().args(&args)).await;
            assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
            assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
            let says = if args[0] == "connect" && address == missing {
                "no such socket"
            } else {
                says
            };
            assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        }
    }
    let run = run(echoctl().args(["connect", "unix:"])).await;
    assert_eq!(run.code, Some(2), "an empty path is a usage error");
}

/// A plain echo sends the client's own lines back: one that reads like a server's notice is
/// still the client's data, not a reason to fail.
#[tokio::test(flavor = "multi_thread")]
async fn a_plain_echo_of_a_notice_like_line_is_not_a_notice() {
    let dir = TempDir::new("unix-notice");
    let path = dir.0.join("echo.sock");
    let (server, _line, _stderr) = spawn_serve(&path, &["--mode", "plain"]).await;
    let input = b"echoctl: server is full (1 connection); try again later\n";
    let run = connect(&path, input).await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stdout, input);
    assert_eq!(run.stderr, "");
    stop_serve(server).await;
}
