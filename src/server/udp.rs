//! The server over UDP: one task, one socket, over the pure [`Peers`].
//!
//! Every decision (which datagram is answered, with what, each peer's session and schedule,
//! when a peer is forgotten, what the guard refuses) is [`Peers`]'s, in the core; this is the
//! I/O around it, as [`super::connection`] is around a TCP client's session. The task waits on
//! whichever comes first of the socket becoming readable, the earliest wake-up of any peer (on
//! the server's [`Timer`], as a connection's echoes are) and the shutdown; it reads what the
//! socket holds, a bounded batch at a time so the timer is never starved, hands each datagram to
//! [`Peers`], and sends the datagrams it was given.
//!
//! Each datagram is read into a buffer of 64 KiB, more than any UDP payload (65,527 bytes at
//! most), so it is read whole; one that filled the buffer could have been cut, and is refused.
//!
//! Shutdown has the TCP server's two stages: stop reading and deliver the echoes owed, for up to
//! the grace period; then drop whatever is still owed.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::Instant;

use echoctl_core::duration;
use echoctl_core::escape::escape;
use echoctl_core::udp::peers::{Counts, Gone};
use echoctl_core::udp::{Peers, Sink};

use super::ServerConfig;
use crate::timer::Timer;

/// The read buffer: larger than any UDP datagram's payload.
const READ_BUFFER: usize = 64 * 1024;

/// Datagrams read in one go before the task looks at its timer and sends what is owed.
const READ_BATCH: usize = 64;

/// Runs the UDP server on `socket` until `shutdown` completes, then delivers the echoes owed for
/// up to the grace period, and returns.
pub(crate) async fn run(
    socket: UdpSocket,
    config: ServerConfig,
    timer: Timer,
    shutdown: impl Future,
) {
    let grace = config.grace;
    let mut server = Server {
        socket,
        peers: Peers::new(&config),
        out: Outbox::default(),
        send_errors: SendErrors::default(),
    };
    let mut buffer = vec![0u8; READ_BUFFER];
    let mut wake = timer.sleep_until(Instant::now());
    let mut shutdown = std::pin::pin!(shutdown);
    let mut grace_over: Option<Instant> = None;
    loop {
        server.flush().await;
        let now = Instant::now();
        if let Some(refused) = server.peers.refusals(now) {
            tracing::warn!("udp: not answered: {refused}");
        }
        if grace_over.is_some() && server.peers.is_empty() {
            break;
        }
        let wake_at = server.peers.next_wake();
        if let Some(wake_at) = wake_at {
            wake.reset(wake_at);
        }
        let serving = grace_over.is_none();
        tokio::select! {
            biased;
            _ = &mut shutdown, if serving => {
                let now = Instant::now();
                server.peers.drain(now, &mut server.out);
                grace_over = Some(now + grace);
                let owing = server.peers.owing();
                if owing > 0 {
                    tracing::info!(
                        "shutting down: delivering echoes owed to {owing} peer(s), for up to {}",
                        duration::format(grace)
                    );
                }
            }
            _ = tokio::time::sleep_until(grace_over.unwrap_or(now)), if !serving => {
                tracing::warn!(
                    "grace period over; dropping the echoes still owed to {} peer(s)",
                    server.peers.abort()
                );
                break;
            }
            _ = &mut wake, if wake_at.is_some() => {}
            ready = server.socket.readable(), if serving => {
                if let Err(e) = ready {
                    server.send_errors.note(None, &e);
                }
            }
        }
        // Both, whichever woke the task: under load echoes fall due at every turn, and a
        // datagram waiting must not wait for a turn when none is due (a read that finds the
        // socket not ready costs no system call).
        if grace_over.is_none() {
            server.read_batch(&mut buffer);
        }
        server.peers.advance(Instant::now(), &mut server.out);
    }
    server.flush().await;
    let Counts {
        datagrams_in,
        shouts,
        echoes,
        notices,
        peers_opened,
        peak_peers,
        refused,
    } = server.peers.counts();
    tracing::info!(
        "udp: {datagrams_in} datagrams in, {shouts} shouts from {peers_opened} peers (at most \
         {peak_peers} at once), {echoes} echo datagrams and {notices} notices out, {} not \
         answered{}",
        refused.total(),
        if refused.total() > 0 {
            format!(" ({refused})")
        } else {
            String::new()
        }
    );
}

