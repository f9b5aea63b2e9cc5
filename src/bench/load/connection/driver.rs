//! One connection's exchange loop: shouts on schedule, reads and checks every echo, writes
//! as the socket takes them, and half-closes at the end.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::{Instant, sleep_until};

use super::Shared;
use crate::bench::lateness::Samples;
use crate::bench::ledger::Ledger;
use crate::bench::outcome::{ConnectionError, Damage, Outcome};
use crate::bench::pacing::Pacing;
use crate::bench::{Expect, Pace};
use crate::net::Stream;
use crate::transport::{self, Transport};
use echoctl_core::lines::{DEFAULT_MAX_LINE, LineSplitter};

use super::{ConnectionTrace, hear, read_failed, write_failed};

/// How reading from the socket went.
enum ReadEnd {
    Open,
    Closed,
}

/// One connection's run: its socket, its ledger and what it has not yet written.
pub(super) struct Driver<'a> {
    shared: &'a Shared,
    stream: Stream,
    ledger: Ledger,
    /// Shout bytes not yet accepted by the socket.
    out: Vec<u8>,
    written: usize,
    /// The stream holds some of what it took, not yet on the socket (the rest of a TLS record).
    held: bool,
    /// The shouts in `out` not yet wholly written: index, and where in `out` each ends.
    unwritten: VecDeque<(u64, usize)>,
    /// Splits what is read into lines; holds the start of a line cut between two reads. A line
    /// longer than the server's default limit without a newline is handed out cut, counted wrong,
    /// so a misbehaving server cannot make the bench buffer without bound (ours are a few dozen
    /// bytes).
    lines: LineSplitter,
    samples: Samples,
    first_send: Option<Instant>,
    last_send: Option<Instant>,
    last_heard: Option<Instant>,
    /// The run was cut short while this connection ran.
    cut: bool,
    /// When this connection last sent or heard anything, for giving up on a silent server.
    last_activity: Instant,
    /// Its session as it goes, when it is among those `--trace` records.
    trace: Option<Box<ConnectionTrace>>,
}

impl<'a> Driver<'a> {
    /// The driver of connection `id`, which took `connect_time` to connect and `handshake_time`
    /// (if it made one) for its handshake.
    pub(super) fn new(
        id: usize,
        stream: Stream,
        shared: &'a Shared,
        connect_time: Duration,
        handshake_time: Option<Duration>,
    ) -> Self {
        let mut samples = Samples::default();
        samples.push_connect(connect_time);
        if let Some(handshake_time) = handshake_time {
            samples.push_handshake(handshake_time);
        }
        let ledger = match shared.config.expect {
            Expect::Reverb => Ledger::new(id, shared.config.delay),
            Expect::Plain => Ledger::plain(id),
        };
        let ledger = match shared.config.pace {
            Pace::Window(_) => ledger.closed_loop(),
            Pace::Interval(_) => ledger,
        };
        Driver {
            shared,
            stream,
            ledger,
            out: Vec::new(),
            written: 0,
            held: false,
            unwritten: VecDeque::new(),
            lines: LineSplitter::new(DEFAULT_MAX_LINE),
            samples,
            first_send: None,
            last_send: None,
            last_heard: None,
            cut: false,
            last_activity: Instant::now(),
            trace: ConnectionTrace::of(id, shared),
        }
    }

