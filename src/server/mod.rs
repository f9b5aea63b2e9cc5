//! The reverb server: the book's reverb1 and reverb2 as one server with two modes.
//!
//! The layout follows tokio's mini-redis: [`run`] takes a listener it is handed, the timer its
//! connections sleep on and a shutdown signal, so `echoctl serve`, `echoctl demo` and the tests
//! all run the very same server;
//! [`listener`] owns the accept loop, [`connection`] runs one client's session over its socket,
//! [`close`] says how the server hangs up; [`udp`] is the server over UDP, one task over a
//! socket and the peers' sessions.
//!
//! Shutdown has two stages. First the server stops accepting and every connection stops reading
//! but still delivers the echoes it owes (the book's reverb2 would drop them). If that takes longer
//! than the grace period, the remaining connections are closed at once.

pub(crate) mod close;
pub(crate) mod connection;
mod faults;
pub(crate) mod listener;
mod log_line;
mod observer;
mod peer;
mod place;
mod shutdown;
pub(crate) mod udp;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::timer::Timer;
use crate::tls::ServerTls;
pub use echoctl_core::config::{DEFAULT_MAX_CONNECTIONS, Mode, PlainPath, ServerConfig};

pub use crate::transport::Transport;
pub use connection::{Connection, Kind};
pub use faults::{FaultEnd, StallEnd};
pub use listener::Accept;
pub use log_line::{CloseReason, ConnectionStats};
pub use observer::Observe;
pub use peer::Peer;
pub use shutdown::Shutdown;

/// Runs the server on `listener` until `shutdown` completes, then drains and returns.
///
/// Returns once every connection has closed: after delivering its echoes, or at the end of the
/// grace period.
pub async fn run<L: Accept>(
    listener: L,
    config: ServerConfig,
    timer: Timer,
    shutdown: impl Future,
) {
    run_with_tls(listener, config, None, timer, shutdown).await
}

/// [`run`], with every connection over TLS when `tls` is given (`serve --tls`).
pub async fn run_with_tls<L: Accept>(
    listener: L,
    config: ServerConfig,
    tls: Option<Arc<ServerTls>>,
    timer: Timer,
    shutdown: impl Future,
) {
    run_with_stats(listener, config, tls, timer, Arc::default(), shutdown).await
}

/// [`run_with_tls`], with every connection watched by `observe` (`serve --trace`,
/// `--hex-dump`). Over TLS it sees the plaintext: the bytes the session reads and writes.
pub(crate) async fn run_observed<L: Accept>(
    listener: L,
    mut config: ServerConfig,
    tls: Option<Arc<ServerTls>>,
    timer: Timer,
    observe: Observe,
    shutdown: impl Future,
) {
    // Every byte must pass through the process to be seen.
    config.observe = observe.is_on();
    listener::Listener::new(config, tls, timer, Arc::default())
        .observed_by(observe)
        .run(listener, shutdown)
        .await
}

/// [`run_with_tls`], counting into `stats` as it goes, for callers that watch the server from
/// outside.
pub(crate) async fn run_with_stats<L: Accept>(
    listener: L,
    config: ServerConfig,
    tls: Option<Arc<ServerTls>>,
    timer: Timer,
    stats: Arc<ServerStats>,
    shutdown: impl Future,
) {
    listener::Listener::new(config, tls, timer, stats)
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
    spawn_with_tls(listener, config, None, timer)
}

/// [`spawn`], with every connection over TLS when `tls` is given.
pub fn spawn_with_tls<L: Accept + 'static>(
    listener: L,
    config: ServerConfig,
    tls: Option<Arc<ServerTls>>,
    timer: Timer,
) -> io::Result<Running<L::Addr>> {
    let addr = listener.local_addr()?;
    let stats = Arc::new(ServerStats::default());
    let stop = CancellationToken::new();
    let task = tokio::spawn(run_with_stats(
        listener,
        config,
        tls,
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
    /// Plain mode: of the bytes written back, those the kernel moved (splice(2)) without the
    /// server copying them.
    pub bytes_spliced: AtomicU64,
}

impl ServerStats {
    fn shout_taken(&self, queued_bytes: usize) {
        self.shouts.fetch_add(1, Relaxed);
        self.peak_queued_bytes.fetch_max(queued_bytes, Relaxed);
    }
}
