//! A request's cancellation token, made only when something needs it.
//!
//! Most calls finish on their first poll and never look at their token;
//! making a child of the session's token for each (and unlinking it after)
//! was a good part of a call's cost. A [`RequestToken`] of a session's
//! request makes that child the first time the handler asks for it, or
//! when the call goes on in a task of its own (which needs it to be
//! cancelled by `notifications/cancelled` or its timeout); both get the
//! same token.

use crate::sync::{Arc, CancellationToken, OnceLock};

/// The token of one request.
#[derive(Debug, Clone)]
pub(crate) enum RequestToken {
    /// Made already (an HTTP stream's token, a task's).
    Ready(CancellationToken),
    /// A child of the session's token, made when first needed.
    Lazy(Arc<LazyChild>),
}

/// The session's token and, once made, the request's child of it.
#[derive(Debug)]
pub(crate) struct LazyChild {
    session: Arc<CancellationToken>,
    child: OnceLock<CancellationToken>,
}

impl RequestToken {
    /// A child of `session`, not made yet.
    pub(crate) fn child_of(session: &Arc<CancellationToken>) -> Self {
        Self::Lazy(Arc::new(LazyChild {
            session: Arc::clone(session),
            child: OnceLock::new(),
        }))
    }

    /// The token (made now if it was not).
    pub(crate) fn get(&self) -> &CancellationToken {
        match self {
            Self::Ready(token) => token,
            Self::Lazy(lazy) => lazy.child.get_or_init(|| lazy.session.child_token()),
        }
    }

    /// True once the request is cancelled; makes no token (a child not
    /// made yet can only have been cancelled through the session's).
    pub(crate) fn is_cancelled(&self) -> bool {
        match self {
            Self::Ready(token) => token.is_cancelled(),
            Self::Lazy(lazy) => match lazy.child.get() {
                Some(child) => child.is_cancelled(),
                None => lazy.session.is_cancelled(),
            },
        }
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    #[test]
    fn the_child_is_made_once_and_follows_the_session() {
        let session = Arc::new(CancellationToken::new());
        let token = RequestToken::child_of(&session);
        let other_handle = token.clone();
        assert!(!token.is_cancelled());
        // Cancelling the request cancels it alone, whoever made the child.
        other_handle.get().cancel();
        assert!(token.is_cancelled() && token.get().is_cancelled());
        assert!(!session.is_cancelled());
        // A request whose child was never made sees the session's end.
        let untouched = RequestToken::child_of(&session);
        session.cancel();
        assert!(untouched.is_cancelled());
        assert!(untouched.get().is_cancelled());
    }
}
