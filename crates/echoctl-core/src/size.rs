//! Byte counts as echoctl reads and writes them (`65536`, `64KiB`, `1MiB`): one parser for every
//! option and fault that takes a size, and one formatter that prints a size back as a token the
//! parser takes.
//!
//! Pure: text in, a count out, and back.

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// Parses a byte count of at least 1: `65536`, `64KiB`, `64k`, `1MiB`, `1m`. Each error says
/// what was expected.
pub fn parse(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let multiplier: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => KIB,
        "m" | "mb" | "mib" => MIB,
        other => {
            return Err(format!(
                "unknown unit {other:?} (expected a byte count such as 65536, 64KiB or 1MiB)"
            ));
        }
    };
    let bytes = digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| {
            format!("{text:?} is not a byte count (expected e.g. 65536, 64KiB or 1MiB)")
        })?;
    if bytes == 0 {
        return Err("must be at least 1 byte".to_string());
    }
    Ok(bytes)
}

/// `bytes` as one token [`parse`] reads back exactly: in MiB or KiB when it is a whole number
/// of them, else in bytes (`1MiB`, `16KiB`, `1000`).
pub fn format(bytes: usize) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{}MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{}KiB", bytes / KIB)
    } else {
        bytes.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse("65536"), Ok(65536));
        assert_eq!(parse("64KiB"), Ok(65536));
        assert_eq!(parse("64k"), Ok(65536));
        assert_eq!(parse("1MiB"), Ok(1 << 20));
        assert!(parse("0").is_err());
        assert!(parse("64 parsecs").is_err());
        assert!(parse("KiB").is_err());
    }

    #[test]
    fn a_printed_size_parses_back_to_itself() {
        for (bytes, text) in [(1, "1"), (1000, "1000"), (16384, "16KiB"), (1536, "1536")] {
            assert_eq!(format(bytes), text);
            assert_eq!(parse(text), Ok(bytes));
        }
        assert_eq!(format(3 << 20), "3MiB");
        assert_eq!(parse(&format(3 << 20)), Ok(3 << 20));
    }
}
