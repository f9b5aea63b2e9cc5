//! What one connection does with the faults it drew: the bookkeeping between what its session
//! says and what reaches the socket.
//!
//! The connection hands the [`Shaper`] what its session said at one wake-up ([`Shaper::take`]):
//! echo lines are dropped or changed here, each write is given the time it may go out (latency,
//! order kept), and the stream is cut where a `reset-after`, `close-after` or `stall-after`
//! count is reached (nothing after the cut is kept). The connection then writes what
//! [`Shaper::next`] says is due, one piece at a time (`slice`, `bandwidth`), tells the shaper
//! what the socket took ([`Shaper::wrote`]), and sleeps until [`Shaper::next_wake`]; once every
//! byte before a cut is written, [`Shaper::fired`] says what to do to the connection (`fired`:
//! the [`Action`] and the [`Fired`] record the log names).
//!
//! The shaper holds the bytes that wait, at most [`MAX_HELD`] beside one wake-up's worth: the
//! connection stops reading while it holds more ([`Shaper::takes_more`]), so TCP pushes back on
//! the client, as it does when the client is slow to read.
//!
//! Pure: it is handed the time and the bytes, and its draws come from the connection's seed.
//! Taking what the session said is `take`'s; here are the shaper and the writing side.

mod fired;
mod take;

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::{Count, Drawn, Fault, Percent};

pub use fired::{Action, Fired};

/// Bytes a connection's faults hold back before it stops reading.
pub const MAX_HELD: usize = 256 * 1024;

/// What a corrupted byte becomes: an ASCII punctuation mark, other than the byte it replaces.
/// Never a letter or a digit, so a changed line is never another valid echo (a voice is a case,
/// a shout may be numbered), and never a line end, so the line stays one line.
const MARKS: &[u8] = b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// What a connection writes, which decides what a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The reverb modes: echo lines (and a last line of farewell), each a write of its own.
    EchoLines,
    /// The plain echo: a stream of bytes, each chunk read a write; its lines are its newlines.
    Bytes,
}

/// What to do next, says [`Shaper::next`].
#[derive(Debug, PartialEq, Eq)]
pub enum Next<'a> {
    /// Write these bytes now, as one write.
    Write(&'a [u8]),
    /// Nothing may go out before then.
    Wait(Instant),
    /// Nothing is held.
    Idle,
}

/// One write the session asked for, as far as it has gone.
#[derive(Debug, Clone, Copy)]
struct Held {
    /// When it may go out.
    due: Instant,
    /// Its bytes not yet written.
    left: usize,
    /// Whether it is an echo line (counted when written whole).
    echo_line: bool,
}

/// One connection's faults at work; see the module docs.
#[derive(Debug)]
pub struct Shaper {
    drawn: Drawn,
    rng: fastrand::Rng,
    stream: Stream,
    latency: Option<(Duration, Duration)>,
    bytes_per_second: Option<usize>,
    slice: Option<(usize, Duration)>,
    drop: Option<Percent>,
    corrupt: Option<Percent>,
    slow_close: Option<Duration>,
    /// The count-triggered faults, the one that acts first when two are reached together
    /// first: a reset, then a stall, then a close.
    cuts: Vec<(Action, Count)>,
    lines_taken: u64,
    bytes_taken: u64,
    /// The cut, once reached: nothing after it is taken.
    cut: Option<Fired>,
    /// The bytes held, from `start` on.
    held: Vec<u8>,
    start: usize,
    writes: VecDeque<Held>,
    last_due: Option<Instant>,
    /// `slice`: when the next piece may go.
    next_piece_at: Option<Instant>,
    /// `bandwidth`: when the bytes written so far have had their time.
    link_free_at: Option<Instant>,
    dropped: u64,
    corrupted: u64,
}

