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
//! [`relay_with`] is the same relay for `connect` in a pipe, with `--timestamps` (and `--wait`,
//! which its session is given); [`interactive`] is `connect` on a terminal, a line editor with the server's lines
//! printed above it. Both are drivers over one pure [`session`], as the server's connection task
//! is over its session: it splits what is sent and heard into lines, notes them in a
//! [`transcript`] (which tells an echo from a server's notice, attributes echoes to shouts, and
//! keeps what `--timeline` draws), and decides how the session ended. [`udp`] is `connect
//! udp:HOST:PORT`, each line a datagram, over the core's datagram session.

pub(crate) mod interactive;
pub(crate) mod udp;

use echoctl_core::Address;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::net::Stream;
use crate::observe::SessionEvents;
pub(crate) use echoctl_core::client::SessionEnd;
use echoctl_core::client::transcript::Heard;
use echoctl_core::client::{ClientSession, Settings};
use echoctl_core::plural::counted;

/// Where `echoctl connect` connects, how long it waits, and how it shows the session.
#[derive(Debug, Clone)]
pub(crate) struct ConnectOptions {
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
    /// The byte-transparent relay even on a terminal.
    pub raw: bool,
    /// Speak TLS to the server, checking its certificate as these say.
    pub tls: Option<crate::tls::ClientTlsOptions>,
    /// Where to write the session's trace, if anywhere.
    pub trace: Option<crate::observe::TraceOptions>,
    /// Where to dump the session's bytes, if anywhere.
    pub hex_dump: Option<crate::observe::DumpTo>,
}

/// How the piped relay shows the session.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RelayOptions {
    /// Each attributed echo line is preceded by how long after its shout it arrived, `+1.002s`,
    /// so the line reads `+1.002s<TAB><SPACE>HELLO?`: the line as received follows the time.
    pub timestamps: bool,
}

/// A session shared by the task sending input and the loop reading the server.
pub(crate) type SharedSession = Arc<Mutex<ClientSession>>;

/// Locks a shared session; a panic elsewhere while it was held leaves it usable.
pub(crate) fn lock(session: &SharedSession) -> MutexGuard<'_, ClientSession> {
    session
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A session whose clock starts at `started`, shared, with `settings`.
pub(crate) fn shared_session(started: Instant, settings: Settings) -> SharedSession {
    Arc::new(Mutex::new(ClientSession::new(started, settings)))
}

/// How often a session's trace is brought up to date while it runs (`connect --trace`).
const TRACE_EVERY: Duration = Duration::from_millis(20);

/// Writes `session`'s trace as it goes, until [`SessionTracer::finish`]: its recording is
/// followed every [`TRACE_EVERY`], so that a client killed leaves what it did until then.
pub(crate) struct SessionTracer {
    events: Arc<Mutex<SessionEvents>>,
    follower: tokio::task::JoinHandle<()>,
}

impl SessionTracer {
    pub(crate) fn start(events: SessionEvents, session: SharedSession) -> SessionTracer {
        let events = Arc::new(Mutex::new(events));
        let follower = tokio::spawn({
            let events = events.clone();
            async move {
                let mut every = tokio::time::interval(TRACE_EVERY);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    let session = lock(&session);
                    lock_events(&events).follow(session.recording());
                }
            }
        });
        SessionTracer { events, follower }
    }

    /// The session ended, for `reason`: its last events and its close are written.
    pub(crate) fn finish(self, session: &SharedSession, reason: &str) {
        self.follower.abort();
        let session = lock(session);
        lock_events(&self.events).close(session.recording(), Instant::now(), reason);
    }
}

fn lock_events(events: &Mutex<SessionEvents>) -> MutexGuard<'_, SessionEvents> {
    events
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
pub(crate) async fn relay<I, O>(
    stream: impl Into<Stream>,
    input: I,
    output: O,
) -> anyhow::Result<SessionEnd>
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
{
    let session = shared_session(Instant::now(), Settings::default());
    relay_with(
        stream.into(),
        input,
        output,
        RelayOptions::default(),
        session,
    )
    .await
}

