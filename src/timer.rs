//! Echo deadlines kept to well under a millisecond: a finer sleep than tokio's.
//!
//! tokio's timer wheel ticks every millisecond and rounds each deadline up to the next tick (and
//! its epoll wait counts whole milliseconds), so under load the two timed echoes (original and
//! lower) left several times later than the first, which is written as soon as the shout is read
//! (the README's performance notes have the figures).
//!
//! [`sleep_until`] is the one abstraction. Once the program has turned the fine timer on
//! ([`enable_fine_timer`], which `echoctl serve` does), it waits on the fine
//! timer alone (also keeping a tokio sleep registered made the workers wake for both); otherwise
//! (tests, with tokio's paused clock, never turn it on) or without a timer thread, it is tokio's
//! own sleep, the portable fallback. Either way it ends only once tokio's clock says the deadline
//! has passed, so it is never early. The switch is explicit because a paused clock cannot be told
//! from the real one reliably in the first microseconds of a runtime.
//!
//! The fine timer is one thread for the whole process holding a heap of deadlines, rounded up to
//! a 200 µs grid ([`GRANULARITY`]) so that tasks due together are woken together. It sleeps on a
//! condition variable until the earliest (a futex with a high-resolution timeout on Linux, the
//! thread's timer slack lowered from 50 µs to 1 µs) and wakes the tasks whose deadline came. If
//! the thread cannot be started, everything runs on tokio's timer.
//!
//! The price is CPU, in context switches: the grid lets the server wake up to five times as often
//! as tokio's (the README's performance notes say how much that costs). A timerfd in the
//! runtime's own epoll, which saves the helper thread's wake-up, was tried and was no cheaper.
//!
//! A sleep dropped before its deadline (the connection woke for a read instead) releases its
//! task at once; its heap entry, a few dozen bytes, stays until the deadline passes.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant as StdInstant};

use tokio::time::Instant;

static FINE_TIMER_ENABLED: AtomicBool = AtomicBool::new(false);

/// Lets [`sleep_until`] use the fine timer from now on. For programs on tokio's real clock only.
pub fn enable_fine_timer() {
    FINE_TIMER_ENABLED.store(true, AtomicOrdering::Relaxed);
}

/// Waits until `deadline`, with sub-millisecond precision where the fine timer runs.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        fine: FineSleep {
            deadline,
            slot: None,
        },
        coarse: None,
    }
}

/// The future of [`sleep_until`]. Small, so that a connection waiting on it stays small: tokio's
/// own sleep, several times larger and needed only as the fallback, is boxed when first used.
pub struct Sleep {
    fine: FineSleep,
    coarse: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Sleep {
    /// Moves the deadline, keeping the registration when it is unchanged: a connection re-arms
    /// its one sleep each time round its loop, and a fresh registration every time would leave
    /// an entry per wake-up in the timer's heap until its deadline.
    pub fn reset(&mut self, deadline: Instant) {
        if deadline != self.fine.deadline {
            *self = sleep_until(deadline);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let enabled = FINE_TIMER_ENABLED.load(AtomicOrdering::Relaxed);
        match self.fine.poll_fine(cx, enabled) {
            Fine::Ready => return Poll::Ready(()),
            Fine::Waiting => return Poll::Pending,
            Fine::Unavailable => {}
        }
        let deadline = self.fine.deadline;
        self.coarse
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)))
            .as_mut()
            .poll(cx)
    }
}

/// What the fine timer can do for a sleep.
enum Fine {
    Ready,
    /// Registered: the timer thread will wake the task.
    Waiting,
    /// tokio's sleep must do it: no timer thread, or tokio's clock is not the real one.
    Unavailable,
}

/// The fine half of [`sleep_until`]: registers with the timer thread on its first poll.
struct FineSleep {
    deadline: Instant,
    slot: Option<Arc<Slot>>,
}

/// Where the timer thread finds the task to wake; emptied when the sleep is dropped.
#[derive(Default)]
struct Slot {
    waker: Mutex<Option<Waker>>,
}

