use std::io::IsTerminal;
use std::process::ExitCode;

use crate::demo::{self, DemoEnd, DemoOptions, Progress};
use crate::exit;
use crate::signals;

pub async fn run(options: DemoOptions) -> anyhow::Result<ExitCode> {
    // Listen before anything is shown, so a Ctrl-C (or SIGTERM) at any moment is ours to handle:
    // the bar is cleared and the in-process server shut down.
    let interrupt = signals::stop_signal();
    let mut progress = if std::io::stderr().is_terminal() {
        Progress::on_stderr()
    } else {
        Progress::hidden()
    };
    let end = demo::run(&options, &mut std::io::stdout(), &mut progress, interrupt).await?;
    Ok(match end {
        DemoEnd::Finished => ExitCode::from(exit::SUCCESS),
        DemoEnd::Interrupted => ExitCode::from(exit::INTERRUPTED),
    })
}
