//! The load generator: connections, shouts on schedule, every echo line read and checked.
//!
//! This file is the I/O: sockets, timers and the tasks. What a connection does next is decided by
//! [`super::pacing`], each line is judged by [`super::ledger`], and the figures are added up by
//! [`super::tally`].
//!
//! One task per connection owns its socket and waits on whichever comes first: echo bytes to read,
//! the next shout falling due, room to write, the `--duration` cap, or giving up on a silent
//! server. Reads and writes are readiness-based (`try_read`/`try_write`), so a connection never
//! blocks on a write while echoes wait to be read (a server that stops reading when its client
//! stops reading would otherwise deadlock with us). Bytes are read into the worker thread's
//! scratch chunk ([`crate::transport`]) and split by the crate's line reader
//! ([`echoctl_core::lines::LineSplitter::split_chunk`]) straight from it, so a connection holds no read
//! buffer between reads, only a partial line if one is cut.
//!
//! Connects are spread evenly over `--ramp-up` with at most [`MAX_CONNECTING`] in progress, so a
//! run does not open 10,000 connections in one burst; spreading them over one interval also spreads
//! their shouts evenly over time, which is the load the targets are stated for.
//!
//! When a connection has sent its shouts and heard every echo, it half-closes and waits for the
//! server to close, so extra lines after the last echo are caught as wrong. It gives up on echoes
//! still owed `2 × delay + --grace` after it last sent or heard anything.
//!
//! Paced by time, a shout's time on the schedule is its plan ([`super::pacing`]); when the bench
//! falls behind, the overdue shouts go out at once. A shout's actual send is when the socket took
//! its last byte (the clock read just before the write that took it, so no server can answer
//! before it), which a server that stops reading holds back: the ledger times echoes from both.
//!
//! A run cut short ([`run_until`]'s token, Ctrl-C) ends every connection where it is and reports
//! what was measured until then.

use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use echoctl_core::Address;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::cpu;
use super::lateness::{Measurements, Samples};
use super::outcome::{ConnectionError, Outcome};
use super::report::Report;
use super::tally::{Collected, WrongExamples, build_report};
use super::{BenchConfig, Progress};
use crate::net;
use crate::observe::TraceFile;
use crate::tls::ClientTls;

mod connection;

use connection::connection;
pub(super) use connection::hear;

/// Connects in progress at once, at most. Beyond a few hundred, a burst only fills the server's
/// accept queue; the ramp-up spreads them anyway.
pub(crate) const MAX_CONNECTING: usize = 256;

/// What all connection tasks share.
pub(super) struct Shared {
    pub(super) config: BenchConfig,
    pub(super) addrs: Vec<SocketAddr>,
    /// The address that last accepted, tried first by the next connection.
    pub(super) preferred: AtomicUsize,
    pub(super) progress: Arc<Progress>,
    /// When the run started: arrivals are counted from it.
    started: Instant,
    measurements: Mutex<Measurements>,
    wrong_examples: Mutex<WrongExamples>,
    /// Cancelled when `--duration` runs out: no new connections or shouts.
    pub(super) stop: CancellationToken,
    /// Cancelled to cut the run short: every connection ends where it is.
    pub(super) cut: CancellationToken,
    /// Every connection's TLS (`--tls`), if any.
    tls: Option<ClientTls>,
    /// Where the first connections record their sessions (`--trace`), if anywhere.
    trace: Option<Tracing>,
}

/// `bench --trace`: the file, and how many connections, the first, are recorded in it.
#[derive(Debug, Clone)]
pub(crate) struct Tracing {
    pub file: Arc<TraceFile>,
    pub connections: usize,
}

impl Shared {
    pub(super) fn add_samples(&self, samples: &mut Samples) {
        if samples.is_empty() {
            return;
        }
        // A panic elsewhere cannot leave a histogram half-updated in a harmful way; keep going.
        let mut measurements = self.measurements.lock().unwrap_or_else(|e| e.into_inner());
        measurements.add(samples);
    }

    fn note_wrong(&self, line: &[u8]) {
        self.wrong_examples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .note(line);
    }
}

