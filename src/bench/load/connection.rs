//! One TCP connection's task: connect (and the TLS handshake), then the exchange loop that
//! shouts on schedule, reads and checks every echo, and half-closes at the end.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use echoctl_core::Address;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::Shared;

mod driver;

use crate::bench::lateness::Samples;
use crate::bench::ledger::{Heard, Ledger};
use crate::bench::outcome::{ConnectionError, Damage, Outcome};
use crate::net::{self, Stream};
use crate::observe::SessionEvents;
use crate::tls::{ClientTls, HandshakeError};
use driver::Driver;
use echoctl_core::timeline::Recording;
use echoctl_core::trace::Side;

pub(super) async fn connection(
    id: usize,
    shared: Arc<Shared>,
    permit: OwnedSemaphorePermit,
) -> Outcome {
    let connecting = Instant::now();
    let stream = tokio::select! {
        stream = connect(&shared) => stream,
        _ = shared.cut.cancelled() => Err(ConnectionError::CutWhileConnecting),
    };
    let took = connecting.elapsed();
    let (stream, handshake) = match (stream, &shared.tls) {
        (Ok(stream), Some(tls)) => tokio::select! {
            made = handshake(tls, stream, &shared) => made,
            _ = shared.cut.cancelled() => (Err(ConnectionError::CutWhileConnecting), None),
        },
        (stream, _) => (stream, None),
    };
    drop(permit);
    match stream {
        Ok(stream) => {
            shared.progress.connected.fetch_add(1, Ordering::Relaxed);
            // Built in the call, not in a local: a local moved into `run` would keep its own
            // room in the task beside the one `run` has.
            let outcome = Driver::new(id, stream, &shared, took, handshake)
                .run()
                .await;
            shared.progress.finished.fetch_add(1, Ordering::Relaxed);
            outcome
        }
        // Accepted, then reset before the connect was seen to complete: made, and reset.
        Err(error @ ConnectionError::Read { reset: true, .. }) => {
            shared.progress.connected.fetch_add(1, Ordering::Relaxed);
            shared.progress.finished.fetch_add(1, Ordering::Relaxed);
            Outcome {
                made: true,
                dropped: true,
                error: Some(error),
                damage: Some(Damage::Reset),
                ..Outcome::default()
            }
        }
        Err(error) => {
            shared.progress.failed.fetch_add(1, Ordering::Relaxed);
            Outcome {
                error: Some(error),
                ..Outcome::default()
            }
        }
    }
}

/// Makes the TLS handshake on a connected `stream`, within `--connect-timeout`; the stream
/// over TLS and how long the handshake took, or why it failed.
async fn handshake(
    tls: &ClientTls,
    stream: Stream,
    shared: &Shared,
) -> (Result<Stream, ConnectionError>, Option<Duration>) {
    let started = Instant::now();
    match tls.connect(stream, shared.config.connect_timeout).await {
        Ok(stream) => (Ok(Stream::Tls(Box::new(stream))), Some(started.elapsed())),
        // Reset before a byte of the handshake came back (`--fault refuse`): made, and reset,
        // as over TCP.
        Err(HandshakeError::Io(e)) if is_reset(&e) => (Err(read_failed(e)), None),
        Err(e) => (
            Err(ConnectionError::Handshake {
                reason: e.to_string(),
            }),
            None,
        ),
    }
}

/// Tries each resolved address, starting with the one that worked last (or connects to the
/// Unix socket).
async fn connect(shared: &Shared) -> Result<Stream, ConnectionError> {
    #[cfg(unix)]
    if let Address::Unix(path) = &shared.config.addr {
        return net::unix::connect(path, shared.config.connect_timeout)
            .await
            .map(Stream::Unix)
            .map_err(|e| ConnectionError::ConnectUnix {
                message: format!("{e:#}"),
            });
    }
    let n = shared.addrs.len();
    let first = shared.preferred.load(Ordering::Relaxed);
    let rotated = (0..n).map(|k| shared.addrs[(first + k) % n]);
    match crate::net::connect_first(rotated, shared.config.connect_timeout).await {
        Ok((stream, position)) => {
            shared
                .preferred
                .store((first + position) % n, Ordering::Relaxed);
            Ok(Stream::Tcp(stream))
        }
        Err(failures) => Err(match failures.last() {
            // The server took the connection and reset it at once (`--fault refuse`).
            Some((_, e)) if e.kind() == io::ErrorKind::ConnectionReset => ConnectionError::Read {
                reason: net::explain_io_error(e),
                reset: true,
            },
            Some((addr, e)) => ConnectionError::Connect {
                addr: *addr,
                reason: net::explain_io_error(e),
            },
            None => ConnectionError::NoAddress,
        }),
    }
}

/// A failed read, with what to do about it when there is something to do.
fn read_failed(e: io::Error) -> ConnectionError {
    ConnectionError::Read {
        reason: net::explain_io_error(&e),
        reset: is_reset(&e),
    }
}

/// A failed write, with what to do about it when there is something to do.
fn write_failed(e: io::Error) -> ConnectionError {
    ConnectionError::Write {
        reason: net::explain_io_error(&e),
        reset: is_reset(&e),
    }
}

/// Whether the server reset the connection: a read says so, a write after it may say the
/// pipe is broken.
fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// One connection's session, recorded for `--trace`: the client's view, each echo's lateness
/// in its `args`.
pub(in crate::bench) struct ConnectionTrace {
    recording: Recording,
    events: SessionEvents,
}

impl ConnectionTrace {
    /// The trace of connection `id`, if it is among those recorded.
    fn of(id: usize, shared: &Shared) -> Option<Box<ConnectionTrace>> {
        let tracing = shared.trace.as_ref()?;
        if id >= tracing.connections || !tracing.file.is_recording() {
            return None;
        }
        let pid = u32::try_from(id + 1).unwrap_or(u32::MAX);
        let title = format!("c{id} to {}", shared.config.addr);
        Some(Box::new(ConnectionTrace {
            recording: Recording::new(),
            // On the run's clock: the connections lie side by side.
            events: SessionEvents::open(
                tracing.file.clone(),
                shared.started,
                pid,
                Side::Client,
                &title,
            ),
        }))
    }

    /// Writes what happened since the last time.
    fn flush(&mut self) {
        self.events.follow(&self.recording);
    }
}

/// Matches one line as received (with its `\n`, if it had one) and records its lateness (in
/// `trace` too, when the connection is traced).
pub(in crate::bench) fn hear(
    ledger: &mut Ledger,
    samples: &mut Samples,
    shared: &Shared,
    trace: Option<&mut ConnectionTrace>,
    line: &[u8],
    now: Instant,
) {
    let heard = ledger.hear(line, now);
    if let Some(trace) = trace {
        let at = now.saturating_duration_since(shared.started);
        match &heard {
            Heard::Echo { lateness, .. } => trace.recording.received_late(at, line, *lateness),
            Heard::Wrong => trace.recording.received_line(at, line),
        }
    }
    match heard {
        Heard::Echo {
            voice,
            lateness,
            lateness_from_send,
            early_by,
            ..
        } => {
            let arrival = now.saturating_duration_since(shared.started);
            samples.push_echo(voice, lateness, lateness_from_send, arrival);
            if let Some(early_by) = early_by {
                samples.push_early(early_by);
            }
            if samples.len() >= Samples::BATCH {
                shared.add_samples(samples);
            }
        }
        Heard::Wrong => shared.note_wrong(line),
    }
}
