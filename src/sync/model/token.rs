//! Model of `tokio_util::sync::CancellationToken`: a tree of tokens where
//! cancelling one cancels its whole subtree, a child of a cancelled token is
//! born cancelled, and `cancelled().await` completes once the token is
//! cancelled, however the wake-up races with the wait.
//!
//! Unlike tokio-util's, a dropped child stays in its parent's list until the
//! parent is cancelled; models are short, so that costs nothing.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::{register, wake_all};
use crate::sync::{Arc, Mutex};

/// A token that can be cancelled, with children cancelled along with it.
#[derive(Clone)]
pub struct CancellationToken {
    node: Arc<Node>,
}

struct Node {
    state: Mutex<NodeState>,
}

#[derive(Default)]
struct NodeState {
    cancelled: bool,
    children: Vec<Arc<Node>>,
    waiters: Vec<Waker>,
}

impl Node {
    fn new(cancelled: bool) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(NodeState {
                cancelled,
                ..NodeState::default()
            }),
        })
    }

    fn cancel(&self) {
        let (children, waiters) = {
            let mut state = self.state.lock();
            if state.cancelled {
                return;
            }
            state.cancelled = true;
            (
                std::mem::take(&mut state.children),
                std::mem::take(&mut state.waiters),
            )
        };
        wake_all(waiters);
        for child in children {
            child.cancel();
        }
    }
}

impl Default for CancellationToken {
    fn default() -> Self {
        Self::new()
    }
}

impl CancellationToken {
    /// A new root token.
    pub fn new() -> Self {
        Self {
            node: Node::new(false),
        }
    }

    /// A child: cancelled when this token is (at once, if it already is).
    pub fn child_token(&self) -> Self {
        let mut state = self.node.state.lock();
        let child = Node::new(state.cancelled);
        if !state.cancelled {
            state.children.push(Arc::clone(&child));
        }
        Self { node: child }
    }

    /// Cancels this token and its subtree. Idempotent.
    pub fn cancel(&self) {
        self.node.cancel();
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.node.state.lock().cancelled
    }

    /// Completes once the token is cancelled.
    pub fn cancelled(&self) -> impl Future<Output = ()> + '_ {
        Cancelled { token: self }
    }
}

struct Cancelled<'a> {
    token: &'a CancellationToken,
}

impl Future for Cancelled<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.token.node.state.lock();
        if state.cancelled {
            return Poll::Ready(());
        }
        // Registered under the same lock that saw `cancelled == false`.
        register(&mut state.waiters, cx.waker());
        Poll::Pending
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("is_cancelled", &self.is_cancelled())
            .finish()
    }
}
