//! The quantities a fault spec carries: the chance it applies with ([`Percent`]) and how far
//! into the connection it waits ([`Count`] of lines or bytes), parsed and printed as written.

use std::fmt;
use std::str::FromStr;

/// A chance, in hundredths of a percent: `20%`, `12.5%`, `0.05%`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percent(pub(super) u32);

impl Percent {
    /// Certainty: what a fault without `@PERCENT` applies with.
    pub const ALL: Percent = Percent(10_000);

    /// Draws whether this chance comes true.
    pub fn happens(self, rng: &mut fastrand::Rng) -> bool {
        rng.u32(0..10_000) < self.0
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, hundredths) = (self.0 / 100, self.0 % 100);
        match hundredths {
            0 => write!(f, "{whole}%"),
            h if h % 10 == 0 => write!(f, "{whole}.{}%", h / 10),
            h => write!(f, "{whole}.{h:02}%"),
        }
    }
}

impl FromStr for Percent {
    type Err = String;

    /// `20%`, `12.5%`, `0.05%`: from 0% to 100%, at most two decimals, the `%` required.
    fn from_str(text: &str) -> Result<Percent, String> {
        const EXPECTED: &str = "expected a percentage from 0% to 100%, such as 20% or 0.5%";
        let Some(number) = text.strip_suffix('%') else {
            return Err(format!("{text:?} is not a percentage ({EXPECTED})"));
        };
        let (whole, decimals) = number.split_once('.').unwrap_or((number, ""));
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(decimals) || decimals.len() > 2 {
            return Err(format!("{text:?} is not a percentage ({EXPECTED})"));
        }
        let whole: u32 = whole
            .parse()
            .map_err(|_| format!("{text:?} is over 100% ({EXPECTED})"))?;
        let fraction: u32 = format!("{decimals:0<2}").parse().unwrap_or(0);
        match whole.checked_mul(100).and_then(|w| w.checked_add(fraction)) {
            Some(hundredths) if hundredths <= 10_000 => Ok(Percent(hundredths)),
            _ => Err(format!("{text:?} is over 100% ({EXPECTED})")),
        }
    }
}

/// What a count-triggered fault counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Echo lines written (in plain mode, lines of the stream: newlines written back).
    Lines,
    /// Bytes written.
    Bytes,
}

/// `5lines`, `100bytes`: how far into the connection a fault waits, counting what was written
/// from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Count {
    pub n: u64,
    pub unit: Unit,
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match (self.unit, self.n) {
            (Unit::Lines, 1) => "line",
            (Unit::Lines, _) => "lines",
            (Unit::Bytes, 1) => "byte",
            (Unit::Bytes, _) => "bytes",
        };
        write!(f, "{}{unit}", self.n)
    }
}

impl FromStr for Count {
    type Err = String;

    fn from_str(text: &str) -> Result<Count, String> {
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let unit = match unit {
            "line" | "lines" => Unit::Lines,
            "byte" | "bytes" => Unit::Bytes,
            _ => {
                return Err(format!(
                    "{text:?} is not a count of lines or bytes (expected e.g. 5lines or 100bytes)"
                ));
            }
        };
        let n = digits
            .parse()
            .map_err(|_| format!("{text:?} has no number (expected e.g. 5lines or 100bytes)"))?;
        Ok(Count { n, unit })
    }
}
