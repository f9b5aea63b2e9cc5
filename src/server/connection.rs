//! One connection: read shouts, write their echoes on time, close cleanly.
//!
//! Each accepted connection gets one task running [`Connection::run`]. The task owns the socket
//! outright (no split halves, no locks) and waits on whichever comes first: the socket becoming
//! readable, the next echo falling due, or a shutdown. Because only this task writes, echo lines
//! reach the wire whole and in order, however many shouts are echoing at once.
//!
//! Both modes run this same loop. The only difference is how many shouts may be in flight: one
//! for `sequential` (the next line is not read until the last echo of the previous one is
//! written, as in the book's reverb1) and `--max-pending` for `concurrent`. When the limit is
//! reached the task stops reading, so TCP's flow control pushes back on the sender instead of the
//! server buffering without bound.
//!
//! Reading waits for readiness and only then borrows a buffer ([`LineSplitter`] gives it back
//! when it empties), so an idle connection holds no read buffer at all.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::lines::{LineSplitter, LineTooLong};
use crate::schedule::EchoQueue;
use crate::server::{ServerConfig, ServerStats};
use crate::timer;
use crate::transport::{self, Transport};

/// Most bytes read in one go. Larger reads save syscalls under load but are held only briefly.
const READ_CHUNK: usize = 16 * 1024;

/// A connection's queued shouts may hold at most this many bytes (or one line, if larger) before
/// the server stops reading from it, whatever `--max-pending` allows.
const MAX_QUEUED_BYTES: usize = 1024 * 1024;

/// After a protocol error the server stops writing, then reads and discards the client's input
/// for up to this long before closing, so the error line is not destroyed by a TCP reset (closing
/// a socket with unread input makes the kernel send RST, which can discard data in flight).
const LINGER_ON_ERROR: Duration = Duration::from_millis(500);

/// Why a connection ended, for the log line.
#[derive(Debug)]
pub enum CloseReason {
    /// The client finished its input and every echo was delivered.
    ClientDone,
    /// The server is shutting down; echoes in flight were delivered.
    ServerShutdown,
    /// The grace period ran out with echoes still owed.
    Aborted,
    /// The client sent a line over `--max-line`.
    LineTooLong(LineTooLong),
    /// No complete line for `--idle-timeout`.
    Idle(Duration),
    /// The client stopped reading: no write progress for `--write-timeout`.
    WriteStalled(Duration),
    /// The socket failed (reset by the peer, most often).
    Io(io::Error),
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::ClientDone => f.write_str("client finished"),
            CloseReason::ServerShutdown => f.write_str("server shutting down"),
            CloseReason::Aborted => f.write_str("grace period over, echoes dropped"),
            CloseReason::LineTooLong(e) => write!(f, "{e} (--max-line)"),
            CloseReason::Idle(d) => write!(
                f,
                "idle for {} (--idle-timeout)",
                humantime::format_duration(*d)
            ),
            CloseReason::WriteStalled(d) => write!(
                f,
                "client not reading for {} (--write-timeout)",
                humantime::format_duration(*d)
            ),
            CloseReason::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Counts for the closing log line.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConnectionStats {
    pub shouts: u64,
    pub echo_lines: u64,
}

/// How the server tells its connections to stop.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    /// Stop reading new shouts; deliver the echoes already owed, then close.
    pub drain: CancellationToken,
    /// Stop now: the grace period is over.
    pub abort: CancellationToken,
}

pub struct Connection<S> {
    stream: S,
    peer: SocketAddr,
    /// Shared by every connection: one copy per server, not per client.
    config: Arc<ServerConfig>,
    shutdown: Shutdown,
    lines: LineSplitter,
    echoes: EchoQueue,
    /// The one sleep for the next echo or the idle deadline, re-armed only when that changes.
    wake: timer::Sleep,
    stats: ConnectionStats,
    /// Last, so that it is dropped last: the socket is closed before the connection stops
    /// counting as open and gives its `--max-connections` slot back.
    place: Place,
}

