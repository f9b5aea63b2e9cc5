//! `echoctl bench`: a load generator that checks every echo of a reverb server.
//!
//! It opens many connections to a server the user names (echoctl's, or the book's Go programs),
//! sends shouts on a schedule and checks each echo line byte for byte against what the server
//! owes, and measures how late each one arrived against its due time (send time + k × delay). It
//! always stops by itself: the number of shouts is finite, `--duration` caps the sending, and
//! echoes that do not come are given up on after `2 × delay + --grace`.
//!
//! The pure parts are apart from the I/O and tested without sockets:
//!
//! * [`ledger`]: the shouts a connection sent and the echo lines still owed, matching each line
//!   to the shout and voice it names (echoes of different shouts interleave in concurrent mode)
//!   and computing its lateness;
//! * [`pacing`]: when a connection shouts, when it is done, when it gives up on a silent server;
//! * [`lateness`]: per-voice histograms and their percentiles;
//! * [`outcome`]: what a connection ended with, and why it failed when it did;
//! * [`tally`]: what every connection ended with, added up into the report's figures;
//! * [`report`]: the verdict, the table and the JSON;
//! * [`hgrm`]: the distribution in HdrHistogram's percentile-distribution text;
//! * [`chart`]: lateness by percentile as an SVG chart.
//!
//! [`load`] is the I/O: connects, shouts, reads, and fills the report. [`cpu`] measures what the
//! bench itself cost, since it shares the machine with the server it loads. Its command line is
//! in `cli/bench.rs`, at the edge.

pub mod chart;
pub mod cpu;
pub mod hgrm;
pub mod lateness;
pub mod ledger;
pub mod load;
pub mod outcome;
pub mod pacing;
pub mod report;
pub mod tally;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use load::{run, run_until};
pub use report::Report;

/// How a connection paces its shouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// One shout every interval, on an absolute schedule from the connection's start.
    Interval(Duration),
    /// Throughput mode: as fast as echoes return, with at most this many shouts in flight.
    Window(usize),
}

/// What the server is expected to send back; in the JSON report, `"reverb"` or `"plain"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// A reverb server: three echo lines per shout, a delay apart.
    #[default]
    Reverb,
    /// A plain echo server: each shout back once, unchanged, at once.
    Plain,
}

impl Expect {
    /// Lines owed for each shout sent.
    pub fn lines_per_shout(self) -> u64 {
        match self {
            Expect::Reverb => 3,
            Expect::Plain => 1,
        }
    }
}

/// A bench run, fully specified.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The server, HOST:PORT (resolved once; every connection goes there) or unix:PATH.
    pub addr: String,
    pub connections: usize,
    /// Shouts per connection. Zero holds the connections open, idle, until `duration`.
    pub shouts: u64,
    pub pace: Pace,
    /// The server's delay between echoes, to know when each is due.
    pub delay: Duration,
    /// Connects are spread evenly over this time.
    pub ramp_up: Duration,
    /// No new connections or shouts after this, counted from the start.
    pub duration: Option<Duration>,
    /// How long a connect may take; `None`: as long as the system allows.
    pub connect_timeout: Option<Duration>,
    /// Extra time to wait for echoes past their due time before counting them missing.
    pub grace: Duration,
    /// A reverb server, or a plain echo (whose delay is zero).
    pub expect: Expect,
}

impl BenchConfig {
    /// The most echo lines this run can expect, for a progress bar.
    pub fn max_echo_lines(&self) -> u64 {
        (self.connections as u64)
            .saturating_mul(self.shouts)
            .saturating_mul(self.expect.lines_per_shout())
    }
}

/// What to make of a run's report beside the verdict: how to print it, which files to write, and
/// the lateness limit it must meet.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Print JSON instead of the table.
    pub json: bool,
    /// Write the lateness distribution (`.hgrm`) here, and per voice beside it.
    pub percentiles: Option<PathBuf>,
    /// Write the lateness-by-percentile chart here.
    pub svg: Option<PathBuf>,
    /// Fail the run when the p99 lateness of any voice is over this.
    pub max_p99: Option<Duration>,
}

/// Live counts, updated by the connections as they go, for a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    pub connected: AtomicU64,
    pub failed: AtomicU64,
    pub finished: AtomicU64,
    pub shouts: AtomicU64,
    pub echoes: AtomicU64,
}

impl Progress {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
