//! Durations as echoctl reads and writes them: one parser for every option that takes a
//! duration, and one formatter for every duration it prints (headers, the start-up line, logs,
//! messages), so that whatever it prints can be pasted back into one of its options.
//!
//! Pure: text in, [`Duration`] out, and back.
//!
//! Printed, a duration is one token, exact, that reads as a person would write it: whole days,
//! hours or minutes in that unit (`2m`, `1h`), anything else in the largest of seconds,
//! milliseconds and microseconds that holds it with at most three decimals (`1.5s`, `43.182s`,
//! `250ms`, `90s`, `0s`). Days are the largest unit: months and years have no exact length, and
//! the parser refuses them rather than guess.

use std::time::Duration;

/// The longest duration any option takes. humantime accepts billions of years, which would
/// overflow the clock arithmetic of deadlines; a year is beyond any sensible delay or timeout.
pub const MAX: Duration = Duration::from_secs(365 * 24 * 3600);

/// What every duration message ends with.
const EXPECTED: &str = "expected a duration such as 1s, 250ms or 2m";

/// The units [`format`] writes, largest first, with their length in nanoseconds.
#[cfg(test)]
const UNITS: &[(&str, u128)] = &[
    ("d", 24 * 3600 * 1_000_000_000),
    ("h", 3600 * 1_000_000_000),
    ("m", 60 * 1_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// Days, hours and minutes: written only when whole (`2m`; `90s`, not `1.5m`).
const WHOLE_UNITS: &[(&str, u128)] = &[
    ("d", 24 * 3600 * 1_000_000_000),
    ("h", 3600 * 1_000_000_000),
    ("m", 60 * 1_000_000_000),
];

/// Seconds, milliseconds and microseconds: written with up to three decimals (`43.182s`).
const DECIMAL_UNITS: &[(&str, u128)] = &[("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)];

/// `duration` as one token its own parser reads back exactly (`1.5s`, `43.182s`, `250ms`, `2m`,
/// `0s`): see the module's documentation.
pub fn format(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if let Some((unit, size)) = WHOLE_UNITS
        .iter()
        .find(|(_, size)| nanos.is_multiple_of(*size))
    {
        return format!("{}{unit}", nanos / size);
    }
    for &(unit, size) in DECIMAL_UNITS {
        let thousandth = size / 1000;
        if nanos >= size && nanos.is_multiple_of(thousandth) {
            let fraction = format!("{:03}", nanos % size / thousandth);
            let fraction = fraction.trim_end_matches('0');
            let point = if fraction.is_empty() { "" } else { "." };
            return format!("{}{point}{fraction}{unit}", nanos / size);
        }
    }
    format!("{nanos}ns")
}

/// An estimated duration as a person would give it, to two significant digits and to the
/// millisecond at least (a shorter one is kept as it is): a server's delay is a round number,
/// and an estimate of it (from the gaps between echoes) is a little off it.
pub fn round_estimate(estimate: Duration) -> Duration {
    let micros = estimate.as_micros();
    if micros < 1_000 {
        return estimate;
    }
    let mut unit = 1_000u128;
    while micros / unit >= 100 {
        unit *= 10;
    }
    let rounded = (micros + unit / 2) / unit * unit;
    Duration::from_micros(u64::try_from(rounded).unwrap_or(u64::MAX))
}

/// Parses a duration: `1s`, `250ms`, `1.5s`, `2m`, `1h30m`, `0`. Each error says what was wrong
/// and what to write instead.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("no duration given ({EXPECTED})"));
    }
    if let Some(rest) = text.strip_prefix('-') {
        // clap hands over what looks like an option too, so that a negative value is explained
        // rather than taken for an unknown option.
        return Err(
            if rest.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
                format!("a duration cannot be negative ({EXPECTED})")
            } else {
                format!("the value is missing: {text:?} is an option, not a duration ({EXPECTED})")
            },
        );
    }
    if text != "0" && text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let hint = match text.parse::<f64>() {
            Ok(seconds) if seconds.is_finite() && seconds <= MAX.as_secs_f64() => {
                let shortest = format(Duration::from_secs_f64(seconds));
                if shortest == format!("{text}s") {
                    format!(": {shortest}")
                } else {
                    format!(": {text}s, or {shortest}")
                }
            }
            _ => String::new(),
        };
        return Err(format!(
            "{text:?} has no unit; a duration needs one{hint} ({EXPECTED})"
        ));
    }
    if let Some(refusal) = inexact_unit(text) {
        return Err(refusal.to_string());
    }
    let duration = humantime::parse_duration(text).map_err(|e| match e {
        // humantime's own message lists months and years among its units, which are refused
        // above.
        humantime::DurationError::UnknownUnit { unit, .. } if !unit.is_empty() => format!(
            "unknown unit {unit:?}; the units are {UNIT_NAMES}, and words such as sec, min, \
             hours, days and weeks ({EXPECTED})"
        ),
        e => format!("{e} ({EXPECTED})"),
    })?;
    if duration > MAX {
        return Err(format!("must be at most {}, a year", format(MAX)));
    }
    Ok(duration)
}

