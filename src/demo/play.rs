//! One session played: the director loop that types into the client, reads what it shows,
//! prints both and records them, until the server closes the connection.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::task::AbortOnDropHandle;

use echoctl_core::script::{Director, Effect, Script};
use echoctl_core::timeline::Recording;
use echoctl_core::trace::Side;

use super::page::{Page, output_error};
use super::progress::Progress;
use super::screen::Screen;
use crate::client;
use crate::net;
use crate::observe::{SessionEvents, TraceFile};

/// How one session ended.
pub(super) enum Played {
    /// To its `^D` and the server's close: what the client sent and saw, and when.
    Finished(Recording),
    Interrupted,
}

/// Where a session's events go, and as what.
pub(super) struct Traced {
    pub(super) file: Arc<TraceFile>,
    pub(super) pid: u32,
    pub(super) title: String,
}

/// Plays one session against the server at `addr`, recording its events in `trace`, if given.
pub(super) async fn play(
    script: &'static Script,
    addr: std::net::SocketAddr,
    delay: Duration,
    page: &mut Page<'_>,
    progress: &Progress,
    trace: Option<Traced>,
) -> anyhow::Result<Played> {
    let stream = net::connect(&addr.into(), Some(Duration::from_secs(10))).await?;
    let (keyboard, client_input) = tokio::io::duplex(4096);
    let (client_output, screen) = tokio::io::duplex(64 * 1024);
    let relay = AbortOnDropHandle::new(tokio::spawn(client::relay(
        stream,
        client_input,
        client_output,
    )));
    let mut keyboard = Some(keyboard);
    let started = Instant::now();
    let mut screen = Screen::new(screen, started);
    screen.trace = trace.map(|trace| {
        SessionEvents::open(trace.file, started, trace.pid, Side::Client, &trace.title)
    });
    // The server owes an echo at least every delay; this much silence means something broke.
    let silence_limit = delay * 3 + Duration::from_secs(5);

    let mut director = Director::new(script, delay);
    let mut effects = director.start(Duration::ZERO);
    loop {
        for effect in effects {
            let performed = perform(effect, script, &mut keyboard, &mut screen, page, progress);
            if let Err(e) = performed.await {
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
            read = timeout(silence_limit, screen.next_line()) => {
                match read {
                    Err(_) => anyhow::bail!(
                        "the server sent nothing for {}; giving up",
                        echoctl_core::duration::format(silence_limit)
                    ),
                    Ok(Err(e)) => return Err(e).context("cannot read the client's output"),
                    Ok(Ok(None)) => break,
                    Ok(Ok(Some(line))) => {
                        director.heard(&echoctl_core::echo::echo_text(&line.wire), started.elapsed())
                    }
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
    if let Some(trace) = &mut screen.trace {
        let reason = "the server closed the connection";
        trace.close(screen.session.recording(), Instant::now(), reason);
    }
    if !director.finished() {
        anyhow::bail!("the server closed the connection before the session ended");
    }
    Ok(Played::Finished(screen.session.recording().clone()))
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
    screen: &mut Screen,
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
            let typed = screen.typed(line);
            return keys
                .write_all(&typed)
                .await
                .map_err(|_| Failure::KeyboardClosed);
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
