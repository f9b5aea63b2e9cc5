//! The timeline as an SVG picture for a slide: the sessions one above the other on one time axis.
//!
//! Written with the `svg` crate, which escapes text content (`&`, `<`, `>`); shouts only ever go
//! into text content, never into an attribute (whose `"` the crate leaves alone), and their
//! control characters are already replaced by [`super::label`], since XML may not contain them.
//! Labels are in a monospace font so they can be cut to fit by counting characters.
//!
//! Each element that stands for an event has a class: `sent`, `waiting`, `echo loud`,
//! `echo as-sent`, `echo quiet`, `stray`; tests count them.

use std::time::Duration;

use svg::Document;
use svg::Node;
use svg::node::element::{Circle, Element, Group, Path, Rectangle, Title};
use unicode_width::UnicodeWidthChar;

use echoctl_core::echo::Voice;
use echoctl_core::timeline::{Axis, Row, Timeline, label_stride, time_label};

use crate::svg_page::{GRID, INK, SANS, line, page};

/// A 16:9 slide; taller only when the rows need it.
pub(crate) const WIDTH: f64 = 1280.0;
const MIN_HEIGHT: f64 = 720.0;

const MARGIN: f64 = 40.0;
const LABEL_FONT: f64 = 18.0;
/// A monospace character's advance is about 0.6 of its size.
const LABEL_CHARS: usize = 26;
const PLOT_LEFT: f64 = MARGIN + LABEL_CHARS as f64 * LABEL_FONT * 0.6 + 24.0;
const PLOT_RIGHT: f64 = WIDTH - MARGIN - 20.0;
const HEADING_HEIGHT: f64 = 56.0;
const PANEL_TITLE_HEIGHT: f64 = 44.0;
const ROW_HEIGHT: f64 = 52.0;
const AXIS_HEIGHT: f64 = 48.0;
const PANEL_GAP: f64 = 28.0;
const LEGEND_HEIGHT: f64 = 48.0;

const FAINT: &str = "#bbbbbb";
const CYAN_BRIGHT: &str = "#00c8f0";
const CYAN: &str = "#0a8ea8";
const WAITING: &str = "#f2a900";
const MONO: &str = "DejaVu Sans Mono, Menlo, Consolas, monospace";

/// The picture of `timelines` (one panel each, in order) on `axis`, under `heading`.
pub fn render(heading: &str, timelines: &[&Timeline], axis: &Axis) -> Document {
    let panels_height: f64 = timelines.iter().map(|t| panel_height(t)).sum::<f64>()
        + PANEL_GAP * timelines.len().saturating_sub(1) as f64;
    let needed = MARGIN + HEADING_HEIGHT + panels_height + LEGEND_HEIGHT + MARGIN;
    let height = needed.max(MIN_HEIGHT);
    let axis = axis.thinned(((PLOT_RIGHT - PLOT_LEFT) / 40.0) as u32);

    let mut document = page(WIDTH, height, heading).add(
        text(heading, MARGIN, MARGIN + 28.0, 28.0, SANS)
            .set("font-weight", "bold")
            .set("fill", INK),
    );
    // Free space goes between the heading and the panels, so they sit in the middle.
    let mut top = MARGIN + HEADING_HEIGHT + (height - needed) / 2.0;
    for timeline in timelines {
        document = document.add(panel(timeline, &axis, top));
        top += panel_height(timeline) + PANEL_GAP;
    }
    let strays = timelines.iter().any(|t| !t.unattributed.is_empty());
    document.add(legend(height - MARGIN - 12.0, strays))
}

/// The document as text.
pub fn to_string(document: &Document) -> String {
    document.to_string()
}

fn panel_height(timeline: &Timeline) -> f64 {
    let rows = timeline.rows.len() + usize::from(!timeline.unattributed.is_empty());
    PANEL_TITLE_HEIGHT + ROW_HEIGHT * rows.max(1) as f64 + AXIS_HEIGHT
}

fn x(axis: &Axis, at: Duration) -> f64 {
    PLOT_LEFT + axis.fraction(at) * (PLOT_RIGHT - PLOT_LEFT)
}

