//! What the terminal session prints, and where: above the edited line through the editor's
//! printer, a row at a time, or directly under the status line once the editor has returned.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::time::Duration;

use reedline::ExternalPrinter;
use tokio::time::Instant;

use echoctl_core::plural::counted;

use super::wrap::{rows_taken, terminal_columns, wrap};
use crate::paint::Painter;

/// Rows waiting for the editor beyond which the server is not read (see `Screen::backlogged`).
const MAX_PENDING: usize = 4096;

/// How long after handing the editor a row the next one may follow.
pub(super) const HAND_OVER_PAUSE: Duration = Duration::from_millis(3);

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
pub(super) struct Screen {
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
    /// The screen of a session whose editor prints through `printer`.
    pub(super) fn new(printer: ExternalPrinter<String>, painter: Painter) -> Screen {
        Screen {
            printer: Some(printer),
            pending: VecDeque::new(),
            handing: None,
            last_handed: None,
            status: None,
            painter,
        }
    }

    pub(super) fn editing(&self) -> bool {
        self.printer.is_some()
    }

    /// Whether enough rows wait for the editor that no more should be read from the server,
    /// so that a server sending faster than rows are shown does not fill memory.
    pub(super) fn backlogged(&self) -> bool {
        self.pending.len() >= MAX_PENDING
    }

    pub(super) fn has_pending(&self) -> bool {
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
    /// one row. The editor drains every `EDITOR_POLL` (`editor.rs`), so this shows about a hundred rows a
    /// second, more than a person reads.
    pub(super) fn pump(&mut self) {
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
    pub(super) fn print(&mut self, lines: Vec<String>, owed: u64) -> io::Result<()> {
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
    pub(super) fn editor_gone(&mut self) {
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
    pub(super) fn erase_empty_prompt(&self) {
        let mut out = io::stderr().lock();
        let _ = write!(out, "\x1b[A\r\x1b[K");
        let _ = out.flush();
    }

    pub(super) fn clear_bottom_line(&mut self) {
        self.status = None;
        let mut out = io::stderr().lock();
        let _ = write!(out, "\r\x1b[K");
        let _ = out.flush();
    }
}
