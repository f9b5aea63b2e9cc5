//! The plain echo's session: the book's `io.Copy(c, c)`, every byte written back as it is read,
//! with what the book leaves out decided here, without the connection.
//!
//! A plain session holds no bytes. The connection reads at most [`PlainSession::read_allowance`]
//! bytes, tells the session ([`PlainSession::receive`]), writes them straight back and says how
//! many went ([`PlainSession::sent`]; the server's loop does both through [`ServerSession`]);
//! the session owes the rest until they are sent, and reads nothing more meanwhile, so a client
//! that sends without reading is held to one chunk owed ([`COPY_CHUNK`] through the server's
//! buffers, [`SPLICE_CHUNK`] when a streaming client's bytes go through the kernel: the I/O
//! layer then tells the session only how many) while TCP's flow control pushes back on it. It
//! is a stream, not lines: no line limit, no farewell line (the client gets its own bytes and
//! nothing else), and `--idle-timeout` means no bytes at all for that long.
//!
//! Like [`super::Session`], it is pure: it is handed the time and does no I/O. It ends the way a
//! reverb session does ([`End`]), so the connection closes both alike.

use std::time::Duration;

use tokio::time::Instant;

use super::{End, ServerSession, Stop};

/// Most bytes read, and so owed back, at once. A client that does not read costs the server at
/// most this much beside its socket buffers.
pub const COPY_CHUNK: usize = 16 * 1024;

/// Most bytes moved at once when the I/O layer splices them (socket to pipe to socket, in the
/// kernel), and so owed back: they wait in a pipe, not in the server's memory. A pipe's default
/// capacity, so that one turn can fill it; a larger chunk would need each pipe enlarged, and a
/// client that does not read would hold that much more in the kernel.
pub const SPLICE_CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading and writing back.
    Copying,
    /// No more reading: the bytes owed are sent, then the session ends so.
    Ending(End),
    /// Over.
    Ended(End),
}

/// One client's plain echo; see the module docs.
#[derive(Debug)]
pub struct PlainSession {
    idle_timeout: Option<Duration>,
    /// Read but not yet written back.
    owed: usize,
    /// Written back, in all.
    echoed: u64,
    input_ended: bool,
    /// The last read filled a copy chunk: the client streams, and the next read may go
    /// through the kernel.
    streaming: bool,
    phase: Phase,
    /// Armed while the session waits for bytes with nothing owed.
    idle_deadline: Option<Instant>,
}

impl PlainSession {
    pub fn new(idle_timeout: Option<Duration>) -> PlainSession {
        PlainSession {
            idle_timeout,
            owed: 0,
            echoed: 0,
            input_ended: false,
            streaming: false,
            phase: Phase::Copying,
            idle_deadline: None,
        }
    }

    /// How many bytes to read now: a chunk while copying with nothing owed, else zero.
    pub fn read_allowance(&self) -> usize {
        if self.phase == Phase::Copying && !self.input_ended && self.owed == 0 {
            COPY_CHUNK
        } else {
            0
        }
    }

    /// How many bytes to move now through the kernel, where the I/O layer can: [`SPLICE_CHUNK`]
    /// while the client streams (its last read filled a [`COPY_CHUNK`]) and
    /// [`PlainSession::read_allowance`] would read; else zero, and the next read copies. A
    /// small message costs fewer system calls copied than spliced (a splice into the pipe, one
    /// out, and one more to learn the socket is empty, against a read that comes back short
    /// and a write), and saves no copy worth having.
    pub fn splice_allowance(&self) -> usize {
        if self.streaming && self.read_allowance() > 0 {
            SPLICE_CHUNK
        } else {
            0
        }
    }

    /// `n` bytes were read at `now`: they are owed back, and the client is not idle.
    pub fn receive(&mut self, now: Instant, n: usize) {
        self.streaming = n >= COPY_CHUNK;
        self.owed += n;
        self.idle_deadline = self.idle_timeout.map(|idle| now + idle);
    }

    /// `n` of the bytes owed were written back.
    pub fn sent(&mut self, n: usize) {
        debug_assert!(n <= self.owed, "sent more than was owed");
        let n = n.min(self.owed);
        self.owed -= n;
        self.echoed += n as u64;
    }

    /// Bytes read and not yet written back.
    pub fn owed(&self) -> usize {
        self.owed
    }

