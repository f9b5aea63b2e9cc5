//! One connection: the I/O loop over its [`Session`].
//!
//! Each accepted connection gets one task running [`Connection::run`]. The task owns the socket
//! outright (no split halves, no locks) and waits on whichever comes first: the socket becoming
//! readable (while the session reads), the session's next wake-up, or the shutdown stage the
//! session would heed. Because only this task writes, echo lines reach the wire whole and in
//! order, however many shouts are echoing at once. What to read, what is due and when the
//! connection is over are the session's decisions; [`close`] says how it hangs up.
//!
//! Reading waits for readiness and only then borrows this thread's scratch chunk, and the lines
//! due at one wake-up are gathered in this thread's write buffer and written in one go, so an
//! idle connection holds no buffer at all.
//!
//! The plain echo (`--mode plain`) is the same connection over a [`PlainSession`]: the same
//! opening, limits, shutdown, close and log, with its own loop between ([`Kind`] says which):
//! each chunk read is written straight back from the scratch chunk, and only what the socket
//! does not take at once is kept, on a boxed future, while nothing more is read.

use std::future::{Future, poll_fn};
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::close;
use super::peer::Peer;
use super::place::Place;
use super::shutdown::Shutdown;
use crate::escape::escape;
use crate::server::{ServerConfig, ServerStats};
use crate::session::plain::PlainSession;
use crate::session::{End, Session, Settings, Stop};
use crate::timer;
use crate::transport::{self, Transport};

/// Most bytes read in one go. Larger reads save syscalls under load but are held only briefly.
const READ_CHUNK: usize = 16 * 1024;

/// Why a connection ended, for the log line.
#[derive(Debug)]
pub enum CloseReason {
    /// Its session ended, and it was closed as [`close::finish`] says.
    Ended(End),
    /// The connection failed under its session.
    Broken(Broken),
}

/// How a connection fails under its session: it is dropped as it is, without a goodbye.
#[derive(Debug)]
pub enum Broken {
    /// The client stopped reading: no write progress for `--write-timeout`.
    WriteStalled(Duration),
    /// The socket failed (reset by the peer, most often).
    Io(io::Error),
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::Ended(End::ClientDone) => f.write_str("client finished"),
            CloseReason::Ended(End::ServerShutdown) => f.write_str("server shutting down"),
            CloseReason::Ended(End::Aborted) => f.write_str("grace period over, echoes dropped"),
            CloseReason::Ended(End::LineTooLong(e)) => write!(f, "{e} (--max-line)"),
            CloseReason::Ended(End::Idle(d)) => write!(
                f,
                "idle for {} (--idle-timeout)",
                crate::duration::format(*d)
            ),
            CloseReason::Broken(Broken::WriteStalled(d)) => write!(
                f,
                "client not reading for {} (--write-timeout)",
                crate::duration::format(*d)
            ),
            CloseReason::Broken(Broken::Io(e)) if client_went_away(e) => {
                write!(f, "client went away ({})", went_away_how(e))
            }
            CloseReason::Broken(Broken::Io(e)) => write!(f, "{e}"),
        }
    }
}

/// Whether a failed write or read means only that the client left (Ctrl-C, a closed terminal):
/// the peer reset the connection or closed it while echoes were on their way.
fn client_went_away(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

fn went_away_how(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::BrokenPipe => "it closed the connection",
        _ => "it reset the connection",
    }
}

/// `1 shout`, `3 shouts`.
fn counted(n: u64, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// Counts for the closing log line.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConnectionStats {
    pub shouts: u64,
    pub echo_lines: u64,
}

/// One client's connection over a session of kind `K`: the reverb's [`Session`] (the default)
/// or the plain echo's [`PlainSession`].
pub struct Connection<S, K = Session> {
    stream: S,
    peer: Peer,
    /// Shared by every connection: one copy per server, not per client.
    config: Arc<ServerConfig>,
    shutdown: Shutdown,
    session: K,
    /// The one sleep for the session's next wake-up, re-armed only when that changes.
    wake: timer::Sleep,
    stats: ConnectionStats,
    /// Last, so that it is dropped last: the socket is closed before the connection stops
    /// counting as open and gives its `--max-connections` slot back.
    place: Place,
}

/// The server's settings that shape each client's session.
impl From<&ServerConfig> for Settings {
    fn from(config: &ServerConfig) -> Settings {
        Settings {
            delay: config.delay,
            max_line: config.max_line,
            shouts_in_flight: config.shouts_in_flight(),
            idle_timeout: config.idle_timeout,
        }
    }
}

