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
pub(crate) const SCRATCH_CHUNK: usize = 64 * 1024;

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
    /// Reads what is available now into `buf` (not empty), without waiting. A read that comes
    /// back short has emptied the socket: it forgets the socket's readiness then, which saves
    /// the read that would only have said "would block" (one per shout, under load).
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes what the socket takes now, without waiting.
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
    /// Writes, without waiting, what earlier writes took but the socket has not yet (the rest
    /// of a TLS record); "would block" while some is still held. A plain socket holds nothing.
    fn try_flush(&self) -> io::Result<()> {
        Ok(())
    }
    /// Makes closing the socket reset the connection (`SO_LINGER` 0), for the faults that
    /// reset: only TCP has a reset.
    fn set_zero_linger(&self) -> io::Result<()>;
    /// Waits until the peer is gone, without reading what it sends meanwhile (a stalled
    /// connection reads nothing, yet lets go of a client that gave up). A peer that only ends
    /// its input may still be waiting to hear, so its end is not enough: gone is a reset, or a
    /// Unix socket's peer closed. TCP cannot tell a peer that closed its socket from one that
    /// ended its input, so keepalive probes are sent meanwhile ([`KEEPALIVE`]): once the
    /// peer's system has forgotten the connection, it answers one with a reset. Fails only if
    /// the probes cannot be turned on.
    fn peer_gone(&self) -> impl std::future::Future<Output = io::Result<()>> + Send + '_;
    /// The socket as splice(2) takes it, so that the kernel may move its bytes itself; `None`
    /// where they must pass through user space (a stream that is not a plain socket).
    #[cfg(target_os = "linux")]
    fn splice_socket(&self) -> Option<&dyn SpliceSocket> {
        None
    }
}

/// What splice(2) needs of a socket: its descriptor, and tokio's readiness around it, so that
/// a splice that would block waits for the runtime rather than blocking it.
#[cfg(target_os = "linux")]
pub trait SpliceSocket: std::os::fd::AsRawFd + Sync {
    /// Runs `io` if the socket is ready for `interest`, and forgets that readiness if `io` says
    /// it would block (tokio's `try_io`).
    fn try_io(
        &self,
        interest: tokio::io::Interest,
        io: &mut dyn FnMut() -> io::Result<usize>,
    ) -> io::Result<usize>;
    /// Ready when a write would not block (or the socket has failed).
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// The keepalive of a TCP connection waiting for its peer to go ([`Transport::peer_gone`]):
/// the first probe after 2 s of silence, then one every 2 s, given up after 5 unanswered. A
/// peer that is there answers each; a closed one answers with a reset once its system forgets
/// the connection (Linux: `tcp_fin_timeout`, 60 s, after its close); a vanished one answers
/// nothing and is given up on after 12 s.
const KEEPALIVE: socket2::TcpKeepalive = socket2::TcpKeepalive::new()
    .with_time(std::time::Duration::from_secs(2))
    .with_interval(std::time::Duration::from_secs(2))
    .with_retries(5);

/// Turns on [`KEEPALIVE`]'s probes.
fn keep_probing(stream: &tokio::net::TcpStream) -> io::Result<()> {
    socket2::SockRef::from(stream).set_tcp_keepalive(&KEEPALIVE)
}

macro_rules! impl_transport {
    ($stream:ty, $zero_linger:expr, $probe:expr) => {
        impl Transport for $stream {
            fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$stream>::poll_read_ready(self, cx)
            }
            #[cfg(unix)]
            fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                read_draining(self, buf, |read| {
                    self.try_io(tokio::io::Interest::READABLE, read)
                })
            }
            #[cfg(not(unix))]
            fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                <$stream>::try_read(self, buf)
            }
            fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                <$stream>::try_write(self, buf)
            }
            fn set_zero_linger(&self) -> io::Result<()> {
                let zero_linger: fn(&$stream) -> io::Result<()> = $zero_linger;
                zero_linger(self)
            }
            async fn peer_gone(&self) -> io::Result<()> {
                use tokio::io::Interest;
                let probe: fn(&$stream) -> io::Result<()> = $probe;
                probe(self)?;
                // Gone is the write side closed (a reset; a Unix peer's close) or an error
                // (a probe unanswered). Readiness for anything else (bytes, an end of input:
                // every event says "writable" too) is forgotten, and the next one awaited.
                loop {
                    match self.ready(Interest::WRITABLE | Interest::ERROR).await {
                        Ok(ready) if !ready.is_write_closed() && !ready.is_error() => {
                            let _ = self.try_io(Interest::WRITABLE, || {
                                Err::<(), _>(io::ErrorKind::WouldBlock.into())
                            });
                        }
                        _ => return Ok(()),
                    }
                }
            }
            #[cfg(target_os = "linux")]
            fn splice_socket(&self) -> Option<&dyn SpliceSocket> {
                Some(self)
            }
        }

        #[cfg(target_os = "linux")]
        impl SpliceSocket for $stream {
            fn try_io(
                &self,
                interest: tokio::io::Interest,
                io: &mut dyn FnMut() -> io::Result<usize>,
            ) -> io::Result<usize> {
                <$stream>::try_io(self, interest, io)
            }
            fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$stream>::poll_write_ready(self, cx)
            }
        }
    };
}

