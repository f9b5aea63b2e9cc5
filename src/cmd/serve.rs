use std::io::Write;
use std::sync::Arc;

use echoctl_core::Address;

use crate::cli::tls::ServeTls;
use crate::exit::ExitStatus;
use crate::net;
use crate::server::{self, ServerConfig};
use crate::signals;
use crate::timer::Timer;
use crate::tls::ServerTls;

pub(super) async fn run(
    listen: &Address,
    config: ServerConfig,
    tls: Option<ServeTls>,
) -> anyhow::Result<ExitStatus> {
    // The certificate and key are read and checked (or made) before anything listens: a
    // server that cannot serve TLS never accepts a client.
    let server_tls = tls
        .as_ref()
        .map(|tls| ServerTls::new(&tls.options, listen).map(Arc::new))
        .transpose()?;
    let (stop, quit_now) = signals::graceful_stop();
    let timer = Timer::start();
    super::raise_open_files_limit();
    let listening = net::listen(listen).await?;
    // Before the start-up line, so a script that waits for the line finds the file.
    if let (Some(server_tls), Some(path)) = (&server_tls, tls.and_then(|tls| tls.save_cert)) {
        server_tls.save_certificate(&path)?;
    }
    let tls_words = server_tls
        .as_ref()
        .map_or_else(String::new, |tls| format!(", tls {}", tls.fingerprint()));
    let (addr, exposure) = match &listening {
        net::Listening::Tcp(listener) => {
            let addr = listener.local_addr()?;
            let exposure = if net::is_exposed(addr) {
                "; reachable from the network, not only this machine"
            } else {
                ""
            };
            (addr.to_string(), exposure)
        }
        #[cfg(unix)]
        net::Listening::Unix(listener) => {
            (Address::Unix(listener.path().to_path_buf()).to_string(), "")
        }
    };
    let timing = match config.mode {
        server::Mode::Plain => String::new(),
        _ => format!(", delay {}", echoctl_core::duration::format(config.delay)),
    };
    // The start-up line is output, not a log: printed whatever -q or RUST_LOG say, so a script
    // that asked for port 0 can always read the port it got. Like a log line, it is not worth
    // failing over when stderr is closed.
    let faults = if config.faults.is_empty() {
        String::new()
    } else {
        format!(", faults: {}", config.faults)
    };
    let _ = writeln!(
        std::io::stderr(),
        "listening on {addr} (mode {}{timing}{tls_words}{faults}){exposure}",
        config.mode
    );
    let serving = async {
        match listening {
            net::Listening::Tcp(listener) => {
                server::run_with_tls(listener, config, server_tls, timer, stop).await
            }
            #[cfg(unix)]
            net::Listening::Unix(listener) => {
                server::run_with_tls(listener, config, server_tls, timer, stop).await
            }
        }
    };
    tokio::select! {
        () = serving => {
            tracing::info!("stopped");
            Ok(ExitStatus::Success)
        }
        // A second signal during the grace period: `main` drops the connections still open.
        () = quit_now => Ok(ExitStatus::Interrupted),
    }
}