/// What a connection's session is, and the loop that serves it: the rest of the connection
/// (opening, close, log, its place in the server) is the same for every kind.
pub trait Kind: Send + Sized {
    /// Runs the session until it ends (its last bytes written) or the connection breaks.
    fn serve<S: Transport>(
        connection: &mut Connection<S, Self>,
    ) -> impl Future<Output = Result<End, Broken>> + Send;
    /// Ends the session now, whatever it owes (the grace period is over).
    fn abort(&mut self);
    /// What the connection did, for its closing log line.
    fn summary(&self, stats: &ConnectionStats) -> String;
}

impl Kind for Session {
    fn serve<S: Transport>(
        connection: &mut Connection<S, Self>,
    ) -> impl Future<Output = Result<End, Broken>> + Send {
        connection.serve()
    }
    fn abort(&mut self) {
        Session::abort(self)
    }
    fn summary(&self, stats: &ConnectionStats) -> String {
        format!(
            "{}, {} sent",
            counted(stats.shouts, "shout"),
            counted(stats.echo_lines, "echo line")
        )
    }
}

impl Kind for PlainSession {
    fn serve<S: Transport>(
        connection: &mut Connection<S, Self>,
    ) -> impl Future<Output = Result<End, Broken>> + Send {
        connection.serve_plain()
    }
    fn abort(&mut self) {
        PlainSession::abort(self)
    }
    fn summary(&self, _: &ConnectionStats) -> String {
        format!("{} bytes echoed", self.echoed())
    }
}

impl<S: Transport> Connection<S, Session> {
    /// A reverb connection, in the mode `config` names.
    pub fn new(
        stream: S,
        peer: impl Into<Peer>,
        config: impl Into<Arc<ServerConfig>>,
        shutdown: Shutdown,
    ) -> Self {
        let config = config.into();
        Connection::with_session(
            stream,
            peer.into(),
            Session::new(Settings::from(&*config)),
            config,
            shutdown,
        )
    }
}

impl<S: Transport> Connection<S, PlainSession> {
    /// A plain echo connection (`--mode plain`).
    pub fn plain(
        stream: S,
        peer: impl Into<Peer>,
        config: impl Into<Arc<ServerConfig>>,
        shutdown: Shutdown,
    ) -> Self {
        let config = config.into();
        Connection::with_session(
            stream,
            peer.into(),
            PlainSession::new(config.idle_timeout),
            config,
            shutdown,
        )
    }

    /// The plain echo's loop: read a chunk when nothing is owed, write it straight back, and
    /// wait (on a boxed future, reading nothing) only for what the socket did not take.
    async fn serve_plain(&mut self) -> Result<End, Broken> {
        loop {
            self.session.advance(Instant::now());
            if let Some(end) = self.session.end() {
                return Ok(end);
            }
            let reading = self.session.read_allowance() > 0;
            let wake_at = self.session.next_wake();
            if let Some(wake_at) = wake_at {
                self.wake.reset(wake_at);
            }
            let stop = match self.session.next_stop() {
                Stop::Drain => &self.shutdown.drain,
                Stop::Abort => &self.shutdown.abort,
            };
            let unsent = tokio::select! {
                biased;
                _ = stop.cancelled() => {
                    if self.shutdown.abort.is_cancelled() {
                        self.session.abort();
                    } else {
                        self.session.drain();
                    }
                    continue;
                }
                _ = &mut self.wake, if wake_at.is_some() => continue,
                ready = poll_fn(|cx| self.stream.poll_read_ready(cx)), if reading => {
                    ready.map_err(Broken::Io)?;
                    self.copy_some().map_err(Broken::Io)?
                }
            };
            if !unsent.is_empty() {
                Box::pin(self.write_with_progress_timeout(&unsent)).await?;
                if self.session.end() != Some(End::Aborted) {
                    self.session.sent(unsent.len());
                    if let Some(server_stats) = self.place.server_stats() {
                        server_stats
                            .bytes_echoed
                            .fetch_add(unsent.len() as u64, Relaxed);
                    }
                }
            }
        }
    }

