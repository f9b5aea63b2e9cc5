//! `connect` on a terminal: a line editor on the bottom line, the server's lines above it.
//!
//! The editor is reedline, on a thread of its own (its `read_line` blocks). Three things make it
//! the right one here: its external printer is a channel this module can also drain itself, so
//! no line sent to be printed is lost when the editor returns (on Ctrl-D, say) with lines still
//! queued; its break signal makes a blocked `read_line` return from another thread, so when the
//! server goes away the editor is torn down through its own path, restoring the terminal,
//! instead of being abandoned in raw mode; and it redraws the edited line after each printed
//! one, handles resizes and edits any Unicode text.
//!
//! ```text
//!   editor thread (reedline) ──typed lines──▶ this loop ──TCP──▶ server
//!          ▲                                     │
//!          └──────external printer (lines)───────┘  (painted by paint, as the demo's)
//! ```
//!
//! Only this loop decides what the screen shows: while the editor runs, every line goes through
//! its printer; once it has returned, lines are written directly, with a one-line status of the
//! echoes still owed kept on the bottom line. Everything is drawn on stderr, where reedline draws
//! (so the session is interactive only when stdin, stdout and stderr are all the terminal).

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use reedline::{ExternalPrinter, Prompt, PromptEditMode, PromptHistorySearch, Reedline, Signal};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use unicode_width::UnicodeWidthChar;

use echoctl_core::client::transcript::Heard;
use echoctl_core::echo::ECHO_PREFIX;
use echoctl_core::lines::without_line_end;
use echoctl_core::plural::counted;
use echoctl_core::timeline::label;

use super::{SessionEnd, SharedSession, lock, sleep_until_some};
use crate::paint::Painter;

/// How the interactive session shows itself.
#[derive(Debug, Clone)]
pub(crate) struct InteractiveOptions {
    /// Who the notices come from: the server's address, as connected.
    pub origin: String,
    pub color: bool,
    pub timestamps: bool,
}

/// The prompt, before what is typed.
const PROMPT: &str = "> ";

/// How often the editor looks for lines to print (and for the break signal) while it waits for
/// a key: short enough that an echo shows as it arrives.
const EDITOR_POLL: Duration = Duration::from_millis(10);

/// How long the editor may take to notice the break signal and give the terminal back.
const EDITOR_STOP: Duration = Duration::from_secs(2);

/// Rows the printer holds; it is handed one at a time (see `Screen::pump`).
const PRINTER_CAPACITY: usize = 16;

/// Rows waiting for the editor beyond which the server is not read (see `Screen::backlogged`).
const MAX_PENDING: usize = 4096;

/// How long after handing the editor a row the next one may follow.
const HAND_OVER_PAUSE: Duration = Duration::from_millis(3);

/// What the editor thread hands to the session.
#[derive(Debug)]
enum Typed {
    Line(String),
    /// Ctrl-D on an empty line.
    End,
    /// Ctrl-C.
    Interrupt,
    /// The break signal was seen: the editor has given the terminal back.
    Stopped,
    Failed(io::Error),
}