fn panel(timeline: &Timeline, axis: &Axis, top: f64) -> Group {
    let rows_top = top + PANEL_TITLE_HEIGHT;
    let row_count = timeline.rows.len() + usize::from(!timeline.unattributed.is_empty());
    let rows_bottom = rows_top + ROW_HEIGHT * row_count.max(1) as f64;
    let mut group = Group::new().set("class", "session").add(
        text(&timeline.title(), MARGIN, top + 26.0, 22.0, SANS)
            .set("font-weight", "bold")
            .set("fill", INK),
    );

    let ticks: Vec<Duration> = axis.ticks().collect();
    let spacing = match ticks.as_slice() {
        [first, second, ..] => x(axis, *second) - x(axis, *first),
        _ => PLOT_RIGHT - PLOT_LEFT,
    };
    // About 0.55 em a character at 16 px, and some air between labels.
    let widest = ticks
        .iter()
        .map(|&tick| time_label(tick).chars().count() as f64 * 16.0 * 0.55 + 16.0)
        .fold(0.0, f64::max);
    let every = label_stride(spacing, widest, ticks.len());
    for (index, &tick) in ticks.iter().enumerate() {
        let tick_x = x(axis, tick);
        group = group.add(line(tick_x, rows_top, tick_x, rows_bottom + 6.0, GRID, 1.0));
        if index % every == 0 {
            group = group.add(
                text(&time_label(tick), tick_x, rows_bottom + 28.0, 16.0, SANS)
                    .set("text-anchor", "middle")
                    .set("fill", INK),
            );
        }
    }
    group = group.add(line(
        PLOT_LEFT,
        rows_bottom,
        PLOT_RIGHT,
        rows_bottom,
        FAINT,
        1.5,
    ));

    for (index, row) in timeline.rows.iter().enumerate() {
        let middle = rows_top + ROW_HEIGHT * (index as f64 + 0.5);
        group = group.add(shout_row(row, axis, timeline.delay, middle));
    }
    if !timeline.unattributed.is_empty() {
        let middle = rows_top + ROW_HEIGHT * (timeline.rows.len() as f64 + 0.5);
        let mut row = Group::new().add(label("(no shout)", middle).set("fill", "#777777"));
        for stray in &timeline.unattributed {
            row = row.add(
                stray_mark(x(axis, stray.at), middle)
                    .set("class", "stray")
                    .add(Title::new(stray.label.as_str())),
            );
        }
        group = group.add(row);
    }
    group
}

fn shout_row(row: &Row, axis: &Axis, delay: Duration, middle: f64) -> Group {
    let sent_x = x(axis, row.sent);
    let mut group = Group::new()
        .set("class", "shout")
        .add(label(&row.label, middle).set("fill", INK))
        .add(line(sent_x, middle, x(axis, row.end()), middle, FAINT, 2.0));
    // A wait too short to tell from jitter, or to see, is not drawn.
    let waiting = row
        .noticeable_waiting(delay)
        .map(|(from, to)| (from, to, x(axis, from), x(axis, to)))
        .filter(|&(_, _, from_x, to_x)| to_x - from_x >= 1.0);
    if let Some((from, to, from_x, to_x)) = waiting {
        group = group.add(
            Rectangle::new()
                .set("class", "waiting")
                .set("x", from_x)
                .set("y", middle - 9.0)
                .set("width", to_x - from_x)
                .set("height", 18)
                .set("rx", 3)
                .set("fill", WAITING),
        );
        // Say how long, inside the bar, where there is room for it.
        if to_x - from_x >= 90.0 {
            group = group.add(
                text(
                    &format!("waited {}", time_label(to - from)),
                    (from_x + to_x) / 2.0,
                    middle + 4.5,
                    13.0,
                    SANS,
                )
                .set("text-anchor", "middle")
                .set("font-weight", "bold")
                .set("fill", "#4a3500"),
            );
        }
    }
    // The send: a triangle above the row, its tip at the moment of sending (on the row itself it
    // would hide under the loud echo, a round trip later).
    group = group.add(sent_mark(sent_x, middle - 11.0).set("class", "sent"));
    for mark in &row.marks {
        let class = match mark.voice {
            Voice::Upper => "echo loud",
            Voice::Original => "echo as-sent",
            Voice::Lower => "echo quiet",
        };
        group = group.add(echo_mark(mark.voice, x(axis, mark.at), middle).set("class", class));
    }
    group
}

/// Draws a legend entry's mark at a left edge.
type LegendMark = dyn Fn(f64) -> Box<dyn svg::Node>;

