//! The command line of `echoctl bench`, the `Bench` subcommand of [`super::Cli`], and its
//! turning into a [`BenchConfig`].

use echoctl_core::Address;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use clap::CommandFactory;
use clap::error::ErrorKind;

use super::parse::{
    Timeout, parse_count, parse_duration, parse_percent, parse_rate, parse_timeout, parse_trace_max,
};
use super::{Cli, DEFAULT_ADDR};
use crate::bench::{BenchConfig, Expect, Pace, ReportOptions};
use crate::observe::{DEFAULT_TRACE_MAX, TraceOptions};

/// Load a reverb server with many connections and check every echo, byte for byte.
///
/// Opens --connections connections to ADDR (spread over --ramp-up), sends --shouts shouts on each
/// (one every --interval, or as fast as echoes return with --window), and checks that each shout
/// comes back three times in the server's wire format: upper case, as sent, lower case. Reports
/// connections made and failed, echo lines expected, received, missing and wrong, echo lines per
/// second, and how late each echo arrived against its due time, as percentiles per echo. Paced by
/// time, a shout's due time counts from when it was planned to be sent (start + k × --interval),
/// even when the bench fell behind and sent it late, so an overloaded bench or machine shows in
/// the figures; the lateness from the actual send and the send slip are reported beside it.
/// Throughput mode (--window) is a closed loop: its lateness counts from the send. It connects
/// only to ADDR, and stops by itself. With --expect plain it checks a plain echo server
/// instead: each shout must come back once, unchanged, at once.
///
/// A progress bar shows on stderr when it is a terminal; the table goes to stdout (or JSON with
/// --json). Exits 0 when every echo line arrived exactly and none early, 1 when any was missing,
/// wrong or early, a connection failed, or a p99 was over --max-p99; Ctrl-C ends the run with
/// the report of what was measured until then (marked cut short) and exit status 130.
///
/// Against a server that misbehaves (echoctl serve --fault, or a real network), the report names
/// what it did on a "faults seen" line: connections reset, closed early (with echoes owed) or
/// stalled (silent and open through --grace after the echoes owed were given up on); echo lines
/// missing, wrong (and of them, those one byte off an echo owed: corrupted) and late (more than
/// 100 ms past due). Late lines are reported and fail a run only through --max-p99.
/// --allow-faults passes the damage faults do: missing lines, corrupted lines, connections
/// reset, closed early or stalled. A run still fails on what no fault does: a wrong line that is
/// not one byte off an echo owed, an early line, a connect that failed, a connection dropped
/// otherwise, a p99 over --max-p99.
///
/// Over UDP (udp:HOST:PORT) each connection is a socket of its own, each shout a datagram and
/// each echo line one; every echo is checked as over TCP, and a "datagrams" line counts those
/// lost, duplicated (counted wrong too, as a repeated line is) and reordered (out of order).
/// --max-loss PERCENT (default 0) is the share of echoes that may be lost before the run fails;
/// a port nothing listens on fails the connection, as a refused connect does.
#[derive(Debug, Args)]
#[command(
    arg = super::for_command(
        "quiet",
        "Log only errors, not the warning that too few files can be open for --connections",
    ),
    arg = super::for_command(
        "verbose",
        "Log more: -v adds how far the open-files limit was raised, -vv internal detail. \
         RUST_LOG overrides both",
    ),
    arg = super::for_command("color", "When to color the logs on stderr"),
)]
#[command(
    override_usage = "echoctl bench [OPTIONS] [ADDR]",
    after_help = "\
Examples:
  echoctl bench                                       # 100 connections, 10 shouts each, 1/s
  echoctl bench -c 10000 -n 10 --delay 1s             # the 10,000-connection target
  echoctl bench -c 100 -n 100000 --delay 0 --window 16 --duration 10s   # throughput
  echoctl bench -c 10000 -n 0 --duration 10s          # hold 10,000 idle connections
  echoctl bench --expect plain -w 16 -n 100000 --duration 10s unix:/tmp/echo.sock   # plain echo
  echoctl bench --max-p99 5ms --percentiles run.hgrm --svg run.svg   # a CI gate, and a picture
  echoctl bench -c 10 -n 20 --allow-faults            # against echoctl serve --fault ...
  echoctl bench udp:127.0.0.1:7000 --expect plain -w 8 -n 100000 --duration 5s   # UDP echo
  echoctl bench --tls --tls-ca ca.pem -c 1000          # over TLS: handshakes timed too"
)]
pub struct BenchArgs {
    /// Server address, HOST:PORT, unix:PATH for a Unix-domain socket, or udp:HOST:PORT for UDP
    /// (each connection a socket of its own, each shout and echo a datagram).
    #[arg(value_name = "ADDR", default_value = DEFAULT_ADDR)]
    pub addr: Address,

    /// Connections to open.
    #[arg(short, long, value_name = "N", default_value_t = 100, value_parser = parse_count)]
    pub connections: usize,

    /// Shouts per connection. 0 holds the connections open, idle, until --duration.
    #[arg(short = 'n', long, value_name = "M", default_value_t = 10)]
    pub shouts: u64,

