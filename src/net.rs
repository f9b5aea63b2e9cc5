//! Addresses: resolving a name, connecting to the first address that answers, binding a
//! listener, and the hints that turn an I/O error into what to do about it. The client, the
//! server and the bench all go through here, so each error is worded once.
//!
//! An address is `HOST:PORT`, `unix:PATH` for a Unix-domain socket ([`listen`],
//! [`connect_to`]; [`unix`] binds one safely and removes it when done), or `udp:HOST:PORT`
//! ([`listen`], [`connect_udp`]). The connected [`Stream`] is in `stream`.

mod stream;
#[cfg(unix)]
pub(crate) mod unix;

pub use stream::Stream;

#[cfg(unix)]
pub use unix::UnixListening;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, anyhow};
use echoctl_core::address::{Address, HostPort};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tokio::time::timeout;

/// What `serve --listen` listens on.
pub(crate) enum Listening {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListening),
    Udp(UdpSocket),
}

/// Binds `addr`: a Unix-domain socket, TCP as [`bind`] does, or UDP as [`bind_udp`] does.
pub(crate) async fn listen(addr: &Address) -> anyhow::Result<Listening> {
    match addr {
        Address::Tcp(host_port) => Ok(Listening::Tcp(bind(host_port).await?)),
        Address::Udp(host_port) => Ok(Listening::Udp(bind_udp(host_port).await?)),
        #[cfg(unix)]
        Address::Unix(path) => Ok(Listening::Unix(UnixListening::bind(path).await?)),
        #[cfg(not(unix))]
        Address::Unix(_) => anyhow::bail!("cannot listen on {addr}: no Unix-domain sockets here"),
    }
}

/// Connects to `addr`: a Unix-domain socket, or TCP as [`connect`] does.
pub async fn connect_to(
    addr: &Address,
    connect_timeout: Option<Duration>,
) -> anyhow::Result<Stream> {
    match addr {
        Address::Tcp(host_port) => Ok(Stream::Tcp(connect(host_port, connect_timeout).await?)),
        #[cfg(unix)]
        Address::Unix(path) => Ok(Stream::Unix(unix::connect(path, connect_timeout).await?)),
        #[cfg(not(unix))]
        Address::Unix(_) => anyhow::bail!("cannot connect to {addr}: no Unix-domain sockets here"),
        // `connect_udp`'s: a datagram socket is no stream.
        Address::Udp(_) => anyhow::bail!("{addr} carries datagrams, not a stream"),
    }
}

/// Connects to `addr` ("host:port"), trying every address the name resolves to (IPv4 and IPv6)
/// until one accepts, so `localhost` works whichever of 127.0.0.1 and ::1 the server is on.
/// `connect_timeout` bounds each attempt; `None` leaves it to the system.
pub(crate) async fn connect(
    addr: &HostPort,
    connect_timeout: Option<Duration>,
) -> anyhow::Result<TcpStream> {
    let candidates = resolve(addr).await?;
    let failures = match connect_first(candidates, connect_timeout).await {
        Ok((stream, _)) => return Ok(stream),
        Err(failures) => failures,
    };
    Err(anyhow!(
        "{}",
        explain_connect_failures(&addr.to_string(), &failures)
    ))
}

/// One line for connects that all failed: the address as given, each resolved address only
/// when it says more than that, each distinct error once, and what to do.
fn explain_connect_failures(addr: &str, failures: &[(SocketAddr, io::Error)]) -> String {
    let refused = |e: &io::Error| e.kind() == io::ErrorKind::ConnectionRefused;
    let describe = |e: &io::Error| {
        if refused(e) {
            "connection refused".to_string()
        } else {
            explain_io_error(e)
        }
    };
    let hint = if !failures.is_empty() && failures.iter().all(|(_, e)| refused(e)) {
        "; nothing listens there: is `echoctl serve` running, on that port?"
    } else {
        ""
    };
    let descriptions: Vec<String> = failures.iter().map(|(_, e)| describe(e)).collect();
    let same_everywhere = descriptions.windows(2).all(|pair| pair[0] == pair[1]);
    let one_address_as_given = failures.len() == 1 && failures[0].0.to_string() == addr;
    let what = match (same_everywhere, descriptions.first()) {
        (true, Some(description)) if one_address_as_given => description.clone(),
        (true, Some(description)) => {
            let tried: Vec<String> = failures.iter().map(|(a, _)| a.to_string()).collect();
            format!("{description} (tried {})", tried.join(", "))
        }
        _ => failures
            .iter()
            .zip(&descriptions)
            .map(|((a, _), description)| format!("{a}: {description}"))
            .collect::<Vec<_>>()
            .join("; "),
    };
    format!("cannot connect to {addr}: {what}{hint}")
}

