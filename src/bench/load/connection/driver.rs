//! One TCP (or Unix-socket) connection's side of the exchange ([`crate::bench::exchange`]):
//! shouts written as the socket takes them, echoes read and split into lines (and traced, for
//! `--trace`), and the half-close at the end.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::{Instant, sleep_until};

use super::Shared;
use crate::bench::exchange::{self, Books, ReadEnd, Wire};
use crate::bench::outcome::{ConnectionError, Damage, Outcome};
use crate::net::Stream;
use crate::transport::{self, Transport};
use echoctl_core::lines::{DEFAULT_MAX_LINE, LineSplitter};

use super::{ConnectionTrace, hear, read_failed, write_failed};

/// One connection's run: its socket, its books and what it has not yet written.
pub(super) struct Driver<'a> {
    stream: Stream,
    books: Books<'a>,
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
        let mut books = Books::new(id, shared, connect_time);
        if let Some(handshake_time) = handshake_time {
            books.samples.push_handshake(handshake_time);
        }
        Driver {
            stream,
            books,
            out: Vec::new(),
            written: 0,
            held: false,
            unwritten: VecDeque::new(),
            lines: LineSplitter::new(DEFAULT_MAX_LINE),
            trace: ConnectionTrace::of(id, shared),
        }
    }

    pub(super) async fn run(mut self) -> Outcome {
        let result = exchange::exchange(self.books.shared, &mut self).await;
        let mut silent = false;
        if result.is_ok() && !self.books.cut {
            silent = self.finish().await;
        }
        self.books.shared.add_samples(&mut self.books.samples);
        let damage = match &result {
            Err(
                ConnectionError::Read { reset: true, .. }
                | ConnectionError::Write { reset: true, .. },
            ) => Some(Damage::Reset),
            Err(ConnectionError::ClosedWithEchoesOwed { .. }) => Some(Damage::ClosedEarly),
            Ok(()) if silent && self.books.ledger.owed() > 0 => Some(Damage::Stalled),
            _ => None,
        };
        if let Some(mut trace) = self.trace.take() {
            let reason = match &result {
                Ok(()) if self.books.cut => "the run was cut short".to_string(),
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
        self.books.outcome(true, dropped, error, damage)
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
            self.books.last_activity = before;
        }
        self.written += wrote;
        while let Some(&(index, end)) = self.unwritten.front()
            && end <= self.written
        {
            self.unwritten.pop_front();
            if let Some(slip) = self.books.ledger.sent(index, before) {
                self.books.samples.push_slip(slip);
            }
            if let Some(trace) = &mut self.trace {
                let at = before.saturating_duration_since(self.books.shared.started);
                trace
                    .recording
                    .sent(at, self.books.ledger.shout_text(index));
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
                        let (ledger, samples, shared) = (
                            &mut self.books.ledger,
                            &mut self.books.samples,
                            self.books.shared,
                        );
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
                        let before = self.books.ledger.counts().received;
                        self.take(&buf[..n], now);
                        let heard = self.books.ledger.counts().received - before;
                        self.books
                            .shared
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
        self.books.last_activity = now;
        self.books.last_heard = Some(now);
        let (ledger, samples, shared) = (
            &mut self.books.ledger,
            &mut self.books.samples,
            self.books.shared,
        );
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
        let deadline = Instant::now() + self.books.shared.config.grace;
        loop {
            tokio::select! {
                _ = self.books.shared.cut.cancelled() => return false,
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

/// A stream of lines: shouts written as the socket takes them, echoes read and split into lines.
impl Wire for Driver<'_> {
    fn books(&self) -> &Books<'_> {
        &self.books
    }
    fn cut_short(&mut self) {
        self.books.cut = true;
    }
    fn send(&mut self, planned: Instant) {
        let index = self.books.send(planned, &mut self.out);
        self.unwritten.push_back((index, self.out.len()));
    }
    fn flush(&mut self) -> Result<(), ConnectionError> {
        Driver::flush(self).map_err(write_failed)
    }
    fn has_unsent(&self) -> bool {
        !self.out.is_empty() || self.held
    }
    async fn readable(&self) -> Result<(), ConnectionError> {
        self.stream.readable().await.map_err(read_failed)
    }
    async fn writable(&self) -> Result<(), ConnectionError> {
        self.stream.writable().await.map_err(write_failed)
    }
    fn read(&mut self) -> Result<ReadEnd, ConnectionError> {
        self.read_available().map_err(read_failed)
    }
}
