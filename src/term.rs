//! The terminal as the progress bars and the line editor see it: whether it can redraw a line in
//! place.

use std::ffi::OsStr;

/// Whether a terminal of type `term` (the value of `TERM`) is dumb: it understands no escape
/// sequence (no cursor move, no clearing, no color), only a carriage return.
pub(crate) fn is_dumb(term: Option<&OsStr>) -> bool {
    term == Some(OsStr::new("dumb"))
}

/// Whether this process's terminal can redraw a line in place: its `TERM` is not dumb.
pub(crate) fn can_redraw() -> bool {
    !is_dumb(std::env::var_os("TERM").as_deref())
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
}
