//! Model of `tokio::sync::Semaphore`, the subset admission uses: a count of
//! permits, `try_acquire_owned` (never waits), and an owned permit that gives
//! its unit back when dropped.

use std::fmt;

use crate::sync::{Arc, Mutex};

/// A counting semaphore.
pub(crate) struct Semaphore {
    permits: Mutex<usize>,
}

/// No permit was free.
#[derive(Debug)]
pub(crate) struct TryAcquireError;

/// One permit, returned when dropped.
pub(crate) struct OwnedSemaphorePermit {
    semaphore: Arc<Semaphore>,
}

impl Semaphore {
    pub(crate) fn new(permits: usize) -> Self {
        Self {
            permits: Mutex::new(permits),
        }
    }

    pub(crate) fn available_permits(&self) -> usize {
        *self.permits.lock()
    }

    /// Takes a permit if one is free: the check and the decrement are one
    /// critical section. (An associated function, called as
    /// `Semaphore::try_acquire_owned(arc)` in every mode: loom's `Arc` cannot
    /// be a method receiver.)
    pub(crate) fn try_acquire_owned(this: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        {
            let mut permits = this.permits.lock();
            if *permits == 0 {
                return Err(TryAcquireError);
            }
            *permits -= 1;
        }
        Ok(OwnedSemaphorePermit { semaphore: this })
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        *self.semaphore.permits.lock() += 1;
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore").finish_non_exhaustive()
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnedSemaphorePermit")
    }
}
