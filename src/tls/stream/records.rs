//! Records between rustls and the socket: the socket's non-blocking calls as the `io::Read` and
//! `io::Write` rustls reads records from and writes them to, and the record reads and writes a
//! [`TlsStream`](super::TlsStream) makes without waiting.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use rustls::Connection;
use tokio::io::AsyncWrite;

use super::FIRST_BYTES_KEPT;
use crate::transport::Transport;

/// The socket's non-blocking calls as the `io::Read` and `io::Write` rustls reads records from
/// and writes them to; "would block" comes back as an error, as rustls expects.
pub(super) struct NonBlocking<'a, S>(&'a S);

impl<S: Transport> Read for NonBlocking<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl<S: Transport> Write for NonBlocking<'_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// [`NonBlocking`]'s reads, keeping the first bytes read.
pub(super) struct Recording<'a, S> {
    pub(super) socket: &'a S,
    pub(super) first: &'a mut Vec<u8>,
}

impl<S: Transport> Read for Recording<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.socket.try_read(buf)?;
        let room = FIRST_BYTES_KEPT.saturating_sub(self.first.len());
        self.first.extend_from_slice(&buf[..n.min(room)]);
        Ok(n)
    }
}

/// The socket's writes as the `io::Write` rustls writes records to, from a poll: "pending"
/// (with the waker registered) comes back as "would block".
pub(super) struct Polled<'a, 'b, S> {
    pub(super) socket: Pin<&'a mut S>,
    pub(super) cx: &'a mut Context<'b>,
}

impl<S: AsyncWrite> Write for Polled<'_, '_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.socket.as_mut().poll_write(self.cx, buf) {
            Poll::Ready(written) => written,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Sends the records `tls` holds without waiting: "would block" while the socket takes only
/// part of them.
pub(super) fn send_held<S: Transport>(tls: &mut Connection, socket: &S) -> io::Result<()> {
    while tls.wants_write() {
        if tls.write_tls(&mut NonBlocking(socket))? == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
    }
    Ok(())
}

/// [`send_held`], where records left held are no error: they go with the next write or flush.
pub(super) fn send_held_if_taken<S: Transport>(tls: &mut Connection, socket: &S) -> io::Result<()> {
    match send_held(tls, socket) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
        other => other,
    }
}

/// Reads plaintext into `buf`, reading and opening records from the socket as needed, without
/// waiting. `Ok(0)` is the peer's `close_notify`; a TCP end without one is an error, since the
/// peer's last bytes may have been cut off.
pub(super) fn read_plaintext<S: Transport>(
    tls: &mut Connection,
    socket: &S,
    buf: &mut [u8],
) -> io::Result<usize> {
    loop {
        match tls.reader().read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    crate::tls::NO_CLOSE_NOTIFY,
                ));
            }
            read => return read,
        }
        // Nothing to read yet: more records from the socket ("would block" ends the read),
        // or its end, after which the reader says whether `close_notify` came before it.
        tls.read_tls(&mut NonBlocking(socket))?;
        if let Err(e) = tls.process_new_packets() {
            let _ = send_held(tls, socket);
            let words = match tls {
                Connection::Client(_) => crate::tls::handshake::tls_words(&e, "TLS"),
                Connection::Server(_) => format!("TLS: {e}"),
            };
            return Err(io::Error::new(io::ErrorKind::InvalidData, words));
        }
        // What the peer's records called for (a key update's answer).
        send_held_if_taken(tls, socket)?;
    }
}
