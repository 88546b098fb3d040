//! The sync shim: the only module that names `std::sync`, `tokio::sync`,
//! `tokio_util`'s primitives, loom or shuttle.
//!
//! Three modes, chosen with `--cfg` (never a cargo feature: features merge
//! across a build):
//!
//! - ordinary builds re-export the standard library, tokio and tokio-util, so
//!   production runs on their primitives;
//! - `--cfg loom` and `--cfg shuttle` substitute the small models in
//!   [`model`](self), written on the checker's own `Mutex`, atomics and the
//!   standard `Waker`, so that the checker can interleave *inside* them. A
//!   tokio primitive would be one opaque step to the checker, and a lost
//!   wake-up inside it would never be found.
//!
//! The core (`crate::core`) is written against exactly this subset:
//!
//! - [`Mutex`]: `lock()` returns the guard directly (a poisoned lock is
//!   recovered: every critical section here leaves the data consistent). The
//!   guard is `!Send`, so holding it across an `.await` in a spawned task does
//!   not compile.
//! - `Semaphore`: `new`, `try_acquire_owned`, `available_permits`.
//! - [`CancellationToken`]: `new`, `child_token`, `cancel`, `is_cancelled`,
//!   `cancelled().await`.
//! - `mpsc`: bounded `channel`, `Sender::{try_send, send, capacity,
//!   max_capacity}`, `Receiver::{recv, try_recv, close}`.
//! - `TaskTracker`: `token`, `close`, `wait().await`.
//!
//! Above the core, `AsyncMutex` (tokio's, or shuttle-tokio's) serializes
//! work that waits while it holds the lock (a session's store saves).
//!
//! Under `--cfg shuttle` the engine above the core (the server and the line
//! transport) is built too, on shuttle-tokio (`tokio` names it then). For
//! it the shim also picks the engine's time (`clock`: timers and wall clock),
//! the source of random ids (`random_fill`) and the hasher of maps whose
//! keys a client chooses (`RandomState`), so that a schedule replays.

#[cfg(all(loom, shuttle))]
compile_error!("choose one model checker: --cfg loom or --cfg shuttle, not both");

#[cfg(not(any(loom, shuttle)))]
mod imp {
    pub(crate) use std::sync::Arc;
    pub(crate) use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
    pub(crate) type RawMutex<T> = std::sync::Mutex<T>;
    pub(crate) type RawGuard<'a, T> = std::sync::MutexGuard<'a, T>;

    pub(crate) use tokio::sync::{
        Mutex as AsyncMutex, Notify, OwnedSemaphorePermit, Semaphore, mpsc, oneshot,
    };
    pub use tokio_util::sync::CancellationToken;
    pub(crate) use tokio_util::task::{TaskTracker, task_tracker::TaskTrackerToken};

    pub(crate) fn random_fill(bytes: &mut [u8]) {
        getrandom::fill(bytes).expect("the operating system's random generator");
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::sync::Arc;
    pub(crate) use loom::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
    pub(crate) type RawMutex<T> = loom::sync::Mutex<T>;
    pub(crate) type RawGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

    pub use super::model::CancellationToken;
    pub(crate) use super::model::{OwnedSemaphorePermit, Semaphore, TaskTracker, TaskTrackerToken, mpsc};
}

#[cfg(shuttle)]
mod imp {
    pub(crate) use shuttle::sync::Arc;
    pub(crate) use shuttle::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
    pub(crate) type RawMutex<T> = shuttle::sync::Mutex<T>;
    pub(crate) type RawGuard<'a, T> = shuttle::sync::MutexGuard<'a, T>;

    pub use super::model::CancellationToken;
    pub(crate) use super::model::{OwnedSemaphorePermit, Semaphore, TaskTracker, TaskTrackerToken, mpsc};
    // The engine's own (outside the core): shuttle-tokio's, which shuttle
    // schedules too.
    pub(crate) use tokio::sync::{Mutex as AsyncMutex, Notify, oneshot};

