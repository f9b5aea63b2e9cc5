//! The timeline of a session: when each shout was sent and when each of its echoes came back.
//!
//! A transcript shows order; this shows time. Everything here is measured on one clock, the
//! client's, as a [`Duration`] since the session started: the model is pure (events in, rows and
//! marks out) and knows nothing of sockets, so it is tested on fixed event times. The binary crate
//! draws it: a chart in the terminal that fits a width, with or without color, and an SVG picture
//! for a slide.
//!
//! # Attribution
//!
//! An echo line is matched to the shout and voice it repeats, using [`crate::echo`]'s case mapping:
//! equal to a shout's upper-case form it is that shout's loud echo, equal to the shout it is the
//! echo as sent, equal to its lower-case form the quiet one. A shout owes its voices in order
//! (the server writes them in order and TCP keeps it), so an echo goes to the oldest shout, sent
//! before the echo arrived, whose next owed voice has that text. A line that matches none (a
//! server's message, an echo of a shout typed elsewhere) is kept apart in
//! [`Timeline::unattributed`], never guessed onto a row.
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

use std::time::Duration;

use crate::config::Mode;
use crate::echo::Voice;

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

/// Matches every received line to a shout's voice (see the module docs).
fn attribute(recording: &Recording) -> (Vec<Row>, Vec<Stray>) {
    let mut rows: Vec<Row> = recording
        .shouts
        .iter()
        .map(|shout| Row {
            label: if shout.text.is_empty() {
                EMPTY_SHOUT.to_string()
            } else {
                label(&shout.text)
            },
            sent: shout.at,
            marks: Vec::new(),
            waited: None,
        })
        .collect();
    let mut unattributed = Vec::new();
    let mut attribution = Attribution::new();
    let mut lines: Vec<&Received> = recording.lines.iter().collect();
    lines.sort_by_key(|line| line.at); // stable: equal times keep their order of arrival
    for line in lines {
        match attribution.attribute(&recording.shouts, line.at, &line.text) {
            Some((index, voice)) => rows[index].marks.push(Mark { voice, at: line.at }),
            None => unattributed.push(Stray {
                label: label(&line.text),
                at: line.at,
            }),
        }
    }
    (rows, unattributed)
}

/// Attributes echoes one at a time, in the order they arrive: the one mechanism behind
/// [`Timeline`] (which feeds it a recording's lines in time order) and `connect`'s live voices
/// (which feeds it each line as it comes off the wire).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    /// For each shout, how many of its voices have been heard.
    heard: Vec<usize>,
    /// Every shout before this one has been heard in all its voices: where the search starts.
    first_owed: usize,
}

impl Attribution {
    pub fn new() -> Attribution {
        Attribution::default()
    }

    /// The shout (its index in `shouts`, the shouts sent so far in order) and voice that the echo
    /// text `text`, received at `at`, repeats: the oldest shout sent by then whose next owed voice
    /// has that text (see the module docs). `None` when it matches none.
    pub fn attribute(
        &mut self,
        shouts: &[Sent],
        at: Duration,
        text: &[u8],
    ) -> Option<(usize, Voice)> {
        if self.heard.len() < shouts.len() {
            self.heard.resize(shouts.len(), 0);
        }
        let heard = &self.heard;
        let owed = shouts
            .iter()
            .enumerate()
            .skip(self.first_owed)
            .position(|(index, shout)| {
                let next = Voice::ALL.get(heard[index]);
                shout.at <= at && next.is_some_and(|voice| voice.text(&shout.text) == text)
            })?
            + self.first_owed;
        let voice = Voice::ALL[self.heard[owed]];
        self.heard[owed] += 1;
        while self
            .heard
            .get(self.first_owed)
            .is_some_and(|&heard| heard == Voice::ALL.len())
        {
            self.first_owed += 1;
        }
        Some((owed, voice))
    }
}

/// The label of an empty shout (an empty line is a shout too).
pub const EMPTY_SHOUT: &str = "(empty line)";

/// Shout bytes as printable text, one glyph per character: see [`crate::escape::label`].
pub use crate::escape::label;

