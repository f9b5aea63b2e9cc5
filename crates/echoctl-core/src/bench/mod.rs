//! The bench's books: what a load run owes, sent and heard, added up into its report.
//!
//! Pure, tested without sockets:
//!
//! * [`ledger`]: the shouts a connection sent and the echo lines still owed, matching each line
//!   to the shout and voice it names (echoes of different shouts interleave in concurrent mode)
//!   and computing its lateness;
//! * [`pacing`]: when a connection shouts, when it is done, when it gives up on a silent server;
//! * [`lateness`]: per-voice histograms and their percentiles;
//! * [`outcome`]: what a connection ended with, and why it failed when it did;
//! * [`tally`]: what every connection ended with, added up into the report's figures;
//! * [`report`]: the verdict, the table and the JSON;
//! * [`hgrm`]: the distribution in HdrHistogram's percentile-distribution text.

pub mod hgrm;
pub mod lateness;
pub mod ledger;
pub mod outcome;
pub mod pacing;
pub mod report;
pub mod tally;

use std::time::Duration;

use crate::address::Address;

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
    /// The server (a name is resolved once; every connection goes there).
    pub addr: Address,
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

/// What a process has used so far: the bench measures its own cost, since it shares the machine
/// with the server it loads.
#[derive(Debug, Clone, Copy)]
pub struct CpuTimes {
    pub user: Duration,
    pub system: Duration,
    /// Peak resident memory of the whole process so far, in bytes.
    pub peak_rss: u64,
}
