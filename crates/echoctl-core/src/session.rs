//! One connection's session, without the connection: bytes and the time in, the bytes due and the
//! next wake-up out, and how the session ended.
//!
//! Every decision the server makes about a client lives here: when to take the next line (one
//! shout in flight for `sequential`, up to `--max-pending` and [`MAX_QUEUED_BYTES`] of text for
//! `concurrent`), when to stop reading so TCP's flow control pushes back, which echo lines are due
//! ([`EchoQueue`]), when the client counts as idle, what a shutdown changes, when the session is
//! over and what the client is told then. The server's connection task moves bytes between this
//! and the socket, sleeps until [`Session::next_wake`] and gives up on a client that stops
//! reading (`--write-timeout`); the demo's rehearsal drives the same code under a fake clock.
//!
//! Like [`crate::lines`] and [`crate::schedule`], this module is pure: it is handed the time, it
//! does no I/O and never sleeps.
//!
//! The caller's loop: tell the session what happened ([`Session::receive`],
//! [`Session::end_of_input`], [`Session::drain`], [`Session::abort`]), then [`Session::advance`]
//! it to the present, write what it appended, and wait for whichever comes first of the socket
//! becoming readable (if [`Session::read_allowance`] is not zero), [`Session::next_wake`] and the
//! shutdown stage [`Session::next_stop`] names, until [`Session::end`] says it is over.
//!
//! [`plain`] is the plain echo's session (`serve --mode plain`), which ends the same ways. Both
//! are [`ServerSession`]s, the one shape the server's connection loop drives (`server_session`,
//! with how a session ends and the shutdown stages).

pub mod plain;
mod server_session;

use std::time::Duration;

use tokio::time::Instant;

use crate::lines::LineSplitter;
use crate::schedule::EchoQueue;
pub use server_session::{End, ServerSession, Stop};

/// A connection's queued shouts may hold at most this many bytes (or one line, if larger) before
/// the session stops taking lines, whatever the number of shouts in flight allows.
pub const MAX_QUEUED_BYTES: usize = 1024 * 1024;

/// What shapes a session: the server's settings that concern one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Time between a shout's echoes.
    pub delay: Duration,
    /// Longest line accepted, in bytes, terminator excluded.
    pub max_line: usize,
    /// Shouts echoing at once: 1 is the book's reverb1, more is reverb2.
    pub shouts_in_flight: usize,
    /// The session ends after this long without a complete line while it waits for one.
    pub idle_timeout: Option<Duration>,
}

/// How far the client's input has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Open,
    /// The client closed its write half: what is buffered is all there will be.
    Ended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Taking lines and echoing them.
    Serving,
    /// No more lines: delivering the echoes owed, then ending so.
    Ending(End),
    /// Over: nothing more is read or written.
    Ended(End),
}

/// One client's session; see the module docs.
#[derive(Debug)]
pub struct Session {
    lines: LineSplitter,
    echoes: EchoQueue,
    shouts_in_flight: usize,
    /// `MAX_QUEUED_BYTES`, or one line if that is larger.
    max_queued_bytes: usize,
    idle_timeout: Option<Duration>,
    input: Input,
    phase: Phase,
    /// Armed only while the session waits for a line: a sequential session busy echoing is not
    /// idle, and a partial line is not activity.
    idle_deadline: Option<Instant>,
    /// Whether the last [`Session::advance`] started the idle clock (see
    /// [`Session::written_at`]).
    idle_armed_by_advance: bool,
}

impl Session {
    pub fn new(settings: Settings) -> Session {
        Session {
            lines: LineSplitter::new(settings.max_line),
            echoes: EchoQueue::new(settings.delay),
            shouts_in_flight: settings.shouts_in_flight.max(1),
            max_queued_bytes: MAX_QUEUED_BYTES.max(settings.max_line),
            idle_timeout: settings.idle_timeout,
            input: Input::Open,
            phase: Phase::Serving,
            idle_deadline: None,
            idle_armed_by_advance: false,
        }
    }