/// Runs the session on the terminal until the server closes, Ctrl-C, `--wait` runs out or
/// `interrupt` (SIGINT, SIGTERM) completes. The terminal is left as it was found. `session`
/// notes what is typed and heard and decides how the session ended; this shows it.
pub(crate) async fn run<S: AsyncRead + AsyncWrite + Send + 'static>(
    stream: S,
    options: &InteractiveOptions,
    session: SharedSession,
    interrupt: impl Future<Output = ()>,
) -> anyhow::Result<SessionEnd> {
    let painter = Painter::new(options.color);
    let (typed_tx, mut typed_rx) = mpsc::unbounded_channel();
    let printer = ExternalPrinter::new(PRINTER_CAPACITY);
    let breaker = Arc::new(AtomicBool::new(false));
    // However this returns (a panic too), the editor is told to give the terminal back.
    let _stop_editor = BreakOnDrop(breaker.clone());
    start_editor(options.color, printer.clone(), breaker.clone(), typed_tx)
        .context("cannot start the line editor")?;
    let mut screen = Screen {
        printer: Some(printer),
        pending: VecDeque::new(),
        handing: None,
        last_handed: None,
        status: None,
        painter,
    };

    let (mut from_server, to_server) = tokio::io::split(stream);
    // Shouts are written by a task of their own: a server that does not read must not stop this
    // loop from seeing Ctrl-C, a signal or `--wait`.
    let (shouts, shouts_rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_shouts(shouts_rx, to_server));
    let mut shouts = Some(shouts);
    let mut buf = vec![0u8; 16 * 1024];
    let mut interrupt = std::pin::pin!(interrupt);
    let ended: anyhow::Result<SessionEnd> = loop {
        let wake = lock(&session).next_wake();
        let mut shown = Vec::new();
        let on_line = |line: &[u8], heard| shown.push(show(&painter, options, heard, line));
        tokio::select! {
            // While the editor is behind, the server is not read: TCP makes it wait.
            read = from_server.read(&mut buf), if !screen.backlogged() => {
                let now = Instant::now();
                // At the end (a close or an error), a last line without `\n` is shown too.
                let ended = {
                    let mut session = lock(&session);
                    match read {
                        Ok(0) => Some(session.server_closed(now, on_line)),
                        Ok(n) => {
                            session.receive(now, &buf[..n], on_line);
                            None
                        }
                        Err(e) => Some(session.connection_failed(now, e, on_line)),
                    }
                };
                let owed = lock(&session).owed();
                if let Err(e) = screen.print(shown, owed) {
                    break Err(e).context("cannot write to the terminal");
                }
                if let Some(ended) = ended {
                    break ended.map_err(anyhow::Error::new);
                }
            }
            typed = typed_rx.recv(), if screen.editing() => match typed {
                Some(Typed::Line(line)) => {
                    // Noted first: the loud echo can come back before the write returns.
                    let shouts_typed = lock(&session).typed(Instant::now(), line.as_bytes());
                    if let Some(shouts) = &shouts {
                        // The writer gone means the server is: its read side says how.
                        let _ = shouts.send(shouts_typed);
                    }
                }
                // The editor's thread gone without a word: it failed, input did not end.
                None => {
                    screen.editor_gone();
                    break Err(anyhow::anyhow!("the line editor stopped unexpectedly"));
                }
                Some(Typed::End) => {
                    screen.erase_empty_prompt();
                    screen.editor_gone();
                    // The writer half-closes once it has written what was typed before.
                    shouts = None;
                    let owed = {
                        let mut session = lock(&session);
                        session.end_of_input(Instant::now());
                        session.owed()
                    };
                    tracing::debug!("input closed; waiting for {}", counted(owed, "echo"));
                    if let Err(e) = screen.print(Vec::new(), owed) {
                        break Err(e).context("cannot write to the terminal");
                    }
                }
                Some(Typed::Interrupt) => {
                    screen.editor_gone();
                    break Ok(SessionEnd::Interrupted);
                }
                Some(Typed::Stopped) => screen.editor_gone(),
                Some(Typed::Failed(e)) => {
                    screen.editor_gone();
                    break Err(e).context("the line editor failed");
                }
            },
            _ = tokio::time::sleep(HAND_OVER_PAUSE), if screen.has_pending() => screen.pump(),
            () = sleep_until_some(wake) => {
                let ended = lock(&session).advance(Instant::now(), on_line);
                if let Some(ended) = ended {
                    let owed = lock(&session).owed();
                    if let Err(e) = screen.print(shown, owed) {
                        break Err(e).context("cannot write to the terminal");
                    }
                    break Ok(ended);
                }
            }
            _ = &mut interrupt => break Ok(SessionEnd::Interrupted),
        }
    };

    writer.abort();
    if screen.editing() {
        stop_editor(&breaker, &mut typed_rx).await;
        screen.editor_gone();
    }
    // The status line, or the prompt with what was half typed: gone, so that whatever is said
    // next starts on a line of its own.
    screen.clear_bottom_line();
    ended
}

