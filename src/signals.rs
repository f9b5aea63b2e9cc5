//! Stop signals: the first asks for a graceful stop, a second one ends the process at once.

use std::process;

use crate::cmd::EXIT_INTERRUPTED;

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM. From then on, another such signal exits the
/// process immediately, for the user who does not want to wait for the grace period.
pub async fn first_stop_signal() {
    stop_signal().await;
    tracing::info!("stopping; press Ctrl-C again to quit at once");
    tokio::spawn(async {
        stop_signal().await;
        process::exit(EXIT_INTERRUPTED.into());
    });
}

/// Completes on the next SIGINT or SIGTERM.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
