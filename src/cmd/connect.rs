use std::process::ExitCode;

use crate::client::{self, ConnectOptions};
use crate::exit;
use crate::net;
use crate::signals;

pub async fn run(options: ConnectOptions) -> anyhow::Result<ExitCode> {
    let interrupted = signals::stop_signal();
    let session = async {
        let stream = net::connect_to(&options.addr, options.connect_timeout).await?;
        client::relay(stream, tokio::io::stdin(), tokio::io::stdout()).await
    };
    tokio::select! {
        ended = session => match ended? {
            // A reverb server closes first only when it is stopped, or closes this client for
            // its own reasons (it sends a line saying why): the session was cut short.
            client::SessionEnd::ServerClosedFirst => Err(anyhow::anyhow!(
                "the server closed the connection before the end of input"
            )),
            client::SessionEnd::ServerClosed => Ok(ExitCode::from(exit::SUCCESS)),
        },
        _ = interrupted => Ok(ExitCode::from(exit::INTERRUPTED)),
    }
}