/// Writes each shout to the server as it is typed; at the end of input (the channel closed),
/// half-closes: "no more shouts", while echoes keep coming back. A failed write means the server
/// is gone, which its read side reports.
async fn write_shouts<S: AsyncWrite>(
    mut shouts: mpsc::UnboundedReceiver<Vec<u8>>,
    mut to_server: tokio::io::WriteHalf<S>,
) {
    while let Some(shout) = shouts.recv().await {
        if to_server.write_all(&shout).await.is_err() {
            return;
        }
    }
    let _ = to_server.shutdown().await;
}

/// A line from the server as the screen shows it: echoes as the demo shows them, notices
/// distinct, and nothing the server sent can move the cursor or change colors (control
/// characters are shown as symbols, invalid UTF-8 as replacement characters).
fn show(
    painter: &Painter,
    options: &InteractiveOptions,
    heard: Option<Heard>,
    line: &[u8],
) -> String {
    let line = without_line_end(line);
    match heard {
        Some(Heard::Notice) => painter.notice(&options.origin, &label(line)),
        Some(Heard::Echo(attributed)) => {
            let text = label(line.strip_prefix(ECHO_PREFIX).unwrap_or(line));
            match attributed {
                Some(echo) if options.timestamps => format!(
                    "{}  {}",
                    painter.echo(&text, Some(echo.voice)),
                    painter.elapsed(echo.after)
                ),
                Some(echo) => painter.echo(&text, Some(echo.voice)),
                None => painter.unattributed(&text),
            }
        }
        // Not an echo (a plain echo server's bytes), or the rest of a line too long to split
        // whole.
        Some(Heard::Other) | None => painter.unattributed(&label(line)),
    }
}

/// The terminal's width now (it may have been resized), if it can be read.
fn terminal_columns() -> Option<usize> {
    console::Term::stderr()
        .size_checked()
        .map(|(_, columns)| usize::from(columns))
}

/// How many rows a painted line takes on a terminal `columns` wide, which wraps it. A line that
/// fills its last row to the edge is given one more: some terminals move to the next row as soon
/// as the last column is written.
fn rows_taken(line: &str, columns: usize) -> usize {
    let (rows, last_width) = wrap_measured(line, columns);
    rows.len() + usize::from(last_width >= columns)
}

/// Cuts a painted line into rows of at most `columns` cells, as a terminal wraps it (for the
/// status line, kept to one row, and to count the rows a line takes). Escape sequences take no
/// cell; the styles in force at a cut are reset before it and set again after it, so each row
/// is painted as the whole line was.
fn wrap(line: &str, columns: usize) -> Vec<String> {
    wrap_measured(line, columns).0
}

/// [`wrap`], and the cells the last row takes.
fn wrap_measured(line: &str, columns: usize) -> (Vec<String>, usize) {
    let columns = columns.max(1);
    let mut rows = Vec::new();
    let mut row = String::new();
    let mut width = 0;
    // The SGR sequences in force: every one since the last reset.
    let mut styles = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            let mut sequence = String::from(c);
            if let Some(bracket) = chars.next_if_eq(&'[') {
                sequence.push(bracket);
                for next in chars.by_ref() {
                    sequence.push(next);
                    if ('\x40'..='\x7e').contains(&next) {
                        break;
                    }
                }
            }
            if sequence == "\x1b[0m" || sequence == "\x1b[m" {
                styles.clear();
            } else if sequence.ends_with('m') {
                styles.push_str(&sequence);
            }
            row.push_str(&sequence);
            continue;
        }
        let cells = c.width().unwrap_or(0);
        if width + cells > columns && width > 0 {
            if !styles.is_empty() {
                row.push_str("\x1b[0m");
            }
            rows.push(std::mem::take(&mut row));
            row.push_str(&styles);
            width = 0;
        }
        row.push(c);
        width += cells;
    }
    rows.push(row);
    (rows, width)
}

