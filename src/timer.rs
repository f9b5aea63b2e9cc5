//! Echo deadlines kept to well under a millisecond: a finer sleep than tokio's.
//!
//! tokio's timer wheel ticks every millisecond and rounds each deadline up to the next tick (and
//! its epoll wait counts whole milliseconds), so under load the two timed echoes (original and
//! lower) would leave well after their time, and after the first, which is written as soon as
//! the shout is read (docs/performance.md has the figures).
//!
//! A [`Timer`] is the one abstraction: started with the runtime that serves ([`Timer::start`])
//! and handed to the server, so that `echoctl serve`, the demo and the tests all sleep on the
//! same timer. Its sleeps ([`Timer::sleep_until`]) wait on the fine timer alone where it runs
//! (also keeping a tokio sleep registered would make the workers wake for both), and on tokio's
//! own sleep, the portable fallback, where it does not. Either way a sleep ends only once
//! tokio's clock says the deadline has passed, so it is never early. Timeouts where a millisecond
//! does not matter (a write stall, the linger, the grace period, the accept backoff) stay on
//! tokio's timer, which forgets a dropped sleep at once.
//!
//! The fine timer (Linux) is one `timerfd` on the monotonic clock, registered in the runtime's
//! own epoll (tokio's [`AsyncFd`](tokio::io::unix::AsyncFd)), and one task of the runtime that
//! owns it, holding a heap of exact deadlines. The timerfd is always set to the earliest
//! deadline, to the nanosecond, by whoever makes it the earliest; when it expires, the worker
//! already waiting in epoll runs the timer task, which wakes every sleep that is due. No thread
//! of its own has to be woken first and then wake a worker in turn, which would cost a context
//! switch per wake-up. Elsewhere, or if the timerfd cannot be made, everything runs on tokio's
//! timer.
//!
//! A sleep dropped before its deadline (the connection woke for a read instead) releases its
//! task at once; its heap entry, a few dozen bytes, stays until the deadline passes.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant as StdInstant;

use tokio::time::Instant;

/// The timer a server's sleeps wait on: the fine timer where it runs, else tokio's. Cheap to
/// clone: the clones share one timer.
#[derive(Clone)]
pub struct Timer {
    /// `None`: tokio's timer.
    wheel: Option<Arc<Wheel>>,
}

impl Timer {
    /// Starts the fine timer on the current runtime (its task is spawned there, its timerfd
    /// waits in that runtime's epoll), or falls back to tokio's timer where it cannot run.
    ///
    /// Under tokio's paused clock it is tokio's timer: a timerfd follows the real clock, and a
    /// paused clock moves only by jumping to tokio's own next timer, so a fine sleep would end
    /// in real time, never at its virtual deadline. (Pause the clock before starting it.)
    pub fn start() -> Timer {
        if clock_is_paused() {
            return Timer::tokio();
        }
        Timer {
            wheel: Wheel::start().ok(),
        }
    }

    /// tokio's own timer.
    fn tokio() -> Timer {
        Timer { wheel: None }
    }

    /// Whether its sleeps wait on the fine timer.
    #[cfg(test)]
    pub(crate) fn is_fine(&self) -> bool {
        self.wheel.is_some()
    }

    /// Waits until `deadline`, with sub-millisecond precision where the fine timer runs.
    pub(crate) fn sleep_until(&self, deadline: Instant) -> Sleep {
        Sleep {
            fine: FineSleep {
                deadline,
                slot: None,
            },
            coarse: None,
            timer: self.clone(),
        }
    }

    fn wheel(&self) -> Option<&Wheel> {
        self.wheel.as_deref()
    }
}

/// Whether tokio's clock is paused: it then stands still while the real one moves on, which it
/// does within nanoseconds (the two read the same clock otherwise).
fn clock_is_paused() -> bool {
    let on_tokio = Instant::now();
    let on_real = StdInstant::now();
    while StdInstant::now() == on_real {}
    Instant::now() == on_tokio
}