/// [`relay`], with `options`, over `session`, which notes every shout sent and line heard (and
/// records them when it was made to, for `--timeline` and `--timestamps`) and decides how the
/// session ended; this only moves the bytes.
pub(crate) async fn relay_with<S, I, O>(
    stream: S,
    mut input: I,
    mut output: O,
    options: RelayOptions,
    session: SharedSession,
) -> anyhow::Result<SessionEnd>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
{
    let (mut from_server, mut to_server) = tokio::io::split(stream);
    let (ended_tx, mut ended_rx) = watch::channel(());
    let mut sender = tokio::spawn({
        let session = session.clone();
        async move {
            if let Err(e) = send(&mut input, &mut to_server, &session, ended_tx).await {
                lock(&session).input_failed(e);
            }
        }
    });

    let timestamps = options.timestamps;
    let mut shown = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    // Watching for the end of input, which starts `--wait`'s clock.
    let mut watching = true;
    let ended = loop {
        let wake = lock(&session).next_wake();
        shown.clear();
        let ended = tokio::select! {
            read = from_server.read(&mut buf) => {
                let now = Instant::now();
                match read {
                    Ok(0) => {
                        if !lock(&session).input_open() {
                            // The half-close may be under way: its failure is how it ended.
                            let _ = (&mut sender).await;
                        }
                        Some(lock(&session).server_closed(now, stdout(timestamps, &mut shown)))
                    }
                    Ok(n) => {
                        lock(&session).receive(now, &buf[..n], stdout(timestamps, &mut shown));
                        if !timestamps {
                            shown.extend_from_slice(&buf[..n]);
                        }
                        None
                    }
                    Err(e) => Some(lock(&session).connection_failed(
                        now,
                        e,
                        stdout(timestamps, &mut shown),
                    )),
                }
            }
            _ = ended_rx.changed(), if watching => {
                watching = false;
                continue;
            }
            () = sleep_until_some(wake) => lock(&session)
                .advance(Instant::now(), stdout(timestamps, &mut shown))
                .map(Ok),
        };
        if let Err(e) = write_shown(&mut output, &shown).await {
            sender.abort();
            // A closed output (`echoctl connect | head -1`) is this error too: `main` tells it
            // apart, and ends quietly.
            return Err(e).context("cannot write to standard output");
        }
        if let Some(ended) = ended {
            break ended;
        }
    };
    // Input still being read when the server closed first (a terminal nobody types into) is
    // not waited for.
    if !matches!(ended, Ok(SessionEnd::ServerClosedFirst)) {
        sender.abort();
    }
    ended.map_err(anyhow::Error::new)
}

/// What stdout gets of each line the session hands out: with `--timestamps`, the line, stamped
/// when it is an attributed echo; without, nothing, as the bytes are written as they came.
fn stdout(timestamps: bool, shown: &mut Vec<u8>) -> impl FnMut(&[u8], Option<Heard>) + '_ {
    move |line, heard| {
        if !timestamps {
            return;
        }
        if let Some(Heard::Echo(Some(echo))) = heard {
            shown.extend_from_slice(crate::paint::elapsed(echo.after).as_bytes());
        }
        shown.extend_from_slice(line);
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

/// Copies `input` to the server as it comes, each chunk told to the session before it is
/// written. At the end of input, tells the session, then `ended`, and half-closes: "no more
/// shouts", while echoes keep coming back.
async fn send<I, W>(
    input: &mut I,
    to_server: &mut W,
    session: &SharedSession,
    ended: watch::Sender<()>,
) -> io::Result<()>
where
    I: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = input.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        lock(session).send(Instant::now(), &buf[..n]);
        to_server.write_all(&buf[..n]).await?;
    }
    let owed = {
        let mut session = lock(session);
        session.end_of_input(Instant::now());
        session.owed()
    };
    tracing::debug!("input closed; waiting for {}", counted(owed, "echo"));
    let _ = ended.send(());
    to_server.shutdown().await
}