/// The connection's place in a server: the server-wide counters it reports to (and is counted
/// open in), and its slot under `--max-connections`. Both are given back when the connection is
/// dropped, however it ends. A connection run on its own (in tests) has neither.
#[derive(Default)]
struct Place {
    server_stats: Option<Arc<ServerStats>>,
    slot: Option<OwnedSemaphorePermit>,
}

impl Place {
    fn server_stats(&self) -> Option<&ServerStats> {
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

/// What the read side of the loop has reached.
enum Input {
    Open,
    /// The client closed its write half (or must be treated so): read nothing more.
    Ended,
}

impl<S: Transport> Connection<S> {
    pub fn new(
        stream: S,
        peer: SocketAddr,
        config: impl Into<Arc<ServerConfig>>,
        shutdown: Shutdown,
    ) -> Self {
        let config = config.into();
        Connection {
            stream,
            peer,
            lines: LineSplitter::new(config.max_line),
            echoes: EchoQueue::new(config.delay),
            wake: timer::sleep_until(Instant::now()),
            config,
            shutdown,
            stats: ConnectionStats::default(),
            place: Place::default(),
        }
    }

    /// Counts this connection in the server-wide `stats` too, as open until it is dropped.
    pub fn with_stats(mut self, stats: Arc<ServerStats>) -> Self {
        debug_assert!(
            self.place.server_stats.is_none(),
            "a connection is counted in one server only"
        );
        stats.connections_open.fetch_add(1, Relaxed);
        self.place.server_stats = Some(stats);
        self
    }

    /// Holds `slot` (the connection's place under `--max-connections`) until it is dropped.
    pub fn holding(mut self, slot: OwnedSemaphorePermit) -> Self {
        self.place.slot = Some(slot);
        self
    }

    /// Serves the connection to its end, logs its opening and closing, and says why it ended.
    ///
    /// The server spawns this future as the connection's task, with nothing around it: every
    /// byte of it is paid once per connection for as long as the connection lives.
    pub async fn run(mut self) -> (CloseReason, ConnectionStats) {
        let opened = Instant::now();
        tracing::info!("{}: connection opened", self.peer);
        let reason = self.serve().await;
        let reason = match reason {
            // Boxed: the farewell runs once, and its futures would otherwise make every
            // connection's task larger for its whole life.
            Ok(reason) => Box::pin(self.finish(reason)).await,
            Err(reason) => reason,
        };
        tracing::info!(
            "{}: connection closed after {:.1?}, {} shouts, {} echo lines: {reason}",
            self.peer,
            opened.elapsed(),
            self.stats.shouts,
            self.stats.echo_lines,
        );
        (reason, self.stats)
    }

    /// The main loop. `Ok(reason)` means the connection ended in an orderly way and the farewell
    /// in [`Connection::finish`] applies; `Err(reason)` means it is beyond saving.
    async fn serve(&mut self) -> Result<CloseReason, CloseReason> {
        let mut input = Input::Open;
        let mut ending: Option<CloseReason> = None;
        // Idle time counts only while the server is waiting for a line: a sequential connection
        // busy echoing is not idle, and a partial line is not activity.
        let mut idle_deadline: Option<Instant> = None;
        loop {
            // Take every line there is room for and write every echo due, until neither makes
            // progress: writing a shout's last echo makes room for the next buffered line.
            loop {
                let mut took = false;
                while ending.is_none() && self.has_room() {
                    let next = match input {
                        Input::Open => self.lines.next_line(),
                        Input::Ended => self.lines.finish(),
                    };
                    match next {
                        Some(Ok(shout)) => {
                            self.take_shout(shout);
                            idle_deadline = None;
                            took = true;
                        }
                        Some(Err(too_long)) => ending = Some(CloseReason::LineTooLong(too_long)),
                        None => break,
                    }
                }
                let wrote = self.write_due().await?;
                if !took && !wrote {
                    break;
                }
            }

            if self.echoes.is_empty() {
                if let Some(reason) = ending.take() {
                    return Ok(reason);
                }
                if matches!(input, Input::Ended) && self.lines.buffered() == 0 {
                    return Ok(CloseReason::ClientDone);
                }
            }

            let reading = ending.is_none()
                && matches!(input, Input::Open)
                && self.has_room()
                && self.lines.read_allowance() > 0;
            if !reading {
                idle_deadline = None;
            } else if idle_deadline.is_none() {
                idle_deadline = self.config.idle_timeout.map(|idle| Instant::now() + idle);
            }
            // One timer for the next echo and the idle deadline, and one shutdown token (abort
            // can only follow drain): every future here lives as long as the connection waits,
            // so each byte is paid 10,000 times at 10,000 idle connections.
            let wake_at = self
                .echoes
                .next_due()
                .into_iter()
                .chain(idle_deadline)
                .min();
            let shutdown_stage = if ending.is_none() {
                &self.shutdown.drain
            } else {
                &self.shutdown.abort
            };
            if let Some(wake_at) = wake_at {
                self.wake.reset(wake_at);
            }
            tokio::select! {
                biased;
                _ = shutdown_stage.cancelled() => {
                    if self.shutdown.abort.is_cancelled() {
                        return Err(CloseReason::Aborted);
                    }
                    ending = Some(CloseReason::ServerShutdown);
                }
                _ = &mut self.wake, if wake_at.is_some() => {
                    if idle_deadline.is_some_and(|idle| idle <= Instant::now()) {
                        ending = self.config.idle_timeout.map(CloseReason::Idle);
                    }
                }
                ready = poll_fn(|cx| self.stream.poll_read_ready(cx)), if reading => {
                    ready.map_err(CloseReason::Io)?;
                    match self.read_some() {
                        Ok(0) => input = Input::Ended,
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(CloseReason::Io(e)),
                    }
                }
            }
        }
    }

    fn take_shout(&mut self, shout: Vec<u8>) {
        self.stats.shouts += 1;
        tracing::debug!("{}: shout {:?}", self.peer, String::from_utf8_lossy(&shout));
        self.echoes.push(shout, Instant::now());
        if let Some(stats) = self.place.server_stats() {
            stats.shout_taken(self.echoes.queued_bytes());
        }
    }

    /// Whether another shout may start echoing now.
    fn has_room(&self) -> bool {
        let limit = self.config.shouts_in_flight();
        self.echoes.in_flight() < limit
            && (self.echoes.in_flight() == 0
                || self.echoes.queued_bytes() < MAX_QUEUED_BYTES.max(self.config.max_line))
    }

    fn read_some(&mut self) -> io::Result<usize> {
        let allowance = self.lines.read_allowance().min(READ_CHUNK);
        self.stream
            .try_read_into(self.lines.buffer_mut(), allowance)
    }

    /// Writes every echo line that is due, in one write when several are due together. Says
    /// whether anything was due.
    ///
    /// The lines are gathered in the thread's scratch buffer and written without waiting; only
    /// what the socket cannot take right now (a client slow to read) is copied out and waited
    /// for, on a boxed future, so the common case neither allocates nor enlarges the task.
    async fn write_due(&mut self) -> Result<bool, CloseReason> {
        let now = Instant::now();
        if self.echoes.next_due().is_none_or(|due| due > now) {
            return Ok(false);
        }
        let echoes = &mut self.echoes;
        let stream = &self.stream;
        let (lines, unsent) = transport::with_write_scratch(|out| {
            let lines = echoes.pop_due(now, out);
            let unsent = transport::write_now(stream, out).map(|sent| out[sent..].to_vec());
            (lines, unsent)
        });
        self.stats.echo_lines += lines as u64;
        if let Some(stats) = self.place.server_stats() {
            stats.echo_lines.fetch_add(lines as u64, Relaxed);
        }
        let unsent = unsent.map_err(CloseReason::Io)?;
        if !unsent.is_empty() {
            Box::pin(self.write_with_progress_timeout(&unsent)).await?;
        }
        Ok(true)
    }

    /// Writes all of `bytes`, giving up if the client accepts nothing for `--write-timeout`.
    async fn write_with_progress_timeout(&mut self, mut bytes: &[u8]) -> Result<(), CloseReason> {
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
                _ = self.shutdown.abort.cancelled() => return Err(CloseReason::Aborted),
                written = self.stream.write(bytes) => written,
                stall = stalled => return Err(CloseReason::WriteStalled(stall)),
            };
            match written {
                Err(e) => return Err(CloseReason::Io(e)),
                Ok(0) => return Err(CloseReason::Io(io::ErrorKind::WriteZero.into())),
                Ok(n) => bytes = &bytes[n..],
            }
        }
        Ok(())
    }

