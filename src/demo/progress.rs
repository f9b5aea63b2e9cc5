//! The progress bar on stderr: how far the session has got, for a person at a terminal.
//!
//! The transcript goes to stdout and the bar to stderr, often the same terminal. Every
//! transcript line is printed inside [`Progress::suspend`], which takes the bar off the screen,
//! prints, and draws it again below, so a line and the bar never share a row. That works only
//! when the transcript is on the bar's own terminal: printed elsewhere onto the same screen
//! (`echoctl demo | cat`) its lines would come between a draw and a clear. So the caller shows
//! a bar only when stdout and stderr are the same terminal, and otherwise none at all, not even
//! an invisible one drawing escapes.
//!
//! The bar is one line at any width: [`line()`] keeps to the columns there are, dropping the
//! least useful parts first, and every part has a fixed width for the session (counts padded to
//! their totals' digits), so the line does not jump as the counts grow. A `TERM=dumb` terminal
//! cannot redraw a line in place (`term::can_redraw`): it gets no bar, as a pipe gets none.
//!
//! On Ctrl-C the terminal itself echoes `^C` where the cursor is, at the end of the bar; see
//! `term::ROOM_FOR_CTRL_C` for why the bar stops short of the last columns.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

use crate::server::Mode;
use echoctl_core::script::Tally;

use crate::term;

/// How often the bar's clock is redrawn.
const TICK: Duration = Duration::from_millis(100);

/// At most this many redraws a second, indicatif's default for stderr.
const REFRESH_HZ: u8 = 20;

/// The spinner's frames, one per tick.
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// The bar's cells between its brackets: at most, and the fewest worth drawing.
const BAR_MAX: usize = 20;
const BAR_MIN: usize = 8;

#[derive(Debug)]
pub(crate) struct Progress {
    shown: bool,
    bar: Option<ProgressBar>,
    /// The session's counts, as the bar last drew them; shared with its drawing.
    tally: Option<Arc<Mutex<Tally>>>,
}

impl Progress {
    /// No bar: stderr is not a terminal, or not the transcript's.
    pub(crate) fn hidden() -> Progress {
        Progress {
            shown: false,
            bar: None,
            tally: None,
        }
    }

    /// A bar on stderr, which the caller has found to be the transcript's terminal, one that can
    /// redraw a line in place.
    pub(crate) fn on_stderr() -> Progress {
        Progress {
            shown: true,
            bar: None,
            tally: None,
        }
    }