/// The future of [`Timer::sleep_until`]. Small, so that a connection waiting on it stays small:
/// tokio's own sleep, several times larger and needed only as the fallback, is boxed when first
/// used.
pub(crate) struct Sleep {
    fine: FineSleep,
    coarse: Option<Pin<Box<tokio::time::Sleep>>>,
    timer: Timer,
}

impl Sleep {
    /// Moves the deadline, keeping the registration when it is unchanged: a connection re-arms
    /// its one sleep each time round its loop, and a fresh registration every time would leave
    /// an entry per wake-up in the timer's heap until its deadline.
    pub(crate) fn reset(&mut self, deadline: Instant) {
        if deadline != self.fine.deadline {
            self.fine = FineSleep {
                deadline,
                slot: None,
            };
            self.coarse = None;
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Sleep { fine, timer, .. } = &mut *self;
        match fine.poll_fine(cx, timer.wheel()) {
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
    /// Registered: the timer task will wake the task.
    Waiting,
    /// tokio's sleep must do it: no fine timer, or tokio's clock is not the real one.
    Unavailable,
}

/// The fine half of [`sleep_until`]: registers with the timer on its first poll.
struct FineSleep {
    deadline: Instant,
    slot: Option<Arc<Slot>>,
}

/// Where the timer finds the task to wake; emptied when the sleep is dropped.
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
    fn poll_fine(&mut self, cx: &mut Context<'_>, wheel: Option<&Wheel>) -> Fine {
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
                let Some(wheel) = wheel else {
                    return Fine::Unavailable;
                };
                let slot = Arc::new(Slot::default());
                *slot.waker() = Some(cx.waker().clone());
                if !wheel.add(self.deadline.into_std(), slot.clone()) {
                    return Fine::Unavailable;
                }
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

/// The fine timer: the deadlines, and the timerfd set to the earliest of them.
struct Wheel {
    heap: Mutex<Heap>,
    alarm: alarm::Alarm,
}

#[derive(Default)]
struct Heap {
    entries: BinaryHeap<Entry>,
    /// The timer task has stopped: nothing registers any more.
    stopped: bool,
}

impl Wheel {
    /// Makes the timerfd and spawns the task that answers it, on the current runtime. The task
    /// ends once the wheel is dropped (see `Drop`).
    fn start() -> std::io::Result<Arc<Wheel>> {
        let (alarm, ringing) = alarm::Alarm::new()?;
        let wheel = Arc::new(Wheel {
            heap: Mutex::default(),
            alarm,
        });
        let weak = Arc::downgrade(&wheel);
        tokio::spawn(async move {
            let mut due = Vec::new();
            loop {
                let rung = ringing.rung().await;
                let Some(wheel) = weak.upgrade() else {
                    return;
                };
                if let Err(e) = rung {
                    // Cannot happen short of a broken runtime. Were it to, every sleep waiting
                    // is woken early, which sends it to tokio's timer, and new ones go there.
                    tracing::error!("the fine timer failed ({e}); using tokio's timer");
                    wheel.stop(&mut due);
                    return;
                }
                wheel.fire(StdInstant::now(), &mut due);
            }
        });
        Ok(wheel)
    }

    fn heap(&self) -> MutexGuard<'_, Heap> {
        self.heap.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `slot` to be woken at `deadline`; `false` if the timer has stopped.
    fn add(&self, deadline: StdInstant, slot: Arc<Slot>) -> bool {
        let mut heap = self.heap();
        if heap.stopped {
            return false;
        }
        let earliest = heap
            .entries
            .peek()
            .is_none_or(|first| deadline < first.deadline);
        heap.entries.push(Entry { deadline, slot });
        // Only a new earliest deadline moves the alarm; set under the lock, so that the timer
        // task, re-arming for the heap's earliest as it fires, never sets an older one after it.
        if earliest {
            self.alarm.set(Some(deadline));
        }
        true
    }

    /// Wakes every sleep due at `now` (`due` is the task's own list, kept to save allocations)
    /// and sets the alarm for the next.
    fn fire(&self, now: StdInstant, due: &mut Vec<Arc<Slot>>) {
        let mut heap = self.heap();
        while heap
            .entries
            .peek()
            .is_some_and(|first| first.deadline <= now)
        {
            if let Some(entry) = heap.entries.pop() {
                due.push(entry.slot);
            }
        }
        self.alarm
            .set(heap.entries.peek().map(|first| first.deadline));
        drop(heap);
        Wheel::wake(due);
    }

    /// Stops taking deadlines and wakes every sleep still waiting.
    fn stop(&self, due: &mut Vec<Arc<Slot>>) {
        let mut heap = self.heap();
        heap.stopped = true;
        due.extend(
            std::mem::take(&mut heap.entries)
                .into_iter()
                .map(|e| e.slot),
        );
        drop(heap);
        Wheel::wake(due);
    }

    /// Wakes the tasks of `due`, outside the heap's lock so sleeps can register meanwhile.
    fn wake(due: &mut Vec<Arc<Slot>>) {
        for slot in due.drain(..) {
            let waker = slot.waker().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

/// The last handle and the last sleep are gone: the alarm rings at once, so that the timer task
/// finds the wheel gone and ends, closing the timerfd.
impl Drop for Wheel {
    fn drop(&mut self) {
        self.alarm.set(Some(StdInstant::now()));
    }
}

/// The timerfd: one alarm, set to an absolute instant of the monotonic clock.
#[cfg(target_os = "linux")]
mod alarm;

/// No timerfd: the fine timer cannot start, and sleeps are tokio's.
#[cfg(not(target_os = "linux"))]
mod alarm {
    use std::io;
    use std::time::Instant;

    pub struct Alarm;
    pub struct Ringing;

    impl Alarm {
        pub fn new() -> io::Result<(Alarm, Ringing)> {
            Err(io::ErrorKind::Unsupported.into())
        }
        pub fn set(&self, _: Option<Instant>) {}
    }

    impl Ringing {
        pub async fn rung(&self) -> io::Result<()> {
            std::future::pending().await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
    use std::task::Wake;
    use std::time::Duration;

    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, AtomicOrdering::SeqCst);
        }
    }

    #[tokio::test]
    async fn never_ends_before_the_deadline() {
        for timer in [fine_timer(), Timer::tokio()] {
            for ms in [0, 1, 3, 15] {
                let deadline = Instant::now() + Duration::from_millis(ms);
                timer.sleep_until(deadline).await;
                assert!(Instant::now() >= deadline);
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn under_a_paused_clock_the_timer_is_tokios() {
        assert!(!Timer::start().is_fine());
    }

    // On tokio's paused clock: with real time a stall of the runtime longer than the 10 ms
    // between deadlines would let the tasks finish in the order they were spawned.
    #[tokio::test(start_paused = true)]
    async fn concurrent_sleeps_end_in_deadline_order() {
        let timer = Timer::start();
        let start = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in [5u64, 1, 4, 2, 3] {
            let (order, timer) = (order.clone(), timer.clone());
            tasks.push(tokio::spawn(async move {
                timer
                    .sleep_until(start + Duration::from_millis(10 * i))
                    .await;
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
        let sleep = Timer::start().sleep_until(deadline);
        let _ = tokio::time::timeout(Duration::from_secs(7200), sleep).await;
        assert_eq!(Instant::now(), deadline);
    }

    /// The fine timer, started on the test's runtime.
    fn fine_timer() -> Timer {
        let timer = Timer::start();
        assert!(timer.is_fine(), "a timerfd");
        timer
    }

    /// Sleeps on `timer` until `deadline`, failing the test if it would fall back.
    async fn sleep_on(timer: &Timer, deadline: Instant) {
        let mut sleep = timer.sleep_until(deadline).fine;
        std::future::poll_fn(|cx| match sleep.poll_fine(cx, timer.wheel()) {
            Fine::Ready => Poll::Ready(()),
            Fine::Waiting => Poll::Pending,
            Fine::Unavailable => panic!("the fine timer gave up"),
        })
        .await
    }

    #[tokio::test]
    async fn resetting_to_the_same_deadline_keeps_the_registration() {
        let timer = fine_timer();
        let waker = Waker::from(Arc::new(CountWakes(AtomicUsize::new(0))));
        let mut cx = Context::from_waker(&waker);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut sleep = timer.sleep_until(deadline);
        assert!(matches!(
            sleep.fine.poll_fine(&mut cx, timer.wheel()),
            Fine::Waiting
        ));
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

    // On the real clock, which the fine timer follows. Only that each sleep ends, and not before
    // its deadline, is checked: the order in which woken tasks then run is the scheduler's.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fine_sleeps_all_end_and_never_early() {
        let timer = fine_timer();
        let start = Instant::now() + Duration::from_millis(20);
        let mut tasks = Vec::new();
        for i in [5u64, 1, 4, 2, 3] {
            let timer = timer.clone();
            tasks.push(tokio::spawn(async move {
                let deadline = start + Duration::from_millis(50 * i);
                sleep_on(&timer, deadline).await;
                assert!(Instant::now() >= deadline, "woken early");
            }));
        }
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("every sleep is woken")
                .unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn the_fine_timer_wakes_its_task_and_a_dropped_sleep_wakes_nobody() {
        let timer = fine_timer();
        let counted = || {
            let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
            (wakes.clone(), Waker::from(wakes))
        };
        let (kept_wakes, kept_waker) = counted();
        let (dropped_wakes, dropped_waker) = counted();
        // The dropped sleep is due first: the timer takes its entry before the kept one's, so
        // once the kept sleep has been woken, the dropped one had its chance to be.
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
                sleep.poll_fine(&mut Context::from_waker(waker), timer.wheel()),
                Fine::Waiting
            )
        };
        assert!(waiting(&mut dropped, &dropped_waker));
        assert!(waiting(&mut kept, &kept_waker));
        drop(dropped);
        let give_up = Instant::now() + Duration::from_secs(10);
        while kept_wakes.0.load(AtomicOrdering::SeqCst) == 0 && Instant::now() < give_up {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(kept_wakes.0.load(AtomicOrdering::SeqCst), 1, "kept: woken");
        assert_eq!(
            dropped_wakes.0.load(AtomicOrdering::SeqCst),
            0,
            "dropped: not"
        );
        assert!(matches!(
            kept.poll_fine(&mut Context::from_waker(&kept_waker), timer.wheel()),
            Fine::Ready
        ));
    }

    #[tokio::test]
    async fn the_timer_task_ends_with_the_last_handle() {
        let metrics = tokio::runtime::Handle::current().metrics();
        let before = metrics.num_alive_tasks();
        let timer = fine_timer();
        let sleep = timer.sleep_until(Instant::now() + Duration::from_secs(3600));
        assert_eq!(metrics.num_alive_tasks(), before + 1, "the timer task");
        drop(timer);
        assert_eq!(
            metrics.num_alive_tasks(),
            before + 1,
            "a sleep holds it too"
        );
        drop(sleep);
        tokio::time::timeout(Duration::from_secs(10), async {
            while metrics.num_alive_tasks() > before {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("the timer task ends");
    }

    #[tokio::test]
    async fn a_stopped_timer_hands_its_sleeps_to_tokio() {
        let timer = fine_timer();
        let (wakes, waker) = {
            let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
            (wakes.clone(), Waker::from(wakes))
        };
        let mut waiting = timer
            .sleep_until(Instant::now() + Duration::from_secs(3600))
            .fine;
        let mut cx = Context::from_waker(&waker);
        assert!(matches!(
            waiting.poll_fine(&mut cx, timer.wheel()),
            Fine::Waiting
        ));
        timer.wheel().expect("fine").stop(&mut Vec::new());
        assert_eq!(wakes.0.load(AtomicOrdering::SeqCst), 1, "woken at once");
        assert!(matches!(
            waiting.poll_fine(&mut cx, timer.wheel()),
            Fine::Unavailable
        ));
        let mut fresh = timer
            .sleep_until(Instant::now() + Duration::from_secs(3600))
            .fine;
        assert!(matches!(
            fresh.poll_fine(&mut cx, timer.wheel()),
            Fine::Unavailable
        ));
    }
}
