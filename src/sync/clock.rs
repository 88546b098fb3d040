//! The engine's time: its timers (`sleep`, `timeout`: a request's timeout,
//! a client request's, the handshake's, the shutdown grace) and its wall
//! clock (`now_ms`: a task's expiry, a `requestState`'s).
//!
//! Ordinary builds: tokio's timers and the system clock (or a simulation's,
//! set with [`set_wall_clock`]). Under shuttle:
//! a model clock, one per test thread (shuttle runs a test's tasks on the
//! thread that checks it). It starts at a fixed instant and moves only
//! when a scenario calls [`advance_model_clock`]; a timer ends once the
//! clock reaches its deadline, so deadlines pass in their order, at the
//! step the scenario chooses, and a schedule replays. shuttle-tokio keeps
//! no clock of its own (its `sleep` ends at the next step, which would pass
//! every deadline at once).

#[cfg(not(shuttle))]
pub(crate) use tokio::time::{sleep, timeout};

/// A wall clock read in place of the system's wherever it answers: the
/// milliseconds since the Unix epoch, or `None` where it has no time (for
/// a simulation's clock, outside the simulation).
#[cfg(not(shuttle))]
pub type WallClock = fn() -> Option<u64>;

#[cfg(not(shuttle))]
static WALL_CLOCK: std::sync::OnceLock<WallClock> = std::sync::OnceLock::new();

/// Makes `clock` the wall clock the engine reads (a task's expiry and its
/// lease in a task store, a stored record's expiry in `MemoryStore`, a
/// `requestState`'s age) wherever it answers; the system's elsewhere. For
/// a simulation whose time is not the system's (turmoil's), so that what
/// lapses by the wall clock lapses in simulated time. Once per process:
/// false, and the first clock kept, if one was set before.
#[cfg(not(shuttle))]
pub fn set_wall_clock(clock: WallClock) -> bool {
    WALL_CLOCK.set(clock).is_ok()
}

/// Milliseconds since the Unix epoch: the clock set by [`set_wall_clock`]
/// where it answers, else the system's.
#[cfg(not(shuttle))]
pub(crate) fn now_ms() -> u64 {
    if let Some(ms) = WALL_CLOCK.get().and_then(|clock| clock()) {
        return ms;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(shuttle)]
pub use model::{advance_model_clock, reset_model_clock};
#[cfg(shuttle)]
pub(crate) use model::{now_ms, sleep, timeout};

#[cfg(shuttle)]
mod model {
    use std::cell::{Cell, RefCell};
    use std::future::Future;
    use std::task::{Poll, Waker};
    use std::time::Duration;

    /// 2026-07-28T00:00:00Z, where the model's clock starts.
    const MODEL_EPOCH_MS: u64 = 1_785_196_800_000;

    std::thread_local! {
        /// The model's clock, in ms since the epoch.
        static CLOCK_MS: Cell<u64> = const { Cell::new(MODEL_EPOCH_MS) };
        /// The tasks whose timers wait for the clock (woken when it moves).
        static SLEEPERS: RefCell<Vec<Waker>> = const { RefCell::new(Vec::new()) };
    }

    pub(crate) fn now_ms() -> u64 {
        CLOCK_MS.with(Cell::get)
    }

    /// Puts the clock back at its start and forgets its sleepers (a
    /// scenario's first step: the thread's clock outlives a schedule).
    pub fn reset_model_clock() {
        CLOCK_MS.with(|clock| clock.set(MODEL_EPOCH_MS));
        SLEEPERS.with(|sleepers| sleepers.borrow_mut().clear());
    }

    /// Moves the clock on by `ms` and wakes every timer, so that those
    /// whose deadline has come end.
    pub fn advance_model_clock(ms: u64) {
        CLOCK_MS.with(|clock| clock.set(clock.get().saturating_add(ms)));
        let woken = SLEEPERS.with(|sleepers| std::mem::take(&mut *sleepers.borrow_mut()));
        woken.into_iter().for_each(Waker::wake);
    }

    /// Ends once the model's clock has moved `duration` on from the call
    /// (rounded up to a whole ms): the deadline is set here, as tokio's
    /// `sleep` sets it when made, not at the first poll. Polled again once
    /// done, it is done again.
    pub(crate) fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + Sync + 'static {
        let ms = duration.as_nanos().div_ceil(1_000_000);
        let deadline = now_ms().saturating_add(u64::try_from(ms).unwrap_or(u64::MAX));
        std::future::poll_fn(move |cx| {
            if now_ms() >= deadline {
                return Poll::Ready(());
            }
            SLEEPERS.with(|sleepers| {
                let mut sleepers = sleepers.borrow_mut();
                if !sleepers.iter().any(|w| w.will_wake(cx.waker())) {
                    sleepers.push(cx.waker().clone());
                }
            });
            Poll::Pending
        })
    }

    /// The deadline passed first.
    #[derive(Debug)]
    pub(crate) struct Elapsed;

    /// `future`'s output, unless the model's clock moves `duration` on
    /// from the call first.
    pub(crate) fn timeout<F: Future>(
        duration: Duration,
        future: F,
    ) -> impl Future<Output = Result<F::Output, Elapsed>> {
        let deadline = sleep(duration);
        async move {
            tokio::select! {
                biased;
                output = future => Ok(output),
                () = deadline => Err(Elapsed),
            }
        }
    }
}
