//! echoctl's pure logic: bytes and times in, decisions out, no I/O.
//!
//! Everything the program decides is here and tested without sockets, terminals or clocks of its
//! own; the `echoctl` binary crate is the I/O around it.
//!
//! * [`lines`] splits a byte stream into shouts (Go's `bufio.ScanLines`, byte-exact, bounded);
//! * [`echo`] turns a shout into its three voices and their wire lines;
//! * [`schedule`] decides which echo lines are due when, for both reverb modes;
//! * [`session`] makes every decision about one client of the server: bytes and the time in, the
//!   bytes due, the next wake-up and how the session ended out (the plain echo too, both one
//!   [`ServerSession`](session::ServerSession) to the server's loop);
//! * [`client`] makes every decision about one `connect` session: what is sent and heard, the
//!   server's lines and what each is, the echoes still owed and how the session ended;
//! * [`config`] is what shapes the server (its [`Mode`], delay and limits);
//! * [`address`] is where a server listens or a client connects ([`Address`]);
//! * [`duration`] reads and prints durations, one token that the options take back; [`size`]
//!   the same for byte counts;
//! * [`fault`] is the server's faults on purpose: the specs, each connection's draw and what its
//!   faults do to what it writes;
//! * [`escape`] makes bytes from the network safe to show, in logs, reports and charts;
//! * [`fingerprint`] is how a certificate's SHA-256 fingerprint is written and read back;
//! * [`plural`] counts things in messages (`1 connection`, `2 echoes`);
//! * [`udp`] is the server over UDP: which datagrams are answered, with what and when, each
//!   peer's session, and what keeps a UDP echo safe to leave running;
//! * [`timeline`] is when each shout was sent and each echo came back, as rows to draw;
//! * [`trace`] turns the same records into a trace (the Trace Event format, for Perfetto), and
//!   [`hexdump`] shows a connection's bytes as `hexdump -C` does;
//! * [`script`] holds the book's two sessions and the director that plays them;
//! * [`bench`] keeps the load generator's books: ledger, pacing, lateness, tally and report.

#![forbid(unsafe_code)]

pub mod address;
pub mod bench;
pub mod client;
pub mod config;
pub mod duration;
pub mod echo;
pub mod escape;
pub mod fault;
pub mod fingerprint;
pub mod hexdump;
pub mod lines;
pub mod plural;
pub mod schedule;
pub mod script;
pub mod session;
pub mod size;
pub mod timeline;
pub mod trace;
pub mod udp;

pub use address::Address;
pub use config::{Mode, ServerConfig};
