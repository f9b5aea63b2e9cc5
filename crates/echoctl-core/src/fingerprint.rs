//! A certificate's SHA-256 fingerprint, as `serve --tls` prints it and `--tls-fingerprint` takes
//! it back: `sha256:AB:CD:...`, the hex pairs `openssl x509 -fingerprint -sha256` prints.
//!
//! The digest is computed in the I/O layer; here is only how it is written and read, so that
//! what one command prints another takes.

use std::fmt;
use std::str::FromStr;

/// The SHA-256 digest of a certificate's DER bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

/// How a fingerprint is written: the algorithm, then the digest.
pub const PREFIX: &str = "sha256:";

impl fmt::Display for Fingerprint {
    /// `sha256:` and the 32 bytes as upper-case hex pairs joined by colons.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a text is not a fingerprint: the message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerprintError(String);

impl fmt::Display for FingerprintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FingerprintError {}

const EXPECTED: &str = "expected sha256: and 32 hex pairs, as `echoctl serve --tls` prints it \
                        (sha256:AB:CD:...) or `openssl x509 -noout -fingerprint -sha256 -in \
                        cert.pem` does";

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    /// Takes what `serve --tls` prints (`sha256:AB:CD:...`) and what `openssl x509 -fingerprint
    /// -sha256` prints (`sha256 Fingerprint=AB:CD:...`, or the pairs alone); hex in either case,
    /// with or without the colons.
    fn from_str(text: &str) -> Result<Fingerprint, FingerprintError> {
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        let hex = [PREFIX, "sha256 fingerprint=", "sha256="]
            .iter()
            .find_map(|prefix| lower.strip_prefix(prefix))
            .unwrap_or(&lower);
        if let Some((algorithm, _)) = hex.split_once([':', '=']).filter(|(a, _)| a.len() > 2) {
            return Err(FingerprintError(format!(
                "{algorithm:?} fingerprints are not taken, only SHA-256 ({EXPECTED})"
            )));
        }
        let digits: String = hex.chars().filter(|&c| c != ':').collect();
        if let Some(bad) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(FingerprintError(format!(
                "{bad:?} is not a hex digit ({EXPECTED})"
            )));
        }
        if digits.len() != 64 {
            return Err(FingerprintError(format!(
                "a SHA-256 fingerprint is 32 bytes, 64 hex digits; this one has {} ({EXPECTED})",
                digits.len()
            )));
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|e| FingerprintError(e.to_string()))?;
            *byte = u8::from_str_radix(pair, 16).map_err(|e| FingerprintError(e.to_string()))?;
        }
        Ok(Fingerprint(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Fingerprint {
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = (i as u8).wrapping_mul(7).wrapping_add(0xa0);
        }
        Fingerprint(bytes)
    }

    #[test]
    fn it_is_written_as_openssl_writes_it_after_the_algorithm() {
        let text = sample().to_string();
        assert!(text.starts_with("sha256:A0:A7:AE:B5:"), "{text}");
        assert_eq!(text.len(), PREFIX.len() + 32 * 3 - 1);
        assert_eq!(text.parse::<Fingerprint>().unwrap(), sample());
    }

    #[test]
    fn openssls_own_line_and_bare_hex_are_taken() {
        let pairs = sample().to_string()[PREFIX.len()..].to_string();
        for text in [
            format!("sha256 Fingerprint={pairs}"),
            format!("SHA256 Fingerprint={pairs}\n"),
            pairs.clone(),
            pairs.to_lowercase(),
            pairs.replace(':', ""),
            format!("SHA256:{}", pairs.to_lowercase()),
        ] {
            assert_eq!(text.parse::<Fingerprint>(), Ok(sample()), "{text}");
        }
    }

    #[test]
    fn a_wrong_fingerprint_says_what_to_write() {
        let error = "sha256:AB:CD".parse::<Fingerprint>().unwrap_err();
        assert!(
            error.to_string().starts_with(
                "a SHA-256 fingerprint is 32 bytes, 64 hex digits; this one has 4 (expected sha256:"
            ),
            "{error}"
        );
        let error = format!("sha1:{}", "AB:".repeat(19) + "AB")
            .parse::<Fingerprint>()
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("\"sha1\" fingerprints are not taken, only SHA-256"),
            "{error}"
        );
        let error = format!("sha256:{}", "ZZ".repeat(32))
            .parse::<Fingerprint>()
            .unwrap_err();
        assert!(
            error.to_string().starts_with("'z' is not a hex digit"),
            "{error}"
        );
    }
}
