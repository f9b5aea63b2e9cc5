//! What an echo is: the three voices of a shout and their bytes on the wire.
//!
//! The book writes each echo with `fmt.Fprintln(c, "\t", text)`. `Fprintln` separates its operands
//! with a space, so every echo line is TAB, SPACE, text, `\n`, and we keep that byte for byte so
//! the book's clients and ours are interchangeable.
//!
//! Case mapping differs from Go's on purpose: Go's `strings.ToUpper` replaces invalid UTF-8 with
//! U+FFFD, which loses bytes. Here only the valid UTF-8 runs are case-mapped (with Rust's full
//! Unicode mapping, so `straße` shouts `STRASSE`), and any other bytes pass through unchanged.

use std::time::Duration;

/// The bytes that start every echo line on the wire.
pub const ECHO_PREFIX: &[u8] = b"\t ";

/// How every notice echoctl's server sends before it closes a connection begins (`echoctl:
/// server is full ...`): never like an echo line.
pub const NOTICE_PREFIX: &[u8] = b"echoctl: ";

/// The three echoes of a shout, loudest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Voice {
    /// `HELLO?`, written the moment the shout is read.
    Upper,
    /// `Hello?`, the shout exactly as received, one delay later.
    Original,
    /// `hello?`, two delays later.
    Lower,
}

impl Voice {
    /// In the order they are heard.
    pub const ALL: [Voice; 3] = [Voice::Upper, Voice::Original, Voice::Lower];

    /// 0, 1 or 2: how many delays after the shout this echo is due.
    pub fn index(self) -> usize {
        match self {
            Voice::Upper => 0,
            Voice::Original => 1,
            Voice::Lower => 2,
        }
    }

    /// What the charts' legends and the traces call it: "loud", "as sent", "quiet".
    pub fn name(self) -> &'static str {
        match self {
            Voice::Upper => "loud",
            Voice::Original => "as sent",
            Voice::Lower => "quiet",
        }
    }

    /// The voice after this one, or `None` after the last.
    pub fn next(self) -> Option<Voice> {
        Voice::ALL.get(self.index() + 1).copied()
    }

    /// When this echo is due, counted from the moment the shout was read.
    ///
    /// Deadlines are absolute offsets from the read, not a chain of sleeps, so lateness in
    /// writing one echo does not push back the next one (the book's consecutive `time.Sleep`s
    /// add it up).
    pub fn offset(self, delay: Duration) -> Duration {
        delay * self.index() as u32
    }

    /// Appends this voice of `shout` to `out`, case-mapped as described in the module docs.
    pub fn render(self, shout: &[u8], out: &mut Vec<u8>) {
        match self {
            Voice::Upper => map_case(shout, out, Case::Upper),
            Voice::Original => out.extend_from_slice(shout),
            Voice::Lower => map_case(shout, out, Case::Lower),
        }
    }

    /// Appends the whole wire line for this voice of `shout`: TAB, SPACE, text, `\n`.
    pub fn write_line(self, shout: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(ECHO_PREFIX);
        self.render(shout, out);
        out.push(b'\n');
    }

    /// This voice of `shout` as a new buffer (text only, no framing).
    pub fn text(self, shout: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(shout.len());
        self.render(shout, &mut out);
        out
    }
}

#[derive(Clone, Copy)]
enum Case {
    Upper,
    Lower,
}

/// Case-maps each valid UTF-8 run of `bytes` and copies invalid bytes through.
fn map_case(bytes: &[u8], out: &mut Vec<u8>, case: Case) {
    if bytes.is_ascii() {
        // The common case, without a temporary String per run.
        let start = out.len();
        out.extend_from_slice(bytes);
        match case {
            Case::Upper => out[start..].make_ascii_uppercase(),
            Case::Lower => out[start..].make_ascii_lowercase(),
        }
        return;
    }
    for chunk in bytes.utf8_chunks() {
        let mapped = match case {
            Case::Upper => chunk.valid().to_uppercase(),
            Case::Lower => chunk.valid().to_lowercase(),
        };
        out.extend_from_slice(mapped.as_bytes());
        out.extend_from_slice(chunk.invalid());
    }
}

/// The text of an echo line as received, without the wire's TAB and space and line end.
/// A line that is not framed as an echo is shown whole.
pub fn echo_text(wire_line: &[u8]) -> String {
    let line = wire_line.strip_suffix(b"\n").unwrap_or(wire_line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = line.strip_prefix(ECHO_PREFIX).unwrap_or(line);
    String::from_utf8_lossy(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(voice: Voice, shout: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        voice.write_line(shout, &mut out);
        out
    }

    #[test]
    fn wire_lines_are_tab_space_text_newline() {
        assert_eq!(line(Voice::Upper, b"Hello?"), b"\t HELLO?\n");
        assert_eq!(line(Voice::Original, b"Hello?"), b"\t Hello?\n");
        assert_eq!(line(Voice::Lower, b"Hello?"), b"\t hello?\n");
        assert_eq!(line(Voice::Upper, b""), b"\t \n");
    }

    #[test]
    fn unicode_case_mapping() {
        assert_eq!(Voice::Upper.text("straße".as_bytes()), "STRASSE".as_bytes());
        assert_eq!(Voice::Lower.text("STRASSE".as_bytes()), b"strasse");
        assert_eq!(
            Voice::Upper.text("İstanbul".as_bytes()),
            "İSTANBUL".as_bytes()
        );
        // Full Unicode lowercase of U+0130 is `i` followed by U+0307 COMBINING DOT ABOVE.
        assert_eq!(
            Voice::Lower.text("İstanbul".as_bytes()),
            "i\u{307}stanbul".as_bytes()
        );
        assert_eq!(Voice::Upper.text("ǆemal".as_bytes()), "ǄEMAL".as_bytes());
    }

    #[test]
    fn invalid_bytes_pass_through_unchanged() {
        let shout: &[u8] = b"caf\xc3\xa9 \xff\xfe ok \xc3";
        assert_eq!(Voice::Upper.text(shout), b"CAF\xc3\x89 \xff\xfe OK \xc3");
        assert_eq!(Voice::Lower.text(shout), b"caf\xc3\xa9 \xff\xfe ok \xc3");
        assert_eq!(Voice::Original.text(shout), shout);
    }

    #[test]
    fn control_bytes_pass_through() {
        let shout: &[u8] = b"a\x00b\x1b[31mc\r";
        assert_eq!(Voice::Upper.text(shout), b"A\x00B\x1b[31MC\r");
        assert_eq!(Voice::Lower.text(shout), b"a\x00b\x1b[31mc\r");
    }

    #[test]
    fn offsets_are_whole_delays_from_the_read() {
        let delay = Duration::from_millis(250);
        let offsets: Vec<_> = Voice::ALL.iter().map(|v| v.offset(delay)).collect();
        assert_eq!(
            offsets,
            [
                Duration::ZERO,
                Duration::from_millis(250),
                Duration::from_millis(500)
            ]
        );
        assert_eq!(Voice::Upper.next(), Some(Voice::Original));
        assert_eq!(Voice::Lower.next(), None);
    }

    #[test]
    fn echo_lines_lose_their_wire_framing() {
        assert_eq!(echo_text(b"\t HELLO?\n"), "HELLO?");
        assert_eq!(echo_text(b"\t \n"), "", "an empty shout's echo");
        assert_eq!(
            echo_text(b"\t Hello?"),
            "Hello?",
            "a last line without newline"
        );
        assert_eq!(echo_text(b"server is full\n"), "server is full");
    }
}