    /// Bytes the client sent: at most [`Session::read_allowance`] at a time.
    pub fn receive(&mut self, bytes: &[u8]) {
        self.lines.buffer_mut().extend_from_slice(bytes);
    }

    /// The client closed its write half: a last line without `\n` still counts.
    pub fn end_of_input(&mut self) {
        self.input = Input::Ended;
    }

    /// The server is shutting down gently: no more lines; the echoes owed are still delivered,
    /// then a last line says why the connection closes. A client that has ended its input is
    /// cut short of nothing: its session ends as if the server went on.
    pub fn drain(&mut self) {
        if self.phase == Phase::Serving {
            self.phase = Phase::Ending(match self.input {
                Input::Open => End::ServerShutdown,
                Input::Ended => End::ClientDone,
            });
        }
    }

    /// The server's grace period is over: the session ends now, whatever it still owes, even
    /// when what it owes is the last bytes of an ending the caller is still writing.
    pub fn abort(&mut self) {
        self.phase = Phase::Ended(End::Aborted);
    }

    /// The bytes the last [`Session::advance`] appended were only all written at `now` (a client
    /// slow to read): an idle clock that advance started starts from here instead, since time
    /// spent writing to the client is not time spent waiting for its next line.
    pub fn written_at(&mut self, now: Instant) {
        if self.idle_armed_by_advance {
            self.idle_deadline = self.idle_timeout.map(|idle| now + idle);
        }
    }

    /// Brings the session to `now`: takes every line there is room for, appends to `out` every
    /// echo line due (and the farewell, if the session ends with one), and calls `on_shout` with
    /// each shout taken and the bytes then queued. Returns how many echo lines it appended.
    ///
    /// Call it after telling the session anything, and when [`Session::next_wake`] comes; what
    /// it appends is meant to be written in one go.
    pub fn advance(
        &mut self,
        now: Instant,
        out: &mut Vec<u8>,
        mut on_shout: impl FnMut(&[u8], usize),
    ) -> usize {
        if matches!(self.phase, Phase::Ended(_)) {
            return 0;
        }
        // Until neither makes progress: a shout's last echo makes room for the next line.
        let mut echo_lines = 0;
        loop {
            let took = self.take_lines(now, &mut on_shout);
            let popped = self.echoes.pop_due(now, out);
            echo_lines += popped;
            if !took && popped == 0 {
                break;
            }
        }
        if self.phase == Phase::Serving
            && self.idle_deadline.is_some_and(|deadline| deadline <= now)
            && let Some(idle) = self.idle_timeout
        {
            self.phase = Phase::Ending(End::Idle(idle));
        }
        if self.echoes.is_empty() {
            let end = match self.phase {
                Phase::Ending(end) => Some(end),
                Phase::Serving if self.input == Input::Ended && self.lines.buffered() == 0 => {
                    Some(End::ClientDone)
                }
                _ => None,
            };
            if let Some(end) = end {
                if let Some(farewell) = end.farewell() {
                    out.extend_from_slice(farewell.as_bytes());
                }
                self.phase = Phase::Ended(end);
            }
        }
        self.idle_armed_by_advance = false;
        if self.read_allowance() == 0 {
            self.idle_deadline = None;
        } else if self.idle_deadline.is_none() {
            self.idle_deadline = self.idle_timeout.map(|idle| now + idle);
            self.idle_armed_by_advance = self.idle_deadline.is_some();
        }
        echo_lines
    }

    /// Bytes received and not yet taken as shouts: the lines waiting for room to echo. (A UDP
    /// peer's datagrams come whether or not it has room, and wait here, bounded by the caller.)
    pub fn unread(&self) -> usize {
        self.lines.buffered()
    }

