//! One bench connection over UDP: a socket of its own (its own source port, so the server sees
//! a peer per connection), each shout a datagram, each echo line a datagram checked byte for
//! byte by the same [`Ledger`] as over TCP.
//!
//! The socket is connected to the server, so it hears only from there, and a port nothing
//! listens on comes back as a refused receive: the connection failed, as a refused TCP connect
//! does. UDP has no close: once every echo owed has come (or been given up on, `2 × delay +
//! --grace` after the connection last heard anything), it listens a little longer for
//! [`LINGER`], so that a datagram repeated after the last echo is caught.
//!
//! A datagram lost is an echo line missing; one repeated, a duplicate (the ledger counts it
//! wrong, as a repeated line over TCP); one overtaken, out of order. The report names them so.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, sleep_until};

use super::lateness::Samples;
use super::ledger::Ledger;
use super::load::{Shared, hear};
use super::outcome::{ConnectionError, Outcome};
use super::pacing::Pacing;
use super::{Expect, Pace};
use crate::net;
use crate::transport;

/// How long a connection keeps listening after its last echo, for datagrams repeated after it:
/// a network repeats a datagram within milliseconds.
const LINGER: Duration = Duration::from_millis(100);

/// Datagrams read in one go before the connection looks at its timers.
const READ_BATCH: usize = 16;

/// Runs connection `id` over UDP to its end.
pub(super) async fn connection(
    id: usize,
    shared: Arc<Shared>,
    permit: OwnedSemaphorePermit,
) -> Outcome {
    let opening = Instant::now();
    let target = shared.addrs[shared.preferred.load(Ordering::Relaxed) % shared.addrs.len()];
    let socket = open(target).await;
    let took = opening.elapsed();
    drop(permit);
    let socket = match socket {
        Ok(socket) => socket,
        Err(e) => {
            shared.progress.failed.fetch_add(1, Ordering::Relaxed);
            return Outcome {
                error: Some(ConnectionError::Connect {
                    addr: target,
                    reason: net::explain_io_error(&e),
                }),
                ..Outcome::default()
            };
        }
    };
    shared.progress.connected.fetch_add(1, Ordering::Relaxed);
    let outcome = Driver::new(id, socket, target, &shared, took).run().await;
    shared.progress.finished.fetch_add(1, Ordering::Relaxed);
    outcome
}

/// A socket of its own, connected to `target`.
async fn open(target: SocketAddr) -> io::Result<UdpSocket> {
    let any: SocketAddr = if target.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = net::udp_socket(any)?;
    socket.connect(target).await?;
    Ok(socket)
}

/// One connection's run: its socket, its ledger, the shouts not yet sent.
struct Driver<'a> {
    shared: &'a Shared,
    socket: UdpSocket,
    target: SocketAddr,
    ledger: Ledger,
    /// Shouts the socket did not take at once (its buffer full), each a datagram, with its
    /// index.
    unsent: std::collections::VecDeque<(u64, Vec<u8>)>,
    samples: Samples,
    first_send: Option<Instant>,
    last_send: Option<Instant>,
    last_heard: Option<Instant>,
    cut: bool,
    last_activity: Instant,
}