    pub(super) async fn run(mut self) -> Outcome {
        let result = self.exchange().await;
        let mut silent = false;
        if result.is_ok() && !self.cut {
            silent = self.finish().await;
        }
        self.shared.add_samples(&mut self.samples);
        let damage = match &result {
            Err(
                ConnectionError::Read { reset: true, .. }
                | ConnectionError::Write { reset: true, .. },
            ) => Some(Damage::Reset),
            Err(ConnectionError::ClosedWithEchoesOwed { .. }) => Some(Damage::ClosedEarly),
            Ok(()) if silent && self.ledger.owed() > 0 => Some(Damage::Stalled),
            _ => None,
        };
        if let Some(mut trace) = self.trace.take() {
            let reason = match &result {
                Ok(()) if self.cut => "the run was cut short".to_string(),
                Ok(()) => "done".to_string(),
                Err(error) => error.to_string(),
            };
            trace
                .events
                .close(&trace.recording, Instant::now(), &reason);
        }
        let (dropped, error) = match result {
            Ok(()) => (false, None),
            Err(error) => (true, Some(error)),
        };
        let owed = self.ledger.owed();
        let not_yet_due = if self.cut {
            let grace = self.shared.config.grace;
            self.ledger.not_yet_due(Instant::now(), grace)
        } else {
            0
        };
        Outcome {
            made: true,
            dropped,
            error,
            counts: self.ledger.counts(),
            missing: owed - not_yet_due,
            not_yet_due,
            first_send: self.first_send,
            last_send: self.last_send,
            last_heard: self.last_heard,
            damage,
        }
    }

    /// Sends the shouts and reads their echoes. `Ok` when everything owed was heard or given up
    /// on in an orderly way; `Err` when the connection broke.
    async fn exchange(&mut self) -> Result<(), ConnectionError> {
        let shared = self.shared;
        let mut pacing = Pacing::new(&shared.config, Instant::now());
        // The waits are built once and re-armed only when their deadline moves: building them
        // afresh on every wake-up would register a waiter on the shared stop token (one lock for
        // all connections) and two timer entries, then drop them, for every read.
        let stopped = shared.stop.cancelled();
        let cut = shared.cut.cancelled();
        let send_timer = sleep_until(pacing.next_send());
        let give_up_timer = sleep_until(pacing.give_up_at(self.last_activity));
        tokio::pin!(stopped, cut, send_timer, give_up_timer);
        loop {
            if shared.stop.is_cancelled() {
                pacing.stop();
            }
            // Throughput mode: shouts go out as echoes free the window (the clock read once).
            if pacing.window_has_room(self.ledger.counts().shouts, self.ledger.in_flight()) {
                let now = Instant::now();
                while pacing.window_has_room(self.ledger.counts().shouts, self.ledger.in_flight()) {
                    self.send(now);
                }
            }
            pacing.count_sent(self.ledger.counts().shouts);
            self.flush().map_err(write_failed)?;
            let owed = self.ledger.owed();
            if pacing.is_done(owed, !self.out.is_empty() || self.held) {
                return Ok(());
            }
            let next_send = pacing.next_send();
            if send_timer.deadline() != next_send {
                send_timer.as_mut().reset(next_send);
            }
            let give_up = pacing.give_up_at(self.last_activity);
            if give_up_timer.deadline() != give_up {
                give_up_timer.as_mut().reset(give_up);
            }
            tokio::select! {
                biased;
                _ = &mut cut => {
                    self.cut = true;
                    return Ok(());
                }
                ready = self.stream.readable() => {
                    ready.map_err(read_failed)?;
                    match self.read_available().map_err(read_failed)? {
                        ReadEnd::Open => {}
                        ReadEnd::Closed if pacing.expects_more(self.ledger.owed()) => {
                            return Err(ConnectionError::ClosedWithEchoesOwed {
                                owed: self.ledger.owed(),
                            });
                        }
                        ReadEnd::Closed => return Ok(()),
                    }
                }
                ready = self.stream.writable(), if !self.out.is_empty() || self.held => {
                    ready.map_err(write_failed)?;
                }
                _ = &mut send_timer, if pacing.sends_on_schedule() => {
                    // Every shout overdue by now goes out, each with its planned time.
                    let now = Instant::now();
                    while let Some(planned) = pacing.take_due(now, self.ledger.counts().shouts) {
                        self.send(planned);
                    }
                }
                _ = &mut stopped, if pacing.awaits_stop() => {}
                _ = &mut give_up_timer, if pacing.gives_up_when_silent(owed) => return Ok(()),
            }
        }
    }