    /// How many bytes the session takes now; zero when it is not reading (no room for another
    /// shout, a line waiting, input ended, or the session ending).
    pub fn read_allowance(&self) -> usize {
        if self.phase == Phase::Serving && self.input == Input::Open && self.has_room() {
            self.lines.read_allowance()
        } else {
            0
        }
    }

    /// When the session next needs [`Session::advance`] without news from the client: the
    /// next echo due, or the idle deadline.
    pub fn next_wake(&self) -> Option<Instant> {
        self.echoes
            .next_due()
            .into_iter()
            .chain(self.idle_deadline)
            .min()
    }

    /// Which shutdown stage would change the session: draining while it still takes lines,
    /// aborting once it only delivers what it owes (the server aborts only after draining).
    pub fn next_stop(&self) -> Stop {
        match self.phase {
            Phase::Serving => Stop::Drain,
            Phase::Ending(_) | Phase::Ended(_) => Stop::Abort,
        }
    }

    /// How the session ended, once it has: nothing more is due after the bytes
    /// [`Session::advance`] last appended.
    pub fn end(&self) -> Option<End> {
        match self.phase {
            Phase::Ended(end) => Some(end),
            Phase::Serving | Phase::Ending(_) => None,
        }
    }

    /// Takes lines while there is room, scheduling their echoes from `now`. Says whether it took
    /// any.
    fn take_lines(&mut self, now: Instant, on_shout: &mut impl FnMut(&[u8], usize)) -> bool {
        let mut took = false;
        while self.phase == Phase::Serving && self.has_room() {
            let next = match self.input {
                Input::Open => self.lines.next_line(),
                Input::Ended => self.lines.finish(),
            };
            match next {
                Some(Ok(shout)) => {
                    on_shout(&shout, self.echoes.queued_bytes() + shout.len());
                    self.echoes.push(shout, now);
                    self.idle_deadline = None;
                    took = true;
                }
                Some(Err(too_long)) => self.phase = Phase::Ending(End::LineTooLong(too_long)),
                None => break,
            }
        }
        took
    }

    /// Whether another shout may start echoing now.
    fn has_room(&self) -> bool {
        self.echoes.in_flight() < self.shouts_in_flight
            && (self.echoes.in_flight() == 0 || self.echoes.queued_bytes() < self.max_queued_bytes)
    }
}

