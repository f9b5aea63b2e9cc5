//! Splitting a byte stream into shouts, the way Go's `bufio.ScanLines` does.
//!
//! The book's servers read with `bufio.NewScanner(c)`: a line ends at `\n`, one trailing `\r` is
//! dropped, and a last line without `\n` is still a line. We keep that contract byte for byte, but
//! with two differences that matter on a server left running:
//!
//! * the bytes are never decoded, so invalid UTF-8 survives untouched (the middle echo is the shout
//!   exactly as received);
//! * the length limit is explicit and exact (`max_line` bytes of content, terminator excluded), and
//!   the splitter tells the caller how many more bytes it may read, so a connection never buffers
//!   more than one line's worth, whatever the peer sends.
//!
//! This module is pure: no sockets, no clock. The server's session feeds it what the connection
//! reads; the bench and the demo hand it the chunks they read.
//!
//! It is the one line reader of the crate, with two ways in:
//!
//! * **into its buffer** ([`LineSplitter::buffer_mut`], bounded by
//!   [`LineSplitter::read_allowance`]), taking lines out without their terminator
//!   ([`LineSplitter::next_line`], [`LineSplitter::finish`]): the server, which must never hold
//!   more than one line and refuses a longer one;
//! * **from chunks the caller read elsewhere** ([`LineSplitter::split_chunk`],
//!   [`LineSplitter::split_end`]), handing each line out exactly as received, `\n` included:
//!   the bench and the demo, which compare or show what came over the wire. Lines that lie whole
//!   in a chunk are handed out from the chunk itself, so only a line cut by the chunk's end is
//!   copied; one that grows past the limit without a `\n` is handed out cut, as it is, and the
//!   rest of it starts a new line.
//!
//! Either way the splitter remembers how far it has searched for `\n`, so a long line arriving
//! in small pieces is scanned once, not once per piece.

use std::fmt;

/// Default line limit: Go's `bufio.MaxScanTokenSize`, so a line the book's server accepts is one
/// we accept too.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// A line longer than the limit was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong {
    /// The limit in force, in bytes of content.
    pub max_line: usize,
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line longer than {}",
            crate::plural::counted(self.max_line, "byte")
        )
    }
}

impl std::error::Error for LineTooLong {}

/// Accumulates bytes from a connection and hands out complete lines.
///
/// The buffer is released whenever it empties, so an idle connection holds no read memory.
#[derive(Debug)]
pub struct LineSplitter {
    buf: Vec<u8>,
    /// Where the next line starts in `buf`; lines are consumed from the front without shifting
    /// the buffer each time.
    start: usize,
    /// How far `buf[start..]` has already been searched for `\n`, so a long line arriving in
    /// small pieces is scanned once, not once per piece.
    scanned: usize,
    max_line: usize,
}

impl LineSplitter {
    pub fn new(max_line: usize) -> Self {
        LineSplitter {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            max_line,
        }
    }

    /// Bytes received but not yet returned as lines.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// How many more bytes may be read before a decision is forced: a line of `max_line` bytes
    /// plus `\r\n` fits, one byte more proves the line too long. Zero means a complete line (or an
    /// error) is waiting in the buffer and must be taken first.
    pub fn read_allowance(&self) -> usize {
        if self.has_line() {
            return 0;
        }
        (self.max_line + 3).saturating_sub(self.buffered())
    }

    /// Whether a complete line (or a too-long error) can be taken without reading more.
    fn has_line(&self) -> bool {
        self.find_newline().is_some() || self.buffered() > self.max_line + 2
    }

    /// The buffer to append received bytes to, consumed bytes dropped first. The caller should
    /// append at most [`read_allowance`] bytes at a time.
    ///
    /// [`read_allowance`]: LineSplitter::read_allowance
    pub fn buffer_mut(&mut self) -> &mut Vec<u8> {
        self.compact();
        &mut self.buf
    }

    /// Drops consumed bytes from the front so the buffer does not grow with every line.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    /// Takes the next complete line, without its terminator.
    ///
    /// Returns `None` when no complete line is buffered yet. A too-long line is an error; after it
    /// the splitter is not meant to be used again (the connection is closing).
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, LineTooLong>> {
        match self.find_newline() {
            Some(newline) => {
                let end = self.start + newline;
                let line = strip_cr(&self.buf[self.start..end]);
                if line.len() > self.max_line {
                    return Some(Err(LineTooLong {
                        max_line: self.max_line,
                    }));
                }
                let line = line.to_vec();
                self.start = end + 1;
                self.scanned = 0;
                self.release_if_empty();
                Some(Ok(line))
            }
            None if self.buffered() > self.max_line + 2 => Some(Err(LineTooLong {
                max_line: self.max_line,
            })),
            None => {
                self.scanned = self.buffered();
                None
            }
        }
    }

