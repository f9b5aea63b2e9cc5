//! One `connect udp:HOST:PORT` session, without the socket: each line of input a datagram, each
//! datagram heard a line or more, and, since UDP has no close, when the session is over.
//!
//! Every decision the client makes about a session over UDP lives here, as [`super`]'s session
//! holds those over a stream: which bytes of input make each datagram, what each line heard is
//! (an echo, a notice or any other line, told by the same [`Transcript`]), what kind of server
//! answers, how many echoes are still owed, and when to stop waiting.
//!
//! * **Datagrams.** Each line of input is one datagram, sent with its line end; a last line
//!   without one at the end of input is a datagram too. A line longer than a datagram holds is
//!   an error: it cannot be sent whole.
//! * **What answers.** The first line heard tells: an echo line (TAB, SPACE) means a reverb
//!   server, which owes three echoes per shout; any other line, a plain echo, which owes each
//!   datagram back once. A notice (`echoctl: ...`) tells nothing either way.
//! * **The end.** After the end of input, the session is over when every echo owed has come, or
//!   when `--wait` passes with nothing arriving (each datagram heard starts it again): exit 0,
//!   or 4 with echoes missing (3, like a TCP session, when the last line was a notice).
//!
//! Pure: it is handed the time and the bytes, does no I/O and never sleeps.

use std::time::Duration;

use tokio::time::Instant;

use super::SessionEnd;
use super::transcript::{Heard, Transcript};
use crate::lines::without_line_end;
use crate::timeline::Recording;
use crate::udp::guard::MAX_DATAGRAM;

/// How long `connect` waits, after the end of input, for a datagram to arrive before it gives
/// up on the echoes still owed, when `--wait` is not given: UDP has no close to wait for, and a
/// datagram lost is never coming.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(3);

/// A line of input longer than one datagram holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong {
    /// Its length so far, line end excluded.
    pub len: usize,
}

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a line of input is longer than one UDP datagram holds ({} bytes at least, of \
             {MAX_DATAGRAM}); each line is sent as one datagram",
            self.len
        )
    }
}

impl std::error::Error for LineTooLong {}

/// What kind of server answers, as far as its lines tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// Nothing it said has told yet.
    Unknown,
    /// It sends echo lines: three per shout.
    Reverb,
    /// It sends each datagram back as it came.
    Plain,
}

/// One `connect udp:` session; see the module docs.
#[derive(Debug)]
pub struct DatagramSession {
    started: Instant,
    wait: Option<Duration>,
    transcript: Transcript,
    /// The start of a line of input not yet ended.
    pending: Vec<u8>,
    shouts: u64,
    /// Lines heard from a plain echo.
    returned: u64,
    server: Server,
    input_ended: bool,
    /// When the session last sent or heard anything: `--wait` runs from here after the end of
    /// input.
    last_activity: Instant,
}

impl DatagramSession {
    /// A session starting at `started`; `record` keeps every shout and echo (for voices, times
    /// and the timeline), and `wait` is how long to wait with nothing arriving after the end of
    /// input (`None`: until every echo owed has come).
    pub fn new(started: Instant, record: bool, wait: Option<Duration>) -> DatagramSession {
        DatagramSession {
            started,
            wait,
            transcript: Transcript::new(record),
            pending: Vec::new(),
            shouts: 0,
            returned: 0,
            server: Server::Unknown,
            input_ended: false,
            last_activity: started,
        }
    }

