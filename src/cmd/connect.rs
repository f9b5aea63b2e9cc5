use std::process::ExitCode;

use crate::cli::ConnectArgs;
use crate::client;
use crate::cmd::EXIT_INTERRUPTED;
use crate::signals;

pub async fn run(args: ConnectArgs) -> anyhow::Result<ExitCode> {
    let interrupted = signals::stop_signal();
    let session = async {
        let stream = client::connect(&args.addr, args.connect_timeout).await?;
        client::relay(stream, tokio::io::stdin(), tokio::io::stdout()).await
    };
    tokio::select! {
        ended = session => {
            if let client::SessionEnd::ServerClosedFirst = ended? {
                // At a terminal the prompt would come back unexplained.
                eprintln!("echoctl: the server closed the connection");
            }
            Ok(ExitCode::SUCCESS)
        }
        _ = interrupted => Ok(ExitCode::from(EXIT_INTERRUPTED)),
    }
}