    /// At end of input: the last line without `\n`, if any (an empty remainder is not a line,
    /// as with `bufio.ScanLines`).
    pub fn finish(&mut self) -> Option<Result<Vec<u8>, LineTooLong>> {
        if let Some(next) = self.next_line() {
            return Some(next);
        }
        if self.buffered() == 0 {
            return None;
        }
        let line = strip_cr(&self.buf[self.start..]);
        if line.len() > self.max_line {
            return Some(Err(LineTooLong {
                max_line: self.max_line,
            }));
        }
        let line = line.to_vec();
        self.buf = Vec::new();
        self.start = 0;
        self.scanned = 0;
        Some(Ok(line))
    }

    /// Splits `chunk`, read from the peer, into lines and hands each to `on_line` as received:
    /// with its `\n`, and any `\r` before it. A line begun in an earlier chunk is joined to its
    /// end in this one; the start of a line cut by this chunk's end waits in the buffer for the
    /// next. When that start grows past `max_line` bytes without a `\n`, it is handed out cut
    /// (without `\n`) and the rest of the line starts anew, so the buffer never holds more than
    /// `max_line` bytes plus one chunk.
    ///
    /// Meant for callers that read into a buffer of their own (one per thread, say): lines lying
    /// whole in `chunk` are handed out from it, without a copy.
    pub fn split_chunk(&mut self, chunk: &[u8], mut on_line: impl FnMut(&[u8])) {
        let mut rest = chunk;
        // Buffered bytes first: a line begun earlier is completed from this chunk (the one copy).
        while self.buffered() > 0 {
            if let Some(newline) = self.find_newline() {
                let end = self.start + newline + 1;
                on_line(&self.buf[self.start..end]);
                self.start = end;
                self.scanned = 0;
                continue;
            }
            self.scanned = self.buffered();
            let Some(newline) = memchr::memchr(b'\n', rest) else {
                break;
            };
            self.compact();
            self.buf.extend_from_slice(&rest[..=newline]);
            rest = &rest[newline + 1..];
        }
        if self.buffered() == 0 {
            let mut from = 0;
            for newline in memchr::memchr_iter(b'\n', rest) {
                on_line(&rest[from..=newline]);
                from = newline + 1;
            }
            rest = &rest[from..];
        }
        if !rest.is_empty() {
            // No `\n` in `rest`, nor in what is buffered: all of it is searched already.
            self.compact();
            self.buf.extend_from_slice(rest);
            self.scanned = self.buffered();
        }
        if self.buffered() > self.max_line {
            on_line(&self.buf[self.start..]);
            self.start = self.buf.len();
            self.scanned = 0;
        }
        self.release_if_empty();
    }

    /// At end of input, after [`split_chunk`]: hands out what is left, a last line without
    /// `\n`, if any (an empty remainder is not a line).
    ///
    /// [`split_chunk`]: LineSplitter::split_chunk
    pub fn split_end(&mut self, mut on_line: impl FnMut(&[u8])) {
        self.split_chunk(&[], &mut on_line);
        if self.buffered() > 0 {
            on_line(&self.buf[self.start..]);
        }
        self.buf = Vec::new();
        self.start = 0;
        self.scanned = 0;
    }

    fn find_newline(&self) -> Option<usize> {
        let pending = &self.buf[self.start..];
        let from = self.scanned.min(pending.len());
        pending[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| from + i)
    }

