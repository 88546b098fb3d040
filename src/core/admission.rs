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

use crate::error::AdmitError;
use crate::sync::{Arc, OwnedSemaphorePermit, Semaphore};

/// The right of one session to exist. Dropping it frees the slot.
#[derive(Debug)]
pub struct Permit {
    _permit: OwnedSemaphorePermit,
}

/// The admission gate.
#[derive(Debug)]
pub(crate) struct Admission {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl Admission {
    /// A gate of `limit` permits.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// Takes a permit if one is free.
    ///
    /// # Errors
    ///
    /// [`AdmitError::AtCapacity`] when every permit is held.
    pub(crate) fn try_admit(&self) -> Result<Permit, AdmitError> {
        match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => Ok(Permit { _permit: permit }),
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
