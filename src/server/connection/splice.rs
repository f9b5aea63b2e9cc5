//! The plain echo through the kernel: splice(2) moves a connection's bytes from its socket into
//! a pipe and from the pipe back out to the socket, so they never enter the server's memory
//! (Go's `io.Copy` between two TCP connections does the same). Linux only; elsewhere, and
//! wherever something must see the bytes
//! ([`crate::server::ServerConfig::bytes_must_be_seen`]), the connection copies them through
//! its thread's buffers as before.
//!
//! Only a client that streams is spliced: a read that comes back short (a small message) is
//! cheaper copied, so the session splices the next read only after one filled its chunk
//! (`PlainSession::splice_allowance`). A turn ([`Connection::splice_turn`]) moves what the
//! socket has, up to the session's allowance, into a pipe, and as much of it back out as the
//! socket takes at once; what it does not take stays in the pipe, and the connection waits for
//! the socket on a boxed future ([`Connection::splice_back`]) and reads nothing meanwhile, so
//! a client that does not read holds one allowance in a pipe, in the kernel, while TCP's flow
//! control pushes back on it.
//!
//! A pipe is held only while bytes are in it. Empty ones are kept for the next turn among this
//! worker thread's spares, a few at most: an idle connection holds no pipe, and a busy one takes
//! and returns one each turn without a system call. One pipe per connection would triple the
//! descriptors a server of 10,000 connections needs (two more per connection, past common
//! limits) to save two `pipe2` and `close` calls per burst; spares cost two descriptors each
//! and no memory while empty. A pipe that still holds bytes (the connection failed or was
//! aborted) is closed, never kept.
//!
//! Splice is tried on every plain connection a transport offers a socket for; a kernel that
//! refuses it (`ENOSYS`, `EINVAL`: a sandbox, an old or exotic system) is remembered, and the
//! server copies from then on, as it does for a turn that finds no pipe (out of descriptors).
//! Writing to a socket the client has closed raises SIGPIPE, which Rust programs ignore: the
//! splice fails with `EPIPE` instead.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;

use tokio::io::Interest;
use tokio::time::Instant;

use super::{Broken, Connection, Kind};
use crate::transport::Transport;

/// What a connection does with its socket this turn.
pub(super) enum Turn {
    /// Nothing moved through the kernel: the copy path reads (or the loop has nothing to read).
    Copy,
    /// Everything read is back out (or nothing was there, or the input ended).
    Done,
    /// The pipe holds bytes the socket did not take yet.
    Owed(Pipe),
}

/// Empty pipes each worker thread keeps for its next turns.
const SPARE_PIPES: usize = 4;

/// Set once the kernel refuses to splice a socket: every connection copies from then on.
static REFUSED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static SPARES: RefCell<Vec<Pipe>> = const { RefCell::new(Vec::new()) };
}

/// A pipe's two ends, both non-blocking.
pub(super) struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl Pipe {
    /// One of this thread's spares, or a new pipe.
    fn take() -> io::Result<Pipe> {
        match SPARES.try_with(|spares| spares.borrow_mut().pop()) {
            Ok(Some(pipe)) => Ok(pipe),
            _ => Pipe::open(),
        }
    }

    fn open() -> io::Result<Pipe> {
        let mut fds: [RawFd; 2] = [-1; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 succeeded, so both are open descriptors that nothing else owns.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(Pipe { read, write })
    }

    /// Keeps this pipe, which must be empty, among the thread's spares, or closes it when
    /// there are enough.
    fn give_back(self) {
        let _ = SPARES.try_with(|spares| {
            let mut spares = spares.borrow_mut();
            if spares.len() < SPARE_PIPES {
                spares.push(self);
            }
        });
    }
}

/// Moves up to `len` bytes from `from` to `to` in the kernel, without blocking on the pipe
/// (each socket is non-blocking itself).
fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    // SAFETY: no memory is passed (null offsets: a socket and a pipe have none), and both
    // descriptors are borrowed from owners that outlive the call.
    let moved = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    usize::try_from(moved).map_err(|_| io::Error::last_os_error())
}

impl crate::server::ServerStats {
    /// `n` bytes went back through the kernel.
    fn spliced(&self, n: usize) {
        self.bytes_echoed.fetch_add(n as u64, Relaxed);
        self.bytes_spliced.fetch_add(n as u64, Relaxed);
    }
}

/// Whether an error says this kernel cannot splice such a socket, rather than that the
/// connection failed.
fn refused(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSYS | libc::EINVAL | libc::EOPNOTSUPP | libc::EPERM)
    )
}

