//! Faults on purpose, on the socket: what a connection's [`Shaper`] decided, done.
//!
//! The shaper (in the core) decides which echo line is dropped or changed, when each write may
//! go out and in how many pieces, and where the stream is cut; here the pieces it says are due
//! are written ([`write_due`]), and once the cut is written the connection is reset, closed or
//! stalled ([`act`]). A connection drawn to be refused is reset before it is served
//! ([`refuse`]). A connection without faults never comes here.

use std::io;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use echoctl_core::fault::Drawn;
use echoctl_core::fault::shaper::{Action, Fired, Next, Shaper};

use super::close;
use super::peer::Peer;
use crate::transport::{self, Transport};

/// How a terminal fault ended the connection, for its closing log line.
#[derive(Debug)]
pub struct FaultEnd {
    pub fired: Fired,
    /// For a stall: what ended it.
    pub stall: Option<StallEnd>,
}

/// What ends a stalled connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StallEnd {
    /// The client reset the connection, or closed it and is gone.
    ClientGone,
    /// The server's grace period ran out as it shut down.
    GraceOver,
}

impl std::fmt::Display for FaultEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (fault)", self.fired)?;
        match self.stall {
            Some(StallEnd::ClientGone) => f.write_str(", until the client went away"),
            Some(StallEnd::GraceOver) => f.write_str(", until the grace period ended"),
            None => Ok(()),
        }
    }
}

/// What the socket took of the pieces due.
#[derive(Debug, Default)]
pub(super) struct Written {
    /// Echo lines written whole (or handed to `unsent` to finish).
    pub echo_lines: usize,
    /// Bytes the socket took.
    pub bytes: usize,
    /// The rest of a piece the socket did not take at once, to be waited for.
    pub unsent: Vec<u8>,
}

/// Writes the pieces `shaper` has due at `now`, each as a write of its own, until one is not
/// taken whole; its rest is handed back to be written as the socket allows.
pub(super) fn write_due<S: Transport>(
    stream: &S,
    shaper: &mut Shaper,
    now: Instant,
) -> io::Result<Written> {
    let mut written = Written::default();
    while let Next::Write(piece) = shaper.next(now) {
        let len = piece.len();
        let n = transport::write_now(stream, piece)?;
        if n < len {
            written.unsent = piece[n..].to_vec();
        }
        written.bytes += n;
        written.echo_lines += shaper.wrote(now, len);
        if n < len {
            break;
        }
    }
    Ok(written)
}

/// Does what a fired fault does: resets the connection (the caller's drop of the socket sends
/// the RST), closes it in an orderly way, or holds it silent until the client is gone or the
/// grace period ends (a client that only ends its input may still be waiting to hear, so it is
/// held on; see [`Transport::peer_gone`]). Returns what ended a stall.
pub(super) async fn act<S: Transport>(
    stream: &mut S,
    fired: Fired,
    abort: &CancellationToken,
) -> io::Result<Option<StallEnd>> {
    match fired.action() {
        Action::Reset => stream.set_zero_linger().map(|()| None),
        Action::Close => {
            stream.shutdown().await?;
            close::linger_before_close(stream, abort).await;
            Ok(None)
        }
        Action::Stall => Ok(Some(tokio::select! {
            _ = abort.cancelled() => StallEnd::GraceOver,
            gone = stream.peer_gone() => gone.map(|()| StallEnd::ClientGone)?,
        })),
    }
}

/// Holds an ending connection's close `after` more (`slow-close`), or until the grace period
/// ends.
pub(super) async fn hold_the_close(after: Duration, abort: &CancellationToken) {
    tokio::select! {
        _ = abort.cancelled() => {}
        _ = tokio::time::sleep(after) => {}
    }
}

/// Turns away a connection drawn to be refused: reset at once, before a byte is read.
pub(super) fn refuse<S: Transport>(stream: S, peer: Peer, drawn: &Drawn) {
    tracing::info!("{peer}: connection opened, faults: {drawn}");
    match stream.set_zero_linger() {
        Ok(()) => tracing::info!("{peer}: reset at once, before a byte is read (fault)"),
        Err(e) => tracing::warn!("{peer}: closed at once, not reset ({e}) (fault)"),
    }
}