/// Runs the load described by `config` to its end and reports what was heard.
pub async fn run(config: BenchConfig, progress: Arc<Progress>) -> anyhow::Result<Report> {
    run_until(config, progress, CancellationToken::new()).await
}

/// Runs the load described by `config` to its end, or until `cut` is cancelled, and reports what
/// was heard (marked cut short if it was).
pub async fn run_until(
    config: BenchConfig,
    progress: Arc<Progress>,
    cut: CancellationToken,
) -> anyhow::Result<Report> {
    run_with(config, None, progress, cut).await
}

/// [`run_until`], every connection over TLS when `tls` is given: each handshake timed apart
/// from its connect, and its failure counted apart from a connect's.
pub async fn run_with(
    config: BenchConfig,
    tls: Option<ClientTls>,
    progress: Arc<Progress>,
    cut: CancellationToken,
) -> anyhow::Result<Report> {
    run_traced(config, tls, progress, cut, None).await
}

/// [`run_with`], the first connections recording their sessions in `trace`.
pub(crate) async fn run_traced(
    config: BenchConfig,
    tls: Option<ClientTls>,
    progress: Arc<Progress>,
    cut: CancellationToken,
    trace: Option<Tracing>,
) -> anyhow::Result<Report> {
    // A name is resolved once: every connection goes to the same server.
    let addrs = match &config.addr {
        Address::Tcp(host_port) | Address::Udp(host_port) => net::resolve(host_port).await?,
        Address::Unix(_) => Vec::new(),
    };
    let cpu_before = cpu::now();
    let started_at = SystemTime::now();
    let started = Instant::now();
    let shared = Arc::new(Shared {
        config,
        addrs,
        preferred: AtomicUsize::new(0),
        progress,
        started,
        measurements: Mutex::new(Measurements::new()),
        wrong_examples: Mutex::new(WrongExamples::default()),
        stop: CancellationToken::new(),
        cut,
        tls,
        trace,
    });
    let cap = shared.config.duration.map(|duration| {
        let stop = shared.stop.clone();
        tokio::spawn(async move {
            sleep_until(started + duration).await;
            stop.cancel();
        })
    });

    let connecting = Arc::new(Semaphore::new(MAX_CONNECTING));
    let mut tasks = JoinSet::new();
    let n = shared.config.connections;
    let mut attempted = 0u64;
    for id in 0..n {
        let at = started + shared.config.ramp_up.mul_f64(id as f64 / n as f64);
        let permit = tokio::select! {
            biased;
            _ = shared.cut.cancelled() => break,
            _ = shared.stop.cancelled() => break,
            permit = async {
                sleep_until(at).await;
                connecting.clone().acquire_owned().await
            } => permit?,
        };
        attempted += 1;
        if shared.config.addr.is_udp() {
            tasks.spawn(super::udp::connection(id, shared.clone(), permit));
        } else {
            tasks.spawn(connection(id, shared.clone(), permit));
        }
    }

    let mut outcomes = Vec::with_capacity(n);
    while let Some(joined) = tasks.join_next().await {
        outcomes.push(joined.unwrap_or_else(|e| Outcome {
            made: true,
            dropped: true,
            error: Some(ConnectionError::Internal {
                reason: e.to_string(),
            }),
            ..Outcome::default()
        }));
    }
    if let Some(cap) = cap {
        cap.abort();
    }
    let elapsed = started.elapsed();
    let cpu_after = cpu::now();
    let measurements = shared
        .measurements
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let wrong_examples = shared
        .wrong_examples
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut report = build_report(
        &shared.config,
        &Collected {
            attempted,
            outcomes: &outcomes,
            started,
            started_at,
            elapsed,
            cpu: cpu_before.zip(cpu_after),
            measurements: &measurements,
            wrong_examples: &wrong_examples,
            cut_short: shared.cut.is_cancelled(),
        },
    );
    if let Some(datagrams) = &mut report.datagrams {
        datagrams.loopback = shared.addrs.iter().all(|addr| addr.ip().is_loopback());
    }
    Ok(report)
}