/// What the session prints, and where: through the editor's printer while it runs, directly
/// (under the status line) once it has returned.
///
/// Every line is printed whole, however wide, and the terminal wraps it, so that when the
/// terminal is resized it reflows the line like any other output. The editor's printer, though,
/// counts one row per line it prints and redraws the edited line on the row after: a line
/// wrapped onto more rows would be partly drawn over. So a line of `n` rows is handed over as
/// `n − 1` empty lines, one at a time, which make its rows below the edited line, then the line
/// itself, written from the first of them (the cursor moved up `n − 1` rows): the printer's
/// count is right, and the line is one line to the terminal.
struct Screen {
    printer: Option<ExternalPrinter<String>>,
    /// Lines waiting for the editor to take the one before (see [`Screen::pump`]).
    pending: VecDeque<String>,
    /// The line being handed to the editor, row by row.
    handing: Option<Handing>,
    /// When the last row was handed to the editor.
    last_handed: Option<Instant>,
    /// The status line on the bottom row, once input has ended.
    status: Option<String>,
    painter: Painter,
}

/// A line being handed to the editor's printer (see [`Screen`]).
#[derive(Debug)]
struct Handing {
    line: String,
    /// Empty lines handed for it so far: the rows made for it.
    rows_made: usize,
    /// The line itself has been handed.
    handed: bool,
}

impl Screen {
    fn editing(&self) -> bool {
        self.printer.is_some()
    }

    /// Whether enough rows wait for the editor that no more should be read from the server,
    /// so that a server sending faster than rows are shown does not fill memory.
    fn backlogged(&self) -> bool {
        self.pending.len() >= MAX_PENDING
    }

    fn has_pending(&self) -> bool {
        let handing = self.handing.as_ref().is_some_and(|handing| !handing.handed);
        self.printer.is_some() && (handing || !self.pending.is_empty())
    }

    /// Hands the editor the next row: an empty line made for the line being handed, or the line,
    /// once it has taken the one before.
    ///
    /// One row at a time: after printing a batch of rows the editor checks where the cursor is,
    /// and asks the terminal before its own output of the batch has reached it (the question
    /// goes to stdout, the batch is still buffered for stderr); with two rows or more in a batch
    /// the answer looks like drift, and it redraws the prompt at the top of a cleared screen.
    /// So a row is handed only when the printer is empty, and [`HAND_OVER_PAUSE`] after the
    /// last one, which the editor's drain loop has then long finished: every batch it finds holds
    /// one row. The editor drains every [`EDITOR_POLL`], so this shows about a hundred rows a
    /// second, more than a person reads.
    fn pump(&mut self) {
        let Some(printer) = &self.printer else {
            return;
        };
        let paused = self
            .last_handed
            .is_some_and(|handed| handed.elapsed() < HAND_OVER_PAUSE);
        if paused || !printer.receiver().is_empty() {
            return;
        }
        // The printer is empty: what was handed last has been printed.
        if self.handing.as_ref().is_some_and(|handing| handing.handed) {
            self.handing = None;
        }
        if self.handing.is_none() {
            let Some(line) = self.pending.pop_front() else {
                return;
            };
            self.handing = Some(Handing {
                line,
                rows_made: 0,
                handed: false,
            });
        }
        let Some(handing) = self.handing.as_mut() else {
            return;
        };
        // Measured now, so that a resize while rows are being made is taken into account.
        let rows = terminal_columns().map_or(1, |columns| rows_taken(&handing.line, columns));
        let row = if handing.rows_made + 1 < rows {
            handing.rows_made += 1;
            // The printer splits what it is handed into lines, and an empty string has none: an
            // empty line is a line end.
            "\n".to_string()
        } else {
            handing.handed = true;
            match handing.rows_made {
                0 => handing.line.clone(),
                up => format!("\x1b[{up}A{}", handing.line),
            }
        };
        // Capacity is never reached: the printer holds at most this one row.
        let _ = printer.sender().try_send(row);
        self.last_handed = Some(Instant::now());
    }

    /// Prints `lines` above the edited line or the status line; then, once input has ended,
    /// the status of the `owed` echoes.
    fn print(&mut self, lines: Vec<String>, owed: u64) -> io::Result<()> {
        if self.printer.is_some() {
            self.pending.extend(lines);
            self.pump();
            return Ok(());
        }
        let status = if owed == 0 {
            "waiting for the server to close; Ctrl-C to stop".to_string()
        } else {
            format!("waiting for {}; Ctrl-C to stop", counted(owed, "echo"))
        };
        // On one row, or clearing it would leave the rest behind.
        let status = match terminal_columns() {
            Some(columns) => wrap(&status, columns.saturating_sub(1)).swap_remove(0),
            None => status,
        };
        self.status = Some(self.painter.faint(&status));
        self.write_direct(&lines)
    }

