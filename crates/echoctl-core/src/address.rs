//! Where a server listens or a client connects: `HOST:PORT`, `unix:PATH` for a Unix-domain
//! socket, or `udp:HOST:PORT` for UDP datagrams. Parsed once at the edge (it is clap's value parser), printed back the way a user
//! writes it, so nothing below the command line splits or rebuilds an address string.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// How an address names a Unix-domain socket.
pub const UNIX_PREFIX: &str = "unix:";

/// How an address names a UDP port.
pub const UDP_PREFIX: &str = "udp:";

/// An address to listen on or connect to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A name or an IP address and a port; a name is resolved when the address is used.
    Tcp(HostPort),
    /// A Unix-domain socket's path.
    Unix(PathBuf),
    /// A name or an IP address and a UDP port: datagrams instead of a stream.
    Udp(HostPort),
}

/// `HOST:PORT`: the host as written, without the brackets an IPv6 address takes in the text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

/// Why a text is not an address: the message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressError(String);

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AddressError {}

const EXPECTED: &str = "expected HOST:PORT, such as localhost:8000, 127.0.0.1:0 or [::1]:8000";

impl FromStr for HostPort {
    type Err = AddressError;

    /// Checks the shape only (`[::1]:8000` for IPv6), so a typo is a usage error before anything
    /// is resolved.
    fn from_str(text: &str) -> Result<HostPort, AddressError> {
        let fail = |message: String| Err(AddressError(message));
        if let Some((scheme, rest)) = text.split_once("://") {
            let host_port = rest.split('/').next().unwrap_or(rest);
            let instead = if host_port.parse::<HostPort>().is_ok() {
                format!("write {host_port} instead")
            } else {
                format!("({EXPECTED})")
            };
            return fail(format!(
                "{scheme}:// is a URL's scheme; echoctl takes HOST:PORT alone: {instead}"
            ));
        }
        let Some((host, port)) = text.rsplit_once(':') else {
            if text.parse::<u16>().is_ok() {
                // A port alone, as netcat takes it (`nc -l 9000`).
                return fail(format!(
                    "{text:?} is only a port; an address is HOST:PORT, such as \
                     localhost:{text} or 127.0.0.1:{text}"
                ));
            }
            return fail(format!("no port in {text:?} ({EXPECTED})"));
        };
        if host.is_empty() {
            return fail(format!("no host in {text:?} ({EXPECTED})"));
        }
        let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(inside) => inside,
            None if host.contains(':') => {
                return fail(format!(
                    "an IPv6 address needs brackets, as in [::1]:8000 ({EXPECTED})"
                ));
            }
            None => host,
        };
        let Ok(port) = port.parse::<u16>() else {
            return fail(format!(
                "port {port:?} is not a number from 0 to 65535 ({EXPECTED})"
            ));
        };
        Ok(HostPort {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl From<SocketAddr> for HostPort {
    fn from(addr: SocketAddr) -> HostPort {
        HostPort {
            host: addr.ip().to_string(),
            port: addr.port(),
        }
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Address, AddressError> {
        if let Some(host_port) = text.strip_prefix(UDP_PREFIX) {
            return match host_port {
                "" => Err(AddressError(
                    "no HOST:PORT after udp: (expected udp:HOST:PORT, such as udp:127.0.0.1:7000)"
                        .into(),
                )),
                _ => host_port
                    .parse()
                    .map(Address::Udp)
                    .map_err(|AddressError(e)| AddressError(format!("after udp:, {e}"))),
            };
        }
        match text.strip_prefix(UNIX_PREFIX) {
            Some("") => Err(AddressError(
                "no path after unix: (expected unix:PATH, such as unix:/tmp/echo.sock)".into(),
            )),
            Some(path) => Ok(Address::Unix(PathBuf::from(path))),
            // A URL's message already says what to write instead.
            None if text.contains("://") => text.parse().map(Address::Tcp),
            None => text
                .parse()
                .map(Address::Tcp)
                .map_err(|AddressError(e)| AddressError(format!("{e}, or unix:PATH"))),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(host_port) => host_port.fmt(f),
            Address::Unix(path) => write!(f, "{UNIX_PREFIX}{}", path.display()),
            Address::Udp(host_port) => write!(f, "{UDP_PREFIX}{host_port}"),
        }
    }
}

impl Address {
    /// An address to connect to: port 0 (any free port, which only a listener can ask for) is a
    /// mistake there.
    pub fn to_connect(text: &str) -> Result<Address, AddressError> {
        let address: Address = text.parse()?;
        match &address {
            Address::Tcp(HostPort { port: 0, .. }) | Address::Udp(HostPort { port: 0, .. }) => {
                let host = text.rsplit_once(':').map_or(text, |(host, _)| host);
                Err(AddressError(format!(
                    "port 0 asks for any free port, which only a listener can do; give the port \
                     the server listens on (serve's first line says it), such as {host}:8000"
                )))
            }
            _ => Ok(address),
        }
    }

    /// Whether the address carries datagrams (`udp:`) rather than a stream.
    pub fn is_udp(&self) -> bool {
        matches!(self, Address::Udp(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(text: &str) -> Result<String, String> {
        text.parse::<HostPort>()
            .map(|a| a.to_string())
            .map_err(|e| e.to_string())
    }

    fn any(text: &str) -> Result<String, String> {
        text.parse::<Address>()
            .map(|a| a.to_string())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn addresses_need_a_host_and_a_port() {
        for good in [
            "localhost:8000",
            "127.0.0.1:0",
            "[::1]:8000",
            "example.com:65535",
        ] {
            assert_eq!(tcp(good), Ok(good.to_string()));
        }
        for bad in [
            "localhost",
            ":8000",
            "localhost:http",
            "::1:8000",
            "host:70000",
        ] {
            assert!(tcp(bad).is_err(), "{bad}");
        }
        let v6: HostPort = "[::1]:8000".parse().unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 8000));
    }

    #[test]
    fn a_url_or_port_0_is_refused_with_the_address_to_write() {
        let url = tcp("http://localhost:8000").unwrap_err();
        assert_eq!(
            url,
            "http:// is a URL's scheme; echoctl takes HOST:PORT alone: write localhost:8000 instead"
        );
        let url = tcp("tcp://[::1]:80/path").unwrap_err();
        assert!(url.ends_with("write [::1]:80 instead"), "{url}");
        assert!(
            tcp("http://localhost")
                .unwrap_err()
                .contains("(expected HOST:PORT")
        );
        let zero = Address::to_connect("127.0.0.1:0").unwrap_err().to_string();
        assert!(zero.starts_with("port 0 asks for any free port"), "{zero}");
        assert!(zero.ends_with("such as 127.0.0.1:8000"), "{zero}");
        assert_eq!(
            Address::to_connect("[::1]:8000").map(|a| a.to_string()),
            Ok("[::1]:8000".to_string())
        );
        assert_eq!(tcp("127.0.0.1:0"), Ok("127.0.0.1:0".to_string()));
    }

    #[test]
    fn an_address_may_name_a_unix_socket() {
        assert_eq!(any("unix:/tmp/e.sock"), Ok("unix:/tmp/e.sock".into()));
        assert_eq!(
            "unix:rel.sock".parse::<Address>(),
            Ok(Address::Unix("rel.sock".into()))
        );
        assert_eq!(any("[::1]:8000"), Ok("[::1]:8000".into()));
        assert!(any("unix:").is_err());
        let e = any("localhost").unwrap_err();
        assert!(e.ends_with(", or unix:PATH"), "{e}");
        assert_eq!(
            any("9000"),
            Err(
                "\"9000\" is only a port; an address is HOST:PORT, such as localhost:9000 \
                 or 127.0.0.1:9000, or unix:PATH"
                    .into()
            )
        );
        assert!(
            any("70000")
                .unwrap_err()
                .starts_with("no port in \"70000\"")
        );
        assert_eq!(
            Address::to_connect("unix:/x").map(|a| a.to_string()),
            Ok("unix:/x".into())
        );
    }

    #[test]
    fn an_address_may_name_a_udp_port() {
        assert_eq!(any("udp:127.0.0.1:7000"), Ok("udp:127.0.0.1:7000".into()));
        assert_eq!(any("udp:[::1]:0"), Ok("udp:[::1]:0".into()));
        assert_eq!(
            "udp:localhost:8000".parse::<Address>(),
            Ok(Address::Udp(HostPort {
                host: "localhost".into(),
                port: 8000
            }))
        );
        assert!("udp:localhost:8000".parse::<Address>().unwrap().is_udp());
        assert!(!"localhost:8000".parse::<Address>().unwrap().is_udp());
        assert_eq!(
            any("udp:"),
            Err(
                "no HOST:PORT after udp: (expected udp:HOST:PORT, such as udp:127.0.0.1:7000)"
                    .into()
            )
        );
        let e = any("udp:7000").unwrap_err();
        assert!(e.starts_with("after udp:, \"7000\" is only a port"), "{e}");
        let zero = Address::to_connect("udp:127.0.0.1:0")
            .unwrap_err()
            .to_string();
        assert!(zero.starts_with("port 0 asks for any free port"), "{zero}");
        assert!(zero.ends_with("such as udp:127.0.0.1:8000"), "{zero}");
    }
}