struct Server {
    socket: UdpSocket,
    peers: Peers,
    out: Outbox,
    send_errors: SendErrors,
}

impl Server {
    /// Reads what the socket holds, a batch at most, and hands each datagram to the peers.
    fn read_batch(&mut self, buffer: &mut [u8]) {
        for _ in 0..READ_BATCH {
            match self.socket.try_recv_from(buffer) {
                Ok((n, _)) if n == buffer.len() => self.peers.truncated(),
                Ok((n, from)) => {
                    // Stamped as it is read, not when the batch began: a datagram that came in
                    // during the batch is never echoed before its delay.
                    let now = Instant::now();
                    self.peers.receive(now, from, &buffer[..n], &mut self.out);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // An ICMP error for an earlier send, reported here by some systems: nothing is
                // wrong with the socket.
                Err(e) => {
                    self.send_errors.note(None, &e);
                    break;
                }
            }
        }
    }

    /// Sends every datagram queued. A full send buffer is waited for (every peer shares the
    /// socket, and it drains at the link's speed); a send that fails is counted and logged.
    async fn flush(&mut self) {
        for (to, datagram) in self.out.datagrams() {
            loop {
                match self.socket.try_send_to(datagram, to) {
                    Ok(_) => break,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if let Err(e) = self.socket.writable().await {
                            self.send_errors.note(Some(to), &e);
                            break;
                        }
                    }
                    Err(e) => {
                        self.send_errors.note(Some(to), &e);
                        break;
                    }
                }
            }
        }
        self.out.clear();
    }
}

/// The datagrams to send, gathered while the peers decide, and what the log hears of.
#[derive(Default)]
struct Outbox {
    bytes: Vec<u8>,
    /// Each datagram's address and where it ends in `bytes`.
    ends: Vec<(SocketAddr, usize)>,
}

impl Outbox {
    fn datagrams(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&(to, end)| {
            let datagram = &self.bytes[start..end];
            start = end;
            (to, datagram)
        })
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        // A burst's buffer is not kept for the rest of the run.
        if self.bytes.capacity() > 1 << 20 {
            self.bytes = Vec::new();
        }
    }
}

impl Sink for Outbox {
    fn send(&mut self, to: SocketAddr, datagram: &[u8]) {
        self.bytes.extend_from_slice(datagram);
        self.ends.push((to, self.bytes.len()));
    }

    fn opened(&mut self, peer: SocketAddr) {
        tracing::info!("udp:{peer}: new peer");
    }

    fn shout(&mut self, from: SocketAddr, shout: &[u8]) {
        tracing::debug!("udp:{from}: shout \"{}\"", escape(shout));
    }

    fn forgotten(&mut self, peer: SocketAddr, gone: Gone) {
        let Gone {
            lasted,
            shouts,
            echo_lines,
            quiet,
        } = gone;
        tracing::info!(
            "udp:{peer}: forgotten after {} quiet, {shouts} shouts, {echo_lines} echo lines in {}",
            duration::format(round_ms(quiet)),
            duration::format(round_ms(lasted)),
        );
    }
}

/// To the millisecond, as durations are logged.
fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Errors of the socket, logged at most once a second with how many there were.
#[derive(Default)]
struct SendErrors {
    unreported: u64,
    last_report: Option<Instant>,
}

impl SendErrors {
    fn note(&mut self, to: Option<SocketAddr>, e: &io::Error) {
        self.unreported += 1;
        if self
            .last_report
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
        {
            let to = to.map_or(String::new(), |to| format!(" to udp:{to}"));
            tracing::warn!(
                "udp: {} socket error(s), the last{to}: {}",
                self.unreported,
                crate::net::explain_io_error(e)
            );
            self.last_report = Some(Instant::now());
            self.unreported = 0;
        }
    }
}
