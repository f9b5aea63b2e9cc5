//! The terminal as the progress bars and the line editor see it: whether it can redraw a line in
//! place, and the room a progress bar leaves at its right edge.

use std::ffi::OsStr;
use std::io;

use indicatif::{ProgressDrawTarget, TermLike};

/// Whether a terminal of type `term` (the value of `TERM`) is dumb: it understands no escape
/// sequence (no cursor move, no clearing, no color), only a carriage return.
pub(crate) fn is_dumb(term: Option<&OsStr>) -> bool {
    term == Some(OsStr::new("dumb"))
}

/// Whether this process's terminal can redraw a line in place: its `TERM` is not dumb.
pub(crate) fn can_redraw() -> bool {
    !is_dumb(std::env::var_os("TERM").as_deref())
}

/// Columns a progress bar leaves free at the terminal's right edge: two for the `^C` a terminal
/// echoes on Ctrl-C where the cursor is, and the last column, which nothing is written in.
///
/// indicatif pads a bar with spaces to the width it is given. At the terminal's full width, the
/// `^C` would wrap onto a line of its own, clearing the bar would clear that line, and a stale bar
/// would stay above the shell's prompt. Terminals also differ in the last column itself: some
/// wrap as soon as it is written, others only at the next character. Kept out of it, the `^C`
/// lands on the bar's own line and goes when the bar is cleared, on either kind.
pub(crate) const ROOM_FOR_CTRL_C: usize = 3;

/// The columns a progress bar may use on a terminal `columns` wide (at least one).
pub(crate) fn bar_width(columns: usize) -> usize {
    columns.saturating_sub(ROOM_FOR_CTRL_C).max(1)
}

/// [`bar_width`] of the terminal on stderr.
pub(crate) fn stderr_bar_width() -> usize {
    bar_width(usize::from(console::Term::stderr().size().1))
}

/// Where indicatif draws a progress bar: stderr, [`ROOM_FOR_CTRL_C`] columns narrower than it is,
/// redrawn at most `hz` times a second. Only for a terminal that [`can_redraw`].
pub(crate) fn progress_on_stderr(hz: u8) -> ProgressDrawTarget {
    ProgressDrawTarget::term_like_with_hz(
        Box::new(RoomForCtrlC {
            term: console::Term::stderr(),
        }),
        hz,
    )
}

/// A terminal as indicatif sees it: [`ROOM_FOR_CTRL_C`] columns narrower than it is.
#[derive(Debug)]
struct RoomForCtrlC {
    term: console::Term,
}

impl TermLike for RoomForCtrlC {
    fn width(&self) -> u16 {
        let width = bar_width(usize::from(self.term.size().1));
        u16::try_from(width).unwrap_or(u16::MAX)
    }

    fn height(&self) -> u16 {
        self.term.size().0
    }

    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        self.term.move_cursor_up(n)
    }

    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.term.move_cursor_down(n)
    }

    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.term.move_cursor_right(n)
    }

    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        self.term.move_cursor_left(n)
    }

    fn write_line(&self, s: &str) -> io::Result<()> {
        self.term.write_line(s)
    }

    fn write_str(&self, s: &str) -> io::Result<()> {
        self.term.write_str(s)
    }

    fn clear_line(&self) -> io::Result<()> {
        self.term.clear_line()
    }

    fn flush(&self) -> io::Result<()> {
        self.term.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_dumb_terminal_cannot_redraw() {
        assert!(is_dumb(Some(OsStr::new("dumb"))));
        for term in [None, Some("xterm-256color"), Some("vt100"), Some("")] {
            assert!(!is_dumb(term.map(OsStr::new)), "{term:?}");
        }
    }

    #[test]
    fn a_bar_leaves_three_columns_and_keeps_one() {
        assert_eq!(bar_width(80), 77);
        assert_eq!(bar_width(40), 37);
        assert_eq!(bar_width(3), 1);
        assert_eq!(bar_width(0), 1);
    }
}