fn legend(baseline: f64, strays: bool) -> Group {
    let middle = baseline - 6.0;
    let triangle =
        move |left: f64| -> Box<dyn svg::Node> { Box::new(sent_mark(left + 10.0, middle + 6.0)) };
    let bar = move |left: f64| -> Box<dyn svg::Node> {
        Box::new(
            Rectangle::new()
                .set("x", left)
                .set("y", middle - 7.0)
                .set("width", 20)
                .set("height", 14)
                .set("rx", 3)
                .set("fill", WAITING),
        )
    };
    let echo = move |voice: Voice| {
        move |left: f64| -> Box<dyn svg::Node> { Box::new(echo_mark(voice, left + 10.0, middle)) }
    };
    let stray =
        move |left: f64| -> Box<dyn svg::Node> { Box::new(stray_mark(left + 10.0, middle)) };
    let mut entries: Vec<(&LegendMark, &str)> = Vec::new();
    let (loud, as_sent, quiet) = (
        echo(Voice::Upper),
        echo(Voice::Original),
        echo(Voice::Lower),
    );
    entries.push((&triangle, "sent"));
    entries.push((&bar, "waited in the server"));
    entries.push((&loud, "loud (upper case)"));
    entries.push((&as_sent, "as sent"));
    entries.push((&quiet, "quiet (lower case)"));
    if strays {
        entries.push((&stray, "matched no shout"));
    }
    let mut group = Group::new().set("class", "legend");
    let mut left = MARGIN;
    for (mark, meaning) in entries {
        group = group
            .add(mark(left))
            .add(text(meaning, left + 26.0, baseline, 16.0, SANS).set("fill", INK));
        // The mark, the text at about 0.55 em a character, and a gap.
        left += 26.0 + meaning.chars().count() as f64 * 16.0 * 0.55 + 28.0;
    }
    group
}

fn echo_mark(voice: Voice, cx: f64, cy: f64) -> Circle {
    let (radius, fill, opacity) = match voice {
        Voice::Upper => (9.0, CYAN_BRIGHT, 1.0),
        Voice::Original => (8.0, CYAN, 1.0),
        Voice::Lower => (7.0, CYAN, 0.35),
    };
    let circle = Circle::new()
        .set("cx", cx)
        .set("cy", cy)
        .set("r", radius)
        .set("fill", fill)
        .set("fill-opacity", opacity);
    if voice == Voice::Upper {
        circle.set("stroke", "#006f86").set("stroke-width", 2)
    } else {
        circle
    }
}

/// A triangle pointing down at `(x, tip)`.
fn sent_mark(x: f64, tip: f64) -> Path {
    Path::new()
        .set("d", format!("M {x:.2} {tip:.2} l -7 -12 l 14 0 z"))
        .set("fill", INK)
}

fn stray_mark(cx: f64, cy: f64) -> Circle {
    Circle::new()
        .set("cx", cx)
        .set("cy", cy)
        .set("r", 6)
        .set("fill", "none")
        .set("stroke", "#777777")
        .set("stroke-width", 2)
}

/// A shout's label, right of the margin, cut with an ellipsis past [`LABEL_CHARS`] columns.
fn label(label: &str, middle: f64) -> Element {
    let mut cut = String::new();
    let mut used = 0;
    let fits = label.chars().map(|c| c.width().unwrap_or(0)).sum::<usize>() <= LABEL_CHARS;
    for c in label.chars() {
        let w = c.width().unwrap_or(0);
        if !fits && used + w > LABEL_CHARS - 1 {
            cut.truncate(cut.trim_end().len());
            cut.push('…');
            break;
        }
        cut.push(c);
        used += w;
    }
    text(&cut, MARGIN, middle + 6.0, LABEL_FONT, MONO).set("xml:space", "preserve")
}

/// A `<text>` element with its content inline. The crate's own `Text` element writes its content
/// on a line of its own, and `xml:space="preserve"` (which keeps a shout's spaces) would show
/// those line ends as spaces.
fn text(content: &str, x: f64, y: f64, size: f64, family: &str) -> Element {
    let mut element = Element::new("text");
    element.append(svg::node::Text::new(content));
    element
        .set("x", x)
        .set("y", y)
        .set("font-size", size)
        .set("font-family", family)
}

/// `set` for the crate's generic [`Element`], as its named elements have it.
trait Set {
    fn set(self, name: &str, value: impl Into<svg::node::Value>) -> Self;
}

impl Set for Element {
    fn set(mut self, name: &str, value: impl Into<svg::node::Value>) -> Self {
        self.assign(name, value);
        self
    }
}
