//! Stop signals: the first asks for a graceful stop, a second one ends the process at once.

use std::future::Future;
use std::process;

use crate::cmd::EXIT_INTERRUPTED;

/// Watches for SIGINT (Ctrl-C) and SIGTERM from the moment it is called; the returned future
/// completes on the first one. From then on, another such signal exits the process immediately,
/// for the user who does not want to wait for the grace period.
///
/// Call it before anything can be observed from outside (such as the listening socket), so a
/// signal sent as soon as the server looks ready is never handled by the default action instead.
pub fn graceful_stop() -> impl Future<Output = ()> {
    let mut signals = StopSignals::new();
    async move {
        signals.recv().await;
        tracing::info!("stopping; press Ctrl-C again to quit at once");
        // The same listeners keep watching, so a second signal cannot slip by between the two.
        tokio::spawn(async move {
            signals.recv().await;
            process::exit(EXIT_INTERRUPTED.into());
        });
    }
}

/// Watches for SIGINT and SIGTERM from the moment it is called; the future completes on the next.
pub fn stop_signal() -> impl Future<Output = ()> {
    let mut signals = StopSignals::new();
    async move { signals.recv().await }
}

/// Listeners for SIGINT and SIGTERM, registered once and reused.
struct StopSignals {
    #[cfg(unix)]
    listeners: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listeners = signal(SignalKind::interrupt())
                .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
                .map_err(|e| tracing::warn!("cannot watch for stop signals: {e}"))
                .ok();
            StopSignals { listeners }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        match &mut self.listeners {
            Some((int, term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            // Without signal handling the default action (terminate) applies; wait forever.
            None => std::future::pending().await,
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
