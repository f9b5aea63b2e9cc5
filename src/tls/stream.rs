//! A TLS connection over a socket, read and written on the socket's own readiness.
//!
//! rustls is sans-I/O: it takes the records read from the socket and gives back the ones to
//! write. [`TlsStream`] feeds it through the socket's non-blocking calls, so a TLS stream is a
//! [`Transport`] like the socket under it: the server's connection loop, the bench's driver and
//! the client's relay run over it unchanged, and never learn that the bytes were encrypted.
//!
//! A write hands the plaintext to rustls, which seals it into records at once, and sends the
//! records. What the socket does not take is held by rustls; nothing new is taken until it is
//! out, and [`Transport::try_flush`] (or `poll_flush`) sends it, which is how a caller learns
//! that what it wrote has reached the socket.

use std::future::poll_fn;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};

use rustls::Connection;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::handshake::HandshakeError;
use crate::transport::Transport;
use records::{Polled, Recording, read_plaintext, send_held, send_held_if_taken};

mod records;

/// How many of the first bytes of a handshake are kept, to show what a client that does not
/// speak TLS sent instead.
pub(super) const FIRST_BYTES_KEPT: usize = 24;

/// A TLS session over the socket `S`: a pointer. The socket lives beside rustls's state on the
/// heap, so a connection's task, which holds its stream for its whole life, is smaller over TLS
/// than over TCP.
pub struct TlsStream<S> {
    inner: Box<Inner<S>>,
}

struct Inner<S> {
    socket: S,
    /// Locked because the transport's calls take `&self`; only the task that owns the stream
    /// ever takes the lock, so it is never contended.
    tls: Mutex<Connection>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for TlsStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("socket", &self.inner.socket)
            .finish_non_exhaustive()
    }
}

impl<S: Transport> TlsStream<S> {
    /// A session of `tls` (a client's or a server's, its handshake not yet made) over `socket`.
    pub(crate) fn new(socket: S, tls: impl Into<Connection>) -> TlsStream<S> {
        TlsStream {
            inner: Box::new(Inner {
                socket,
                tls: Mutex::new(tls.into()),
            }),
        }
    }

    /// The TLS session's state, for what the handshake agreed (version, ALPN, certificates).
    pub(crate) fn session(&self) -> MutexGuard<'_, Connection> {
        // A panic elsewhere while it was held leaves rustls's state as consistent as any error.
        self.inner
            .tls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The socket under the session.
    pub(crate) fn socket(&self) -> &S {
        &self.inner.socket
    }

    /// The socket under the session, the session dropped (for a peer that does not speak TLS).
    pub(crate) fn into_socket(self) -> S {
        self.inner.socket
    }

    /// Makes the handshake, on the socket's readiness, until the session can carry data.
    pub(crate) async fn handshake(&mut self) -> Result<(), HandshakeError> {
        let mut first = Vec::new();
        poll_fn(|cx| self.poll_handshake(cx, &mut first)).await
    }

