//! Admission: a semaphore of `max_sessions` permits.
//!
//! # Invariants
//!
//! 1. A session exists only while it owns a [`Permit`]; permits are taken with
//!    `try_acquire_owned` *before* the session is registered, so the number of
//!    registered sessions never exceeds the limit, not even for an instant.
//! 2. Admission never waits: with no permit left it fails at once.
//! 3. A permit is returned exactly once, when the [`Permit`] drops (it is moved
//!    into the session's guard and dropped after deregistration).
//! 4. A permit carries a drain token, taken before the shutdown check, so the
//!    drain waits for every permit, registered or not.
//!
//! Known-bad variant `admit_check_then_act` (model builds only, see
//! `ci/mutants.sh`): the seed's racy `max_clients` counter, read, compared,
//! then incremented in a separate step. The admission models catch it
//! admitting one session too many.

use crate::error::AdmitError;
use crate::sync::{Arc, OwnedSemaphorePermit, Semaphore, TaskTrackerToken};
#[cfg(any(loom, shuttle))]
use crate::sync::{AtomicUsize, Ordering};

/// The right of one session to exist. Dropping it frees the slot, then
/// lets the drain count it as gone (fields drop in declaration order).
#[derive(Debug)]
pub struct Permit {
    _permit: Option<OwnedSemaphorePermit>,
    /// The racy counter of the `admit_check_then_act` variant.
    #[cfg(any(loom, shuttle))]
    racy: Option<Arc<AtomicUsize>>,
    /// Makes the drain wait for this permit: shutdown is not over while a
    /// permit is held, even one not yet registered.
    pub(crate) tracked: Option<TaskTrackerToken>,
}

#[cfg(any(loom, shuttle))]
impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(live) = &self.racy {
            live.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// The admission gate.
#[derive(Debug)]
pub(crate) struct Admission {
    permits: Arc<Semaphore>,
    limit: usize,
    #[cfg(any(loom, shuttle))]
    racy_live: Arc<AtomicUsize>,
}

impl Admission {
    /// A gate of `limit` permits.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            #[cfg(any(loom, shuttle))]
            racy_live: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Takes a permit if one is free.
    ///
    /// # Errors
    ///
    /// [`AdmitError::AtCapacity`] when every permit is held.
    pub(crate) fn try_admit(&self) -> Result<Permit, AdmitError> {
        #[cfg(any(loom, shuttle))]
        if crate::sync::mutant("admit_check_then_act") {
            let live = self.racy_live.load(Ordering::SeqCst);
            if live >= self.limit {
                return Err(AdmitError::AtCapacity { limit: self.limit });
            }
            self.racy_live.store(live + 1, Ordering::SeqCst);
            return Ok(Permit {
                _permit: None,
                racy: Some(Arc::clone(&self.racy_live)),
                tracked: None,
            });
        }
        match Semaphore::try_acquire_owned(Arc::clone(&self.permits)) {
            Ok(permit) => Ok(Permit {
                _permit: Some(permit),
                #[cfg(any(loom, shuttle))]
                racy: None,
                tracked: None,
            }),
            Err(_) => Err(AdmitError::AtCapacity { limit: self.limit }),
        }
    }

    /// Permits not held by any session.
    pub(crate) fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// The configured limit.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }
}
