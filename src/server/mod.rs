//! The reverb server: the book's reverb1 and reverb2 as one server with two modes.
//!
//! The layout follows tokio's mini-redis: [`run`] takes a listener it is handed, the timer its
//! connections sleep on and a shutdown signal, so `echoctl serve`, `echoctl demo` and the tests
//! all run the very same server;
//! [`listener`] owns the accept loop, [`connection`] runs one client's session over its socket,
//! [`close`] says how the server hangs up.
//!
//! Shutdown has two stages. First the server stops accepting and every connection stops reading
//! but still delivers the echoes it owes (the book's reverb2 would drop them). If that takes longer
//! than the grace period, the remaining connections are closed at once.

pub mod close;
pub mod connection;
pub mod listener;
mod log_line;
mod peer;
mod place;
mod shutdown;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::lines::DEFAULT_MAX_LINE;
use crate::timer::Timer;

pub use crate::transport::Transport;
pub use connection::{Connection, Kind};
pub use listener::Accept;
pub use log_line::{Broken, CloseReason, ConnectionStats, Summary};
pub use peer::Peer;
pub use shutdown::Shutdown;

/// How a connection's shouts share time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// reverb1: a shout's three echoes finish before the next line is read.
    Sequential,
    /// reverb2: every shout echoes on its own schedule from the moment it is read.
    Concurrent,
    /// The book's plain echo, `io.Copy(c, c)`: every byte written back as it is read.
    Plain,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Sequential => "sequential",
            Mode::Concurrent => "concurrent",
            Mode::Plain => "plain",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that shapes the server's behaviour. `Default` is the book's server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub mode: Mode,
    /// Time between a shout's echoes.
    pub delay: Duration,
    /// Longest line accepted, in bytes, terminator excluded.
    pub max_line: usize,
    /// Shouts echoing at once on one connection in concurrent mode.
    pub max_pending: usize,
    /// A connection whose writes make no progress for this long is closed; `None`: never.
    pub write_timeout: Option<Duration>,
    /// A connection that sends no complete line for this long is closed.
    pub idle_timeout: Option<Duration>,
    /// Connections served at once; more are told the server is full.
    pub max_connections: usize,
    /// How long shutdown waits for echoes in flight.
    pub grace: Duration,
}

pub const DEFAULT_DELAY: Duration = Duration::from_secs(1);
pub const DEFAULT_MAX_PENDING: usize = 1024;
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_CONNECTIONS: usize = 100_000;
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            mode: Mode::Concurrent,
            delay: DEFAULT_DELAY,
            max_line: DEFAULT_MAX_LINE,
            max_pending: DEFAULT_MAX_PENDING,
            write_timeout: Some(DEFAULT_WRITE_TIMEOUT),
            idle_timeout: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            grace: DEFAULT_GRACE,
        }
    }
}

impl ServerConfig {
    /// How many shouts of one connection may echo at once: this is all that tells the two reverb
    /// modes apart (plain mode has no shouts).
    pub fn shouts_in_flight(&self) -> usize {
        match self.mode {
            Mode::Sequential | Mode::Plain => 1,
            Mode::Concurrent => self.max_pending.max(1),
        }
    }
}

/// Runs the server on `listener` until `shutdown` completes, then drains and returns. Its
/// sleeps wait on `timer`, started on the runtime that runs the server.
///
/// Returns once every connection has closed: after delivering its echoes, or at the end of the
/// grace period.
pub async fn run<L: Accept>(
    listener: L,
    config: ServerConfig,
    timer: Timer,
    shutdown: impl Future,
) {
    run_with_stats(listener, config, timer, Arc::default(), shutdown).await
}

/// [`run`], counting into `stats` as it goes, for callers that watch the server from outside.
pub async fn run_with_stats<L: Accept>(
    listener: L,
    config: ServerConfig,
    timer: Timer,
    stats: Arc<ServerStats>,
    shutdown: impl Future,
) {
    listener::Listener::new(config, timer, stats)
        .run(listener, shutdown)
        .await
}

/// Starts the server on its own task, for callers that run one in-process and stop it later
/// (`echoctl demo`, the tests).
pub fn spawn<L: Accept + 'static>(
    listener: L,
    config: ServerConfig,
    timer: Timer,
) -> io::Result<Running<L::Addr>> {
    let addr = listener.local_addr()?;
    let stats = Arc::new(ServerStats::default());
    let stop = CancellationToken::new();
    let task = tokio::spawn(run_with_stats(
        listener,
        config,
        timer,
        stats.clone(),
        stop.clone().cancelled_owned(),
    ));
    Ok(Running {
        addr,
        stats,
        stop,
        task,
    })
}

/// A server started by [`spawn`].
pub struct Running<A = SocketAddr> {
    /// The address it listens on.
    pub addr: A,
    /// Its counters, live.
    pub stats: Arc<ServerStats>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl<A> Running<A> {
    /// Shuts the server down as [`run`] does on its signal, and returns once every connection
    /// has closed (an error only if the server task panicked).
    pub async fn stop(self) -> Result<(), JoinError> {
        self.stop.cancel();
        self.task.await
    }
}

/// Server-wide counters, updated as connections come and go. They let tests (and anyone
/// embedding the server) check its bounds from its own books rather than from the outside.
#[derive(Debug, Default)]
pub struct ServerStats {
    pub connections_accepted: AtomicU64,
    pub connections_refused: AtomicU64,
    pub connections_open: AtomicUsize,
    pub shouts: AtomicU64,
    pub echo_lines: AtomicU64,
    /// The most shout bytes any one connection has held queued at once.
    pub peak_queued_bytes: AtomicUsize,
    /// Plain mode: bytes written back, in all.
    pub bytes_echoed: AtomicU64,
    /// Plain mode: the most bytes any one connection has held read but not yet written back.
    pub peak_unsent_bytes: AtomicUsize,
}

impl ServerStats {
    fn shout_taken(&self, queued_bytes: usize) {
        self.shouts.fetch_add(1, Relaxed);
        self.peak_queued_bytes.fetch_max(queued_bytes, Relaxed);
    }
}