    /// Bytes written back so far.
    pub fn echoed(&self) -> u64 {
        self.echoed
    }

    /// The client closed its write half: once what it sent is back, the session is over.
    pub fn end_of_input(&mut self) {
        self.input_ended = true;
    }

    /// The server is shutting down gently: no more reading; the bytes owed are still sent.
    pub fn drain(&mut self) {
        if self.phase == Phase::Copying {
            self.phase = Phase::Ending(End::ServerShutdown);
        }
    }

    /// The grace period is over: the session ends now, whatever it owes.
    pub fn abort(&mut self) {
        if !matches!(self.phase, Phase::Ended(_)) {
            self.phase = Phase::Ended(End::Aborted);
        }
    }

    /// Brings the session to `now`: ends it when nothing is owed and the input has ended, the
    /// server is draining, or the idle deadline has passed; arms the idle deadline when it starts
    /// waiting for bytes.
    pub fn advance(&mut self, now: Instant) {
        if self.phase == Phase::Copying
            && self.owed == 0
            && self.idle_deadline.is_some_and(|deadline| deadline <= now)
            && let Some(idle) = self.idle_timeout
        {
            self.phase = Phase::Ending(End::Idle(idle));
        }
        if self.owed == 0 {
            let end = match self.phase {
                Phase::Ending(end) => Some(end),
                Phase::Copying if self.input_ended => Some(End::ClientDone),
                _ => None,
            };
            if let Some(end) = end {
                self.phase = Phase::Ended(end);
            }
        }
        if self.read_allowance() == 0 {
            self.idle_deadline = None;
        } else if self.idle_deadline.is_none() {
            self.idle_deadline = self.idle_timeout.map(|idle| now + idle);
        }
    }

    /// When the session next needs [`PlainSession::advance`] without news: the idle deadline.
    pub fn next_wake(&self) -> Option<Instant> {
        self.idle_deadline
    }

    /// Which shutdown stage would change the session now.
    pub fn next_stop(&self) -> Stop {
        match self.phase {
            Phase::Copying => Stop::Drain,
            Phase::Ending(_) | Phase::Ended(_) => Stop::Abort,
        }
    }

    /// How the session ended, once it has.
    pub fn end(&self) -> Option<End> {
        match self.phase {
            Phase::Ended(end) => Some(end),
            Phase::Copying | Phase::Ending(_) => None,
        }
    }
}

impl ServerSession for PlainSession {
    fn read_allowance(&self) -> usize {
        PlainSession::read_allowance(self)
    }
    /// Every byte goes straight back.
    fn receive(&mut self, now: Instant, bytes: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(bytes);
        PlainSession::receive(self, now, bytes.len())
    }
    fn end_of_input(&mut self) {
        PlainSession::end_of_input(self)
    }
    fn drain(&mut self) {
        PlainSession::drain(self)
    }
    fn abort(&mut self) {
        PlainSession::abort(self)
    }
    /// No lines and no shouts: only the end and the idle deadline change with time.
    fn advance(&mut self, now: Instant, _: &mut Vec<u8>, _: impl FnMut(&[u8], usize)) -> usize {
        PlainSession::advance(self, now);
        0
    }
    /// Nothing is owed any more: the idle clock starts from here.
    fn written(&mut self, now: Instant) {
        self.sent(self.owed);
        PlainSession::advance(self, now);
    }
    fn next_wake(&self) -> Option<Instant> {
        PlainSession::next_wake(self)
    }
    fn next_stop(&self) -> Stop {
        PlainSession::next_stop(self)
    }
    fn end(&self) -> Option<End> {
        PlainSession::end(self)
    }
    /// Every byte goes back as read: nothing needs to see them.
    fn pass_through(&mut self) -> Option<&mut PlainSession> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn reads_a_chunk_only_while_nothing_is_owed() {
        let t0 = Instant::now();
        let mut session = PlainSession::new(None);
        assert_eq!(session.read_allowance(), COPY_CHUNK);
        session.receive(t0, 100);
        assert_eq!(session.read_allowance(), 0, "owes 100 bytes: not reading");
        session.sent(60);
        session.advance(t0);
        assert_eq!(session.owed(), 40);
        assert_eq!(session.read_allowance(), 0);
        session.sent(40);
        session.advance(t0);
        assert_eq!(session.read_allowance(), COPY_CHUNK);
        assert_eq!(session.echoed(), 100);
        assert_eq!(session.end(), None);
    }

