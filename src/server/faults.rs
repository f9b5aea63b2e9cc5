//! Faults on purpose, on the socket: what a connection's [`Shaper`] decided, done.
//!
//! The shaper (in the core) decides which echo line is dropped or changed, when each write may
//! go out and in how many pieces, and where the stream is cut; here the pieces it says are due
//! are written ([`write_due`]), and once the cut is written the connection is reset, closed or
//! stalled ([`act`]). A connection drawn to be refused is reset before it is served
//! ([`refuse`]). A connection without faults never comes here.

use std::io;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use echoctl_core::fault::Drawn;
use echoctl_core::fault::shaper::{Action, Fired, Next, Shaper};

use super::close;
use super::observer::Observer;
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

/// Most pieces one turn of a connection writes. Pieces without a delay between them
/// (`slice=1`) are all due at once; written in one go, they would hold the worker thread for
/// as many writes as the socket takes, and its other connections with it.
pub(super) const PIECES_PER_TURN: usize = 64;

/// Writes the pieces `shaper` has due at `now`, each as a write of its own, until one is not
/// taken whole (its rest is handed back to be written as the socket allows) or this turn has
/// written [`PIECES_PER_TURN`]: the rest stays due, for the connection's next turn. `observer`,
/// if the connection has one, is told each.
pub(super) fn write_due<S: Transport>(
    stream: &S,
    shaper: &mut Shaper,
    now: Instant,
    mut observer: Option<&mut Observer>,
) -> io::Result<Written> {
    let mut written = Written::default();
    for _ in 0..PIECES_PER_TURN {
        let Next::Write(piece) = shaper.next(now) else {
            break;
        };
        let len = piece.len();
        let n = transport::write_now(stream, piece)?;
        if let Some(observer) = observer.as_deref_mut() {
            observer.wrote(now, &piece[..n]);
        }
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
            close::half_close(stream).await?;
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::task::{Context, Waker};

    use tokio::net::UnixStream;

    use crate::server::{Connection, Mode, ServerConfig, Shutdown};
    use crate::timer::Timer;

    /// Bytes the client can read now.
    fn arrived(client: &UnixStream) -> usize {
        let mut buf = [0u8; 4096];
        let mut total = 0;
        loop {
            match client.try_read(&mut buf) {
                Ok(0) => return total,
                Ok(n) => total += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return total,
                Err(e) => panic!("{e}"),
            }
        }
    }

    /// `slice=1` has every piece due at once: each time the connection is polled it writes one
    /// turn's share of them, each its own write, and gives the worker back, where it would
    /// otherwise write until the socket is full.
    #[tokio::test]
    async fn pieces_due_at_once_are_written_a_turn_at_a_time() {
        const SENT: usize = 2000;
        let (client, server) = UnixStream::pair().unwrap();
        let config = ServerConfig {
            mode: Mode::Plain,
            ..ServerConfig::default()
        };
        let peer: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
        let drawn = Drawn {
            faults: vec!["slice=1".parse().unwrap()],
            seed: 1,
        };
        let connection =
            Connection::plain(server, peer, config, &Timer::start(), Shutdown::default())
                .with_faults(Some(drawn));
        let mut serving = pin!(connection.run());
        client.try_write(&[b'x'; SENT]).unwrap();
        let mut heard = 0;
        let mut turns = 0;
        while heard < SENT {
            let mut cx = Context::from_waker(Waker::noop());
            assert!(serving.as_mut().poll(&mut cx).is_pending());
            // The runtime's turn: its driver learns what the sockets are ready for.
            tokio::task::yield_now().await;
            let now = arrived(&client);
            assert!(
                now <= PIECES_PER_TURN,
                "{now} one-byte pieces written in one turn, over {PIECES_PER_TURN}"
            );
            heard += now;
            turns += 1;
            assert!(turns < 10 * SENT, "only {heard} of {SENT} bytes came back");
        }
        assert_eq!(heard, SENT);
    }
}
