//! The sync shim: the only module that names `std::sync`, `tokio::sync`,
//! `tokio_util`'s primitives, loom or shuttle.
//!
//! Ordinary builds re-export the standard library, tokio and tokio-util, so
//! production runs on their primitives. The core (`crate::core`) is written
//! against exactly the subset re-exported here, so that a model build can swap
//! in primitives that a model checker can interleave inside.
//!
//! The subset the core relies on:
//!
//! - [`Mutex`]: `lock()` returns the guard directly (a poisoned lock is
//!   recovered: every critical section here leaves the map consistent). The
//!   guard is `!Send`, so holding it across an `.await` in a spawned task does
//!   not compile.
//! - [`Semaphore`]: `new`, `try_acquire_owned`, `available_permits`.
//! - [`CancellationToken`]: `new`, `child_token`, `cancel`, `is_cancelled`,
//!   `cancelled().await`.
//! - [`mpsc`]: bounded `channel`, `Sender::{try_send, send, capacity,
//!   max_capacity}`, `Receiver::{recv, try_recv, close}`.
//! - [`TaskTracker`]: `token`, `close`, `wait().await`, `len`.

pub(crate) use std::sync::Arc;
pub(crate) use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

pub(crate) use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
pub use tokio_util::sync::CancellationToken;
pub(crate) use tokio_util::task::{TaskTracker, task_tracker::TaskTrackerToken};

/// A mutex whose `lock` returns the guard directly, as loom's does.
///
/// The guard of `std::sync::Mutex` is `!Send`: a spawned task that holds it
/// across an `.await` does not compile.
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(std::sync::Mutex<T>);

impl<T> Mutex<T> {
    /// Creates a mutex holding `value`.
    pub(crate) fn new(value: T) -> Self {
        Self(std::sync::Mutex::new(value))
    }

    /// Locks the mutex, recovering the data if a previous holder panicked.
    ///
    /// Every critical section in this crate is a single map or counter
    /// operation, so the data is consistent even after such a panic.
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
