//! The connection's socket side on the copy path: one turn of the loop (reading what the socket
//! has into the session and writing what the session says), writing what the socket did not
//! take at once, and counting what was written.

use std::io;
use std::sync::atomic::Ordering::Relaxed;

use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use echoctl_core::escape::escape;
use echoctl_core::fault::shaper::Stream as Writes;
use echoctl_core::session::ServerSession;

use crate::server::ServerStats;
use crate::server::faults;
use crate::server::log_line::{Broken, ConnectionStats};
use crate::server::observer::Observer;
use crate::transport::{self, Transport};

use super::{Connection, Extras, Kind, READ_CHUNK};

/// What the socket did not take at once, to be waited for.
pub(super) struct Unsent {
    pub(super) bytes: Vec<u8>,
    /// How many of them the session sent straight back as read (the plain echo's bytes).
    pub(super) sent_back: usize,
}

impl<S: Transport, K: Kind> Connection<S, K> {
    /// One turn of the loop, without waiting: reads what the socket has if it is `readable`,
    /// brings the session to now, and writes what the session has to say; returns what the
    /// socket did not take, if anything (the transport may hold the rest of what it took: a
    /// TLS record cut short, with no bytes of the session's left to write).
    ///
    /// What the session says is gathered in the thread's scratch buffer; only what the socket
    /// cannot take right now (a client slow to read) is copied out, to be waited for on a boxed
    /// future, so the common case neither allocates nor enlarges the task.
    pub(super) fn step(&mut self, readable: bool) -> io::Result<Option<Unsent>> {
        let Connection {
            stream,
            peer,
            session,
            stats,
            place,
            extras,
            ..
        } = self;
        let (faults, mut observer) = extras.as_deref_mut().map_or((None, None), Extras::both);
        let server_stats = place.server_stats();
        let stepped = transport::with_write_scratch(|out| {
            // The clock is read after the read returns: bytes that arrived while this thread was
            // held up between the two are never stamped before they came, nor echoed early.
            let now = if readable {
                read_some(&*stream, &mut *session, out, observer.as_deref_mut())?
            } else {
                Instant::now()
            };
            let sent_back = out.len();
            if sent_back > 0
                && let Some(server_stats) = server_stats
            {
                server_stats.peak_unsent_bytes.fetch_max(sent_back, Relaxed);
            }
            let lines = session.advance(now, out, |shout, queued_bytes| {
                stats.shouts += 1;
                tracing::debug!("{peer}: shout \"{}\"", escape(shout));
                if let Some(observer) = observer.as_deref_mut() {
                    observer.shout(now, shout);
                }
                if let Some(server_stats) = server_stats {
                    server_stats.shout_taken(queued_bytes);
                }
            });
            if let Some(shaper) = faults {
                // The faults take it all: the session is told it is written, and reads on
                // while they hold less than their bound.
                shaper.take(now, out, lines);
                session.written(now);
                let written = faults::write_due(&*stream, shaper, now, observer)?;
                let plain = shaper.stream() == Writes::Bytes;
                let sent_back = if plain { written.unsent.len() } else { 0 };
                let echoed = if plain { written.bytes } else { 0 };
                count_written(stats, server_stats, written.echo_lines, echoed);
                if written.unsent.is_empty() && transport::flushed_now(&*stream)? {
                    return Ok(None);
                }
                return Ok(Some(Unsent {
                    bytes: written.unsent,
                    sent_back,
                }));
            }
            let written = if out.is_empty() {
                0
            } else {
                transport::write_now(&*stream, out)?
            };
            if let Some(observer) = observer {
                observer.wrote(now, &out[..written]);
            }
            // Counted once the socket has taken some: lines it refused (the client has gone)
            // are not sent.
            let sent_back_now = written.min(sent_back);
            count_written(stats, server_stats, lines, sent_back_now);
            if written == out.len() && transport::flushed_now(&*stream)? {
                session.written(now);
                Ok(None)
            } else {
                Ok(Some(Unsent {
                    bytes: out[written..].to_vec(),
                    sent_back: sent_back - sent_back_now,
                }))
            }
        });
        if let Some(observer) = self.observer() {
            observer.flush();
        }
        stepped
    }

    /// The bytes the socket did not take at once are written now, `sent_back` of them sent
    /// back as read.
    pub(super) fn written_late(&mut self, sent_back: usize) {
        self.session.written(Instant::now());
        if sent_back > 0
            && let Some(server_stats) = self.place.server_stats()
        {
            server_stats
                .bytes_echoed
                .fetch_add(sent_back as u64, Relaxed);
        }
    }

    /// Writes all of `bytes`, and what the transport still holds, giving up if the client
    /// accepts nothing for `--write-timeout`; aborts the session if the grace period ends
    /// meanwhile.
    pub(super) async fn write_with_progress_timeout(
        &mut self,
        mut bytes: &[u8],
    ) -> Result<(), Broken> {
        let stall = self.config.write_timeout;
        let mut flushed = false;
        while !bytes.is_empty() || !flushed {
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
            // What is left to write, then what the transport holds: `None` once that is out.
            let progress = async {
                if bytes.is_empty() {
                    self.stream.flush().await.map(|()| None)
                } else {
                    self.stream.write(bytes).await.map(Some)
                }
            };
            let written = tokio::select! {
                biased;
                _ = self.shutdown.abort.cancelled() => {
                    self.session.abort();
                    return Ok(());
                }
                written = progress => written,
                stall = stalled => return Err(Broken::WriteStalled(stall)),
            };
            match written {
                Err(e) => return Err(Broken::Io(e)),
                Ok(None) => flushed = true,
                Ok(Some(0)) => return Err(Broken::Io(io::ErrorKind::WriteZero.into())),
                Ok(Some(n)) => {
                    if let Some(observer) = self.observer() {
                        observer.wrote(Instant::now(), &bytes[..n]);
                        observer.flush();
                    }
                    bytes = &bytes[n..];
                }
            }
        }
        Ok(())
    }
}

/// Counts `lines` echo lines and `sent_back` bytes of the plain echo as written.
pub(super) fn count_written(
    stats: &mut ConnectionStats,
    server_stats: Option<&ServerStats>,
    lines: usize,
    sent_back: usize,
) {
    if let Some(server_stats) = server_stats {
        if lines > 0 {
            server_stats.echo_lines.fetch_add(lines as u64, Relaxed);
        }
        if sent_back > 0 {
            server_stats
                .bytes_echoed
                .fetch_add(sent_back as u64, Relaxed);
        }
    }
    stats.echo_lines += lines as u64;
}

/// Reads what the socket has (up to what the session takes) and hands it to the session, which
/// appends to `out` what goes straight back.
pub(super) fn read_some<S: Transport, K: ServerSession>(
    stream: &S,
    session: &mut K,
    out: &mut Vec<u8>,
    observer: Option<&mut Observer>,
) -> io::Result<Instant> {
    let allowance = session.read_allowance().min(READ_CHUNK);
    // An empty read would look like the end of input; the loop reads only when allowed.
    debug_assert!(allowance > 0, "read only when the session takes bytes");
    transport::with_read_scratch(|scratch| {
        let chunk = &mut scratch[..allowance.min(transport::SCRATCH_CHUNK)];
        let read = stream.try_read(chunk);
        let now = Instant::now();
        if let (Some(observer), Ok(n)) = (observer, &read) {
            match n {
                0 => observer.end_of_input(now),
                n => observer.read(now, &chunk[..*n]),
            }
        }
        match read {
            Ok(0) => session.end_of_input(),
            Ok(n) => session.receive(now, &chunk[..n], out),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        Ok(now)
    })
}
