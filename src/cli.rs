//! The command line, defined once: `--help`, the shell completions and the man pages are all
//! generated from these types.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

pub use crate::bench::BenchArgs;
use crate::lines::DEFAULT_MAX_LINE;
use crate::server::{self, Mode, ServerConfig};

/// The address of the book's programs.
pub const DEFAULT_ADDR: &str = "localhost:8000";

const EXAMPLES: &str = "\
Examples:
  Replay the book's two sessions over real TCP:
    echoctl demo
  The book's reverb1 in one terminal, the client in another:
    echoctl serve --mode sequential
    echoctl connect
  A scripted peer: three shouts in, nine echo lines out:
    printf 'Hello?\\nIs there anybody there?\\nYooo-hooo!\\n' | echoctl connect";

/// A reverb echo server and client: the book's reverb1, reverb2 and netcat, done properly.
///
/// `echoctl` is the concurrent echo server of "The Go Programming Language", section 8.3. Each
/// line a client sends is a shout; the server answers it three times, a delay apart: LOUD, as
/// sent, quiet. `serve --mode sequential` is the book's reverb1, `--mode concurrent` its reverb2,
/// `connect` its netcat, fixed to keep printing after the end of input.
#[derive(Debug, Parser)]
#[command(name = "echoctl", version, after_help = EXAMPLES, max_term_width = 100)]
pub struct Cli {
    /// Log only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Log more: -v adds each shout, -vv internal detail. RUST_LOG overrides both.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Serve(ServeArgs),
    Connect(ConnectArgs),
    Bench(BenchArgs),
}

/// Run the reverb server (the book's reverb1 or reverb2).
///
/// Every line a client sends is a shout, answered with three echo lines a delay apart: upper
/// case, as sent, lower case. Each echo line is a TAB, a space, the text and a newline, exactly as
/// the book's Go server writes it, so the book's clients work with it unchanged.
///
/// When a client ends its input, the echoes still owed are delivered before the connection is
/// closed. The server logs to stderr and prints nothing on stdout; its first line names the
/// address actually bound. Ctrl-C or SIGTERM stops it gracefully.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  echoctl serve                               # reverb2 on localhost:8000, 1 s delay
  echoctl serve --mode sequential             # reverb1
  echoctl serve --listen 127.0.0.1:0 --delay 250ms   # any free port, quicker echoes")]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT. Port 0 picks a free port. Anything but a loopback
    /// address makes the server reachable from the network.
    #[arg(short, long, value_name = "ADDR", default_value = DEFAULT_ADDR)]
    pub listen: String,

    /// How a connection's shouts share time.
    #[arg(short, long, value_enum, default_value_t = Mode::Concurrent)]
    pub mode: Mode,

    /// Time between a shout's echoes, e.g. 1s, 250ms, 0.
    #[arg(short, long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub delay: Duration,

    /// Longest line accepted, in bytes (newline excluded). A longer line closes the connection
    /// with an error line, after the echoes owed.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_LINE)]
    pub max_line: usize,

    /// Most shouts echoing at once on one connection (concurrent mode). At the limit the server
    /// stops reading and TCP holds back the sender.
    #[arg(long, value_name = "N", default_value_t = server::DEFAULT_MAX_PENDING, value_parser = parse_count)]
    pub max_pending: usize,

    /// Close a connection whose client accepts no data for this long.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub write_timeout: Duration,

    /// Close a connection that sends no complete line for this long. Off by default.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,

    /// Most connections served at once; clients over the limit are told the server is full.
    #[arg(long, value_name = "N", default_value_t = server::DEFAULT_MAX_CONNECTIONS, value_parser = parse_count)]
    pub max_connections: usize,

    /// On Ctrl-C or SIGTERM, how long to wait for echoes in flight before closing anyway.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub grace: Duration,
}

impl ServeArgs {
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            mode: self.mode,
            delay: self.delay,
            max_line: self.max_line,
            max_pending: self.max_pending,
            write_timeout: self.write_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections,
            grace: self.grace,
        }
    }
}

/// Connect to a reverb server: stdin goes to it, its echoes come to stdout.
///
/// At the end of input (Ctrl-D on a terminal, or the end of a pipe or file) only the sending side
/// is closed; echoes keep printing until the server closes the connection, then the client exits
/// 0. What the server sends reaches stdout unchanged, so the client works in pipes and scripts.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  echoctl connect                                  # type shouts, Ctrl-D to finish
  echoctl connect 127.0.0.1:9000
  printf 'Hello?\\n' | echoctl connect > echoes.txt")]
pub struct ConnectArgs {
    /// Server address, HOST:PORT. Every address the name resolves to is tried.
    #[arg(value_name = "ADDR", default_value = DEFAULT_ADDR)]
    pub addr: String,

    /// Give up on an address that does not answer within this time.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
}

/// Parses a count that must be at least 1.
pub fn parse_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e} (expected a whole number such as 100)")),
    }
}

/// Parses a human duration: `1s`, `250ms`, `1m30s`, `0`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e} (expected a duration such as 1s, 250ms or 0)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_are_human() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("10").is_err(), "a bare number has no unit");
    }

    #[test]
    fn defaults_are_the_books() {
        let cli = Cli::try_parse_from(["echoctl", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("expected serve")
        };
        assert_eq!(args.listen, "localhost:8000");
        assert_eq!(args.mode, Mode::Concurrent);
        assert_eq!(args.delay, Duration::from_secs(1));
    }
}
