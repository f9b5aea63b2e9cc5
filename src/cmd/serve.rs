use std::io::Write;
use std::sync::Arc;

use echoctl_core::Address;

use crate::cli::tls::ServeTls;
use crate::exit::ExitStatus;
use crate::net;
use crate::observe::{DumpTo, HexDump, TraceFile, TraceOptions};
use crate::server::{self, ServerConfig};
use crate::signals;
use crate::timer::Timer;
use crate::tls::ServerTls;

/// What the start-up line adds for a UDP server anyone can reach: a forged source can aim it.
fn udp_exposed() -> String {
    format!(
        "; reachable from the network: a datagram's source can be forged to aim the answers at \
         someone else (each datagram's answers are at most {}x its size)",
        echoctl_core::udp::guard::REPLY_FACTOR
    )
}

pub(super) async fn run(
    listen: &Address,
    config: ServerConfig,
    tls: Option<ServeTls>,
    trace: Option<TraceOptions>,
    hex_dump: Option<DumpTo>,
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
    // Before listening: a path that cannot be written fails before any client comes.
    let observe = server::Observe {
        trace: trace.as_ref().map(TraceFile::create).transpose()?,
        dump: hex_dump.as_ref().map(HexDump::create).transpose()?,
    };
    let trace = observe.trace.clone();
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
            (addr.to_string(), exposure.to_string())
        }
        #[cfg(unix)]
        net::Listening::Unix(listener) => (
            Address::Unix(listener.path().to_path_buf()).to_string(),
            String::new(),
        ),
        net::Listening::Udp(socket) => {
            let addr = socket.local_addr()?;
            let exposure = if net::is_exposed(addr) {
                udp_exposed()
            } else {
                String::new()
            };
            (Address::Udp(addr.into()).to_string(), exposure)
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
                server::run_observed(listener, config, server_tls, timer, observe, stop).await
            }
            #[cfg(unix)]
            net::Listening::Unix(listener) => {
                server::run_observed(listener, config, server_tls, timer, observe, stop).await
            }
            net::Listening::Udp(socket) => server::udp::run(socket, config, timer, stop).await,
        }
    };
    let status = tokio::select! {
        () = serving => {
            tracing::info!("stopped");
            ExitStatus::Success
        }
        // A second signal during the grace period: `main` drops the connections still open.
        () = quit_now => ExitStatus::Interrupted,
    };
    if let Some(trace) = trace {
        trace.finish();
    }
    Ok(status)
}
