//! The guard a request holds: dropping it (the client went away, the
//! request ended) cancels the request's token.

use crate::sync::CancellationToken;

/// Cancels a token when dropped.
#[derive(Debug)]
pub(crate) struct CancelOnDrop(pub(crate) CancellationToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}