impl<'a> Driver<'a> {
    fn new(
        id: usize,
        socket: UdpSocket,
        target: SocketAddr,
        shared: &'a Shared,
        open_time: Duration,
    ) -> Self {
        let mut samples = Samples::default();
        samples.push_connect(open_time);
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
            socket,
            target,
            ledger,
            unsent: Default::default(),
            samples,
            first_send: None,
            last_send: None,
            last_heard: None,
            cut: false,
            last_activity: Instant::now(),
        }
    }

    async fn run(mut self) -> Outcome {
        let result = self.exchange().await;
        if result.is_ok() && !self.cut {
            self.linger().await;
        }
        self.shared.add_samples(&mut self.samples);
        let refused = matches!(&result, Err(ConnectionError::Connect { .. }));
        let (dropped, error) = match result {
            Ok(()) => (false, None),
            // Refused before any answer: no peer there, as a refused connect.
            Err(error) if refused && self.last_heard.is_none() => (false, Some(error)),
            Err(error) => (true, Some(error)),
        };
        if refused && self.last_heard.is_none() {
            self.shared
                .progress
                .connected
                .fetch_sub(1, Ordering::Relaxed);
            self.shared.progress.failed.fetch_add(1, Ordering::Relaxed);
        }
        let owed = self.ledger.owed();
        let not_yet_due = if self.cut {
            let grace = self.shared.config.grace;
            self.ledger.not_yet_due(Instant::now(), grace)
        } else {
            0
        };
        Outcome {
            made: !(refused && self.last_heard.is_none()),
            dropped,
            error,
            counts: self.ledger.counts(),
            missing: owed - not_yet_due,
            not_yet_due,
            first_send: self.first_send,
            last_send: self.last_send,
            last_heard: self.last_heard,
            damage: None,
        }
    }

    /// Sends the shouts and reads their echoes, until every echo owed has come or been given
    /// up on; `Err` when the socket failed (or nothing listens there).
    async fn exchange(&mut self) -> Result<(), ConnectionError> {
        let shared = self.shared;
        let mut pacing = Pacing::new(&shared.config, Instant::now());
        let stopped = shared.stop.cancelled();
        let cut = shared.cut.cancelled();
        let send_timer = sleep_until(pacing.next_send());
        let give_up_timer = sleep_until(pacing.give_up_at(self.last_activity));
        tokio::pin!(stopped, cut, send_timer, give_up_timer);
        loop {
            if shared.stop.is_cancelled() {
                pacing.stop();
            }
            if pacing.window_has_room(self.ledger.counts().shouts, self.ledger.in_flight()) {
                let now = Instant::now();
                while pacing.window_has_room(self.ledger.counts().shouts, self.ledger.in_flight()) {
                    self.send(now);
                }
            }
            pacing.count_sent(self.ledger.counts().shouts);
            self.flush().map_err(|e| self.failed(e))?;
            let owed = self.ledger.owed();
            if pacing.is_done(owed, !self.unsent.is_empty()) {
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
                ready = net::udp_readable(&self.socket) => {
                    ready.map_err(|e| self.failed(e))?;
                    self.read_available().map_err(|e| self.failed(e))?;
                }
                ready = self.socket.writable(), if !self.unsent.is_empty() => {
                    ready.map_err(|e| self.failed(e))?;
                }
                _ = &mut send_timer, if pacing.sends_on_schedule() => {
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

    /// Queues the shout planned for `planned`, a datagram of its own.
    fn send(&mut self, planned: Instant) {
        let mut datagram = Vec::new();
        let index = self.ledger.send(planned, &mut datagram);
        self.unsent.push_back((index, datagram));
        self.first_send.get_or_insert(planned);
        self.last_send = Some(planned);
        self.shared.progress.shouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Sends the queued shouts the socket takes now, and notes each as sent.
    fn flush(&mut self) -> io::Result<()> {
        while let Some((index, datagram)) = self.unsent.front() {
            // Read before the send, so that no echo can be heard before its shout's send.
            let before = Instant::now();
            match self.socket.try_send(datagram) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
            self.last_activity = before;
            if let Some(slip) = self.ledger.sent(*index, before) {
                self.samples.push_slip(slip);
            }
            self.unsent.pop_front();
        }
        Ok(())
    }

    /// Reads the datagrams waiting, a batch at most, and matches every line of each.
    fn read_available(&mut self) -> io::Result<()> {
        transport::with_read_scratch(|buffer| {
            for _ in 0..READ_BATCH {
                match self.socket.try_recv(buffer) {
                    Ok(n) => {
                        let now = Instant::now();
                        self.last_activity = now;
                        self.last_heard = Some(now);
                        let before = self.ledger.counts().received;
                        let (ledger, samples, shared) =
                            (&mut self.ledger, &mut self.samples, self.shared);
                        // Each echo line is a datagram; the datagram's end ends its line.
                        for line in buffer[..n].split_inclusive(|&b| b == b'\n') {
                            hear(ledger, samples, shared, None, line, now);
                        }
                        let heard = self.ledger.counts().received - before;
                        self.shared
                            .progress
                            .echoes
                            .fetch_add(heard, Ordering::Relaxed);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
    }

    /// After the last echo: listens for [`LINGER`] more, so a repeat of it is counted.
    async fn linger(&mut self) {
        let until = Instant::now() + LINGER;
        loop {
            tokio::select! {
                _ = self.shared.cut.cancelled() => return,
                ready = net::udp_readable(&self.socket) => {
                    if ready.is_err() || self.read_available().is_err() {
                        return;
                    }
                }
                _ = sleep_until(until) => return,
            }
        }
    }

    /// The socket failed with `e`: a refusal is nothing listening at the target.
    fn failed(&self, e: io::Error) -> ConnectionError {
        if e.kind() == io::ErrorKind::ConnectionRefused {
            return ConnectionError::Connect {
                addr: self.target,
                reason: net::explain_io_error(&e),
            };
        }
        ConnectionError::Read {
            reason: net::explain_io_error(&e),
            reset: false,
        }
    }
}