    fn poll_handshake(
        &mut self,
        cx: &mut Context<'_>,
        first: &mut Vec<u8>,
    ) -> Poll<Result<(), HandshakeError>> {
        loop {
            ready!(self.poll_send_held(cx)).map_err(HandshakeError::Io)?;
            let Inner { socket, tls } = &mut *self.inner;
            let tls = tls.get_mut().unwrap_or_else(PoisonError::into_inner);
            if !tls.is_handshaking() {
                return Poll::Ready(Ok(()));
            }
            let mut reader = Recording { socket, first };
            match tls.read_tls(&mut reader) {
                Ok(0) => return Poll::Ready(Err(HandshakeError::Closed)),
                Ok(_) => {
                    if let Err(e) = tls.process_new_packets() {
                        let error = HandshakeError::from_tls(e, first);
                        // The alert that tells a TLS peer why, if the socket takes it now; a
                        // peer that does not speak TLS would read it as garbage.
                        if !matches!(error, HandshakeError::NotTls(_)) {
                            let _ = send_held(tls, socket);
                        }
                        return Poll::Ready(Err(error));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(socket.poll_read_ready(cx)).map_err(HandshakeError::Io)?;
                }
                Err(e) => return Poll::Ready(Err(HandshakeError::Io(e))),
            }
        }
    }

    /// Sends the records rustls holds, waiting (through `cx`) for the socket to take them.
    fn poll_send_held(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Inner { socket, tls } = &mut *self.inner;
        let tls = tls.get_mut().unwrap_or_else(PoisonError::into_inner);
        while tls.wants_write() {
            let mut socket = Polled {
                socket: Pin::new(&mut *socket),
                cx,
            };
            match tls.write_tls(&mut socket) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: Transport> Transport for TlsStream<S> {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Plaintext already opened (a read took only part of it), or the session's end: ready
        // whatever the socket says.
        let opened = !matches!(
            self.session().reader().into_first_chunk(),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        );
        if opened {
            return Poll::Ready(Ok(()));
        }
        self.inner.socket.poll_read_ready(cx)
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        read_plaintext(&mut self.session(), &self.inner.socket, buf)
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let mut tls = self.session();
        send_held(&mut tls, &self.inner.socket)?;
        let taken = tls.writer().write(buf)?;
        send_held_if_taken(&mut tls, &self.inner.socket)?;
        Ok(taken)
    }

    fn try_flush(&self) -> io::Result<()> {
        send_held(&mut self.session(), &self.inner.socket)
    }

    fn set_zero_linger(&self) -> io::Result<()> {
        self.inner.socket.set_zero_linger()
    }

    async fn peer_gone(&self) -> io::Result<()> {
        self.inner.socket.peer_gone().await
    }
}

impl<S: Transport> AsyncRead for TlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            match self.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.poll_read_ready(cx))?;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl<S: Transport> AsyncWrite for TlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_send_held(cx))?;
        let taken = this
            .inner
            .tls
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .writer()
            .write(buf)?;
        // Sent now if the socket takes it; otherwise held, for the next write or a flush.
        if let Poll::Ready(Err(e)) = this.poll_send_held(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(taken))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send_held(cx))?;
        Pin::new(&mut this.inner.socket).poll_flush(cx)
    }

    /// TLS's half-close: `close_notify`, then the socket's own (a TCP FIN).
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // Once only, however often this is polled: rustls sends no second alert.
        this.inner
            .tls
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .send_close_notify();
        ready!(this.poll_send_held(cx))?;
        Pin::new(&mut this.inner.socket).poll_shutdown(cx)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::time::Duration;

    use tokio::net::UnixStream;
    use tokio::time::timeout;

    use super::*;
    use crate::tls::{ClientTls, ClientTlsOptions, ServerTls, Trust};

    const PATIENCE: Duration = Duration::from_secs(20);

    /// A server's and a client's session over a socket pair, their handshake made.
    async fn pair() -> (TlsStream<UnixStream>, TlsStream<UnixStream>) {
        let (near, far) = UnixStream::pair().unwrap();
        let addr = "unix:/nowhere".parse().unwrap();
        let server_tls = ServerTls::new(&Default::default(), &addr).unwrap();
        let mut server = server_tls.session_over(near).unwrap();
        let options = ClientTlsOptions {
            trust: Trust::Pinned(server_tls.fingerprint()),
            ..ClientTlsOptions::default()
        };
        let client = ClientTls::new(&options, &addr).unwrap();
        let (made, client) = tokio::join!(server.handshake(), client.connect(far, Some(PATIENCE)));
        made.unwrap();
        (server, client.unwrap())
    }

    /// What a write took but the socket did not reaches the peer through `try_flush`, with no
    /// write after it: the contract the connection loop and the bench rely on.
    #[tokio::test]
    async fn records_held_back_go_out_on_flush_without_another_write() {
        let (server, client) = pair().await;
        let chunk = vec![b'x'; 16 * 1024];
        let mut taken = 0;
        while let Ok(n) = client.try_write(&chunk) {
            taken += n;
        }
        assert!(
            matches!(client.try_flush(), Err(e) if e.kind() == io::ErrorKind::WouldBlock),
            "the socket is full: some of what was taken is held"
        );
        let reading = async {
            let mut heard = 0;
            let mut buf = vec![0u8; 64 * 1024];
            while heard < taken {
                poll_fn(|cx| server.poll_read_ready(cx)).await.unwrap();
                match server.try_read(&mut buf) {
                    Ok(n) => heard += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("{e}"),
                }
            }
            heard
        };
        let flushing = async {
            loop {
                match client.try_flush() {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        client.socket().writable().await.unwrap();
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        };
        let (heard, ()) = timeout(PATIENCE, async { tokio::join!(reading, flushing) })
            .await
            .expect("everything taken arrives");
        assert_eq!(heard, taken);
    }
}
