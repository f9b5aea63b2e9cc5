//! One connection: the I/O loop over its session.
//!
//! Each accepted connection gets one task running [`Connection::run`]. The task owns the socket
//! outright (no split halves, no locks) and waits on whichever comes first: the socket becoming
//! readable (while the session reads), the session's next wake-up, or the shutdown stage the
//! session would heed. Because only this task writes, echo lines reach the wire whole and in
//! order, however many shouts are echoing at once. What to read, what is due and when the
//! connection is over are the session's decisions; [`close`] says how it hangs up.
//!
//! The loop is written once, over a [`ServerSession`]: the reverb's [`Session`] or the plain
//! echo's [`PlainSession`] (`--mode plain`), which sends each chunk read straight back.
//!
//! Reading waits for readiness and only then borrows this thread's scratch chunk, and what the
//! session has to say at one wake-up (the lines due, the bytes sent back) is gathered in this
//! thread's write buffer and written in one go, so an idle connection holds no buffer at all.
//! Only what the socket does not take at once is kept, on a boxed future, while nothing more is
//! read.
//!
//! On Linux the plain echo's bytes skip those buffers when nothing needs to see them: `splice`
//! moves them from the socket through a pipe and back in the kernel, and the loop only counts.
//!
//! A connection that drew faults (`serve --fault`) has a [`Shaper`] between its session and its
//! socket, which holds, cuts and paces what is written ([`super::faults`]); a connection of a
//! watched server (`--trace`, `--hex-dump`) has an [`Observer`](super::observer::Observer) told
//! what it reads, takes and writes. Both are in one box (`extras`), as most connections have
//! neither: one without pays a pointer for them, and a check per read and write. Either means
//! the bytes must be seen, so such a server's plain echo copies
//! ([`ServerConfig::bytes_must_be_seen`]).
//!
//! Here are the task and its waiting loop; `socket` has the copy path's turn and its writes,
//! `splice` the kernel's path.

use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use echoctl_core::fault::shaper::Shaper;
use echoctl_core::session::plain::PlainSession;
use echoctl_core::session::{End, ServerSession, Session, Settings, Stop};

mod extras;
mod socket;
#[cfg(target_os = "linux")]
mod splice;

use extras::Extras;

use super::close;
use super::faults::{self, FaultEnd};
use super::log_line::{self, Broken, CloseReason, ConnectionStats, Summary};
use super::peer::Peer;
use super::place::Place;
use super::shutdown::Shutdown;
use crate::server::ServerConfig;
use crate::timer::{self, Timer};
use crate::transport::Transport;

/// Most bytes read in one go. Larger reads save syscalls under load but are held only briefly.
const READ_CHUNK: usize = 16 * 1024;

/// A session a connection can serve: what its loop drives ([`ServerSession`]) and what its
/// closing log line says it did ([`Summary`]).
pub trait Kind: ServerSession + Summary + Send {}

impl<K: ServerSession + Summary + Send> Kind for K {}

/// One client's connection over a session of kind `K`: the reverb's [`Session`] (the default)
/// or the plain echo's [`PlainSession`].
pub struct Connection<S, K = Session> {
    stream: S,
    peer: Peer,
    /// These two are shared by every connection: one copy per server, not per client.
    config: Arc<ServerConfig>,
    shutdown: Arc<Shutdown>,
    session: K,
    /// The one sleep for the session's next wake-up, re-armed only when that changes.
    wake: timer::Sleep,
    stats: ConnectionStats,
    /// What few connections have; boxed, as most have none of it.
    extras: Option<Box<Extras>>,
    /// Last, so that it is dropped last: the socket is closed before the connection stops
    /// counting as open and gives its `--max-connections` slot back.
    place: Place,
}

/// The server's settings that shape each client's session.
impl<S: Transport> Connection<S, Session> {
    /// A reverb connection, in the mode `config` names, its session's wake-ups on `timer`.
    pub fn new(
        stream: S,
        peer: impl Into<Peer>,
        config: impl Into<Arc<ServerConfig>>,
        timer: &Timer,
        shutdown: impl Into<Arc<Shutdown>>,
    ) -> Self {
        let config = config.into();
        Connection::with_session(
            stream,
            peer.into(),
            Session::new(Settings::from(&*config)),
            config,
            timer,
            shutdown.into(),
        )
    }
}

impl<S: Transport> Connection<S, PlainSession> {
    /// A plain echo connection (`--mode plain`), its idle deadline on `timer`.
    pub fn plain(
        stream: S,
        peer: impl Into<Peer>,
        config: impl Into<Arc<ServerConfig>>,
        timer: &Timer,
        shutdown: impl Into<Arc<Shutdown>>,
    ) -> Self {
        let config = config.into();
        Connection::with_session(
            stream,
            peer.into(),
            PlainSession::new(config.idle_timeout),
            config,
            timer,
            shutdown.into(),
        )
    }
}

