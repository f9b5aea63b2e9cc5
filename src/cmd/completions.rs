use std::io::{self, Write};

use anyhow::Context;

use clap_complete::Shell;

use crate::cli::docs;
use crate::exit::ExitStatus;

pub(super) fn run(shell: Shell) -> anyhow::Result<ExitStatus> {
    let script = docs::completion(shell);
    let mut stdout = io::stdout().lock();
    // A reader that stopped early (`| head`) closes the pipe: `main` ends quietly on that error.
    stdout
        .write_all(&script)
        .and_then(|()| stdout.flush())
        .context("cannot write the completion script to stdout")?;
    Ok(ExitStatus::Success)
}