    /// shuttle's generator, seeded by the schedule: ids (and so the order
    /// of maps keyed by them) replay with it.
    pub(crate) fn random_fill(bytes: &mut [u8]) {
        use shuttle::rand::RngCore;
        shuttle::rand::thread_rng().fill_bytes(bytes);
    }
}

#[cfg(any(loom, shuttle))]
mod model;

#[cfg(any(loom, shuttle))]
pub(crate) use imp::AtomicUsize;
pub use imp::CancellationToken;
/// The source of random ids (seeded by the schedule under shuttle).
#[cfg(not(loom))]
pub(crate) use imp::random_fill;
pub(crate) use imp::{
    Arc, AtomicU8, AtomicU64, Ordering, OwnedSemaphorePermit, Semaphore, TaskTracker, TaskTrackerToken, mpsc,
};
/// A one-shot channel (the answer to one server-to-client request); used
/// only outside the model-checked core.
#[cfg(not(loom))]
pub(crate) use imp::{AsyncMutex, Notify, oneshot};

/// The engine's time: its timers (a request's timeout, the handshake's,
/// the shutdown grace) and its wall clock (a task's expiry); under shuttle,
/// a model clock that moves only when a scenario moves it.
#[cfg(not(loom))]
mod clock;
#[cfg(not(any(loom, shuttle)))]
pub use clock::{WallClock, set_wall_clock};
#[cfg(shuttle)]
pub use clock::{advance_model_clock, reset_model_clock};
#[cfg(not(loom))]
pub(crate) use clock::{now_ms, sleep, timeout};

/// A cell set once (a request's token, made when first needed); used only
/// outside the model-checked core.
#[cfg(not(loom))]
pub(crate) use std::sync::OnceLock;
// shuttle's `Arc` is the standard one, so its `Weak` is too.
#[cfg(not(loom))]
pub(crate) use std::sync::Weak;

/// A counter that no decision reads (the per-method and per-status
/// tallies, read only by a scrape): std's atomic in every build. Under the
/// checkers there are over a hundred of them; as the checker's atomics they
/// would add a schedule point each and more than a model thread's stack.
#[cfg(not(loom))]
pub(crate) type Tally = std::sync::atomic::AtomicU64;

/// The hasher of maps whose keys a client chooses: std's, with random keys.
#[cfg(not(any(loom, shuttle)))]
pub(crate) use std::hash::RandomState;
/// Under the checkers, std's hasher with fixed keys: a map's iteration
/// order, and so the schedule, is the same on every run of a schedule.
#[cfg(any(loom, shuttle))]
pub(crate) type RandomState = std::hash::BuildHasherDefault<std::hash::DefaultHasher>;

/// A mutex whose `lock` returns the guard directly, as loom's does.
///
/// The guard is `!Send` in every mode: a spawned task that holds it across an
/// `.await` does not compile, while one that clones what it needs and drops
/// the guard first does. `tests/compile_fail.rs` proves both: trybuild checks
/// that `tests/compile-fail/guard_across_await.rs` fails to compile, and the
/// file's second test, which drops the guard first, compiles and runs.
#[derive(Debug)]
pub struct Mutex<T>(imp::RawMutex<T>);

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> Mutex<T> {
    /// Creates a mutex holding `value`.
    pub fn new(value: T) -> Self {
        Self(imp::RawMutex::new(value))
    }

    /// Locks the mutex, recovering the data if a previous holder panicked.
    ///
    /// Every critical section in this crate is a single map or counter
    /// operation, so the data is consistent even after such a panic.
    pub fn lock(&self) -> imp::RawGuard<'_, T> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// True if the known-bad variant `name` is switched on.
///
/// Model builds only: each model test has a documented mutation (a known
/// bug) that `ci/mutants.sh` switches on with `MCP_MUTANT=<name>` to show the
/// checker catches it. Ordinary builds compile every mutation out.
#[cfg(any(loom, shuttle))]
pub(crate) fn mutant(name: &str) -> bool {
    std::env::var("MCP_MUTANT").is_ok_and(|m| m == name)
}

/// Ordinary builds: no mutation is ever on.
#[cfg(not(any(loom, shuttle)))]
#[inline(always)]
pub(crate) fn mutant(_name: &str) -> bool {
    false
}
