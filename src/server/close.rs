//! How the server hangs up: a half-close so the client sees end of stream after the last line it
//! was sent, and a linger whenever the client may still be sending, because closing a socket
//! with unread input makes the kernel reset the connection, which can discard the lines still on
//! their way to the client.
//!
//! Used for a connection whose session has ended ([`finish`]) and for a client turned away at
//! the connection limit ([`refuse`]).

use std::future::poll_fn;
use std::io;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

use crate::transport::{self, Transport};
use echoctl_core::session::End;

/// How long a closing connection reads and discards what the client still sends.
const LINGER: Duration = Duration::from_millis(500);

/// How long a refused client gets to take its "server full" line before it is dropped.
pub(super) const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);

/// Closes a connection whose session ended with `end`, once its last line (the farewell, if
/// any) is written: a half-close, then a linger unless the client has finished sending. An
/// aborted session is dropped as it is.
pub(crate) async fn finish<S: Transport>(
    stream: &mut S,
    end: End,
    abort: &CancellationToken,
) -> io::Result<()> {
    let client_may_be_sending = match end {
        End::Aborted => return Ok(()),
        End::ClientDone => false,
        End::ServerShutdown | End::LineTooLong(_) | End::Idle(_) => true,
    };
    half_close(stream).await?;
    if client_may_be_sending {
        linger_before_close(stream, abort).await;
    }
    Ok(())
}

/// How long a half-close may wait for room on the socket: TLS's `close_notify` is a record to
/// write, which a client that reads nothing never makes room for. TCP's FIN never waits.
const HALF_CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Half-closes `stream`, giving up on a client that reads nothing after [`HALF_CLOSE_TIMEOUT`].
pub(crate) async fn half_close<S: Transport>(stream: &mut S) -> io::Result<()> {
    timeout(HALF_CLOSE_TIMEOUT, stream.shutdown())
        .await
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing, not even the close, for 1s",
            ))
        })
}

/// Tells a client over the connection limit why it is being closed, and closes it gently.
pub(crate) async fn refuse<S: Transport>(
    mut stream: S,
    max_connections: usize,
    abort: CancellationToken,
) {
    let line = format!(
        "echoctl: server is full ({}); try again later\n",
        echoctl_core::plural::counted(max_connections, "connection")
    );
    let told = timeout(REFUSAL_TIMEOUT, async {
        stream.write_all(line.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    if let Ok(Ok(())) = told {
        linger_before_close(&stream, &abort).await;
    }
}

/// Tells a client that does not speak TLS, on a server that does, what to do instead, in the
/// plain text it speaks, and closes it gently.
pub(crate) async fn tell_not_tls<S: Transport>(mut stream: S, abort: &CancellationToken) {
    let told = timeout(REFUSAL_TIMEOUT, async {
        stream.write_all(NOT_TLS_NOTICE.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    if let Ok(Ok(())) = told {
        linger_before_close(&stream, abort).await;
    }
}

/// Closes a connection whose TLS handshake failed, its alert sent: a half-close, then the
/// linger, so the alert is not lost to a reset.
pub(crate) async fn after_failed_handshake<S: Transport>(mut stream: S, abort: &CancellationToken) {
    if let Ok(Ok(())) = timeout(REFUSAL_TIMEOUT, stream.shutdown()).await {
        linger_before_close(&stream, abort).await;
    }
}

/// The line a client that does not speak TLS gets from a server that does.
pub(crate) const NOT_TLS_NOTICE: &str =
    "echoctl: this server speaks TLS; connect with TLS (echoctl connect --tls)\n";

/// Reads and drops input until the client closes, `LINGER` passes or `abort` fires. Call it
/// after shutting down the write half.
pub(crate) async fn linger_before_close<S: Transport>(stream: &S, abort: &CancellationToken) {
    let deadline = Instant::now() + LINGER;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return,
            _ = abort.cancelled() => return,
            ready = poll_fn(|cx| stream.poll_read_ready(cx)) => {
                if ready.is_err() {
                    return;
                }
                match transport::with_read_scratch(|scratch| stream.try_read(scratch)) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
        }
    }
}
