//! echoctl: the reverb echo server and client of *The Go Programming Language*, section 8.3.
//!
//! The pure logic (lines, echoes, schedules, sessions, the timeline model, the demo's scripts and
//! the bench's books) is the `echoctl_core` crate, tested without sockets. This crate is
//! everything around it, in three layers:
//!
//! * **I/O**: [`server`] accepts connections and runs a task per connection over a session;
//!   `client` relays an input to a server and its echoes to an output; `demo` replays the
//!   book's sessions through both over loopback TCP; [`bench`](mod@bench) loads a server with
//!   many connections and checks every echo, one exchange loop over every transport; [`net`]
//!   resolves, connects and binds and words their errors, and is the connected stream (TCP, Unix
//!   or TLS); `transport` is the socket under a connection; [`timer`] keeps echo
//!   deadlines finer than tokio's 1 ms wheel; `signals` turns Ctrl-C and SIGTERM into stops;
//!   `observe` writes the `--trace` and `--hex-dump` files.
//! * **Output**: `color` decides whether output is colored, and `term` whether the terminal
//!   can redraw and how wide a progress bar may be on it; `paint` how echoes and typed lines
//!   look; [`timeline`] draws a session's timeline in the terminal and as SVG, on the same
//!   `svg_page` as the bench's chart; `log_time` is the log lines' clock.
//! * **Edge**: [`cli`] defines the command line once and turns it into plain configuration;
//!   `cmd` runs each subcommand on it; `exit` holds every exit status. Nothing below `cmd`
//!   imports `cli` or `cmd`; `main` reports every error and returns every exit status.
//!
//! Public are only the modules the integration tests (`tests/suite`), the benchmarks and the
//! docs generator drive, and what `main` needs below; everything else is `pub(crate)`, and the
//! `unreachable_pub` lint keeps it so.

#![warn(unreachable_pub)]

pub mod bench;
pub mod cli;
mod client;
mod cmd;
mod color;
mod demo;
mod exit;
mod log_time;
pub mod net;
mod observe;
mod paint;
pub mod server;
mod signals;
mod svg_page;
mod term;
pub mod timeline;
pub mod timer;
pub mod tls;
mod transport;

// What `main` needs: the command line, the one place errors are reported and the log's clock.
pub use cmd::run;
pub use color::{ColorEnv, use_color};
pub use exit::{ExitError, ExitStatus};
pub use log_time::local_millis;