/// The units a duration is written in, as the messages name them.
const UNIT_NAMES: &str = "ns, us, ms, s, m, h, d and w";

const YEARS: &str = "years have no fixed length: give days, such as 365d";
const MONTHS: &str = "months have no fixed length: give days, such as 30d";
const CAPITAL_M: &str =
    "M is months, which have no fixed length: give days, such as 30d (or m for minutes)";

/// The refusal of the first unit in `text` that is months or years, as humantime spells them
/// (and `mon`): it would take them for an average month or year.
fn inexact_unit(text: &str) -> Option<&'static str> {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .find_map(|unit| match unit {
            "y" | "yr" | "yrs" | "year" | "years" => Some(YEARS),
            "month" | "months" | "mon" | "mons" => Some(MONTHS),
            "M" => Some(CAPITAL_M),
            _ => None,
        })
}

/// Parses a timeout: a duration above zero, or `off` for none. `0` is refused, naming `off`:
/// a zero timeout would give up at once, which nobody means, and taking it for "off" would
/// make `0` mean one thing here and another for a delay.
pub fn parse_timeout(text: &str) -> Result<Option<Duration>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    match parse(text) {
        Ok(Duration::ZERO) => Err(
            "0 would time out at once; for no timeout, write off (or give a duration such as 30s)"
                .to_string(),
        ),
        Ok(timeout) => Ok(Some(timeout)),
        Err(e) => Err(e.replace(EXPECTED, &format!("{EXPECTED}, or off"))),
    }
}

