//! One bench connection over UDP: a socket of its own (its own source port, so the server sees
//! a peer per connection), each shout a datagram, each echo line a datagram checked byte for
//! byte by the same [`Ledger`](super::ledger::Ledger) as over TCP, in the same exchange loop
//! ([`super::exchange`]).
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

use super::exchange::{self, Books, ReadEnd, Wire};
use super::load::{Shared, hear};
use super::outcome::{ConnectionError, Outcome};
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

/// One connection's run: its socket, its books, the shouts not yet sent.
struct Driver<'a> {
    socket: UdpSocket,
    target: SocketAddr,
    books: Books<'a>,
    /// The shouts queued, back to back, each a datagram; kept until every one is sent, as the
    /// TCP driver keeps its bytes, so that a shout costs no allocation of its own.
    out: Vec<u8>,
    /// How much of `out` is sent.
    sent: usize,
    /// The shouts not sent yet (the socket's buffer full): each one's index and where it ends
    /// in `out`.
    unsent: std::collections::VecDeque<(u64, usize)>,
}

impl<'a> Driver<'a> {
    fn new(
        id: usize,
        socket: UdpSocket,
        target: SocketAddr,
        shared: &'a Shared,
        open_time: Duration,
    ) -> Self {
        Driver {
            socket,
            target,
            books: Books::new(id, shared, open_time),
            out: Vec::new(),
            sent: 0,
            unsent: Default::default(),
        }
    }

    async fn run(mut self) -> Outcome {
        let result = exchange::exchange(self.books.shared, &mut self).await;
        if result.is_ok() && !self.books.cut {
            self.linger().await;
        }
        self.books.shared.add_samples(&mut self.books.samples);
        let refused = matches!(&result, Err(ConnectionError::Connect { .. }));
        let (dropped, error) = match result {
            Ok(()) => (false, None),
            // Refused before any answer: no peer there, as a refused connect.
            Err(error) if refused && self.books.last_heard.is_none() => (false, Some(error)),
            Err(error) => (true, Some(error)),
        };
        let made = !(refused && self.books.last_heard.is_none());
        if !made {
            let progress = &self.books.shared.progress;
            progress.connected.fetch_sub(1, Ordering::Relaxed);
            progress.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.books.outcome(made, dropped, error, None)
    }

    /// Sends the queued shouts the socket takes now, and notes each as sent.
    fn flush(&mut self) -> io::Result<()> {
        while let Some(&(index, end)) = self.unsent.front() {
            // Read before the send, so that no echo can be heard before its shout's send.
            let before = Instant::now();
            match self.socket.try_send(&self.out[self.sent..end]) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
            self.books.last_activity = before;
            if let Some(slip) = self.books.ledger.sent(index, before) {
                self.books.samples.push_slip(slip);
            }
            self.sent = end;
            self.unsent.pop_front();
        }
        self.out.clear();
        self.sent = 0;
        Ok(())
    }

    /// Reads the datagrams waiting, a batch at most, and matches every line of each.
    fn read_available(&mut self) -> io::Result<()> {
        transport::with_read_scratch(|buffer| {
            for _ in 0..READ_BATCH {
                match self.socket.try_recv(buffer) {
                    Ok(n) => {
                        let now = Instant::now();
                        self.books.last_activity = now;
                        self.books.last_heard = Some(now);
                        let before = self.books.ledger.counts().received;
                        let (ledger, samples, shared) = (
                            &mut self.books.ledger,
                            &mut self.books.samples,
                            self.books.shared,
                        );
                        // Each echo line is a datagram; the datagram's end ends its line.
                        for line in buffer[..n].split_inclusive(|&b| b == b'\n') {
                            hear(ledger, samples, shared, None, line, now);
                        }
                        let heard = self.books.ledger.counts().received - before;
                        self.books
                            .shared
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
                _ = self.books.shared.cut.cancelled() => return,
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

/// A datagram a line: each shout sent whole or not yet, each datagram read its own line.
impl Wire for Driver<'_> {
    fn books(&self) -> &Books<'_> {
        &self.books
    }
    fn cut_short(&mut self) {
        self.books.cut = true;
    }
    /// Queues the shout planned for `planned`, a datagram of its own.
    fn send(&mut self, planned: Instant) {
        let index = self.books.send(planned, &mut self.out);
        self.unsent.push_back((index, self.out.len()));
    }
    fn flush(&mut self) -> Result<(), ConnectionError> {
        Driver::flush(self).map_err(|e| self.failed(e))
    }
    fn has_unsent(&self) -> bool {
        !self.unsent.is_empty()
    }
    async fn readable(&self) -> Result<(), ConnectionError> {
        net::udp_readable(&self.socket)
            .await
            .map_err(|e| self.failed(e))
    }
    async fn writable(&self) -> Result<(), ConnectionError> {
        self.socket.writable().await.map_err(|e| self.failed(e))
    }
    /// UDP has no close: the connection stays open.
    fn read(&mut self) -> Result<ReadEnd, ConnectionError> {
        self.read_available().map_err(|e| self.failed(e))?;
        Ok(ReadEnd::Open)
    }
}
