//! The accept loop: takes connections, enforces the connection limit, survives accept errors,
//! and runs the two-stage shutdown.
//!
//! Accept errors such as `EMFILE` (out of file descriptors) or `ECONNABORTED` are transient: the
//! loop backs off (10 ms doubling to 1 s) instead of spinning on a failing `accept`, logs at most
//! once a second, and resumes by itself once descriptors are free again.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep, timeout};
use tokio_util::task::TaskTracker;

use super::close;
use super::{Connection, ServerConfig, ServerStats, Shutdown};

const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Refused clients being told so at once; past this, a refused client is closed without a word,
/// so a flood of connects cannot hold the descriptors the limit is there to protect.
const MAX_REFUSALS_IN_FLIGHT: usize = 64;

pub struct Listener {
    config: Arc<ServerConfig>,
    stats: Arc<ServerStats>,
    limit: Arc<Semaphore>,
    refusals: Arc<Semaphore>,
    tracker: TaskTracker,
    shutdown: Shutdown,
}

impl Listener {
    pub fn new(config: ServerConfig, stats: Arc<ServerStats>) -> Self {
        let permits = config.max_connections.clamp(1, Semaphore::MAX_PERMITS);
        Listener {
            limit: Arc::new(Semaphore::new(permits)),
            refusals: Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT)),
            config: Arc::new(config),
            stats,
            tracker: TaskTracker::new(),
            shutdown: Shutdown::default(),
        }
    }

    /// Serves `listener` until `shutdown` completes, then drains.
    pub async fn run(self, listener: TcpListener, shutdown: impl Future) {
        tokio::select! {
            _ = self.accept_loop(&listener) => {}
            _ = shutdown => {}
        }
        // Close the listening socket first, so new clients are refused at once rather than left
        // waiting in the backlog while the server drains.
        drop(listener);
        self.drain().await;
    }

    async fn accept_loop(&self, listener: &TcpListener) {
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
                            "accept failed {unreported} time(s): {e}; retrying in {}",
                            crate::duration::format(backoff)
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

    fn admit(&self, stream: TcpStream, peer: std::net::SocketAddr) {
        let Ok(permit) = self.limit.clone().try_acquire_owned() else {
            self.stats.connections_refused.fetch_add(1, Relaxed);
            tracing::warn!(
                "{peer}: refused, server full ({} connections, --max-connections)",
                self.config.max_connections
            );
            if let Ok(refusing) = self.refusals.clone().try_acquire_owned() {
                let max_connections = self.config.max_connections;
                let abort = self.shutdown.abort.clone();
                self.tracker.spawn(async move {
                    close::refuse(stream, max_connections, abort).await;
                    drop(refusing);
                });
            }
            return;
        };
        let _ = stream.set_nodelay(true);
        self.stats.connections_accepted.fetch_add(1, Relaxed);
        let connection = Connection::new(stream, peer, self.config.clone(), self.shutdown.clone())
            .with_stats(self.stats.clone())
            .holding(permit);
        // The connection's own future is the task: a wrapper would keep its captures (the
        // stream, the settings, the permit) for the connection's whole life, beside the copies
        // moved into the connection.
        self.tracker.spawn(connection.run());
    }

    /// Stops reading everywhere, waits up to the grace period for owed echoes, then closes
    /// whatever is left.
    async fn drain(self) {
        self.tracker.close();
        self.shutdown.drain.cancel();
        let open = self.tracker.len();
        if open > 0 {
            tracing::info!(
                "shutting down: delivering echoes in flight on {open} connection(s), for up to {}",
                crate::duration::format(self.config.grace)
            );
        }
        if timeout(self.config.grace, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "grace period over; closing {} connection(s) with echoes still owed",
                self.tracker.len()
            );
            self.shutdown.abort.cancel();
            self.tracker.wait().await;
        }
    }
}
