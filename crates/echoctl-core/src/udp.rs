//! The echo over UDP, RFC 862's other half, without the socket: which datagrams are answered,
//! with what, and when.
//!
//! * [`guard`] keeps a UDP echo safe to leave running: the source ports never answered, the bound
//!   on what one datagram may make the server send, and the tally of what was refused, said at
//!   most once a second;
//! * [`peers`] is the server's state: the plain echo sends each datagram back as it came; the
//!   reverb keeps a [`Session`](crate::session::Session) per peer (a source address and port),
//!   reads each datagram as a connection's bytes and sends every echo line as a datagram of its
//!   own, on the session's schedule.
//!
//! Pure, like the sessions: it is handed the time and the datagrams, and hands back the
//! datagrams to send; the server's UDP driver owns the socket and the timer.

pub mod guard;
pub mod peers;

pub use peers::{Peers, Received, Sink};
