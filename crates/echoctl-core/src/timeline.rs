//! The timeline of a session: when each shout was sent and when each of its echoes came back.
//!
//! A transcript shows order; this shows time. Everything here is measured on one clock, the
//! client's, as a [`Duration`] since the session started: the model is pure (events in, rows and
//! marks out) and knows nothing of sockets, so it is tested on fixed event times. The binary crate
//! draws it: a chart in the terminal that fits a width, with or without color, and an SVG picture
//! for a slide.
//!
//! [`Attribution`] (`attribution.rs`) matches each echo line to the shout and voice it repeats;
//! [`Axis`] (`axis.rs`) is the time axis the charts share, its ticks and their labels.
//!
//! # The waiting stretch
//!
//! What the client can measure of a shout's stay in the server is the gap from sending it to its
//! first (loud) echo. That gap is the round trip plus any time the server left the shout unread.
//! The round trip is about the same for every shout of a session, and the smallest gap of the
//! session is a shout the server read at once (the first shout always is), so that smallest gap
//! is taken as the session's round-trip floor and
//!
//! > **waited** = (first echo's arrival − sent) − the session's smallest such gap.
//!
//! The stretch is drawn from the moment the shout was sent, for that long. This is what shows
//! "reverb1 held this shout back": in reverb1's session `Yooo-hooo!` waits until the previous
//! shout's echoes are out, more than a delay; every reverb2 shout waits nothing, because the
//! floor takes away the latency both servers share. Plain "sent → first echo" would draw a sliver
//! on every row, in both modes, whose length is the machine's latency, not the server's behaviour.
//! It is computed for every session, whatever its mode, so the two can be compared.
//!
//! The charts draw a stretch only when it lasted at least a tenth of the delay
//! ([`Row::noticeable_waiting`]): what is left of a wait once the floor is taken away is, for a
//! shout read at once, the difference between two round trips, and a loaded machine can make that
//! several milliseconds. A server holding a shout back holds it for a good part of a delay (in
//! the book's session, a delay and a half). [`Row::waited`] keeps the exact figure.

mod attribution;
mod axis;

use std::time::Duration;

use crate::config::Mode;
use crate::echo::Voice;

pub use attribution::Attribution;
use attribution::attribute;
pub use axis::{Axis, label_stride, time_label};

/// What one end of a session did, in the order it did it, on one clock: a client's shouts sent
/// and lines received (what the charts draw), or a server's shouts read and lines written (what
/// its trace shows, [`crate::trace`]). Both are attributed alike: a line to the shout it echoes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    shouts: Vec<Sent>,
    lines: Vec<Received>,
    arrivals: Vec<Duration>,
}

/// A shout the client sent (or the server read): its text (no line end) and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub at: Duration,
    pub text: Vec<u8>,
}

/// A line the client received (or the server wrote): its text (an echo without the wire's TAB
/// and SPACE) and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub at: Duration,
    pub text: Vec<u8>,
    /// How long after it was due it came, when the receiver knows when that was (the bench does).
    pub lateness: Option<Duration>,
}

impl Recording {
    pub fn new() -> Recording {
        Recording::default()
    }

    /// The client sent `shout` (without its `\n`) at `at`.
    pub fn sent(&mut self, at: Duration, shout: impl Into<Vec<u8>>) {
        self.shouts.push(Sent {
            at,
            text: shout.into(),
        });
    }

    /// The client received an echo whose text (framing already removed) is `text`, at `at`.
    pub fn received(&mut self, at: Duration, text: impl Into<Vec<u8>>) {
        self.lines.push(Received {
            at,
            text: text.into(),
            lateness: None,
        });
    }

    /// [`Recording::received_line`], for a line that came `lateness` after it was due.
    pub fn received_late(&mut self, at: Duration, line: &[u8], lateness: Duration) {
        self.received_line(at, line);
        if let Some(last) = self.lines.last_mut() {
            last.lateness = Some(lateness);
        }
    }

    /// A server's view: a line came in at `at` (the read that brought its newline), to be
    /// taken as a shout when the session has room for it. The `n`th arrival is the `n`th
    /// shout's: a shout taken later than its line arrived waited in the server, unread.
    pub fn arrived(&mut self, at: Duration) {
        self.arrivals.push(at);
    }

    /// The client received `line` as it came off the wire: the `\n` and the echo's TAB and SPACE
    /// are removed here. A line without the echo framing is kept whole (and will match no shout,
    /// unless it happens to equal one of its voices).
    pub fn received_line(&mut self, at: Duration, line: &[u8]) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let text = line.strip_prefix(crate::echo::ECHO_PREFIX).unwrap_or(line);
        self.received(at, text);
    }

    pub fn shouts(&self) -> &[Sent] {
        &self.shouts
    }

    pub fn lines(&self) -> &[Received] {
        &self.lines
    }

    /// When each line came in, in order (a server's view; empty for a client's).
    pub fn arrivals(&self) -> &[Duration] {
        &self.arrivals
    }

    /// The session's delay as seen from the client, for `connect`, which is not told it: the
    /// smallest gap between two consecutive voices of one shout. `None` when no shout got two.
    pub fn estimate_delay(&self) -> Option<Duration> {
        let (rows, _) = attribute(self);
        rows.iter()
            .flat_map(|row| {
                row.marks
                    .windows(2)
                    .filter(|pair| pair[1].voice.index() == pair[0].voice.index() + 1)
                    .map(|pair| pair[1].at.saturating_sub(pair[0].at))
            })
            .min()
    }
}

/// One shout's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The shout as text for a label: lossy UTF-8, control characters shown as their symbols,
    /// [`EMPTY_SHOUT`] for an empty line.
    pub label: String,
    pub sent: Duration,
    /// The echoes heard, in voice order (at most three; fewer when the session ended first).
    pub marks: Vec<Mark>,
    /// How long the server left the shout unread (see the module docs); `None` until its loud
    /// echo is heard.
    pub waited: Option<Duration>,
}

