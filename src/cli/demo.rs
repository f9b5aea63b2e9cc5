//! `echoctl demo`'s arguments and the demo options they make.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::parse::{parse_demo_delay, parse_trace_max};
use super::{for_command, trace_options};
use crate::demo::{DemoMode, DemoOptions, SvgOutput};
use crate::observe::{DEFAULT_TRACE_MAX, TraceFile, TraceOptions};

/// Replay the book's two sessions: a real server and client over loopback TCP.
///
/// Starts the server in this process on a free 127.0.0.1 port, connects to it with the same client
/// as connect, and types the book's lines into it: reverb1's session (sequential), then
/// reverb2's (concurrent). Typed lines are flush left, the server's echoes indented and, on a
/// terminal, colored by voice: loud, as sent, fading. A progress bar on stderr shows how far each
/// session has got when stderr and the transcript are the same terminal. Ctrl-C stops at once
/// (exit status 130).
///
/// --timeline and --svg show when things happened, as the client measured it: when each shout
/// was sent, when each of its echoes came back, and how long the server left it unread (the gap
/// from sending it to its first echo, less the session's shortest such gap, the round trip).
#[derive(Debug, Args)]
#[command(
    arg = for_command("quiet", "Log only errors: the demo logs nothing else without -v"),
    arg = for_command(
        "verbose",
        "Log what its server and client do: each connection, each shout; -vv adds internal \
         detail. RUST_LOG overrides both",
    ),
    arg = for_command(
        "color",
        "When to color the transcript, its --timeline chart and the logs",
    ),
)]
#[command(after_help = "\
Examples:
  echoctl demo                                # both sessions, 1 s between echoes
  echoctl demo --mode concurrent --delay 300ms
  echoctl demo --color never > session.txt    # the book's transcripts, as text
  echoctl demo --timeline                     # each transcript, then its timeline
  echoctl demo --svg timeline.svg             # the timelines as a picture for a slide")]
pub struct DemoArgs {
    /// Which session to replay.
    #[arg(short, long, value_enum, default_value_t = DemoModeArg::Both)]
    pub mode: DemoModeArg,

    /// Time between a shout's echoes, e.g. 1s, 250ms; at least 10ms.
    #[arg(short, long, value_name = "DURATION", default_value = "1s", value_parser = parse_demo_delay, allow_hyphen_values = true)]
    pub delay: Duration,

    /// After each session's transcript, chart its timeline: a row per shout, marks where it was
    /// sent and where each echo came back, and the wait in the server. With both sessions, both
    /// charts share one time scale. The chart fits the terminal (80 columns when the transcript
    /// is not shown on one).
    #[arg(long)]
    pub timeline: bool,

    /// Write the sessions' timelines, once all have played, as an SVG picture to PATH (one panel
    /// a session, titled with the mode and delay). A PATH of - writes it to stdout, and the
    /// transcript (and any --timeline chart) then goes to stderr.
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub svg: Option<PathBuf>,

    /// Write a trace of the sessions to PATH as they play, in the Trace Event format (JSON)
    /// that Perfetto (ui.perfetto.dev) and chrome://tracing open: the client's view, a process
    /// per session, both from time 0 so that reverb1 lies above reverb2. A slice per shout from
    /// its send to its last echo, on a track of its own while it overlaps others (reverb2's
    /// shouts), its wait for the loud echo (reverb1's third shout), an instant per echo line
    /// heard, and arrows from each shout to its echoes.
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub trace: Option<PathBuf>,

    /// Stop recording the --trace once the file would pass SIZE; its last event says so.
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_TRACE_MAX, value_parser = parse_trace_max, requires = "trace")]
    pub trace_max: usize,
}

impl DemoArgs {
    /// The demo's options, `color` being whether to color the transcript and `columns` the width
    /// it is shown in (both decided by the caller, who knows where it goes); the sessions'
    /// events go to `trace`, if given.
    pub(crate) fn options(
        &self,
        color: bool,
        columns: usize,
        trace: Option<Arc<TraceFile>>,
    ) -> DemoOptions {
        DemoOptions {
            sessions: DemoMode::from(self.mode).sessions(),
            delay: self.delay,
            color,
            chart_width: self.timeline.then_some(columns),
            trace,
        }
    }

    /// Where `--trace` writes, if anywhere.
    pub(crate) fn trace(&self) -> Option<TraceOptions> {
        trace_options(self.trace.as_ref(), self.trace_max)
    }

    /// Where `--svg` writes the picture, if anywhere.
    pub(crate) fn svg_output(&self) -> Option<SvgOutput> {
        self.svg.as_ref().map(|path| {
            if path.as_os_str() == "-" {
                SvgOutput::Stdout
            } else {
                SvgOutput::File(path.clone())
            }
        })
    }
}

/// The values of `demo --mode`: which sessions to replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoModeArg {
    /// reverb1's session.
    Sequential,
    /// reverb2's session.
    Concurrent,
    /// reverb1's session, then reverb2's.
    Both,
}

impl From<DemoModeArg> for DemoMode {
    fn from(mode: DemoModeArg) -> DemoMode {
        match mode {
            DemoModeArg::Sequential => DemoMode::Sequential,
            DemoModeArg::Concurrent => DemoMode::Concurrent,
            DemoModeArg::Both => DemoMode::Both,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn demo_svg_dash_is_stdout_and_timeline_takes_the_width_given() {
        let parse = |args: &[&str]| match Cli::try_parse_from(args).map(|cli| cli.command) {
            Ok(Command::Demo(args)) => args,
            other => panic!("expected demo: {other:?}"),
        };
        let args = parse(&["echoctl", "demo", "--svg", "-", "--timeline"]);
        assert_eq!(args.svg_output(), Some(SvgOutput::Stdout));
        assert_eq!(args.options(false, 57, None).chart_width, Some(57));
        let args = parse(&["echoctl", "demo", "--svg", "./-"]);
        assert_eq!(
            args.svg_output(),
            Some(SvgOutput::File(PathBuf::from("./-")))
        );
        assert_eq!(args.options(false, 57, None).chart_width, None);
        assert_eq!(parse(&["echoctl", "demo"]).svg_output(), None);
    }
}
