//! The progress bar on stderr: how far the session has got, for a person at a terminal.
//!
//! The transcript goes to stdout and the bar to stderr, often the same terminal. Every
//! transcript line is printed inside [`Progress::suspend`], which takes the bar off the screen,
//! prints, and draws it again below, so a line and the bar never share a row. When stderr is not
//! a terminal there is no bar at all, not even an invisible one drawing escapes.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::script::Tally;
use crate::server::Mode;

/// How often the bar's clock is redrawn.
const TICK: Duration = Duration::from_millis(100);

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

    /// Shows a new bar for a session expected to take `expected`.
    pub fn begin(&mut self, mode: Mode, tally: Tally, expected: Duration) {
        self.clear();
        if !self.shown {
            return;
        }
        let book_program = match mode {
            Mode::Sequential => "reverb1",
            Mode::Concurrent => "reverb2",
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
        let bar = ProgressBar::with_draw_target(
            Some(tally.echoes_total as u64),
            ProgressDrawTarget::stderr(),
        )
        .with_style(style)
        .with_prefix(book_program);
        bar.enable_steady_tick(TICK);
        self.bar = Some(bar);
        self.update(tally);
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
