//! What the server's connection loop drives, whichever the mode: the [`ServerSession`] trait,
//! how a session ends ([`End`], and the client's farewell) and the shutdown stages ([`Stop`]).

use std::time::Duration;

use tokio::time::Instant;

use super::plain::PlainSession;
use crate::lines::LineTooLong;

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The client finished its input and every echo was delivered.
    ClientDone,
    /// The server is shutting down; echoes in flight were delivered.
    ServerShutdown,
    /// The client sent a line over the limit; the echoes owed before it were delivered.
    LineTooLong(LineTooLong),
    /// No complete line for this long while the server waited for one; echoes owed were
    /// delivered.
    Idle(Duration),
    /// The grace period ran out with echoes still owed: they were dropped.
    Aborted,
}

impl End {
    /// The last line the client is sent, when there is something to explain.
    pub fn farewell(&self) -> Option<String> {
        match self {
            End::LineTooLong(e) => Some(format!(
                "echoctl: {e}; closing the connection (the server's --max-line is {})\n",
                crate::plural::counted(e.max_line, "byte")
            )),
            End::Idle(d) => Some(format!(
                "echoctl: no complete line for {}; closing the connection\n",
                crate::duration::format(*d)
            )),
            End::ServerShutdown => {
                Some("echoctl: the server is shutting down; closing the connection\n".to_string())
            }
            End::ClientDone | End::Aborted => None,
        }
    }
}

/// The shutdown stage that would change a session now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Stop reading; deliver the echoes owed, then end.
    Drain,
    /// End now, dropping the echoes owed.
    Abort,
}

/// What the server's connection loop needs of a session, whichever the mode: the reverb's
/// [`Session`](super::Session) and the plain echo's [`PlainSession`] are both driven by one loop
/// over this.
///
/// Each time round, the loop reads at most [`ServerSession::read_allowance`] bytes when the
/// socket is readable and hands them to [`ServerSession::receive`], brings the session to now
/// with [`ServerSession::advance`], and writes what the two appended, in one go; once all of it
/// is on the socket it says so ([`ServerSession::written`]). Then, unless
/// [`ServerSession::end`] says the session is over, it waits for whichever comes first of the
/// socket (while the allowance is not zero), [`ServerSession::next_wake`] and the shutdown stage
/// [`ServerSession::next_stop`] names ([`ServerSession::drain`], [`ServerSession::abort`]).
pub trait ServerSession {
    /// How many bytes to read now; zero while the session is not reading.
    fn read_allowance(&self) -> usize;
    /// `bytes` (at most the allowance) were read at `now`; appends to `out` what goes straight
    /// back.
    fn receive(&mut self, now: Instant, bytes: &[u8], out: &mut Vec<u8>);
    /// The client closed its write half.
    fn end_of_input(&mut self);
    /// The server is shutting down gently: no more reading; what is owed is still delivered.
    fn drain(&mut self);
    /// The grace period is over: the session ends now, whatever it owes.
    fn abort(&mut self);
    /// Brings the session to `now`: appends to `out` what is due, calls `on_shout` with each
    /// shout taken and the bytes then queued, and returns how many echo lines it appended.
    fn advance(
        &mut self,
        now: Instant,
        out: &mut Vec<u8>,
        on_shout: impl FnMut(&[u8], usize),
    ) -> usize;
    /// Everything appended since the last call is on the socket, as of `now`.
    fn written(&mut self, now: Instant);
    /// When the session next needs advancing without news from the client.
    fn next_wake(&self) -> Option<Instant>;
    /// Which shutdown stage would change the session now.
    fn next_stop(&self) -> Stop;
    /// How the session ended, once it has.
    fn end(&self) -> Option<End>;
    /// This session as the plain echo's, whose bytes go back unchanged: the I/O layer may then
    /// move them without reading them (splice(2)) and tell the session only how many
    /// ([`PlainSession::receive`], [`PlainSession::sent`]). `None` for a session that must see
    /// its bytes.
    fn pass_through(&mut self) -> Option<&mut PlainSession> {
        None
    }
}
