//! `echoctl connect` in a real pseudo-terminal, end to end on the built binary: what a person
//! typing at it sees. The screen is the `vt100` emulator's, fed everything the client writes;
//! assertions read its rows and its cursor, never the escape codes.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{PATIENCE, TestServer};
use echoctl::server::{Mode, ServerConfig};

const ROWS: u16 = 24;
const COLUMNS: u16 = 100;

/// What a terminal answers to "where is the cursor?" (crossterm asks before each prompt).
const CURSOR_QUERY: &[u8] = b"\x1b[6n";

/// `echoctl` on the slave side of a pseudo-terminal, all three standard streams the terminal;
/// the test holds the master side and a screen fed from it.
struct Terminal {
    keyboard: Arc<Mutex<File>>,
    /// Kept open so the terminal's modes can be read while the child runs; closed once it has
    /// exited, so the screen's feeder reads to the end and stops.
    slave: Option<OwnedFd>,
    feeder: Option<std::thread::JoinHandle<()>>,
    /// The terminal's modes as the child left them.
    cooked_at_exit: Option<bool>,
    screen: Arc<Mutex<vt100::Parser>>,
    child: Child,
}

impl Terminal {
    fn spawn(args: &[&str]) -> Terminal {
        Terminal::spawn_as(args, "xterm-256color")
    }