/// Tries `candidates` in order, each for up to `connect_timeout` (`None`: as long as the system
/// tries), and returns the first stream that connects with its position among them, or why each
/// one failed (running out of time is a `TimedOut` error that names `--connect-timeout`).
/// Nagle's algorithm is off on the stream: shouts and echoes are small lines that must leave at
/// once.
pub(crate) async fn connect_first(
    candidates: impl IntoIterator<Item = SocketAddr>,
    connect_timeout: Option<Duration>,
) -> Result<(TcpStream, usize), Vec<(SocketAddr, io::Error)>> {
    let mut failures = Vec::new();
    for (position, candidate) in candidates.into_iter().enumerate() {
        let attempt = TcpStream::connect(candidate);
        let connected = match connect_timeout {
            Some(limit) => timeout(limit, attempt).await,
            None => Ok(attempt.await),
        };
        match connected {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok((stream, position));
            }
            Ok(Err(e)) => failures.push((candidate, e)),
            Err(_) => failures.push((
                candidate,
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no answer within {} (--connect-timeout)",
                        echoctl_core::duration::format_timeout(connect_timeout)
                    ),
                ),
            )),
        }
    }
    Err(failures)
}

/// Every address `addr` ("host:port") resolves to, or an error that says what to check. The one
/// name lookup of the program: `connect`, `serve` (for its listen address) and `bench` use it.
pub(crate) async fn resolve(addr: &HostPort) -> anyhow::Result<Vec<SocketAddr>> {
    // Resolved as written (`[fe80::1%2]:8000` keeps its zone), so errors quote the user's text.
    let addr = addr.to_string();
    let candidates: Vec<SocketAddr> = tokio::net::lookup_host(&addr)
        .await
        .map_err(|e| explain_resolve_error(&addr, e))?
        .collect();
    if candidates.is_empty() {
        anyhow::bail!("{addr} resolves to no address");
    }
    Ok(candidates)
}

fn explain_resolve_error(addr: &str, e: io::Error) -> anyhow::Error {
    if e.kind() == io::ErrorKind::InvalidInput {
        anyhow!("{addr:?} is not a valid address: {e} (expected HOST:PORT, e.g. localhost:8000)")
    } else {
        anyhow!("cannot resolve {addr:?}: {e} (check the host name)")
    }
}

/// Binds a listening socket, trying each address `addr` resolves to in turn.
///
/// Unlike `TcpListener::bind`, this asks for the largest accept backlog the system allows (std
/// asks for 128, which drops connections in a burst; Go asks for the maximum too) and sets
/// `SO_REUSEADDR`, so a restarted server can bind again at once.
pub async fn bind(addr: &HostPort) -> anyhow::Result<TcpListener> {
    let candidates = resolve(addr).await.context("cannot listen")?;
    let mut last_error = None;
    for candidate in candidates {
        match bind_one(candidate) {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(explain_bind_error(candidate, e)),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("{addr} resolves to no address")))
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    // The kernel caps this at its own maximum (net.core.somaxconn on Linux).
    socket.listen(u32::MAX)
}

/// What a UDP socket asks of the system for its receive and send buffers. The system caps it
/// at its own maximum (`net.core.rmem_max` and `wmem_max` on Linux); a larger buffer rides out
/// a burst that the default (about 200 KiB, a few hundred small datagrams) would drop.
pub(crate) const UDP_BUFFER: usize = 4 * 1024 * 1024;

/// Binds a UDP socket, trying each address `addr` resolves to in turn, with [`UDP_BUFFER`]
/// asked for. No `SO_REUSEADDR`: on UDP it would let another program bind the same port and
/// take part of its datagrams.
pub async fn bind_udp(addr: &HostPort) -> anyhow::Result<UdpSocket> {
    let candidates = resolve(addr).await.context("cannot listen")?;
    let mut last_error = None;
    for candidate in candidates {
        match udp_socket(candidate) {
            Ok(socket) => return Ok(socket),
            Err(e) => last_error = Some(explain_bind_error(candidate, e)),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("{addr} resolves to no address")))
}

