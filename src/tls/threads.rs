//! Handshakes on threads of their own, below the echoes in the scheduler's eyes.
//!
//! A handshake is a burst of public-key cryptography (a key exchange and a signature, or its
//! check), tens of times the CPU of an echo. Made on the runtime's workers, a burst of new
//! connections queues ahead of the echoes already due and makes them late; made here, on threads
//! the kernel runs only when the workers leave a core free, it waits instead, and the sessions
//! already open keep their time. The sockets stay registered with the caller's runtime, which
//! wakes these threads when they are ready.

use std::io;
use std::time::Duration;

use tokio::runtime::{Builder, Runtime};
use tokio_util::task::AbortOnDropHandle;

use super::TlsStream;
use super::handshake::HandshakeError;
use crate::transport::Transport;

/// How much lower than the runtime's workers the handshake threads run (`nice(1)`'s scale: 19 is
/// the lowest). At 10 the kernel gives a busy worker about ten times a handshake thread's share
/// of a contended core.
const NICENESS: libc::c_int = 10;

/// The threads every handshake of a server's or a client's TLS is made on: as many as the
/// machine has cores, so handshakes alone can still use all of them.
pub(crate) struct HandshakeThreads {
    /// `None` under tokio's paused clock (tests), where handshakes are made inline: a paused
    /// clock jumps to its next timer whenever its runtime is idle, so it would pass a handshake's
    /// time limit while the handshake is being made on other threads.
    runtime: Option<Runtime>,
}

impl std::fmt::Debug for HandshakeThreads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandshakeThreads").finish_non_exhaustive()
    }
}

impl HandshakeThreads {
    pub(crate) fn start() -> io::Result<HandshakeThreads> {
        if crate::timer::clock_is_paused() {
            return Ok(HandshakeThreads { runtime: None });
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let runtime = Builder::new_multi_thread()
            .worker_threads(cores)
            .thread_name("tls-handshake")
            .on_thread_start(lower_priority)
            .enable_all()
            .build()?;
        Ok(HandshakeThreads {
            runtime: Some(runtime),
        })
    }

    /// Makes `stream`'s handshake on these threads, within `limit`. A handshake that failed
    /// gives the stream back with its error, except one abandoned (timed out): its socket is
    /// closed. Dropping the future (the server shutting down) abandons the handshake too.
    pub(crate) async fn handshake<S>(
        &self,
        mut stream: TlsStream<S>,
        limit: Option<Duration>,
    ) -> Result<TlsStream<S>, Failed<S>>
    where
        S: Transport + Send + 'static,
    {
        let handshake = async move {
            let made = stream.handshake().await;
            (stream, made)
        };
        let made = async {
            match &self.runtime {
                Some(runtime) => AbortOnDropHandle::new(runtime.spawn(handshake)).await,
                None => Ok(handshake.await),
            }
        };
        let joined = match limit {
            Some(limit) => tokio::time::timeout(limit, made)
                .await
                .map_err(|_| (HandshakeError::TimedOut(limit), None))?,
            None => made.await,
        };
        match joined {
            Ok((stream, Ok(()))) => Ok(stream),
            Ok((stream, Err(e))) => Err((e, Some(stream))),
            // The threads stopped under it: only when the server or client is going away.
            Err(_) => Err((
                HandshakeError::Io(io::Error::other("the TLS handshake threads have stopped")),
                None,
            )),
        }
    }
}

/// Why a handshake failed, and its stream when the handshake was not abandoned.
pub(crate) type Failed<S> = (HandshakeError, Option<TlsStream<S>>);

impl Drop for HandshakeThreads {
    fn drop(&mut self) {
        // Dropped from inside the caller's runtime, where waiting for threads is not allowed.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Lowers the calling thread's priority. On Linux a nice value is a thread's own; elsewhere it is
/// the process's, so the threads keep the workers' priority there.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority take no pointers; a failure leaves the priority as it was,
    // which costs only the benefit.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, NICENESS);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};

    use tokio::io::AsyncWrite;
    use tokio::net::UnixStream;

    use super::*;
    use crate::tls::{ClientTls, ClientTlsOptions, ServerTls, Trust};

    /// Where a read was made: the thread's name and its nice value.
    type Seen = Arc<Mutex<Vec<(Option<String>, libc::c_int)>>>;

    /// A socket that notes the thread each of its reads is made on.
    struct Noting {
        socket: UnixStream,
        seen: Seen,
    }

    impl Transport for Noting {
        fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.socket.poll_read_ready(cx)
        }
        fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
            let thread = std::thread::current().name().map(String::from);
            // SAFETY: no pointers; -1 is a nice value too, so errno is cleared and not checked:
            // a failure shows as a wrong value and fails the test.
            let nice =
                unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) };
            self.seen.lock().unwrap().push((thread, nice));
            self.socket.try_read(buf)
        }
        fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
            self.socket.try_write(buf)
        }
        fn set_zero_linger(&self) -> io::Result<()> {
            Ok(())
        }
        async fn peer_gone(&self) -> io::Result<()> {
            std::future::pending().await
        }
    }

    impl AsyncWrite for Noting {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.socket).poll_write(cx, buf)
        }
        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.socket).poll_flush(cx)
        }
        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.socket).poll_shutdown(cx)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_handshake_is_made_on_the_handshake_threads_below_the_workers() {
        let (near, far) = UnixStream::pair().unwrap();
        let addr = "unix:/nowhere".parse().unwrap();
        let server_tls = ServerTls::new(&Default::default(), &addr).unwrap();
        let seen = Seen::default();
        let server = server_tls
            .session_over(Noting {
                socket: near,
                seen: seen.clone(),
            })
            .unwrap();
        let client = ClientTls::new(
            &ClientTlsOptions {
                trust: Trust::Pinned(server_tls.fingerprint()),
                ..ClientTlsOptions::default()
            },
            &addr,
        )
        .unwrap();
        let threads = HandshakeThreads::start().unwrap();
        let limit = Some(Duration::from_secs(20));
        let (server, client) =
            tokio::join!(threads.handshake(server, limit), client.connect(far, limit));
        assert!(server.is_ok() && client.is_ok(), "the handshake is made");
        let seen = seen.lock().unwrap();
        assert!(!seen.is_empty(), "the handshake read the client's hello");
        for (thread, nice) in seen.iter() {
            assert_eq!(thread.as_deref(), Some("tls-handshake"));
            assert_eq!(*nice, NICENESS, "on a thread below the workers");
        }
    }
}
