//! `echoctl demo`: the book's two sessions, replayed over real TCP.
//!
//! Nothing is faked. Each session starts the real server ([`crate::server::run`], as `serve`
//! does) on an ephemeral loopback port, connects with the real client ([`crate::net::connect`]
//! and [`crate::client::relay`], as `connect` does), and types into the client through an
//! in-memory pipe instead of a keyboard. The client's output, the server's bytes, comes back
//! through another pipe and is shown line by line.
//!
//! ```text
//!   director ──keyboard pipe──▶ client::relay ──TCP──▶ server::run
//!      ▲                             │
//!      └────────screen pipe──────────┘   (echoes, as `connect` would print them)
//! ```
//!
//! One task, the director loop in [`play`], owns the page: it prints the typed lines, the echoes
//! and the headers, so lines never tear. What it types and when is decided by the pure
//! [`script::Director`], which waits for cues (particular echoes), never for the clock since the
//! start; [`script`] explains why the book's order then holds at any delay. [`render`] decides
//! how lines look, [`progress`] draws the bar on stderr.

pub mod progress;
pub mod render;
pub mod script;

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Write};
use std::time::Duration;

use anyhow::{Context, anyhow};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::task::AbortOnDropHandle;

use crate::client;
use crate::lines::{DEFAULT_MAX_LINE, LineSplitter};
use crate::net;
use crate::server::{self, Mode, ServerConfig};

pub use progress::Progress;
use render::Painter;
use script::{Director, Effect, Script};

/// The sessions `echoctl demo --mode` plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DemoMode {
    /// reverb1's session.
    Sequential,
    /// reverb2's session.
    Concurrent,
    /// reverb1's session, then reverb2's.
    #[default]
    Both,
}

impl DemoMode {
    pub fn sessions(self) -> &'static [Mode] {
        match self {
            DemoMode::Sequential => &[Mode::Sequential],
            DemoMode::Concurrent => &[Mode::Concurrent],
            DemoMode::Both => &[Mode::Sequential, Mode::Concurrent],
        }
    }
}

/// The shortest delay the demo accepts: the one race in the script has a margin of at least half
/// a delay (see [`script`]), and below a few milliseconds that is less than a busy machine's
/// jitter.
pub const MIN_DELAY: Duration = Duration::from_millis(10);

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub sessions: &'static [Mode],
    pub delay: Duration,
    pub color: bool,
}

/// How the demo ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoEnd {
    /// Every session played to its `^D` and the server's close.
    Finished,
    /// The interrupt future completed (Ctrl-C): the bar is cleared and the server is stopped.
    Interrupted,
}

/// Plays the sessions, printing to `out`, until they end or `interrupt` completes.
pub async fn run(
    options: &DemoOptions,
    out: &mut dyn Write,
    progress: &mut Progress,
    interrupt: impl Future<Output = ()>,
) -> anyhow::Result<DemoEnd> {
    let mut interrupt = std::pin::pin!(interrupt);
    let mut page = Page {
        out,
        painter: Painter::new(options.color),
    };
    for (index, &mode) in options.sessions.iter().enumerate() {
        let script = Script::for_mode(mode);
        if let Err(e) = page.header(progress, index > 0, mode, options.delay) {
            return Err(output_error(e));
        }

        let server = start_server(mode, options.delay).await?;
        let expected = script::rehearse(script, options.delay).duration;
        progress.begin(mode, script.echo_count(), expected);
        let played = tokio::select! {
            biased;
            _ = &mut interrupt => Ok(DemoEnd::Interrupted),
            played = play(script, server.addr, options.delay, &mut page, progress) => played,
        };
        progress.clear();
        stop_server(server).await;
        match played? {
            DemoEnd::Finished => {}
            end => return Ok(end),
        }
    }
    Ok(DemoEnd::Finished)
}

