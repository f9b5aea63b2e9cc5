use std::process::ExitCode;

use crate::cli::ServeArgs;
use crate::server;
use crate::signals;
use crate::timer;

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let stop = signals::graceful_stop();
    timer::enable_fine_timer();
    raise_open_files_limit();
    let config = args.server_config();
    let listener = server::bind(&args.listen).await?;
    let addr = listener.local_addr()?;
    let exposure = if server::is_exposed(addr) {
        "; reachable from the network, not only this machine"
    } else {
        ""
    };
    tracing::info!(
        "listening on {addr} (mode {}, delay {}){exposure}",
        config.mode,
        humantime::format_duration(config.delay)
    );
    server::run(listener, config, stop).await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Raises the soft open-files limit to the hard limit, as Go does for every program, so that
/// thousands of clients work without `ulimit -n`.
fn raise_open_files_limit() {
    #[cfg(unix)]
    {
        let before = rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft);
        match (before, rlimit::increase_nofile_limit(u64::MAX)) {
            (Ok(before), Ok(after)) if after > before => {
                tracing::debug!("open-files limit raised from {before} to {after}");
            }
            (_, Ok(_)) => {}
            (_, Err(e)) => tracing::warn!("cannot raise the open-files limit: {e}"),
        }
    }
}