    #[test]
    fn moves_a_pipe_full_through_the_kernel_only_while_the_client_streams_and_it_would_read() {
        let t0 = Instant::now();
        let mut session = PlainSession::new(None);
        assert!(ServerSession::pass_through(&mut session).is_some());
        assert_eq!(session.splice_allowance(), 0, "a first read copies");
        session.receive(t0, COPY_CHUNK - 1);
        session.sent(COPY_CHUNK - 1);
        session.advance(t0);
        assert_eq!(
            session.splice_allowance(),
            0,
            "a small message: copy the next"
        );
        session.receive(t0, COPY_CHUNK);
        assert_eq!(session.splice_allowance(), 0, "a chunk owed: not reading");
        session.sent(COPY_CHUNK);
        session.advance(t0);
        assert_eq!(
            session.splice_allowance(),
            SPLICE_CHUNK,
            "streaming: splice the next"
        );
        session.receive(t0, SPLICE_CHUNK);
        assert_eq!(
            session.splice_allowance(),
            0,
            "a pipe full owed: not reading"
        );
        session.sent(SPLICE_CHUNK - 1);
        session.advance(t0);
        assert_eq!(session.splice_allowance(), 0);
        session.sent(1);
        session.advance(t0);
        assert_eq!(session.splice_allowance(), SPLICE_CHUNK);
        session.receive(t0, 100);
        session.sent(100);
        session.advance(t0);
        assert_eq!(
            session.splice_allowance(),
            0,
            "the stream paused: copy again"
        );
        session.receive(t0, COPY_CHUNK);
        session.sent(COPY_CHUNK);
        session.advance(t0);
        session.drain();
        session.advance(t0);
        assert_eq!(session.splice_allowance(), 0);

        let config = crate::config::ServerConfig::default();
        let mut reverb = crate::session::Session::new((&config).into());
        assert!(
            ServerSession::pass_through(&mut reverb).is_none(),
            "the reverb must see its lines"
        );
    }

    #[test]
    fn end_of_input_ends_only_once_everything_is_back() {
        let t0 = Instant::now();
        let mut session = PlainSession::new(None);
        session.receive(t0, 10);
        session.end_of_input();
        session.advance(t0);
        assert_eq!(session.end(), None, "10 bytes still owed");
        session.sent(10);
        session.advance(t0);
        assert_eq!(session.end(), Some(End::ClientDone));
        assert_eq!(session.read_allowance(), 0);
    }

    #[test]
    fn idle_means_no_bytes_for_that_long_and_owed_bytes_are_not_idle() {
        let t0 = Instant::now();
        let mut session = PlainSession::new(Some(ms(500)));
        session.advance(t0);
        assert_eq!(session.next_wake(), Some(t0 + ms(500)));
        // A byte is activity: no line needed.
        session.receive(t0 + ms(400), 1);
        assert_eq!(session.next_wake(), Some(t0 + ms(900)));
        session.advance(t0 + ms(1000));
        assert_eq!(session.end(), None, "a byte owed back is not idleness");
        assert_eq!(session.next_wake(), None);
        session.sent(1);
        session.advance(t0 + ms(1000));
        assert_eq!(session.next_wake(), Some(t0 + ms(1500)));
        session.advance(t0 + ms(1499));
        assert_eq!(session.end(), None);
        session.advance(t0 + ms(1500));
        assert_eq!(session.end(), Some(End::Idle(ms(500))));
        assert_eq!(session.read_allowance(), 0);
    }

    #[test]
    fn draining_sends_what_is_owed_then_ends_and_abort_ends_at_once() {
        let t0 = Instant::now();
        let mut session = PlainSession::new(None);
        assert_eq!(session.next_stop(), Stop::Drain);
        session.receive(t0, 5);
        session.drain();
        assert_eq!(session.next_stop(), Stop::Abort);
        session.sent(2);
        session.advance(t0);
        assert_eq!(session.end(), None);
        session.sent(3);
        session.advance(t0);
        assert_eq!(session.end(), Some(End::ServerShutdown));

        let mut session = PlainSession::new(None);
        session.receive(t0, 5);
        session.drain();
        session.abort();
        assert_eq!(session.end(), Some(End::Aborted));
        session.drain();
        assert_eq!(session.end(), Some(End::Aborted));
    }
}
