use std::process::ExitCode;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

use echoctl::cli::{Cli, Command};
use echoctl::{ColorEnv, ExitError, ExitStatus, use_color};

fn main() -> ExitCode {
    let cli = match Cli::try_parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(usage) => return report_usage(&usage),
    };
    init_logging(&cli);
    let runtime = match runtime(&cli) {
        Ok(runtime) => runtime,
        Err(e) => return report(anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    let result = runtime.block_on(echoctl::run(cli));
    // Do not wait for tasks still blocked reading stdin (a terminal nobody types into).
    runtime.shutdown_background();
    result.map_or_else(report, ExitCode::from)
}

/// The runtime `cli` runs on: one thread for a server over UDP, which is one task over one socket
/// (a second thread would only hand it back and forth, a context switch a datagram), the
/// multi-threaded runtime for everything else.
fn runtime(cli: &Cli) -> std::io::Result<tokio::runtime::Runtime> {
    match &cli.command {
        Command::Serve(args) if args.listen.is_udp() => {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        _ => tokio::runtime::Runtime::new(),
    }
}

/// The one place a run's error is reported: as one line on stderr, with the status it carries
/// ([`ExitError`]) or a failure's; except a usage error, shown as clap shows its own, and a
/// closed stdout (`echoctl connect | head -1`), where the reader wanted no more and the run ends
/// quietly, as with any filter.
fn report(error: anyhow::Error) -> ExitCode {
    if let Some(usage) = error.downcast_ref::<clap::Error>() {
        return report_usage(usage);
    }
    if is_broken_pipe(&error) {
        return ExitStatus::Success.into();
    }
    eprintln!("echoctl: error: {error:#}");
    error
        .downcast_ref::<ExitError>()
        .map_or(ExitStatus::Failure, ExitError::status)
        .into()
}

/// Shows a usage error (or `--help`, `--version`) as clap's own `exit` would, and returns its
/// status instead of exiting, so every exit goes through `main`.
fn report_usage(usage: &clap::Error) -> ExitCode {
    let _ = usage.print();
    if usage.use_stderr() {
        ExitStatus::Usage.into()
    } else {
        ExitStatus::Success.into()
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_logging(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => LevelFilter::ERROR,
        // The demo's in-process server would log each connection between the transcript's lines.
        (false, 0) if matches!(cli.command, Command::Demo(_)) => LevelFilter::ERROR,
        (false, 0) => LevelFilter::INFO,
        (false, 1) => LevelFilter::DEBUG,
        (false, _) => LevelFilter::TRACE,
    };
    // `Targets` takes RUST_LOG's `level` and `target=level` forms, all echoctl needs, without the
    // regex engine that `EnvFilter` builds in.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(level));
    let output = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_timer(echoctl::local_millis())
        // Its report of a failed write goes to the same stderr, and panics when that is a closed
        // pipe (`serve 2>&1 | head -1`): a log nobody reads must not stop the server.
        .log_internal_errors(false)
        .with_ansi(use_color(
            cli.color.into(),
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            &ColorEnv::from_process(),
        ));
    tracing_subscriber::registry()
        .with(output.with_filter(filter))
        .init();
}