impl Row {
    /// The waiting stretch: from the send, for [`Row::waited`].
    pub fn waiting(&self) -> Option<(Duration, Duration)> {
        self.waited.map(|waited| (self.sent, self.sent + waited))
    }

    /// The waiting stretch, if it is long enough to tell from the machine's jitter on a chart
    /// ticked at `delay`: at least [`NOTICEABLE_WAIT`] of it (any length when the delay is zero).
    pub fn noticeable_waiting(&self, delay: Duration) -> Option<(Duration, Duration)> {
        let least = delay.mul_f64(NOTICEABLE_WAIT);
        self.waiting()
            .filter(|&(from, to)| to > from && to - from >= least)
    }

    /// The last moment on this row.
    pub fn end(&self) -> Duration {
        self.marks.last().map_or(self.sent, |mark| mark.at)
    }
}

/// The shortest wait a chart draws, as a fraction of the delay (see the module docs).
pub const NOTICEABLE_WAIT: f64 = 0.1;

/// An echo's arrival, in its voice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub voice: Voice,
    pub at: Duration,
}

/// A line that matched no shout, kept apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stray {
    pub label: String,
    pub at: Duration,
}

/// One session, attributed: rows and the lines kept apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// The server's mode when known (`demo` knows it; `connect` does not).
    pub mode: Option<Mode>,
    /// The server's delay (or `connect`'s estimate): ticks are drawn at every delay.
    pub delay: Duration,
    pub rows: Vec<Row>,
    pub unattributed: Vec<Stray>,
    /// The smallest gap from a send to its loud echo: the round trip taken off every wait.
    pub round_trip_floor: Option<Duration>,
}

impl Timeline {
    pub fn new(recording: &Recording, mode: Option<Mode>, delay: Duration) -> Timeline {
        let (mut rows, unattributed) = attribute(recording);
        let gap = |row: &Row| {
            row.marks
                .first()
                .filter(|mark| mark.voice == Voice::Upper)
                .map(|mark| mark.at.saturating_sub(row.sent))
        };
        let round_trip_floor = rows.iter().filter_map(gap).min();
        for row in &mut rows {
            row.waited = gap(row).zip(round_trip_floor).map(|(g, f)| g - f);
        }
        Timeline {
            mode,
            delay,
            rows,
            unattributed,
            round_trip_floor,
        }
    }

    /// The last event: a send or an arrival.
    pub fn end(&self) -> Duration {
        let rows = self.rows.iter().map(Row::end);
        let strays = self.unattributed.iter().map(|stray| stray.at);
        rows.chain(strays).max().unwrap_or_default()
    }

    /// "sequential (reverb1), delay 1s": what a chart is titled.
    pub fn title(&self) -> String {
        title(self.mode, self.delay)
    }
}

/// "sequential (reverb1), delay 1s": what a session in `mode` at `delay` is called, on a chart
/// and in a trace.
pub fn title(mode: Option<Mode>, delay: Duration) -> String {
    let delay = crate::duration::format(delay);
    match mode {
        Some(Mode::Sequential) => format!("sequential (reverb1), delay {delay}"),
        Some(Mode::Concurrent) => format!("concurrent (reverb2), delay {delay}"),
        Some(Mode::Plain) => "plain echo".to_string(),
        None => format!("delay {delay}"),
    }
}

/// The label of an empty shout (an empty line is a shout too).
pub const EMPTY_SHOUT: &str = "(empty line)";

/// Shout bytes as printable text, one glyph per character: see [`crate::escape::label`].
pub use crate::escape::label;

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_wait_is_drawn_only_when_it_is_a_tenth_of_a_delay_or_more() {
        let mut recording = Recording::new();
        for (at, shout) in [(0, "a"), (100, "b"), (200, "c")] {
            recording.sent(MS * at, shout);
        }
        // Round trips of 1 ms, 10.9 ms (jitter) and 12 ms: waits of 0, 9.9 ms and 11 ms.
        recording.received(MS * 1, "A");
        recording.received(Duration::from_micros(110_900), "B");
        recording.received(MS * 212, "C");
        let timeline = Timeline::new(&recording, None, MS * 100);
        let drawn: Vec<Option<(Duration, Duration)>> = timeline
            .rows
            .iter()
            .map(|row| row.noticeable_waiting(timeline.delay))
            .collect();
        assert_eq!(drawn, [None, None, Some((MS * 200, MS * 211))]);
        assert_eq!(timeline.rows[1].waited, Some(Duration::from_micros(9_900)));
        // With no delay to compare with, any wait is drawn.
        assert_eq!(
            timeline.rows[1].noticeable_waiting(Duration::ZERO),
            Some((MS * 100, Duration::from_micros(109_900)))
        );
    }

    #[test]
    fn an_empty_shout_has_a_visible_label() {
        let mut recording = Recording::new();
        recording.sent(Duration::ZERO, "");
        recording.received_line(MS * 1, b"\t \n");
        let timeline = Timeline::new(&recording, None, MS * 10);
        assert_eq!(timeline.rows[0].label, EMPTY_SHOUT);
        assert_eq!(timeline.rows[0].marks.len(), 1);
    }

    #[test]
    fn the_delay_is_estimated_from_consecutive_voices() {
        let mut recording = Recording::new();
        assert_eq!(recording.estimate_delay(), None);
        recording.sent(Duration::ZERO, "x");
        recording.received(MS * 1, "X");
        recording.received(MS * 252, "x");
        recording.received(MS * 501, "x");
        assert_eq!(recording.estimate_delay(), Some(MS * 249));
    }
}
