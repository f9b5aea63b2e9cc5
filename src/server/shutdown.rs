//! How the server tells its connections to stop, in two stages: drain, then abort.

use tokio_util::sync::CancellationToken;

/// How the server tells its connections to stop.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    /// Stop reading new shouts; deliver the echoes already owed, then close.
    pub drain: CancellationToken,
    /// Stop now: the grace period is over.
    pub abort: CancellationToken,
}