    /// Time between a connection's shouts.
    #[arg(short, long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration, allow_hyphen_values = true)]
    pub interval: Duration,

    /// Shouts per second on each connection, instead of --interval.
    #[arg(long, value_name = "PER_SECOND", conflicts_with = "interval", value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Throughput mode: send as fast as echoes return, with at most N shouts in flight per
    /// connection (a shout is in flight until its last echo arrives). Use with --delay 0.
    #[arg(short, long, value_name = "N", conflicts_with_all = ["interval", "rate"], value_parser = parse_count)]
    pub window: Option<usize>,

    /// The server's delay between echoes (its --delay), to know when each echo is due.
    #[arg(short, long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration, allow_hyphen_values = true)]
    pub delay: Duration,

    /// What the server sends back: reverb (three echo lines per shout, --delay apart) or plain
    /// (each shout once, unchanged, at once: lateness is the round trip; --delay is refused).
    #[arg(long, value_enum, value_name = "SERVER", default_value_t = ExpectArg::Reverb, conflicts_with = "delay")]
    pub expect: ExpectArg,

    /// Spread the connects evenly over this time. Spreading them over one --interval also
    /// spreads the shouts evenly.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration, allow_hyphen_values = true)]
    pub ramp_up: Duration,

    /// Stop connecting and shouting after this long (echoes owed are still awaited). Required
    /// with --shouts 0, which holds idle connections open until then.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub duration: Option<Duration>,

    /// How long to wait for echoes past their due time before counting them missing.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration, allow_hyphen_values = true)]
    pub grace: Duration,

    /// Give up on a connect that gets no answer within this time; off leaves it to the system.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout, allow_hyphen_values = true)]
    pub connect_timeout: Timeout,

    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Fail the run (exit status 1) when the p99 lateness of any echo is over this.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub max_p99: Option<Duration>,

    /// Write the lateness distribution of all echoes to PATH in HdrHistogram's percentile
    /// format (.hgrm), and that of each echo beside it (PATH's name with .upper, .original and
    /// .lower before its extension).
    #[arg(long, value_name = "PATH")]
    pub percentiles: Option<PathBuf>,

    /// Write a chart of lateness by percentile (one curve per echo) to PATH, as SVG.
    #[arg(long, value_name = "PATH")]
    pub svg: Option<PathBuf>,

    /// Pass the run when what arrived was right or the damage is what faults do (see above):
    /// for a client's test against echoctl serve --fault.
    #[arg(long)]
    pub allow_faults: bool,

    /// Write a trace of the first connections (--trace-connections) to PATH as the run goes,
    /// in the Trace Event format (JSON) that Perfetto (ui.perfetto.dev) and chrome://tracing
    /// open: the client's view, a process per connection, a slice per shout from its send to
    /// its last echo, an instant per echo line heard with its lateness, and arrows from each
    /// shout to its echoes. Reverb servers only.
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub trace: Option<PathBuf>,

    /// Stop recording the --trace once the file would pass SIZE; its last event says so.
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_TRACE_MAX, value_parser = parse_trace_max, requires = "trace")]
    pub trace_max: usize,

    /// How many connections the --trace records: the first N.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = parse_count, requires = "trace")]
    pub trace_connections: usize,

    /// Over UDP: the share of the echoes owed, in percent, that may be lost before the run
    /// fails (default 0: none). On loopback nothing should be lost; a loss there is reported
    /// with its likely cause, a receive buffer that overflowed.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub max_loss: Option<f64>,

    #[command(flatten)]
    pub tls: super::tls::ClientTlsArgs,
}

impl BenchArgs {
    /// Turns the command line into a run, refusing (as a usage error, exit status 2) a run that
    /// could not end by itself. Checked here on the parsed number rather than by clap, which
    /// compares the text and would let `-n 00` through.
    pub(crate) fn config(&self) -> Result<BenchConfig, clap::Error> {
        let pace = match (self.window, self.rate) {
            (Some(window), _) => Pace::Window(window),
            (None, Some(rate)) => Pace::Interval(Duration::from_secs_f64(1.0 / rate)),
            (None, None) => Pace::Interval(self.interval),
        };
        if self.max_loss.is_some() && !self.addr.is_udp() {
            return Err(usage_error(
                "--max-loss is for UDP, where datagrams can be lost; over TCP or a Unix socket \
                 every echo line must arrive: leave it out, or bench udp:HOST:PORT",
            ));
        }
        super::tls::refuse_over_udp("bench", &self.addr, self.tls.tls)?;
        if self.shouts == 0 && self.duration.is_none() {
            return Err(usage_error(
                "--shouts 0 holds the connections open until --duration; give a --duration such as 10s",
            ));
        }
        let expect = match self.expect {
            ExpectArg::Reverb => Expect::Reverb,
            ExpectArg::Plain => Expect::Plain,
        };
        if expect == Expect::Plain && self.trace.is_some() {
            return Err(usage_error(
                "--trace draws a reverb server's echoes, three to a shout; a plain echo's bytes \
                 are traced by the server: echoctl serve --mode plain --trace PATH",
            ));
        }
        Ok(BenchConfig {
            addr: self.addr.clone(),
            connections: self.connections,
            shouts: self.shouts,
            pace,
            delay: match expect {
                Expect::Reverb => self.delay,
                Expect::Plain => Duration::ZERO,
            },
            expect,
            ramp_up: self.ramp_up,
            duration: self.duration,
            connect_timeout: self.connect_timeout.0,
            grace: self.grace,
        })
    }
}

