use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::CompletionsArgs;
use crate::docs;
use crate::exit;

pub fn run(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let script = docs::completion(args.shell);
    let mut stdout = io::stdout().lock();
    match stdout.write_all(&script).and_then(|()| stdout.flush()) {
        // A reader that stopped early (`| head`) wanted no more; as with `connect`, not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::from(exit::SUCCESS)),
        result => {
            result.context("cannot write the completion script to stdout")?;
            Ok(ExitCode::from(exit::SUCCESS))
        }
    }
}
