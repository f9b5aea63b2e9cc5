//! The accept loop: takes connections, enforces the connection limit, survives accept errors,
//! and runs the two-stage shutdown.
//!
//! Accept errors such as `EMFILE` (out of file descriptors) or `ECONNABORTED` are transient: the
//! loop backs off (10 ms doubling to 1 s) instead of spinning on a failing `accept`, logs at most
//! once a second, and resumes by itself once descriptors are free again.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use echoctl_core::plural::counted;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, sleep, timeout};
use tokio_util::task::TaskTracker;

use echoctl_core::fault::{Drawn, Draws};

use super::close;
use super::faults;
use super::{
    Connection, Kind, Mode, Observe, Peer, ServerConfig, ServerStats, Shutdown, Transport,
};
#[cfg(unix)]
use crate::net::UnixListening;
use crate::timer::Timer;
use crate::tls::ServerTls;

/// A listening socket the server accepts on: TCP, or a Unix-domain socket.
pub trait Accept: Send {
    /// The connections it accepts.
    type Stream: Transport + 'static;
    /// The address it listens on.
    type Addr: Send;
    /// Waits for the next client.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Stream, Peer)>> + Send;
    fn local_addr(&self) -> io::Result<Self::Addr>;
}

impl Accept for TcpListener {
    type Stream = tokio::net::TcpStream;
    type Addr = SocketAddr;
    async fn accept(&mut self) -> io::Result<(Self::Stream, Peer)> {
        let (stream, peer) = TcpListener::accept(self).await?;
        let _ = stream.set_nodelay(true);
        Ok((stream, Peer::Tcp(peer)))
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        TcpListener::local_addr(self)
    }
}

#[cfg(unix)]
impl Accept for UnixListening {
    type Stream = tokio::net::UnixStream;
    type Addr = std::path::PathBuf;
    async fn accept(&mut self) -> io::Result<(Self::Stream, Peer)> {
        let (stream, _) = self.listener().accept().await?;
        Ok((stream, Peer::Unix(self.next_client_number())))
    }
    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.path().to_path_buf())
    }
}

const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Refused clients being told so at once; past this, a refused client is closed without a word,
/// so a flood of connects cannot hold the descriptors the limit is there to protect.
const MAX_REFUSALS_IN_FLIGHT: usize = 64;

pub(crate) struct Listener {
    start: Start,
    limit: Arc<Semaphore>,
    refusals: Arc<Semaphore>,
    /// Each connection's faults, drawn in the order they are accepted (`--fault`), if any.
    draws: Option<Mutex<Draws>>,
    /// Every connection's TLS (`serve --tls`), if any.
    tls: Option<Arc<ServerTls>>,
}

/// What starting a connection's task takes, shared by every connection (each is a pointer, or
/// holds one).
#[derive(Clone)]
struct Start {
    config: Arc<ServerConfig>,
    timer: Timer,
    stats: Arc<ServerStats>,
    tracker: TaskTracker,
    shutdown: Arc<Shutdown>,
    /// What watches every connection (`--trace`, `--hex-dump`), if anything.
    observe: Observe,
}

