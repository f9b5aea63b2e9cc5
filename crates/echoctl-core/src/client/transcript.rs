//! What a `connect` session sent and heard, and what each line from the server is.
//!
//! Pure: times come in as a [`Duration`] since the session started, lines as bytes. Both the
//! piped relay and the interactive session feed every shout sent and every line received through
//! a [`Transcript`], which says of each line whether it is an echo (and, when shouts are being
//! recorded, which shout and voice it repeats, and how long after that shout it came) or one of
//! the server's notices; it also counts the echoes still owed and keeps the session's
//! [`Recording`] for `--timeline`.
//!
//! # Echo or notice
//!
//! Every echo line starts with the wire's TAB and SPACE ([`ECHO_PREFIX`]); the server's notices
//! (`echoctl: server is full ...`, `... no complete line for ...`, `line longer than ...`) never
//! do, and start with [`NOTICE_PREFIX`]. A notice is the last line before the server closes, so
//! a session whose last line was a notice ended because the server said so. Any other line (a
//! plain echo server's bytes, another server's text) is just a line, and so is a line that
//! repeats the client's last shout as it was sent (a plain echo of `echoctl: my data`).
//!
//! Which shout and voice an echo repeats is decided by the timeline's [`Attribution`], the one
//! mechanism for it.

use std::time::Duration;

use crate::echo::{ECHO_PREFIX, NOTICE_PREFIX, Voice};
use crate::lines::without_line_end;
use crate::timeline::{Attribution, Recording};

/// Every shout is owed this many echoes.
const ECHOES_PER_SHOUT: u64 = Voice::ALL.len() as u64;

/// The most of a notice kept for the message that reports it.
const NOTICE_LIMIT: usize = 1024;

/// What a line from the server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// An echo line; `shout` is `Some` when it could be attributed.
    Echo(Option<Attributed>),
    /// A line not framed as an echo that starts as the server's notices do.
    Notice,
    /// Any other line: neither an echo nor a notice.
    Other,
}

/// The shout and voice an echo repeats, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributed {
    pub voice: Voice,
    /// Since that shout was sent.
    pub after: Duration,
}

/// One session's shouts and lines, as they happen.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    /// Whether shouts and echoes are kept, for voices, times and the timeline. Without it only
    /// counts and the last notice are kept, so a long piped session costs no memory.
    record: bool,
    recording: Recording,
    attribution: Attribution,
    shouts: u64,
    echoes: u64,
    notice: Option<Vec<u8>>,
    /// The last shout sent (when short enough to be mistaken for a notice): a plain echo server
    /// sends it back as it is, and that is no notice even if it reads like one.
    last_sent: Vec<u8>,
}

impl Transcript {
    /// A transcript that keeps every shout and line when `record` is set.
    pub fn new(record: bool) -> Transcript {
        Transcript {
            record,
            ..Transcript::default()
        }
    }

    /// The client sent `shout` (without its line end) at `at`.
    pub fn sent(&mut self, at: Duration, shout: &[u8]) {
        self.shouts += 1;
        self.last_sent.clear();
        if shout.len() <= NOTICE_LIMIT {
            self.last_sent.extend_from_slice(shout);
        }
        if self.record {
            self.recording.sent(at, shout);
        }
    }

    /// The client received `line` (as on the wire, with its line end if it had one) at `at`.
    pub fn heard(&mut self, at: Duration, line: &[u8]) -> Heard {
        let Some(framed) = line.strip_prefix(ECHO_PREFIX) else {
            let text = without_line_end(line);
            if !text.starts_with(NOTICE_PREFIX) || text == self.last_sent {
                // A notice is the last line before the close: anything after it undoes it.
                self.notice = None;
                return Heard::Other;
            }
            self.notice = Some(text[..text.len().min(NOTICE_LIMIT)].to_vec());
            return Heard::Notice;
        };
        self.notice = None;
        self.echoes += 1;
        if !self.record {
            return Heard::Echo(None);
        }
        let text = without_line_end(framed);
        self.recording.received(at, text);
        let shouts = self.recording.shouts();
        let attributed = self
            .attribution
            .attribute(shouts, at, text)
            .map(|(index, voice)| Attributed {
                voice,
                after: at.saturating_sub(shouts[index].at),
            });
        Heard::Echo(attributed)
    }

    /// Echoes still owed: three for every shout sent, less the echo lines heard.
    pub fn owed(&self) -> u64 {
        (self.shouts * ECHOES_PER_SHOUT).saturating_sub(self.echoes)
    }

    /// The last notice the server sent, without its line end, if it sent one.
    pub fn notice(&self) -> Option<&[u8]> {
        self.notice.as_deref()
    }

