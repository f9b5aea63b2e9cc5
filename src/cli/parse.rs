//! The value parsers of the command line: durations, byte sizes, counts, rates and `HOST:PORT`
//! addresses. Each returns the message clap shows after "invalid value", saying what it expected.

use std::time::Duration;

use crate::demo::MIN_DELAY;
use crate::duration;

/// Checks the shape of a `HOST:PORT` address (`[::1]:8000` for IPv6), so a typo is a usage
/// error before anything is resolved.
pub fn parse_host_port(text: &str) -> Result<String, String> {
    let expected = "expected HOST:PORT, such as localhost:8000, 127.0.0.1:0 or [::1]:8000";
    if let Some((scheme, rest)) = text.split_once("://") {
        let host_port = rest.split('/').next().unwrap_or(rest);
        let instead = if parse_host_port(host_port).is_ok() {
            format!("write {host_port} instead")
        } else {
            format!("({expected})")
        };
        return Err(format!(
            "{scheme}:// is a URL's scheme; echoctl takes HOST:PORT alone: {instead}"
        ));
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("no port in {text:?} ({expected})"));
    };
    if host.is_empty() {
        return Err(format!("no host in {text:?} ({expected})"));
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err(format!(
            "an IPv6 address needs brackets, as in [::1]:8000 ({expected})"
        ));
    }
    if port.parse::<u16>().is_err() {
        return Err(format!(
            "port {port:?} is not a number from 0 to 65535 ({expected})"
        ));
    }
    Ok(text.to_string())
}

/// Checks an address that may also name a Unix-domain socket: `unix:PATH`, or `HOST:PORT` as
/// [`parse_host_port`] does.
pub fn parse_address(text: &str) -> Result<String, String> {
    match text.strip_prefix("unix:") {
        Some("") => {
            Err("no path after unix: (expected unix:PATH, such as unix:/tmp/echo.sock)".into())
        }
        Some(_) => Ok(text.to_string()),
        // A URL's message already says what to write instead.
        None if text.contains("://") => parse_host_port(text),
        None => parse_host_port(text).map_err(|e| format!("{e}, or unix:PATH")),
    }
}

/// [`parse_address`] for an address to connect to, where port 0 (any free port, which only a
/// listener can ask for) is a mistake.
pub fn parse_server_addr(text: &str) -> Result<String, String> {
    let addr = parse_address(text)?;
    if addr.starts_with("unix:") {
        return Ok(addr);
    }
    match addr.rsplit_once(':') {
        Some((host, "0")) => Err(format!(
            "port 0 asks for any free port, which only a listener can do; give the port the \
             server listens on (serve's first line says it), such as {host}:8000"
        )),
        _ => Ok(addr),
    }
}

/// Parses a byte count: `65536`, `64KiB`, `64k`, `1MiB`, `1m`.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let multiplier: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
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

pub fn parse_demo_delay(text: &str) -> Result<Duration, String> {
    let delay = parse_duration(text)?;
    if delay < MIN_DELAY {
        return Err(format!(
            "must be at least {} for the demo: shorter, and the echoes of the book's two shouts race each other",
            duration::format(MIN_DELAY)
        ));
    }
    Ok(delay)
}

/// Parses a count that must be at least 1.
pub fn parse_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e} (expected a whole number such as 100)")),
    }
}

/// Parses a human duration: `1s`, `250ms`, `1m30s`, `0` ([`duration::parse`]).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    duration::parse(text)
}

/// The longest duration any option takes.
pub const MAX_DURATION: Duration = duration::MAX;

/// A timeout as its option takes it: a duration above zero, or `off`
/// ([`duration::parse_timeout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(pub Option<Duration>);

pub fn parse_timeout(text: &str) -> Result<Timeout, String> {
    duration::parse_timeout(text).map(Timeout)
}

/// Parses a positive rate such as `10` or `0.5`.
pub fn parse_rate(text: &str) -> Result<f64, String> {
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
        assert_eq!(parse_duration("365days"), Ok(MAX_DURATION));
        assert!(parse_duration("366days").is_err());
        assert!(parse_duration("300000000000years").is_err());
    }

    #[test]
    fn addresses_need_a_host_and_a_port() {
        for good in [
            "localhost:8000",
            "127.0.0.1:0",
            "[::1]:8000",
            "example.com:65535",
        ] {
            assert_eq!(parse_host_port(good), Ok(good.to_string()));
        }
        for bad in [
            "localhost",
            ":8000",
            "localhost:http",
            "::1:8000",
            "host:70000",
        ] {
            assert!(parse_host_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_url_or_port_0_is_refused_with_the_address_to_write() {
        let url = parse_host_port("http://localhost:8000").unwrap_err();
        assert_eq!(
            url,
            "http:// is a URL's scheme; echoctl takes HOST:PORT alone: write localhost:8000 instead"
        );
        let url = parse_host_port("tcp://[::1]:80/path").unwrap_err();
        assert!(url.ends_with("write [::1]:80 instead"), "{url}");
        assert!(
            parse_host_port("http://localhost")
                .unwrap_err()
                .contains("(expected HOST:PORT")
        );
        let zero = parse_server_addr("127.0.0.1:0").unwrap_err();
        assert!(zero.starts_with("port 0 asks for any free port"), "{zero}");
        assert!(zero.ends_with("such as 127.0.0.1:8000"), "{zero}");
        assert_eq!(
            parse_server_addr("[::1]:8000"),
            Ok("[::1]:8000".to_string())
        );
        assert_eq!(
            parse_host_port("127.0.0.1:0"),
            Ok("127.0.0.1:0".to_string())
        );
    }

    #[test]
    fn an_address_may_name_a_unix_socket() {
        assert_eq!(
            parse_address("unix:/tmp/e.sock"),
            Ok("unix:/tmp/e.sock".into())
        );
        assert_eq!(parse_address("unix:rel.sock"), Ok("unix:rel.sock".into()));
        assert_eq!(parse_address("[::1]:8000"), Ok("[::1]:8000".into()));
        assert!(parse_address("unix:").is_err());
        let e = parse_address("localhost").unwrap_err();
        assert!(e.ends_with(", or unix:PATH"), "{e}");
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