impl Slot {
    fn waker(&self) -> MutexGuard<'_, Option<Waker>> {
        // A waker is just data: a panic while holding the lock cannot leave it inconsistent.
        self.waker.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl FineSleep {
    fn poll_fine(&mut self, cx: &mut Context<'_>, enabled: bool) -> Fine {
        if Instant::now() >= self.deadline {
            return Fine::Ready;
        }
        match &self.slot {
            Some(slot) => {
                let mut waker = slot.waker();
                match waker.as_ref() {
                    // Fired, yet tokio's clock is short of the deadline: it is not the real one.
                    None => Fine::Unavailable,
                    Some(w) if w.will_wake(cx.waker()) => Fine::Waiting,
                    Some(_) => {
                        *waker = Some(cx.waker().clone());
                        Fine::Waiting
                    }
                }
            }
            None => {
                let Some(timer) = timer().filter(|_| enabled) else {
                    return Fine::Unavailable;
                };
                let slot = Arc::new(Slot::default());
                *slot.waker() = Some(cx.waker().clone());
                timer.add(timer.round_up(self.deadline.into_std()), slot.clone());
                self.slot = Some(slot);
                Fine::Waiting
            }
        }
    }
}

impl Drop for FineSleep {
    fn drop(&mut self) {
        if let Some(slot) = &self.slot {
            slot.waker().take();
        }
    }
}

struct Entry {
    deadline: StdInstant,
    slot: Arc<Slot>,
}

// Ordered by deadline, earliest first out of the max-heap.
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other.deadline.cmp(&self.deadline)
    }
}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
    }
}
impl Eq for Entry {}

/// Deadlines are rounded up to this grid, so the timer thread wakes at most this often and wakes
/// every task due in the same slot in one go (tokio's grid is 1 ms). Waking the thread for every
/// deadline instead cost far more CPU under load, all in context switches.
pub const GRANULARITY: Duration = Duration::from_micros(200);

struct Timer {
    heap: Mutex<BinaryHeap<Entry>>,
    changed: Condvar,
    /// The origin of the grid.
    origin: StdInstant,
}

/// The process's timer thread, started on first use; `None` if it could not be started.
fn timer() -> Option<&'static Timer> {
    static TIMER: OnceLock<Option<&'static Timer>> = OnceLock::new();
    *TIMER.get_or_init(|| {
        let timer: &'static Timer = Box::leak(Box::new(Timer {
            heap: Mutex::new(BinaryHeap::new()),
            changed: Condvar::new(),
            origin: StdInstant::now(),
        }));
        std::thread::Builder::new()
            .name("echoctl-timer".into())
            .spawn(move || timer.run())
            .ok()
            .map(|_| timer)
    })
}

impl Timer {
    fn heap(&self) -> MutexGuard<'_, BinaryHeap<Entry>> {
        self.heap.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The first point of the grid at or after `deadline`.
    fn round_up(&self, deadline: StdInstant) -> StdInstant {
        let since = deadline.saturating_duration_since(self.origin).as_nanos();
        let grid = GRANULARITY.as_nanos();
        let slots = since.div_ceil(grid);
        u64::try_from(slots * grid)
            .map(|nanos| self.origin + Duration::from_nanos(nanos))
            .unwrap_or(deadline)
    }

    fn add(&self, deadline: StdInstant, slot: Arc<Slot>) {
        let mut heap = self.heap();
        let earliest = heap.peek().is_none_or(|first| deadline < first.deadline);
        heap.push(Entry { deadline, slot });
        drop(heap);
        // Only a new earliest deadline changes how long the thread must sleep.
        if earliest {
            self.changed.notify_one();
        }
    }