    /// Everything sent and heard (empty unless recording).
    pub fn recording(&self) -> &Recording {
        &self.recording
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Timeline;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn echoes_are_told_from_notices_by_their_framing() {
        let mut transcript = Transcript::new(false);
        assert_eq!(transcript.heard(MS, b"\t HELLO?\n"), Heard::Echo(None));
        assert_eq!(transcript.notice(), None);
        let full = b"echoctl: server is full (1 connection); try again later\n";
        assert_eq!(transcript.heard(MS, full), Heard::Notice);
        assert_eq!(
            transcript.notice(),
            Some(&b"echoctl: server is full (1 connection); try again later"[..])
        );
        // Only TAB then SPACE frames an echo; a line that is neither echo nor notice (a plain
        // echo server's bytes) is just a line, and undoes a notice before it.
        assert_eq!(transcript.heard(MS, b"\tHELLO\n"), Heard::Other);
        assert_eq!(transcript.notice(), None, "a notice is the last line");
        assert_eq!(transcript.heard(MS, b"echoctl: idle\n"), Heard::Notice);
        assert_eq!(
            transcript.heard(MS, b"\t \n"),
            Heard::Echo(None),
            "an empty shout's echo"
        );
        assert_eq!(transcript.notice(), None, "an echo after it undoes it too");
        assert_eq!(transcript.heard(MS, b" \tHELLO\n"), Heard::Other);
        assert_eq!(transcript.heard(MS, b"echoctl: first\n"), Heard::Notice);
        assert_eq!(transcript.heard(MS, b"echoctl: second\n"), Heard::Notice);
        assert_eq!(
            transcript.notice(),
            Some(&b"echoctl: second"[..]),
            "the last one is kept"
        );
        // A plain echo server sends the client's own line back: that is no notice.
        transcript.sent(MS, b"echoctl: my data");
        assert_eq!(transcript.heard(MS, b"echoctl: my data\n"), Heard::Other);
        assert_eq!(transcript.notice(), None);
        let mut long = b"echoctl: ".to_vec();
        long.extend_from_slice(&[b'x'; 5000]);
        transcript.heard(MS, &long);
        assert_eq!(transcript.notice().map(<[u8]>::len), Some(NOTICE_LIMIT));
    }

    #[test]
    fn voices_and_times_come_from_the_shout_each_echo_repeats() {
        let mut transcript = Transcript::new(true);
        transcript.sent(MS * 10, b"Hi");
        transcript.sent(MS * 20, b"Yo");
        let heard = |transcript: &mut Transcript, at: u32, line: &[u8]| match transcript
            .heard(MS * at, line)
        {
            Heard::Echo(Some(attributed)) => Some((attributed.voice, attributed.after)),
            Heard::Echo(None) => None,
            Heard::Notice | Heard::Other => panic!("an echo: {line:?}"),
        };
        assert_eq!(
            heard(&mut transcript, 11, b"\t HI\n"),
            Some((Voice::Upper, MS))
        );
        assert_eq!(
            heard(&mut transcript, 21, b"\t YO\r\n"),
            Some((Voice::Upper, MS))
        );
        assert_eq!(
            heard(&mut transcript, 40, b"\t Yo\n"),
            Some((Voice::Original, MS * 20))
        );
        assert_eq!(
            heard(&mut transcript, 45, b"\t Hi\n"),
            Some((Voice::Original, MS * 35))
        );
        assert_eq!(
            heard(&mut transcript, 50, b"\t hello\n"),
            None,
            "no such shout"
        );
        assert_eq!(
            heard(&mut transcript, 60, b"\t hi\n"),
            Some((Voice::Lower, MS * 50))
        );
        assert_eq!(
            transcript.owed(),
            0,
            "six owed, six echo lines heard (one a stray)"
        );
        // The same attribution as the timeline draws afterwards.
        let timeline = Timeline::new(transcript.recording(), None, MS * 20);
        let marks: Vec<usize> = timeline.rows.iter().map(|row| row.marks.len()).collect();
        assert_eq!(marks, [3, 2]);
        assert_eq!(timeline.unattributed.len(), 1);
    }

    #[test]
    fn without_recording_echoes_are_counted_not_kept() {
        let mut transcript = Transcript::new(false);
        transcript.sent(MS, b"Hi");
        assert_eq!(transcript.owed(), 3);
        assert_eq!(transcript.heard(MS * 2, b"\t HI\n"), Heard::Echo(None));
        assert_eq!(transcript.owed(), 2);
        assert!(transcript.recording().shouts().is_empty());
        assert!(transcript.recording().lines().is_empty());
        for _ in 0..5 {
            transcript.heard(MS * 3, b"\t hi\n");
        }
        assert_eq!(transcript.owed(), 0, "never below zero");
    }
}
