//! echoctl: the reverb echo server and client of *The Go Programming Language*, section 8.3.
//!
//! The pure logic is apart from the I/O, so it is tested without sockets:
//!
//! * [`lines`] splits a byte stream into shouts (Go's `bufio.ScanLines`, byte-exact, bounded);
//! * [`echo`] turns a shout into its three voices and their wire lines;
//! * [`schedule`] decides which echo lines are due when, for both server modes;
//! * [`session`] makes every decision about one client over them: bytes and the time in, the
//!   bytes due, the next wake-up and how the session ended out;
//! * [`duration`] reads and prints durations, one token that the options take back;
//! * [`escape`] makes bytes from the network safe to show, in logs, reports and charts.
//!
//! The I/O builds on them:
//!
//! * [`server`] accepts connections and runs one task per connection over a session;
//! * [`client`] relays an input to a server and its echoes to an output;
//! * [`demo`] replays the book's sessions through both, over loopback TCP;
//! * [`bench`](mod@bench) loads a server with many connections and checks every echo;
//! * [`timeline`] draws when each shout was sent and each echo arrived (terminal and SVG).
//!
//! [`timer`] keeps echo deadlines finer than tokio's 1 ms timer wheel; [`net`] resolves names,
//! connects and binds, and words their errors, for client, server and bench alike; [`color`]
//! decides whether output is colored; [`exit`] holds every exit status; [`log_time`] is the
//! log lines' clock.
//!
//! At the edge, [`cli`] defines the command line once (with its value parsers, the bench's
//! arguments and the generator of completions and man pages) and turns it into the library's
//! plain configuration; [`cmd`] runs each subcommand on it. Nothing below `cmd` imports `cli` or
//! `cmd`; `main` reports every error and returns every exit status.

pub mod bench;
pub mod cli;
pub mod client;
pub mod cmd;
pub mod color;
pub mod demo;
pub mod duration;
pub mod echo;
pub mod escape;
pub mod exit;
pub mod lines;
pub mod log_time;
pub mod net;
pub mod schedule;
pub mod server;
pub mod session;
pub mod signals;
pub mod timeline;
pub mod timer;
pub mod transport;
