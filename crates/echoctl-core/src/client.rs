//! One `connect` session, without the connection: what is sent, what is heard and the time in;
//! the server's lines, what each is, and how the session ended out.
//!
//! Every decision the client makes about a session lives here, as [`crate::session`] holds the
//! server's: which bytes of input are shouts, how the server's bytes split into lines and what
//! each line is (an echo, attributed to its shout and voice when recording, or a notice: see
//! [`Transcript`]), how many echoes are still owed, when `--wait` runs out, and how the session
//! ended. The drivers in the binary crate only move bytes and show lines: the piped relay
//! between its input, its output and the socket, the terminal client
//! between a line editor, the screen and the socket; the demo reads the client's output through a
//! session too, as a person at the screen would see it.
//!
//! Pure: it is handed the time and the bytes, does no I/O and never sleeps.
//!
//! The caller's loop: tell the session what is sent ([`ClientSession::send`] or
//! [`ClientSession::typed`], before writing it; [`ClientSession::end_of_input`],
//! [`ClientSession::input_failed`]) and what is heard ([`ClientSession::receive`]), show the
//! lines it hands back, and wait for whichever comes first of the server's bytes and
//! [`ClientSession::next_wake`]. [`ClientSession::server_closed`],
//! [`ClientSession::connection_failed`] and [`ClientSession::advance`] hand back the server's
//! last line without a line end, if any, and say how the session ended.
//!
//! [`datagrams`] is the same for `connect udp:HOST:PORT`, where each line is a datagram and
//! there is no close to wait for.

use std::fmt;
use std::io;
use std::time::Duration;

use tokio::time::Instant;

use crate::lines::{LineSplitter, without_line_end};
use crate::timeline::Recording;

pub mod datagrams;
pub mod transcript;

use transcript::{Heard, Transcript};

/// The longest line the client splits whole; a longer one is handed on in pieces, each as it
/// came (it is too long to be any shout's echo the client would attribute).
pub const CLIENT_MAX_LINE: usize = 1 << 20;

/// What shapes a client session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    /// Keep every shout and echo, for voices, times and the timeline (see [`Transcript::new`]).
    pub record: bool,
    /// How long to wait for the server after the end of input; `None` waits for its close.
    pub wait: Option<Duration>,
}

/// How a session ended without error. (An output closed by its reader, as in
/// `echoctl connect | head -1`, is an error of the driver, which `main` reports as a quiet end.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// The server closed the connection after the end of our input: the normal end.
    ServerClosed,
    /// The server closed the connection while our input was still open (it was stopped, or it
    /// closed us for its own reasons, such as an idle timeout).
    ServerClosedFirst,
    /// The server ended the session with a notice (a line that is not an echo: the server is
    /// full, the line was too long, the client was idle); its text, without the line end.
    Notice(Vec<u8>),
    /// `--wait` ran out after the end of input, with this many echoes still owed.
    WaitExpired { owed: u64 },
    /// Every echo owed arrived after the end of input: the normal end over UDP, which has no
    /// close ([`datagrams`]).
    EchoesArrived,
    /// Ctrl-C in the interactive session, or SIGINT or SIGTERM in either session (the drivers
    /// decide it: the piped relay itself never returns it, `connect` ends it so on a signal).
    Interrupted,
}

/// How a session failed.
#[derive(Debug)]
pub enum SessionError {
    /// Reading from the server failed, and no notice before said why.
    Connection(io::Error),
    /// The server closed the connection before all input was sent: sending it failed so.
    InputUnsent(io::Error),
}

impl SessionError {
    /// A reset loses whatever the server still had to say: that is the news, not the OS's words.
    fn is_reset(&self) -> bool {
        matches!(self, SessionError::Connection(e) if matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
        ))
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            _ if self.is_reset() => {
                f.write_str("connection reset by the server; echoes after this point were lost")
            }
            SessionError::Connection(_) => f.write_str("connection failed"),
            SessionError::InputUnsent(e) => write!(
                f,
                "the server closed the connection before all input was sent ({e})"
            ),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SessionError::Connection(e) if !self.is_reset() => Some(e),
            _ => None,
        }
    }
}

