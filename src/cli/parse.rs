//! The value parsers of the command line: durations, byte sizes, counts, rates and addresses to
//! connect to. Each returns the message clap shows after "invalid value", saying what it expected.

use std::time::Duration;

use echoctl_core::Address;
use echoctl_core::fault::FaultSpec;

use crate::demo::MIN_DELAY;
use echoctl_core::duration;

/// An address to connect to: port 0 (any free port) is for listeners only.
pub(crate) fn parse_server_addr(text: &str) -> Result<Address, String> {
    Address::to_connect(text).map_err(|e| e.to_string())
}

/// Parses a byte count: `65536`, `64KiB`, `64k`, `1MiB`, `1m` ([`echoctl_core::size::parse`]).
pub(crate) fn parse_size(text: &str) -> Result<usize, String> {
    echoctl_core::size::parse(text)
}

/// Parses `--trace-max`: a byte count ([`parse_size`]) with room for a trace's start and the
/// event that says it stopped.
pub(crate) fn parse_trace_max(text: &str) -> Result<usize, String> {
    let max = parse_size(text)?;
    let least = echoctl_core::trace::Framing::LEAST_MAX;
    if (max as u64) < least {
        return Err(format!(
            "must be at least {}: room for a trace's first events and the one that says it \
             stopped",
            echoctl_core::size::format(least as usize)
        ));
    }
    Ok(max)
}

pub(crate) fn parse_demo_delay(text: &str) -> Result<Duration, String> {
    let delay = parse_duration(text)?;
    if delay < MIN_DELAY {
        return Err(format!(
            "must be at least {} for the demo: shorter, and the echoes of the book's two shouts race each other",
            duration::format(MIN_DELAY)
        ));
    }
    Ok(delay)
}

/// Parses one `serve --fault`: `KIND[=VALUE][@PERCENT]` ([`FaultSpec`]).
pub(crate) fn parse_fault(text: &str) -> Result<FaultSpec, String> {
    text.parse()
}

/// Parses a count that must be at least 1.
pub(crate) fn parse_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e} (expected a whole number such as 100)")),
    }
}

/// Parses a human duration: `1s`, `250ms`, `1m30s`, `0` ([`duration::parse`]).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    duration::parse(text)
}

/// A timeout as its option takes it: a duration above zero, or `off`
/// ([`duration::parse_timeout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(pub Option<Duration>);

pub(crate) fn parse_timeout(text: &str) -> Result<Timeout, String> {
    duration::parse_timeout(text).map(Timeout)
}

/// Parses a share in percent, from 0 to 100: `0`, `0.5`, `2`.
pub(crate) fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().strip_suffix('%').unwrap_or(text.trim());
    match number.parse::<f64>() {
        Ok(share) if (0.0..=100.0).contains(&share) => Ok(share),
        Ok(_) => Err("must be from 0 to 100".to_string()),
        Err(e) => Err(format!("{e} (expected a percentage such as 0.5 or 2%)")),
    }
}

/// Parses a positive rate such as `10` or `0.5`.
pub(crate) fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 && rate <= 1e6 => Ok(rate),
        Ok(_) => Err("must be above 0 and at most 1000000".to_string()),
        Err(e) => Err(format!(
            "{e} (expected a number of shouts per second such as 10)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_human() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("10").is_err(), "a bare number has no unit");
        assert_eq!(parse_duration("365days"), Ok(duration::MAX));
        assert!(parse_duration("366days").is_err());
        assert!(parse_duration("300000000000years").is_err());
    }

    #[test]
    fn percentages_run_from_0_to_100_with_or_without_the_sign() {
        assert_eq!(parse_percent("0"), Ok(0.0));
        assert_eq!(parse_percent("0.5"), Ok(0.5));
        assert_eq!(parse_percent("2%"), Ok(2.0));
        assert_eq!(parse_percent("100"), Ok(100.0));
        assert!(parse_percent("101").is_err());
        assert!(parse_percent("-1").is_err());
        assert!(parse_percent("NaN").is_err());
        assert!(parse_percent("some").is_err());
    }

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("64k"), Ok(65536));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert!(parse_size("0").is_err());
        assert!(parse_size("64 parsecs").is_err());
        assert!(parse_size("KiB").is_err());
    }
}
