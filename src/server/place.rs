//! A connection's place in its server: what it is counted in and what it holds, given back
//! when it is dropped.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use tokio::sync::OwnedSemaphorePermit;

use super::ServerStats;

/// The connection's place in a server: the server-wide counters it reports to (and is counted
/// open in), and its slot under `--max-connections`. Both are given back when the connection is
/// dropped, however it ends. A connection run on its own (in tests) has neither.
#[derive(Default)]
pub(super) struct Place {
    server_stats: Option<Arc<ServerStats>>,
    slot: Option<OwnedSemaphorePermit>,
}

impl Place {
    /// Counts the connection in `stats`, as open until it is dropped.
    pub(super) fn count_in(&mut self, stats: Arc<ServerStats>) {
        debug_assert!(
            self.server_stats.is_none(),
            "a connection is counted in one server only"
        );
        stats.connections_open.fetch_add(1, Relaxed);
        self.server_stats = Some(stats);
    }

    /// Holds `slot` until the connection is dropped.
    pub(super) fn hold(&mut self, slot: OwnedSemaphorePermit) {
        self.slot = Some(slot);
    }

    pub(super) fn server_stats(&self) -> Option<&ServerStats> {
        self.server_stats.as_deref()
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        // The slot first: whoever sees the open count fall may connect again at once.
        drop(self.slot.take());
        if let Some(stats) = self.server_stats() {
            stats.connections_open.fetch_sub(1, Relaxed);
        }
    }
}