    /// Says goodbye: a last line for the client when there is something to explain, then a
    /// half-close so the client sees end of stream after every echo.
    async fn finish(&mut self, reason: CloseReason) -> CloseReason {
        let farewell = match &reason {
            CloseReason::LineTooLong(e) => Some(format!(
                "echoctl: {e}; closing the connection (the server's --max-line is {} bytes)\n",
                e.max_line
            )),
            CloseReason::Idle(d) => Some(format!(
                "echoctl: no complete line for {}; closing the connection\n",
                humantime::format_duration(*d)
            )),
            _ => None,
        };
        if let Some(farewell) = &farewell
            && let Err(e) = self.write_with_progress_timeout(farewell.as_bytes()).await
        {
            return e;
        }
        if let Err(e) = self.stream.shutdown().await {
            return CloseReason::Io(e);
        }
        // Closing with unread input makes the kernel reset the connection and discard what is
        // still queued to the client: linger whenever the client may still be sending.
        if farewell.is_some() || matches!(reason, CloseReason::ServerShutdown) {
            linger_before_close(&self.stream, &self.shutdown.abort).await;
        }
        reason
    }
}

/// Reads and drops input until the client closes, `LINGER_ON_ERROR` passes or `abort` fires, so
/// that closing a socket whose client may still be sending does not reset the connection and
/// destroy the last line written to it. Call it after shutting down the write half.
pub async fn linger_before_close<S: Transport>(stream: &S, abort: &CancellationToken) {
    let deadline = Instant::now() + LINGER_ON_ERROR;
    let mut scratch = Vec::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return,
            _ = abort.cancelled() => return,
            ready = poll_fn(|cx| stream.poll_read_ready(cx)) => {
                if ready.is_err() {
                    return;
                }
                scratch.clear();
                match stream.try_read_into(&mut scratch, READ_CHUNK) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an idle connection costs is mostly its task, and tokio allocates tasks in steps of
    /// 128 bytes. With tokio's 104 bytes around the future (header, scheduler, id, trailer) and the
    /// task tracker's 8, a connection future of up to 784 bytes makes an 896-byte task; one byte
    /// more makes it 1,024, and 10,000 idle connections 1.2 MB heavier (measured, medians of 5
    /// runs: 20.4 MB with an 832-byte task future, 19.2 MB with a 728-byte one). A field or a
    /// future added to the connection that crosses the step fails here, not in a benchmark run
    /// much later.
    #[tokio::test]
    async fn a_connection_task_stays_within_its_allocation_step() {
        const BUDGET: usize = 784;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let task = Connection::new(stream, addr, ServerConfig::default(), Shutdown::default())
            .with_stats(Arc::default())
            .run();
        let size = std::mem::size_of_val(&task);
        assert!(
            size <= BUDGET,
            "a connection's task future is {size} bytes, over the {BUDGET} that keep its task \
             in an 896-byte allocation: box what is rarely used, or share what every connection \
             holds alike"
        );
    }
}
