//! A client's stream under a hex dump: every chunk read and written goes to it as it passes.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use echoctl_core::hexdump::Direction;

use super::Dumping;

/// A stream whose every chunk read and written is dumped, when there is a dump; without one,
/// the stream as it is.
pub(crate) struct Tapped<S> {
    inner: S,
    dumping: Option<Dumping>,
}

impl<S> Tapped<S> {
    pub(crate) fn new(inner: S, dumping: Option<Dumping>) -> Tapped<S> {
        Tapped { inner, dumping }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tapped<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if let Some(dumping) = &mut this.dumping {
            dumping.chunk(Instant::now(), Direction::Received, &buf.filled()[before..]);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tapped<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let written = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        if let Some(dumping) = &mut this.dumping {
            dumping.chunk(Instant::now(), Direction::Sent, &buf[..written]);
        }
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
