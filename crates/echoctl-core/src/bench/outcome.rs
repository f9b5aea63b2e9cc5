//! What one connection ended with, and why it failed when it did.
//!
//! Pure: the load generator (the binary crate's `bench::load`) fills an [`Outcome`] in, turning its I/O errors
//! into a [`ConnectionError`] with their explanation; [`super::tally`] adds the outcomes up and
//! counts the errors by kind and data, and the report writes each as its message.

use std::net::SocketAddr;

use serde::{Serialize, Serializer};
use tokio::time::Instant;

use super::ledger::LedgerCounts;
use crate::plural::counted;

/// What one connection ended with.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The connection was made (whatever happened after).
    pub made: bool,
    /// It broke, or the server closed it, before it ended in an orderly way.
    pub dropped: bool,
    /// Why it failed or broke.
    pub error: Option<ConnectionError>,
    pub counts: LedgerCounts,
    /// Echo lines still owed at its end and overdue (past their due time and `--grace`).
    pub missing: u64,
    /// Echo lines still owed when the run was cut short that were not yet due (see
    /// [`Ledger::not_yet_due`](super::ledger::Ledger::not_yet_due)): neither heard nor missing.
    pub not_yet_due: u64,
    /// Planned times of its first and last shouts.
    pub first_send: Option<Instant>,
    pub last_send: Option<Instant>,
    pub last_heard: Option<Instant>,
    /// What a misbehaving server did to the connection, if it did (`serve --fault` does it on
    /// purpose).
    pub damage: Option<Damage>,
}

/// What a misbehaving server did to a connection, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The server reset it.
    Reset,
    /// The server closed it with echo lines still owed.
    ClosedEarly,
    /// The server went silent with echo lines owed and kept it open.
    Stalled,
}

/// Why a connection failed to connect, or broke once made. The report counts equal errors
/// together and shows each as its message.
///
/// The I/O errors are held as their explanation (the error and what to do about it), which the
/// I/O layer writes when it converts them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ConnectionError {
    /// No TCP address to connect to.
    #[error("no address to connect to")]
    NoAddress,
    /// Connecting over TCP failed, at the last address tried.
    #[error("connect to {addr}: {reason}")]
    Connect { addr: SocketAddr, reason: String },
    /// Connecting to a Unix-domain socket failed; the message names the socket and says why.
    #[error("{message}")]
    ConnectUnix { message: String },
    /// The connection was made, and its handshake (TLS) failed; the reason says why, and what
    /// to pass instead.
    #[error("handshake: {reason}")]
    Handshake { reason: String },
    /// The run was cut short before the connect finished.
    #[error("cut short while connecting")]
    CutWhileConnecting,
    /// Reading from the socket failed; `reset` when the server reset the connection.
    #[error("read: {reason}")]
    Read { reason: String, reset: bool },
    /// Writing to the socket failed; `reset` when the server had reset the connection.
    #[error("write: {reason}")]
    Write { reason: String, reset: bool },
    /// The server closed the connection before every echo line owed had come.
    #[error("server closed the connection with {} owed", counted(*owed, "echo line"))]
    ClosedWithEchoesOwed { owed: u64 },
    /// The connection's task ended without an outcome: a bug in the bench.
    #[error("internal error in the bench: {reason}")]
    Internal { reason: String },
}

/// Written as its message, the JSON report's `errors[].error`.
impl Serialize for ConnectionError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_reads_as_the_reports_message() {
        let addr: SocketAddr = "127.0.0.1:7".parse().unwrap();
        let cases = [
            (
                ConnectionError::Connect {
                    addr,
                    reason: "Connection refused (os error 111)".into(),
                },
                "connect to 127.0.0.1:7: Connection refused (os error 111)",
            ),
            (
                ConnectionError::ConnectUnix {
                    message: "cannot connect to unix:/tmp/e.sock: no such socket".into(),
                },
                "cannot connect to unix:/tmp/e.sock: no such socket",
            ),
            (
                ConnectionError::CutWhileConnecting,
                "cut short while connecting",
            ),
            (
                ConnectionError::Read {
                    reason: "reset".into(),
                    reset: true,
                },
                "read: reset",
            ),
            (
                ConnectionError::Write {
                    reason: "broken pipe".into(),
                    reset: true,
                },
                "write: broken pipe",
            ),
            (
                ConnectionError::ClosedWithEchoesOwed { owed: 5 },
                "server closed the connection with 5 echo lines owed",
            ),
            (
                ConnectionError::ClosedWithEchoesOwed { owed: 1 },
                "server closed the connection with 1 echo line owed",
            ),
            (
                ConnectionError::Internal {
                    reason: "task 3 panicked".into(),
                },
                "internal error in the bench: task 3 panicked",
            ),
            (ConnectionError::NoAddress, "no address to connect to"),
            (
                ConnectionError::Handshake {
                    reason: "the server did not answer TLS (is it started with --tls?)".into(),
                },
                "handshake: the server did not answer TLS (is it started with --tls?)",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
            assert_eq!(
                serde_json::to_string(&error).unwrap(),
                serde_json::to_string(message).unwrap()
            );
        }
    }
}