    /// Writes `lines` to the terminal over the status line, and the status line under them.
    fn write_direct(&self, lines: &[String]) -> io::Result<()> {
        let mut out = io::stderr().lock();
        // Back to the start of the bottom row, cleared (it holds the status line, if any).
        write!(out, "\r\x1b[K")?;
        for line in lines {
            writeln!(out, "{line}")?;
        }
        if let Some(status) = &self.status {
            write!(out, "{status}")?;
        }
        out.flush()
    }

    /// The editor has returned: it prints nothing more, so what it had not printed yet is
    /// printed here, in order.
    fn editor_gone(&mut self) {
        let Some(printer) = self.printer.take() else {
            return;
        };
        // A row still in the printer is the line being handed, or an empty line made for it.
        let unprinted = printer.receiver().try_iter().count() > 0;
        let mut lines = Vec::new();
        if let Some(handing) = self.handing.take()
            && (unprinted || !handing.handed)
        {
            lines.push(handing.line);
        }
        lines.extend(self.pending.drain(..));
        if !lines.is_empty() {
            let _ = self.write_direct(&lines);
        }
    }

    /// After Ctrl-D the editor leaves its prompt, with nothing typed, on the row above the
    /// cursor: the status line takes its place.
    fn erase_empty_prompt(&self) {
        let mut out = io::stderr().lock();
        let _ = write!(out, "\x1b[A\r\x1b[K");
        let _ = out.flush();
    }

    fn clear_bottom_line(&mut self) {
        self.status = None;
        let mut out = io::stderr().lock();
        let _ = write!(out, "\r\x1b[K");
        let _ = out.flush();
    }
}

/// Starts the editor's thread: it reads lines until Ctrl-D, Ctrl-C or the break signal.
fn start_editor(
    color: bool,
    printer: ExternalPrinter<String>,
    breaker: Arc<AtomicBool>,
    typed: mpsc::UnboundedSender<Typed>,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("line editor".to_string())
        .spawn(move || {
            let mut editor = Reedline::create()
                .with_external_printer(printer)
                .with_break_signal(breaker)
                .with_poll_interval(EDITOR_POLL)
                .with_ansi_colors(color)
                .use_kitty_keyboard_enhancement(false);
            let prompt = LinePrompt {
                indicator: Painter::new(color).faint(PROMPT),
            };
            let edited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                loop {
                    let line = match editor.read_line(&prompt) {
                        Ok(Signal::Success(line)) => Typed::Line(line),
                        Ok(Signal::CtrlD) => Typed::End,
                        Ok(Signal::CtrlC) => Typed::Interrupt,
                        Ok(Signal::ExternalBreak(_)) => Typed::Stopped,
                        Ok(_) => continue,
                        Err(e) => Typed::Failed(e),
                    };
                    let last = !matches!(line, Typed::Line(_));
                    if typed.send(line).is_err() || last {
                        return;
                    }
                }
            }));
            if edited.is_err() {
                // The editor panicked with the terminal raw: it is given back here.
                let _ = crossterm::terminal::disable_raw_mode();
                let _ = typed.send(Typed::Failed(io::Error::other("the line editor panicked")));
            }
        })
        .map(drop)
}

/// Sets the editor's break signal when dropped.
struct BreakOnDrop(Arc<AtomicBool>);

impl Drop for BreakOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Asks the editor to return and waits (a bounded time) until it has given the terminal back.
async fn stop_editor(breaker: &AtomicBool, typed: &mut mpsc::UnboundedReceiver<Typed>) {
    breaker.store(true, Ordering::SeqCst);
    let _ = tokio::time::timeout(EDITOR_STOP, async {
        while let Some(Typed::Line(_)) = typed.recv().await {
            // A line entered as the session ended: the server is gone, it cannot be sent.
        }
    })
    .await;
}

