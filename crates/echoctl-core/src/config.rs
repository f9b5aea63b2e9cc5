//! What shapes the server: its mode, its delay and its limits. `Default` is the book's server.
//!
//! Pure data, shared by the server that runs it, the demo that rehearses it and the timeline that
//! names it.

use std::time::Duration;

use crate::fault::Faults;
use crate::lines::DEFAULT_MAX_LINE;
use crate::session::Settings;

/// How a connection's shouts share time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// reverb1: a shout's three echoes finish before the next line is read.
    Sequential,
    /// reverb2: every shout echoes on its own schedule from the moment it is read.
    Concurrent,
    /// The book's plain echo, `io.Copy(c, c)`: every byte written back as it is read.
    Plain,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Sequential => "sequential",
            Mode::Concurrent => "concurrent",
            Mode::Plain => "plain",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How the plain echo moves a client's bytes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlainPath {
    /// In the kernel, without the server reading them (splice(2): socket, pipe, socket) where
    /// the system offers it (Linux) and nothing needs to see them; elsewhere, [`PlainPath::Copy`].
    #[default]
    Splice,
    /// Through a buffer in the server: the path for whatever must see the bytes.
    Copy,
}

/// Everything that shapes the server's behaviour. `Default` is the book's server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub mode: Mode,
    /// Time between a shout's echoes.
    pub delay: Duration,
    /// Longest line accepted, in bytes, terminator excluded.
    pub max_line: usize,
    /// Shouts echoing at once on one connection in concurrent mode.
    pub max_pending: usize,
    /// A connection whose writes make no progress for this long is closed; `None`: never.
    pub write_timeout: Option<Duration>,
    /// A connection that sends no complete line for this long is closed.
    pub idle_timeout: Option<Duration>,
    /// Connections served at once; more are told the server is full.
    pub max_connections: usize,
    /// How long shutdown waits for echoes in flight.
    pub grace: Duration,
    /// How the plain echo moves bytes where nothing must see them; see
    /// [`ServerConfig::bytes_must_be_seen`].
    pub plain_path: PlainPath,
    /// Misbehaviour on purpose (`--fault`); none by default.
    pub faults: Faults,
    /// Every byte is watched (`--trace`, `--hex-dump`): it must pass through the process, so
    /// the plain echo copies rather than splices ([`ServerConfig::bytes_must_be_seen`]).
    pub observe: bool,
}

pub const DEFAULT_DELAY: Duration = Duration::from_secs(1);
pub const DEFAULT_MAX_PENDING: usize = 1024;
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_CONNECTIONS: usize = 100_000;
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            mode: Mode::Concurrent,
            delay: DEFAULT_DELAY,
            max_line: DEFAULT_MAX_LINE,
            max_pending: DEFAULT_MAX_PENDING,
            write_timeout: Some(DEFAULT_WRITE_TIMEOUT),
            idle_timeout: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            grace: DEFAULT_GRACE,
            plain_path: PlainPath::default(),
            faults: Faults::default(),
            observe: false,
        }
    }
}

impl ServerConfig {
    /// Whether something in the server must see each byte the plain echo sends back: a trace
    /// or hex dump ([`ServerConfig::observe`]), a fault (which holds, cuts and paces what is
    /// written), or `--no-splice`. Then the bytes take the copy path, whatever the system
    /// offers. The one question the connection asks of the server's settings before it
    /// splices; the other is whether its stream offers a socket to splice, which a TLS stream
    /// (whose bytes the process encrypts) never does.
    pub fn bytes_must_be_seen(&self) -> bool {
        self.plain_path == PlainPath::Copy || self.observe || !self.faults.is_empty()
    }

    /// How many shouts of one connection may echo at once: this is all that tells the two reverb
    /// modes apart (plain mode has no shouts).
    pub fn shouts_in_flight(&self) -> usize {
        match self.mode {
            Mode::Sequential | Mode::Plain => 1,
            Mode::Concurrent => self.max_pending.max(1),
        }
    }
}

/// What one connection's session needs of the server's settings.
impl From<&ServerConfig> for Settings {
    fn from(config: &ServerConfig) -> Settings {
        Settings {
            delay: config.delay,
            max_line: config.max_line,
            shouts_in_flight: config.shouts_in_flight(),
            idle_timeout: config.idle_timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_must_be_seen_when_copying_is_asked_for_watched_or_faulted() {
        let config = ServerConfig {
            mode: Mode::Plain,
            ..ServerConfig::default()
        };
        assert_eq!(config.plain_path, PlainPath::Splice, "splice unless told");
        assert!(!config.bytes_must_be_seen());
        let copying = ServerConfig {
            plain_path: PlainPath::Copy,
            ..config.clone()
        };
        assert!(copying.bytes_must_be_seen());
        let watched = ServerConfig {
            observe: true,
            ..config.clone()
        };
        assert!(
            watched.bytes_must_be_seen(),
            "a trace or hex dump sees every byte"
        );
        let faulted = ServerConfig {
            faults: Faults {
                specs: vec!["latency=10ms".parse().unwrap()],
                seed: 1,
            },
            ..config
        };
        assert!(faulted.bytes_must_be_seen(), "a fault shapes every write");
    }
}