    /// Reads what the socket has (one chunk at most) and writes it back at once from the
    /// thread's scratch chunk; returns what the socket did not take, which is still owed.
    fn copy_some(&mut self) -> io::Result<Vec<u8>> {
        let allowance = self.session.read_allowance();
        let Connection {
            stream,
            session,
            place,
            ..
        } = self;
        let server_stats = place.server_stats();
        transport::with_read_scratch(|scratch| {
            let chunk = &mut scratch[..allowance.min(transport::SCRATCH_CHUNK)];
            let n = match stream.try_read(chunk) {
                Ok(0) => {
                    session.end_of_input();
                    return Ok(Vec::new());
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            session.receive(Instant::now(), n);
            if let Some(server_stats) = server_stats {
                server_stats
                    .peak_unsent_bytes
                    .fetch_max(session.owed(), Relaxed);
            }
            let sent = transport::write_now(&*stream, &chunk[..n])?;
            session.sent(sent);
            if let Some(server_stats) = server_stats {
                server_stats.bytes_echoed.fetch_add(sent as u64, Relaxed);
            }
            Ok(chunk[sent..n].to_vec())
        })
    }
}

impl<S: Transport, K: Kind> Connection<S, K> {
    fn with_session(
        stream: S,
        peer: Peer,
        session: K,
        config: Arc<ServerConfig>,
        shutdown: Shutdown,
    ) -> Self {
        Connection {
            stream,
            peer,
            session,
            wake: timer::sleep_until(Instant::now()),
            config,
            shutdown,
            stats: ConnectionStats::default(),
            place: Place::default(),
        }
    }

    /// Counts this connection in the server-wide `stats` too, as open until it is dropped.
    pub fn with_stats(mut self, stats: Arc<ServerStats>) -> Self {
        self.place.count_in(stats);
        self
    }

    /// Holds `slot` (the connection's place under `--max-connections`) until it is dropped.
    pub fn holding(mut self, slot: OwnedSemaphorePermit) -> Self {
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
            tracing::info!("{}: connection opened", self.peer);
            let reason = match K::serve(&mut self).await {
                // Boxed: the goodbye runs once, and its futures would otherwise make every
                // connection's task larger for its whole life.
                Ok(end) => {
                    match Box::pin(close::finish(&mut self.stream, end, &self.shutdown.abort)).await
                    {
                        Ok(()) => CloseReason::Ended(end),
                        Err(e) => CloseReason::Broken(Broken::Io(e)),
                    }
                }
                Err(broken) => CloseReason::Broken(broken),
            };
            // To the millisecond, in the one format durations are printed in.
            let lasted = crate::duration::format(Duration::from_millis(
                u64::try_from(opened.elapsed().as_millis()).unwrap_or(u64::MAX),
            ));
            let summary = self.session.summary(&self.stats);
            match &reason {
                CloseReason::Broken(Broken::Io(e)) if client_went_away(e) => tracing::info!(
                    "{}: client went away ({}) after {lasted}: {summary}",
                    self.peer,
                    went_away_how(e),
                ),
                _ => tracing::info!(
                    "{}: connection closed after {lasted}, {summary}: {reason}",
                    self.peer,
                ),
            }
            (reason, self.stats)
        }
    }

    /// Writes all of `bytes`, giving up if the client accepts nothing for `--write-timeout`;
    /// aborts the session if the grace period ends meanwhile.
    async fn write_with_progress_timeout(&mut self, mut bytes: &[u8]) -> Result<(), Broken> {
        let stall = self.config.write_timeout;
        while !bytes.is_empty() {
            // tokio's timer: precision does not matter here, and it forgets a dropped sleep.
            let stalled = async move {
                match stall {
                    Some(stall) => {
                        tokio::time::sleep(stall).await;
                        stall
                    }
                    None => std::future::pending().await,
                }
            };
            let written = tokio::select! {
                biased;
                _ = self.shutdown.abort.cancelled() => {
                    self.session.abort();
                    return Ok(());
                }
                written = self.stream.write(bytes) => written,
                stall = stalled => return Err(Broken::WriteStalled(stall)),
            };
            match written {
                Err(e) => return Err(Broken::Io(e)),
                Ok(0) => return Err(Broken::Io(io::ErrorKind::WriteZero.into())),
                Ok(n) => bytes = &bytes[n..],
            }
        }
        Ok(())
    }
}

impl<S: Transport> Connection<S, Session> {
    /// Runs the session until it ends (its last line written) or the connection breaks.
    async fn serve(&mut self) -> Result<End, Broken> {
        loop {
            self.advance().await?;
            if let Some(end) = self.session.end() {
                return Ok(end);
            }
            let reading = self.session.read_allowance() > 0;
            // One timer and one shutdown token: every future here lives as long as the
            // connection waits, and every idle connection pays for each of its bytes.
            let wake_at = self.session.next_wake();
            if let Some(wake_at) = wake_at {
                self.wake.reset(wake_at);
            }
            let stop = match self.session.next_stop() {
                // Abort can only follow drain: waiting on drain is enough until it has come.
                Stop::Drain => &self.shutdown.drain,
                Stop::Abort => &self.shutdown.abort,
            };
            tokio::select! {
                biased;
                _ = stop.cancelled() => {
                    if self.shutdown.abort.is_cancelled() {
                        self.session.abort();
                    } else {
                        self.session.drain();
                    }
                }
                _ = &mut self.wake, if wake_at.is_some() => {}
                ready = poll_fn(|cx| self.stream.poll_read_ready(cx)), if reading => {
                    ready.map_err(Broken::Io)?;
                    self.read_some().map_err(Broken::Io)?;
                }
            }
        }
    }

