//! Models of the tokio and tokio-util primitives the core uses, for loom and
//! shuttle builds.
//!
//! Each model copies the semantics the core relies on (listed in its file)
//! and nothing else, and is built only from the checker's `Mutex` (through
//! [`super::Mutex`]) and `std::task::Waker`, so every step inside it is a
//! step the checker schedules. Rules shared by all of them:
//!
//! 1. State lives behind one mutex per primitive; a waker is registered in
//!    the same critical section that found the condition false, so a wake-up
//!    cannot fall between the check and the registration.
//! 2. Wakers are woken, and values dropped, after the lock is released.
//! 3. Lock order: a primitive's lock is a leaf, except that a cancellation
//!    token locks a parent before creating a child (never the reverse).

pub(crate) mod mpsc;
mod semaphore;
mod token;
mod tracker;

pub(crate) use semaphore::{OwnedSemaphorePermit, Semaphore};
pub use token::CancellationToken;
pub(crate) use tracker::{TaskTracker, TaskTrackerToken};

use std::task::Waker;

/// Wakes every waker in `wakers` (after the caller released its lock).
fn wake_all(wakers: Vec<Waker>) {
    wakers.into_iter().for_each(Waker::wake);
}

/// Adds `waker` to `wakers` unless an equivalent one is already there.
fn register(wakers: &mut Vec<Waker>, waker: &Waker) {
    if !wakers.iter().any(|w| w.will_wake(waker)) {
        wakers.push(waker.clone());
    }
}

#[cfg(all(test, loom))]
mod tests {
    //! The models against their own specifications, under loom.

    use super::*;
    use crate::sync::Arc;
    use loom::future::block_on;
    use loom::thread;

    #[test]
    fn semaphore_never_gives_more_than_its_permits() {
        loom::model(|| {
            let sem = Arc::new(Semaphore::new(1));
            let s2 = Arc::clone(&sem);
            let t = thread::spawn(move || Semaphore::try_acquire_owned(s2).ok());
            let mine = Semaphore::try_acquire_owned(Arc::clone(&sem)).ok();
            let theirs = t.join().unwrap();
            assert!(
                mine.is_some() != theirs.is_some(),
                "exactly one of two holders of the only permit"
            );
            assert_eq!(sem.available_permits(), 0);
            drop((mine, theirs));
            assert_eq!(sem.available_permits(), 1);
        });
    }

    #[test]
    fn cancelling_a_parent_wakes_a_waiting_grandchild() {
        loom::model(|| {
            let root = CancellationToken::new();
            let child = root.child_token();
            let grandchild = child.child_token();
            let t = thread::spawn(move || block_on(grandchild.cancelled()));
            root.cancel();
            t.join().unwrap();
            assert!(child.is_cancelled());
            assert!(
                root.child_token().is_cancelled(),
                "a child of a cancelled token is born cancelled"
            );
        });
    }

    #[test]
    fn a_bounded_channel_delivers_in_order_and_wakes_a_waiting_sender() {
        loom::model(|| {
            let (tx, mut rx) = mpsc::channel::<u32>(1);
            let t = thread::spawn(move || {
                block_on(async {
                    tx.send(1).await.unwrap();
                    tx.send(2).await.unwrap();
                })
            });
            let got = block_on(async { (rx.recv().await, rx.recv().await, rx.recv().await) });
            assert_eq!(got, (Some(1), Some(2), None));
            t.join().unwrap();
        });
    }

    #[test]
    fn closing_a_channel_releases_a_waiting_sender() {
        loom::model(|| {
            let (tx, mut rx) = mpsc::channel::<u32>(1);
            tx.try_send(1).unwrap();
            let t = thread::spawn(move || block_on(tx.send(2)).is_err());
            rx.close();
            assert_eq!(rx.try_recv().ok(), Some(1));
            assert!(t.join().unwrap(), "a send to a closed channel fails");
        });
    }

    #[test]
    fn a_tracker_wait_returns_once_closed_and_empty() {
        loom::model(|| {
            let tracker = TaskTracker::new();
            let token = tracker.token();
            let t = thread::spawn(move || drop(token));
            tracker.close();
            block_on(tracker.wait());
            t.join().unwrap();
            assert_eq!(tracker.len(), 0);
        });
    }
}