impl_transport!(
    tokio::net::TcpStream,
    tokio::net::TcpStream::set_zero_linger,
    keep_probing
);
#[cfg(unix)]
impl_transport!(
    tokio::net::UnixStream,
    |_| Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "a Unix-domain socket has no reset"
    )),
    // No probes: a Unix socket says when its peer has closed.
    |_| Ok(())
);

/// One read of `socket` into `buf`, through `try_io` (tokio's `try_io`, which forgets the
/// socket's readiness when the read says "would block"). A stream socket's read returns less
/// than asked only when it has taken everything queued (TCP and Unix sockets both copy until
/// the buffer is full or their queue is empty), so a short read is reported to `try_io` as
/// "would block" too, and its bytes handed back. Data arriving afterwards makes the socket ready
/// anew (tokio clears readiness only if no new event came since it was read), and an end of
/// input that came with the data is kept (tokio never clears "closed").
#[cfg(unix)]
fn read_draining(
    socket: &impl std::os::fd::AsRawFd,
    buf: &mut [u8],
    try_io: impl FnOnce(&mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize>,
) -> io::Result<usize> {
    debug_assert!(
        !buf.is_empty(),
        "an empty read would look like the end of input"
    );
    let mut short = None;
    let result = try_io(&mut || {
        // SAFETY: `buf` is valid for writes of its length, and the descriptor is the socket's.
        let n = unsafe { libc::recv(socket.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        if n > 0 && n < buf.len() {
            short = Some(n);
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    });
    match short {
        Some(n) => Ok(n),
        None => result,
    }
}

/// Lends this thread's read chunk ([`SCRATCH_CHUNK`] bytes) to `f`.
pub(crate) fn with_read_scratch<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    READ_SCRATCH.with_borrow_mut(|scratch| f(scratch))
}

/// Lends this thread's write buffer to `f`, empty; a buffer grown large by a burst is released
/// afterwards.
pub(crate) fn with_write_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    WRITE_SCRATCH.with_borrow_mut(|out| {
        out.clear();
        let result = f(out);
        if out.capacity() > KEEP_WRITE_SCRATCH {
            *out = Vec::new();
        }
        result
    })
}

/// Whether everything written to `stream` has reached the socket, after writing out, without
/// waiting, what it still held ([`Transport::try_flush`]).
pub(crate) fn flushed_now<S: Transport + ?Sized>(stream: &S) -> io::Result<bool> {
    match stream.try_flush() {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes as much of `bytes` as the socket takes without waiting; returns how much that was.
pub(crate) fn write_now<S: Transport + ?Sized>(stream: &S, bytes: &[u8]) -> io::Result<usize> {
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;

    async fn ready(stream: &impl Transport) {
        tokio::time::timeout(
            Duration::from_secs(10),
            poll_fn(|cx| stream.poll_read_ready(cx)),
        )
        .await
        .expect("readable in time")
        .unwrap();
    }

    fn still_ready(stream: &impl Transport) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        stream.poll_read_ready(&mut cx).is_ready()
    }

    /// A short read forgets readiness (no second read to learn the socket is empty), and what
    /// comes after it, bytes or the end of input, still wakes the reader.
    async fn short_reads_forget_readiness_and_lose_nothing<S: Transport>(
        reader: S,
        mut writer: impl tokio::io::AsyncWrite + Unpin,
    ) {
        let mut buf = [0u8; 16];
        writer.write_all(b"ab").await.unwrap();
        ready(&reader).await;
        assert_eq!(reader.try_read(&mut buf).unwrap(), 2);
        assert!(!still_ready(&reader), "the short read cleared readiness");
        writer.write_all(b"cdef").await.unwrap();
        ready(&reader).await;
        assert_eq!(reader.try_read(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"cdef");
        // A full read may not have emptied the socket: it keeps readiness.
        writer.write_all(&[b'x'; 20]).await.unwrap();
        ready(&reader).await;
        while reader.try_read(&mut buf).unwrap() == 16 {
            assert!(still_ready(&reader));
        }
        writer.write_all(b"last").await.unwrap();
        drop(writer);
        let mut heard = Vec::new();
        loop {
            ready(&reader).await;
            match reader.try_read(&mut buf) {
                Ok(0) => break,
                Ok(n) => heard.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(heard, b"last", "the bytes and then the end of input");
    }

    #[tokio::test]
    async fn tcp_short_reads_forget_readiness_and_lose_nothing() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        short_reads_forget_readiness_and_lose_nothing(server, client).await;
    }

    #[tokio::test]
    async fn unix_short_reads_forget_readiness_and_lose_nothing() {
        let (a, b) = tokio::net::UnixStream::pair().unwrap();
        short_reads_forget_readiness_and_lose_nothing(a, b).await;
    }

    /// The bench's stream reads as the socket under it does.
    #[tokio::test]
    async fn a_stream_short_read_forgets_readiness_and_loses_nothing() {
        let (a, b) = tokio::net::UnixStream::pair().unwrap();
        short_reads_forget_readiness_and_lose_nothing(crate::net::Stream::Unix(a), b).await;
    }
}