impl<S: Transport, K: Kind> Connection<S, K> {
    fn with_session(
        stream: S,
        peer: Peer,
        session: K,
        config: Arc<ServerConfig>,
        timer: &Timer,
        shutdown: Arc<Shutdown>,
    ) -> Self {
        Connection {
            stream,
            peer,
            session,
            wake: timer.sleep_until(Instant::now()),
            config,
            shutdown,
            stats: ConnectionStats::default(),
            extras: None,
            place: Place::default(),
        }
    }

    /// Counts this connection in the server-wide `stats` too, as open until it is dropped.
    pub(crate) fn with_stats(mut self, stats: Arc<super::ServerStats>) -> Self {
        self.place.count_in(stats);
        self
    }

    /// Holds `slot` (the connection's place under `--max-connections`) until it is dropped.
    pub(crate) fn holding(mut self, slot: OwnedSemaphorePermit) -> Self {
        self.place.hold(slot);
        self
    }

    /// Serves the connection to its end, logs its opening and closing, and says why it ended.
    ///
    /// The server spawns this future as the connection's task, with nothing around it: every
    /// byte of it is paid once per connection for as long as the connection lives.
    ///
    /// Written as a function returning an `async move` block rather than as an `async fn`: an
    /// `async fn` keeps its argument twice in its future (as captured, and moved into the
    /// body), and here the argument is the whole connection.
    #[allow(clippy::manual_async_fn)]
    pub fn run(mut self) -> impl Future<Output = (CloseReason, ConnectionStats)> {
        async move {
            let opened = Instant::now();
            match self.faults() {
                Some(faults) => tracing::info!(
                    "{}: connection opened, faults: {}",
                    self.peer,
                    faults.drawn()
                ),
                None => tracing::info!("{}: connection opened", self.peer),
            }
            if self.session.pass_through().is_some() {
                let path = self.plain_path();
                tracing::debug!("{}: plain echo by {path}", self.peer);
            }
            let reason = match self.serve().await {
                // Boxed: the goodbye runs once, and its futures would otherwise make every
                // connection's task larger for its whole life.
                Ok(end) => {
                    let slow_close = self
                        .faults()
                        .and_then(Shaper::slow_close)
                        .filter(|_| end != End::Aborted);
                    let finishing = async {
                        if let Some(after) = slow_close {
                            faults::hold_the_close(after, &self.shutdown.abort).await;
                        }
                        close::finish(&mut self.stream, end, &self.shutdown.abort).await
                    };
                    match Box::pin(finishing).await {
                        Ok(()) => CloseReason::Ended(end),
                        Err(e) => CloseReason::Broken(Broken::Io(e)),
                    }
                }
                Err(Broken::Fault(fired)) => {
                    tracing::info!("{}: {fired} (fault)", self.peer);
                    match Box::pin(faults::act(&mut self.stream, fired, &self.shutdown.abort)).await
                    {
                        Ok(stall) => CloseReason::Fault(FaultEnd { fired, stall }),
                        Err(e) => CloseReason::Broken(Broken::Io(e)),
                    }
                }
                Err(broken) => CloseReason::Broken(broken),
            };
            // To the millisecond, in the one format durations are printed in.
            let lasted = echoctl_core::duration::format(Duration::from_millis(
                u64::try_from(opened.elapsed().as_millis()).unwrap_or(u64::MAX),
            ));
            let mut summary = self.session.summary(&self.stats);
            if let Some((dropped, changed)) = self
                .faults()
                .map(Shaper::dropped_and_corrupted)
                .filter(|&counts| counts != (0, 0))
            {
                summary.push_str(&format!(
                    " ({dropped} left out and {changed} changed by faults)"
                ));
            }
            if let Some(observer) = self.observer() {
                observer.closed(Instant::now(), &reason.to_string());
            }
            match &reason {
                CloseReason::Broken(Broken::Io(e)) if log_line::client_went_away(e) => {
                    tracing::info!(
                        "{}: client went away ({}) after {lasted}: {summary}",
                        self.peer,
                        log_line::went_away_how(e),
                    )
                }
                _ => tracing::info!(
                    "{}: connection closed after {lasted}, {summary}: {reason}",
                    self.peer,
                ),
            }
            (reason, self.stats)
        }
    }

