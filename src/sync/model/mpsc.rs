//! Model of `tokio::sync::mpsc`'s bounded channel, the subset the outbox
//! uses: `try_send` (never waits), `send().await` (waits for room),
//! `recv().await`, `try_recv`, `close`, and dropping the receiver, which
//! closes the channel, releases every sender waiting for room and drops what
//! is still queued.
//!
//! Known-bad variant `receiver_drop_wakes_nobody` (see `ci/mutants.sh`):
//! dropping the receiver marks the channel closed but leaves the senders
//! that wait for room parked. The model `receiver_dropped_releases_sender`
//! catches it as a deadlock.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::task::{Poll, Waker};

use super::{register, wake_all};
use crate::sync::{Arc, Mutex};

/// Errors, named as tokio names them.
pub(crate) mod error {
    /// `try_send` failed; the value comes back.
    #[derive(Debug)]
    pub(crate) enum TrySendError<T> {
        /// The queue is at capacity.
        Full(T),
        /// The receiver closed or dropped.
        Closed(T),
    }

    /// `send` failed because the receiver closed or dropped; the value comes back.
    #[derive(Debug)]
    pub(crate) struct SendError<T>(pub(crate) T);

    /// `try_recv` found nothing.
    #[derive(Debug, PartialEq, Eq)]
    pub(crate) enum TryRecvError {
        /// Nothing queued now.
        Empty,
        /// Nothing queued, and every sender is gone.
        Disconnected,
    }
}

use error::{SendError, TryRecvError, TrySendError};

struct Chan<T> {
    capacity: usize,
    state: Mutex<State<T>>,
}

struct State<T> {
    queue: VecDeque<T>,
    /// The receiver closed (or dropped): no more sends.
    closed: bool,
    senders: usize,
    receiver: Option<Waker>,
    blocked_senders: Vec<Waker>,
}

/// Creates a channel of `capacity` messages.
pub(crate) fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc bounded channel requires capacity > 0");
    let chan = Arc::new(Chan {
        capacity,
        state: Mutex::new(State {
            queue: VecDeque::new(),
            closed: false,
            senders: 1,
            receiver: None,
            blocked_senders: Vec::new(),
        }),
    });
    (
        Sender {
            chan: Arc::clone(&chan),
        },
        Receiver { chan },
    )
}

/// The sending half.
pub(crate) struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half.
pub(crate) struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    pub(crate) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let receiver = {
            let mut state = self.chan.state.lock();
            if state.closed {
                return Err(TrySendError::Closed(value));
            }
            if state.queue.len() >= self.chan.capacity {
                return Err(TrySendError::Full(value));
            }
            state.queue.push_back(value);
            state.receiver.take()
        };
        receiver.into_iter().for_each(Waker::wake);
        Ok(())
    }

    pub(crate) fn send(&self, value: T) -> impl Future<Output = Result<(), SendError<T>>> + '_ {
        let mut value = Some(value);
        poll_fn(move |cx| {
            let mut state = self.chan.state.lock();
            if state.closed {
                return Poll::Ready(Err(SendError(value.take().expect("polled after completion"))));
            }
            if state.queue.len() < self.chan.capacity {
                state
                    .queue
                    .push_back(value.take().expect("polled after completion"));
                let receiver = state.receiver.take();
                drop(state);
                receiver.into_iter().for_each(Waker::wake);
                return Poll::Ready(Ok(()));
            }
            register(&mut state.blocked_senders, cx.waker());
            Poll::Pending
        })
    }

    pub(crate) fn capacity(&self) -> usize {
        self.chan.capacity - self.chan.state.lock().queue.len()
    }

    pub(crate) fn max_capacity(&self) -> usize {
        self.chan.capacity
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.state.lock().senders += 1;
        Self {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let receiver = {
            let mut state = self.chan.state.lock();
            state.senders -= 1;
            if state.senders == 0 {
                state.receiver.take()
            } else {
                None
            }
        };
        receiver.into_iter().for_each(Waker::wake);
    }
}

impl<T> Receiver<T> {
    pub(crate) fn recv(&mut self) -> impl Future<Output = Option<T>> + '_ {
        poll_fn(move |cx| {
            let mut state = self.chan.state.lock();
            if let Some(value) = state.queue.pop_front() {
                let blocked = std::mem::take(&mut state.blocked_senders);
                drop(state);
                wake_all(blocked);
                return Poll::Ready(Some(value));
            }
            if state.senders == 0 {
                return Poll::Ready(None);
            }
            state.receiver = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    pub(crate) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.chan.state.lock();
        match state.queue.pop_front() {
            Some(value) => {
                let blocked = std::mem::take(&mut state.blocked_senders);
                drop(state);
                wake_all(blocked);
                Ok(value)
            }
            None if state.senders == 0 => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    pub(crate) fn close(&mut self) {
        let blocked = {
            let mut state = self.chan.state.lock();
            state.closed = true;
            std::mem::take(&mut state.blocked_senders)
        };
        wake_all(blocked);
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if crate::sync::mutant("receiver_drop_wakes_nobody") {
            self.chan.state.lock().closed = true;
        } else {
            self.close();
        }
        // Dropped outside the lock: a value's own Drop may do anything.
        let queued = std::mem::take(&mut self.chan.state.lock().queue);
        drop(queued);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sender")
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Receiver")
    }
}