/// `> `, dimmed, and nothing else.
struct LinePrompt {
    indicator: String,
}

impl Prompt for LinePrompt {
    fn render_prompt_left(&self) -> std::borrow::Cow<'_, str> {
        "".into()
    }

    fn render_prompt_right(&self) -> std::borrow::Cow<'_, str> {
        "".into()
    }

    fn render_prompt_indicator(&self, _mode: PromptEditMode) -> std::borrow::Cow<'_, str> {
        self.indicator.as_str().into()
    }

    fn render_prompt_multiline_indicator(&self) -> std::borrow::Cow<'_, str> {
        "".into()
    }

    fn render_prompt_history_search_indicator(
        &self,
        search: PromptHistorySearch,
    ) -> std::borrow::Cow<'_, str> {
        format!("(search: {}) ", search.term).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use echoctl_core::client::transcript::Attributed;
    use echoctl_core::echo::Voice;

    fn options(timestamps: bool) -> InteractiveOptions {
        InteractiveOptions {
            origin: "127.0.0.1:8000".to_string(),
            color: false,
            timestamps,
        }
    }

    #[test]
    fn lines_are_shown_as_the_demo_shows_them() {
        let painter = Painter::new(false);
        let loud = Some(Heard::Echo(Some(Attributed {
            voice: Voice::Upper,
            after: Duration::from_millis(1002),
        })));
        assert_eq!(show(&painter, &options(false), loud, b"\t HI\n"), "    HI");
        assert_eq!(
            show(&painter, &options(true), loud, b"\t HI\r\n"),
            "    HI  +1.002s"
        );
        let stray = Some(Heard::Echo(None));
        assert_eq!(show(&painter, &options(true), stray, b"\t YO\n"), "    YO");
        assert_eq!(
            show(
                &painter,
                &options(false),
                Some(Heard::Notice),
                b"echoctl: idle\n"
            ),
            "127.0.0.1:8000: echoctl: idle"
        );
    }

    #[test]
    fn long_lines_are_cut_into_rows_that_keep_their_style() {
        assert_eq!(wrap("    HELLO", 80), ["    HELLO"]);
        assert_eq!(wrap("    HELLO", 6), ["    HE", "LLO"]);
        assert_eq!(wrap("abcdef", 3), ["abc", "def"], "exactly full rows");
        // Wide characters take two cells and are never split.
        assert_eq!(wrap("日本語", 5), ["日本", "語"]);
        let painted = "    \x1b[96;1mHELLO\x1b[0m";
        assert_eq!(
            wrap(painted, 6),
            ["    \x1b[96;1mHE\x1b[0m", "\x1b[96;1mLLO\x1b[0m"]
        );
        assert_eq!(wrap("", 10), [""]);
    }

    #[test]
    fn a_line_takes_the_rows_the_terminal_wraps_it_into() {
        assert_eq!(rows_taken("    HELLO", 80), 1);
        assert_eq!(rows_taken("    HELLO", 6), 2);
        assert_eq!(
            rows_taken("abcdef", 3),
            3,
            "a row filled to the edge, and one for the cursor"
        );
        assert_eq!(rows_taken("abcde", 3), 2);
        assert_eq!(
            rows_taken("日本語", 5),
            2,
            "a wide character at the edge goes to the next row"
        );
        assert_eq!(
            rows_taken("    \x1b[96;1mHELLO\x1b[0m", 8),
            2,
            "escapes take no cell"
        );
        assert_eq!(rows_taken("    \x1b[96;1mHELLO\x1b[0m", 10), 1);
        assert_eq!(rows_taken("", 10), 1);
    }

    #[test]
    fn nothing_the_server_sends_reaches_the_terminal_as_a_control() {
        let painter = Painter::new(false);
        let shown = show(
            &painter,
            &options(false),
            Some(Heard::Echo(None)),
            b"\t \x1b[2Jcaf\xe9\n",
        );
        assert_eq!(shown, "    \u{241b}[2Jcaf\u{fffd}");
    }
}
