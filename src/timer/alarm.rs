//! The timerfd: one alarm, set to an absolute instant of the monotonic clock.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;

/// Sets the alarm; shared by whoever registers a deadline and the timer task.
pub(super) struct Alarm {
    fd: Arc<OwnedFd>,
    /// An instant and the same moment on `CLOCK_MONOTONIC` (the clock `Instant` reads on
    /// Linux), which has no public conversion, so that deadlines map to the alarm's clock.
    origin: Instant,
    origin_on_clock: Duration,
}

/// The timer task's side: the timerfd in the runtime's epoll.
pub(super) struct Ringing {
    fd: AsyncFd<Arc<OwnedFd>>,
}

impl Alarm {
    pub(super) fn new() -> io::Result<(Alarm, Ringing)> {
        // SAFETY: plain flags; the result is checked before use.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = Arc::new(unsafe { OwnedFd::from_raw_fd(raw) });
        let origin = Instant::now();
        // Read after `origin`: a deadline then maps to no earlier a point of the clock than
        // its own, so the alarm is never early (at most the few nanoseconds between late).
        let origin_on_clock = monotonic_now()?;
        // SAFETY: the Arc keeps the descriptor open, unchanged, for as long as any clone,
        // this one included, lives.
        let registered =
            unsafe { AsyncFd::register_with_interest(fd.clone(), tokio::io::Interest::READABLE) };
        let ringing = Ringing {
            fd: registered.map_err(io::Error::from)?,
        };
        Ok((
            Alarm {
                fd,
                origin,
                origin_on_clock,
            },
            ringing,
        ))
    }

    /// Rings at `at`, or never for `None`.
    pub(super) fn set(&self, at: Option<Instant>) {
        let value = match at {
            Some(at) => {
                let on_clock = self.origin_on_clock + at.saturating_duration_since(self.origin);
                libc::timespec {
                    tv_sec: on_clock.as_secs() as libc::time_t,
                    // Never zero: a zero time disarms the timer. 1 ns is long past.
                    tv_nsec: on_clock.subsec_nanos().max(1) as libc::c_long,
                }
            }
            None => libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        // SAFETY: a valid descriptor and a valid itimerspec; the old value is not asked for.
        // It cannot fail for a valid timerfd and a normalized time.
        unsafe {
            libc::timerfd_settime(
                self.fd.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            );
        }
    }
}

impl Ringing {
    /// Waits until the alarm rings, and silences it.
    pub(super) async fn rung(&self) -> io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            let read = guard.try_io(|fd| {
                let mut expirations = [0u8; 8];
                // SAFETY: reads 8 bytes into an 8-byte buffer from a valid descriptor.
                let n = unsafe {
                    libc::read(fd.get_ref().as_raw_fd(), expirations.as_mut_ptr().cast(), 8)
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            });
            match read {
                Ok(result) => return result,
                // Not rung after all (re-armed meanwhile): readiness cleared, wait again.
                Err(_would_block) => continue,
            }
        }
    }
}

fn monotonic_now() -> io::Result<Duration> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes one timespec.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
}
