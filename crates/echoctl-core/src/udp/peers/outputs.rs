//! What the peers give their caller: the [`Sink`] their datagrams and log events go to, and
//! what they say of a datagram received, of a peer forgotten and of everything since the start.

use std::net::SocketAddr;
use std::time::Duration;

use crate::udp::guard::{Refusal, Refused};

/// Where the datagrams go, and what the log hears of.
pub trait Sink {
    /// A datagram to send to `to`.
    fn send(&mut self, to: SocketAddr, datagram: &[u8]);
    /// A shout of `from` taken to be echoed.
    fn shout(&mut self, _from: SocketAddr, _shout: &[u8]) {}
    /// The first datagram of a new peer was taken.
    fn opened(&mut self, _peer: SocketAddr) {}
    /// A peer's state was dropped.
    fn forgotten(&mut self, _peer: SocketAddr, _gone: Gone) {}
}

/// What a peer did, when its state is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone {
    /// From its first datagram taken to its last.
    pub lasted: Duration,
    pub shouts: u64,
    pub echo_lines: u64,
    /// Its last datagram was this long ago: [`QUIET`](super::QUIET), or less when the server stopped.
    pub quiet: Duration,
}

/// What became of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Sent back as it came (`--mode plain`).
    Echoed,
    /// Its lines are shouts of its peer; `new_peer` if it made the peer.
    Taken { new_peer: bool },
    /// Empty: nothing to echo (it has no line).
    Empty,
    /// Not answered, for this reason; `told` when a notice went back to say so.
    Refused { why: Refusal, told: bool },
    /// The server is shutting down and reads nothing more.
    Ignored,
}

/// Everything counted since the server started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub datagrams_in: u64,
    pub shouts: u64,
    /// Echo lines sent, a datagram each (plain mode: datagrams sent back).
    pub echoes: u64,
    /// Notices sent: server full, line too long.
    pub notices: u64,
    pub peers_opened: u64,
    pub peak_peers: usize,
    pub refused: Refused,
}
