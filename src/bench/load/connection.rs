//! One TCP connection's task: connect (and the TLS handshake), then the exchange loop that
//! shouts on schedule, reads and checks every echo, and half-closes at the end.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use echoctl_core::Address;
use tokio::io::AsyncWriteExt;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, sleep_until};

use super::Shared;
use crate::bench::lateness::Samples;
use crate::bench::ledger::{Heard, Ledger};
use crate::bench::outcome::{ConnectionError, Damage, Outcome};
use crate::bench::pacing::Pacing;
use crate::bench::{Expect, Pace};
use crate::net::{self, Stream};
use crate::observe::SessionEvents;
use crate::tls::{ClientTls, HandshakeError};
use crate::transport::{self, Transport};
use echoctl_core::lines::{DEFAULT_MAX_LINE, LineSplitter};
use echoctl_core::timeline::Recording;
use echoctl_core::trace::Side;

pub(super) async fn connection(
    id: usize,
    shared: Arc<Shared>,
    permit: OwnedSemaphorePermit,
) -> Outcome {
    let connecting = Instant::now();
    let stream = tokio::select! {
        stream = connect(&shared) => stream,
        _ = shared.cut.cancelled() => Err(ConnectionError::CutWhileConnecting),
    };
    let took = connecting.elapsed();
    let (stream, handshake) = match (stream, &shared.tls) {
        (Ok(stream), Some(tls)) => tokio::select! {
            made = handshake(tls, stream, &shared) => made,
            _ = shared.cut.cancelled() => (Err(ConnectionError::CutWhileConnecting), None),
        },
        (stream, _) => (stream, None),
    };
    drop(permit);
    match stream {
        Ok(stream) => {
            shared.progress.connected.fetch_add(1, Ordering::Relaxed);
            // Built in the call, not in a local: a local moved into `run` would keep its own
            // room in the task beside the one `run` has.
            let outcome = Driver::new(id, stream, &shared, took, handshake)
                .run()
                .await;
            shared.progress.finished.fetch_add(1, Ordering::Relaxed);
            outcome
        }
        // Accepted, then reset before the connect was seen to complete: made, and reset.
        Err(error @ ConnectionError::Read { reset: true, .. }) => {
            shared.progress.connected.fetch_add(1, Ordering::Relaxed);
            shared.progress.finished.fetch_add(1, Ordering::Relaxed);
            Outcome {
                made: true,
                dropped: true,
                error: Some(error),
                damage: Some(Damage::Reset),
                ..Outcome::default()
            }
        }
        Err(error) => {
            shared.progress.failed.fetch_add(1, Ordering::Relaxed);
            Outcome {
                error: Some(error),
                ..Outcome::default()
            }
        }
    }
}

/// Makes the TLS handshake on a connected `stream`, within `--connect-timeout`; the stream
/// over TLS and how long the handshake took, or why it failed.
async fn handshake(
    tls: &ClientTls,
    stream: Stream,
    shared: &Shared,
) -> (Result<Stream, ConnectionError>, Option<Duration>) {
    let started = Instant::now();
    match tls.connect(stream, shared.config.connect_timeout).await {
        Ok(stream) => (Ok(Stream::Tls(Box::new(stream))), Some(started.elapsed())),
        // Reset before a byte of the handshake came back (`--fault refuse`): made, and reset,
        // as over TCP.
        Err(HandshakeError::Io(e)) if is_reset(&e) => (Err(read_failed(e)), None),
        Err(e) => (
            Err(ConnectionError::Handshake {
                reason: e.to_string(),
            }),
            None,
        ),
    }
}