/// The time axis one or more sessions share: from 0 to `end`, a whole number of `step`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axis {
    pub end: Duration,
    /// Ticks are at every multiple of this: the delay, or a multiple of it when ticks at every
    /// delay would be too close to draw.
    pub step: Duration,
}

/// What a zero delay (or a session without echoes) falls back to for its ticks.
const FALLBACK_STEP: Duration = Duration::from_secs(1);

impl Axis {
    /// An axis that covers every event of `timelines` and at least `at_least` (so a chart drawn
    /// after the first session of two can already use the scale both will need), ticked at every
    /// delay of the first timeline and ending on a tick.
    pub fn common(timelines: &[&Timeline], at_least: Duration) -> Axis {
        let step = timelines
            .first()
            .map(|timeline| timeline.delay)
            .filter(|delay| !delay.is_zero())
            .unwrap_or(FALLBACK_STEP);
        let last = timelines
            .iter()
            .map(|timeline| timeline.end())
            .chain([at_least])
            .max()
            .unwrap_or_default();
        let steps = last.as_nanos().div_ceil(step.as_nanos()).max(1);
        Axis {
            end: nanos(steps * step.as_nanos()),
            step,
        }
    }

    /// The same axis with ticks at a multiple of its step, so that there are at most `max_ticks`
    /// intervals; the end moves up to the next such tick.
    pub fn thinned(self, max_ticks: u32) -> Axis {
        let max_ticks = u128::from(max_ticks.max(1));
        let intervals = self.end.as_nanos().div_ceil(self.step.as_nanos());
        if intervals <= max_ticks {
            return self;
        }
        let step = nanos(self.step.as_nanos() * intervals.div_ceil(max_ticks));
        let steps = self.end.as_nanos().div_ceil(step.as_nanos());
        Axis {
            end: nanos(steps * step.as_nanos()),
            step,
        }
    }

    /// Every tick, 0 and the end included: [`Axis::thinned`] first, when the step may be small.
    pub fn ticks(&self) -> impl Iterator<Item = Duration> + '_ {
        let count = self.end.as_nanos() / self.step.as_nanos();
        (0..=u32::try_from(count).unwrap_or(u32::MAX)).map(|n| self.step * n)
    }

    /// Where `at` falls, from 0.0 (the start) to 1.0 (the end).
    pub fn fraction(&self, at: Duration) -> f64 {
        if self.end.is_zero() {
            0.0
        } else {
            (at.as_secs_f64() / self.end.as_secs_f64()).clamp(0.0, 1.0)
        }
    }
}

/// Which ticks get a label when not all fit: every `n`th, `n` the first of 1, 2, 4, 5, 10, 20,
/// 25, 50, 100... that puts labels further apart than `widest` (in the unit of `spacing`, the
/// distance between two ticks), so the labelled ticks stay regular.
pub fn label_stride(spacing: f64, widest: f64, ticks: usize) -> usize {
    let nice = [1, 2, 4, 5]
        .into_iter()
        .chain((0..18u32).flat_map(|power| [10, 20, 25, 50].map(|k| k * 10usize.pow(power))));
    nice.into_iter()
        .find(|&n| n as f64 * spacing > widest || n >= ticks)
        .unwrap_or(ticks.max(1))
}

