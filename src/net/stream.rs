//! The connected stream every connection runs on: TCP, a Unix-domain socket, or a TLS session
//! over either, with the readiness and [`Transport`] calls each picks its socket for.

use std::future::poll_fn;
use std::io;

use echoctl_core::address::Address;
use tokio::net::TcpStream;

use crate::tls::TlsStream;
use crate::transport::Transport;

/// A connected stream: TCP, or a Unix-domain socket, or a TLS session over either.
#[derive(Debug)]
pub enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
    /// Boxed: a TLS session holds the socket under it, and the bench holds thousands of
    /// streams, most of them plain.
    Tls(Box<TlsStream<Stream>>),
}

impl From<TcpStream> for Stream {
    fn from(stream: TcpStream) -> Stream {
        Stream::Tcp(stream)
    }
}

/// The readiness calls the bench makes on its connections, whichever the transport.
impl Stream {
    /// Ready when a read would not block (for TLS: when there is plaintext, or records to
    /// open).
    pub(crate) async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| Transport::poll_read_ready(self, cx)).await
    }

    /// The address this stream is connected to, as a user writes it: `HOST:PORT`, or
    /// `unix:PATH`; `None` when the system cannot say.
    pub(crate) fn peer_name(&self) -> Option<String> {
        match self {
            Stream::Tcp(s) => s.peer_addr().ok().map(|addr| addr.to_string()),
            #[cfg(unix)]
            Stream::Unix(s) => {
                let addr = s.peer_addr().ok()?;
                let path = addr.as_pathname()?;
                Some(Address::Unix(path.to_path_buf()).to_string())
            }
            Stream::Tls(s) => s.socket().peer_name(),
        }
    }

    /// Ready when the socket would take a write.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    fn poll_write_ready(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        match self {
            Stream::Tcp(s) => s.poll_write_ready(cx),
            #[cfg(unix)]
            Stream::Unix(s) => s.poll_write_ready(cx),
            Stream::Tls(s) => s.socket().poll_write_ready(cx),
        }
    }
}

/// Each socket's own [`Transport`] calls, written once in [`crate::transport`]; a stream only
/// picks the socket.
impl Transport for Stream {
    fn poll_read_ready(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        match self {
            Stream::Tcp(s) => Transport::poll_read_ready(s, cx),
            #[cfg(unix)]
            Stream::Unix(s) => Transport::poll_read_ready(s, cx),
            Stream::Tls(s) => Transport::poll_read_ready(&**s, cx),
        }
    }
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => Transport::try_read(s, buf),
            #[cfg(unix)]
            Stream::Unix(s) => Transport::try_read(s, buf),
            Stream::Tls(s) => Transport::try_read(&**s, buf),
        }
    }
    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => Transport::try_write(s, buf),
            #[cfg(unix)]
            Stream::Unix(s) => Transport::try_write(s, buf),
            Stream::Tls(s) => Transport::try_write(&**s, buf),
        }
    }
    fn try_flush(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(_) => Ok(()),
            #[cfg(unix)]
            Stream::Unix(_) => Ok(()),
            Stream::Tls(s) => Transport::try_flush(&**s),
        }
    }
    fn set_zero_linger(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => Transport::set_zero_linger(s),
            #[cfg(unix)]
            Stream::Unix(s) => Transport::set_zero_linger(s),
            Stream::Tls(s) => Transport::set_zero_linger(&**s),
        }
    }
    async fn peer_gone(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => Transport::peer_gone(s).await,
            #[cfg(unix)]
            Stream::Unix(s) => Transport::peer_gone(s).await,
            // The socket under the session, named by its own type: a session is never over
            // another session.
            Stream::Tls(s) => match s.socket() {
                Stream::Tcp(s) => Transport::peer_gone(s).await,
                #[cfg(unix)]
                Stream::Unix(s) => Transport::peer_gone(s).await,
                Stream::Tls(_) => Err(io::Error::other("a TLS session over another")),
            },
        }
    }
}

macro_rules! on_stream {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Stream::Tcp($s) => $e,
            #[cfg(unix)]
            Stream::Unix($s) => $e,
            Stream::Tls($s) => $e,
        }
    };
}

impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        on_stream!(self, s => std::pin::Pin::new(s).poll_read(cx, buf))
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        on_stream!(self, s => std::pin::Pin::new(s).poll_write(cx, buf))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        on_stream!(self, s => std::pin::Pin::new(s).poll_flush(cx))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        on_stream!(self, s => std::pin::Pin::new(s).poll_shutdown(cx))
    }
}