impl Shaper {
    /// The faults `drawn` at work on a connection that writes `stream`.
    pub fn new(drawn: Drawn, stream: Stream) -> Shaper {
        let mut shaper = Shaper {
            rng: fastrand::Rng::with_seed(drawn.seed),
            stream,
            latency: None,
            bytes_per_second: None,
            slice: None,
            drop: None,
            corrupt: None,
            slow_close: None,
            cuts: Vec::new(),
            lines_taken: 0,
            bytes_taken: 0,
            cut: None,
            held: Vec::new(),
            start: 0,
            writes: VecDeque::new(),
            last_due: None,
            next_piece_at: None,
            link_free_at: None,
            dropped: 0,
            corrupted: 0,
            drawn,
        };
        for fault in &shaper.drawn.faults {
            match *fault {
                Fault::Latency { hold, jitter } => shaper.latency = Some((hold, jitter)),
                Fault::Bandwidth { bytes_per_second } => {
                    shaper.bytes_per_second = Some(bytes_per_second.max(1))
                }
                Fault::Slice { bytes, delay } => shaper.slice = Some((bytes.max(1), delay)),
                Fault::ResetAfter(count) => shaper.cuts.push((Action::Reset, count)),
                Fault::StallAfter(count) => shaper.cuts.push((Action::Stall, count)),
                Fault::CloseAfter(count) => shaper.cuts.push((Action::Close, count)),
                Fault::SlowClose(after) => shaper.slow_close = Some(after),
                Fault::Drop(chance) => shaper.drop = Some(chance),
                Fault::Corrupt(chance) => shaper.corrupt = Some(chance),
                // Decided at the accept, before a connection is served.
                Fault::Refuse => {}
            }
        }
        shaper.cuts.sort_by_key(|(action, _)| *action as u8);
        // A count of zero is reached before anything is written.
        shaper.cut = shaper
            .cuts
            .iter()
            .find(|(_, count)| count.n == 0)
            .map(|&(action, after)| Fired::new(action, after, stream));
        shaper
    }

    /// The faults this connection drew.
    pub fn drawn(&self) -> &Drawn {
        &self.drawn
    }

    /// What the connection writes.
    pub fn stream(&self) -> Stream {
        self.stream
    }

    /// What to do next at `now`: the bytes to write as one write, or when to look again.
    pub fn next(&self, now: Instant) -> Next<'_> {
        let Some(head) = self.writes.front() else {
            return Next::Idle;
        };
        let ready_at = [self.next_piece_at, self.link_free_at]
            .into_iter()
            .flatten()
            .fold(head.due, Instant::max);
        if ready_at > now {
            return Next::Wait(ready_at);
        }
        let mut len = head.left;
        match self.slice {
            Some((bytes, _)) => len = len.min(bytes),
            // Unsliced, the writes due by now go out together.
            None => {
                for write in self.writes.iter().skip(1) {
                    if write.due > now {
                        break;
                    }
                    len += write.left;
                }
            }
        }
        if let Some(rate) = self.bytes_per_second {
            len = len.min(quantum(rate));
        }
        Next::Write(&self.held[self.start..self.start + len])
    }

    /// The socket took `n` bytes of what [`Shaper::next`] gave at `now`. Returns how many echo
    /// lines that finished writing.
    pub fn wrote(&mut self, now: Instant, n: usize) -> usize {
        let n = n.min(self.held.len() - self.start);
        self.start += n;
        let mut lines = 0;
        let mut left = n;
        while left > 0
            && let Some(head) = self.writes.front_mut()
        {
            let k = left.min(head.left);
            head.left -= k;
            left -= k;
            if head.left == 0 {
                lines += usize::from(head.echo_line);
                self.writes.pop_front();
            }
        }
        if let Some((_, delay)) = self.slice {
            self.next_piece_at = Some(now + delay);
        }
        if let Some(rate) = self.bytes_per_second {
            let from = self.link_free_at.map_or(now, |free| free.max(now));
            self.link_free_at = Some(from + Duration::from_secs_f64(n as f64 / rate as f64));
        }
        if self.writes.is_empty() {
            self.held.clear();
            self.start = 0;
        }
        lines
    }

    /// When something held may next go out, if anything is held.
    pub fn next_wake(&self) -> Option<Instant> {
        let head = self.writes.front()?;
        Some(
            [self.next_piece_at, self.link_free_at]
                .into_iter()
                .flatten()
                .fold(head.due, Instant::max),
        )
    }

    /// Bytes held, not yet written.
    pub fn held(&self) -> usize {
        self.held.len() - self.start
    }

    /// Whether nothing is held.
    pub fn is_idle(&self) -> bool {
        self.writes.is_empty()
    }

    /// Whether the connection should read more: no cut reached, and room to hold what comes.
    pub fn takes_more(&self) -> bool {
        self.cut.is_none() && self.held() < MAX_HELD
    }

    /// The terminal fault, once everything before its cut is written.
    pub fn fired(&self) -> Option<Fired> {
        self.cut.filter(|_| self.writes.is_empty())
    }

    /// How much later than due the connection's FIN comes (`slow-close`).
    pub fn slow_close(&self) -> Option<Duration> {
        self.slow_close
    }

    /// Echo lines left out (`drop`) and changed (`corrupt`) so far.
    pub fn dropped_and_corrupted(&self) -> (u64, u64) {
        (self.dropped, self.corrupted)
    }
}

