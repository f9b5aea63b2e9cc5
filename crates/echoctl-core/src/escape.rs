//! Bytes from the network made safe to show: no control character of a client's (or a server's)
//! reaches a terminal, a log or an XML document.
//!
//! Two renderings, for two readers. [`escape`] keeps every byte recoverable, for logs and
//! reports that must say exactly what was sent. [`label`] is lossy and shows each character as
//! one glyph, for charts and transcripts, where a backslash escape would be noise.
//!
//! Pure: no I/O, nothing but `std`.

/// The bytes as text: each byte that is not valid UTF-8 shown as `\xNN` (`caf\xe9`), and quotes,
/// backslashes and control characters escaped as Rust writes them (`\"`, `\t`, `\u{1b}`).
pub fn escape(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        text.extend(chunk.valid().escape_debug());
        for byte in chunk.invalid() {
            text.push_str(&format!("\\x{byte:02x}"));
        }
    }
    text
}

/// The bytes as a label: lossy UTF-8, and each control character shown as its Unicode control
/// picture, `␛` for ESC (an XML document may not contain most of them even escaped).
pub fn label(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| match c {
            '\0'..='\x1f' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
            '\x7f' => '\u{2421}',
            '\u{80}'..='\u{9f}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_shows_invalid_bytes_as_hex_and_keeps_valid_text() {
        assert_eq!(escape(b"caf\xe9"), "caf\\xe9");
        assert_eq!(escape("straße".as_bytes()), "straße");
        assert_eq!(
            escape(b"say \"hi\"\t\xff\xfe!"),
            "say \\\"hi\\\"\\t\\xff\\xfe!"
        );
        assert_eq!(escape(b"\x1b[31m\\"), "\\u{1b}[31m\\\\");
    }

    #[test]
    fn labels_show_control_characters_as_symbols() {
        assert_eq!(
            label(b"a\x1b[31mb\x00\x7f"),
            "a\u{241b}[31mb\u{2400}\u{2421}"
        );
        assert_eq!(label(b"caf\xc3\xa9 \xff"), "café \u{fffd}");
    }
}