    /// Input as it was read at `now`: hands `on_datagram` each line it completes, with its line
    /// end, to be sent as one datagram (noted as a shout before it is sent, so its loud echo
    /// finds it). A line longer than a datagram holds is an error.
    pub fn input(
        &mut self,
        now: Instant,
        chunk: &[u8],
        mut on_datagram: impl FnMut(&[u8]),
    ) -> Result<(), LineTooLong> {
        let mut rest = chunk;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            let (line, next) = rest.split_at(end + 1);
            rest = next;
            if self.pending.is_empty() {
                self.shout(now, line, &mut on_datagram)?;
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.extend_from_slice(line);
                self.shout(now, &whole, &mut on_datagram)?;
            }
        }
        self.pending.extend_from_slice(rest);
        if self.pending.len() > MAX_DATAGRAM {
            return Err(LineTooLong {
                len: self.pending.len(),
            });
        }
        Ok(())
    }

    /// The input ended at `now`: a last line without a line end, if any, is handed to
    /// `on_datagram` as a datagram of its own, and `--wait`'s clock starts.
    pub fn end_of_input(
        &mut self,
        now: Instant,
        mut on_datagram: impl FnMut(&[u8]),
    ) -> Result<(), LineTooLong> {
        let last = std::mem::take(&mut self.pending);
        if !last.is_empty() {
            self.shout(now, &last, &mut on_datagram)?;
        }
        self.input_ended = true;
        self.last_activity = now;
        Ok(())
    }

    fn shout(
        &mut self,
        now: Instant,
        datagram: &[u8],
        on_datagram: &mut impl FnMut(&[u8]),
    ) -> Result<(), LineTooLong> {
        if datagram.len() > MAX_DATAGRAM {
            return Err(LineTooLong {
                len: datagram.len(),
            });
        }
        let at = now.saturating_duration_since(self.started);
        self.transcript.sent(at, without_line_end(datagram));
        self.shouts += 1;
        self.last_activity = now;
        on_datagram(datagram);
        Ok(())
    }

    /// A datagram heard at `now`: hands `on_line` each of its lines (the datagram's end ends
    /// the last one) with what it is, as [`super::ClientSession::receive`] does.
    pub fn receive(
        &mut self,
        now: Instant,
        datagram: &[u8],
        mut on_line: impl FnMut(&[u8], Heard),
    ) {
        self.last_activity = now;
        let at = now.saturating_duration_since(self.started);
        for line in datagram.split_inclusive(|&b| b == b'\n') {
            let heard = self.transcript.heard(at, line);
            match (heard, self.server) {
                (Heard::Echo(_), Server::Unknown) => self.server = Server::Reverb,
                (Heard::Other, Server::Unknown) => {
                    self.server = Server::Plain;
                    self.returned += 1;
                }
                (Heard::Other, Server::Plain) => self.returned += 1,
                _ => {}
            }
            on_line(line, heard);
        }
    }

    /// When [`DatagramSession::advance`] may end the session without news: `--wait` after the
    /// last thing sent or heard, once the input has ended.
    pub fn next_wake(&self) -> Option<Instant> {
        if !self.input_ended {
            return None;
        }
        self.wait.map(|wait| self.last_activity + wait)
    }

    /// Whether the session is over at `now`, and how: every echo owed has come after the end of
    /// input; or `--wait` passed with nothing arriving, with echoes still owed (or the server's
    /// notice as its last line).
    pub fn advance(&self, now: Instant) -> Option<SessionEnd> {
        if !self.input_ended {
            return None;
        }
        if self.owed() == 0 {
            return Some(SessionEnd::EchoesArrived);
        }
        if self.next_wake().is_none_or(|deadline| now < deadline) {
            return None;
        }
        Some(match self.transcript.notice() {
            Some(notice) => SessionEnd::Notice(notice.to_vec()),
            None => SessionEnd::WaitExpired { owed: self.owed() },
        })
    }

    /// Echoes still owed: three a shout from a reverb server (or one not yet heard from), one
    /// from a plain echo, less what came.
    pub fn owed(&self) -> u64 {
        match self.server {
            Server::Unknown | Server::Reverb => self.transcript.owed(),
            Server::Plain => self.shouts.saturating_sub(self.returned),
        }
    }

    /// What kind of server answers, as far as it has told.
    pub fn server(&self) -> Server {
        self.server
    }

    /// Everything sent and heard (empty unless recording).
    pub fn recording(&self) -> &Recording {
        self.transcript.recording()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn started(wait: Option<Duration>) -> (DatagramSession, Instant) {
        let start = Instant::now();
        (DatagramSession::new(start, false, wait), start)
    }

    fn input(session: &mut DatagramSession, now: Instant, chunk: &[u8]) -> Vec<Vec<u8>> {
        let mut datagrams = Vec::new();
        session
            .input(now, chunk, |d| datagrams.push(d.to_vec()))
            .unwrap();
        datagrams
    }

    fn hear(session: &mut DatagramSession, now: Instant, datagram: &[u8]) -> Vec<Heard> {
        let mut heard = Vec::new();
        session.receive(now, datagram, |_, h| heard.push(h));
        heard
    }

    #[test]
    fn each_line_of_input_is_a_datagram_with_its_line_end() {
        let (mut session, start) = started(None);
        assert_eq!(input(&mut session, start, b"Hel"), Vec::<Vec<u8>>::new());
        assert_eq!(
            input(&mut session, start, b"lo?\r\n\nYo"),
            [b"Hello?\r\n".to_vec(), b"\n".to_vec()]
        );
        let mut last = Vec::new();
        session
            .end_of_input(start, |d| last.push(d.to_vec()))
            .unwrap();
        assert_eq!(last, [b"Yo".to_vec()], "a last line without its end");
        assert_eq!(session.owed(), 9, "three a shout, until the server tells");
    }

    #[test]
    fn a_line_longer_than_a_datagram_is_an_error() {
        let (mut session, start) = started(None);
        let long = vec![b'x'; MAX_DATAGRAM + 1];
        let error = session.input(start, &long, |_| {}).unwrap_err();
        assert_eq!(error.len, MAX_DATAGRAM + 1);
        assert!(
            error
                .to_string()
                .contains("longer than one UDP datagram holds")
        );
        let (mut session, start) = started(None);
        let fits = [vec![b'x'; MAX_DATAGRAM - 1], b"\n".to_vec()].concat();
        assert_eq!(input(&mut session, start, &fits).len(), 1);
    }

    #[test]
    fn a_reverb_server_owes_three_echoes_and_the_session_ends_when_they_came() {
        let (mut session, start) = started(Some(Duration::from_secs(3)));
        input(&mut session, start, b"Hi\n");
        session.end_of_input(start, |_| {}).unwrap();
        assert_eq!(session.advance(start), None);
        assert_eq!(
            hear(&mut session, start + MS, b"\t HI\n"),
            [Heard::Echo(None)]
        );
        assert_eq!(session.server(), Server::Reverb);
        hear(&mut session, start + MS * 1000, b"\t Hi\n");
        assert_eq!(session.advance(start + MS * 1000), None);
        hear(&mut session, start + MS * 2000, b"\t hi\n");
        assert_eq!(
            session.advance(start + MS * 2000),
            Some(SessionEnd::EchoesArrived)
        );
    }

    #[test]
    fn a_plain_echo_owes_each_datagram_once() {
        let (mut session, start) = started(Some(Duration::from_secs(3)));
        input(&mut session, start, b"one\ntwo\n");
        session.end_of_input(start, |_| {}).unwrap();
        assert_eq!(hear(&mut session, start, b"one\n"), [Heard::Other]);
        assert_eq!(session.server(), Server::Plain);
        assert_eq!(session.owed(), 1);
        assert_eq!(session.advance(start), None);
        hear(&mut session, start, b"two\n");
        assert_eq!(session.advance(start), Some(SessionEnd::EchoesArrived));
    }

    #[test]
    fn wait_runs_from_the_last_thing_heard_after_the_end_of_input() {
        let wait = Duration::from_secs(3);
        let (mut session, start) = started(Some(wait));
        input(&mut session, start, b"Hi\n");
        assert_eq!(session.next_wake(), None, "input still open");
        let ended = start + MS * 10;
        session.end_of_input(ended, |_| {}).unwrap();
        assert_eq!(session.next_wake(), Some(ended + wait));
        hear(&mut session, ended + MS * 100, b"\t HI\n");
        assert_eq!(session.next_wake(), Some(ended + MS * 100 + wait));
        assert_eq!(session.advance(ended + MS * 100 + wait - MS), None);
        assert_eq!(
            session.advance(ended + MS * 100 + wait),
            Some(SessionEnd::WaitExpired { owed: 2 })
        );
        // Nothing at all heard: all three of each shout are owed.
        let (mut session, start) = started(Some(wait));
        input(&mut session, start, b"a\nb\n");
        session.end_of_input(start, |_| {}).unwrap();
        assert_eq!(
            session.advance(start + wait),
            Some(SessionEnd::WaitExpired { owed: 6 })
        );
        // No input: nothing owed, over at once.
        let (mut session, start) = started(Some(wait));
        session.end_of_input(start, |_| {}).unwrap();
        assert_eq!(session.advance(start), Some(SessionEnd::EchoesArrived));
        // Without --wait, it waits for every echo, however long.
        let (mut session, start) = started(None);
        input(&mut session, start, b"a\n");
        session.end_of_input(start, |_| {}).unwrap();
        assert_eq!(session.next_wake(), None);
        assert_eq!(session.advance(start + Duration::from_secs(3600)), None);
    }

    #[test]
    fn a_notice_as_the_last_thing_heard_is_how_the_session_ended() {
        let (mut session, start) = started(Some(Duration::from_secs(3)));
        input(&mut session, start, b"Hi\n");
        session.end_of_input(start, |_| {}).unwrap();
        let full = b"echoctl: server is full (1 peers); try again later\n";
        assert_eq!(hear(&mut session, start, full), [Heard::Notice]);
        assert_eq!(session.server(), Server::Unknown, "a notice tells nothing");
        assert_eq!(
            session.advance(start + Duration::from_secs(3)),
            Some(SessionEnd::Notice(full[..full.len() - 1].to_vec()))
        );
    }

    #[test]
    fn a_datagram_of_several_lines_is_each_line_heard() {
        let (mut session, start) = started(None);
        input(&mut session, start, b"Hi\n");
        let mut lines = Vec::new();
        session.receive(start, b"\t HI\n\t Hi\n\t hi", |line, heard| {
            lines.push((line.to_vec(), heard))
        });
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[2].0, b"\t hi",
            "the datagram's end ends its last line"
        );
        assert_eq!(session.owed(), 0);
    }
}
