use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::bench::{self, BenchConfig, Pace, Progress};
use crate::cli::{BenchArgs, Cli};
use crate::exit;
use clap::CommandFactory;
use clap::error::ErrorKind;

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    // A usage error goes to `main`, which shows it as clap shows its own.
    let config = config(&args)?;
    if let Some(limit) = super::raise_open_files_limit()
        && limit < config.connections as u64 + FILES_BESIDES_CONNECTIONS
    {
        tracing::warn!(
            "open files are limited to {limit}, too few for {} connections: connects will fail \
             (raise the hard limit, e.g. `ulimit -Hn`, as root)",
            config.connections
        );
    }
    let progress = Arc::new(Progress::default());
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| show_progress(&config, progress.clone()));
    let report = bench::run(config, progress).await;
    if let Some((bar, ticker)) = bar {
        ticker.abort();
        bar.finish_and_clear();
    }
    let report = report?;
    let mut stdout = std::io::stdout().lock();
    let shown = if args.json {
        writeln!(stdout, "{}", report.json())
    } else {
        write!(stdout, "{}", report.table())
    };
    shown
        .and_then(|()| stdout.flush())
        .context("cannot write the report to stdout")?;
    Ok(ExitCode::from(if report.ok {
        exit::SUCCESS
    } else {
        exit::BENCH_ECHOES_WRONG
    }))
}

/// Descriptors the bench needs beside one per connection (standard streams, the runtime's own).
const FILES_BESIDES_CONNECTIONS: u64 = 32;

/// Turns the command line into a run, refusing (as a usage error, exit status 2) a run that could
/// not end by itself. Checked here on the parsed number rather than by clap, which compares the
/// text and would let `-n 00` through.
pub fn config(args: &BenchArgs) -> Result<BenchConfig, clap::Error> {
    let pace = match (args.window, args.rate) {
        (Some(window), _) => Pace::Window(window),
        (None, Some(rate)) => Pace::Interval(Duration::from_secs_f64(1.0 / rate)),
        (None, None) => Pace::Interval(args.interval),
    };
    if args.shouts == 0 && args.duration.is_none() {
        return Err(usage_error(
            "--shouts 0 holds the connections open until --duration; give a --duration such as 10s",
        ));
    }
    Ok(BenchConfig {
        addr: args.addr.clone(),
        connections: args.connections,
        shouts: args.shouts,
        pace,
        delay: args.delay,
        ramp_up: args.ramp_up,
        duration: args.duration,
        connect_timeout: args.connect_timeout,
        grace: args.grace,
    })
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

/// A progress bar on stderr, redrawn from the shared counters a few times a second.
fn show_progress(
    config: &BenchConfig,
    progress: Arc<Progress>,
) -> (ProgressBar, tokio::task::JoinHandle<()>) {
    let bar = ProgressBar::with_draw_target(
        Some(config.max_echo_lines()),
        ProgressDrawTarget::stderr_with_hz(5),
    );
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} echoes  {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let connections = config.connections;
    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            loop {
                let get = Progress::get;
                bar.set_position(get(&progress.echoes));
                bar.set_message(format!(
                    "{}/{connections} up, {} failed, {} shouts",
                    get(&progress.connected)
                        - get(&progress.finished).min(get(&progress.connected)),
                    get(&progress.failed),
                    get(&progress.shouts),
                ));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    (bar, ticker)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<BenchConfig, String> {
        let cli = Cli::try_parse_from([&["echoctl", "bench"][..], args].concat())
            .map_err(|e| e.to_string())?;
        let Command::Bench(args) = cli.command else {
            return Err("not bench".into());
        };
        config(&args).map_err(|e| e.to_string())
    }

    #[test]
    fn pace_comes_from_interval_rate_or_window() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.addr, "localhost:8000");
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
}
