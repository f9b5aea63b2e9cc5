//! The progress bar on stderr: how far the session has got, for a person at a terminal.
//!
//! The transcript goes to stdout and the bar to stderr, often the same terminal. Every
//! transcript line is printed inside [`Progress::suspend`], which takes the bar off the screen,
//! prints, and draws it again below, so a line and the bar never share a row. When stderr is not
//! a terminal there is no bar at all, not even an invisible one drawing escapes.
//!
//! On Ctrl-C the terminal itself echoes `^C` where the cursor is, at the end of the bar; see
//! [`RoomForCtrlC`] for why the bar stops short of the last columns.

use std::time::Duration;

use std::io;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle, TermLike};

use super::script::Tally;
use crate::server::Mode;

/// How often the bar's clock is redrawn.
const TICK: Duration = Duration::from_millis(100);

/// At most this many redraws a second, indicatif's default for stderr.
const REFRESH_HZ: u8 = 20;

#[derive(Debug)]
pub struct Progress {
    shown: bool,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// No bar: stderr is not a terminal.
    pub fn hidden() -> Progress {
        Progress {
            shown: false,
            bar: None,
        }
    }

    /// A bar on stderr, which the caller has found to be a terminal.
    pub fn on_stderr() -> Progress {
        Progress {
            shown: true,
            bar: None,
        }
    }

    /// Shows a new bar for a session of `echoes_total` echoes, expected to take `expected`; its
    /// counts come with the first [`Progress::update`].
    pub fn begin(&mut self, mode: Mode, echoes_total: usize, expected: Duration) {
        if !self.shown {
            return;
        }
        let book_program = match mode {
            Mode::Sequential => "reverb1",
            Mode::Concurrent => "reverb2",
            Mode::Plain => "plain echo",
        };
        let clock = move |state: &ProgressState, out: &mut dyn std::fmt::Write| {
            let _ = write!(
                out,
                "{:.1}s / {:.1}s",
                state.elapsed().as_secs_f64(),
                expected.as_secs_f64()
            );
        };
        let style = ProgressStyle::with_template("{spinner} {prefix} [{bar:20}] {msg}  {clock}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key("clock", clock)
            .progress_chars("=> ");
        let target = ProgressDrawTarget::term_like_with_hz(
            Box::new(RoomForCtrlC(console::Term::stderr())),
            REFRESH_HZ,
        );
        let bar = ProgressBar::with_draw_target(Some(echoes_total as u64), target)
            .with_style(style)
            .with_prefix(book_program);
        bar.enable_steady_tick(TICK);
        self.bar = Some(bar);
    }

    pub fn update(&self, tally: Tally) {
        if let Some(bar) = &self.bar {
            bar.set_position(tally.echoes_heard as u64);
            bar.set_message(format!(
                "shouts sent {}/{}, echoes heard {}/{}",
                tally.shouts_sent, tally.shouts_total, tally.echoes_heard, tally.echoes_total
            ));
        }
    }

    /// Runs `print` with the bar off the screen.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// Takes the bar off the screen for good.
    pub fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The terminal on stderr, as indicatif sees it: two columns narrower than it is.
///
/// indicatif pads the bar with spaces to the terminal's full width, which leaves the cursor in the
/// last column. The `^C` a terminal echoes on Ctrl-C would then wrap to a new line, clearing the
/// bar would clear that line instead, and a stale bar would stay above the shell's prompt. With
/// two columns to spare, `^C` lands on the bar's own line and goes when the bar is cleared.
#[derive(Debug)]
struct RoomForCtrlC(console::Term);

impl TermLike for RoomForCtrlC {
    fn width(&self) -> u16 {
        let (_, columns) = self.0.size();
        columns.saturating_sub(2).max(1)
    }

    fn height(&self) -> u16 {
        self.0.size().0
    }

    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_up(n)
    }

    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_down(n)
    }

    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_right(n)
    }

    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_left(n)
    }

    fn write_line(&self, s: &str) -> io::Result<()> {
        self.0.write_line(s)
    }

    fn write_str(&self, s: &str) -> io::Result<()> {
        self.0.write_str(s)
    }

    fn clear_line(&self) -> io::Result<()> {
        self.0.clear_line()
    }

    fn flush(&self) -> io::Result<()> {
        self.0.flush()
    }
}
