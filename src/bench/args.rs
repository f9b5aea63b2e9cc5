//! The command line of `echoctl bench`, kept beside the bench; `crate::cli` includes it as the
//! `Bench` subcommand, so `--help`, completions and man pages come from the one definition.

use std::time::Duration;

use clap::Args;

use crate::cli::{DEFAULT_ADDR, parse_count, parse_duration, parse_host_port};

/// Load a reverb server with many connections and check every echo, byte for byte.
///
/// Opens --connections connections to ADDR (spread over --ramp-up), sends --shouts shouts on each
/// (one every --interval, or as fast as echoes return with --window), and checks that each shout
/// comes back three times in the server's wire format: upper case, as sent, lower case. Reports
/// connections made and failed, echo lines expected, received, missing and wrong, echo lines per
/// second, and how late each echo arrived against its due time (send time + k × --delay), as
/// percentiles per echo. It connects only to ADDR, and stops by itself.
///
/// A progress bar shows on stderr when it is a terminal; the table goes to stdout (or JSON with
/// --json). Exits 0 when every echo line arrived exactly, 1 when any was missing or wrong or a
/// connection failed.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  echoctl bench                                       # 100 connections, 10 shouts each, 1/s
  echoctl bench -c 10000 -n 10 --delay 1s             # the 10,000-connection target
  echoctl bench -c 100 -n 100000 --delay 0 --window 16 --duration 10s   # throughput
  echoctl bench -c 10000 -n 0 --duration 10s          # hold 10,000 idle connections")]
pub struct BenchArgs {
    /// Server address, HOST:PORT.
    #[arg(value_name = "ADDR", default_value = DEFAULT_ADDR, value_parser = parse_host_port)]
    pub addr: String,

    /// Connections to open.
    #[arg(short, long, value_name = "N", default_value_t = 100, value_parser = parse_count)]
    pub connections: usize,

    /// Shouts per connection. 0 holds the connections open, idle, until --duration.
    #[arg(short = 'n', long, value_name = "M", default_value_t = 10)]
    pub shouts: u64,

    /// Time between a connection's shouts.
    #[arg(short, long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,

    /// Shouts per second on each connection, instead of --interval.
    #[arg(long, value_name = "PER_SECOND", conflicts_with = "interval", value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Throughput mode: send as fast as echoes return, with at most N shouts in flight per
    /// connection (a shout is in flight until its last echo arrives). Use with --delay 0.
    #[arg(short, long, value_name = "N", conflicts_with_all = ["interval", "rate"], value_parser = parse_count)]
    pub window: Option<usize>,

    /// The server's delay between echoes (its --delay), to know when each echo is due.
    #[arg(short, long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub delay: Duration,

    /// Spread the connects evenly over this time. Spreading them over one --interval also
    /// spreads the shouts evenly.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub ramp_up: Duration,

    /// Stop connecting and shouting after this long (echoes owed are still awaited). Required
    /// with --shouts 0, which holds idle connections open until then.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// How long to wait for echoes past their due time before counting them missing.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub grace: Duration,

    /// Give up on a connect that gets no answer within this time.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Parses a positive rate such as `10` or `0.5`.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 && rate <= 1e6 => Ok(rate),
        Ok(_) => Err("must be above 0 and at most 1000000".to_string()),
        Err(e) => Err(format!(
            "{e} (expected a number of shouts per second such as 10)"
        )),
    }
}