/// How far our input has got.
#[derive(Debug)]
enum Input {
    Open,
    /// All of it was sent (the driver half-closes the connection).
    Ended,
    /// Sending it failed: the server is gone, or going.
    Failed(io::Error),
}

/// One `connect` session; see the module docs.
#[derive(Debug)]
pub struct ClientSession {
    /// The transcript's clock starts here.
    started: Instant,
    wait: Option<Duration>,
    transcript: Transcript,
    /// Our input, split into shouts.
    sent: LinePieces,
    /// The server's bytes, split into lines.
    heard: LinePieces,
    input: Input,
    /// When `--wait` runs out: armed at the end of input.
    deadline: Option<Instant>,
}

impl ClientSession {
    /// A session whose clock starts at `started` (when the connection was made).
    pub fn new(started: Instant, settings: Settings) -> ClientSession {
        ClientSession {
            started,
            wait: settings.wait,
            transcript: Transcript::new(settings.record),
            sent: LinePieces::new(),
            heard: LinePieces::new(),
            input: Input::Open,
            deadline: None,
        }
    }

    /// Input about to be written to the server, as it was read: each line it completes is a
    /// shout, noted at `now`. Told before the write: the loud echo can come back before the
    /// write returns, and must find its shout already sent.
    pub fn send(&mut self, now: Instant, chunk: &[u8]) {
        self.note_sent(now, Some(chunk));
    }

    /// A line typed on the terminal at `now`: each line in it (a paste may hold several) is a
    /// shout, noted as [`ClientSession::send`] notes it. Returns what to write to the server: the
    /// shouts, each ended by `\n` alone. (The terminal's way in; [`ClientSession::send`] is the
    /// piped one. A session takes one or the other.)
    pub fn typed(&mut self, now: Instant, text: &[u8]) -> Vec<u8> {
        let mut wire = Vec::with_capacity(text.len() + 1);
        // A typed text is whole: none of its lines is cut, however long.
        let mut lines = LineSplitter::new(usize::MAX);
        let mut shout = |line: &[u8]| {
            wire.extend_from_slice(without_line_end(line));
            wire.push(b'\n');
        };
        lines.split_chunk(text, &mut shout);
        // Enter ends the last line, an empty one too.
        lines.split_chunk(b"\n", &mut shout);
        self.send(now, &wire);
        wire
    }

    /// Our input ended at `now`: a last line without `\n` is a shout too (the server echoes it
    /// at the end of input), and `--wait`'s clock starts.
    pub fn end_of_input(&mut self, now: Instant) {
        self.note_sent(now, None);
        if let Input::Open = self.input {
            self.input = Input::Ended;
            self.deadline = self.wait.map(|wait| now + wait);
        }
    }

    /// Sending our input failed, its end included: the server's side says when the session
    /// is over, and the failure is how it ended unless the server said why.
    pub fn input_failed(&mut self, error: io::Error) {
        self.input = Input::Failed(error);
    }

    /// Whether our input is still being sent: it has neither ended nor failed.
    pub fn input_open(&self) -> bool {
        matches!(self.input, Input::Open)
    }

    /// Bytes from the server, received at `now`: hands `on_line` each line they complete, as it
    /// came (its `\n`, and any `\r`, included) with what it is, noted in the transcript. A line
    /// too long to split whole comes in pieces: the first says what the line is, the rest come
    /// with `None`. The start of a line the server has not finished is held until it is.
    pub fn receive(
        &mut self,
        now: Instant,
        chunk: &[u8],
        on_line: impl FnMut(&[u8], Option<Heard>),
    ) {
        self.hear(now, Some(chunk), on_line);
    }