/// Most bytes one write may carry under `bandwidth`: a fiftieth of a second's worth, so a
/// throttled connection writes steadily rather than a second's bytes at once.
fn quantum(bytes_per_second: usize) -> usize {
    (bytes_per_second / 50).clamp(1, 16 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn shaper(faults: &[&str], stream: Stream) -> Shaper {
        let faults = faults
            .iter()
            .map(|f| f.parse().unwrap_or_else(|e| panic!("{f}: {e}")))
            .collect();
        Shaper::new(Drawn { faults, seed: 42 }, stream)
    }

    fn echo(text: &str) -> Vec<u8> {
        format!("\t {text}\n").into_bytes()
    }

    /// Writes everything due at `now`, each piece whole; returns the pieces.
    fn write_due(shaper: &mut Shaper, now: Instant) -> Vec<Vec<u8>> {
        let mut pieces = Vec::new();
        while let Next::Write(piece) = shaper.next(now) {
            let piece = piece.to_vec();
            shaper.wrote(now, piece.len());
            pieces.push(piece);
        }
        pieces
    }

    /// Runs the shaper from wake-up to wake-up until nothing is held: (ms, piece).
    fn run_out(shaper: &mut Shaper, t0: Instant) -> Vec<(u64, Vec<u8>)> {
        let mut heard = Vec::new();
        let mut now = t0;
        loop {
            for piece in write_due(shaper, now) {
                heard.push(((now - t0).as_millis() as u64, piece));
            }
            match shaper.next_wake() {
                Some(wake) => now = wake,
                None => return heard,
            }
        }
    }

    #[test]
    fn slice_cuts_each_line_into_pieces_a_delay_apart() {
        let t0 = Instant::now();
        let mut s = shaper(&["slice=4/10ms"], Stream::EchoLines);
        let out = [echo("HELLO?"), echo("Hi")].concat();
        s.take(t0, &out, 2);
        let heard = run_out(&mut s, t0);
        let expected: Vec<(u64, Vec<u8>)> = [
            (0, &b"\t HE"[..]),
            (10, b"LLO?"),
            (20, b"\n"),
            (30, b"\t Hi"),
            (40, b"\n"),
        ]
        .into_iter()
        .map(|(t, p)| (t, p.to_vec()))
        .collect();
        assert_eq!(heard, expected);
    }

    #[test]
    fn latency_holds_every_line_keeps_the_order_and_jitters_the_same_for_the_same_seed() {
        let t0 = Instant::now();
        let run = || {
            let mut s = shaper(&["latency=200ms~50ms"], Stream::EchoLines);
            let mut wakes = Vec::new();
            for i in 0..50u64 {
                s.take(t0 + ms(i), &echo(&format!("line {i}")), 1);
                wakes.push(s.next_wake().map(|w| (w - t0).as_millis() as u64));
            }
            (run_out(&mut s, t0), wakes)
        };
        let (pieces, _) = run();
        // Lines due by the same wake-up go out together.
        let heard: Vec<(u64, &[u8])> = pieces
            .iter()
            .flat_map(|(at, piece)| piece.split_inclusive(|&b| b == b'\n').map(|l| (*at, l)))
            .collect();
        assert_eq!(heard.len(), 50, "{heard:?}");
        for (i, (at, line)) in heard.iter().enumerate() {
            assert_eq!(*line, echo(&format!("line {i}")), "order kept");
            // Taken at i ms, held 150 to 250 ms, or until the line before it went.
            let i = i as u64;
            assert!((i + 150..=i + 250).contains(at), "line {i} at {at} ms");
        }
        assert!(heard.windows(2).all(|w| w[0].0 <= w[1].0));
        let first: Vec<u64> = heard.iter().map(|(t, _)| *t).collect();
        assert!(
            first.iter().any(|&t| t != first[0]),
            "jitter varies the hold: {first:?}"
        );
        assert_eq!(run(), run(), "the same seed, the same jitter");

        // Without jitter, exactly the latency.
        let mut s = shaper(&["latency=200ms"], Stream::EchoLines);
        s.take(t0, &echo("x"), 1);
        assert_eq!(s.next(t0), Next::Wait(t0 + ms(200)));
        assert_eq!(s.next(t0 + ms(200)), Next::Write(&echo("x")));
    }

    #[test]
    fn bandwidth_writes_at_most_its_rate() {
        let t0 = Instant::now();
        let mut s = shaper(&["bandwidth=1000/s"], Stream::Bytes);
        s.take(t0, &[b'x'; 2000], 0);
        let heard = run_out(&mut s, t0);
        assert!(
            heard.iter().all(|(_, piece)| piece.len() == 20),
            "{heard:?}"
        );
        let (last, _) = heard.last().expect("written");
        // 2000 bytes at 1000 a second: the last of 100 pieces 1.98 s after the first.
        assert_eq!(*last, 1980);
        let total: usize = heard.iter().map(|(_, p)| p.len()).sum();
        assert_eq!(total, 2000);
    }

    #[test]
    fn reset_after_lines_cuts_after_the_last_line_counted_and_fires_once_it_is_written() {
        let t0 = Instant::now();
        let mut s = shaper(&["reset-after=2lines"], Stream::EchoLines);
        s.take(t0, &echo("ONE"), 1);
        assert_eq!(s.fired(), None);
        assert!(s.takes_more());
        s.take(t0, &[echo("one"), echo("TWO")].concat(), 2);
        assert!(!s.takes_more(), "the cut is reached: nothing more is read");
        assert_eq!(s.fired(), None, "two lines held, not yet written");
        let pieces = write_due(&mut s, t0);
        assert_eq!(pieces, [[echo("ONE"), echo("one")].concat()]);
        let fired = s.fired().expect("fired once written");
        assert_eq!(fired.action(), Action::Reset);
        assert_eq!(fired.to_string(), "reset after 2 echo lines");
        s.take(t0, &echo("later"), 1);
        assert!(s.is_idle(), "nothing after the cut");
    }

    #[test]
    fn a_byte_count_cuts_inside_a_line_and_a_farewell_is_no_echo_line() {
        let t0 = Instant::now();
        let mut s = shaper(&["close-after=10bytes"], Stream::EchoLines);
        s.take(t0, &[echo("HELLO?"), echo("Hello?")].concat(), 2);
        assert_eq!(write_due(&mut s, t0), [b"\t HELLO?\n\t".to_vec()]);
        assert_eq!(
            s.fired().map(|f| f.to_string()).as_deref(),
            Some("closed after 10 bytes")
        );

        let mut s = shaper(&["stall-after=1line"], Stream::EchoLines);
        s.take(t0, b"echoctl: the server is shutting down\n", 0);
        assert_eq!(s.fired(), None, "a farewell is not an echo line");
        let mut s = shaper(&["stall-after=0lines"], Stream::EchoLines);
        assert_eq!(
            s.fired().map(|f| f.to_string()).as_deref(),
            Some("stalled after 0 echo lines"),
            "at once"
        );
        s.take(t0, &echo("A"), 1);
        assert!(s.is_idle());
    }

    #[test]
    fn in_a_stream_lines_are_newlines_and_the_first_cut_reached_acts() {
        let t0 = Instant::now();
        let mut s = shaper(
            &["close-after=2lines", "reset-after=100bytes"],
            Stream::Bytes,
        );
        s.take(t0, b"one\ntw", 0);
        s.take(t0, b"o\nthree\n", 0);
        assert_eq!(write_due(&mut s, t0), [b"one\ntwo\n".to_vec()]);
        assert_eq!(
            s.fired().map(|f| f.to_string()).as_deref(),
            Some("closed after 2 lines")
        );

        // Reached by the same byte: the reset acts.
        let mut s = shaper(&["close-after=4bytes", "reset-after=1line"], Stream::Bytes);
        s.take(t0, b"abc\n", 0);
        write_due(&mut s, t0);
        assert_eq!(s.fired().map(|f| f.action()), Some(Action::Reset));
    }

    /// Drop and corrupt act on each echo line with their chance: within binomial bounds over
    /// many lines, the same lines for the same seed, and a corrupted line differs from the echo
    /// in exactly one byte, a punctuation mark, its line end kept.
    #[test]
    fn drop_and_corrupt_each_line_with_their_chance() {
        const N: usize = 5000;
        let t0 = Instant::now();
        let run = || {
            let mut s = shaper(&["drop=10%", "corrupt=20%"], Stream::EchoLines);
            // Each index twice: two lines are never one byte apart.
            let lines: Vec<Vec<u8>> = (0..N).map(|i| echo(&format!("Shout n{i} n{i}"))).collect();
            s.take(t0, &lines.concat(), N);
            let heard = write_due(&mut s, t0).concat();
            (s.dropped_and_corrupted(), heard, lines)
        };
        let ((dropped, corrupted), heard, lines) = run();
        let within = |got: u64, n: f64, p: f64| {
            let mean = n * p;
            (got as f64 - mean).abs() <= 5.0 * (mean * (1.0 - p)).sqrt()
        };
        assert!(within(dropped, N as f64, 0.1), "{dropped} dropped of {N}");
        assert!(
            within(corrupted, N as f64 - dropped as f64, 0.2),
            "{corrupted} corrupted"
        );
        let heard: Vec<&[u8]> = heard.split_inclusive(|&b| b == b'\n').collect();
        assert_eq!(heard.len() as u64, N as u64 - dropped);
        let mut changed = 0;
        let mut expected = lines.iter();
        for line in heard {
            // The next echo of the same length that is at most one byte away.
            let original = expected
                .by_ref()
                .find(|e| {
                    e.len() == line.len() && e.iter().zip(line).filter(|(a, b)| a != b).count() <= 1
                })
                .expect("each line heard is an echo, or one byte off it");
            if original.as_slice() != line {
                changed += 1;
                let at = line.iter().zip(original).position(|(a, b)| a != b).unwrap();
                assert!(MARKS.contains(&line[at]), "{:?}", line[at] as char);
                assert!(line.ends_with(b"\n"));
            }
        }
        assert_eq!(changed, corrupted);
        assert_eq!(run().1, run().1, "the same seed, the same lines");
    }

    #[test]
    fn held_bytes_are_bounded_by_reading_no_more() {
        let t0 = Instant::now();
        let mut s = shaper(&["latency=10s"], Stream::Bytes);
        let chunk = vec![b'x'; 16 * 1024];
        let mut reads = 0;
        while s.takes_more() {
            s.take(t0, &chunk, 0);
            reads += 1;
            assert!(reads < 1000, "never stops reading");
        }
        assert_eq!(s.held(), MAX_HELD, "stops at the bound");
        assert_eq!(s.next(t0), Next::Wait(t0 + ms(10_000)));
        run_out(&mut s, t0);
        assert!(s.takes_more() && s.held() == 0);
    }
}
