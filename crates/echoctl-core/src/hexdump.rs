//! The bytes of a connection as `hexdump -C` shows them, a chunk at a time (`--hex-dump`).
//!
//! Each chunk read or written gets a header line: the direction (`>` sent, `<` received), the
//! time since the dump started, the peer and the chunk's length. Its rows follow, 16 bytes each,
//! in the layout of `hexdump -C`: the offset in that direction (8 hex digits), the bytes in hex
//! in two groups of eight, and the printable ASCII between bars, `.` for any other byte. A
//! chunk's rows start at its own offset, as `hexdump -C -s OFFSET -n LENGTH` of the whole
//! stream lays them out, so that every byte of a direction has one place in it. Rows are never
//! folded into `*`, as `hexdump -C` folds repeated ones (its `-v` keeps them).
//!
//! ```text
//! > 0.000210s to 127.0.0.1:8000: 7 bytes
//! 00000000  48 65 6c 6c 6f 3f 0a                              |Hello?.|
//! < 0.000530s from 127.0.0.1:8000: 10 bytes
//! 00000000  09 20 48 45 4c 4c 4f 3f  0a                       |. HELLO?.|
//! ```

use std::fmt::Write;
use std::time::Duration;

/// Which way a chunk went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Written to the peer: `>`.
    Sent,
    /// Read from the peer: `<`.
    Received,
}

impl Direction {
    pub fn arrow(self) -> char {
        match self {
            Direction::Sent => '>',
            Direction::Received => '<',
        }
    }
}

/// Bytes in a row.
const ROW: usize = 16;

/// Appends to `out` a chunk of `bytes`, gone in `direction` at `at` (since the dump started) to
/// or from `peer`, that starts `offset` bytes into that direction's stream: its header line, then
/// its rows.
pub fn chunk(
    out: &mut String,
    at: Duration,
    peer: &str,
    direction: Direction,
    offset: u64,
    bytes: &[u8],
) {
    let way = match direction {
        Direction::Sent => "to",
        Direction::Received => "from",
    };
    let s = if bytes.len() == 1 { "" } else { "s" };
    let _ = writeln!(
        out,
        "{} {}.{:06}s {way} {peer}: {} byte{s}",
        direction.arrow(),
        at.as_secs(),
        at.subsec_micros(),
        bytes.len(),
    );
    for (n, row_bytes) in bytes.chunks(ROW).enumerate() {
        row(out, offset + (n * ROW) as u64, row_bytes);
    }
}

/// Appends to `out` one row of at most 16 bytes found at `offset`, as `hexdump -C` writes it.
pub fn row(out: &mut String, offset: u64, bytes: &[u8]) {
    let _ = write!(out, "{offset:08x} ");
    for column in 0..ROW {
        if column % 8 == 0 {
            out.push(' ');
        }
        match bytes.get(column) {
            Some(byte) => {
                let _ = write!(out, "{byte:02x} ");
            }
            None => out.push_str("   "),
        }
    }
    out.push_str(" |");
    out.extend(bytes.iter().map(|&byte| {
        if byte == b' ' || byte.is_ascii_graphic() {
            char::from(byte)
        } else {
            '.'
        }
    }));
    out.push_str("|\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(offset: u64, bytes: &[u8]) -> String {
        let mut out = String::new();
        for (n, row_bytes) in bytes.chunks(ROW).enumerate() {
            row(&mut out, offset + (n * ROW) as u64, row_bytes);
        }
        out
    }

    /// `hexdump -C` of the bytes 0x00 to 0xff, as util-linux's hexdump 2.38 prints it, less its
    /// last line (the offset of the end).
    const ALL_BYTES: &str = "\
00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|
00000010  10 11 12 13 14 15 16 17  18 19 1a 1b 1c 1d 1e 1f  |................|
00000020  20 21 22 23 24 25 26 27  28 29 2a 2b 2c 2d 2e 2f  | !\"#$%&'()*+,-./|
00000030  30 31 32 33 34 35 36 37  38 39 3a 3b 3c 3d 3e 3f  |0123456789:;<=>?|
00000040  40 41 42 43 44 45 46 47  48 49 4a 4b 4c 4d 4e 4f  |@ABCDEFGHIJKLMNO|
00000050  50 51 52 53 54 55 56 57  58 59 5a 5b 5c 5d 5e 5f  |PQRSTUVWXYZ[\\]^_|
00000060  60 61 62 63 64 65 66 67  68 69 6a 6b 6c 6d 6e 6f  |`abcdefghijklmno|
00000070  70 71 72 73 74 75 76 77  78 79 7a 7b 7c 7d 7e 7f  |pqrstuvwxyz{|}~.|
00000080  80 81 82 83 84 85 86 87  88 89 8a 8b 8c 8d 8e 8f  |................|
00000090  90 91 92 93 94 95 96 97  98 99 9a 9b 9c 9d 9e 9f  |................|
000000a0  a0 a1 a2 a3 a4 a5 a6 a7  a8 a9 aa ab ac ad ae af  |................|
000000b0  b0 b1 b2 b3 b4 b5 b6 b7  b8 b9 ba bb bc bd be bf  |................|
000000c0  c0 c1 c2 c3 c4 c5 c6 c7  c8 c9 ca cb cc cd ce cf  |................|
000000d0  d0 d1 d2 d3 d4 d5 d6 d7  d8 d9 da db dc dd de df  |................|
000000e0  e0 e1 e2 e3 e4 e5 e6 e7  e8 e9 ea eb ec ed ee ef  |................|
000000f0  f0 f1 f2 f3 f4 f5 f6 f7  f8 f9 fa fb fc fd fe ff  |................|
";

    #[test]
    fn rows_are_hexdump_cs() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(rows(0, &all), ALL_BYTES);
        // A short row and an unaligned start, as `hexdump -C -s 7 -n 20` prints them.
        let text = b"Hello?\nIs there anybody there?\n";
        assert_eq!(
            rows(7, &text[7..27]),
            "\
00000007  49 73 20 74 68 65 72 65  20 61 6e 79 62 6f 64 79  |Is there anybody|
00000017  20 74 68 65                                       | the|
"
        );
        assert_eq!(
            rows(0, &[0x48, 0x69, 0x0a, 0x00, 0xff, 0x20, 0x7e, 0x7f, 0x80]),
            "00000000  48 69 0a 00 ff 20 7e 7f  80                       |Hi... ~..|\n"
        );
    }

    #[test]
    fn a_chunk_has_a_header_line_then_its_rows() {
        let mut out = String::new();
        let at = Duration::from_micros(1_000_530);
        chunk(
            &mut out,
            at,
            "127.0.0.1:8000",
            Direction::Received,
            16,
            b"\t HELLO?\n",
        );
        chunk(
            &mut out,
            Duration::ZERO,
            "unix client 1",
            Direction::Sent,
            0,
            b"x",
        );
        chunk(
            &mut out,
            Duration::ZERO,
            "unix client 1",
            Direction::Sent,
            1,
            b"",
        );
        assert_eq!(
            out,
            "\
< 1.000530s from 127.0.0.1:8000: 9 bytes
00000010  09 20 48 45 4c 4c 4f 3f  0a                       |. HELLO?.|
> 0.000000s to unix client 1: 1 byte
00000000  78                                                |x|
> 0.000000s to unix client 1: 0 bytes
"
        );
    }
}
