//! The subcommands: each turns its parsed arguments into calls on the library and an
//! [`ExitStatus`], or an error for `main` to report.

mod bench;
mod completions;
mod connect;
mod demo;
mod serve;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;

/// Runs the command `cli` names, on the library's own configuration. Errors are returned for
/// `main` to report: a usage error among them, and an [`ExitError`](crate::exit::ExitError)
/// where the run ends with a status other than a failure's.
pub async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Serve(args) => {
            let config = args.server_config()?;
            let tls = args.tls.options();
            serve::run(&args.listen, config, tls, args.trace(), args.hex_dump()).await
        }
        Command::Connect(args) => {
            crate::cli::tls::refuse_over_udp("connect", &args.addr, args.tls.tls)?;
            connect::run(args.options(), cli.color.into()).await
        }
        Command::Completions(args) => completions::run(args.shell),
        // The demo decides its colors itself: its transcript may go to stderr (`--svg -`).
        Command::Demo(args) => demo::run(&args, cli.color.into()).await,
        // A usage error goes to `main`, which shows it as clap shows its own.
        Command::Bench(args) => {
            let config = args.config()?;
            bench::run(
                config,
                args.report_options(),
                args.tls.options(),
                args.trace(),
            )
            .await
        }
    }
}

/// Raises the soft open-files limit to the hard limit, as Go does for every program, so that
/// thousands of connections (served by `serve`, opened by `bench`) work without `ulimit -n`.
/// Returns the soft limit now in force, if it could be read.
fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let before = rlimit::getrlimit(rlimit::Resource::NOFILE)
            .map(|(soft, _)| soft)
            .ok();
        match (before, rlimit::increase_nofile_limit(u64::MAX)) {
            (Some(before), Ok(after)) if after > before => {
                tracing::debug!("open-files limit raised from {before} to {after}");
                Some(after)
            }
            (_, Ok(after)) => Some(after),
            (_, Err(e)) => {
                tracing::warn!("cannot raise the open-files limit: {e}");
                before
            }
        }
    }
    #[cfg(not(unix))]
    None
}
