//! The client: the book's netcat2, fixed as its netcat3.
//!
//! netcat2 copies the terminal to the connection and the connection to the terminal, but exits as
//! soon as its input ends, losing the echoes still on their way (exercise 8.3). Here the end of
//! input closes only the write half of the connection (a TCP half-close, `shutdown(SHUT_WR)`),
//! and the client keeps printing until the server closes its side.
//!
//! [`relay`] takes any input and output, so `echoctl connect` runs it on stdin and stdout and
//! `echoctl demo` runs the same code on a scripted input. Connecting is [`crate::net`]'s.
//!
//! [`relay_with`] is the same relay for `connect` in a pipe, with its options (`--timestamps`,
//! `--wait`); [`interactive`] is `connect` on a terminal, a line editor with the server's lines
//! printed above it. Both note what is sent and heard in a [`transcript`], which tells an echo
//! from a server's notice, attributes echoes to shouts, and keeps what `--timeline` draws.

pub mod interactive;
pub mod transcript;

use echoctl_core::Address;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context, anyhow};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::net::Stream;

use echoctl_core::lines::LineSplitter;
use transcript::{Heard, Transcript};

/// Where `echoctl connect` connects, how long it waits, and how it shows the session.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// HOST:PORT, every address the name resolves to tried in turn, or unix:PATH for a
    /// Unix-domain socket.
    pub addr: Address,
    /// How long each address may take to answer; `None`: as long as the system allows.
    pub connect_timeout: Option<Duration>,
    /// How long to wait for the server after the end of input; `None` waits for its close.
    pub wait: Option<Duration>,
    /// Each attributed echo carries how long after its shout it arrived.
    pub timestamps: bool,
    /// At the end, the session's timeline chart on stderr.
    pub timeline: bool,
    /// Today's byte-transparent relay even on a terminal.
    pub raw: bool,
}

/// How a relayed session ended without error. (An output closed by its reader, as in
/// `echoctl connect | head -1`, is an error, which `main` reports as a quiet end.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// The server closed the connection after the end of our input: the normal end.
    ServerClosed,
    /// The server closed the connection while our input was still open (it was stopped, or it
    /// closed us for its own reasons, such as an idle timeout).
    ServerClosedFirst,
    /// The server ended the session with a notice (a line that is not an echo: the server is
    /// full, the line was too long, the client was idle); its text, without the line end.
    Notice(Vec<u8>),
    /// `--wait` ran out after the end of input, with this many echoes still owed.
    WaitExpired { owed: u64 },
    /// Ctrl-C in the interactive session, or SIGINT or SIGTERM in either session (the piped
    /// relay itself never returns it: `connect` ends it so on a signal).
    Interrupted,
}

/// How the piped relay shows the session.
#[derive(Debug, Clone, Copy, Default)]
pub struct RelayOptions {
    /// Each attributed echo line is preceded by how long after its shout it arrived, `+1.002s`,
    /// so the line reads `+1.002s<TAB><SPACE>HELLO?`: the line as received follows the time.
    pub timestamps: bool,
    /// How long to wait for the server after the end of input.
    pub wait: Option<Duration>,
}

/// The longest line the client splits whole; a longer one is handed on in pieces, each written
/// as it came (it is too long to be any shout's echo the client would attribute).
pub(crate) const CLIENT_MAX_LINE: usize = 1 << 20;

/// A transcript shared by the task sending input and the loop reading the server.
pub type SharedTranscript = Arc<Mutex<Transcript>>;

/// Locks a shared transcript; a panic elsewhere while it was held leaves it usable.
pub fn lock(transcript: &SharedTranscript) -> MutexGuard<'_, Transcript> {
    transcript
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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
    input: I,
    output: O,
) -> anyhow::Result<SessionEnd>
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
{
    let transcript = Arc::new(Mutex::new(Transcript::new(false)));
    relay_with(stream, input, output, RelayOptions::default(), transcript).await
}