    /// [`Terminal::spawn`], with `TERM` set to `term`.
    fn spawn_as(args: &[&str], term: &str) -> Terminal {
        let (mut master, mut slave) = (-1, -1);
        let size = libc::winsize {
            ws_row: ROWS,
            ws_col: COLUMNS,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: the out-pointers are valid; a null name and termios take the defaults.
        let opened = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(opened, 0, "openpty: {}", io::Error::last_os_error());
        // SAFETY: openpty returned two fresh descriptors that nothing else owns.
        let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut command = Command::new(env!("CARGO_BIN_EXE_echoctl"));
        command
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("FORCE_COLOR")
            .env("TERM", term)
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave.try_clone().unwrap()));
        // SAFETY: only async-signal-safe calls between fork and exec. The child gets a session
        // of its own with the terminal as its controlling terminal, as a shell would give it
        // (so Ctrl-C and resizes reach it).
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("spawn echoctl on a pty");
        let keyboard = Arc::new(Mutex::new(master.try_clone().unwrap()));
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            nonzero(ROWS),
            nonzero(COLUMNS),
            0,
        )));
        let feeder = std::thread::spawn({
            let screen = screen.clone();
            let keyboard = keyboard.clone();
            move || feed_screen(master, &screen, &keyboard)
        });
        Terminal {
            keyboard,
            slave: Some(slave),
            feeder: Some(feeder),
            cooked_at_exit: None,
            screen,
            child,
        }
    }

    fn type_keys(&self, keys: &str) {
        let mut keyboard = self.keyboard.lock().unwrap();
        keyboard.write_all(keys.as_bytes()).unwrap();
        keyboard.flush().unwrap();
    }

    /// Resizes the terminal, as a window resize does: the kernel tells the child (SIGWINCH).
    fn resize(&self, rows: u16, columns: u16) {
        self.screen
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(nonzero(rows), nonzero(columns));
        let size = libc::winsize {
            ws_row: rows,
            ws_col: columns,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let keyboard = self.keyboard.lock().unwrap();
        // SAFETY: a valid winsize for an open pty master.
        let resized = unsafe { libc::ioctl(keyboard.as_raw_fd(), libc::TIOCSWINSZ, &size) };
        assert_eq!(resized, 0, "TIOCSWINSZ: {}", io::Error::last_os_error());
    }

    /// The rows of the screen that hold anything, right-trimmed.
    fn written_rows(&self) -> Vec<String> {
        self.rows()
            .into_iter()
            .filter(|row| !row.is_empty())
            .collect()
    }

    /// The rows of the screen, right-trimmed.
    fn rows(&self) -> Vec<String> {
        let parser = self.screen.lock().unwrap();
        parser
            .screen()
            .rows(0, COLUMNS)
            .map(|row| row.trim_end().to_string())
            .collect()
    }

    /// The cursor's row's text and the cursor's column.
    fn cursor_row(&self) -> (String, u16) {
        let parser = self.screen.lock().unwrap();
        let (row, column) = parser.screen().cursor_position();
        let text = parser.screen().rows(0, COLUMNS).nth(usize::from(row));
        (text.unwrap_or_default().trim_end().to_string(), column)
    }

    /// Waits until the screen's rows satisfy `ready`, failing after `PATIENCE`.
    fn wait_for(&self, what: &str, ready: impl Fn(&[String]) -> bool) {
        let start = Instant::now();
        loop {
            let rows = self.rows();
            if ready(&rows) {
                return;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "timed out waiting for {what}; screen:\n{}\n{rows:?}",
                rows.join("\n")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the child to exit, and for the screen to show all it wrote; its status code.
    fn exit(&mut self) -> Option<i32> {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "echoctl did not exit; screen:\n{}",
                self.rows().join("\n")
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        self.cooked_at_exit = Some(self.cooked());
        // With no slave left open, the feeder reads what is buffered, then the end.
        self.slave = None;
        if let Some(feeder) = self.feeder.take() {
            let start = Instant::now();
            while !feeder.is_finished() {
                assert!(start.elapsed() < PATIENCE, "the screen never caught up");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        status.code()
    }

    /// Whether the terminal is in cooked mode: lines edited by the kernel, typed keys echoed.
    fn cooked(&self) -> bool {
        let Some(slave) = &self.slave else {
            return self.cooked_at_exit.expect("modes read at exit");
        };
        // SAFETY: a zeroed termios is a valid out-buffer; the descriptor is open.
        let mut modes: libc::termios = unsafe { std::mem::zeroed() };
        let read = unsafe { libc::tcgetattr(slave.as_raw_fd(), &mut modes) };
        assert_eq!(read, 0, "tcgetattr: {}", io::Error::last_os_error());
        modes.c_lflag & libc::ICANON != 0 && modes.c_lflag & libc::ECHO != 0
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // Only our own child, by its id.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Feeds everything the child writes to the screen, answering cursor-position queries as a
/// terminal does, until the terminal closes.
fn feed_screen(mut master: File, screen: &Mutex<vt100::Parser>, keyboard: &Mutex<File>) {
    let mut chunk = [0u8; 4096];
    // Bytes that may be the start of a query cut by the end of a read.
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let n = match master.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        pending.extend_from_slice(&chunk[..n]);
        let mut parser = screen.lock().unwrap();
        while let Some(at) = find(&pending, CURSOR_QUERY) {
            parser.process(&pending[..at + CURSOR_QUERY.len()]);
            pending.drain(..at + CURSOR_QUERY.len());
            let (row, column) = parser.screen().cursor_position();
            let answer = format!("\x1b[{};{}R", row + 1, column + 1);
            let _ = keyboard.lock().unwrap().write_all(answer.as_bytes());
        }
        let keep = (1..CURSOR_QUERY.len())
            .rev()
            .find(|&len| pending.ends_with(&CURSOR_QUERY[..len]))
            .unwrap_or(0);
        let done = pending.len() - keep;
        parser.process(&pending[..done]);
        pending.drain(..done);
    }
}

fn nonzero(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("not zero")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A server on its own runtime, for these synchronous tests.
struct Server {
    runtime: tokio::runtime::Runtime,
    server: Option<TestServer>,
}

impl Server {
    fn start(config: ServerConfig) -> Server {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(TestServer::start(config));
        Server {
            runtime,
            server: Some(server),
        }
    }

    fn with(mode: Mode, delay: Duration) -> Server {
        Server::start(ServerConfig {
            mode,
            delay,
            ..ServerConfig::default()
        })
    }

    fn addr(&self) -> String {
        self.server.as_ref().unwrap().addr.to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.stop());
        }
    }
}

fn is_prompt(row: &str) -> bool {
    row == ">"
}

#[test]
fn the_typed_line_stays_whole_while_echoes_arrive_above_it() {
    let server = Server::with(Mode::Concurrent, Duration::from_millis(200));
    let mut terminal = Terminal::spawn(&["connect", &server.addr()]);
    terminal.wait_for("the prompt", |rows| rows.iter().any(|r| is_prompt(r)));

    terminal.type_keys("Hello\r");
    terminal.wait_for("the loud echo", |rows| rows.contains(&"    HELLO".into()));
    // Half a line typed while the other two echoes arrive.
    terminal.type_keys("Wor");
    terminal.wait_for("the quiet echo", |rows| rows.contains(&"    hello".into()));
    let (row, column) = terminal.cursor_row();
    assert_eq!(
        (row.as_str(), column),
        ("> Wor", 5),
        "the typed line, whole, with the cursor after it; screen:\n{}",
        terminal.rows().join("\n")
    );

    terminal.type_keys("ld\r");
    terminal.wait_for("the second shout's echoes", |rows| {
        rows.contains(&"    world".into())
    });
    let rows: Vec<String> = terminal.written_rows();
    assert_eq!(
        rows,
        [
            "> Hello",
            "    HELLO",
            "    Hello",
            "    hello",
            "> World",
            "    WORLD",
            "    World",
            "    world",
            ">"
        ],
        "each echo on its own row, indented by four spaces"
    );
    let (row, _) = terminal.cursor_row();
    assert_eq!(row, ">", "the prompt waits on the bottom line");
    terminal.type_keys("\x04");
    assert_eq!(terminal.exit(), Some(0), "{}", terminal.rows().join("\n"));
}

#[test]
fn ctrl_d_waits_for_the_echoes_owed_then_exits_0() {
    let server = Server::with(Mode::Concurrent, Duration::from_secs(1));
    let mut terminal = Terminal::spawn(&["connect", &server.addr()]);
    terminal.wait_for("the prompt", |rows| rows.iter().any(|r| is_prompt(r)));
    terminal.type_keys("Hi\r");
    terminal.wait_for("the loud echo", |rows| rows.contains(&"    HI".into()));
    terminal.type_keys("\x04");
    terminal.wait_for("the status of the echoes owed", |rows| {
        rows.iter()
            .any(|row| row.starts_with("waiting for") && row.contains("echo"))
    });
    assert_eq!(terminal.exit(), Some(0), "{}", terminal.rows().join("\n"));
    let rows: Vec<String> = terminal.written_rows();
    assert_eq!(
        rows,
        ["> Hi", "    HI", "    Hi", "    hi"],
        "every echo owed, and the status line gone"
    );
    assert!(terminal.cooked());
}

#[test]
fn ctrl_c_exits_130_and_leaves_the_terminal_cooked() {
    let server = Server::with(Mode::Concurrent, Duration::from_secs(3600));
    let mut terminal = Terminal::spawn(&["connect", &server.addr()]);
    terminal.wait_for("the prompt", |rows| rows.iter().any(|r| is_prompt(r)));
    terminal.type_keys("half");
    terminal.wait_for("the typed text", |rows| rows.contains(&"> half".into()));
    assert!(
        !terminal.cooked(),
        "the editor has the terminal in raw mode"
    );
    terminal.type_keys("\x03");
    assert_eq!(terminal.exit(), Some(130), "{}", terminal.rows().join("\n"));
    assert!(terminal.cooked(), "the terminal is restored");
}

#[test]
fn a_server_that_closes_mid_line_tears_the_editor_down_and_says_why() {
    let server = Server::start(ServerConfig {
        delay: Duration::from_millis(50),
        idle_timeout: Some(Duration::from_millis(1500)),
        ..ServerConfig::default()
    });
    let mut terminal = Terminal::spawn(&["connect", &server.addr()]);
    terminal.wait_for("the prompt", |rows| rows.iter().any(|r| is_prompt(r)));
    terminal.type_keys("half typ");
    terminal.wait_for("the typed text", |rows| rows.contains(&"> half typ".into()));
    let code = terminal.exit();
    let rows: Vec<String> = terminal.written_rows();
    assert_eq!(code, Some(3), "the server's notice: {rows:?}");
    assert_eq!(rows.len(), 1, "the notice, said once: {rows:?}");
    let notice = format!("{}: echoctl: no complete line", server.addr());
    assert!(rows[0].starts_with(&notice), "{rows:?}");
    assert!(
        !rows.iter().any(|row| row.contains("half")),
        "the half-typed line is gone: {rows:?}"
    );
    assert!(terminal.cooked());
}

/// The rows from `top` on whose text starts with `text`: the first one's index.
fn row_of(rows: &[String], text: &str) -> u16 {
    let index = rows.iter().position(|row| row == text);
    let index = index.unwrap_or_else(|| panic!("no row {text:?}: {rows:?}"));
    u16::try_from(index).unwrap()
}

#[test]
fn echoes_fade_by_voice_as_in_the_demo_and_a_notice_stands_apart() {
    let server = Server::start(ServerConfig {
        delay: Duration::from_millis(50),
        idle_timeout: Some(Duration::from_millis(1500)),
        ..ServerConfig::default()
    });
    let mut terminal = Terminal::spawn(&["connect", &server.addr()]);
    terminal.wait_for("the prompt", |rows| rows.iter().any(|r| is_prompt(r)));
    terminal.type_keys("Hi\r");
    terminal.wait_for("the notice", |rows| {
        rows.iter()
            .any(|row| row.contains("echoctl: no complete line"))
    });
    assert_eq!(terminal.exit(), Some(3));
    let rows = terminal.rows();
    let parser = terminal.screen.lock().unwrap();
    let screen = parser.screen();
    // The first letter of each echo, after the indent.
    let cell = |text: &str| screen.cell(row_of(&rows, text), 4).unwrap().clone();
    let (loud, plain, quiet) = (cell("    HI"), cell("    Hi"), cell("    hi"));
    assert!(loud.bold() && !loud.dim(), "loud: bright and bold");
    assert!(!plain.bold() && !plain.dim(), "as sent: plain");
    assert!(quiet.dim() && !quiet.bold(), "quiet: dimmed");
    for echo in [&loud, &plain, &quiet] {
        assert!(
            matches!(echo.fgcolor(), vt100::Color::Idx(6 | 14)),
            "the server's cyan: {:?}",
            echo.fgcolor()
        );
    }
    let notice = rows
        .iter()
        .position(|row| row.starts_with(&format!("{}: echoctl: no complete line", server.addr())))
        .unwrap_or_else(|| panic!("the notice, after the server's address: {rows:?}"));
    let notice = screen.cell(u16::try_from(notice).unwrap(), 0).unwrap();
    assert_eq!(notice.fgcolor(), vt100::Color::Idx(3), "yellow");
}

#[test]
fn ctrl_d_on_a_non_empty_line_deletes_a_character_and_sends_nothing() {
    let server = Server::with(Mode::Concurrent, Duration::from_millis(50));
    let mut terminal = Terminal::spawn(&["connect", &server.addr()]);
    terminal.wait_for("the prompt", |rows| rows.iter().any(|r| is_prompt(r)));
    // At the end of the line Ctrl-D deletes nothing; at its start, the character there.
    terminal.type_keys("xab\x04\x01\x04");
    terminal.wait_for("the edited line", |rows| rows.contains(&"> ab".into()));
    terminal.type_keys("\r");
    terminal.wait_for("the three echoes", |rows| {
        rows.iter().filter(|row| *row == "    ab").count() == 2
    });
    let rows: Vec<String> = terminal
        .rows()
        .into_iter()
        .filter(|row| row.starts_with("    "))
        .collect();
    assert_eq!(
        rows,
        ["    AB", "    ab", "    ab"],
        "only the line sent with Enter"
    );
    terminal.type_keys("\x04");
    assert_eq!(terminal.exit(), Some(0));
}

/// Checks that `connect ARGS` on a terminal of type `term` relays bytes as they come.
fn assert_relays_bytes(args: &[&str], term: &str) {
    let server = Server::with(Mode::Concurrent, Duration::from_millis(50));
    let addr = server.addr();
    let mut terminal = Terminal::spawn_as(&[args, &[addr.as_str()]].concat(), term);
    // No editor: the terminal stays cooked, the kernel echoes what is typed.
    terminal.type_keys("hi\n");
    terminal.wait_for("the quiet echo", |rows| {
        rows.iter().filter(|row| row.ends_with(" hi")).count() == 2
    });
    assert!(terminal.cooked());
    let rows: Vec<String> = terminal.written_rows();
    // The wire's TAB and space, as the terminal shows them: to column 8, then a space.
    assert_eq!(rows, ["hi", "         HI", "         hi", "         hi"]);
    terminal.type_keys("\x04");
    assert_eq!(terminal.exit(), Some(0));
}

#[test]
fn raw_on_a_terminal_is_the_byte_transparent_relay() {
    assert_relays_bytes(&["connect", "--raw"], "xterm-256color");
}

#[test]
fn a_dumb_terminal_gets_the_byte_transparent_relay() {
    assert_relays_bytes(&["connect"], "dumb");
}

#[test]
fn sigterm_while_editing_restores_the_terminal_and_exits_130() {
    let server = Server::with(Mode::Concurrent, Duration::from_secs(3600));
    let mut terminal = Terminal::spawn(&["connect", &server.addr()]);
    terminal.wait_for("the prompt", |rows| rows.iter().any(|r| is_prompt(r)));
    terminal.type_keys("half");
    terminal.wait_for("the typed text", |rows| rows.contains(&"> half".into()));
    assert!(!terminal.cooked());
    let pid = terminal.child.id().to_string();
    let killed = Command::new("kill").args(["-s", "TERM", &pid]).status();
    assert!(killed.unwrap().success());
    assert_eq!(terminal.exit(), Some(130));
    assert!(terminal.cooked(), "the terminal is restored");
}

#[test]
fn echoes_that_arrive_together_each_get_their_own_row() {
    // Two shouts at once on reverb2: their echoes come in pairs, a pair in one read.
    let server = Server::with(Mode::Concurrent, Duration::from_millis(150));
    let mut terminal = Terminal::spawn(&["connect", &server.addr()]);
    terminal.wait_for("the prompt", |rows| rows.iter().any(|r| is_prompt(r)));
    terminal.type_keys("One\rTwo\r");
    terminal.wait_for("the last echo", |rows| rows.contains(&"    two".into()));
    terminal.type_keys("\x04");
    assert_eq!(terminal.exit(), Some(0));
    let rows: Vec<String> = terminal.written_rows();
    let echoes: Vec<&str> = rows
        .iter()
        .filter(|row| row.starts_with("    "))
        .map(String::as_str)
        .collect();
    let mut sorted = echoes.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "    ONE", "    One", "    TWO", "    Two", "    one", "    two"
        ],
        "every echo, each on its own row: {rows:?}"
    );
    assert!(
        rows.contains(&"> One".into()) && rows.contains(&"> Two".into()),
        "{rows:?}"
    );
}

#[test]
fn a_resize_redraws_the_line_being_typed() {
    let server = Server::with(Mode::Concurrent, Duration::from_millis(50));
    let mut terminal = Terminal::spawn(&["connect", &server.addr()]);
    terminal.wait_for("the prompt", |rows| rows.iter().any(|r| is_prompt(r)));
    terminal.type_keys("Hi\r");
    terminal.wait_for("the echoes", |rows| {
        rows.iter().filter(|row| *row == "    hi").count() == 1
    });
    terminal.type_keys("straße 日本");
    terminal.wait_for("the typed text", |rows| {
        rows.contains(&"> straße 日本".into())
    });
    // Narrower than the line will be: it must wrap where the terminal now does.
    terminal.resize(ROWS, 16);
    terminal.type_keys("語abc");
    terminal.wait_for("the line redrawn", |rows| {
        rows.windows(2)
            .any(|pair| pair[0] == "> straße 日本語a" && pair[1] == "bc")
    });
    let (row, column) = terminal.cursor_row();
    assert_eq!(
        (row.as_str(), column),
        ("bc", 2),
        "the cursor after the last character, on the wrapped row; screen:\n{}",
        terminal.rows().join("\n")
    );
    terminal.type_keys("\r");
    // Wrapped by the terminal, at its new width.
    terminal.wait_for("its echo", |rows| {
        rows.windows(2)
            .any(|pair| pair[0] == "    STRASSE 日本" && pair[1] == "語ABC")
    });
    terminal.type_keys("\x04");
    assert_eq!(terminal.exit(), Some(0));
}

/// An echo wider than the terminal is written as one line, which the terminal wraps (so that it
/// reflows when the terminal is resized); nothing draws over its rows, and the line being typed
/// stays whole below it.
#[test]
fn an_echo_wider_than_the_terminal_is_one_line_the_terminal_wraps() {
    let server = Server::with(Mode::Concurrent, Duration::from_millis(100));
    let mut terminal = Terminal::spawn(&["connect", &server.addr()]);
    terminal.wait_for("the prompt", |rows| rows.iter().any(|r| is_prompt(r)));
    terminal.resize(ROWS, 30);
    // Its echoes' 30th character is no space, which a row's end would not show.
    let shout = "Pack my box with five dozen liquor jugs now";
    terminal.type_keys(&format!("{shout}\r"));
    terminal.wait_for("the loud echo", |rows| {
        rows.iter().any(|row| row.starts_with("    PACK MY BOX"))
    });
    terminal.type_keys("half");
    terminal.wait_for("the quiet echo", |rows| {
        rows.windows(2).any(|pair| {
            pair[0] == "    pack my box with five doze" && pair[1] == "n liquor jugs now"
        })
    });
    {
        let parser = terminal.screen.lock().unwrap();
        let screen = parser.screen();
        let rows: Vec<String> = screen
            .rows(0, 30)
            .map(|row| row.trim_end().to_string())
            .collect();
        for echo in [
            shout.to_uppercase(),
            shout.to_string(),
            shout.to_lowercase(),
        ] {
            let line = format!("    {echo}");
            let first = rows
                .iter()
                .rposition(|row| line.starts_with(row.as_str()) && row.len() == 30)
                .unwrap_or_else(|| panic!("{line:?} on the screen: {rows:?}"));
            assert!(
                screen.row_wrapped(u16::try_from(first).unwrap()),
                "the terminal wrapped it, no line break was written: {rows:?}"
            );
            assert_eq!(
                format!("{}{}", rows[first], rows[first + 1]),
                line,
                "its rest on the next row, not drawn over: {rows:?}"
            );
        }
    }
    // The editor redraws its prompt after each echo: wait for the last redraw.
    terminal.wait_for("the typed line below the echoes", |rows| {
        rows.iter().rev().find(|row| !row.is_empty()) == Some(&"> half".to_string())
    });
    let (row, column) = terminal.cursor_row();
    assert_eq!(
        (row.as_str(), column),
        ("> half", 6),
        "the typed line, whole"
    );
    terminal.type_keys("\x15\x04");
    assert_eq!(terminal.exit(), Some(0), "{}", terminal.rows().join("\n"));
}

#[test]
fn what_the_server_sends_is_shown_safely_and_its_close_is_reported_as_in_a_pipe() {
    // A server that sends invalid UTF-8 and an escape sequence, then closes first.
    let (runtime, addr, server) = server_that_sends(b"\t caf\xe9\n\t \x1b[2J\x1b[31mred\n");
    let mut terminal = Terminal::spawn(&["connect", "--timestamps", &addr]);
    assert_eq!(terminal.exit(), Some(1));
    runtime.block_on(server).unwrap();
    let rows: Vec<String> = terminal.written_rows();
    // The client shows the invalid byte as U+FFFD (its unit tests say so exactly); the vt100
    // emulator draws no cell for that character, so here the row ends after "caf".
    assert_eq!(
        rows,
        [
            "    caf",
            "    \u{241b}[2J\u{241b}[31mred",
            "echoctl: error: the server closed the connection before the end of input"
        ],
        "unattributed echoes, indented, with no time; nothing the server sent moved the cursor"
    );
    assert!(terminal.cooked());
}

#[test]
fn timestamps_follow_each_echo_on_the_screen() {
    let server = Server::with(Mode::Concurrent, Duration::from_millis(100));
    let mut terminal = Terminal::spawn(&["connect", "--timestamps", &server.addr()]);
    terminal.wait_for("the prompt", |rows| rows.iter().any(|r| is_prompt(r)));
    terminal.type_keys("Hi\r");
    terminal.wait_for("the quiet echo", |rows| {
        rows.iter().any(|row| row.starts_with("    hi  +"))
    });
    let rows = terminal.rows();
    let stamp = |echo: &str| -> f64 {
        let row = rows
            .iter()
            .find(|row| row.starts_with(&format!("    {echo}  +")));
        let row = row.unwrap_or_else(|| panic!("no {echo}: {rows:?}"));
        let stamp = row.rsplit_once('+').map(|(_, stamp)| stamp).unwrap();
        stamp.strip_suffix('s').unwrap().parse().unwrap()
    };
    let (loud, plain, quiet) = (stamp("HI"), stamp("Hi"), stamp("hi"));
    assert!(loud < plain && plain >= 0.1 && quiet >= 0.2, "{rows:?}");
    terminal.type_keys("\x04");
    assert_eq!(terminal.exit(), Some(0));
}

#[test]
fn the_servers_last_line_is_shown_even_without_a_line_end() {
    // A server that sends a line, then a last one without `\n`, then closes first.
    let (runtime, addr, server) = server_that_sends(b"line one\nbye no newline");
    let mut terminal = Terminal::spawn(&["connect", &addr]);
    assert_eq!(terminal.exit(), Some(1), "{}", terminal.rows().join("\n"));
    runtime.block_on(server).unwrap();
    let rows: Vec<String> = terminal.written_rows();
    assert_eq!(
        rows,
        [
            "    line one",
            "    bye no newline",
            "echoctl: error: the server closed the connection before the end of input"
        ],
        "both lines, the last one too"
    );
    assert!(terminal.cooked());
}

#[test]
fn a_notice_without_a_line_end_still_ends_the_session_with_status_3() {
    let (runtime, addr, server) = server_that_sends(b"echoctl: going away");
    let mut terminal = Terminal::spawn(&["connect", &addr]);
    assert_eq!(terminal.exit(), Some(3), "{}", terminal.rows().join("\n"));
    runtime.block_on(server).unwrap();
    let rows: Vec<String> = terminal.written_rows();
    assert_eq!(
        rows,
        [format!("{addr}: echoctl: going away")],
        "the notice, once: on a terminal it was shown in the session"
    );
    assert!(terminal.cooked());
}

#[test]
fn when_wait_runs_out_the_servers_unfinished_line_is_shown_too() {
    // A server that sends an echo and the start of another, then neither finishes it nor closes.
    let (runtime, addr, server) = server_that_sends_and_holds(b"\t HELLO\n\t Hel");
    let mut terminal = Terminal::spawn(&["connect", "--wait", "300ms", &addr]);
    terminal.wait_for("the prompt", |rows| rows.iter().any(|r| is_prompt(r)));
    terminal.wait_for("the echo", |rows| rows.contains(&"    HELLO".into()));
    terminal.type_keys("\x04");
    assert_eq!(terminal.exit(), Some(4), "{}", terminal.rows().join("\n"));
    server.abort();
    drop(runtime);
    let rows: Vec<String> = terminal.written_rows();
    assert_eq!(rows[..2], ["    HELLO", "    Hel"], "{rows:?}");
    assert!(
        rows[2].starts_with("echoctl: error: the server had not closed the connection --wait"),
        "{rows:?}"
    );
    assert!(terminal.cooked());
}

/// A server on a loopback port that sends `bytes` to its first client and closes first: the
/// runtime it runs on, its address, and its task.
fn server_that_sends(
    bytes: &'static [u8],
) -> (tokio::runtime::Runtime, String, tokio::task::JoinHandle<()>) {
    serve_once(bytes, Duration::ZERO)
}

/// [`server_that_sends`], but the server then holds the connection open, saying nothing more.
fn server_that_sends_and_holds(
    bytes: &'static [u8],
) -> (tokio::runtime::Runtime, String, tokio::task::JoinHandle<()>) {
    serve_once(bytes, PATIENCE)
}

fn serve_once(
    bytes: &'static [u8],
    hold: Duration,
) -> (tokio::runtime::Runtime, String, tokio::task::JoinHandle<()>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = runtime.spawn(async move {
        use tokio::io::AsyncWriteExt;
        let (mut conn, _) = listener.accept().await.unwrap();
        conn.write_all(bytes).await.unwrap();
        tokio::time::sleep(hold).await;
    });
    (runtime, addr, server)
}

/// The rows a person reads, in order: every written row but the empty prompt.
fn shown_rows(screen: &[String], same: &impl Fn(&str) -> String) -> Vec<String> {
    screen
        .iter()
        .filter(|row| !row.is_empty() && !is_prompt(row))
        .map(|row| same(row))
        .collect()
}

/// Plays a session the docs show on `terminal`, as a person would: each `> ` line typed once
/// the rows above it are on the screen, and Ctrl-D once the rows above a `waiting for` status
/// are; returns once the screen shows every row. `same` is what two rows must share to match.
fn replay_shown(terminal: &Terminal, shown: &[&str], same: impl Fn(&str) -> String) {
    let expected = |rows: &[&str]| rows.iter().map(|row| same(row)).collect::<Vec<_>>();
    for (index, row) in shown.iter().enumerate() {
        let keys = if let Some(typed) = row.strip_prefix("> ") {
            format!("{typed}\r")
        } else if row.starts_with("waiting for") {
            "\x04".to_string()
        } else {
            continue;
        };
        let above = expected(&shown[..index]);
        terminal.wait_for(&format!("the rows above {row:?}"), |screen| {
            shown_rows(screen, &same) == above
        });
        terminal.type_keys(&keys);
    }
    let all = expected(shown);
    terminal.wait_for("every row shown", |screen| shown_rows(screen, &same) == all);
}

/// A terminal session from the docs: its command after `$ echoctl `, and the rows below it.
fn shown_session(page: &str, name: &str) -> (Vec<String>, Vec<String>) {
    let block = crate::recipes::example(page, name);
    let mut lines = block.lines();
    let command = lines.next().unwrap_or_default();
    let args = command
        .strip_prefix("$ echoctl ")
        .unwrap_or_else(|| panic!("{page} ({name}) starts with `$ echoctl `: {command:?}"));
    (
        args.split_whitespace().map(str::to_string).collect(),
        lines.map(str::to_string).collect(),
    )
}

/// `echoctl ARGS ADDR` in a terminal, with `server`'s address, once it shows its prompt.
fn connect_at_the_prompt(args: &[String], server: &Server) -> Terminal {
    let addr = server.addr();
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .chain([addr.as_str()])
        .collect();
    let terminal = Terminal::spawn(&args);
    terminal.wait_for("the prompt", |rows| rows.iter().any(|r| is_prompt(r)));
    terminal
}

/// The README's first example, typed as a person would: what the screen shows, row for row.
#[test]
fn the_readmes_session_is_what_the_screen_shows() {
    let (args, shown) = shown_session("README.md", "readme-session");
    let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
    // The README's server is `serve --mode sequential`; what the screen shows does not depend on
    // the delay, and half a second leaves room to type each line before the next echo is due.
    let server = Server::with(Mode::Sequential, Duration::from_millis(500));
    let mut terminal = connect_at_the_prompt(&args, &server);
    replay_shown(&terminal, &shown, str::to_string);
    terminal.type_keys("\x04");
    assert_eq!(terminal.exit(), Some(0), "{}", terminal.rows().join("\n"));
    assert_eq!(
        terminal.written_rows(),
        shown,
        "after Ctrl-D, the screen the README shows"
    );
}

/// The guide's `connect --timestamps` session, at its delay: the screen it shows, times aside.
#[test]
fn the_guides_timestamped_session_is_what_the_screen_shows() {
    let (args, shown) = shown_session("docs/guide.md", "guide-connect-timestamps");
    let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
    let server = Server::with(Mode::Concurrent, Duration::from_millis(700));
    let mut terminal = connect_at_the_prompt(&args, &server);
    replay_shown(&terminal, &shown, |row| {
        crate::recipes::without_figures(row)
    });
    assert_eq!(terminal.exit(), Some(0), "{}", terminal.rows().join("\n"));
}

/// The terminal client over TLS: the same screen as over TCP, the session's end included.
#[test]
fn the_terminal_client_works_over_tls() {
    use echoctl::tls::{ServerTls, ServerTlsOptions};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let tls = ServerTls::new(
        &ServerTlsOptions::default(),
        &"127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    let fingerprint = tls.fingerprint().to_string();
    let running = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = ServerConfig {
            delay: Duration::from_millis(200),
            ..ServerConfig::default()
        };
        echoctl::server::spawn_with_tls(
            listener,
            config,
            Some(std::sync::Arc::new(tls)),
            echoctl::timer::Timer::start(),
        )
        .unwrap()
    });
    let addr = running.addr.to_string();
    let mut terminal =
        Terminal::spawn(&["connect", "--tls", "--tls-fingerprint", &fingerprint, &addr]);
    terminal.wait_for("the prompt", |rows| rows.iter().any(|r| is_prompt(r)));
    terminal.type_keys("Hello\r");
    terminal.wait_for("the loud echo", |rows| rows.contains(&"    HELLO".into()));
    terminal.type_keys("\x04");
    assert_eq!(terminal.exit(), Some(0), "{}", terminal.rows().join("\n"));
    assert_eq!(
        terminal.written_rows(),
        ["> Hello", "    HELLO", "    Hello", "    hello"]
    );
    assert!(terminal.cooked());
    runtime.block_on(running.stop()).unwrap();
}
