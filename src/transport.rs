//! What the server and the bench do with a socket, written once: readiness, a read into a
//! per-thread scratch chunk, and the write that takes what the socket accepts without waiting.
//!
//! Both sides hold thousands of connections, so neither keeps a read or write buffer per
//! connection between wake-ups: a read borrows this thread's chunk and keeps only the bytes that
//! arrived, and lines due together are gathered in this thread's write buffer.

use std::cell::RefCell;
use std::io;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

/// Size of each worker thread's read chunk.
pub const SCRATCH_CHUNK: usize = 64 * 1024;

/// A gathered write buffer larger than this is released after use rather than kept on the
/// thread, so one burst does not hold memory for the rest of the run.
const KEEP_WRITE_SCRATCH: usize = 16 * 1024;

thread_local! {
    /// One read chunk per worker thread, lent to whichever connection is reading.
    static READ_SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_CHUNK].into_boxed_slice());
    /// One buffer per worker thread to gather the lines due at once.
    static WRITE_SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// What a connection needs from its socket. Implemented for TCP, and for Unix sockets (which
/// also let tests drive a connection under tokio's paused clock without any network).
///
/// Readiness is polled rather than awaited through `readable()`: a `poll_fn` over it costs the
/// waiting connection a pointer, where tokio's `Readable` future is many times that, and every
/// idle connection spends its life waiting there.
pub trait Transport: AsyncWrite + Unpin + Send + Sync {
    /// Ready when a read would not block (or the peer has closed).
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Reads what is available now into `buf`, without waiting.
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes what the socket takes now, without waiting.
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
}

macro_rules! impl_transport {
    ($stream:ty) => {
        impl Transport for $stream {
            fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$stream>::poll_read_ready(self, cx)
            }
            fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                <$stream>::try_read(self, buf)
            }
            fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                <$stream>::try_write(self, buf)
            }
        }
    };
}

impl_transport!(tokio::net::TcpStream);
#[cfg(unix)]
impl_transport!(tokio::net::UnixStream);

/// Lends this thread's read chunk ([`SCRATCH_CHUNK`] bytes) to `f`.
pub fn with_read_scratch<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    READ_SCRATCH.with_borrow_mut(|scratch| f(scratch))
}

/// Lends this thread's write buffer to `f`, empty; a buffer grown large by a burst is released
/// afterwards.
pub fn with_write_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    WRITE_SCRATCH.with_borrow_mut(|out| {
        out.clear();
        let result = f(out);
        if out.capacity() > KEEP_WRITE_SCRATCH {
            *out = Vec::new();
        }
        result
    })
}

/// Writes as much of `bytes` as the socket takes without waiting; returns how much that was.
pub fn write_now<S: Transport + ?Sized>(stream: &S, bytes: &[u8]) -> io::Result<usize> {
    let mut sent = 0;
    while sent < bytes.len() {
        match stream.try_write(&bytes[sent..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}