    fn run(&self) {
        #[cfg(target_os = "linux")]
        // SAFETY: PR_SET_TIMERSLACK takes a plain integer and affects only this thread.
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        }
        let mut due: Vec<Arc<Slot>> = Vec::new();
        let mut heap = self.heap();
        loop {
            let now = StdInstant::now();
            while heap.peek().is_some_and(|first| first.deadline <= now) {
                if let Some(entry) = heap.pop() {
                    due.push(entry.slot);
                }
            }
            if !due.is_empty() {
                // Wake outside the lock, so sleeps can register meanwhile.
                drop(heap);
                for slot in due.drain(..) {
                    let waker = slot.waker().take();
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                }
                heap = self.heap();
                continue;
            }
            heap = match heap.peek().map(|first| first.deadline - now) {
                Some(wait) => {
                    self.changed
                        .wait_timeout(heap, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.changed.wait(heap).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, AtomicOrdering::SeqCst);
        }
    }

    #[tokio::test]
    async fn never_ends_before_the_deadline() {
        for ms in [0, 1, 3, 15] {
            let deadline = Instant::now() + Duration::from_millis(ms);
            sleep_until(deadline).await;
            assert!(Instant::now() >= deadline);
        }
    }

    // On tokio's paused clock: with real time a stall of the runtime longer than the 10 ms
    // between deadlines would let the tasks finish in the order they were spawned.
    #[tokio::test(start_paused = true)]
    async fn concurrent_sleeps_end_in_deadline_order() {
        let start = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in [5u64, 1, 4, 2, 3] {
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                sleep_until(start + Duration::from_millis(10 * i)).await;
                order.lock().unwrap().push(i);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [1, 2, 3, 4, 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_paused_clock_is_followed_through_the_fallback() {
        // An hour of virtual time passes at once; the real clock never gets there. Were the fine
        // timer waited on instead, nothing would wake the sleep until the timeout's two hours.
        let deadline = Instant::now() + Duration::from_secs(3600);
        let _ = tokio::time::timeout(Duration::from_secs(7200), sleep_until(deadline)).await;
        assert_eq!(Instant::now(), deadline);
    }

    #[test]
    fn resetting_to_the_same_deadline_keeps_the_registration() {
        let waker = Waker::from(Arc::new(CountWakes(AtomicUsize::new(0))));
        let mut cx = Context::from_waker(&waker);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut sleep = sleep_until(deadline);
        assert!(matches!(sleep.fine.poll_fine(&mut cx, true), Fine::Waiting));
        let registered = sleep.fine.slot.clone().expect("registered");
        sleep.reset(deadline);
        let kept = sleep.fine.slot.as_ref().expect("still registered");
        assert!(Arc::ptr_eq(kept, &registered), "no second heap entry");
        sleep.reset(deadline + Duration::from_secs(1));
        assert!(sleep.fine.slot.is_none(), "a new deadline registers anew");
        assert!(
            registered.waker().is_none(),
            "and the old entry wakes nobody"
        );
    }

    #[test]
    fn deadlines_round_up_to_the_grid_never_down() {
        let timer = timer().expect("the timer thread starts");
        let base = timer.origin + Duration::from_secs(1);
        assert_eq!(timer.round_up(base), base, "on the grid already");
        assert_eq!(
            timer.round_up(base + Duration::from_nanos(1)),
            base + GRANULARITY
        );
        assert_eq!(
            timer.round_up(base + GRANULARITY - Duration::from_nanos(1)),
            base + GRANULARITY
        );
        assert_eq!(timer.round_up(timer.origin), timer.origin);
    }

    #[test]
    fn the_fine_timer_wakes_its_task_and_a_dropped_sleep_wakes_nobody() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let counted = || {
            let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
            (wakes.clone(), Waker::from(wakes))
        };
        let (kept_wakes, kept_waker) = counted();
        let (dropped_wakes, dropped_waker) = counted();
        // The dropped sleep is due first: the timer thread takes its entry before the kept one's,
        // so once the kept sleep has been woken, the dropped one had its chance to be.
        let now = Instant::now();
        let mut dropped = FineSleep {
            deadline: now + Duration::from_millis(100),
            slot: None,
        };
        let mut kept = FineSleep {
            deadline: now + Duration::from_millis(300),
            slot: None,
        };
        let waiting = |sleep: &mut FineSleep, waker: &Waker| {
            matches!(
                sleep.poll_fine(&mut Context::from_waker(waker), true),
                Fine::Waiting
            )
        };
        assert!(waiting(&mut dropped, &dropped_waker));
        assert!(waiting(&mut kept, &kept_waker));
        drop(dropped);
        let give_up = StdInstant::now() + Duration::from_secs(10);
        while kept_wakes.0.load(AtomicOrdering::SeqCst) == 0 && StdInstant::now() < give_up {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(kept_wakes.0.load(AtomicOrdering::SeqCst), 1, "kept: woken");
        assert_eq!(
            dropped_wakes.0.load(AtomicOrdering::SeqCst),
            0,
            "dropped: not"
        );
        assert!(matches!(
            kept.poll_fine(&mut Context::from_waker(&kept_waker), true),
            Fine::Ready
        ));
    }
}
