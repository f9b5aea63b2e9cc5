//! What echoing a datagram would take: its lines, and the datagrams and bytes of their echoes,
//! or that it cannot be echoed at all.

use crate::echo::{ECHO_PREFIX, Voice};
use crate::udp::guard::MAX_DATAGRAM;

/// What echoing a datagram would take.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct EchoCost {
    /// Its lines, each a shout.
    pub(super) lines: usize,
    /// The echo datagrams: three per line.
    pub(super) datagrams: usize,
    /// Their bytes, in all.
    pub(super) bytes: usize,
}

impl EchoCost {
    /// The cost of echoing `datagram`, or `None` when a line of it is longer than `limit` or has
    /// an echo line that would not fit in one datagram (case mapping can lengthen a line).
    pub(super) fn of(datagram: &[u8], limit: usize) -> Option<EchoCost> {
        let mut cost = EchoCost::default();
        let mut rest = datagram;
        while !rest.is_empty() {
            let (line, next) = match memchr::memchr(b'\n', rest) {
                Some(end) => (&rest[..end], &rest[end + 1..]),
                None => (rest, &[][..]),
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() > limit {
                return None;
            }
            for voice in Voice::ALL {
                let text = if line.is_ascii() || voice == Voice::Original {
                    line.len()
                } else {
                    voice.text(line).len()
                };
                let echo_line = ECHO_PREFIX.len() + text + 1;
                if echo_line > MAX_DATAGRAM {
                    return None;
                }
                cost.bytes += echo_line;
            }
            cost.lines += 1;
            cost.datagrams += Voice::ALL.len();
            rest = next;
        }
        Some(cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_costs_count_three_framed_lines_per_line() {
        assert_eq!(EchoCost::of(b"", 10), Some(EchoCost::default()));
        assert_eq!(
            EchoCost::of(b"ab\n\ncd", 10),
            Some(EchoCost {
                lines: 3,
                datagrams: 9,
                bytes: 3 * 5 + 3 * 3 + 3 * 5
            })
        );
        assert_eq!(EchoCost::of(b"abc\r\n", 3).map(|c| c.lines), Some(1));
        assert_eq!(EchoCost::of(b"abcd", 3), None);
        // "ß" is 2 bytes, and so is "SS"; "ŉ" (2 bytes) shouts "ʼN" (3).
        assert_eq!(
            EchoCost::of("ŉ".as_bytes(), 10).map(|c| c.bytes),
            Some(3 + 3 * 3 + 2 + 2)
        );
    }
}