    fn release_if_empty(&mut self) {
        if self.start == self.buf.len() {
            // Give the memory back: an idle connection should cost no read buffer.
            self.buf = Vec::new();
            self.start = 0;
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A line as [`LineSplitter::split_chunk`] hands it out, without its line end: one `\n`, and one
/// `\r` before it, dropped as `bufio.ScanLines` drops them (a last line without `\n` loses a
/// trailing `\r` too).
pub fn without_line_end(line: &[u8]) -> &[u8] {
    strip_cr(line.strip_suffix(b"\n").unwrap_or(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(input: &[u8], max_line: usize) -> Vec<Result<Vec<u8>, LineTooLong>> {
        let mut splitter = LineSplitter::new(max_line);
        splitter.buffer_mut().extend_from_slice(input);
        let mut out = Vec::new();
        while let Some(line) = splitter.next_line() {
            let failed = line.is_err();
            out.push(line);
            if failed {
                return out;
            }
        }
        out.extend(splitter.finish());
        out
    }

    fn ok(lines: &[&[u8]]) -> Vec<Result<Vec<u8>, LineTooLong>> {
        lines.iter().map(|l| Ok(l.to_vec())).collect()
    }

    #[test]
    fn splits_on_newline_and_strips_one_cr() {
        assert_eq!(
            lines_of(b"Hello?\r\nIs there\n\r\r\n", 100),
            ok(&[b"Hello?", b"Is there", b"\r"])
        );
    }

    #[test]
    fn last_line_without_newline_is_a_shout() {
        assert_eq!(lines_of(b"one\ntwo", 100), ok(&[b"one", b"two"]));
        assert_eq!(lines_of(b"one\ntwo\r", 100), ok(&[b"one", b"two"]));
    }

    #[test]
    fn empty_line_is_a_shout_but_empty_remainder_is_not() {
        assert_eq!(lines_of(b"\n\n", 100), ok(&[b"", b""]));
        assert_eq!(lines_of(b"", 100), ok(&[]));
        assert_eq!(lines_of(b"\r\n", 100), ok(&[b""]));
    }

    #[test]
    fn bytes_are_not_decoded() {
        let raw: &[u8] = b"\xff\xfe\x00\x1b[31m caf\xc3\xa9";
        let mut input = raw.to_vec();
        input.push(b'\n');
        assert_eq!(lines_of(&input, 100), ok(&[raw]));
    }

    #[test]
    fn lines_arriving_in_pieces_are_joined() {
        let mut splitter = LineSplitter::new(100);
        for piece in [&b"He"[..], b"llo", b"?\r", b"\nYo"] {
            splitter.buffer_mut().extend_from_slice(piece);
        }
        assert_eq!(splitter.next_line(), Some(Ok(b"Hello?".to_vec())));
        assert_eq!(splitter.next_line(), None);
        splitter.buffer_mut().extend_from_slice(b"o\n");
        assert_eq!(splitter.next_line(), Some(Ok(b"Yoo".to_vec())));
        assert_eq!(splitter.buffered(), 0);
    }

    #[test]
    fn limit_is_exact_for_content_with_either_terminator() {
        let max = 8;
        for terminator in [&b"\n"[..], b"\r\n"] {
            for len in [max - 1, max] {
                let mut input = vec![b'x'; len];
                input.extend_from_slice(terminator);
                assert_eq!(lines_of(&input, max), ok(&[&vec![b'x'; len]]), "len {len}");
            }
            let mut input = vec![b'x'; max + 1];
            input.extend_from_slice(terminator);
            assert_eq!(
                lines_of(&input, max),
                vec![Err(LineTooLong { max_line: max })]
            );
        }
    }

    #[test]
    fn limit_applies_to_the_last_line_too() {
        assert_eq!(lines_of(&[b'x'; 8], 8), ok(&[&[b'x'; 8]]));
        assert_eq!(
            lines_of(&[b'x'; 9], 8),
            vec![Err(LineTooLong { max_line: 8 })]
        );
    }

    #[test]
    fn read_allowance_never_lets_the_buffer_exceed_one_line() {
        let max = 8;
        let mut splitter = LineSplitter::new(max);
        assert_eq!(splitter.read_allowance(), max + 3);
        splitter.buffer_mut().extend_from_slice(&[b'x'; 8]);
        assert_eq!(splitter.read_allowance(), 3);
        splitter.buffer_mut().extend_from_slice(b"\r\n");
        assert_eq!(splitter.read_allowance(), 0, "a line is waiting");
        assert_eq!(splitter.next_line(), Some(Ok(vec![b'x'; 8])));
        assert_eq!(splitter.read_allowance(), max + 3);

        splitter.buffer_mut().extend_from_slice(&[b'x'; 11]);
        assert_eq!(splitter.read_allowance(), 0);
        assert!(splitter.has_line());
        assert_eq!(
            splitter.next_line(),
            Some(Err(LineTooLong { max_line: max }))
        );
    }

    #[test]
    fn buffer_is_released_when_drained() {
        let mut splitter = LineSplitter::new(100);
        splitter.buffer_mut().extend_from_slice(b"a\nb\n");
        assert!(splitter.next_line().is_some());
        assert!(splitter.next_line().is_some());
        assert_eq!(splitter.buffer_mut().capacity(), 0);
    }

    /// The lines `split_chunk` and `split_end` hand out for `chunks`, fed in turn.
    fn split(chunks: &[&[u8]], max_line: usize) -> Vec<Vec<u8>> {
        let mut splitter = LineSplitter::new(max_line);
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.split_chunk(chunk, |line| out.push(line.to_vec()));
        }
        splitter.split_end(|line| out.push(line.to_vec()));
        out
    }

    #[test]
    fn chunks_are_split_into_lines_as_received() {
        assert_eq!(
            split(&[b"Hello?\r\nIs there\n\r\r\n\n"], 100),
            [&b"Hello?\r\n"[..], b"Is there\n", b"\r\r\n", b"\n"]
        );
        assert_eq!(split(&[b"one\ntwo"], 100), [&b"one\n"[..], b"two"]);
        assert_eq!(split(&[b"one\n", b""], 100), [b"one\n"]);
        assert!(split(&[b""], 100).is_empty());
    }

    #[test]
    fn a_line_cut_between_chunks_is_joined() {
        assert_eq!(
            split(&[b"He", b"llo", b"?\r", b"\nYo", b"o\nb", b"ye"], 100),
            [&b"Hello?\r\n"[..], b"Yoo\n", b"bye"]
        );
    }

    #[test]
    fn lines_whole_in_a_chunk_are_handed_out_from_it() {
        let mut splitter = LineSplitter::new(100);
        let chunk = b"one\ntwo\nthr".to_vec();
        let inside = chunk.as_ptr_range();
        let mut from_chunk = Vec::new();
        splitter.split_chunk(&chunk, |line| {
            from_chunk.push(inside.contains(&line.as_ptr()));
        });
        assert_eq!(from_chunk, [true, true]);
        assert_eq!(splitter.buffered(), 3, "only the cut line is kept");
        let mut joined = Vec::new();
        splitter.split_chunk(b"ee\nfour\n", |line| joined.push(line.to_vec()));
        assert_eq!(joined, [&b"three\n"[..], b"four\n"]);
        assert_eq!(splitter.buffer_mut().capacity(), 0, "released when drained");
    }

    #[test]
    fn a_line_growing_past_the_limit_is_handed_out_cut_and_the_rest_starts_anew() {
        let max = 8;
        // At the limit, a line still waits for its end; one byte more and it is cut.
        assert_eq!(split(&[b"xxxx", b"xxxx", b"\n"], max), [b"xxxxxxxx\n"]);
        assert_eq!(
            split(&[b"xxxx", b"xxxxy", b"z\nok\n"], max),
            [&b"xxxxxxxxy"[..], b"z\n", b"ok\n"]
        );
        // A line that ends in the chunk that completes it is not cut, whatever its length.
        assert_eq!(split(&[b"xxxx", b"xxxxxxxx\n"], max), [b"xxxxxxxxxxxx\n"]);
        // Nor is one whole in a single chunk: the bound is on what is kept between chunks.
        assert_eq!(split(&[b"xxxxxxxxxxxx\n"], max), [b"xxxxxxxxxxxx\n"]);
        assert_eq!(split(&[b"\nxxxxxxxxx"], max), [&b"\n"[..], b"xxxxxxxxx"]);
    }

    #[test]
    fn a_line_end_is_one_newline_and_one_carriage_return_before_it() {
        assert_eq!(without_line_end(b"Hello?\r\n"), b"Hello?");
        assert_eq!(without_line_end(b"Hello?\n"), b"Hello?");
        assert_eq!(without_line_end(b"Hello?\r"), b"Hello?", "a last line");
        assert_eq!(without_line_end(b"Hello?"), b"Hello?");
        assert_eq!(without_line_end(b"\r\r\n"), b"\r");
        assert_eq!(without_line_end(b"\n\n"), b"\n");
        assert_eq!(without_line_end(b""), b"");
    }

    #[test]
    fn a_long_line_in_small_pieces_is_scanned_once() {
        // Bytes already searched are not searched again: a `\n` slipped into them behind the
        // splitter's back goes unseen, where a rescan from the start would find it.
        let mut splitter = LineSplitter::new(100);
        splitter.buffer_mut().extend_from_slice(b"abc");
        assert_eq!(splitter.next_line(), None);
        splitter.buffer_mut()[1] = b'\n';
        splitter.buffer_mut().extend_from_slice(b"d");
        assert_eq!(splitter.next_line(), None);
        assert_eq!(splitter.read_allowance(), 100 + 3 - 4);

        let mut splitter = LineSplitter::new(100);
        splitter.split_chunk(b"abc", |_| panic!("no line yet"));
        splitter.buffer_mut()[1] = b'\n';
        splitter.split_chunk(b"d", |_| panic!("no line yet"));
        let mut lines = Vec::new();
        splitter.split_chunk(b"e\n", |line| lines.push(line.to_vec()));
        assert_eq!(lines, [b"a\ncde\n"]);
    }
}