impl ServerSession for Session {
    fn read_allowance(&self) -> usize {
        Session::read_allowance(self)
    }
    /// Lines are echoed when [`Session::advance`] takes them, never straight back.
    fn receive(&mut self, _: Instant, bytes: &[u8], _: &mut Vec<u8>) {
        Session::receive(self, bytes)
    }
    fn end_of_input(&mut self) {
        Session::end_of_input(self)
    }
    fn drain(&mut self) {
        Session::drain(self)
    }
    fn abort(&mut self) {
        Session::abort(self)
    }
    fn advance(
        &mut self,
        now: Instant,
        out: &mut Vec<u8>,
        on_shout: impl FnMut(&[u8], usize),
    ) -> usize {
        Session::advance(self, now, out, on_shout)
    }
    fn written(&mut self, now: Instant) {
        self.written_at(now)
    }
    fn next_wake(&self) -> Option<Instant> {
        Session::next_wake(self)
    }
    fn next_stop(&self) -> Stop {
        Session::next_stop(self)
    }
    fn end(&self) -> Option<End> {
        Session::end(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::LineTooLong;

    const DELAY: Duration = Duration::from_secs(1);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn settings(shouts_in_flight: usize) -> Settings {
        Settings {
            delay: DELAY,
            max_line: 64 * 1024,
            shouts_in_flight,
            idle_timeout: None,
        }
    }

    /// A session and the base of its clock.
    struct Run {
        session: Session,
        t0: Instant,
        /// Shouts taken, with the bytes queued after each.
        taken: Vec<(String, usize)>,
    }

    impl Run {
        fn new(settings: Settings) -> Run {
            Run {
                session: Session::new(settings),
                t0: Instant::now(),
                taken: Vec::new(),
            }
        }

        /// Advances to `at` ms and returns the lines written then.
        fn at(&mut self, at: u64) -> Vec<String> {
            let mut out = Vec::new();
            let taken = &mut self.taken;
            let lines = self
                .session
                .advance(self.t0 + ms(at), &mut out, |shout, queued| {
                    taken.push((String::from_utf8_lossy(shout).into_owned(), queued))
                });
            let text = String::from_utf8(out).unwrap();
            let written: Vec<String> = text.lines().map(str::to_string).collect();
            let echoes = written.iter().filter(|l| l.starts_with("\t ")).count();
            assert_eq!(lines, echoes, "echo lines counted as written");
            written
        }

        /// Advances from wake-up to wake-up until nothing more is due, recording (ms, line).
        fn run_out(&mut self) -> Vec<(u64, String)> {
            let mut heard = Vec::new();
            for _ in 0..10_000 {
                let Some(wake) = self.session.next_wake() else {
                    break;
                };
                let at = (wake - self.t0).as_millis() as u64;
                heard.extend(self.at(at).into_iter().map(|line| (at, line)));
                if self.session.end().is_some() {
                    break;
                }
            }
            heard
        }

        fn wake_ms(&self) -> Option<u64> {
            self.session
                .next_wake()
                .map(|wake| (wake - self.t0).as_millis() as u64)
        }
    }

    fn echo(lines: &[(u64, &str)]) -> Vec<(u64, String)> {
        lines.iter().map(|(t, l)| (*t, format!("\t {l}"))).collect()
    }

    #[test]
    fn sequential_takes_the_next_line_only_after_the_last_echo() {
        let mut run = Run::new(settings(1));
        run.session.receive(b"one\ntwo\n");
        assert_eq!(run.at(0), ["\t ONE"]);
        assert_eq!(run.session.read_allowance(), 0, "no room: not reading");
        assert_eq!(run.wake_ms(), Some(1000));
        run.session.end_of_input();
        let mut heard = run.run_out();
        heard.insert(0, (0, "\t ONE".into()));
        assert_eq!(
            heard,
            echo(&[
                (0, "ONE"),
                (1000, "one"),
                (2000, "one"),
                (2000, "TWO"),
                (3000, "two"),
                (4000, "two"),
            ])
        );
        assert_eq!(run.session.end(), Some(End::ClientDone));
        assert_eq!(run.session.next_wake(), None);
    }

    #[test]
    fn concurrent_takes_every_line_at_once_up_to_the_limit() {
        let mut run = Run::new(settings(2));
        run.session.receive(b"a\nb\nc\n");
        assert_eq!(run.at(0), ["\t A", "\t B"]);
        assert_eq!(run.taken, [("a".into(), 1), ("b".into(), 2)]);
        assert_eq!(run.session.read_allowance(), 0);
        // At 2 s both shouts finish; c is taken at once and echoes from then.
        assert_eq!(run.at(1000), ["\t a", "\t b"]);
        assert_eq!(run.at(2000), ["\t a", "\t b", "\t C"]);
        assert!(run.session.read_allowance() > 0, "room again");
    }

    #[test]
    fn queued_text_is_bounded_but_one_line_always_fits() {
        let mut run = Run::new(Settings {
            max_line: MAX_QUEUED_BYTES,
            ..settings(100)
        });
        run.session.receive(&vec![b'x'; MAX_QUEUED_BYTES]);
        run.session.receive(b"\nsmall\n");
        assert_eq!(run.at(0).len(), 1, "the longest line is taken, alone");
        assert_eq!(run.taken.len(), 1);
        assert_eq!(run.session.read_allowance(), 0);
        run.at(2000);
        assert_eq!(run.taken.len(), 2, "the next once it is echoed");

        let mut run = Run::new(settings(100));
        let line = vec![b'y'; 1000];
        for _ in 0..2000 {
            run.session.receive(&line);
            run.session.receive(b"\n");
            run.at(0);
        }
        let peak = run.taken.iter().map(|(_, q)| *q).max().unwrap();
        assert!(run.taken.len() == 100, "stopped at the shout limit");
        assert!(peak <= 100 * 1000);

        let mut run = Run::new(settings(10_000));
        for _ in 0..2000 {
            run.session.receive(&line);
            run.session.receive(b"\n");
            run.at(0);
        }
        let peak = run.taken.iter().map(|(_, q)| *q).max().unwrap();
        assert_eq!(peak, MAX_QUEUED_BYTES.div_ceil(1000) * 1000);
        assert_eq!(run.session.read_allowance(), 0, "stopped at the byte limit");
    }

    #[test]
    fn a_line_too_long_ends_after_the_echoes_owed_with_a_farewell() {
        let mut run = Run::new(Settings {
            max_line: 8,
            ..settings(10)
        });
        run.session.receive(b"ok\n123456789\nlater\n");
        assert_eq!(run.at(0), ["\t OK"]);
        assert_eq!(run.taken.len(), 1, "nothing after the long line is taken");
        assert_eq!(run.session.read_allowance(), 0);
        assert_eq!(run.session.next_stop(), Stop::Abort);
        assert_eq!(run.at(1000), ["\t ok"]);
        assert_eq!(run.session.end(), None);
        assert_eq!(
            run.at(2000),
            [
                "\t ok",
                "echoctl: line longer than 8 bytes; closing the connection (the server's \
                 --max-line is 8 bytes)"
            ]
        );
        assert_eq!(
            run.session.end(),
            Some(End::LineTooLong(LineTooLong { max_line: 8 }))
        );
        assert!(run.at(3000).is_empty(), "nothing after the end");
    }

    #[test]
    fn an_unterminated_last_line_is_a_shout_and_an_empty_input_ends_at_once() {
        let mut run = Run::new(settings(10));
        run.session.receive(b"a\r\nb");
        assert_eq!(run.at(0), ["\t A"]);
        run.session.end_of_input();
        assert_eq!(run.at(10), ["\t B"]);
        assert_eq!(run.session.read_allowance(), 0);

        let mut run = Run::new(settings(10));
        run.session.end_of_input();
        assert!(run.at(0).is_empty());
        assert_eq!(run.session.end(), Some(End::ClientDone));
    }

    #[test]
    fn idle_time_counts_only_while_waiting_for_a_line() {
        let idle = Settings {
            idle_timeout: Some(ms(5000)),
            ..settings(1)
        };
        let mut run = Run::new(idle);
        run.session.receive(b"hi\n");
        run.at(0);
        assert_eq!(run.wake_ms(), Some(1000), "busy echoing: no idle deadline");
        run.at(1000);
        run.at(2000);
        assert_eq!(run.wake_ms(), Some(7000), "idle from the last echo on");
        // A partial line is not activity.
        run.session.receive(b"half a li");
        run.at(3000);
        assert_eq!(run.wake_ms(), Some(7000));
        assert!(run.at(6999).is_empty());
        assert_eq!(run.session.end(), None);
        assert_eq!(
            run.at(7000),
            ["echoctl: no complete line for 5s; closing the connection"]
        );
        assert_eq!(run.session.end(), Some(End::Idle(ms(5000))));
        assert_eq!(run.session.read_allowance(), 0);

        // A complete line re-arms it from when the session waits again.
        let mut run = Run::new(Settings {
            idle_timeout: Some(ms(5000)),
            ..settings(10)
        });
        run.at(0);
        assert_eq!(run.wake_ms(), Some(5000));
        run.session.receive(b"x\n");
        run.at(4000);
        assert_eq!(run.wake_ms(), Some(5000), "the echo due at 5 s");
        run.at(5000);
        assert_eq!(run.wake_ms(), Some(6000));
        run.at(6000);
        assert_eq!(run.wake_ms(), Some(9000), "idle from the shout on, at 4 s");
    }

    #[test]
    fn echoes_owed_are_delivered_before_the_idle_farewell() {
        let mut run = Run::new(Settings {
            delay: ms(4000),
            idle_timeout: Some(ms(5000)),
            ..settings(10)
        });
        run.session.receive(b"slow\n");
        assert_eq!(run.at(0), ["\t SLOW"]);
        assert_eq!(run.wake_ms(), Some(4000));
        run.at(4000);
        assert_eq!(run.wake_ms(), Some(5000));
        assert!(run.at(5000).is_empty());
        assert_eq!(run.session.end(), None, "idle, but echoes are still owed");
        assert_eq!(run.session.read_allowance(), 0);
        assert_eq!(
            run.at(8000),
            [
                "\t slow",
                "echoctl: no complete line for 5s; closing the connection"
            ]
        );
        assert_eq!(run.session.end(), Some(End::Idle(ms(5000))));
    }

    #[test]
    fn draining_stops_reading_delivers_what_is_owed_then_ends() {
        let mut run = Run::new(settings(10));
        assert_eq!(run.session.next_stop(), Stop::Drain);
        run.session.receive(b"one\n");
        run.at(0);
        run.session.receive(b"two\n");
        run.session.drain();
        assert_eq!(run.session.next_stop(), Stop::Abort);
        assert!(run.at(500).is_empty(), "two is never taken");
        assert_eq!(run.session.read_allowance(), 0);
        let farewell = "echoctl: the server is shutting down; closing the connection";
        assert_eq!(run.at(2000), ["\t one", "\t one", farewell]);
        assert_eq!(run.session.end(), Some(End::ServerShutdown));

        // Nothing owed: it ends at once, with the same last line.
        let mut run = Run::new(settings(10));
        run.session.drain();
        assert_eq!(run.at(0), [farewell]);
        assert_eq!(run.session.end(), Some(End::ServerShutdown));

        // A client that had ended its input loses nothing: its session ends as usual.
        let mut run = Run::new(settings(10));
        run.session.receive(b"last\n");
        run.session.end_of_input();
        run.at(0);
        run.session.drain();
        assert_eq!(run.at(2000), ["\t last", "\t last"]);
        assert_eq!(run.session.end(), Some(End::ClientDone));
    }

    #[test]
    fn aborting_ends_at_once_and_drops_what_is_owed() {
        let mut run = Run::new(settings(10));
        run.session.receive(b"one\n");
        run.at(0);
        run.session.drain();
        run.session.abort();
        assert_eq!(run.session.end(), Some(End::Aborted));
        assert!(run.at(1000).is_empty());
        run.session.drain();
        assert_eq!(run.session.end(), Some(End::Aborted));
    }

    #[test]
    fn deadlines_do_not_drift_when_shouts_keep_arriving() {
        let mut run = Run::new(settings(1024));
        let mut heard = Vec::new();
        for i in 0..50u64 {
            // Catch up on everything due before this shout arrives.
            while let Some(wake) = run.wake_ms().filter(|&w| w < 300 * i) {
                heard.extend(run.at(wake).into_iter().map(|l| (wake, l)));
            }
            run.session.receive(format!("s{i}\n").as_bytes());
            heard.extend(run.at(300 * i).into_iter().map(|l| (300 * i, l)));
        }
        run.session.end_of_input();
        heard.extend(run.run_out());
        assert_eq!(heard.len(), 150);
        assert_eq!(run.session.end(), Some(End::ClientDone));
        for i in 0..50u64 {
            let mine: Vec<u64> = heard
                .iter()
                .filter(|(_, l)| l[2..].eq_ignore_ascii_case(&format!("s{i}")))
                .map(|(t, _)| *t)
                .collect();
            assert_eq!(mine, [300 * i, 300 * i + 1000, 300 * i + 2000], "shout {i}");
        }
    }
}
