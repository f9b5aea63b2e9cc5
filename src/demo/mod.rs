//! `echoctl demo`: the book's two sessions, replayed over real TCP.
//!
//! Nothing is faked. Each session starts the real server ([`crate::server::run`], as `serve`
//! does) on an ephemeral loopback port, connects with the real client ([`crate::net::connect`]
//! and [`crate::client::relay`], as `connect` does), and types into the client through an
//! in-memory pipe instead of a keyboard. The client's output, the server's bytes, comes back
//! through another pipe and is read through a client session (`echoctl_core::client`), as a person
//! at the screen sees it: what was typed, the lines shown, and when.
//!
//! ```text
//!   director ──keyboard pipe──▶ client::relay ──TCP──▶ server::run
//!      ▲                             │
//!      └────────screen pipe──────────┘   (echoes, as `connect` would print them)
//! ```
//!
//! One task, the director loop in `play`, owns the page: it prints the typed lines, the echoes
//! and the headers, so lines never tear. What it types and when is decided by the pure
//! [`script::Director`], which waits for cues (particular echoes), never for the clock since the
//! start; [`script`] explains why the book's order then holds at any delay. [`crate::paint`] decides
//! how lines look, `page` prints them (the one place the demo writes to standard output),
//! [`progress`] draws the bar on stderr, and `screen` reads the client's output through the
//! client session.
//!
//! That session also records what the client did and saw, on the director's clock: each shout
//! when it is handed to the client, each line of the client's output when it is read. That
//! [`Recording`] is the session's [`Timeline`], measured rather than drawn from the script;
//! with [`DemoOptions::chart_width`] its chart follows the transcript.

mod page;
mod play;
pub(crate) mod progress;
mod screen;

use std::future::Future;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::time::timeout;

use crate::net;
use crate::observe::TraceFile;
use crate::server::{self, Mode, ServerConfig};
use crate::timeline;
use crate::timer::Timer;

use echoctl_core::timeline::{Axis, Timeline};

use crate::paint::Painter;
use echoctl_core::script::{self, Director, Script};
use page::{Page, output_error};
use play::{Played, Traced, play};
pub(crate) use progress::Progress;

/// The sessions `echoctl demo --mode` plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum DemoMode {
    /// reverb1's session.
    Sequential,
    /// reverb2's session.
    Concurrent,
    /// reverb1's session, then reverb2's.
    #[default]
    Both,
}

impl DemoMode {
    pub(crate) fn sessions(self) -> &'static [Mode] {
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
pub(crate) const MIN_DELAY: Duration = Duration::from_millis(10);

#[derive(Debug, Clone)]
pub(crate) struct DemoOptions {
    pub sessions: &'static [Mode],
    pub delay: Duration,
    pub color: bool,
    /// After each session's transcript, print its timeline chart this many columns wide.
    pub chart_width: Option<usize>,
    /// Where each session's events go as it plays (`--trace`), if anywhere.
    pub trace: Option<Arc<TraceFile>>,
}

/// How the demo ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DemoEnd {
    /// Every session played to its `^D` and the server's close: their timelines, in order.
    Finished(Vec<Timeline>),
    /// The interrupt future completed (Ctrl-C): the bar is cleared and the server is stopped.
    Interrupted,
}

/// Where `demo --svg` writes its picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SvgOutput {
    /// `-`: the picture is the output, and the transcript goes to stderr.
    Stdout,
    File(std::path::PathBuf),
}

/// The picture of the sessions played, as an SVG document: the sessions one above the other on
/// one axis (the charts' scale), under the command that plays them.
pub(crate) fn picture(options: &DemoOptions, timelines: &[Timeline]) -> String {
    let mode = match options.sessions {
        [Mode::Sequential] => "sequential",
        [Mode::Concurrent] => "concurrent",
        _ => "both",
    };
    let heading = format!(
        "echoctl demo --mode {mode} --delay {}",
        echoctl_core::duration::format(options.delay)
    );
    let axis = common_axis(
        timelines,
        longest_rehearsal(options.sessions, options.delay),
    );
    let panels: Vec<&Timeline> = timelines.iter().collect();
    timeline::svg::to_string(&timeline::svg::render(&heading, &panels, &axis))
}

