//! Fault specs: `KIND[=VALUE][@PERCENT]` parsed into a [`FaultSpec`] and printed back as
//! written, with every kind's form for `--help` and the errors. The chance and the count a
//! spec may carry are `quantities`'.

mod quantities;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::{duration, size};
pub use quantities::{Count, Percent, Unit};

/// Every kind, as `--help` and the errors list them: [`KINDS`]' forms (a test keeps them so).
pub const FORMS: &str = "latency=DURATION[~JITTER], bandwidth=RATE, slice=BYTES[/DELAY], \
     reset-after=N(lines|bytes), close-after=N(lines|bytes), stall-after=N(lines|bytes), \
     refuse, slow-close=DURATION, drop=PERCENT, corrupt=PERCENT";

/// What a fault spec looks like, for the end of every error.
const SHAPE: &str = "a fault is KIND[=VALUE][@PERCENT], e.g. latency=200ms~50ms or \
     reset-after=5lines@20%";

/// A fault's kind, without its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Latency,
    Bandwidth,
    Slice,
    ResetAfter,
    CloseAfter,
    StallAfter,
    Refuse,
    SlowClose,
    Drop,
    Corrupt,
}

/// Every kind, in [`Kind`]'s order, with its form (its name, as a spec starts, up to the `=`)
/// and what its errors add to the form.
const KINDS: [(Kind, &str, &str); 10] = [
    (
        Kind::Latency,
        "latency=DURATION[~JITTER]",
        "e.g. latency=200ms~50ms",
    ),
    (Kind::Bandwidth, "bandwidth=RATE", "e.g. bandwidth=16KiB/s"),
    (Kind::Slice, "slice=BYTES[/DELAY]", "e.g. slice=3/10ms"),
    (
        Kind::ResetAfter,
        "reset-after=N(lines|bytes)",
        "e.g. reset-after=5lines",
    ),
    (
        Kind::CloseAfter,
        "close-after=N(lines|bytes)",
        "e.g. close-after=100bytes",
    ),
    (
        Kind::StallAfter,
        "stall-after=N(lines|bytes)",
        "e.g. stall-after=0lines",
    ),
    (Kind::Refuse, "refuse", "with no value"),
    (Kind::SlowClose, "slow-close=DURATION", "e.g. slow-close=2s"),
    (Kind::Drop, "drop=PERCENT", "e.g. drop=10%"),
    (Kind::Corrupt, "corrupt=PERCENT", "e.g. corrupt=10%"),
];

impl Kind {
    /// Its name, as a spec starts.
    pub fn name(self) -> &'static str {
        let form = self.form();
        form.split_once('=').map_or(form, |(name, _)| name)
    }

    /// `latency=DURATION[~JITTER]`.
    fn form(self) -> &'static str {
        KINDS[self as usize].1
    }

    /// The kind a spec starting `name` is of.
    fn named(name: &str) -> Option<Kind> {
        KINDS
            .iter()
            .map(|&(kind, ..)| kind)
            .find(|kind| kind.name() == name)
    }

    /// How to write it, for its errors: `latency=DURATION[~JITTER], e.g. latency=200ms~50ms`.
    fn how_to_write(self) -> String {
        let (_, form, more) = KINDS[self as usize];
        format!("{form}, {more}")
    }
}

/// One way to misbehave; see the module docs and `serve --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Every write held `hold` more, give or take up to `jitter`, order kept.
    Latency { hold: Duration, jitter: Duration },
    /// At most this many bytes a second written.
    Bandwidth { bytes_per_second: usize },
    /// Writes cut into pieces of at most `bytes`, each its own write, `delay` apart.
    Slice { bytes: usize, delay: Duration },
    /// After that much is written, the connection is reset (RST).
    ResetAfter(Count),
    /// After that much is written, the connection is closed (FIN), nothing more said.
    CloseAfter(Count),
    /// After that much is written, the server goes silent and holds the connection open.
    StallAfter(Count),
    /// Accepted, then reset at once, before a byte is read.
    Refuse,
    /// The FIN after the last echo owed comes this much later.
    SlowClose(Duration),
    /// Each echo line left out with this chance.
    Drop(Percent),
    /// Each echo line has one byte changed with this chance.
    Corrupt(Percent),
}

impl Fault {
    /// Its kind.
    pub fn kind(&self) -> Kind {
        match self {
            Fault::Latency { .. } => Kind::Latency,
            Fault::Bandwidth { .. } => Kind::Bandwidth,
            Fault::Slice { .. } => Kind::Slice,
            Fault::ResetAfter(_) => Kind::ResetAfter,
            Fault::CloseAfter(_) => Kind::CloseAfter,
            Fault::StallAfter(_) => Kind::StallAfter,
            Fault::Refuse => Kind::Refuse,
            Fault::SlowClose(_) => Kind::SlowClose,
            Fault::Drop(_) => Kind::Drop,
            Fault::Corrupt(_) => Kind::Corrupt,
        }
    }

