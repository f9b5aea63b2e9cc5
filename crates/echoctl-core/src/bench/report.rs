//! The result of a bench run: counts, lateness and the bench's own cost, as a table for people
//! and as JSON for scripts.
//!
//! Pure: the load generator fills a [`Report`] in; formatting and the verdict live here.

use std::fmt::Write;
use std::time::Duration;

use serde::Serialize;

use super::Expect;
use super::lateness::{Measurements, Percentiles, Quantile, Summary};
use super::outcome::ConnectionError;
use crate::plural::counted;

/// The JSON report's layout version: 2 added the schema version, start time, command line,
/// lateness from the plan (`lateness`, which was from the send in 1), `lateness_from_send`,
/// `send_slip`, `connect_time`, `early_by`, the steady rate, the failed checks and `cut_short`,
/// and min, mean, p90 and p99.99 beside every lateness's percentiles. Every field of 1 is kept.
/// 3 added what a faulty server does (`connections.reset`, `closed_early`, `stalled`,
/// `echo_lines.late`, `corrupted`), `settings.allow_faults`, `echo_lines.not_yet_due` (a run cut
/// short no longer counts those as missing) and `delay_looks_longer_by_ms`; every field of 2 is
/// kept. 4 added, for runs over UDP only, `datagrams` (lost, duplicated, reordered, and whether
/// the target was loopback) and `settings.max_loss_percent`; every field of 3 is kept, and a run
/// over TCP or a Unix socket has no other. 5 added the handshake a transport makes after its
/// connect (TLS): `handshake_time` and `connections.handshake_failed`; every field of 4 is kept.
pub const SCHEMA_VERSION: u32 = 5;

/// Everything a run measured. Serialized as is for `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    /// When the run started, RFC 3339 in UTC.
    pub started_at: String,
    /// The command line that ran it (empty when run as a library).
    pub command_line: Vec<String>,
    /// The address the connections went to.
    pub target: String,
    pub settings: Settings,
    pub connections: Connections,
    pub shouts_sent: u64,
    pub echo_lines: EchoLines,
    /// Wall time from the first connect to the end of the last connection, in seconds.
    pub elapsed_s: f64,
    /// Echo lines received per second, from the first shout sent to the last echo heard.
    pub echo_lines_per_s: f64,
    /// Echo lines received per second over the steady part of the run: from the moment the last
    /// connection sent its first shout (the ramp-up over) to the moment the first connection sent
    /// its last (the drain begun). `None` when there is no such part.
    pub steady_echo_lines_per_s: Option<f64>,
    /// How long the steady part lasted, in seconds (0 when there is none).
    pub steady_s: f64,
    /// What lateness is measured from.
    pub lateness_measured_from: MeasuredFrom,
    /// Against each echo's due time from its shout's planned send (in throughput mode, from its
    /// actual send).
    pub lateness: LatenessReport,
    /// Against each echo's due time from its shout's actual send.
    pub lateness_from_send: LatenessReport,
    /// Actual minus planned send time of the shouts paced by time; `None` in throughput mode.
    pub send_slip: Option<Summary>,
    /// How long the connections that were made took to connect.
    pub connect_time: Summary,
    /// How long their handshakes took after the connect (count 0: the transport has none).
    pub handshake_time: Summary,
    /// How long before their due time the early echo lines arrived (count 0: none was early).
    pub early_by: Summary,
    /// How much longer than `--delay` the server's delay looks, when each voice is later than
    /// the one before by about the same step (see [`delay_looks_longer_by`]); a failed check.
    pub delay_looks_longer_by_ms: Option<f64>,
    /// The bench's own CPU time and memory, so its cost next to the server is known.
    pub bench_cpu: Option<CpuUse>,
    /// Over UDP: the datagrams lost, duplicated and reordered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datagrams: Option<Datagrams>,
    /// The first few wrong lines, escaped, to show what went wrong.
    pub wrong_examples: Vec<String>,
    /// Connection errors, each with its count, most frequent first (then by message).
    pub errors: Vec<ErrorCount>,
    /// The checks the run failed, each with its count: `"3 missing"`, `"1 early"`, ...
    pub failed_checks: Vec<String>,
    /// Ended by Ctrl-C (or SIGTERM) before it was done: the figures cover what was measured
    /// until then; what was still owed counts as missing if it was overdue, and as
    /// `echo_lines.not_yet_due` if not.
    pub cut_short: bool,
    /// Nothing missing, wrong or early, no connection failed or dropped, no p99 over
    /// `--max-p99`, and not cut short.
    pub ok: bool,
    /// The histograms the figures come from, for `--percentiles` and `--svg`.
    #[serde(skip)]
    pub measurements: Measurements,
}

#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub connections: usize,
    pub shouts_per_connection: u64,
    /// Time between a connection's shouts, when paced by time.
    pub interval_ms: Option<f64>,
    /// Shouts in flight per connection, in throughput mode.
    pub window: Option<usize>,
    pub delay_ms: f64,
    pub ramp_up_ms: f64,
    pub duration_cap_ms: Option<f64>,
    /// `--max-p99`: the run fails when the p99 lateness of any voice is over it.
    pub max_p99_ms: Option<f64>,
    /// `--allow-faults`: the damage a faulty server does on purpose does not fail the run.
    pub allow_faults: bool,
    /// What the server was expected to send back: `reverb` or `plain`.
    pub expect: Expect,
    /// Over UDP, `--max-loss`: the share of the echo lines owed, in percent, that may be lost
    /// before the run fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_loss_percent: Option<f64>,
}

/// What UDP did to the echo datagrams (each echo line is one): the figures of [`EchoLines`]
/// that datagrams make, under their names.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Datagrams {
    /// Echo datagrams that never came: `echo_lines.missing`.
    pub lost: u64,
    /// Lost, in percent of the echo lines expected.
    pub lost_percent: f64,
    /// Repeats of an echo already heard (of `echo_lines.wrong`).
    pub duplicated: u64,
    /// Echoes heard after a younger shout's echo of the same voice: `echo_lines.out_of_order`.
    pub reordered: u64,
    /// Every address the target resolved to is a loopback address, where nothing should be
    /// lost: a loss there is a receive buffer that overflowed.
    pub loopback: bool,
}

