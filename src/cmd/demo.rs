use std::future::Future;
use std::io::IsTerminal;
use std::process::ExitCode;

use crate::cli::DemoArgs;
use crate::cmd::EXIT_INTERRUPTED;
use crate::color::{ColorChoice, ColorEnv, use_color};
use crate::demo::{self, DemoEnd, DemoOptions, Progress};

pub async fn run(args: DemoArgs, color: ColorChoice) -> anyhow::Result<ExitCode> {
    // Listen before anything is shown, so a Ctrl-C at any moment is ours to handle.
    let interrupt = interrupt()?;
    let options = DemoOptions {
        sessions: args.mode.sessions(),
        delay: args.delay,
        color: use_color(
            color,
            std::io::stdout().is_terminal(),
            &ColorEnv::from_process(),
        ),
    };
    let mut progress = if std::io::stderr().is_terminal() {
        Progress::on_stderr()
    } else {
        Progress::hidden()
    };
    let end = demo::run(&options, &mut std::io::stdout(), &mut progress, interrupt).await?;
    Ok(match end {
        DemoEnd::Finished | DemoEnd::OutputClosed => ExitCode::SUCCESS,
        DemoEnd::Interrupted => ExitCode::from(EXIT_INTERRUPTED),
    })
}

/// Completes on Ctrl-C. The handler is installed now, not when the future is first polled.
fn interrupt() -> anyhow::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use anyhow::Context;
        use tokio::signal::unix::{SignalKind, signal};
        let mut sigint = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
        Ok(async move {
            sigint.recv().await;
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
