//! Stop signals: the first asks for a graceful stop, a second one asks to quit at once.
//!
//! Nothing here exits the process: the futures complete, and the command that watches them
//! returns its exit status to `main` like any other.

use std::future::Future;

/// Watches for SIGINT (Ctrl-C) and SIGTERM from the moment it is called. Returns two futures:
/// the first completes on the first signal (a graceful stop); the second, which must be polled
/// for either to complete, completes on the signal after that, for the user who does not want
/// to wait for the grace period.
///
/// Call it before anything can be observed from outside (such as the listening socket), so a
/// signal sent as soon as the server looks ready is never handled by the default action instead.
pub(crate) fn graceful_stop() -> (impl Future<Output = ()>, impl Future<Output = ()>) {
    let mut signals = StopSignals::new();
    let (stop_requested, stop) = tokio::sync::oneshot::channel::<()>();
    let quit_now = async move {
        let again = match signals.recv().await {
            Stop::Interrupt => "press Ctrl-C again",
            Stop::Terminate => "send SIGTERM again",
        };
        tracing::info!("stopping; {again} to quit at once");
        let _ = stop_requested.send(());
        // The same listeners keep watching, so a second signal cannot slip by between the two.
        signals.recv().await;
    };
    let stop = async move {
        // An error means the watcher was dropped: nobody is left to ask for a stop.
        if stop.await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    (stop, quit_now)
}

/// Watches for SIGINT and SIGTERM from the moment it is called; the future completes on the next.
pub(crate) fn stop_signal() -> impl Future<Output = ()> {
    let mut signals = StopSignals::new();
    async move {
        signals.recv().await;
    }
}

/// Which stop signal arrived, so the server names the one to send again.
enum Stop {
    /// SIGINT: Ctrl-C at a terminal.
    Interrupt,
    /// SIGTERM: `kill`, a service manager.
    Terminate,
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

    async fn recv(&mut self) -> Stop {
        #[cfg(unix)]
        match &mut self.listeners {
            Some((int, term)) => {
                tokio::select! {
                    _ = int.recv() => Stop::Interrupt,
                    _ = term.recv() => Stop::Terminate,
                }
            }
            // Without signal handling the default action (terminate) applies; wait forever.
            None => std::future::pending().await,
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Stop::Interrupt
        }
    }
}