impl BenchArgs {
    /// Where `--trace` writes, if anywhere, and how many connections it records.
    pub(crate) fn trace(&self) -> Option<(TraceOptions, usize)> {
        let options = super::trace_options(self.trace.as_ref(), self.trace_max)?;
        Some((options, self.trace_connections))
    }

    /// What to do with the report: print it as JSON or a table, the files to write, the limit.
    pub(crate) fn report_options(&self) -> ReportOptions {
        ReportOptions {
            json: self.json,
            percentiles: self.percentiles.clone(),
            svg: self.svg.clone(),
            max_p99: self.max_p99,
            allow_faults: self.allow_faults,
            max_loss: self.max_loss.unwrap_or(0.0),
        }
    }
}

/// The values of `bench --expect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExpectArg {
    /// A reverb server (echoctl serve, the book's reverb1 and reverb2).
    Reverb,
    /// A plain echo server (echoctl serve --mode plain, ncat --exec /bin/cat, socat PIPE).
    Plain,
}

/// A usage error shown as clap shows its own, with `echoctl bench`'s usage line.
fn usage_error(message: &str) -> clap::Error {
    let mut cli = Cli::command();
    cli.build();
    match cli.find_subcommand_mut("bench") {
        Some(bench) => bench.error(ErrorKind::MissingRequiredArgument, message),
        None => cli.error(ErrorKind::MissingRequiredArgument, message),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Command;

    fn parse(args: &[&str]) -> Result<BenchConfig, String> {
        let cli = Cli::try_parse_from([&["echoctl", "bench"][..], args].concat())
            .map_err(|e| e.to_string())?;
        let Command::Bench(args) = cli.command else {
            return Err("not bench".into());
        };
        args.config().map_err(|e| e.to_string())
    }

    #[test]
    fn pace_comes_from_interval_rate_or_window() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.addr.to_string(), "localhost:8000");
        assert_eq!((c.connections, c.shouts), (100, 10));
        assert_eq!(c.pace, Pace::Interval(Duration::from_secs(1)));
        assert_eq!(c.delay, Duration::from_secs(1));
        let c = parse(&["--rate", "4"]).unwrap();
        assert_eq!(c.pace, Pace::Interval(Duration::from_millis(250)));
        let c = parse(&["-w", "16", "-d", "0"]).unwrap();
        assert_eq!(c.pace, Pace::Window(16));
        assert_eq!(c.delay, Duration::ZERO);
    }

    #[test]
    fn contradictions_and_endless_runs_are_refused() {
        assert!(parse(&["-w", "16", "-i", "1s"]).is_err());
        assert!(parse(&["--rate", "2", "-i", "1s"]).is_err());
        assert!(parse(&["--rate", "0"]).is_err());
        assert!(parse(&["-c", "0"]).is_err());
        for zero in ["0", "00"] {
            let idle = parse(&["-n", zero]).unwrap_err();
            assert!(idle.contains("--duration"), "{idle}");
        }
        assert!(parse(&["-n", "0", "--duration", "5s"]).is_ok());
    }

    #[test]
    fn max_loss_is_for_udp_and_defaults_to_none_lost() {
        let tcp = parse(&["--max-loss", "1"]).unwrap_err();
        assert!(tcp.contains("--max-loss is for UDP"), "{tcp}");
        let c = parse(&["udp:127.0.0.1:7000", "--max-loss", "0.5%"]).unwrap();
        assert!(c.addr.is_udp());
        let options = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["echoctl", "bench"][..], args].concat()).unwrap();
            let Command::Bench(args) = cli.command else {
                panic!("not bench");
            };
            args.report_options()
        };
        assert_eq!(options(&["udp:[::1]:7000"]).max_loss, 0.0);
        assert_eq!(
            options(&["udp:[::1]:7000", "--max-loss", "2"]).max_loss,
            2.0
        );
        assert!(parse(&["udp:[::1]:7000", "--max-loss", "200"]).is_err());
    }

    #[test]
    fn report_options_come_from_their_flags() {
        let cli = Cli::try_parse_from([
            "echoctl",
            "bench",
            "--max-p99",
            "2ms",
            "--percentiles",
            "a.hgrm",
            "--svg",
            "a.svg",
        ])
        .unwrap();
        let Command::Bench(args) = cli.command else {
            panic!("not bench");
        };
        let options = args.report_options();
        assert_eq!(options.max_p99, Some(Duration::from_millis(2)));
        assert_eq!(options.percentiles, Some(PathBuf::from("a.hgrm")));
        assert_eq!(options.svg, Some(PathBuf::from("a.svg")));
        assert!(!options.json);
        assert!(Cli::try_parse_from(["echoctl", "bench", "--max-p99", "fast"]).is_err());
    }
}