fn nanos(nanos: u128) -> Duration {
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// A time on a chart (a tick, a wait), to the millisecond, as every duration is printed
/// ([`crate::duration::format`]): `0s`, `50ms`, `1.5s`.
pub fn time_label(at: Duration) -> String {
    let millis = (at.as_nanos() + 500_000) / 1_000_000;
    crate::duration::format(Duration::from_millis(
        u64::try_from(millis).unwrap_or(u64::MAX),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn an_echo_goes_to_the_oldest_shout_owed_that_voice() {
        let mut recording = Recording::new();
        recording.sent(Duration::ZERO, "Ab");
        recording.sent(MS * 1, "Ab");
        for at in [2, 3, 10, 11, 20, 21] {
            let voice = [Voice::Upper, Voice::Original, Voice::Lower][(at / 10) as usize];
            recording.received(MS * at, voice.text(b"Ab"));
        }
        let timeline = Timeline::new(&recording, None, MS * 10);
        let times: Vec<Vec<Duration>> = timeline
            .rows
            .iter()
            .map(|row| row.marks.iter().map(|mark| mark.at).collect())
            .collect();
        assert_eq!(
            times,
            [
                vec![MS * 2, MS * 10, MS * 20],
                vec![MS * 3, MS * 11, MS * 21]
            ]
        );
        assert!(timeline.unattributed.is_empty());
    }

    #[test]
    fn identical_voices_are_taken_in_order() {
        let mut recording = Recording::new();
        recording.sent(Duration::ZERO, "42");
        for at in [1, 11, 21] {
            recording.received(MS * at, "42");
        }
        let timeline = Timeline::new(&recording, None, MS * 10);
        let voices: Vec<Voice> = timeline.rows[0].marks.iter().map(|m| m.voice).collect();
        assert_eq!(voices, Voice::ALL);
    }

    #[test]
    fn lines_that_match_no_shout_are_kept_apart() {
        let mut recording = Recording::new();
        recording.received_line(Duration::ZERO, b"server is full\n");
        recording.sent(MS * 1, "hi");
        // Before the shout was sent: cannot be its echo.
        recording.received_line(Duration::ZERO, b"\t HI\n");
        recording.received_line(MS * 2, b"\t hi\n"); // its quiet voice, but the loud one is owed
        recording.received_line(MS * 3, b"\t HI\n");
        let timeline = Timeline::new(&recording, None, MS * 10);
        let strays: Vec<&str> = timeline
            .unattributed
            .iter()
            .map(|s| s.label.as_str())
            .collect();
        assert_eq!(strays, ["server is full", "HI", "hi"]);
        assert_eq!(
            timeline.rows[0].marks,
            [Mark {
                voice: Voice::Upper,
                at: MS * 3
            }]
        );
    }

    #[test]
    fn tick_labels_are_spread_regularly() {
        assert_eq!(label_stride(7.0, 2.0, 8), 1);
        assert_eq!(label_stride(2.0, 2.0, 18), 2);
        assert_eq!(label_stride(2.0, 5.0, 18), 4);
        assert_eq!(label_stride(1.0, 30.0, 100), 50);
        assert_eq!(
            label_stride(1.0, 30.0, 3),
            4,
            "no more than there are ticks"
        );
    }

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

    #[test]
    fn the_axis_ends_on_a_tick_and_thins_its_ticks() {
        let mut recording = Recording::new();
        recording.sent(Duration::ZERO, "x");
        recording.received(MS * 2001, "X");
        let timeline = Timeline::new(&recording, None, MS * 500);
        let axis = Axis::common(&[&timeline], Duration::ZERO);
        assert_eq!(
            axis,
            Axis {
                end: MS * 2500,
                step: MS * 500
            }
        );
        assert_eq!(axis.ticks().count(), 6);
        assert_eq!(Axis::common(&[&timeline], MS * 3000).end, MS * 3000);
        let thinned = axis.thinned(2);
        assert_eq!(
            thinned,
            Axis {
                end: MS * 3000,
                step: MS * 1500
            }
        );
        // A step of a nanosecond over a minute: far more than u32 steps, thinned to a few.
        recording.received(Duration::from_secs(60), "stray");
        let tiny = Timeline::new(&recording, None, Duration::from_nanos(1));
        let axis = Axis::common(&[&tiny], Duration::ZERO);
        assert_eq!(axis.end, Duration::from_secs(60));
        let thinned = axis.thinned(10);
        assert_eq!(thinned.ticks().count(), 11);
        assert_eq!(thinned.end, Duration::from_secs(60));
        let labels = [
            MS * 1500,
            MS * 50,
            Duration::ZERO,
            Duration::from_micros(1_499_600),
        ]
        .map(time_label);
        assert_eq!(labels, ["1.5s", "50ms", "0s", "1.5s"]);
    }
}