    /// The server closed the connection, seen at `now`: hands `on_line` its last line without
    /// `\n`, if any, and says how the session ended: with the server's notice, if that was its
    /// last line; normally, if our input had ended; by the server, if our input was still open;
    /// or by the failure to send it.
    pub fn server_closed(
        &mut self,
        now: Instant,
        on_line: impl FnMut(&[u8], Option<Heard>),
    ) -> Result<SessionEnd, SessionError> {
        self.hear(now, None, on_line);
        if let Some(notice) = self.transcript.notice() {
            return Ok(SessionEnd::Notice(notice.to_vec()));
        }
        // The session is over: nothing more is sent.
        match std::mem::replace(&mut self.input, Input::Ended) {
            Input::Open => Ok(SessionEnd::ServerClosedFirst),
            Input::Ended => Ok(SessionEnd::ServerClosed),
            Input::Failed(e) => Err(SessionError::InputUnsent(e)),
        }
    }

    /// Reading from the server failed at `now`: hands `on_line` the server's last line without
    /// `\n`, if any. A notice as its last line says why the server went (it closes with our
    /// input unread, which resets the connection); otherwise the failure is the ending.
    pub fn connection_failed(
        &mut self,
        now: Instant,
        error: io::Error,
        on_line: impl FnMut(&[u8], Option<Heard>),
    ) -> Result<SessionEnd, SessionError> {
        self.hear(now, None, on_line);
        match self.transcript.notice() {
            Some(notice) => Ok(SessionEnd::Notice(notice.to_vec())),
            None => Err(SessionError::Connection(error)),
        }
    }

    /// When [`ClientSession::advance`] has something to do: `--wait` running out.
    pub fn next_wake(&self) -> Option<Instant> {
        self.deadline
    }

    /// Brings the session to `now`. Once `--wait` has run out, the session is over: hands
    /// `on_line` the line the server had not finished, if any (so every byte heard is shown), and
    /// says so, with the echoes still owed.
    pub fn advance(
        &mut self,
        now: Instant,
        on_line: impl FnMut(&[u8], Option<Heard>),
    ) -> Option<SessionEnd> {
        if self.deadline.is_none_or(|deadline| now < deadline) {
            return None;
        }
        self.hear(now, None, on_line);
        Some(SessionEnd::WaitExpired { owed: self.owed() })
    }

    /// Echoes still owed: three for every shout sent, less the echo lines heard.
    pub fn owed(&self) -> u64 {
        self.transcript.owed()
    }

    /// Everything sent and heard (empty unless recording).
    pub fn recording(&self) -> &Recording {
        self.transcript.recording()
    }

    fn at(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }

    fn note_sent(&mut self, now: Instant, chunk: Option<&[u8]>) {
        let at = self.at(now);
        let transcript = &mut self.transcript;
        self.sent.split(chunk, |line, first| {
            if first {
                transcript.sent(at, without_line_end(line));
            }
        });
    }

    fn hear(
        &mut self,
        now: Instant,
        chunk: Option<&[u8]>,
        mut on_line: impl FnMut(&[u8], Option<Heard>),
    ) {
        let at = self.at(now);
        let transcript = &mut self.transcript;
        self.heard.split(chunk, |line, first| {
            let heard = first.then(|| transcript.heard(at, line));
            on_line(line, heard);
        });
    }
}

/// A byte stream split into lines as received, each line noted once: a line too long for the
/// splitter comes in pieces, and only its first piece counts as the line. The one way the client
/// splits what it sends and what it hears.
#[derive(Debug)]
struct LinePieces {
    lines: LineSplitter,
    /// The last piece handed out was a long line cut short: the next piece continues it.
    continuing: bool,
}

impl LinePieces {
    fn new() -> LinePieces {
        LinePieces {
            lines: LineSplitter::new(CLIENT_MAX_LINE),
            continuing: false,
        }
    }