/// What lateness is measured from; in JSON, `"plan"` or `"send"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MeasuredFrom {
    /// Paced by time: each shout's planned send, so a bench that falls behind shows in it.
    Plan,
    /// Throughput mode, a closed loop: each shout's actual send.
    Send,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Connections {
    /// Connections attempted (fewer than asked if `--duration` ended the ramp-up).
    pub attempted: u64,
    pub made: u64,
    pub failed: u64,
    /// Connected, then failed in the handshake (of the failed).
    pub handshake_failed: u64,
    /// Made, then closed by the server or reset before every echo arrived.
    pub dropped: u64,
    /// Reset by the server (of the dropped).
    pub reset: u64,
    /// Closed by the server with echo lines owed (of the dropped).
    pub closed_early: u64,
    /// Left open by a server gone silent with echo lines owed.
    pub stalled: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EchoLines {
    /// Three per shout sent.
    pub expected: u64,
    pub received: u64,
    pub missing: u64,
    pub wrong: u64,
    /// Owed when the run was cut short, but not yet due (nor past due by less than `--grace`):
    /// not counted missing.
    pub not_yet_due: u64,
    /// Matched a younger shout while an older one was still owed the same voice.
    pub out_of_order: u64,
    /// Arrived before they were due: the server's delay is shorter than `--delay`.
    pub early: u64,
    /// Arrived more than [`LATE_AFTER`](super::ledger::LATE_AFTER) after they were due
    /// (from the send): reported, failing a run only through `--max-p99`.
    pub late: u64,
    /// Wrong lines one byte off an echo line owed (of the wrong): what a `corrupt` fault does.
    pub corrupted: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LatenessReport {
    pub upper: Percentiles,
    pub original: Percentiles,
    pub lower: Percentiles,
    pub all: Percentiles,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct CpuUse {
    pub user_s: f64,
    pub system_s: f64,
    /// CPU time over wall time: 100 means one core busy the whole run.
    pub percent_of_one_core: f64,
    /// Microseconds of the bench's CPU per echo line received.
    pub us_per_echo_line: f64,
    pub peak_rss_mb: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorCount {
    pub error: ConnectionError,
    pub count: u64,
}

impl Report {
    /// The checks this run fails, each with its count: missing, wrong or early echo lines,
    /// connections failed or dropped, and p99 lateness over `--max-p99`.
    ///
    /// With `--allow-faults`, the damage a faulty server does on purpose passes: echo lines
    /// missing, wrong lines one byte off an echo owed (corrupted), connections reset, closed
    /// early or stalled. What no fault does still fails: any other wrong line, an early one, a
    /// connect that failed, a connection dropped otherwise, a p99 over `--max-p99`.
    pub fn failed_checks(&self) -> Vec<String> {
        let e = &self.echo_lines;
        let c = &self.connections;
        let allow = self.settings.allow_faults;
        let mut failed = Vec::new();
        let missing = e
            .missing
            .max(e.expected.saturating_sub(e.received + e.not_yet_due));
        let wrong = if allow {
            e.wrong.saturating_sub(e.corrupted)
        } else {
            e.wrong
        };
        let missing = if allow { 0 } else { missing };
        match self.settings.max_loss_percent {
            // Over UDP a loss within --max-loss passes; a loss over it is said as one.
            Some(max_loss) => {
                let share = percent(missing, e.expected);
                if missing > 0 && share > max_loss {
                    failed.push(format!(
                        "{missing} lost ({}, over the --max-loss of {}%)",
                        percent_text(share),
                        max_loss
                    ));
                }
            }
            None if missing > 0 => failed.push(format!("{missing} missing")),
            None => {}
        }
        for (count, what) in [(wrong, "wrong"), (e.early, "early")] {
            if count > 0 {
                failed.push(format!("{count} {what}"));
            }
        }
        if let Some(longer) = self.delay_looks_longer_by_ms {
            failed.push(format!(
                "the server's delay looks {} longer than --delay",
                setting_ms(longer)
            ));
        }
        if c.failed > 0 {
            failed.push(format!("{} failed", counted(c.failed, "connection")));
        }
        let dropped = if allow {
            c.dropped.saturating_sub(c.reset + c.closed_early)
        } else {
            c.dropped
        };
        if dropped > 0 {
            failed.push(format!("{} dropped", counted(dropped, "connection")));
        }
        if let Some(limit) = self.settings.max_p99_ms {
            let over: Vec<String> = self
                .lateness
                .voices()
                .into_iter()
                .filter(|(_, p)| p.count > 0 && p.p99_ms > limit)
                .map(|(name, p)| format!("{name} {}", ms(p.p99_ms)))
                .collect();
            if !over.is_empty() {
                failed.push(format!(
                    "p99 lateness over the {} limit in {} ({})",
                    setting_ms(limit),
                    counted(over.len(), "voice"),
                    over.join(", ")
                ));
            }
        }
        failed
    }

    /// Whether the server passed every check: every echo line received, exactly and not early,
    /// on every connection, and no p99 over the limit.
    pub fn verdict(&self) -> bool {
        self.failed_checks().is_empty()
    }

    /// Sets the failed checks and `ok` from the figures.
    pub fn judge(&mut self) {
        self.failed_checks = self.failed_checks();
        self.ok = self.failed_checks.is_empty() && !self.cut_short;
    }

    /// The damage a faulty server does on purpose does not fail the run (`--allow-faults`).
    pub fn with_faults_allowed(mut self, allow: bool) -> Self {
        self.settings.allow_faults = allow;
        self.judge();
        self
    }

    /// The consequences of a faulty server, by name, when it shows any (or the run allows
    /// them): connections reset, closed early, stalled; echo lines missing, wrong (and of
    /// them, corrupted), late.
    pub fn faults_seen(&self) -> Option<String> {
        let c = &self.connections;
        let e = &self.echo_lines;
        let shows_any = c.reset + c.closed_early + c.stalled + e.late + e.corrupted > 0;
        if !shows_any && !self.settings.allow_faults {
            return None;
        }
        let late_after = ms(super::ledger::LATE_AFTER.as_secs_f64() * 1000.0);
        let wrong = if e.corrupted > 0 {
            format!(
                "{} wrong ({} one byte off an echo owed)",
                e.wrong, e.corrupted
            )
        } else {
            format!("{} wrong", e.wrong)
        };
        Some(format!(
            "{} reset, {} closed early, {} stalled; echo lines {} missing, {wrong}, {} late \
             (over {late_after} past due)",
            counted(c.reset, "connection"),
            c.closed_early,
            c.stalled,
            e.missing,
            e.late,
        ))
    }

    /// Over UDP, the run fails only when more than `percent` of the echo lines owed are lost
    /// (`--max-loss`, default 0). Nothing changes for a run over a stream.
    pub fn with_max_loss(mut self, percent: f64) -> Self {
        if self.datagrams.is_some() {
            self.settings.max_loss_percent = Some(percent);
            self.judge();
        }
        self
    }

    /// The line the table gives the datagrams of a UDP run, with the likely cause of a loss
    /// on loopback.
    fn datagrams_line(&self, d: &Datagrams) -> String {
        let mut line = format!(
            "{} lost ({}), {} duplicated, {} reordered",
            d.lost,
            percent_text(d.lost_percent),
            d.duplicated,
            d.reordered
        );
        if d.lost > 0 && d.loopback {
            line.push_str(
                "\n             lost on loopback, where nothing is lost on the way: a receive \
                 buffer\n             overflowed, the server's or the bench's (SO_RCVBUF; the \
                 system caps it\n             at net.core.rmem_max); a slower --rate or a smaller \
                 --window loses less",
            );
        }
        line
    }

    /// The run fails when the p99 lateness of any voice is over `limit` (`--max-p99`).
    pub fn with_max_p99(mut self, limit: Option<Duration>) -> Self {
        self.settings.max_p99_ms = limit.map(|limit| limit.as_secs_f64() * 1000.0);
        self.judge();
        self
    }

    /// The plain table printed at the end of a run, for a file or a wide terminal.
    pub fn table(&self) -> String {
        self.table_for(None)
    }

    /// [`table`](Report::table) for a terminal `columns` wide (`None`: no terminal). Where it
    /// does not fit, the lateness grid keeps the columns that fit, the most telling first (p50,
    /// p99, max, p99.9, p90, mean, p99.99, min; three at least), and the other lines wrap at
    /// word boundaries under their label's column, so nothing is left to the terminal to wrap
    /// mid-word.
    pub fn table_for(&self, columns: Option<usize>) -> String {
        let full = self.render(&Column::ALL, None);
        let Some(width) = columns else {
            return full;
        };
        if full.lines().all(|line| line.chars().count() <= width) {
            return full;
        }
        // A row is 18 columns of name and count, then 10 a cell (the last one's mark column
        // left blank at the end).
        let fit = (width.saturating_sub(17) / 10).clamp(3, Column::ALL.len());
        let kept = &Column::BY_IMPORTANCE[..fit];
        let columns: Vec<Column> = Column::ALL
            .into_iter()
            .filter(|column| kept.contains(column))
            .collect();
        self.render(&columns, Some(width))
    }

    /// The table with these lateness `columns`, its other lines wrapped to `width` if given.
    fn render(&self, columns: &[Column], width: Option<usize>) -> String {
        let mut t = Page {
            text: String::new(),
            line: String::new(),
            width,
        };
        let s = &self.settings;
        let pace = match (s.window, s.interval_ms) {
            (Some(window), _) => format!("{window} in flight each"),
            (None, Some(interval)) => format!("every {}", setting_ms(interval)),
            (None, None) => String::new(),
        };
        let server = match s.expect {
            Expect::Plain => "plain echo".to_string(),
            Expect::Reverb => format!("server delay {}", setting_ms(s.delay_ms)),
        };
        let _ = writeln!(
            t,
            "echoctl bench {}: {} x {}, {pace}, {server}",
            self.target,
            counted(s.connections, "connection"),
            counted(s.shouts_per_connection, "shout"),
        );
        let c = &self.connections;
        let three_figures = |times: &Summary| {
            format!(
                "p50 {}, p99 {}, max {}",
                ms(times.p50_ms),
                ms(times.p99_ms),
                ms(times.max_ms)
            )
        };
        let in_handshake = if c.handshake_failed > 0 {
            format!(" ({} in the handshake)", c.handshake_failed)
        } else {
            String::new()
        };
        let _ = writeln!(
            t,
            "connections  {} made, {} failed{in_handshake}, {} dropped (of {} attempted)",
            c.made, c.failed, c.dropped, c.attempted
        );
        if self.connect_time.count > 0 {
            let _ = writeln!(t, "connect      {}", three_figures(&self.connect_time));
        }
        if self.handshake_time.count > 0 {
            let _ = writeln!(t, "handshake    {}", three_figures(&self.handshake_time));
        }
        let pacing = match &self.send_slip {
            Some(slip) if slip.count > 0 => format!(
                " on schedule; behind the plan p50 {}, p99 {}, max {}",
                ms(slip.p50_ms),
                ms(slip.p99_ms),
                ms(slip.max_ms)
            ),
            Some(_) => String::new(),
            None if self.shouts_sent > 0 => {
                ", closed loop (each waits for room in the window)".to_string()
            }
            None => String::new(),
        };
        let _ = writeln!(t, "shouts       {} sent{pacing}", self.shouts_sent);
        if let Some(warning) = self.slip_warning() {
            let _ = writeln!(t, "warning      {warning}");
        }
        if let Some(longer) = self.delay_looks_longer_by_ms {
            let _ = writeln!(
                t,
                "warning      each voice is about {} later than the one before: is the server's \
                 delay longer than --delay? It looks like {}",
                setting_ms(longer),
                setting_ms(s.delay_ms + longer)
            );
        }
        let e = &self.echo_lines;
        let not_yet_due = if e.not_yet_due > 0 {
            format!(", {} not yet due when cut short", e.not_yet_due)
        } else {
            String::new()
        };
        let _ = writeln!(
            t,
            "echo lines   {} expected, {} received, {} missing, {} wrong{not_yet_due}",
            e.expected, e.received, e.missing, e.wrong
        );
        if let Some(datagrams) = &self.datagrams {
            let _ = writeln!(t, "datagrams    {}", self.datagrams_line(datagrams));
        }
        if let Some(seen) = self.faults_seen() {
            let _ = writeln!(t, "faults seen  {seen}");
        }
        if e.out_of_order > 0 || e.early > 0 {
            let by = if self.early_by.count > 0 {
                format!(" by up to {}", ms(self.early_by.max_ms))
            } else {
                String::new()
            };
            let early = if e.early > 0 {
                format!("{by} (is the server's delay shorter than --delay?)")
            } else {
                String::new()
            };
            let _ = writeln!(
                t,
                "             {} out of order, {} early{early}",
                e.out_of_order, e.early,
            );
        }
        let steady = match self.steady_echo_lines_per_s {
            Some(rate) => format!(
                "; {rate:.0} steady (the {:.2}s between ramp-up and drain)",
                self.steady_s
            ),
            None => String::new(),
        };
        let _ = writeln!(
            t,
            "rate         {:.0} echo lines/s, {:.2}s in all{steady}",
            self.echo_lines_per_s, self.elapsed_s
        );
        self.lateness_rows(&mut t, columns);
        if let Some(cpu) = &self.bench_cpu {
            let _ = writeln!(
                t,
                "bench cost   {:.2}s user + {:.2}s system = {:.0}% of one core, {:.2}us per echo line, peak RSS {:.1} MB",
                cpu.user_s,
                cpu.system_s,
                cpu.percent_of_one_core,
                cpu.us_per_echo_line,
                cpu.peak_rss_mb
            );
        }
        for error in &self.errors {
            let _ = writeln!(t, "error        {} x {}", error.count, error.error);
        }
        for example in &self.wrong_examples {
            let _ = writeln!(t, "wrong line   {example}");
        }
        let _ = writeln!(t, "result       {}", self.result());
        t.text
    }

    /// The warning when the bench fell behind its schedule by more than a tenth of the interval
    /// at p99.
    pub fn slip_warning(&self) -> Option<String> {
        let slip = self.send_slip.as_ref()?;
        let interval = self.settings.interval_ms?;
        (slip.count > 0 && slip.p99_ms > interval / 10.0).then(|| {
            format!(
                "the bench fell behind its schedule, p99 {} > a tenth of {}: figures include that",
                ms(slip.p99_ms),
                setting_ms(interval)
            )
        })
    }

    /// The result line's text: the verdict, and which checks failed.
    fn result(&self) -> String {
        let failed = self.failed_checks.join(", ");
        match (self.cut_short, self.ok) {
            (true, _) if failed.is_empty() => {
                "CUT SHORT by a stop signal: the figures are what was measured until then".into()
            }
            (true, _) => format!("CUT SHORT by a stop signal, until then: {failed}"),
            (false, true) if self.settings.allow_faults && self.faults_seen_any() => {
                "OK with --allow-faults: what arrived was right or the damage faults do".into()
            }
            (false, true) => "OK: every echo line received, byte for byte".into(),
            (false, false) if failed.is_empty() => "FAILED".into(),
            (false, false) => format!("FAILED: {failed}"),
        }
    }

    /// Whether the server did any of the damage faults do.
    fn faults_seen_any(&self) -> bool {
        let c = &self.connections;
        let e = &self.echo_lines;
        c.reset + c.closed_early + c.stalled + e.missing + e.wrong + e.late > 0
    }

    fn lateness_rows(&self, t: &mut Page, columns: &[Column]) {
        let l = &self.lateness;
        if l.all.count == 0 {
            let _ = writeln!(t, "lateness     no echoes heard");
            return;
        }
        let from = match self.lateness_measured_from {
            MeasuredFrom::Plan => "from the planned send (each shout's place on the schedule)",
            MeasuredFrom::Send => {
                "from the send: throughput mode is a closed loop, a slow server slows the load"
            }
        };
        let _ = writeln!(t, "lateness     {from}, in ms");
        let mut heading = format!("  {:<9}{:>7}", "", "count");
        for column in columns {
            // Each cell has a column after it for a mark.
            let _ = write!(heading, " {:>8} ", column.heading());
        }
        t.row(&heading);
        // The smallest percentile marked in any row: the footnote says what it needs.
        let mut marked: Option<Quantile> = None;
        for (name, p) in l.voices().into_iter().chain([("all", &l.all)]) {
            // A plain echo has one voice, the shout as sent.
            if self.settings.expect == Expect::Plain && matches!(name, "upper" | "lower") {
                continue;
            }
            let mut row = format!("  {name:<9}{:>7}", p.count);
            if p.count == 0 {
                row.push_str("  no echoes heard");
                t.row(&row);
                continue;
            }
            for &column in columns {
                let cell = match column {
                    Column::Min => number(p.min_ms),
                    Column::Mean => number(p.mean_ms),
                    Column::Max => number(p.max_ms),
                    Column::At(quantile) => number(p.at(quantile)),
                };
                let mark = match column {
                    Column::At(quantile) if p.too_few_samples_for.contains(&quantile) => {
                        marked = Some(marked.map_or(quantile, |m| m.min(quantile)));
                        '*'
                    }
                    _ => ' ',
                };
                let _ = write!(row, " {cell:>8}{mark}");
            }
            t.row(&row);
        }
        if let Some(smallest) = marked {
            let _ = writeln!(
                t,
                "             * too few samples for that percentile ({} needs {}): it is the max",
                smallest.heading(),
                thousands(smallest.samples_needed())
            );
        }
        if self.lateness_measured_from == MeasuredFrom::Plan
            && self.settings.expect == Expect::Plain
        {
            let f = &self.lateness_from_send;
            let _ = writeln!(
                t,
                "from send    p99 {}, max {}",
                ms(f.original.p99_ms),
                ms(f.all.max_ms)
            );
        } else if self.lateness_measured_from == MeasuredFrom::Plan {
            let f = &self.lateness_from_send;
            let _ = writeln!(
                t,
                "from send    p99 {} / {} / {} (upper / original / lower), max {}",
                number(f.upper.p99_ms),
                number(f.original.p99_ms),
                ms(f.lower.p99_ms),
                ms(f.all.max_ms)
            );
        }
    }

    pub fn json(&self) -> String {
        // Serializing plain structs of numbers and strings cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// How much longer than `delay_ms` (`--delay`) the server's delay looks from the lateness of
/// each voice `from_send` (`None`: it does not).
///
/// Voice k of a shout is due k delays after its send. A server whose delay is D where the bench
/// was told d sends it k × D after, so voice k is late by k × (D − d) beside whatever else makes
/// every echo late: the original is later than the loud echo, and the quiet one later again, by
/// the same step. Load, queueing and a slow machine make all three voices late alike, so the
/// step between the voices' medians tells the delay apart from them. It counts when both steps
/// are at least a tenth of `--delay` (and a millisecond) and within a quarter of each other;
/// the step is given to two significant digits.
pub fn delay_looks_longer_by(from_send: &LatenessReport, delay_ms: f64) -> Option<f64> {
    let [upper, original, lower] = from_send.voices().map(|(_, p)| p);
    if [upper, original, lower].iter().any(|p| p.count == 0) {
        return None;
    }
    let first = original.p50_ms - upper.p50_ms;
    let second = lower.p50_ms - original.p50_ms;
    let step = (first + second) / 2.0;
    let least = (delay_ms / 10.0).max(1.0);
    let alike = (first - second).abs() <= step / 4.0;
    if first < least || second < least || !alike {
        return None;
    }
    let step = crate::duration::round_estimate(std::time::Duration::from_secs_f64(step / 1000.0));
    Some(step.as_secs_f64() * 1000.0)
}

/// A column of the lateness grid after the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Min,
    Mean,
    At(Quantile),
    Max,
}

impl Column {
    /// Every column, in the grid's order.
    const ALL: [Column; 8] = [
        Column::Min,
        Column::Mean,
        Column::At(Quantile::P50),
        Column::At(Quantile::P90),
        Column::At(Quantile::P99),
        Column::At(Quantile::P999),
        Column::At(Quantile::P9999),
        Column::Max,
    ];

    /// Every column, those a narrow grid keeps first.
    const BY_IMPORTANCE: [Column; 8] = [
        Column::At(Quantile::P50),
        Column::At(Quantile::P99),
        Column::Max,
        Column::At(Quantile::P999),
        Column::At(Quantile::P90),
        Column::Mean,
        Column::At(Quantile::P9999),
        Column::Min,
    ];

    fn heading(self) -> &'static str {
        match self {
            Column::Min => "min",
            Column::Mean => "mean",
            Column::At(quantile) => quantile.heading(),
            Column::Max => "max",
        }
    }
}

/// Where the table is written: whole lines, each wrapped to `width` (if given) at word
/// boundaries under the label's column, and the lateness grid's rows, never wrapped.
struct Page {
    text: String,
    /// The line being written, until its `\n`.
    line: String,
    width: Option<usize>,
}

/// Where a wrapped line's rows after the first begin: under the text after the label.
const LABEL_WIDTH: usize = 13;

impl Page {
    /// A row of the lateness grid, as it is (but for the blanks at its end).
    fn row(&mut self, row: &str) {
        self.text.push_str(row.trim_end_matches(' '));
        self.text.push('\n');
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        match self.width {
            Some(width) => {
                for row in wrap(&line, width, LABEL_WIDTH) {
                    self.row(&row);
                }
            }
            None => self.row(&line),
        }
    }
}

impl Write for Page {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let mut lines = s.split('\n');
        if let Some(first) = lines.next() {
            self.line.push_str(first);
        }
        for next in lines {
            self.end_line();
            self.line.push_str(next);
        }
        Ok(())
    }
}

/// `line` in rows of at most `width` characters, broken at spaces (after the first `indent`
/// characters, the label), each row after the first indented by `indent`. A word longer than a
/// row is cut.
fn wrap(line: &str, width: usize, indent: usize) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut rows = Vec::new();
    let mut start = 0;
    loop {
        let lead = if rows.is_empty() { 0 } else { indent };
        let room = width.saturating_sub(lead).max(1);
        let rest = &chars[start..];
        let indent_text = " ".repeat(lead);
        if rest.len() <= room {
            rows.push(format!("{indent_text}{}", rest.iter().collect::<String>()));
            return rows;
        }
        // The last space that leaves something before it (beyond the label, on the first row).
        let least = if rows.is_empty() { indent + 1 } else { 1 };
        let cut = (least..=room).rev().find(|&i| rest[i] == ' ');
        let (end, next) = cut.map_or((room, room), |i| (i, i + 1));
        let row: String = rest[..end].iter().collect();
        rows.push(format!("{indent_text}{}", row.trim_end()));
        start += next;
        while chars.get(start) == Some(&' ') {
            start += 1;
        }
    }
}

impl LatenessReport {
    /// The three voices, named, in the order they are echoed.
    pub fn voices(&self) -> [(&'static str, &Percentiles); 3] {
        [
            ("upper", &self.upper),
            ("original", &self.original),
            ("lower", &self.lower),
        ]
    }
}

/// A measured time in milliseconds, with precision where it matters, as one token the options
/// take: `0.214ms`, `12.3ms`, `1000ms`.
pub fn ms(value: f64) -> String {
    format!("{}ms", number(value))
}

/// A setting held in milliseconds, written as its option takes it: `250ms`, `1s`, `1.5s`.
pub fn setting_ms(value: f64) -> String {
    let nanos = (value * 1e6).round().max(0.0);
    // Settings are at most a year (`duration::MAX`), far within u64 nanoseconds.
    crate::duration::format(std::time::Duration::from_nanos(nanos as u64))
}

/// A number of milliseconds without the unit: `0.214`, `12.3`, `1000`.
fn number(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.3}")
    } else if value < 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

/// A count with a comma between each three digits: `10,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `part` of `whole`, in percent (0 of nothing).
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// A share in percent with precision where it matters: `0%`, `0.013%`, `2.5%`, `40%`.
fn percent_text(value: f64) -> String {
    if value == 0.0 {
        "0%".into()
    } else {
        format!("{}%", number(value))
    }
}

/// A received line, escaped and quoted, its first 120 bytes at most, for the wrong-line examples.
pub fn escape_line(line: &[u8]) -> String {
    let shown = &line[..line.len().min(120)];
    let mut text = crate::escape::escape(shown);
    if line.len() > shown.len() {
        text.push_str("...");
    }
    format!("\"{text}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ms: f64) -> Percentiles {
        Percentiles {
            count: 10,
            p50_ms: ms,
            p99_ms: ms,
            p99_9_ms: ms,
            max_ms: ms,
            min_ms: ms,
            mean_ms: ms,
            p90_ms: ms,
            p99_99_ms: ms,
            too_few_samples_for: vec![Quantile::P99, Quantile::P999, Quantile::P9999],
        }
    }

    fn summary(ms: f64) -> Summary {
        Summary {
            count: 10,
            p50_ms: ms,
            p99_ms: ms,
            max_ms: ms,
        }
    }

    fn report() -> Report {
        let lateness = LatenessReport {
            upper: p(0.1),
            original: p(0.2),
            lower: p(0.3),
            all: p(0.3),
        };
        Report {
            schema_version: SCHEMA_VERSION,
            started_at: "2026-12-02T10:00:00.000Z".into(),
            command_line: vec!["echoctl".into(), "bench".into()],
            target: "127.0.0.1:8000".into(),
            settings: Settings {
                connections: 2,
                shouts_per_connection: 5,
                interval_ms: Some(1000.0),
                window: None,
                delay_ms: 1000.0,
                expect: Expect::Reverb,
                ramp_up_ms: 1000.0,
                duration_cap_ms: None,
                max_p99_ms: None,
                allow_faults: false,
                max_loss_percent: None,
            },
            connections: Connections {
                attempted: 2,
                made: 2,
                ..Connections::default()
            },
            shouts_sent: 10,
            echo_lines: EchoLines {
                expected: 30,
                received: 30,
                ..EchoLines::default()
            },
            elapsed_s: 7.0,
            echo_lines_per_s: 4.5,
            steady_echo_lines_per_s: Some(5.0),
            steady_s: 4.0,
            lateness_measured_from: MeasuredFrom::Plan,
            lateness: lateness.clone(),
            lateness_from_send: lateness,
            send_slip: Some(summary(0.01)),
            connect_time: summary(0.2),
            handshake_time: Summary {
                count: 0,
                ..summary(0.0)
            },
            early_by: Summary {
                count: 0,
                ..summary(0.0)
            },
            delay_looks_longer_by_ms: None,
            bench_cpu: None,
            datagrams: None,
            wrong_examples: vec![],
            errors: vec![],
            failed_checks: vec![],
            cut_short: false,
            ok: true,
            measurements: Measurements::new(),
        }
    }

    /// [`report`]'s run over UDP: 30 echo datagrams owed, `lost` of them lost.
    fn udp_report(lost: u64, loopback: bool) -> Report {
        let mut r = report();
        r.target = "udp:127.0.0.1:8000".into();
        r.echo_lines.received -= lost;
        r.echo_lines.missing = lost;
        r.datagrams = Some(Datagrams {
            lost,
            lost_percent: percent(lost, 30),
            duplicated: 1,
            reordered: 2,
            loopback,
        });
        r
    }

    #[test]
    fn over_udp_a_loss_within_max_loss_passes_and_a_loss_on_loopback_names_its_cause() {
        let r = udp_report(0, true).with_max_loss(0.0);
        assert!(r.ok, "{:?}", r.failed_checks);
        assert!(
            r.table()
                .contains("datagrams    0 lost (0%), 1 duplicated, 2 reordered\n")
        );
        let r = udp_report(3, true).with_max_loss(0.0);
        assert_eq!(
            r.failed_checks,
            ["3 lost (10.0%, over the --max-loss of 0%)"]
        );
        let table = r.table();
        assert!(
            table.contains("datagrams    3 lost (10.0%), 1 duplicated"),
            "{table}"
        );
        assert!(table.contains("lost on loopback"), "{table}");
        assert!(table.contains("SO_RCVBUF"), "{table}");
        let r = udp_report(3, false).with_max_loss(10.0);
        assert!(r.ok, "10% may be lost: {:?}", r.failed_checks);
        assert!(!r.table().contains("lost on loopback"));
        let r = udp_report(4, false).with_max_loss(10.0);
        assert_eq!(
            r.failed_checks,
            ["4 lost (13.3%, over the --max-loss of 10%)"]
        );
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["datagrams"]["lost"], 4);
        assert_eq!(v["datagrams"]["duplicated"], 1);
        assert_eq!(v["settings"]["max_loss_percent"], 10.0);
        // Over a stream, --max-loss changes nothing, and the JSON has neither field.
        let r = report().with_max_loss(50.0);
        assert_eq!(r.settings.max_loss_percent, None);
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert!(v.get("datagrams").is_none());
        assert!(v["settings"].get("max_loss_percent").is_none());
    }

    #[test]
    fn verdict_needs_every_line_and_every_connection() {
        let mut r = report();
        assert!(r.verdict());
        r.echo_lines.missing = 1;
        r.echo_lines.received = 29;
        assert!(!r.verdict());
        let mut r = report();
        r.echo_lines.wrong = 1;
        assert!(!r.verdict());
        let mut r = report();
        r.connections.failed = 1;
        assert!(!r.verdict());
        let mut r = report();
        r.connections.dropped = 1;
        assert!(!r.verdict());
        let mut r = report();
        r.echo_lines.out_of_order = 3;
        assert!(r.verdict(), "out of order is reported, not a failure");
        let mut r = report();
        r.echo_lines.early = 2;
        assert!(!r.verdict(), "an echo before it is due is a wrong answer");
    }

    /// A run against a faulty server: what faults do fails it unless allowed; what they do not
    /// fails it either way.
    #[test]
    fn allowed_faults_pass_the_damage_faults_do_and_nothing_else() {
        let mut r = report();
        r.connections.dropped = 2;
        r.connections.reset = 1;
        r.connections.closed_early = 1;
        r.connections.stalled = 1;
        r.echo_lines.received = 20;
        r.echo_lines.missing = 10;
        r.echo_lines.wrong = 3;
        r.echo_lines.corrupted = 3;
        r.echo_lines.late = 4;
        r.judge();
        assert_eq!(
            r.failed_checks,
            ["10 missing", "3 wrong", "2 connections dropped"]
        );
        let t = r.table();
        assert!(
            t.contains(
                "faults seen  1 connection reset, 1 closed early, 1 stalled; echo lines 10 \
                 missing, 3 wrong (3 one byte off an echo owed), 4 late (over 100ms past due)\n"
            ),
            "{t}"
        );
        let allowed = r.clone().with_faults_allowed(true);
        assert!(allowed.ok, "{:?}", allowed.failed_checks);
        assert!(
            allowed.table().ends_with(
                "result       OK with --allow-faults: what arrived was right or the damage \
                 faults do\n"
            ),
            "{}",
            allowed.table()
        );
        for (change, failed) in [
            (
                (|r: &mut Report| r.echo_lines.wrong = 4) as fn(&mut Report),
                "1 wrong",
            ),
            (|r| r.echo_lines.early = 1, "1 early"),
            (|r| r.connections.failed = 1, "1 connection failed"),
            (|r| r.connections.dropped = 3, "1 connection dropped"),
        ] {
            let mut r = allowed.clone();
            change(&mut r);
            r.judge();
            assert_eq!(r.failed_checks, [failed]);
        }
        let clean = report().with_faults_allowed(true);
        assert!(clean.ok);
        assert!(
            clean
                .table()
                .contains("result       OK: every echo line received"),
            "{}",
            clean.table()
        );
    }

    #[test]
    fn the_result_line_names_each_failed_check_with_its_count() {
        let mut r = report();
        r.echo_lines.missing = 3;
        r.echo_lines.received = 27;
        r.echo_lines.wrong = 1;
        r.echo_lines.early = 2;
        r.connections.failed = 1;
        r.connections.dropped = 2;
        r.judge();
        assert!(!r.ok);
        assert_eq!(
            r.failed_checks,
            [
                "3 missing",
                "1 wrong",
                "2 early",
                "1 connection failed",
                "2 connections dropped"
            ]
        );
        let t = r.table();
        assert!(
            t.ends_with(
                "result       FAILED: 3 missing, 1 wrong, 2 early, 1 connection failed, 2 connections dropped\n"
            ),
            "{t}"
        );
    }

    #[test]
    fn max_p99_fails_a_run_over_it_in_any_voice_and_passes_one_under_it() {
        let r = report().with_max_p99(Some(Duration::from_micros(250)));
        assert!(!r.ok);
        assert_eq!(
            r.failed_checks,
            ["p99 lateness over the 250us limit in 1 voice (lower 0.300ms)"]
        );
        assert_eq!(r.settings.max_p99_ms, Some(0.25));
        let r = report().with_max_p99(Some(Duration::from_micros(300)));
        assert!(r.ok, "at the limit is not over it: {:?}", r.failed_checks);
        let r = report().with_max_p99(Some(Duration::from_micros(150)));
        assert!(r.failed_checks[0].contains("in 2 voices (original 0.200ms, lower 0.300ms)"));
    }

    /// Lateness by voice with these medians (in ms), from the send.
    fn medians(upper: f64, original: f64, lower: f64) -> LatenessReport {
        let median = |ms| Percentiles {
            p50_ms: ms,
            ..p(ms)
        };
        LatenessReport {
            upper: median(upper),
            original: median(original),
            lower: median(lower),
            all: median(lower),
        }
    }

    #[test]
    fn a_delay_longer_than_told_shows_as_a_step_from_voice_to_voice() {
        // Told 500 ms, the server waits 1 s: each voice 500 ms later than the one before.
        let longer = delay_looks_longer_by(&medians(0.3, 500.4, 1000.2), 500.0);
        assert_eq!(longer, Some(500.0));
        // Two significant digits, beside whatever makes every voice late.
        assert_eq!(
            delay_looks_longer_by(&medians(20.0, 121.3, 222.9), 100.0),
            Some(100.0)
        );
        assert_eq!(
            delay_looks_longer_by(&medians(0.1, 2.6, 5.2), 0.0),
            Some(3.0),
            "told 0, a server that waits 2.5 ms: rounded to the millisecond"
        );
        // Late alike (load, queueing): no step.
        assert_eq!(
            delay_looks_longer_by(&medians(80.0, 81.0, 79.0), 1000.0),
            None
        );
        // One voice late (a slow quiet echo): the steps differ.
        assert_eq!(delay_looks_longer_by(&medians(0.2, 0.3, 150.0), 0.0), None);
        assert_eq!(
            delay_looks_longer_by(&medians(0.0, 100.0, 300.0), 100.0),
            None
        );
        // Steps below a tenth of the delay are a timer's overshoot, not a delay.
        assert_eq!(delay_looks_longer_by(&medians(0.0, 9.0, 18.0), 100.0), None);
        // A voice not heard: nothing to tell.
        let mut unheard = medians(0.3, 500.4, 1000.2);
        unheard.lower.count = 0;
        assert_eq!(delay_looks_longer_by(&unheard, 500.0), None);
    }

    #[test]
    fn a_delay_that_looks_longer_fails_the_run_and_says_what_it_looks_like() {
        let mut r = report();
        r.settings.delay_ms = 500.0;
        r.delay_looks_longer_by_ms = Some(500.0);
        r.judge();
        assert!(!r.ok);
        assert_eq!(
            r.failed_checks,
            ["the server's delay looks 500ms longer than --delay"]
        );
        let t = r.table();
        assert!(
            t.contains(
                "warning      each voice is about 500ms later than the one before: is the \
                 server's delay longer than --delay? It looks like 1s\n"
            ),
            "{t}"
        );
        assert!(
            t.ends_with(
                "result       FAILED: the server's delay looks 500ms longer than --delay\n"
            ),
            "{t}"
        );
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["delay_looks_longer_by_ms"], 500.0);
    }

    #[test]
    fn a_bench_behind_its_schedule_is_warned_about() {
        let mut r = report();
        assert_eq!(r.slip_warning(), None);
        r.send_slip = Some(summary(101.0));
        let warning = r.slip_warning().expect("p99 slip over a tenth of 1000 ms");
        assert!(warning.contains("fell behind its schedule"), "{warning}");
        assert!(r.table().contains(&format!("warning      {warning}\n")));
        r.send_slip = Some(summary(100.0));
        assert_eq!(r.slip_warning(), None, "a tenth exactly is not over it");
    }

    #[test]
    fn percentiles_with_too_few_samples_are_marked_and_empty_rows_say_so() {
        let mut r = report();
        r.lateness.original.count = 0;
        let t = r.table();
        assert!(t.contains("  original       0  no echoes heard\n"), "{t}");
        assert!(
            t.contains("  upper         10    0.100     0.100     0.100     0.100     0.100*"),
            "p99 of 10 is marked, p90 is not: {t}"
        );
        assert!(
            t.contains("* too few samples for that percentile (p99 needs 100): it is the max"),
            "the smallest percentile marked, and what it needs: {t}"
        );
        r.lateness.lower.too_few_samples_for = vec![Quantile::P9999];
        for p in [&mut r.lateness.upper, &mut r.lateness.all] {
            p.too_few_samples_for = vec![Quantile::P999, Quantile::P9999];
        }
        let t = r.table();
        assert!(t.contains("(p99.9 needs 1,000)"), "{t}");
        r.lateness.upper.too_few_samples_for.clear();
        r.lateness.all.too_few_samples_for.clear();
        assert!(r.table().contains("(p99.99 needs 10,000)"), "{}", r.table());
        assert!(!t.contains("0.000ms"), "{t}");
    }

    #[test]
    fn table_shows_counts_percentiles_and_the_verdict() {
        let t = report().table();
        assert!(
            t.contains("30 expected, 30 received, 0 missing, 0 wrong"),
            "{t}"
        );
        assert!(t.contains("2 made, 0 failed, 0 dropped"), "{t}");
        assert!(t.contains("0.300ms"), "{t}");
        assert!(t.contains("result       OK"), "{t}");
        assert!(!t.contains("early"), "{t}");
        let mut r = report();
        r.ok = false;
        r.echo_lines.early = 2;
        r.wrong_examples.push(escape_line(b"\tbad\n"));
        let t = r.table();
        assert!(t.contains("FAILED"), "{t}");
        assert!(t.contains("2 early (is the server's delay shorter"), "{t}");
        assert!(t.contains(r#"wrong line   "\tbad\n""#), "{t}");
    }

    #[test]
    fn counts_of_one_are_singular() {
        let mut r = report();
        (r.settings.connections, r.settings.shouts_per_connection) = (1, 1);
        (r.connections.failed, r.connections.dropped) = (1, 1);
        r.judge();
        let t = r.table();
        assert!(
            t.starts_with("echoctl bench 127.0.0.1:8000: 1 connection x 1 shout, "),
            "{t}"
        );
        assert!(
            t.ends_with("FAILED: 1 connection failed, 1 connection dropped\n"),
            "{t}"
        );
    }

    #[test]
    fn lines_wrap_at_spaces_under_the_label_and_a_long_word_is_cut() {
        assert_eq!(
            wrap("rate         4 echo lines/s, 5.00s in all", 24, 13),
            [
                "rate         4 echo",
                "             lines/s,",
                "             5.00s in",
                "             all"
            ]
        );
        assert_eq!(
            wrap("wrong line   \"aaaaaaaaaaaaaaaaaaaa\"", 20, 13),
            [
                "wrong line   \"aaaaaa",
                "             aaaaaaa",
                "             aaaaaaa",
                "             \""
            ]
        );
        assert_eq!(wrap("short", 20, 13), ["short"]);
    }

    #[test]
    fn json_has_the_counts_under_stable_names() {
        let v: serde_json::Value = serde_json::from_str(&report().json()).unwrap();
        assert_eq!(v["echo_lines"]["missing"], 0);
        assert_eq!(v["echo_lines"]["expected"], 30);
        assert_eq!(v["connections"]["made"], 2);
        assert_eq!(v["lateness"]["lower"]["p99_ms"], 0.3);
        assert_eq!(v["ok"], true);
    }

    #[test]
    fn json_carries_the_schema_the_start_and_the_command_line() {
        let v: serde_json::Value = serde_json::from_str(&report().json()).unwrap();
        assert_eq!(v["schema_version"], SCHEMA_VERSION);
        assert_eq!(v["started_at"], "2026-12-02T10:00:00.000Z");
        assert_eq!(v["command_line"][1], "bench");
        assert_eq!(v["steady_echo_lines_per_s"], 5.0);
        assert_eq!(v["settings"]["max_p99_ms"], serde_json::Value::Null);
    }

    #[test]
    fn milliseconds_are_readable() {
        assert_eq!(ms(0.2144), "0.214ms");
        assert_eq!(ms(12.34), "12.3ms");
        assert_eq!(ms(1000.0), "1000ms");
        assert_eq!(setting_ms(1000.0), "1s");
        assert_eq!(setting_ms(250.0), "250ms");
        assert_eq!(setting_ms(0.25), "250us");
        // Every time the table prints is one token the options read back.
        for text in [ms(0.2144), ms(12.34), ms(1000.0), setting_ms(1500.0)] {
            assert!(crate::duration::parse(&text).is_ok(), "{text}");
        }
        assert_eq!(escape_line(&[b'a'; 200]).len(), 2 + 120 + 3);
    }
}