/// A timeout as its option takes it: [`format`], or `off`.
pub fn format_timeout(timeout: Option<Duration>) -> String {
    timeout.map_or_else(|| "off".to_string(), format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn printed_durations_are_one_token_in_the_largest_exact_unit() {
        for (duration, text) in [
            (Duration::ZERO, "0s"),
            (ms(1500), "1.5s"),
            (ms(43_182), "43.182s"),
            (ms(1000), "1s"),
            (ms(120_000), "2m"),
            (ms(90_000), "90s"),
            (ms(10), "10ms"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::from_micros(250), "250us"),
            (Duration::from_nanos(1500), "1.5us"),
            (Duration::from_nanos(1_000_000_500), "1000000.5us"),
            (Duration::from_nanos(7), "7ns"),
            (Duration::from_nanos(1_000_000_007), "1000000.007us"),
            (ms(61_500), "61.5s"),
            (Duration::from_secs(3600), "1h"),
            (Duration::from_secs(1_000_000), "1000000s"),
            (MAX, "365d"),
        ] {
            assert_eq!(format(duration), text, "{duration:?}");
        }
    }

    #[test]
    fn an_estimated_delay_is_rounded_to_what_a_server_is_given() {
        assert_eq!(round_estimate(Duration::from_micros(699_378)), ms(700));
        assert_eq!(round_estimate(Duration::from_micros(249_600)), ms(250));
        assert_eq!(round_estimate(Duration::from_micros(1_003_000)), ms(1000));
        assert_eq!(round_estimate(Duration::from_micros(55_200)), ms(55));
        assert_eq!(round_estimate(Duration::from_micros(9_600)), ms(10));
        assert_eq!(
            round_estimate(Duration::from_micros(300)),
            Duration::from_micros(300)
        );
    }

    #[test]
    fn durations_are_human() {
        assert_eq!(parse("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse("250ms"), Ok(ms(250)));
        assert_eq!(parse("1.5s"), Ok(ms(1500)));
        assert_eq!(parse("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("365d"), Ok(MAX));
        assert!(parse("fast").is_err());
        assert!(parse("366d").is_err());
        assert!(parse("300000000000years").is_err());
    }

    #[test]
    fn each_refusal_says_what_to_write() {
        let no_unit = parse("0.5").unwrap_err();
        assert!(no_unit.contains("0.5s, or 500ms"), "{no_unit}");
        let whole = parse("10").unwrap_err();
        assert!(whole.contains("needs one: 10s ("), "{whole}");
        assert!(parse("-1s").unwrap_err().contains("cannot be negative"));
        assert!(
            parse("--mode")
                .unwrap_err()
                .starts_with("the value is missing")
        );
        for (inexact, refusal) in [
            ("1y", YEARS),
            ("2yrs", YEARS),
            ("1month", MONTHS),
            ("2months", MONTHS),
            ("1d 1mon", MONTHS),
            ("1M", CAPITAL_M),
        ] {
            assert_eq!(parse(inexact), Err(refusal.to_string()), "{inexact}");
        }
        // What each suggests is taken.
        assert_eq!(parse("365d"), Ok(MAX));
        assert_eq!(parse("30d"), Ok(Duration::from_secs(30 * 24 * 3600)));
        // Minutes are exact: only a capital M is months.
        assert_eq!(parse("2m"), Ok(ms(120_000)));
    }

    #[test]
    fn an_unknown_unit_lists_only_the_units_taken() {
        let e = parse("5q").unwrap_err();
        assert!(
            e.starts_with("unknown unit \"q\"; the units are ns, us, ms, s, m, h, d and w,"),
            "{e}"
        );
        assert!(!e.contains("month") && !e.contains("year"), "{e}");
        // Each unit listed, and each word named, is one the parser takes.
        for unit in UNIT_NAMES
            .split([',', ' '])
            .filter(|w| !w.is_empty() && *w != "and")
        {
            assert!(parse(&format!("2{unit}")).is_ok(), "{unit}");
        }
        for word in ["sec", "min", "hours", "days", "weeks"] {
            assert!(e.contains(word), "{e}");
            assert!(parse(&format!("2{word}")).is_ok(), "{word}");
        }
        assert!(
            parse_timeout("5q").unwrap_err().ends_with("or 2m, or off)"),
            "a timeout's refusal names off"
        );
    }

    #[test]
    fn a_timeout_is_off_or_above_zero() {
        assert_eq!(parse_timeout("off"), Ok(None));
        assert_eq!(parse_timeout("OFF"), Ok(None));
        assert_eq!(parse_timeout("30s"), Ok(Some(Duration::from_secs(30))));
        for zero in ["0", "0s", "0ms"] {
            let e = parse_timeout(zero).unwrap_err();
            assert!(e.contains("write off"), "{e}");
        }
        assert!(parse_timeout("never").unwrap_err().ends_with(", or off)"));
        assert_eq!(format_timeout(None), "off");
        assert_eq!(format_timeout(Some(ms(2500))), "2.5s");
    }

    /// Every printed duration parses back to the same value: a spread of durations from
    /// nanoseconds to the maximum, over every unit and the numbers around each unit's edges.
    #[test]
    fn every_printed_duration_parses_back_to_itself() {
        let mut samples = vec![Duration::ZERO, MAX];
        // A deterministic pseudo-random walk (xorshift), so a failure names its input and
        // reruns alike.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let nanos = u128::from(state) % (MAX.as_nanos() + 1);
            // Round to a random unit too, so exact seconds, minutes, hours and days are common.
            let (_, size) = UNITS[(state >> 59) as usize % UNITS.len()];
            let nanos = nanos / size * size;
            samples.push(Duration::from_nanos(nanos as u64));
        }
        for (_, size) in UNITS {
            for n in [1u128, 2, 59, 60, 61, 999, 1000, 1001] {
                let nanos = n * size;
                if nanos <= MAX.as_nanos() {
                    samples.push(Duration::from_nanos(nanos as u64));
                    samples.push(Duration::from_nanos(nanos as u64 + 1));
                }
            }
        }
        for duration in samples {
            let text = format(duration);
            assert!(!text.contains(' '), "{text:?} is one token");
            assert_eq!(parse(&text), Ok(duration), "{text:?}");
            if duration > Duration::ZERO {
                assert_eq!(parse_timeout(&text), Ok(Some(duration)), "{text:?}");
            }
        }
    }
}