    /// Runs the session until it ends (its last bytes written) or the connection breaks.
    async fn serve(&mut self) -> Result<End, Broken> {
        let mut readable = false;
        loop {
            // The plain echo's bytes go through the kernel where they can (`splice`); when
            // they wait for the socket, they wait in a pipe, on a boxed future as below.
            #[cfg(target_os = "linux")]
            let spliced = match self.splice_turn(readable).map_err(Broken::Io)? {
                splice::Turn::Copy => false,
                splice::Turn::Done => true,
                splice::Turn::Owed(pipe) => {
                    Box::pin(self.splice_back(pipe)).await?;
                    true
                }
            };
            #[cfg(not(target_os = "linux"))]
            let spliced = false;
            // In a block of its own: what is unsent is not kept while the loop waits below.
            if !spliced {
                let unsent = self.step(readable).map_err(Broken::Io)?;
                if let Some(unsent) = unsent {
                    // Boxed: only a client slow to read waits here, and the write's futures
                    // would otherwise make every connection's task larger for its whole life.
                    Box::pin(self.write_with_progress_timeout(&unsent.bytes)).await?;
                    if self.session.end() != Some(End::Aborted) {
                        self.written_late(unsent.sent_back);
                    }
                }
            }
            if let Some(fired) = self.faults().and_then(Shaper::fired) {
                return Err(Broken::Fault(fired));
            }
            // Pieces still due after a turn's share: the worker's other connections go first.
            if let Some(due) = self.faults().and_then(Shaper::next_wake)
                && due <= Instant::now()
            {
                tokio::task::yield_now().await;
            }
            // What faults still hold goes out before the end, unless the grace period is over.
            if let Some(end) = self.session.end()
                && (end == End::Aborted || self.faults().is_none_or(Shaper::is_idle))
            {
                return Ok(end);
            }
            let reading =
                self.session.read_allowance() > 0 && self.faults().is_none_or(Shaper::takes_more);
            // One timer and one shutdown token: every future here lives as long as the
            // connection waits, and every idle connection pays for each of its bytes.
            let wake_at = match self.faults().and_then(Shaper::next_wake) {
                None => self.session.next_wake(),
                Some(held) => Some(self.session.next_wake().map_or(held, |w| w.min(held))),
            };
            if let Some(wake_at) = wake_at {
                self.wake.reset(wake_at);
            }
            let stop = match self.session.next_stop() {
                // Abort can only follow drain: waiting on drain is enough until it has come.
                Stop::Drain => &self.shutdown.drain,
                Stop::Abort => &self.shutdown.abort,
            };
            readable = tokio::select! {
                biased;
                _ = stop.cancelled() => {
                    if self.shutdown.abort.is_cancelled() {
                        self.session.abort();
                    } else {
                        self.session.drain();
                    }
                    false
                }
                _ = &mut self.wake, if wake_at.is_some() => false,
                ready = poll_fn(|cx| self.stream.poll_read_ready(cx)), if reading => {
                    ready.map_err(Broken::Io)?;
                    true
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an idle connection costs is mostly its task, and tokio allocates tasks in steps of
    /// 128 bytes. The budget is the future's share of a 640-byte task, beside what tokio (header,
    /// scheduler, id, trailer) and the task tracker keep around it; one byte more makes the task
    /// 768, and every step is paid once per connection (docs/performance.md shows what a step
    /// costs). A field or a future added to the connection that crosses the step fails here,
    /// not in a benchmark run much later.
    #[tokio::test]
    async fn a_connection_task_stays_within_its_allocation_step() {
        const BUDGET: usize = 528;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let timer = Timer::start();
        assert!(timer.is_fine(), "measured with the timer `serve` runs on");
        let task = Connection::new(
            stream,
            addr,
            ServerConfig::default(),
            &timer,
            Shutdown::default(),
        )
        .with_stats(Arc::default())
        .run();
        let plain = Connection::plain(
            tokio::net::TcpStream::connect(addr).await.unwrap(),
            addr,
            ServerConfig::default(),
            &timer,
            Shutdown::default(),
        )
        .with_stats(Arc::default())
        .run();
        // Over TLS, the same: the session and the socket under it are one pointer to the heap.
        let tls = crate::tls::ServerTls::new(&Default::default(), &"localhost:0".parse().unwrap())
            .unwrap();
        let over_tls = |stream| tls.session_over(stream).unwrap();
        let tls_task = Connection::new(
            over_tls(tokio::net::TcpStream::connect(addr).await.unwrap()),
            addr,
            ServerConfig::default(),
            &timer,
            Shutdown::default(),
        )
        .with_stats(Arc::default())
        .run();
        let tls_plain = Connection::plain(
            over_tls(tokio::net::TcpStream::connect(addr).await.unwrap()),
            addr,
            ServerConfig::default(),
            &timer,
            Shutdown::default(),
        )
        .with_stats(Arc::default())
        .run();
        for (mode, size) in [
            ("reverb", std::mem::size_of_val(&task)),
            ("plain", std::mem::size_of_val(&plain)),
            ("TLS reverb", std::mem::size_of_val(&tls_task)),
            ("TLS plain", std::mem::size_of_val(&tls_plain)),
        ] {
            assert!(
                size <= BUDGET,
                "a {mode} connection's task future is {size} bytes, over the {BUDGET} that keep \
                 its task in a 640-byte allocation: box what is rarely used, or share what every \
                 connection holds alike"
            );
        }
    }
}