impl<S: Transport, K: Kind> Connection<S, K> {
    /// Whether this connection's bytes go through the kernel: a plain echo whose bytes nothing
    /// needs to see, on a socket the kernel can splice.
    pub(super) fn splices(&mut self) -> bool {
        !self.config.bytes_must_be_seen()
            && !REFUSED.load(Relaxed)
            && self.stream.splice_socket().is_some()
            && self.session.pass_through().is_some()
    }

    /// One turn through the kernel when the socket is `readable` and the connection splices;
    /// see the module docs. [`Turn::Copy`] leaves the turn to the copy path.
    pub(super) fn splice_turn(&mut self, readable: bool) -> io::Result<Turn> {
        if !readable || !self.splices() {
            return Ok(Turn::Copy);
        }
        let now = Instant::now();
        let Connection {
            stream,
            peer,
            session,
            place,
            ..
        } = self;
        let (Some(socket), Some(session)) = (stream.splice_socket(), session.pass_through()) else {
            return Ok(Turn::Copy);
        };
        let allowance = session.splice_allowance();
        if allowance == 0 {
            // Not streaming: this read copies (see `PlainSession::splice_allowance`).
            return Ok(Turn::Copy);
        }
        let pipe = match Pipe::take() {
            Ok(pipe) => pipe,
            Err(e) => {
                tracing::debug!("{peer}: no pipe to splice through ({e}); copying this turn");
                return Ok(Turn::Copy);
            }
        };
        let fd = socket.as_raw_fd();
        let read = socket.try_io(Interest::READABLE, &mut || {
            splice(fd, pipe.write.as_raw_fd(), allowance)
        });
        match read {
            Ok(0) => session.end_of_input(),
            Ok(n) => {
                session.receive(now, n);
                let server_stats = place.server_stats();
                if let Some(server_stats) = server_stats {
                    server_stats.peak_unsent_bytes.fetch_max(n, Relaxed);
                }
                let owed = session.owed();
                match socket.try_io(Interest::WRITABLE, &mut || {
                    splice(pipe.read.as_raw_fd(), fd, owed)
                }) {
                    Ok(sent) => {
                        session.sent(sent);
                        if let Some(server_stats) = server_stats {
                            server_stats.spliced(sent);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if refused(&e) => {
                REFUSED.store(true, Relaxed);
                tracing::warn!("splice(2) refused ({e}); the plain echo copies from now on");
                pipe.give_back();
                return Ok(Turn::Copy);
            }
            Err(e) => return Err(e),
        }
        session.advance(now);
        if session.owed() > 0 {
            Ok(Turn::Owed(pipe))
        } else {
            pipe.give_back();
            Ok(Turn::Done)
        }
    }

    /// Writes what `pipe` holds back to the socket, giving up if the client accepts nothing
    /// for `--write-timeout`; aborts the session if the grace period ends meanwhile.
    pub(super) async fn splice_back(&mut self, pipe: Pipe) -> Result<(), Broken> {
        let stall = self.config.write_timeout;
        let Connection {
            stream,
            session,
            shutdown,
            place,
            ..
        } = self;
        let (Some(socket), Some(session)) = (stream.splice_socket(), session.pass_through()) else {
            return Err(Broken::Io(io::ErrorKind::Unsupported.into()));
        };
        let fd = socket.as_raw_fd();
        let mut stalled_at = stall.map(|stall| Instant::now() + stall);
        while session.owed() > 0 {
            let stalled = async {
                match stalled_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = shutdown.abort.cancelled() => {
                    // The pipe is closed with the bytes still in it.
                    session.abort();
                    return Ok(());
                }
                ready = poll_fn(|cx| socket.poll_write_ready(cx)) => ready.map_err(Broken::Io)?,
                () = stalled => {
                    return Err(Broken::WriteStalled(stall.unwrap_or_default()));
                }
            }
            let owed = session.owed();
            match socket.try_io(Interest::WRITABLE, &mut || {
                splice(pipe.read.as_raw_fd(), fd, owed)
            }) {
                Ok(0) => return Err(Broken::Io(io::ErrorKind::WriteZero.into())),
                Ok(sent) => {
                    session.sent(sent);
                    if let Some(server_stats) = place.server_stats() {
                        server_stats.spliced(sent);
                    }
                    stalled_at = stall.map(|stall| Instant::now() + stall);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(Broken::Io(e)),
            }
        }
        pipe.give_back();
        session.advance(Instant::now());
        Ok(())
    }
}
