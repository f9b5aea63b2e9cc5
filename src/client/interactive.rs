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
//!
//! `editor` runs reedline on its thread; `screen` prints above the edited line or under the
//! status line; `wrap` measures a painted line against the terminal's width.

mod editor;
mod screen;
mod wrap;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use reedline::ExternalPrinter;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use echoctl_core::client::transcript::Heard;
use echoctl_core::echo::ECHO_PREFIX;
use echoctl_core::lines::without_line_end;
use echoctl_core::plural::counted;
use echoctl_core::timeline::label;

use super::{SessionEnd, SharedSession, lock, sleep_until_some};
use crate::paint::Painter;
use editor::{BreakOnDrop, Typed, start_editor, stop_editor};
use screen::{HAND_OVER_PAUSE, Screen};

/// How the interactive session shows itself.
#[derive(Debug, Clone)]
pub(crate) struct InteractiveOptions {
    /// Who the notices come from: the server's address, as connected.
    pub origin: String,
    pub color: bool,
    pub timestamps: bool,
}

/// Rows the printer holds; it is handed one at a time (see `Screen::pump`).
const PRINTER_CAPACITY: usize = 16;

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
    let mut screen = Screen::new(printer, painter);

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

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