    /// Reads what the socket has (up to what the session takes) into the session.
    fn read_some(&mut self) -> io::Result<()> {
        let allowance = self.session.read_allowance().min(READ_CHUNK);
        // An empty read would look like the end of input; the caller reads only when allowed.
        debug_assert!(allowance > 0, "read only when the session takes bytes");
        let session = &mut self.session;
        let stream = &self.stream;
        transport::with_read_scratch(|scratch| {
            let chunk = &mut scratch[..allowance.min(transport::SCRATCH_CHUNK)];
            match stream.try_read(chunk) {
                Ok(0) => session.end_of_input(),
                Ok(n) => session.receive(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            Ok(())
        })
    }

    /// Brings the session to now and writes what is due, in one write, waiting only for what
    /// the socket could not take at once.
    async fn advance(&mut self) -> Result<(), Broken> {
        let unsent = self.advance_to(Instant::now()).map_err(Broken::Io)?;
        if !unsent.is_empty() {
            Box::pin(self.write_with_progress_timeout(&unsent)).await?;
            self.session.written_at(Instant::now());
        }
        Ok(())
    }

    /// Brings the session to `now` and writes what is due without waiting; returns what the
    /// socket did not take.
    ///
    /// The lines are gathered in the thread's scratch buffer; only what the socket cannot take
    /// right now (a client slow to read) is copied out, to be waited for on a boxed future, so
    /// the common case neither allocates nor enlarges the task.
    fn advance_to(&mut self, now: Instant) -> io::Result<Vec<u8>> {
        let Connection {
            stream,
            peer,
            session,
            stats,
            place,
            ..
        } = self;
        let server_stats = place.server_stats();
        let (lines, unsent) = transport::with_write_scratch(|out| {
            let lines = session.advance(now, out, |shout, queued_bytes| {
                stats.shouts += 1;
                tracing::debug!("{peer}: shout \"{}\"", escape(shout));
                if let Some(server_stats) = server_stats {
                    server_stats.shout_taken(queued_bytes);
                }
            });
            let unsent = if out.is_empty() {
                Ok(Vec::new())
            } else {
                transport::write_now(&*stream, out).map(|sent| out[sent..].to_vec())
            };
            (lines, unsent)
        });
        // Lines the socket refused (the client has gone) are not counted as sent.
        if lines > 0 && unsent.is_ok() {
            stats.echo_lines += lines as u64;
            if let Some(server_stats) = server_stats {
                server_stats.echo_lines.fetch_add(lines as u64, Relaxed);
            }
        }
        unsent
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(super::counted(1, "echo line"), "1 echo line");
        assert_eq!(super::counted(0, "shout"), "0 shouts");
        assert_eq!(super::counted(9, "echo line"), "9 echo lines");
    }

    use super::*;

    /// What an idle connection costs is mostly its task, and tokio allocates tasks in steps of
    /// 128 bytes. With tokio's 104 bytes around the future (header, scheduler, id, trailer) and the
    /// task tracker's 8, a connection future of up to 528 bytes makes a 640-byte task; one byte
    /// more makes it 768, and every step is paid once per connection (the README's performance
    /// notes show what a step costs at 10,000 idle connections). A field or a future added to
    /// the connection that crosses the step fails here, not in a benchmark run much later.
    #[tokio::test]
    async fn a_connection_task_stays_within_its_allocation_step() {
        const BUDGET: usize = 528;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let task = Connection::new(stream, addr, ServerConfig::default(), Shutdown::default())
            .with_stats(Arc::default())
            .run();
        let plain = Connection::plain(
            tokio::net::TcpStream::connect(addr).await.unwrap(),
            addr,
            ServerConfig::default(),
            Shutdown::default(),
        )
        .with_stats(Arc::default())
        .run();
        for (mode, size) in [
            ("reverb", std::mem::size_of_val(&task)),
            ("plain", std::mem::size_of_val(&plain)),
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
