//! The subcommands: each turns its parsed arguments into calls on the library and an exit status.

mod bench;
mod completions;
mod connect;
mod demo;
mod serve;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Exit status for a run cut short by Ctrl-C, as shells report it (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Runs the command `cli` names. Errors are returned for `main` to report as one line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Connect(args) => connect::run(args).await,
        Command::Completions(args) => completions::run(args),
        Command::Demo(args) => demo::run(args, cli.color).await,
        Command::Bench(args) => bench::run(args).await,
    }
}
