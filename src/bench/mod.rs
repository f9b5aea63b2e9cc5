//! `echoctl bench`: a load generator that checks every echo of a reverb server.
//!
//! It opens many connections to a server the user names (echoctl's, or the book's Go programs),
//! sends shouts on a schedule and checks each echo line byte for byte against what the server
//! owes, and measures how late each one arrived against its due time (send time + k × delay). It
//! always stops by itself: the number of shouts is finite, `--duration` caps the sending, and
//! echoes that do not come are given up on after `2 × delay + --grace`.
//!
//! The pure books (what each connection owes and heard, the pacing, the lateness, the tally and
//! the report) are in `echoctl_core::bench`, tested without sockets; [`chart`] draws the lateness
//! by percentile as an SVG chart.
//!
//! [`load`] is the I/O: connects, shouts, reads, and fills the report; `udp` is a connection's
//! run over UDP, a socket of its own, each shout and echo a datagram. [`cpu`] measures what the
//! bench itself cost, since it shares the machine with the server it loads. Its command line is
//! in `cli/bench.rs`, at the edge.

pub mod chart;
pub(crate) mod cpu;
mod exchange;
pub(crate) mod load;
mod udp;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use echoctl_core::bench::{
    BenchConfig, Expect, Pace, hgrm, lateness, ledger, outcome, pacing, report, report::Report,
    tally,
};
pub(crate) use load::{Tracing, run_traced};
pub use load::{run, run_until, run_with};

/// What to make of a run's report beside the verdict: how to print it, which files to write, and
/// the lateness limit it must meet.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReportOptions {
    /// Print JSON instead of the table.
    pub json: bool,
    /// Write the lateness distribution (`.hgrm`) here, and per voice beside it.
    pub percentiles: Option<PathBuf>,
    /// Write the lateness-by-percentile chart here.
    pub svg: Option<PathBuf>,
    /// Fail the run when the p99 lateness of any voice is over this.
    pub max_p99: Option<Duration>,
    /// Pass the damage faults do on purpose (`--allow-faults`).
    pub allow_faults: bool,
    /// Over UDP, the share of echoes in percent that may be lost (`--max-loss`).
    pub max_loss: f64,
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
    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
