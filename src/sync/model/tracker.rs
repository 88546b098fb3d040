//! Model of `tokio_util::task::TaskTracker`, the subset the drain uses: a
//! count of live tokens, a closed flag, and `wait()`, which completes once
//! the tracker is closed *and* no token is alive (tokio-util's rule).
//!
//! Known-bad variant `drain_lost_wakeup` (see `ci/mutants.sh`): `wait`
//! checks the condition and registers its waker in two critical sections, so
//! the last token can drop in between and wake nobody. The shutdown model
//! catches it as a deadlock.
//!
//! Known-bad variant `tracker_close_wakes_nobody`: `close` marks the tracker
//! closed but does not wake a waiter already parked in `wait`. Only a waiter
//! on another thread than the one that closes can be parked then; the model
//! `drain_awaited_elsewhere` has one, and catches it as a deadlock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::{register, wake_all};
use crate::sync::{Arc, Mutex, mutant};

/// Counts live tokens; `wait` completes once closed and empty.
#[derive(Clone, Default)]
pub(crate) struct TaskTracker {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    live: usize,
    closed: bool,
    waiters: Vec<Waker>,
}

impl State {
    fn done(&self) -> bool {
        self.closed && self.live == 0
    }
}

/// One tracked unit of work; dropping it ends it.
pub(crate) struct TaskTrackerToken {
    inner: Arc<Inner>,
}

impl TaskTracker {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn token(&self) -> TaskTrackerToken {
        self.inner.state.lock().live += 1;
        TaskTrackerToken {
            inner: Arc::clone(&self.inner),
        }
    }

    pub(crate) fn close(&self) {
        let waiters = {
            let mut state = self.inner.state.lock();
            state.closed = true;
            if state.done() && !mutant("tracker_close_wakes_nobody") {
                std::mem::take(&mut state.waiters)
            } else {
                Vec::new()
            }
        };
        wake_all(waiters);
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.state.lock().live
    }

    pub(crate) fn wait(&self) -> impl Future<Output = ()> + '_ {
        Wait { tracker: self }
    }
}

impl Drop for TaskTrackerToken {
    fn drop(&mut self) {
        let waiters = {
            let mut state = self.inner.state.lock();
            state.live -= 1;
            if state.done() {
                std::mem::take(&mut state.waiters)
            } else {
                Vec::new()
            }
        };
        wake_all(waiters);
    }
}

struct Wait<'a> {
    tracker: &'a TaskTracker,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let inner = &self.tracker.inner;
        if mutant("drain_lost_wakeup") {
            // Known-bad: check, unlock, then register.
            if inner.state.lock().done() {
                return Poll::Ready(());
            }
            register(&mut inner.state.lock().waiters, cx.waker());
            return Poll::Pending;
        }
        let mut state = inner.state.lock();
        if state.done() {
            return Poll::Ready(());
        }
        register(&mut state.waiters, cx.waker());
        Poll::Pending
    }
}

impl fmt::Debug for TaskTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskTracker").field("live", &self.len()).finish()
    }
}

impl fmt::Debug for TaskTrackerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TaskTrackerToken")
    }
}