    /// Splits `chunk` (`None`: the end of the stream, with a last line without `\n`) and calls
    /// `on_piece(piece, first)` for each piece, as received; `first` is false for the rest of a
    /// line cut short.
    fn split(&mut self, chunk: Option<&[u8]>, mut on_piece: impl FnMut(&[u8], bool)) {
        let continuing = &mut self.continuing;
        let mut each = |piece: &[u8]| {
            let first = !*continuing;
            *continuing = !piece.ends_with(b"\n");
            on_piece(piece, first);
        };
        match chunk {
            Some(chunk) => self.lines.split_chunk(chunk, &mut each),
            None => self.lines.split_end(&mut each),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::transcript::Attributed;
    use crate::echo::Voice;

    const MS: Duration = Duration::from_millis(1);

    fn started(record: bool, wait: Option<Duration>) -> (ClientSession, Instant) {
        // Any base will do: only offsets from it are ever looked at.
        let start = Instant::now();
        (ClientSession::new(start, Settings { record, wait }), start)
    }

    /// Every line (or piece) a call hands out, with what it is.
    type Lines = Vec<(Vec<u8>, Option<Heard>)>;

    fn keep(lines: &mut Lines) -> impl FnMut(&[u8], Option<Heard>) + '_ {
        |line, heard| lines.push((line.to_vec(), heard))
    }

    fn receive(session: &mut ClientSession, now: Instant, chunk: &[u8]) -> Lines {
        let mut lines = Vec::new();
        session.receive(now, chunk, keep(&mut lines));
        lines
    }

    fn sent(session: &ClientSession) -> Vec<(Duration, Vec<u8>)> {
        let shouts = session.recording().shouts();
        shouts.iter().map(|s| (s.at, s.text.clone())).collect()
    }

    fn echo(line: &[u8]) -> (Vec<u8>, Option<Heard>) {
        (line.to_vec(), Some(Heard::Echo(None)))
    }

    #[test]
    fn input_is_noted_a_shout_per_line_as_each_line_is_completed() {
        let (mut session, start) = started(true, None);
        session.send(start + MS, b"Hel");
        assert!(sent(&session).is_empty(), "no line ended yet");
        session.send(start + MS * 2, b"lo?\r\n\nYo");
        assert_eq!(
            sent(&session),
            [(MS * 2, b"Hello?".to_vec()), (MS * 2, Vec::new())],
            "one CR before the LF is dropped; an empty line is a shout"
        );
        assert_eq!(session.owed(), 6);
        assert!(session.input_open());
        // A last line without `\n` is a shout too, at the end of input.
        session.end_of_input(start + MS * 3);
        assert_eq!(sent(&session)[2], (MS * 3, b"Yo".to_vec()));
        assert_eq!(session.owed(), 9);
        assert!(!session.input_open());
    }

    #[test]
    fn typed_text_is_a_shout_per_line_each_sent_with_a_newline_alone() {
        let (mut session, start) = started(true, None);
        assert_eq!(session.typed(start, b"Hello?"), b"Hello?\n");
        // A paste may hold several lines, ended either way.
        assert_eq!(session.typed(start + MS, b"one\r\ntwo\r"), b"one\ntwo\n");
        assert_eq!(session.typed(start + MS, b""), b"\n", "Enter alone");
        assert_eq!(session.typed(start + MS, b"last\n"), b"last\n\n");
        let shouts: Vec<Vec<u8>> = sent(&session).into_iter().map(|(_, s)| s).collect();
        let expected: [&[u8]; 6] = [b"Hello?", b"one", b"two", b"", b"last", b""];
        assert_eq!(shouts, expected);
        // However long, a typed line is one shout.
        let long = vec![b'x'; CLIENT_MAX_LINE * 2];
        assert_eq!(session.typed(start, &long).len(), long.len() + 1);
        assert_eq!(session.recording().shouts().len(), 7);
        assert_eq!(session.owed(), 21);
    }

    #[test]
    fn the_servers_lines_are_handed_out_as_they_came_and_a_cut_one_when_it_is_whole() {
        let (mut session, start) = started(false, None);
        session.send(start, b"Hi\n");
        assert_eq!(
            receive(&mut session, start, b"\t HI\n\t H"),
            [echo(b"\t HI\n")]
        );
        assert_eq!(
            receive(&mut session, start, b"i"),
            [],
            "held until it is whole"
        );
        assert_eq!(
            receive(&mut session, start, b"\r\n\t hi\n"),
            [echo(b"\t Hi\r\n"), echo(b"\t hi\n")],
            "line ends as received"
        );
        assert_eq!(session.owed(), 0);
    }

    #[test]
    fn a_line_too_long_to_split_whole_is_one_line_in_pieces() {
        let (mut session, start) = started(false, None);
        session.send(start, b"Hi\n");
        let mut long = b"\t ".to_vec();
        long.extend_from_slice(&vec![b'X'; CLIENT_MAX_LINE]);
        let mut lines = receive(&mut session, start, &long);
        lines.extend(receive(&mut session, start, b"XX\n\t Hi\n"));
        let heard: Vec<Option<Heard>> = lines.iter().map(|(_, heard)| *heard).collect();
        assert_eq!(
            heard,
            [Some(Heard::Echo(None)), None, Some(Heard::Echo(None))],
            "the rest of the cut line is no line of its own"
        );
        assert_eq!(lines[0].0, long, "the first piece, as it came");
        assert_eq!(lines[1].0, b"XX\n");
        assert_eq!(session.owed(), 1);
    }

    #[test]
    fn echoes_are_attributed_when_recording() {
        let (mut session, start) = started(true, None);
        session.send(start + MS * 10, b"Hi\n");
        let lines = receive(&mut session, start + MS * 1012, b"\t HI\n\t yo\n");
        let loud = Attributed {
            voice: Voice::Upper,
            after: MS * 1002,
        };
        assert_eq!(
            lines,
            [
                (b"\t HI\n".to_vec(), Some(Heard::Echo(Some(loud)))),
                (b"\t yo\n".to_vec(), Some(Heard::Echo(None))),
            ]
        );
        let heard = session.recording().lines();
        assert_eq!(heard.len(), 2);
        assert_eq!((heard[0].at, &heard[0].text[..]), (MS * 1012, &b"HI"[..]));
    }

    #[test]
    fn a_close_after_the_end_of_input_is_the_normal_end() {
        let (mut session, start) = started(false, None);
        session.send(start, b"Hi\n");
        session.end_of_input(start);
        receive(&mut session, start, b"\t HI\n\t Hi\n\t hi");
        let mut last = Vec::new();
        let end = session.server_closed(start, keep(&mut last));
        assert_eq!(end.unwrap(), SessionEnd::ServerClosed);
        assert_eq!(last, [echo(b"\t hi")], "the last line without a line end");
        assert_eq!(session.owed(), 0);
    }

    #[test]
    fn a_close_with_input_open_is_the_servers_doing() {
        let (mut session, start) = started(false, None);
        session.send(start, b"Hi\n");
        let mut last = Vec::new();
        let end = session.server_closed(start, keep(&mut last));
        assert_eq!(end.unwrap(), SessionEnd::ServerClosedFirst);
        assert_eq!(last, []);
    }

    #[test]
    fn a_notice_as_the_last_line_is_how_the_session_ended() {
        let full = b"echoctl: server is full (1 connection); try again later";
        for line_end in [&b"\n"[..], b"\r\n", b""] {
            let (mut session, start) = started(false, None);
            let mut notice = full.to_vec();
            notice.extend_from_slice(line_end);
            receive(&mut session, start, &notice);
            let mut last = Vec::new();
            let end = session.server_closed(start, keep(&mut last)).unwrap();
            assert_eq!(end, SessionEnd::Notice(full.to_vec()), "{line_end:?}");
            if line_end.is_empty() {
                assert_eq!(last, [(notice, Some(Heard::Notice))]);
            }
        }
        // A notice is the last line: an echo after it undoes it.
        let (mut session, start) = started(false, None);
        session.send(start, b"Hi\n");
        session.end_of_input(start);
        receive(&mut session, start, b"echoctl: idle\n\t HI\n");
        let end = session.server_closed(start, |_, _| {}).unwrap();
        assert_eq!(end, SessionEnd::ServerClosed);
    }

    #[test]
    fn a_failure_to_send_is_how_the_session_ended_unless_the_server_said_why() {
        let unsent = || io::Error::from(io::ErrorKind::BrokenPipe);
        let (mut session, start) = started(false, None);
        session.send(start, b"Hi\n");
        session.input_failed(unsent());
        assert!(!session.input_open());
        let end = session.server_closed(start, |_, _| {}).unwrap_err();
        assert!(matches!(end, SessionError::InputUnsent(_)), "{end:?}");
        assert!(
            end.to_string()
                .starts_with("the server closed the connection before all input was sent (")
        );

        let (mut session, start) = started(false, None);
        session.input_failed(unsent());
        receive(&mut session, start, b"echoctl: line longer than 8 bytes\n");
        let end = session.server_closed(start, |_, _| {}).unwrap();
        assert_eq!(
            end,
            SessionEnd::Notice(b"echoctl: line longer than 8 bytes".to_vec())
        );
    }

    #[test]
    fn a_failed_connection_hands_out_the_last_line_and_a_notice_before_it_says_why() {
        let reset = || io::Error::from(io::ErrorKind::ConnectionReset);
        let (mut session, start) = started(false, None);
        receive(&mut session, start, b"echoctl: no complete line for 1s");
        let mut last = Vec::new();
        let end = session.connection_failed(start, reset(), keep(&mut last));
        assert_eq!(
            end.unwrap(),
            SessionEnd::Notice(b"echoctl: no complete line for 1s".to_vec())
        );
        assert_eq!(last.len(), 1);

        let (mut session, start) = started(false, None);
        receive(&mut session, start, b"\t HI\n\t Hi");
        let mut last = Vec::new();
        let end = session.connection_failed(start, reset(), keep(&mut last));
        let end = end.unwrap_err();
        assert_eq!(last, [echo(b"\t Hi")]);
        // A reset is said in its own words, without the system's.
        assert_eq!(
            end.to_string(),
            "connection reset by the server; echoes after this point were lost"
        );
        assert!(std::error::Error::source(&end).is_none());

        let (mut session, start) = started(false, None);
        let refused = io::Error::from(io::ErrorKind::TimedOut);
        let end = session.connection_failed(start, refused, |_, _| {});
        let end = end.unwrap_err();
        assert_eq!(end.to_string(), "connection failed");
        let source = std::error::Error::source(&end).and_then(|e| e.downcast_ref::<io::Error>());
        assert_eq!(source.map(io::Error::kind), Some(io::ErrorKind::TimedOut));
    }

    #[test]
    fn wait_runs_from_the_end_of_input_and_hands_out_the_unfinished_line() {
        let wait = Duration::from_secs(2);
        let (mut session, start) = started(false, Some(wait));
        session.send(start, b"Hi\n");
        assert_eq!(session.next_wake(), None, "input still open");
        let ended = start + Duration::from_secs(5);
        session.end_of_input(ended);
        assert_eq!(session.next_wake(), Some(ended + wait));
        receive(&mut session, ended, b"\t HI\n\t H");
        let mut last = Vec::new();
        assert_eq!(session.advance(ended + wait - MS, keep(&mut last)), None);
        assert_eq!(last, [], "early: nothing handed out");
        let end = session.advance(ended + wait, keep(&mut last));
        assert_eq!(last, [echo(b"\t H")], "every byte heard is handed out");
        assert_eq!(
            end,
            Some(SessionEnd::WaitExpired { owed: 1 }),
            "the unfinished line counted as heard"
        );
    }

    #[test]
    fn without_wait_the_session_never_wakes() {
        let (mut session, start) = started(false, None);
        session.end_of_input(start);
        assert_eq!(session.next_wake(), None);
        assert_eq!(
            session.advance(start + Duration::from_secs(3600), |_, _| {}),
            None
        );
    }
}