/// Plays one session against the server at `addr`.
async fn play(
    script: &'static Script,
    addr: std::net::SocketAddr,
    delay: Duration,
    page: &mut Page<'_>,
    progress: &Progress,
) -> anyhow::Result<DemoEnd> {
    let stream = net::connect(&addr.to_string(), Some(Duration::from_secs(10))).await?;
    let (keyboard, client_input) = tokio::io::duplex(4096);
    let (client_output, screen) = tokio::io::duplex(64 * 1024);
    let relay = AbortOnDropHandle::new(tokio::spawn(client::relay(
        stream,
        client_input,
        client_output,
    )));
    let mut keyboard = Some(keyboard);
    let mut screen = Screen::new(screen);
    // The server owes an echo at least every delay; this much silence means something broke.
    let silence_limit = delay * 3 + Duration::from_secs(5);

    let started = Instant::now();
    let mut director = Director::new(script, delay);
    let mut effects = director.start(Duration::ZERO);
    loop {
        for effect in effects {
            if let Err(e) = perform(effect, script, &mut keyboard, page, progress).await {
                return match e {
                    Failure::Page(e) => Err(output_error(e)),
                    Failure::KeyboardClosed => {
                        // The relay stopped reading its input; its own error says why.
                        let why = timeout(Duration::from_secs(1), relay).await.ok();
                        Err(why
                            .and_then(relay_failure)
                            .unwrap_or_else(|| anyhow!("the client stopped taking input")))
                    }
                };
            }
        }
        progress.update(director.tally());

        let wake = director.due().map(|due| started + due);
        effects = tokio::select! {
            read = timeout(silence_limit, screen.next_text()) => {
                match read {
                    Err(_) => anyhow::bail!(
                        "the server sent nothing for {}; giving up",
                        crate::duration::format(silence_limit)
                    ),
                    Ok(Err(e)) => return Err(e).context("cannot read the client's output"),
                    Ok(Ok(None)) => break,
                    Ok(Ok(Some(text))) => director.heard(&text, started.elapsed()),
                }
            }
            _ = sleep_until(wake.unwrap_or(started)), if wake.is_some() => {
                director.tick(started.elapsed())
            }
        };
    }

    // The screen pipe ended: the relay has returned, because the server closed the connection.
    if let Some(error) = relay_failure(relay.await) {
        return Err(error);
    }
    if !director.finished() {
        anyhow::bail!("the server closed the connection before the session ended");
    }
    Ok(DemoEnd::Finished)
}

/// The client's output, read line by line through the crate's line reader.
struct Screen {
    pipe: DuplexStream,
    lines: LineSplitter,
    chunk: Box<[u8]>,
    /// Lines split from the reads so far and not yet handed out, as [`render::echo_text`] shows
    /// them.
    heard: VecDeque<String>,
    ended: bool,
}

impl Screen {
    /// Read size: the echoes of one session are a few dozen short lines.
    const CHUNK: usize = 8 * 1024;

    fn new(pipe: DuplexStream) -> Screen {
        Screen {
            pipe,
            lines: LineSplitter::new(DEFAULT_MAX_LINE),
            chunk: vec![0; Self::CHUNK].into_boxed_slice(),
            heard: VecDeque::new(),
            ended: false,
        }
    }

    /// The next line's text, or `None` once the pipe has ended. Safe to cancel (a timer firing
    /// first loses nothing): bytes are split into lines as soon as a read returns them.
    async fn next_text(&mut self) -> io::Result<Option<String>> {
        loop {
            if let Some(text) = self.heard.pop_front() {
                return Ok(Some(text));
            }
            if self.ended {
                return Ok(None);
            }
            let read = self.pipe.read(&mut self.chunk).await?;
            let heard = &mut self.heard;
            let keep = |line: &[u8]| heard.push_back(render::echo_text(line));
            if read == 0 {
                self.ended = true;
                self.lines.split_end(keep);
            } else {
                self.lines.split_chunk(&self.chunk[..read], keep);
            }
        }
    }
}

enum Failure {
    /// Printing failed (a closed pipe among others: `main` ends quietly on that).
    Page(io::Error),
    KeyboardClosed,
}