impl Listener {
    pub(crate) fn new(
        config: ServerConfig,
        tls: Option<Arc<ServerTls>>,
        timer: Timer,
        stats: Arc<ServerStats>,
    ) -> Self {
        let permits = config.max_connections.clamp(1, Semaphore::MAX_PERMITS);
        let draws = (!config.faults.is_empty()).then(|| Mutex::new(config.faults.draws()));
        Listener {
            draws,
            limit: Arc::new(Semaphore::new(permits)),
            refusals: Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT)),
            tls,
            start: Start {
                config: Arc::new(config),
                timer,
                stats,
                tracker: TaskTracker::new(),
                shutdown: Arc::default(),
                observe: Observe::default(),
            },
        }
    }

    /// Has `observe` watch every connection.
    pub(crate) fn observed_by(mut self, observe: Observe) -> Self {
        self.start.observe = observe;
        self
    }

    /// Serves `listener` until `shutdown` completes, then drains.
    pub(crate) async fn run<L: Accept>(self, mut listener: L, shutdown: impl Future) {
        tokio::select! {
            _ = self.accept_loop(&mut listener) => {}
            _ = shutdown => {}
        }
        // Close the listening socket first, so new clients are refused at once rather than left
        // waiting in the backlog while the server drains.
        drop(listener);
        self.drain().await;
    }

    async fn accept_loop<L: Accept>(&self, listener: &mut L) {
        let mut backoff = FIRST_BACKOFF;
        let mut last_report: Option<Instant> = None;
        let mut unreported = 0u64;
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    backoff = FIRST_BACKOFF;
                    self.admit(stream, peer);
                }
                Err(e) => {
                    unreported += 1;
                    if last_report.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                        tracing::warn!(
                            "accept failed {}: {e}; retrying in {}",
                            counted(unreported, "time"),
                            echoctl_core::duration::format(backoff)
                        );
                        last_report = Some(Instant::now());
                        unreported = 0;
                    }
                    sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn admit<S: Transport + 'static>(&self, stream: S, peer: Peer) {
        let Start {
            config,
            stats,
            tracker,
            shutdown,
            ..
        } = &self.start;
        let Ok(permit) = self.limit.clone().try_acquire_owned() else {
            stats.connections_refused.fetch_add(1, Relaxed);
            tracing::warn!(
                "{peer}: refused, server full ({}, --max-connections)",
                counted(config.max_connections, "connection")
            );
            if let Ok(refusing) = self.refusals.clone().try_acquire_owned() {
                let max_connections = config.max_connections;
                let abort = shutdown.abort.clone();
                let tls = self.tls.clone();
                tracker.spawn(async move {
                    match tls {
                        None => close::refuse(stream, max_connections, abort).await,
                        // Told over TLS, as the client expects, or not at all.
                        Some(tls) => {
                            if let Some(stream) =
                                tls.accept_to_refuse(stream, close::REFUSAL_TIMEOUT).await
                            {
                                close::refuse(stream, max_connections, abort).await;
                            }
                        }
                    }
                    drop(refusing);
                });
            }
            return;
        };
        stats.connections_accepted.fetch_add(1, Relaxed);
        let drawn = self.draw_faults();
        if let Some(drawn) = drawn.as_ref().filter(|drawn| drawn.refuses()) {
            faults::refuse(stream, peer, drawn);
            return;
        }
        match &self.tls {
            None => self.start.connection(stream, peer, drawn, permit),
            // The handshake has a task of its own, which hands the connection (and its place
            // under --max-connections) to a task of its own once it is made: the connection's
            // task does not keep the handshake's room for its whole life.
            Some(tls) => {
                let (tls, start) = (tls.clone(), self.start.clone());
                tracker.spawn(async move {
                    if let Some(stream) = tls.accept(stream, peer, &start.shutdown).await {
                        start.connection(stream, peer, drawn, permit);
                    }
                });
            }
        }
    }

    /// The faults of the connection just accepted, if it gets any.
    fn draw_faults(&self) -> Option<Drawn> {
        let draws = self.draws.as_ref()?;
        // A panic elsewhere cannot leave the generator half-drawn in a harmful way.
        draws
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next_connection()
    }

    /// Stops reading everywhere, waits up to the grace period for owed echoes, then closes
    /// whatever is left.
    async fn drain(self) {
        let Start {
            config,
            tracker,
            shutdown,
            ..
        } = self.start;
        tracker.close();
        shutdown.drain.cancel();
        let open = tracker.len();
        if open > 0 {
            tracing::info!(
                "shutting down: delivering echoes in flight on {}, for up to {}",
                counted(open, "connection"),
                echoctl_core::duration::format(config.grace)
            );
        }
        if timeout(config.grace, tracker.wait()).await.is_err() {
            tracing::warn!(
                "grace period over; closing {} with echoes still owed",
                counted(tracker.len(), "connection")
            );
            shutdown.abort.cancel();
            tracker.wait().await;
        }
    }
}

impl Start {
    /// Runs the connection on `stream` as its own task, in the server's mode, with the faults
    /// it `drawn`, counted in the server's stats and holding `permit`.
    ///
    /// The connection's own future is the task: a wrapper would keep its captures (the
    /// stream, the settings, the permit) for the connection's whole life, beside the copies
    /// moved into the connection.
    fn connection<S: Transport + 'static>(
        &self,
        stream: S,
        peer: Peer,
        drawn: Option<Drawn>,
        permit: OwnedSemaphorePermit,
    ) {
        let (config, shutdown) = (self.config.clone(), self.shutdown.clone());
        if config.mode == Mode::Plain {
            let connection = Connection::plain(stream, peer, config, &self.timer, shutdown);
            self.spawn(connection, drawn, permit);
        } else {
            let connection = Connection::new(stream, peer, config, &self.timer, shutdown);
            self.spawn(connection, drawn, permit);
        }
    }

    fn spawn<S: Transport + 'static, K: Kind + 'static>(
        &self,
        connection: Connection<S, K>,
        drawn: Option<Drawn>,
        permit: OwnedSemaphorePermit,
    ) {
        self.tracker.spawn(
            connection
                .with_faults(drawn)
                .observed_by(&self.observe)
                .with_stats(self.stats.clone())
                .holding(permit)
                .run(),
        );
    }
}