    /// Queues the shout planned for `planned` (in throughput mode, now).
    fn send(&mut self, planned: Instant) {
        let index = self.ledger.send(planned, &mut self.out);
        self.unwritten.push_back((index, self.out.len()));
        self.first_send.get_or_insert(planned);
        self.last_send = Some(planned);
        self.shared.progress.shouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Writes what the socket accepts now, and notes the shouts it took whole as sent.
    fn flush(&mut self) -> io::Result<()> {
        if self.written == self.out.len() {
            if self.held {
                self.held = !transport::flushed_now(&self.stream)?;
            }
            return Ok(());
        }
        // Read before the write, so that no echo can be heard before its shout's send.
        let before = Instant::now();
        let wrote = transport::write_now(&self.stream, &self.out[self.written..])?;
        if wrote > 0 {
            self.last_activity = before;
        }
        self.written += wrote;
        while let Some(&(index, end)) = self.unwritten.front()
            && end <= self.written
        {
            self.unwritten.pop_front();
            if let Some(slip) = self.ledger.sent(index, before) {
                self.samples.push_slip(slip);
            }
            if let Some(trace) = &mut self.trace {
                let at = before.saturating_duration_since(self.shared.started);
                trace.recording.sent(at, self.ledger.shout_text(index));
            }
        }
        if let Some(trace) = &mut self.trace {
            trace.flush();
        }
        if self.written == self.out.len() {
            self.out.clear();
            self.written = 0;
            self.held = !transport::flushed_now(&self.stream)?;
        }
        Ok(())
    }

    /// Reads everything available now and matches every complete line.
    fn read_available(&mut self) -> io::Result<ReadEnd> {
        transport::with_read_scratch(|buf| {
            // A few reads at most, so one busy connection does not starve the others.
            for _ in 0..4 {
                match self.stream.try_read(buf) {
                    Ok(0) => {
                        // A last line without a newline, if any: never one of ours.
                        let now = Instant::now();
                        let (ledger, samples, shared) =
                            (&mut self.ledger, &mut self.samples, self.shared);
                        let mut trace = self.trace.as_deref_mut();
                        self.lines.split_end(|line| {
                            hear(ledger, samples, shared, trace.as_deref_mut(), line, now)
                        });
                        if let Some(trace) = trace {
                            trace.flush();
                        }
                        return Ok(ReadEnd::Closed);
                    }
                    Ok(n) => {
                        let now = Instant::now();
                        let before = self.ledger.counts().received;
                        self.take(&buf[..n], now);
                        let heard = self.ledger.counts().received - before;
                        self.shared
                            .progress
                            .echoes
                            .fetch_add(heard, Ordering::Relaxed);
                        if n < buf.len() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            Ok(ReadEnd::Open)
        })
    }

    /// Matches every line of `bytes`, joining a line cut by the previous read.
    fn take(&mut self, bytes: &[u8], now: Instant) {
        self.last_activity = now;
        self.last_heard = Some(now);
        let (ledger, samples, shared) = (&mut self.ledger, &mut self.samples, self.shared);
        let mut trace = self.trace.as_deref_mut();
        self.lines.split_chunk(bytes, |line| {
            hear(ledger, samples, shared, trace.as_deref_mut(), line, now)
        });
        if let Some(trace) = trace {
            trace.flush();
        }
    }

    /// After the last echo (or giving up on those owed): half-close, then wait for the server
    /// to close, so anything it sends beyond what was owed is caught. Says whether the server
    /// stayed silent and kept the connection open through `--grace` (stalled, if echoes are
    /// owed; a server that only dropped some closes).
    async fn finish(&mut self) -> bool {
        if self.stream.shutdown().await.is_err() {
            // The server may already have closed; nothing more to hear either way.
            return false;
        }
        let deadline = Instant::now() + self.shared.config.grace;
        loop {
            tokio::select! {
                _ = self.shared.cut.cancelled() => return false,
                ready = self.stream.readable() => {
                    if ready.is_err() {
                        return false;
                    }
                    match self.read_available() {
                        Ok(ReadEnd::Open) => {}
                        Ok(ReadEnd::Closed) | Err(_) => return false,
                    }
                }
                _ = sleep_until(deadline) => return true,
            }
        }
    }
}