/// How long the longest of `sessions` should take (its rehearsal): the least the charts' shared
/// scale covers, so the first session's chart, drawn before the second has run, is on the
/// second's scale too.
pub(crate) fn longest_rehearsal(sessions: &[Mode], delay: Duration) -> Duration {
    sessions
        .iter()
        .map(|&mode| script::rehearse(Script::for_mode(mode), delay).duration)
        .max()
        .unwrap_or_default()
}

/// The axis every session's chart and picture is drawn on: the first session's delay ticks,
/// covering every timeline and at least `at_least`.
pub(crate) fn common_axis(timelines: &[Timeline], at_least: Duration) -> Axis {
    let all: Vec<&Timeline> = timelines.iter().collect();
    Axis::common(&all, at_least)
}

/// Plays the sessions, printing to `out`, until they end or `interrupt` completes. The server
/// sleeps on `timer`, as `echoctl serve` does.
pub(crate) async fn run(
    options: &DemoOptions,
    timer: &Timer,
    out: &mut dyn Write,
    progress: &mut Progress,
    interrupt: impl Future<Output = ()>,
) -> anyhow::Result<DemoEnd> {
    let mut interrupt = std::pin::pin!(interrupt);
    let mut page = Page {
        out,
        painter: Painter::new(options.color),
    };
    let mut timelines = Vec::new();
    let mut scale = longest_rehearsal(options.sessions, options.delay);
    for (index, &mode) in options.sessions.iter().enumerate() {
        let script = Script::for_mode(mode);
        if let Err(e) = page.header(progress, index > 0, mode, options.delay) {
            return Err(output_error(e));
        }

        let server = start_server(mode, options.delay, timer).await?;
        let expected = script::rehearse(script, options.delay).duration;
        progress.begin(mode, Director::new(script, options.delay).tally(), expected);
        // Each session its own process, from time 0: one above the other, on one scale.
        let trace = options.trace.as_ref().map(|file| Traced {
            file: file.clone(),
            pid: u32::try_from(index + 1).unwrap_or(u32::MAX),
            title: echoctl_core::timeline::title(Some(mode), options.delay),
        });
        let played = tokio::select! {
            biased;
            _ = &mut interrupt => Ok(Played::Interrupted),
            played = play(script, server.addr, options.delay, &mut page, progress, trace) => played,
        };
        progress.clear();
        stop_server(server).await;
        let recording = match played? {
            Played::Finished(recording) => recording,
            Played::Interrupted => return Ok(DemoEnd::Interrupted),
        };
        timelines.push(Timeline::new(&recording, Some(mode), options.delay));
        if let Some(width) = options.chart_width {
            // A session that ran past the scale the charts before it were drawn on widens it for
            // those after; both axes tick at the same delay either way.
            let axis = common_axis(&timelines, scale);
            scale = axis.end;
            let chart = timeline::terminal::render(
                &timelines[index],
                &axis,
                timeline::terminal::Options {
                    width,
                    color: options.color,
                },
            );
            page.chart(progress, &chart).map_err(output_error)?;
        }
    }
    Ok(DemoEnd::Finished(timelines))
}

/// Starts the real server, in this process, on a free loopback port.
async fn start_server(
    mode: Mode,
    delay: Duration,
    timer: &Timer,
) -> anyhow::Result<server::Running> {
    let config = ServerConfig {
        mode,
        delay,
        // When the demo stops, nobody is left to hear the echoes still owed.
        grace: Duration::ZERO,
        ..ServerConfig::default()
    };
    server::spawn(
        net::bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into()).await?,
        config,
        timer.clone(),
    )
    .context("cannot read the demo server's address")
}

/// Stops the demo's server and waits until its connection is closed.
async fn stop_server(server: server::Running) {
    // With no grace period this is immediate; the bound only guards against a bug.
    let _ = timeout(Duration::from_secs(1), server.stop()).await;
}