/// Tries each resolved address, starting with the one that worked last (or connects to the
/// Unix socket).
async fn connect(shared: &Shared) -> Result<Stream, ConnectionError> {
    #[cfg(unix)]
    if let Address::Unix(path) = &shared.config.addr {
        return net::unix::connect(path, shared.config.connect_timeout)
            .await
            .map(Stream::Unix)
            .map_err(|e| ConnectionError::ConnectUnix {
                message: format!("{e:#}"),
            });
    }
    let n = shared.addrs.len();
    let first = shared.preferred.load(Ordering::Relaxed);
    let rotated = (0..n).map(|k| shared.addrs[(first + k) % n]);
    match crate::net::connect_first(rotated, shared.config.connect_timeout).await {
        Ok((stream, position)) => {
            shared
                .preferred
                .store((first + position) % n, Ordering::Relaxed);
            Ok(Stream::Tcp(stream))
        }
        Err(failures) => Err(match failures.last() {
            // The server took the connection and reset it at once (`--fault refuse`).
            Some((_, e)) if e.kind() == io::ErrorKind::ConnectionReset => ConnectionError::Read {
                reason: net::explain_io_error(e),
                reset: true,
            },
            Some((addr, e)) => ConnectionError::Connect {
                addr: *addr,
                reason: net::explain_io_error(e),
            },
            None => ConnectionError::NoAddress,
        }),
    }
}

/// A failed read, with what to do about it when there is something to do.
fn read_failed(e: io::Error) -> ConnectionError {
    ConnectionError::Read {
        reason: net::explain_io_error(&e),
        reset: is_reset(&e),
    }
}

/// A failed write, with what to do about it when there is something to do.
fn write_failed(e: io::Error) -> ConnectionError {
    ConnectionError::Write {
        reason: net::explain_io_error(&e),
        reset: is_reset(&e),
    }
}

/// Whether the server reset the connection: a read says so, a write after it may say the
/// pipe is broken.
fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// How reading from the socket went.
enum ReadEnd {
    Open,
    Closed,
}

/// One connection's run: its socket, its ledger and what it has not yet written.
struct Driver<'a> {
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

/// One connection's session, recorded for `--trace`: the client's view, each echo's lateness
/// in its `args`.
pub(in crate::bench) struct ConnectionTrace {
    recording: Recording,
    events: SessionEvents,
}

impl ConnectionTrace {
    /// The trace of connection `id`, if it is among those recorded.
    fn of(id: usize, shared: &Shared) -> Option<Box<ConnectionTrace>> {
        let tracing = shared.trace.as_ref()?;
        if id >= tracing.connections || !tracing.file.is_recording() {
            return None;
        }
        let pid = u32::try_from(id + 1).unwrap_or(u32::MAX);
        let title = format!("c{id} to {}", shared.config.addr);
        Some(Box::new(ConnectionTrace {
            recording: Recording::new(),
            // On the run's clock: the connections lie side by side.
            events: SessionEvents::open(
                tracing.file.clone(),
                shared.started,
                pid,
                Side::Client,
                &title,
            ),
        }))
    }

    /// Writes what happened since the last time.
    fn flush(&mut self) {
        self.events.follow(&self.recording);
    }
}

impl<'a> Driver<'a> {
    /// The driver of connection `id`, which took `connect_time` to connect and `handshake_time`
    /// (if it made one) for its handshake.
    fn new(
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

    async fn run(mut self) -> Outcome {
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

/// Matches one line as received (with its `\n`, if it had one) and records its lateness (in
/// `trace` too, when the connection is traced).
pub(in crate::bench) fn hear(
    ledger: &mut Ledger,
    samples: &mut Samples,
    shared: &Shared,
    trace: Option<&mut ConnectionTrace>,
    line: &[u8],
    now: Instant,
) {
    let heard = ledger.hear(line, now);
    if let Some(trace) = trace {
        let at = now.saturating_duration_since(shared.started);
        match &heard {
            Heard::Echo { lateness, .. } => trace.recording.received_late(at, line, *lateness),
            Heard::Wrong => trace.recording.received_line(at, line),
        }
    }
    match heard {
        Heard::Echo {
            voice,
            lateness,
            lateness_from_send,
            early_by,
            ..
        } => {
            let arrival = now.saturating_duration_since(shared.started);
            samples.push_echo(voice, lateness, lateness_from_send, arrival);
            if let Some(early_by) = early_by {
                samples.push_early(early_by);
            }
            if samples.len() >= Samples::BATCH {
                shared.add_samples(samples);
            }
        }
        Heard::Wrong => shared.note_wrong(line),
    }
}
