//! The connection's socket side: reading what the socket has into the session, writing what
//! the socket did not take at once, and counting what was written.

use std::io;
use std::sync::atomic::Ordering::Relaxed;

use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use echoctl_core::session::ServerSession;

use crate::server::ServerStats;
use crate::server::log_line::{Broken, ConnectionStats};
use crate::server::observer::Observer;
use crate::transport::{self, Transport};

use super::{Connection, Kind, READ_CHUNK};

impl<S: Transport, K: Kind> Connection<S, K> {
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