/// [`relay`], with `options`, noting every shout sent and line heard in `transcript` (which
/// records them when it was made to, for `--timeline` and `--timestamps`).
pub async fn relay_with<I, O>(
    stream: impl Into<Stream>,
    mut input: I,
    mut output: O,
    options: RelayOptions,
    transcript: SharedTranscript,
) -> anyhow::Result<SessionEnd>
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
{
    let started = Instant::now();
    let (mut from_server, mut to_server) = tokio::io::split(stream.into());
    // Set before the half-close, so it is set before the server can have seen end of input:
    // a close after it is the normal end, a close before it cut the session short.
    let input_ended = Arc::new(AtomicBool::new(false));
    let (ended_tx, mut ended_rx) = tokio::sync::watch::channel(false);
    let sender = tokio::spawn({
        let input_ended = input_ended.clone();
        let transcript = transcript.clone();
        async move {
            send_noted(&mut input, &mut to_server, &transcript, started).await?;
            input_ended.store(true, Ordering::SeqCst);
            let owed = lock(&transcript).owed();
            tracing::debug!("input closed; waiting for {owed} echoes");
            let _ = ended_tx.send(true);
            // Half-close: "no more shouts", while echoes keep coming back.
            to_server.shutdown().await
        }
    });

    let mut server_lines = ServerLines {
        pieces: LinePieces::new(),
        timestamps: options.timestamps,
    };
    let mut shown = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut deadline: Option<Instant> = None;
    // Watching for the end of input, to start `--wait`'s clock.
    let mut watching = options.wait.is_some();
    let end = loop {
        let read = tokio::select! {
            read = from_server.read(&mut buf) => read,
            changed = ended_rx.changed(), if watching => {
                // An error: sending failed before the end of input, and no clock starts.
                watching = false;
                if changed.is_ok() && *ended_rx.borrow() {
                    deadline = options.wait.map(|wait| Instant::now() + wait);
                }
                continue;
            }
            _ = sleep_until_some(deadline) => {
                sender.abort();
                // With --timestamps a line the server has not finished is still held: stdout
                // gets every byte the server sent all the same.
                server_lines.flush(started.elapsed(), &transcript, &mut output).await?;
                let owed = lock(&transcript).owed();
                return Ok(SessionEnd::WaitExpired { owed });
            }
        };
        let n = match read {
            Ok(0) => break SessionEnd::ServerClosed,
            Ok(n) => n,
            Err(e) => {
                sender.abort();
                server_lines
                    .flush(started.elapsed(), &transcript, &mut output)
                    .await?;
                if let Some(notice) = lock(&transcript).notice() {
                    // The server said why before the reset (it closed with our input unread).
                    return Ok(SessionEnd::Notice(notice.to_vec()));
                }
                return Err(explain_session_error(e));
            }
        };
        shown.clear();
        server_lines.take(Some(&buf[..n]), started.elapsed(), &transcript, &mut shown);
        if let Err(e) = write_shown(&mut output, &shown).await {
            sender.abort();
            // A closed output (`echoctl connect | head -1`) is this error too: `main` tells it
            // apart, and ends quietly.
            return Err(e).context("cannot write to standard output");
        }
    };
    // A last line without a line end.
    if let Err(e) = server_lines
        .flush(started.elapsed(), &transcript, &mut output)
        .await
    {
        sender.abort();
        return Err(e);
    }
    if let Some(notice) = lock(&transcript).notice() {
        sender.abort();
        return Ok(SessionEnd::Notice(notice.to_vec()));
    }

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

/// A byte stream split into lines as received, each line noted once: a line too long for the
/// splitter comes in pieces, and only its first piece counts as the line. The one way the client
/// splits what it sends and what it hears, piped and on a terminal.
pub(crate) struct LinePieces {
    lines: LineSplitter,
    /// The last piece handed out was a long line cut short: the next piece continues it.
    continuing: bool,
}

impl LinePieces {
    pub(crate) fn new() -> LinePieces {
        LinePieces {
            lines: LineSplitter::new(CLIENT_MAX_LINE),
            continuing: false,
        }
    }

    /// Splits `chunk` (`None`: the end of the stream, with a last line without `\n`) and calls
    /// `on_piece(piece, first)` for each piece, as received; `first` is false for the rest of a
    /// line cut short.
    pub(crate) fn split(&mut self, chunk: Option<&[u8]>, mut on_piece: impl FnMut(&[u8], bool)) {
        let continuing = &mut self.continuing;
        let mut each = |piece: &[u8]| {
            let first = !*continuing;
            *continuing = !piece.ends_with(b"\n");
            on_piece(piece, first);
        };
        match chunk {
            Some(chunk) => self.lines.split_chunk(chunk, &mut each),
            None => self.lines.split_end(&mut each),
        }
    }
}

/// The server's bytes, split into lines for the transcript, and what of them stdout gets.
struct ServerLines {
    pieces: LinePieces,
    timestamps: bool,
}

impl ServerLines {
    /// Notes the lines of `chunk`, received at `at` (`None`: the end of the stream, and a last
    /// line without `\n`), in the transcript, and appends to `shown` what stdout gets: the bytes
    /// as they came or, with `--timestamps`, each whole line, stamped when it is attributed.
    fn take(
        &mut self,
        chunk: Option<&[u8]>,
        at: Duration,
        transcript: &SharedTranscript,
        shown: &mut Vec<u8>,
    ) {
        let mut transcript = lock(transcript);
        let timestamps = self.timestamps;
        self.pieces.split(chunk, |line, first| {
            let heard = first.then(|| transcript.heard(at, line));
            if timestamps {
                if let Some(Heard::Echo(Some(echo))) = heard {
                    shown.extend_from_slice(crate::paint::elapsed(echo.after).as_bytes());
                }
                shown.extend_from_slice(line);
            }
        });
        if let Some(chunk) = chunk
            && !timestamps
        {
            shown.extend_from_slice(chunk);
        }
    }
}

impl ServerLines {
    /// At the end of the session: notes a last line without `\n`, received by `at`, and
    /// writes to `output` what of it stdout has not had yet.
    async fn flush(
        &mut self,
        at: Duration,
        transcript: &SharedTranscript,
        output: &mut (impl AsyncWrite + Unpin),
    ) -> anyhow::Result<()> {
        let mut shown = Vec::new();
        self.take(None, at, transcript, &mut shown);
        write_shown(output, &shown)
            .await
            .context("cannot write to standard output")
    }
}

async fn write_shown(output: &mut (impl AsyncWrite + Unpin), shown: &[u8]) -> io::Result<()> {
    if shown.is_empty() {
        return Ok(());
    }
    output.write_all(shown).await?;
    output.flush().await
}

/// Sleeps until `deadline`, or forever when there is none.
pub(crate) async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Copies `input` to the server as it comes, noting each line sent as a shout (for the count of
/// echoes owed, and the transcript's record) as the bytes that end it are written.
async fn send_noted<I, W>(
    input: &mut I,
    to_server: &mut W,
    transcript: &SharedTranscript,
    started: Instant,
) -> io::Result<()>
where
    I: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = LinePieces::new();
    let mut buf = vec![0u8; 16 * 1024];
    let note = |lines: &mut LinePieces, chunk: Option<&[u8]>| {
        let at = started.elapsed();
        let mut transcript = lock(transcript);
        lines.split(chunk, |line, first| {
            if first {
                let shout = line.strip_suffix(b"\n").unwrap_or(line);
                transcript.sent(at, shout.strip_suffix(b"\r").unwrap_or(shout));
            }
        });
    };
    loop {
        let n = input.read(&mut buf).await?;
        if n == 0 {
            // A last line without `\n` is a shout too: the server echoes it at end of input.
            note(&mut lines, None);
            return Ok(());
        }
        // Noted first: the loud echo can come back before `write_all` returns, and must find
        // its shout already sent.
        note(&mut lines, Some(&buf[..n]));
        to_server.write_all(&buf[..n]).await?;
    }
}

pub(crate) fn explain_session_error(e: io::Error) -> anyhow::Error {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
            anyhow!("connection reset by the server; echoes after this point were lost")
        }
        _ => anyhow::Error::new(e).context("connection failed"),
    }
}