    /// Shows a new bar for a session expected to take `expected`, at its `start` (nothing sent,
    /// nothing heard, and the totals); [`Progress::update`] moves it on.
    pub(crate) fn begin(&mut self, mode: Mode, start: Tally, expected: Duration) {
        if !self.shown {
            return;
        }
        let book_program = match mode {
            Mode::Sequential => "reverb1",
            Mode::Concurrent => "reverb2",
            Mode::Plain => "plain echo",
        };
        let shared = Arc::new(Mutex::new(start));
        let tally = Arc::clone(&shared);
        let draw = move |state: &ProgressState, out: &mut dyn std::fmt::Write| {
            let status = Status {
                book_program,
                tally: *tally.lock().unwrap_or_else(PoisonError::into_inner),
                elapsed: state.elapsed(),
                expected,
            };
            let frame = state.elapsed().as_millis() / TICK.as_millis();
            let spinner = Some(SPINNER[frame as usize % SPINNER.len()]);
            let _ = out.write_str(&line(&status, spinner, term::stderr_bar_width()));
        };
        let style = ProgressStyle::with_template("{line}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key("line", draw);
        let target = term::progress_on_stderr(REFRESH_HZ);
        let bar = ProgressBar::with_draw_target(Some(start.echoes_total as u64), target)
            .with_style(style);
        bar.enable_steady_tick(TICK);
        self.bar = Some(bar);
        self.tally = Some(shared);
    }

    pub(crate) fn update(&self, tally: Tally) {
        if let (Some(bar), Some(shared)) = (&self.bar, &self.tally) {
            *shared.lock().unwrap_or_else(PoisonError::into_inner) = tally;
            // Also redraws, with the tally just set.
            bar.set_position(tally.echoes_heard as u64);
        }
    }

    /// Runs `print` with the bar off the screen.
    pub(crate) fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// Takes the bar off the screen for good.
    pub(crate) fn clear(&mut self) {
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

/// What the bar tells at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status {
    /// The book's name for the session's server: `reverb1` or `reverb2`.
    pub book_program: &'static str,
    pub tally: Tally,
    pub elapsed: Duration,
    /// How long the session should take (its rehearsal's length).
    pub expected: Duration,
}

/// The bar as one line of at most `width` columns, the `spinner` frame first when there is one:
///
/// ```text
/// ⠋ reverb1 [======>             ] shouts 2/3  echoes 4/9  2.6s / 6.5s
/// ```
///
/// Where that does not fit, the shout count goes first, then the words, then the spinner, then
/// the numbers; the bar shrinks to its least before each. Which parts are shown depends only on
/// the width and the session's totals, never on the counts, so the line keeps its width.
pub(crate) fn line(status: &Status, spinner: Option<char>, width: usize) -> String {
    let Tally {
        shouts_sent,
        shouts_total,
        echoes_heard,
        echoes_total,
    } = status.tally;
    let expected = tenths(status.expected);
    let elapsed = format!("{:>1$}", tenths(status.elapsed), expected.len());
    let shouts = format!("shouts {}", count(shouts_sent, shouts_total));
    let echoes = format!("echoes {}", count(echoes_heard, echoes_total));
    let clock = format!("{elapsed}s / {expected}s");
    let echoes_short = count(echoes_heard, echoes_total);
    let clock_short = format!("{elapsed}/{expected}s");
    let spinner = spinner.map(|frame| format!("{frame} "));
    let layouts: [(Option<&str>, Vec<&str>); 5] = [
        (spinner.as_deref(), vec![&shouts, &echoes, &clock]),
        (spinner.as_deref(), vec![&echoes, &clock]),
        (spinner.as_deref(), vec![&echoes_short, &clock_short]),
        (None, vec![&echoes_short, &clock_short]),
        (None, vec![]),
    ];
    let text_width = |s: &str| s.chars().count();
    let fixed = |(spinner, parts): &(Option<&str>, Vec<&str>)| {
        let parts_width: usize = parts.iter().map(|part| text_width(part) + 2).sum();
        spinner.map_or(0, text_width) + text_width(status.book_program) + " []".len() + parts_width
            - usize::from(!parts.is_empty())
    };
    let chosen = layouts
        .iter()
        .find(|layout| fixed(layout) + BAR_MIN <= width)
        .unwrap_or(&layouts[layouts.len() - 1]);
    let cells = width.saturating_sub(fixed(chosen)).clamp(BAR_MIN, BAR_MAX);
    let (spinner, parts) = chosen;
    let mut out = String::new();
    out.push_str(spinner.unwrap_or_default());
    out.push_str(status.book_program);
    out.push_str(" [");
    out.push_str(&bar(echoes_heard, echoes_total, cells));
    out.push(']');
    for (index, part) in parts.iter().enumerate() {
        out.push_str(if index == 0 { " " } else { "  " });
        out.push_str(part);
    }
    // Narrower than the least layout, or a clock past its expected digits: cut, never wrap.
    out.chars().take(width).collect()
}

/// `n/total`, `n` padded to the digits of `total`.
fn count(n: usize, total: usize) -> String {
    let digits = total.to_string().len();
    format!("{n:>digits$}/{total}")
}

fn tenths(duration: Duration) -> String {
    let mut text = String::new();
    let _ = write!(text, "{:.1}", duration.as_secs_f64());
    text
}

/// `cells` cells, filled in proportion to `done` of `total`: `=====>    `.
fn bar(done: usize, total: usize, cells: usize) -> String {
    let filled = (cells * done.min(total))
        .checked_div(total)
        .unwrap_or(cells);
    let mut out = "=".repeat(filled);
    if filled < cells {
        out.push('>');
        out.push_str(&" ".repeat(cells - filled - 1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEQUENTIAL_START: Tally = Tally {
        shouts_sent: 0,
        shouts_total: 3,
        echoes_heard: 0,
        echoes_total: 9,
    };

    fn status(tally: Tally, elapsed_ms: u64) -> Status {
        Status {
            book_program: "reverb1",
            tally,
            elapsed: Duration::from_millis(elapsed_ms),
            expected: Duration::from_millis(6_500),
        }
    }

    fn at(shouts_sent: usize, echoes_heard: usize, elapsed_ms: u64) -> Status {
        status(
            Tally {
                shouts_sent,
                echoes_heard,
                ..SEQUENTIAL_START
            },
            elapsed_ms,
        )
    }

    #[test]
    fn the_bar_tells_everything_where_there_is_room() {
        assert_eq!(
            line(&at(2, 4, 2_600), Some('⠋'), 78),
            "⠋ reverb1 [========>           ] shouts 2/3  echoes 4/9  2.6s / 6.5s"
        );
        assert_eq!(
            line(&at(3, 9, 6_500), None, 78),
            "reverb1 [====================] shouts 3/3  echoes 9/9  6.5s / 6.5s"
        );
    }

    #[test]
    fn at_40_columns_the_bar_keeps_its_numbers_on_one_line() {
        // A 40-column terminal leaves the bar 37 (see term::ROOM_FOR_CTRL_C).
        let width = term::bar_width(40);
        assert_eq!(
            line(&at(1, 3, 900), Some('⠋'), width),
            "⠋ reverb1 [===>       ] 3/9  0.9/6.5s"
        );
        assert_eq!(
            line(&at(1, 3, 900), None, width),
            "reverb1 [====>        ] 3/9  0.9/6.5s"
        );
        assert_eq!(line(&at(1, 3, 900), None, 12), "reverb1 [==>");
    }

    /// Every count and clock of a session, at every width: one line that fits, the same width all
    /// session long.
    #[test]
    fn the_bar_never_outgrows_its_width_and_keeps_it() {
        // Totals of two digits, and a clock that passes from one digit to two.
        let start = Tally {
            shouts_sent: 0,
            shouts_total: 12,
            echoes_heard: 0,
            echoes_total: 36,
        };
        for width in 1..=120 {
            for spinner in [None, Some('⠋')] {
                let widths: std::collections::BTreeSet<usize> = (0..=36)
                    .map(|heard| {
                        let tally = Tally {
                            shouts_sent: heard / 3,
                            echoes_heard: heard,
                            ..start
                        };
                        let status = Status {
                            book_program: "reverb2",
                            tally,
                            elapsed: Duration::from_millis(heard as u64 * 400),
                            expected: Duration::from_millis(14_400),
                        };
                        let drawn = line(&status, spinner, width);
                        assert!(!drawn.contains('\n'), "{drawn:?}");
                        drawn.chars().count()
                    })
                    .collect();
                assert_eq!(widths.len(), 1, "width {width}: {widths:?}");
                assert!(
                    widths.iter().all(|&w| w <= width),
                    "width {width}: {widths:?}"
                );
            }
        }
    }
}
