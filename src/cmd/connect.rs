use std::process::ExitCode;

use crate::cli::ConnectArgs;
use crate::client;

pub async fn run(args: ConnectArgs) -> anyhow::Result<ExitCode> {
    let stream = client::connect(&args.addr, args.connect_timeout).await?;
    client::relay(stream, tokio::io::stdin(), tokio::io::stdout()).await?;
    Ok(ExitCode::SUCCESS)
}