async fn perform(
    effect: Effect,
    script: &Script,
    keyboard: &mut Option<DuplexStream>,
    page: &mut Page<'_>,
    progress: &Progress,
) -> Result<(), Failure> {
    let shown = match effect {
        Effect::ShowTyped(line) => {
            let line = page.painter.typed(line);
            page.print(progress, &line)
        }
        Effect::ShowEcho(text) => {
            let line = page.painter.echo(&text, script.voice_of(&text));
            page.print(progress, &line)
        }
        Effect::Send(line) => {
            let Some(keys) = keyboard.as_mut() else {
                return Err(Failure::KeyboardClosed);
            };
            let typed = async {
                keys.write_all(line.as_bytes()).await?;
                keys.write_all(b"\n").await
            };
            return typed.await.map_err(|_| Failure::KeyboardClosed);
        }
        Effect::EndInput => {
            // Dropping our end is Ctrl-D: the relay reads end of input and half-closes.
            keyboard.take();
            return Ok(());
        }
    };
    shown.map_err(Failure::Page)
}

/// The error the relay ended with, if it did.
fn relay_failure(
    joined: Result<anyhow::Result<client::SessionEnd>, tokio::task::JoinError>,
) -> Option<anyhow::Error> {
    match joined {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e),
        Err(e) => Some(anyhow!("the client task failed: {e}")),
    }
}

/// Printing failed. A closed stdout (`echoctl demo | head`) is among these: `main` tells it
/// apart and ends quietly, as for every command.
fn output_error(e: io::Error) -> anyhow::Error {
    anyhow::Error::new(e).context("cannot write to standard output")
}

/// Standard output, as the one place lines are printed.
struct Page<'a> {
    out: &'a mut dyn Write,
    painter: Painter,
}

impl Page<'_> {
    /// Prints a whole line with the progress bar off the screen, and flushes it so it shows now.
    fn print(&mut self, progress: &Progress, line: &str) -> io::Result<()> {
        progress.suspend(|| {
            writeln!(self.out, "{line}")?;
            self.out.flush()
        })
    }

    /// Opens a session: an empty line after the one before, then the dimmed shell commands.
    fn header(
        &mut self,
        progress: &Progress,
        after_another: bool,
        mode: Mode,
        delay: Duration,
    ) -> io::Result<()> {
        if after_another {
            self.print(progress, "")?;
        }
        for line in render::header(mode, delay) {
            let line = self.painter.header(&line);
            self.print(progress, &line)?;
        }
        Ok(())
    }
}

/// Starts the real server, in this process, on a free loopback port.
async fn start_server(mode: Mode, delay: Duration) -> anyhow::Result<server::Running> {
    let config = ServerConfig {
        mode,
        delay,
        // When the demo stops, nobody is left to hear the echoes still owed.
        grace: Duration::ZERO,
        ..ServerConfig::default()
    };
    server::spawn(net::bind("127.0.0.1:0").await?, config)
        .context("cannot read the demo server's address")
}

/// Stops the demo's server and waits until its connection is closed.
async fn stop_server(server: server::Running) {
    // With no grace period this is immediate; the bound only guards against a bug.
    let _ = timeout(Duration::from_secs(1), server.stop()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_screen_hands_out_whole_lines_and_a_cut_read_loses_nothing() {
        let (mut client_output, pipe) = tokio::io::duplex(64);
        let mut screen = Screen::new(pipe);
        client_output.write_all(b"\t HELLO\n\t Hel").await.unwrap();
        assert_eq!(screen.next_text().await.unwrap().as_deref(), Some("HELLO"));
        // Nothing whole is waiting: the read is abandoned, keeping the start of the line.
        let abandoned = timeout(Duration::from_secs(1), screen.next_text()).await;
        assert!(abandoned.is_err(), "{abandoned:?}");
        client_output.write_all(b"lo\r\n\t hello").await.unwrap();
        drop(client_output);
        assert_eq!(screen.next_text().await.unwrap().as_deref(), Some("Hello"));
        assert_eq!(screen.next_text().await.unwrap().as_deref(), Some("hello"));
        assert_eq!(screen.next_text().await.unwrap(), None);
        assert_eq!(screen.next_text().await.unwrap(), None);
    }
}