/// A UDP socket bound to `addr`, its buffers as large as the system allows up to
/// [`UDP_BUFFER`].
pub(crate) fn udp_socket(addr: SocketAddr) -> io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Asked for, not required: a smaller buffer still works, only with less room for a burst.
    let _ = socket.set_recv_buffer_size(UDP_BUFFER);
    let _ = socket.set_send_buffer_size(UDP_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// A UDP socket connected to the first address `addr` resolves to, so that it hears only from
/// there and an ICMP "port unreachable" comes back as a refused send or receive. Each of the
/// other addresses is returned too, for a caller to move on to when that one refuses.
pub(crate) async fn connect_udp(addr: &HostPort) -> anyhow::Result<(UdpSocket, Vec<SocketAddr>)> {
    let mut candidates = resolve(addr).await?;
    let first = candidates.remove(0);
    let any: SocketAddr = if first.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = udp_socket(any).with_context(|| format!("cannot open a UDP socket for {addr}"))?;
    socket.connect(first).await.map_err(|e| {
        anyhow!(
            "{}",
            explain_connect_failures(&addr.to_string(), &[(first, e)])
        )
    })?;
    Ok((socket, candidates))
}

/// Waits until a UDP socket has a datagram to read, or an error to report: an ICMP error such as
/// "port unreachable" on a connected socket wakes no reader by itself (the system marks the
/// socket in error, not readable), so it is waited for too, and returned.
pub(crate) async fn udp_readable(socket: &UdpSocket) -> io::Result<()> {
    use tokio::io::Interest;
    loop {
        let ready = socket.ready(Interest::READABLE | Interest::ERROR).await?;
        if ready.is_error() {
            if let Some(e) = socket.take_error()? {
                return Err(e);
            }
            // Reported and taken already (by a send): nothing is left to wait for.
            let _ = socket.try_io(Interest::ERROR, || -> io::Result<()> {
                Err(io::ErrorKind::WouldBlock.into())
            });
        }
        if ready.is_readable() {
            return Ok(());
        }
    }
}

/// An ICMP "port unreachable" on a connected UDP socket, worded as a refused TCP connect is:
/// nothing listens at `tried` on the port of `addr` (as the user wrote it).
pub(crate) fn explain_udp_refused(addr: &Address, tried: &[SocketAddr]) -> String {
    let failures: Vec<(SocketAddr, io::Error)> = tried
        .iter()
        .map(|&a| (a, io::Error::from(io::ErrorKind::ConnectionRefused)))
        .collect();
    explain_connect_failures(&addr.to_string(), &failures)
}

fn explain_bind_error(addr: SocketAddr, e: io::Error) -> anyhow::Error {
    let hint = match e.kind() {
        _ if needs_zone(addr) => format!(
            "; a link-local address needs a zone, the number of the interface it is on, as in \
             [{}%2]:{} (`ip -6 addr` lists them)",
            addr.ip(),
            addr.port()
        ),
        io::ErrorKind::AddrInUse => format!(
            "; another program is using port {} (stop it, or pick another port with --listen)",
            addr.port()
        ),
        io::ErrorKind::PermissionDenied => {
            "; ports below 1024 need privileges (pick a port above 1024 with --listen)".to_string()
        }
        io::ErrorKind::AddrNotAvailable => {
            "; that address does not belong to this machine".to_string()
        }
        _ => String::new(),
    };
    anyhow::Error::new(e).context(format!("cannot listen on {addr}{hint}"))
}

/// Whether `addr` is an IPv6 link-local address (fe80::/10) without the zone (scope) that says
/// which interface it is on: the system refuses to bind one, with only "Invalid argument".
fn needs_zone(addr: SocketAddr) -> bool {
    match addr {
        SocketAddr::V6(v6) => v6.ip().segments()[0] & 0xffc0 == 0xfe80 && v6.scope_id() == 0,
        SocketAddr::V4(_) => false,
    }
}

/// An I/O error on a connection with what to do about it, when there is something to do: out of
/// file descriptors, out of local ports, refused.
pub(crate) fn explain_io_error(e: &io::Error) -> String {
    let hint = match e.raw_os_error() {
        #[cfg(unix)]
        Some(libc::EMFILE) | Some(libc::ENFILE) => {
            " (out of file descriptors: raise the hard limit, `ulimit -Hn`, as root)"
        }
        #[cfg(unix)]
        Some(libc::EADDRNOTAVAIL) => {
            " (out of local ports: one source address has about 28,000 on Linux, see net.ipv4.ip_local_port_range)"
        }
        _ if e.kind() == io::ErrorKind::ConnectionRefused => " (is the server running there?)",
        _ => "",
    };
    format!("{e}{hint}")
}

/// Whether other machines can reach a server bound to `addr`.
pub(crate) fn is_exposed(addr: SocketAddr) -> bool {
    !addr.ip().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os_error(code: i32) -> io::Error {
        io::Error::from_raw_os_error(code)
    }

    #[cfg(unix)]
    #[test]
    fn running_out_of_descriptors_or_ports_says_what_to_do() {
        for code in [libc::EMFILE, libc::ENFILE] {
            let text = explain_io_error(&os_error(code));
            assert!(
                text.ends_with(
                    "(out of file descriptors: raise the hard limit, `ulimit -Hn`, as root)"
                ),
                "{text}"
            );
        }
        let text = explain_io_error(&os_error(libc::EADDRNOTAVAIL));
        assert!(text.contains("(out of local ports:"), "{text}");
        let text = explain_io_error(&os_error(libc::ECONNREFUSED));
        assert!(text.ends_with(" (is the server running there?)"), "{text}");
    }

    #[test]
    fn an_error_without_advice_is_shown_as_it_is() {
        let e = io::Error::new(io::ErrorKind::TimedOut, "no answer");
        assert_eq!(explain_io_error(&e), "no answer");
    }

    #[test]
    fn a_port_in_use_names_the_port_and_the_option() {
        let addr: SocketAddr = "127.0.0.1:8000".parse().unwrap();
        let e = explain_bind_error(addr, io::Error::from(io::ErrorKind::AddrInUse));
        let text = format!("{e:#}");
        assert!(
            text.starts_with(
                "cannot listen on 127.0.0.1:8000; another program is using port 8000 (stop it, \
                 or pick another port with --listen): "
            ),
            "{text}"
        );
        let e = explain_bind_error(addr, io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(format!("{e:#}").contains("ports below 1024 need privileges"));
    }

    #[test]
    fn a_link_local_address_without_a_zone_says_to_add_one() {
        let addr: SocketAddr = "[fe80::1]:0".parse().unwrap();
        let e = explain_bind_error(addr, io::Error::from_raw_os_error(22));
        let text = format!("{e:#}");
        assert!(
            text.starts_with("cannot listen on [fe80::1]:0; a link-local address needs a zone"),
            "{text}"
        );
        assert!(text.contains("[fe80::1%2]:0"), "{text}");
        let zoned: SocketAddr = "[fe80::1%2]:0".parse().unwrap();
        assert!(!needs_zone(zoned));
        assert!(!needs_zone("[::1]:0".parse().unwrap()));
    }

    #[test]
    fn a_failed_connect_names_each_address_once() {
        let refused = || io::Error::from(io::ErrorKind::ConnectionRefused);
        let one: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(
            explain_connect_failures("127.0.0.1:1", &[(one, refused())]),
            "cannot connect to 127.0.0.1:1: connection refused; nothing listens there: is \
             `echoctl serve` running, on that port?"
        );
        let two: SocketAddr = "[::1]:1".parse().unwrap();
        let text = explain_connect_failures("localhost:1", &[(two, refused()), (one, refused())]);
        assert!(
            text.starts_with(
                "cannot connect to localhost:1: connection refused (tried [::1]:1, 127.0.0.1:1); "
            ),
            "{text}"
        );
        let timed_out = io::Error::new(io::ErrorKind::TimedOut, "no answer within 1s");
        let text = explain_connect_failures("localhost:1", &[(two, refused()), (one, timed_out)]);
        assert_eq!(
            text,
            "cannot connect to localhost:1: [::1]:1: connection refused; 127.0.0.1:1: no answer \
             within 1s"
        );
    }

    #[test]
    fn only_loopback_addresses_are_private() {
        for (addr, exposed) in [
            ("127.0.0.1:8000", false),
            ("[::1]:8000", false),
            ("0.0.0.0:8000", true),
            ("[::]:8000", true),
            ("192.168.1.2:8000", true),
        ] {
            let addr: SocketAddr = addr.parse().unwrap();
            assert_eq!(is_exposed(addr), exposed, "{addr}");
        }
    }

    #[tokio::test]
    async fn a_name_resolves_as_written() {
        let v6: HostPort = "[::1]:8000".parse().unwrap();
        assert_eq!(
            resolve(&v6).await.unwrap(),
            vec![SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 8000))]
        );
        let v4 = HostPort::from(SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)));
        assert_eq!(v4.to_string(), "127.0.0.1:0");
        assert_eq!(resolve(&v4).await.unwrap()[0].to_string(), "127.0.0.1:0");
    }
}
