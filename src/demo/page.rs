//! Standard output, the one place the demo prints: typed lines, echoes, headers and charts,
//! each with the progress bar out of the way.

use std::io::{self, Write};
use std::time::Duration;

use super::Progress;
use crate::paint::Painter;
use crate::server::Mode;

/// Printing failed. A closed stdout (`echoctl demo | head`) is among these: `main` tells it
/// apart and ends quietly, as for every command.
pub(super) fn output_error(e: io::Error) -> anyhow::Error {
    anyhow::Error::new(e).context("cannot write to standard output")
}

/// Standard output, as the one place lines are printed.
pub(super) struct Page<'a> {
    pub(super) out: &'a mut dyn Write,
    pub(super) painter: Painter,
}

impl Page<'_> {
    /// Prints a whole line with the progress bar off the screen, and flushes it so it shows now.
    pub(super) fn print(&mut self, progress: &Progress, line: &str) -> io::Result<()> {
        progress.suspend(|| {
            writeln!(self.out, "{line}")?;
            self.out.flush()
        })
    }

    /// Opens a session: an empty line after the one before, then the dimmed shell commands.
    pub(super) fn header(
        &mut self,
        progress: &Progress,
        after_another: bool,
        mode: Mode,
        delay: Duration,
    ) -> io::Result<()> {
        if after_another {
            self.print(progress, "")?;
        }
        for line in crate::paint::header(mode, delay) {
            let line = self.painter.header(&line);
            self.print(progress, &line)?;
        }
        Ok(())
    }

    /// Closes a session's transcript with its timeline: an empty line, then the chart's lines.
    pub(super) fn chart(&mut self, progress: &Progress, chart: &str) -> io::Result<()> {
        self.print(progress, "")?;
        for line in chart.lines() {
            self.print(progress, line)?;
        }
        Ok(())
    }
}
