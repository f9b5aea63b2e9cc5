//! The timeline as a chart for the terminal: one row per shout, a shared time axis below.
//!
//! ```text
//! sequential (reverb1), delay 1s
//! Hello?                  >█──────▒──────░
//! Yooo-hooo!                       >══════════█──────▒──────░
//!                         ├──────┼──────┼──────┼──────┼──────┤
//!                         0s     1s     2s     3s     4s     5s
//! > sent  ═ waited in the server  █ loud  ▒ as sent  ░ quiet
//! ```
//!
//! Every mark has its own character, so the chart reads the same without color; with color the
//! echoes take the transcript's voices ([`crate::paint::voice_style`]) and the waiting
//! stretch stands out in yellow. Marks never hide each other: one that falls on a cell already
//! marked moves to the next free cell to its right (a send and its loud echo are usually less
//! than a cell apart), so a row's marks always read in their order.

use owo_colors::{OwoColorize, Style};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::paint::voice_style;
use echoctl_core::echo::Voice;
use echoctl_core::timeline::{Axis, Timeline, label_stride, time_label};

/// The width when the terminal's is not known.
pub(crate) const DEFAULT_WIDTH: usize = 80;

/// The label of the row of lines that matched no shout.
const STRAY_LABEL: &str = "(no shout)";

/// How the chart is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Columns available; the axis is scaled to fit.
    pub width: usize,
    pub color: bool,
}

/// What a cell shows, which decides its character and its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Blank,
    /// The shout's life, from the send to its last echo.
    Line,
    Waiting,
    Sent,
    Echo(Voice),
    Stray,
}

impl Cell {
    fn glyph(self) -> char {
        match self {
            Cell::Blank => ' ',
            Cell::Line => '─',
            Cell::Waiting => '═',
            Cell::Sent => '>',
            Cell::Echo(Voice::Upper) => '█',
            Cell::Echo(Voice::Original) => '▒',
            Cell::Echo(Voice::Lower) => '░',
            Cell::Stray => '?',
        }
    }

    fn style(self) -> Style {
        match self {
            Cell::Blank => Style::new(),
            Cell::Line => Style::new().dimmed(),
            Cell::Waiting => Style::new().yellow().bold(),
            Cell::Sent => Style::new().bold(),
            Cell::Echo(voice) => voice_style(Some(voice)),
            Cell::Stray => voice_style(None),
        }
    }

    fn is_mark(self) -> bool {
        matches!(self, Cell::Sent | Cell::Echo(_) | Cell::Stray)
    }
}

/// The chart of one session on `axis` (shared with the other session when there are two), as
/// lines each ending in `\n`: a title, a row per shout, a row for unmatched lines if any, the
/// axis, its labels and the legend.
pub fn render(timeline: &Timeline, axis: &Axis, options: Options) -> String {
    let layout = Layout::new(timeline, axis, options.width);
    let painter = Painter {
        color: options.color,
    };
    let mut out = String::new();
    out.push_str(&painter.paint(&timeline.title(), Style::new().bold()));
    out.push('\n');
    for row in &timeline.rows {
        let mut cells = vec![Cell::Blank; layout.columns];
        let sent = layout.column(row.sent);
        fill(&mut cells, sent, layout.column(row.end()), Cell::Line);
        if let Some((from, to)) = row.noticeable_waiting(timeline.delay) {
            fill(
                &mut cells,
                layout.column(from),
                layout.column(to),
                Cell::Waiting,
            );
        }
        cells[sent] = Cell::Sent;
        for mark in &row.marks {
            place(&mut cells, layout.column(mark.at), Cell::Echo(mark.voice));
        }
        out.push_str(&layout.label(&row.label));
        out.push_str(&painter.cells(&cells));
        out.push('\n');
    }
    if !timeline.unattributed.is_empty() {
        let mut cells = vec![Cell::Blank; layout.columns];
        for stray in &timeline.unattributed {
            place(&mut cells, layout.column(stray.at), Cell::Stray);
        }
        out.push_str(&layout.label(STRAY_LABEL));
        out.push_str(&painter.cells(&cells));
        out.push('\n');
    }
    let (ruler, labels) = layout.ruler();
    let indent = " ".repeat(layout.label_width + 1);
    for line in [ruler, labels] {
        out.push_str(&indent);
        out.push_str(&painter.paint(&line, Style::new().dimmed()));
        out.push('\n');
    }
    out.push_str(&legend(
        &painter,
        !timeline.unattributed.is_empty(),
        options.width,
    ));
    out
}

/// What each mark means, in its own style, on as many lines as the width needs.
fn legend(painter: &Painter, strays: bool, width: usize) -> String {
    let mut entries = vec![
        (Cell::Sent, "sent"),
        (Cell::Waiting, "waited in the server"),
    ];
    entries.extend(Voice::ALL.map(|voice| (Cell::Echo(voice), voice.name())));
    if strays {
        entries.push((Cell::Stray, "matched no shout"));
    }
    const GAP: usize = 2;
    let mut out = String::new();
    let mut used = 0;
    for (cell, meaning) in entries {
        let entry_width = 2 + meaning.width();
        if used > 0 && used + GAP + entry_width > width {
            out.push('\n');
            used = 0;
        }
        if used > 0 {
            out.push_str(&" ".repeat(GAP));
            used += GAP;
        }
        out.push_str(&painter.cells(&[cell]));
        out.push(' ');
        out.push_str(meaning);
        used += entry_width;
    }
    out.push('\n');
    out
}

