//! Helpers shared by the integration tests: an in-process server on an ephemeral loopback port,
//! the built binary run as a child process, and line readers with timeouts, so that a broken
//! server or a hung child fails a test instead of hanging it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use echoctl::server::{self, Mode, ServerConfig, ServerStats};
use echoctl::timer::Timer;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, ChildStderr, Command};

/// Generous bound on anything a test waits for: far beyond what a slow machine needs, short
/// enough that a hang fails fast.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The real server on its own task, on an ephemeral loopback port.
pub struct TestServer {
    pub addr: SocketAddr,
    pub stats: Arc<ServerStats>,
    running: server::Running,
}

impl TestServer {
    pub async fn start(config: ServerConfig) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let running = server::spawn(listener, config, Timer::start()).expect("local addr");
        TestServer {
            addr: running.addr,
            stats: running.stats.clone(),
            running,
        }
    }

    pub async fn with(mode: Mode, delay: Duration) -> TestServer {
        TestServer::start(ServerConfig {
            mode,
            delay,
            ..ServerConfig::default()
        })
        .await
    }

    /// Stops the server and waits until every connection task has ended.
    pub async fn stop(self) {
        tokio::time::timeout(PATIENCE, self.running.stop())
            .await
            .expect("server stops in time")
            .expect("server task did not panic");
    }

    /// Waits until the server's own books show `open` connections (or fails after `PATIENCE`).
    pub async fn until_open_connections(&self, open: usize) {
        tokio::time::timeout(PATIENCE, async {
            while self.stats.connections_open.load(Relaxed) != open {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("server never got to {open} open connections"));
    }
}

/// Reads everything until the server closes, failing the test if that takes beyond `PATIENCE`.
pub async fn read_to_end(reader: impl tokio::io::AsyncRead + Unpin) -> Vec<u8> {
    let mut all = Vec::new();
    let mut reader = BufReader::new(reader);
    tokio::time::timeout(
        PATIENCE,
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut all),
    )
    .await
    .expect("server closes in time")
    .expect("read succeeds");
    all
}

/// Reads one line (with its `\n`), failing the test on timeout or end of stream.
pub async fn read_line(reader: &mut (impl AsyncBufReadExt + Unpin)) -> String {
    let mut line = String::new();
    let n = tokio::time::timeout(PATIENCE, reader.read_line(&mut line))
        .await
        .expect("line arrives in time")
        .expect("read succeeds");
    assert!(n > 0, "connection closed early");
    line
}

/// The nine echo lines of the book's three shouts, in the order a sequential server sends them.
pub fn echoes_of(shouts: &[&str]) -> String {
    shouts
        .iter()
        .map(|s| format!("\t {}\n\t {s}\n\t {}\n", s.to_uppercase(), s.to_lowercase()))
        .collect()
}

/// The built `echoctl`, with `RUST_LOG` cleared (each test asks for the logs it means) and
/// killed if the test drops it.
pub fn echoctl() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_echoctl"));
    command.env_remove("RUST_LOG").kill_on_drop(true);
    command
}

/// What a child `echoctl` printed, and how it exited.
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Finished {
    /// Standard output as text, which it must be.
    pub fn stdout_text(&self) -> &str {
        std::str::from_utf8(&self.stdout).expect("stdout is UTF-8")
    }
}

/// Waits for `child` to exit (failing the test after `PATIENCE`) and collects what it printed.
pub async fn finish(child: Child) -> Finished {
    let output = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .expect("echoctl exits in time")
        .expect("wait for echoctl");
    Finished {
        code: output.status.code(),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `command` with no input, to its end, and collects what it printed.
pub async fn run(command: &mut Command) -> Finished {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echoctl");
    finish(child).await
}

/// `printf INPUT | echoctl connect ARGS`: runs it to its end and collects what it printed.
pub async fn connect(args: &[&str], input: &[u8]) -> Finished {
    let mut child = echoctl()
        .arg("connect")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echoctl connect");
    let mut stdin = child.stdin.take().expect("stdin piped");
    stdin.write_all(input).await.expect("write connect's input");
    drop(stdin);
    finish(child).await
}

/// Spawns `serve` (an `echoctl serve ...` command) with stderr piped and no stdin or stdout, and
/// waits for its start-up line: the child, that line, and the rest of its stderr.
pub async fn spawn_serve(serve: &mut Command) -> (Child, String, BufReader<ChildStderr>) {
    let mut child = serve
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echoctl serve");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr piped"));
    let startup = read_line(&mut stderr).await;
    (child, startup, stderr)
}

/// The address in a start-up line, `listening on ADDR (...)`.
pub fn address_in(startup: &str) -> String {
    startup
        .strip_prefix("listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("not a start-up line: {startup:?}"))
        .to_string()
}

/// Stops a server as Ctrl-C would and waits for it: a SIGTERM is a clean stop, exit 0.
pub async fn stop_serve(mut server: Child) {
    signal(&server, "TERM");
    let status = tokio::time::timeout(PATIENCE, server.wait())
        .await
        .expect("server stops in time")
        .expect("wait for the server");
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop");
}

/// Sends signal `name` (`INT`, `TERM`, ...) to a running child, as `kill -s` does.
pub fn signal(child: &Child, name: &str) {
    let pid = child.id().expect("child still running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-s", name, &pid])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// A pseudo-terminal of `columns` by 50 rows: the side a program writes to, and a reader of
/// everything written there, until the last program holding it exits.
#[cfg(target_os = "linux")]
pub fn pty(columns: u16) -> (std::fs::File, tokio::task::JoinHandle<Vec<u8>>) {
    use std::io::Read;
    use std::os::fd::{AsRawFd, FromRawFd};
    // SAFETY: plain libc calls on a descriptor this function owns; every result is checked.
    let (master, terminal) = unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(
            master >= 0,
            "posix_openpt: {}",
            std::io::Error::last_os_error()
        );
        let master = std::os::fd::OwnedFd::from_raw_fd(master);
        assert_eq!(libc::grantpt(master.as_raw_fd()), 0);
        assert_eq!(libc::unlockpt(master.as_raw_fd()), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(
            libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()),
            0
        );
        let size = libc::winsize {
            ws_row: 50,
            ws_col: columns,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        assert_eq!(libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size), 0);
        let name = std::ffi::CStr::from_ptr(name.as_ptr()).to_owned();
        (master, name)
    };
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(terminal.to_str().expect("a pty's name is ASCII"))
        .expect("open the pty's terminal side");
    let mut master = std::fs::File::from(master);
    let reader = tokio::task::spawn_blocking(move || {
        let mut all = Vec::new();
        let mut chunk = [0u8; 4096];
        // Reading ends with EIO once no program holds the terminal side any more.
        while let Ok(read @ 1..) = master.read(&mut chunk) {
            all.extend_from_slice(&chunk[..read]);
        }
        all
    });
    (terminal, reader)
}
