//! The notices a refused datagram may get back: each within the reply bound, and "server full"
//! at most once a second to a peer.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use super::{Peers, Sink};
use crate::udp::guard::within_reply_bound;

/// Peers told the server is full within the last second, at most: past this, a refused peer is
/// not told, so a flood of new sources costs a bounded map.
const MAX_TOLD_FULL: usize = 4096;

impl Peers {
    /// Sends `notice` to `from` in answer to a datagram of `received` bytes, if the reply bound
    /// allows it; says whether it went.
    pub(super) fn notify(
        &mut self,
        from: SocketAddr,
        received: usize,
        notice: &str,
        sink: &mut impl Sink,
    ) -> bool {
        // Every notice is shorter than the bound allows for the smallest datagram it answers;
        // checked all the same, so that no wording can make the server a reflector.
        if !within_reply_bound(received, 1, notice.len()) {
            return false;
        }
        sink.send(from, notice.as_bytes());
        self.counts.notices += 1;
        true
    }

    /// Tells a peer refused for want of room that the server is full, unless it was told less
    /// than a second ago (or too many were).
    pub(super) fn tell_full(
        &mut self,
        now: Instant,
        from: SocketAddr,
        received: usize,
        sink: &mut impl Sink,
    ) -> bool {
        let second = Duration::from_secs(1);
        if self.told_full.len() >= MAX_TOLD_FULL {
            self.told_full.retain(|_, at| now < *at + second);
        }
        let recently = self
            .told_full
            .get(&from)
            .is_some_and(|at| now < *at + second);
        if recently || self.told_full.len() >= MAX_TOLD_FULL {
            return false;
        }
        let notice = format!(
            "echoctl: server is full ({} peers); try again later\n",
            self.max_peers
        );
        let told = self.notify(from, received, &notice, sink);
        if told {
            self.told_full.insert(from, now);
        }
        told
    }
}