/// Fills `from..=to` with `cell`, leaving marks alone.
fn fill(cells: &mut [Cell], from: usize, to: usize, cell: Cell) {
    for slot in cells.iter_mut().take(to + 1).skip(from) {
        if !slot.is_mark() {
            *slot = cell;
        }
    }
}

/// Puts a mark at `column`, or at the nearest free cell to its right (to its left at the end).
fn place(cells: &mut [Cell], column: usize, mark: Cell) {
    let right = (column..cells.len()).find(|&c| !cells[c].is_mark());
    let free = right.or_else(|| (0..column).rev().find(|&c| !cells[c].is_mark()));
    if let Some(free) = free {
        cells[free] = mark;
    }
}

/// Where things go at a given width.
struct Layout {
    label_width: usize,
    /// Cells of the axis; column 0 is t = 0 and the last is the axis's end.
    columns: usize,
    axis: Axis,
}

/// The fewest cells between two ticks; closer ticks are thinned to multiples of the delay.
const MIN_TICK_GAP: usize = 2;

impl Layout {
    fn new(timeline: &Timeline, axis: &Axis, width: usize) -> Layout {
        let longest = timeline
            .rows
            .iter()
            .map(|row| row.label.width())
            .chain((!timeline.unattributed.is_empty()).then_some(STRAY_LABEL.width()))
            .max()
            .unwrap_or(0);
        let label_width = longest.clamp(1, (width / 3).max(1));
        // The last tick's label starts at the last column; keep room for it. Thinning the ticks
        // can move the end (and lengthen its label), hence a second pass.
        let columns_for = |axis: &Axis| {
            let end_label = time_label(axis.end).width();
            width
                .saturating_sub(label_width + 1 + end_label.saturating_sub(1))
                .max(2)
        };
        let thin = |columns: usize| {
            let max_ticks = u32::try_from((columns - 1) / MIN_TICK_GAP).unwrap_or(u32::MAX);
            axis.thinned(max_ticks.max(1))
        };
        let axis = thin(columns_for(axis));
        let available = columns_for(&axis);
        let axis = thin(available);
        // A whole number of cells per tick, so ticks are evenly spaced and a mark a whole number
        // of delays after another is that many ticks after it; unless that would leave more than
        // a quarter of the width unused (many ticks), when the axis takes all of it.
        let intervals = axis.ticks().count().saturating_sub(1).max(1);
        let per_tick = ((available - 1) / intervals).max(1);
        let even = per_tick * intervals + 1;
        let columns = if even * 4 >= available * 3 {
            even
        } else {
            available
        };
        Layout {
            label_width,
            columns,
            axis,
        }
    }

    fn column(&self, at: std::time::Duration) -> usize {
        let last = (self.columns - 1) as f64;
        (self.axis.fraction(at) * last).round() as usize
    }

    /// The label padded or cut (with an ellipsis) to the label column, and the gap after it.
    fn label(&self, label: &str) -> String {
        let mut out = String::new();
        let mut used = 0;
        if label.width() <= self.label_width {
            out.push_str(label);
            used = label.width();
        } else {
            for c in label.chars() {
                let w = c.width().unwrap_or(0);
                if used + w > self.label_width - 1 {
                    break;
                }
                out.push(c);
                used += w;
            }
            // "far…", not "far …": a cut at a space would leave the ellipsis apart from the word.
            let kept = out.trim_end().len();
            used -= out[kept..].chars().count();
            out.truncate(kept);
            out.push('…');
            used += 1;
        }
        out.push_str(&" ".repeat(self.label_width - used + 1));
        out
    }

    /// The axis line with a tick at every step, and labels under every tick, or under every
    /// second, fourth, fifth, tenth... when they would not fit under each (so they stay regular).
    fn ruler(&self) -> (String, String) {
        let mut ruler = vec!['─'; self.columns];
        let ticks: Vec<_> = self.axis.ticks().collect();
        let per_tick = ticks
            .windows(2)
            .map(|pair| self.column(pair[1]) - self.column(pair[0]))
            .min()
            .unwrap_or(self.columns);
        let widest = ticks
            .iter()
            .map(|&t| time_label(t).width())
            .max()
            .unwrap_or(0);
        let every = label_stride(per_tick as f64, widest as f64, ticks.len());
        let mut labels = String::new();
        for (index, &tick) in ticks.iter().enumerate() {
            let column = self.column(tick);
            ruler[column] = '┼';
            let taken = labels.chars().count();
            if index % every == 0 && column >= taken {
                labels.push_str(&" ".repeat(column - taken));
                labels.push_str(&time_label(tick));
            }
        }
        ruler[0] = '├';
        if let Some(last) = ruler.last_mut() {
            *last = '┤';
        }
        (ruler.into_iter().collect(), labels)
    }
}

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, text: &str, style: Style) -> String {
        if self.color {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    }

    /// Cells as text, each run of one kind painted once.
    fn cells(&self, cells: &[Cell]) -> String {
        let mut out = String::new();
        let mut start = 0;
        while start < cells.len() {
            let kind = cells[start];
            let len = cells[start..].iter().take_while(|&&c| c == kind).count();
            let run: String = std::iter::repeat_n(kind.glyph(), len).collect();
            if kind == Cell::Blank {
                out.push_str(&run);
            } else {
                out.push_str(&self.paint(&run, kind.style()));
            }
            start += len;
        }
        // Trailing blanks are not worth a line's width of spaces.
        out.truncate(out.trim_end_matches(' ').len());
        out
    }
}
