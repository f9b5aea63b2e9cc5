//! What the shaper takes from the session: echo lines dropped or changed, each write held for
//! its latency (order kept), and the stream cut where a count is reached.

use std::time::Duration;

use tokio::time::Instant;

use super::{Action, Fired, Held, MARKS, Shaper, Stream};
use crate::fault::{Count, Unit};

impl Shaper {
    /// Takes what the session said at `now`, `out`: with [`Stream::EchoLines`], lines, of which
    /// the first `echo_lines` are echo lines (any after them, the farewell); with
    /// [`Stream::Bytes`], a chunk of the stream.
    pub fn take(&mut self, now: Instant, out: &[u8], echo_lines: usize) {
        if self.start > 0 && self.start >= self.held.len() / 2 {
            self.held.drain(..self.start);
            self.start = 0;
        }
        match self.stream {
            Stream::Bytes => self.admit(now, out, false),
            Stream::EchoLines => {
                let mut rest = out;
                let mut index = 0;
                while !rest.is_empty() {
                    let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
                    let (line, tail) = rest.split_at(end);
                    rest = tail;
                    let echo_line = index < echo_lines;
                    index += 1;
                    if !echo_line {
                        self.admit(now, line, false);
                    } else if self.drop.is_some_and(|p| p.happens(&mut self.rng)) {
                        self.dropped += 1;
                    } else if self.corrupt.is_some_and(|p| p.happens(&mut self.rng)) {
                        let changed = self.corrupted_copy(line);
                        self.corrupted += 1;
                        self.admit(now, &changed, true);
                    } else {
                        self.admit(now, line, true);
                    }
                }
            }
        }
    }

    /// `line` with one byte, not its line end, replaced by a mark it was not.
    fn corrupted_copy(&mut self, line: &[u8]) -> Vec<u8> {
        let mut changed = line.to_vec();
        let body = line.strip_suffix(b"\n").unwrap_or(line).len();
        if body > 0 {
            let at = self.rng.usize(0..body);
            let pick = self.rng.usize(0..MARKS.len());
            let mark = if MARKS[pick] == changed[at] {
                MARKS[(pick + 1) % MARKS.len()]
            } else {
                MARKS[pick]
            };
            changed[at] = mark;
        }
        changed
    }

    /// Holds one write, up to the cut if it reaches one.
    fn admit(&mut self, now: Instant, bytes: &[u8], echo_line: bool) {
        if self.cut.is_some() || bytes.is_empty() {
            return;
        }
        let mut cut: Option<(usize, Action, Count)> = None;
        for &(action, count) in &self.cuts {
            let at = match (count.unit, self.stream) {
                (Unit::Bytes, _) => {
                    let left = count.n.saturating_sub(self.bytes_taken);
                    usize::try_from(left)
                        .ok()
                        .filter(|&left| left <= bytes.len())
                }
                (Unit::Lines, Stream::EchoLines) => {
                    (echo_line && self.lines_taken + 1 >= count.n).then_some(bytes.len())
                }
                (Unit::Lines, Stream::Bytes) => {
                    let left = count.n.saturating_sub(self.lines_taken).max(1);
                    usize::try_from(left - 1).ok().and_then(|skip| {
                        memchr::memchr_iter(b'\n', bytes).nth(skip).map(|at| at + 1)
                    })
                }
            };
            if let Some(at) = at
                && cut.is_none_or(|(first, ..)| at < first)
            {
                cut = Some((at, action, count));
            }
        }
        let taken = &bytes[..cut.map_or(bytes.len(), |(at, ..)| at)];
        self.bytes_taken += taken.len() as u64;
        self.lines_taken += match self.stream {
            Stream::EchoLines => u64::from(echo_line),
            Stream::Bytes => memchr::memchr_iter(b'\n', taken).count() as u64,
        };
        if !taken.is_empty() {
            let due = now + self.draw_latency();
            let due = self.last_due.map_or(due, |last| last.max(due));
            self.last_due = Some(due);
            self.held.extend_from_slice(taken);
            self.writes.push_back(Held {
                due,
                left: taken.len(),
                // A line cut short is not an echo line written.
                echo_line: echo_line && taken.len() == bytes.len(),
            });
        }
        if let Some((_, action, after)) = cut {
            self.cut = Some(Fired::new(action, after, self.stream));
        }
    }

    /// How much longer the next write is held: the latency, give or take the jitter.
    fn draw_latency(&mut self) -> Duration {
        let Some((hold, jitter)) = self.latency else {
            return Duration::ZERO;
        };
        let jitter_ns = u64::try_from(jitter.as_nanos()).unwrap_or(u64::MAX / 2);
        if jitter_ns == 0 {
            return hold;
        }
        let offset = Duration::from_nanos(self.rng.u64(0..=2 * jitter_ns));
        hold.saturating_sub(jitter) + offset
    }
}
