//! Painted lines measured against the terminal: its width, and the rows it wraps a line into.

use unicode_width::UnicodeWidthChar;

/// The terminal's width now (it may have been resized), if it can be read.
pub(super) fn terminal_columns() -> Option<usize> {
    console::Term::stderr()
        .size_checked()
        .map(|(_, columns)| usize::from(columns))
}

/// How many rows a painted line takes on a terminal `columns` wide, which wraps it. A line that
/// fills its last row to the edge is given one more: some terminals move to the next row as soon
/// as the last column is written.
pub(super) fn rows_taken(line: &str, columns: usize) -> usize {
    let (rows, last_width) = wrap_measured(line, columns);
    rows.len() + usize::from(last_width >= columns)
}

/// Cuts a painted line into rows of at most `columns` cells, as a terminal wraps it (for the
/// status line, kept to one row, and to count the rows a line takes). Escape sequences take no
/// cell; the styles in force at a cut are reset before it and set again after it, so each row
/// is painted as the whole line was.
pub(super) fn wrap(line: &str, columns: usize) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
