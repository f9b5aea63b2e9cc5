//! The client: the book's netcat2, fixed as its netcat3.
//!
//! netcat2 copies the terminal to the connection and the connection to the terminal, but exits as
//! soon as its input ends, losing the echoes still on their way (exercise 8.3). Here the end of
//! input closes only the write half of the connection (a TCP half-close, `shutdown(SHUT_WR)`),
//! and the client keeps printing until the server closes its side.
//!
//! [`relay`] takes any input and output, so `echoctl connect` runs it on stdin and stdout and
//! `echoctl demo` runs the same code on a scripted input. Connecting is [`crate::net`]'s.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, anyhow};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::net::Stream;

/// Where `echoctl connect` connects, and how long it waits for an answer.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// HOST:PORT; every address the name resolves to is tried.
    pub addr: String,
    /// How long each address may take to answer; `None`: as long as the system allows.
    pub connect_timeout: Option<Duration>,
}

/// How a relayed session ended without error. (An output closed by its reader, as in
/// `echoctl connect | head -1`, is an error, which `main` reports as a quiet end.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The server closed the connection after the end of our input: the normal end.
    ServerClosed,
    /// The server closed the connection while our input was still open (it was stopped, or it
    /// closed us for its own reasons, such as an idle timeout).
    ServerClosedFirst,
}

/// Relays `input` to the server and the server to `output` at the same time.
///
/// At the end of `input` only the write half of the connection is closed; this returns when the
/// server closes its side, so every echo owed is shown. `output` is flushed after every read, so
/// echoes appear as they arrive, byte for byte as the server sent them.
///
/// The input is read by a separate task that is not waited for: a terminal nobody types into
/// never ends, and must not keep the client alive once the server has gone.
pub async fn relay<I, O>(
    stream: impl Into<Stream>,
    mut input: I,
    mut output: O,
) -> anyhow::Result<SessionEnd>
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
{
    let (mut from_server, mut to_server) = tokio::io::split(stream.into());
    // Set before the half-close, so it is set before the server can have seen end of input:
    // a close after it is the normal end, a close before it cut the session short.
    let input_ended = Arc::new(AtomicBool::new(false));
    let sender = tokio::spawn({
        let input_ended = input_ended.clone();
        async move {
            tokio::io::copy(&mut input, &mut to_server).await?;
            input_ended.store(true, Ordering::SeqCst);
            // Half-close: "no more shouts", while echoes keep coming back.
            to_server.shutdown().await
        }
    });

    let mut buf = vec![0u8; 16 * 1024];
    let end = loop {
        let n = match from_server.read(&mut buf).await {
            Ok(0) => break SessionEnd::ServerClosed,
            Ok(n) => n,
            Err(e) => {
                sender.abort();
                return Err(explain_session_error(e));
            }
        };
        let shown = async {
            output.write_all(&buf[..n]).await?;
            output.flush().await
        };
        if let Err(e) = shown.await {
            sender.abort();
            // A closed output (`echoctl connect | head -1`) is this error too: `main` tells it
            // apart, and ends quietly.
            return Err(e).context("cannot write to standard output");
        }
    };

    // The server is done. If sending had failed, some input never reached it: say so.
    if !sender.is_finished() && !input_ended.load(Ordering::SeqCst) {
        // Still reading input (a terminal nobody types into); it is not waited for.
        return Ok(SessionEnd::ServerClosedFirst);
    }
    match sender.await {
        Ok(Err(e)) => Err(anyhow!(
            "the server closed the connection before all input was sent ({e})"
        )),
        _ => Ok(end),
    }
}

fn explain_session_error(e: io::Error) -> anyhow::Error {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
            anyhow!("connection reset by the server; echoes after this point were lost")
        }
        _ => anyhow::Error::new(e).context("connection failed"),
    }
}
