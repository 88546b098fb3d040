//! Response bodies that notice a client gone while they wait.
//!
//! The built-in driver keeps a [`ConnWatch`] on a connection whose socket
//! can be watched (`transport::peer`): while a streamed body waits for its
//! next event, the watch peeks at the socket, and an end of stream or an
//! error ends the body with an error (hyper then aborts the connection).
//! The request's own stream is dropped with the body, which cancels it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

use super::body::Body;
use crate::metrics::{Metrics, incr};
use crate::sync::Arc;
use crate::transport::listener::PeerWatch;

/// A connection's watch, counting what it notices.
#[derive(Debug, Clone)]
pub(crate) struct ConnWatch(PeerWatch, Arc<Metrics>);

impl ConnWatch {
    pub(crate) fn new(peer: PeerWatch, metrics: Arc<Metrics>) -> Self {
        Self(peer, metrics)
    }

    /// Counts a client noticed gone by the watch.
    pub(crate) fn count_vanished(&self) {
        incr(&self.1.http_clients_vanished);
    }

    /// See [`PeerWatch::vanished`].
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a peek takes nothing from the socket.
    pub(crate) async fn vanished(&self) {
        self.0.vanished().await;
    }
}

/// A response body that ends with an error when its client vanishes while
/// it waits for its next frame.
pub(crate) struct WatchedBody {
    inner: Body,
    watch: Option<ConnWatch>,
    /// Made the first time the body has to wait (a JSON body never does).
    vanished: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl WatchedBody {
    pub(crate) fn new(inner: Body, watch: Option<ConnWatch>) -> Self {
        Self {
            inner,
            watch,
            vanished: None,
        }
    }
}

impl HttpBody for WatchedBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(|never| match never {})));
        }
        let Some(watch) = &this.watch else {
            return Poll::Pending;
        };
        let vanished = this.vanished.get_or_insert_with(|| {
            let watch = watch.clone();
            Box::pin(async move { watch.vanished().await })
        });
        match vanished.as_mut().poll(cx) {
            Poll::Ready(()) => {
                watch.count_vanished();
                Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the client went away",
                ))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
