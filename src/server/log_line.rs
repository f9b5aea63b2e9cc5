//! What a connection's closing log line says: why it ended, and what it did.

use std::io;
use std::time::Duration;

use echoctl_core::fault::shaper::Fired;
use echoctl_core::plural::counted;
use echoctl_core::session::End;
use echoctl_core::session::Session;
use echoctl_core::session::plain::PlainSession;

/// Why a connection ended, for the log line.
#[derive(Debug)]
pub enum CloseReason {
    /// Its session ended, and it was closed as [`super::close::finish`] says.
    Ended(End),
    /// The connection failed under its session.
    Broken(Broken),
    /// A fault on purpose (`--fault`) reset, closed or stalled it.
    Fault(super::faults::FaultEnd),
}

/// How a connection fails under its session: it is dropped as it is, without a goodbye.
#[derive(Debug)]
pub enum Broken {
    /// The client stopped reading: no write progress for `--write-timeout`.
    WriteStalled(Duration),
    /// The socket failed (reset by the peer, most often).
    Io(io::Error),
    /// A fault on purpose fired: the connection is reset, closed or stalled as it says.
    Fault(Fired),
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::Ended(End::ClientDone) => f.write_str("client finished"),
            CloseReason::Ended(End::ServerShutdown) => f.write_str("server shutting down"),
            CloseReason::Ended(End::Aborted) => f.write_str("grace period over, echoes dropped"),
            CloseReason::Ended(End::LineTooLong(e)) => write!(f, "{e} (--max-line)"),
            CloseReason::Ended(End::Idle(d)) => write!(
                f,
                "idle for {} (--idle-timeout)",
                echoctl_core::duration::format(*d)
            ),
            CloseReason::Broken(Broken::WriteStalled(d)) => write!(
                f,
                "client not reading for {} (--write-timeout)",
                echoctl_core::duration::format(*d)
            ),
            CloseReason::Broken(Broken::Io(e)) if client_went_away(e) => {
                write!(f, "client went away ({})", went_away_how(e))
            }
            CloseReason::Broken(Broken::Io(e)) => write!(f, "{e}"),
            CloseReason::Broken(Broken::Fault(fired)) => write!(f, "{fired} (fault)"),
            CloseReason::Fault(end) => write!(f, "{end}"),
        }
    }
}

/// Whether a failed write or read means only that the client left (Ctrl-C, a closed terminal):
/// the peer reset the connection or closed it while echoes were on their way, or (over TLS)
/// closed it without saying its input was over.
pub(super) fn client_went_away(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
    )
}

pub(super) fn went_away_how(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::BrokenPipe => "it closed the connection",
        io::ErrorKind::UnexpectedEof => "it closed the connection without TLS close_notify",
        _ => "it reset the connection",
    }
}

/// Counts for the closing log line.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConnectionStats {
    pub shouts: u64,
    pub echo_lines: u64,
}

/// What a connection did, as its closing log line says it, by the kind of its session.
pub trait Summary {
    fn summary(&self, stats: &ConnectionStats) -> String;
}

impl Summary for Session {
    fn summary(&self, stats: &ConnectionStats) -> String {
        format!(
            "{}, {} sent",
            counted(stats.shouts, "shout"),
            counted(stats.echo_lines, "echo line")
        )
    }
}

impl Summary for PlainSession {
    fn summary(&self, _: &ConnectionStats) -> String {
        format!("{} echoed", counted(self.echoed(), "byte"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_singular_for_one() {
        let session = Session::new(echoctl_core::session::Settings::from(
            &echoctl_core::ServerConfig::default(),
        ));
        let one = ConnectionStats {
            shouts: 1,
            echo_lines: 1,
        };
        assert_eq!(session.summary(&one), "1 shout, 1 echo line sent");
        let some = ConnectionStats {
            shouts: 0,
            echo_lines: 9,
        };
        assert_eq!(session.summary(&some), "0 shouts, 9 echo lines sent");
        assert_eq!(
            PlainSession::new(None).summary(&one),
            "0 bytes echoed",
            "a plain echo counts its bytes"
        );
    }
}
