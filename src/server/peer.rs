//! Who is on the other end of a connection, as its log lines name it.

use std::net::SocketAddr;

/// Who is on the other end, for the log lines: a TCP address, or the number of a connection to
/// a Unix socket (whose clients have no address of their own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Tcp(SocketAddr),
    Unix(u64),
}

impl From<SocketAddr> for Peer {
    fn from(addr: SocketAddr) -> Peer {
        Peer::Tcp(addr)
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::Tcp(addr) => write!(f, "{addr}"),
            Peer::Unix(n) => write!(f, "unix client {n}"),
        }
    }
}