    /// Whether the fault acts on echo lines one by one, which the plain echo does not have.
    pub fn needs_lines(&self) -> bool {
        matches!(self, Fault::Drop(_) | Fault::Corrupt(_))
    }

    /// Whether the fault resets the connection, which only TCP can do.
    pub fn resets(&self) -> bool {
        matches!(self, Fault::ResetAfter(_) | Fault::Refuse)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind().name();
        match *self {
            Fault::Latency { hold, jitter } if jitter.is_zero() => {
                write!(f, "{kind}={}", duration::format(hold))
            }
            Fault::Latency { hold, jitter } => write!(
                f,
                "{kind}={}~{}",
                duration::format(hold),
                duration::format(jitter)
            ),
            Fault::Bandwidth { bytes_per_second } => {
                write!(f, "{kind}={}/s", size::format(bytes_per_second))
            }
            Fault::Slice { bytes, delay } if delay.is_zero() => {
                write!(f, "{kind}={}", size::format(bytes))
            }
            Fault::Slice { bytes, delay } => write!(
                f,
                "{kind}={}/{}",
                size::format(bytes),
                duration::format(delay)
            ),
            Fault::ResetAfter(count) | Fault::CloseAfter(count) | Fault::StallAfter(count) => {
                write!(f, "{kind}={count}")
            }
            Fault::Refuse => f.write_str(kind),
            Fault::SlowClose(after) => write!(f, "{kind}={}", duration::format(after)),
            Fault::Drop(chance) | Fault::Corrupt(chance) => write!(f, "{kind}={chance}"),
        }
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(text: &str) -> Result<Fault, String> {
        let (name, value) = match text.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (text, None),
        };
        let Some(kind) = Kind::named(name) else {
            return Err(format!(
                "unknown fault {name:?}; the faults are {FORMS} ({SHAPE})"
            ));
        };
        let wrong = |problem: String| format!("{problem}: write {}", kind.how_to_write());
        let value = match (kind, value) {
            (Kind::Refuse, None) => return Ok(Fault::Refuse),
            (Kind::Refuse, Some(_)) => return Err(wrong("refuse takes no value".into())),
            (_, None) | (_, Some("")) => return Err(wrong(format!("{name} needs a value"))),
            (_, Some(value)) => value,
        };
        let fault = match kind {
            Kind::Latency => {
                let (hold, jitter) = value.split_once('~').unwrap_or((value, "0"));
                let hold = duration::parse(hold).map_err(wrong)?;
                let jitter = duration::parse(jitter).map_err(wrong)?;
                if jitter > hold {
                    return Err(wrong(format!(
                        "the jitter {} is more than the latency {} (a write is never sent \
                         early)",
                        duration::format(jitter),
                        duration::format(hold)
                    )));
                }
                Fault::Latency { hold, jitter }
            }
            Kind::Bandwidth => {
                let Some(bytes) = value.strip_suffix("/s") else {
                    return Err(wrong(format!("{value:?} is not a rate in bytes a second")));
                };
                Fault::Bandwidth {
                    bytes_per_second: size::parse(bytes).map_err(wrong)?,
                }
            }
            Kind::Slice => {
                let (bytes, delay) = value.split_once('/').unwrap_or((value, "0"));
                Fault::Slice {
                    bytes: size::parse(bytes).map_err(wrong)?,
                    delay: duration::parse(delay).map_err(wrong)?,
                }
            }
            Kind::ResetAfter => Fault::ResetAfter(value.parse().map_err(wrong)?),
            Kind::CloseAfter => Fault::CloseAfter(value.parse().map_err(wrong)?),
            Kind::StallAfter => Fault::StallAfter(value.parse().map_err(wrong)?),
            // Taken above: it has no value.
            Kind::Refuse => Fault::Refuse,
            Kind::SlowClose => Fault::SlowClose(duration::parse(value).map_err(wrong)?),
            Kind::Drop => Fault::Drop(value.parse().map_err(wrong)?),
            Kind::Corrupt => Fault::Corrupt(value.parse().map_err(wrong)?),
        };
        Ok(fault)
    }
}

/// One `--fault`: a fault, and the chance that a connection gets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaultSpec {
    pub fault: Fault,
    pub chance: Percent,
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.fault)?;
        if self.chance != Percent::ALL {
            write!(f, "@{}", self.chance)?;
        }
        Ok(())
    }
}

impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<FaultSpec, String> {
        let text = text.trim();
        let (fault, chance) = match text.split_once('@') {
            Some((fault, chance)) => (
                fault,
                chance.parse().map_err(|e| {
                    format!("after @, the chance that a connection gets the fault: {e}")
                })?,
            ),
            None => (text, Percent::ALL),
        };
        Ok(FaultSpec {
            fault: fault.parse()?,
            chance,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn spec(text: &str) -> FaultSpec {
        text.parse()
            .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
    }

    #[test]
    fn every_kind_parses_and_prints_back_as_written() {
        for text in [
            "latency=200ms~50ms",
            "latency=1s",
            "bandwidth=16KiB/s",
            "bandwidth=1000/s",
            "slice=3/10ms",
            "slice=1KiB",
            "reset-after=5lines@20%",
            "close-after=100bytes",
            "close-after=1line",
            "stall-after=0lines",
            "refuse@12.5%",
            "slow-close=2s",
            "drop=10%",
            "corrupt=0.05%@50%",
        ] {
            assert_eq!(spec(text).to_string(), text);
        }
        assert_eq!(
            spec("latency=200ms~50ms").fault,
            Fault::Latency {
                hold: ms(200),
                jitter: ms(50)
            }
        );
        assert_eq!(
            spec("slice=3/10ms").fault,
            Fault::Slice {
                bytes: 3,
                delay: ms(10)
            }
        );
        assert_eq!(
            spec("bandwidth=16KiB/s").fault,
            Fault::Bandwidth {
                bytes_per_second: 16 * 1024
            }
        );
        let reset = spec("reset-after=5lines@20%");
        assert_eq!(
            reset.fault,
            Fault::ResetAfter(Count {
                n: 5,
                unit: Unit::Lines
            })
        );
        assert_eq!(reset.chance, Percent(2000));
        assert_eq!(spec("refuse").chance, Percent::ALL);
        // Other spellings print in the one form.
        assert_eq!(spec("slice=3/0s").to_string(), "slice=3");
        assert_eq!(spec("latency=1s~0s").to_string(), "latency=1s");
        assert_eq!(spec("drop=10.50%").to_string(), "drop=10.5%");
    }

    /// One table names every kind, in [`Kind`]'s order, and `FORMS` lists its forms.
    #[test]
    fn the_kinds_table_has_every_kind_in_order_and_forms_lists_them() {
        for (i, &(kind, ..)) in KINDS.iter().enumerate() {
            assert_eq!(kind as usize, i, "{kind:?}");
            assert_eq!(Kind::named(kind.name()), Some(kind));
        }
        let forms: Vec<&str> = KINDS.iter().map(|&(_, form, _)| form).collect();
        assert_eq!(FORMS, forms.join(", "));
    }

    #[test]
    fn a_bad_spec_says_what_is_wrong_and_how_to_write_it() {
        let error = |text: &str| {
            text.parse::<FaultSpec>()
                .expect_err(&format!("{text:?} should be refused"))
        };
        let unknown = error("laggy=1s");
        assert!(unknown.contains("unknown fault \"laggy\""), "{unknown}");
        assert!(unknown.contains(FORMS), "every form listed: {unknown}");
        for (text, wanted) in [
            (
                "latency",
                "latency needs a value: write latency=DURATION[~JITTER]",
            ),
            (
                "latency=fast",
                "write latency=DURATION[~JITTER], e.g. latency=200ms~50ms",
            ),
            (
                "latency=10ms~50ms",
                "the jitter 50ms is more than the latency 10ms",
            ),
            (
                "bandwidth=16KiB",
                "is not a rate in bytes a second: write bandwidth=RATE",
            ),
            ("bandwidth=0/s", "must be at least 1 byte"),
            ("slice=0", "must be at least 1 byte"),
            ("reset-after=5", "not a count of lines or bytes"),
            ("close-after=lines", "has no number"),
            ("refuse=1", "refuse takes no value"),
            ("drop=10", "is not a percentage"),
            ("corrupt=101%", "is over 100%"),
            ("drop=1.234%", "is not a percentage"),
            (
                "reset-after=5lines@half",
                "after @, the chance that a connection gets",
            ),
            ("stall-after=3lines@200%", "is over 100%"),
        ] {
            let e = error(text);
            assert!(e.contains(wanted), "{text}: {e}");
        }
    }

    #[test]
    fn percentages_keep_two_decimals() {
        for (text, hundredths) in [("0%", 0), ("100%", 10_000), ("0.05%", 5), ("12.5%", 1250)] {
            let percent: Percent = text.parse().unwrap();
            assert_eq!(percent.0, hundredths);
            assert_eq!(percent.to_string(), text);
        }
    }
}
