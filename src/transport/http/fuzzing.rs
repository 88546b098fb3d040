//! What the fuzz targets (`crate::fuzzing`) reach of the HTTP transport:
//! a request's SSE stream on its own, and one connection served on any
//! byte stream. Built only with `--cfg fuzzing`.

use std::convert::Infallible;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::task::JoinSet;

use super::{Http, MAX_HEAD_BYTES, body, service, session};
use crate::server::Server;
use crate::sync::{Arc, CancellationToken, Mutex, Semaphore};

/// For the fuzz targets (`crate::fuzzing`): the SSE events a request's
/// stream numbered `stream` writes for `frames` (notifications, then the
/// answer when `answer_last`), with a priming event first when `priming`,
/// until it ends (after the answer, or when stopped once the frames are
/// out).
pub(crate) async fn sse_events(
    core: &crate::core::Core,
    frames: &[bytes::Bytes],
    stream: u64,
    priming: bool,
    answer_last: bool,
) -> Vec<bytes::Bytes> {
    let stop = CancellationToken::new();
    let (outbox, rx) = core.request_outbox(core.next_id(), stop.clone());
    for (i, frame) in frames.iter().enumerate() {
        if answer_last && i + 1 == frames.len() {
            let _ = outbox.try_send(frame.clone());
        } else {
            let _ = outbox.try_notify(frame.clone());
        }
    }
    let mut sse = body::Sse::new(rx, stream, stop.clone())
        .priming(priming)
        .for_request(None, body::CancelOnDrop(stop.clone()));
    let mut events = Vec::new();
    loop {
        let next = tokio::select! {
            biased;
            next = sse.next_event() => next,
            // Nothing more queued: stop the stream, as its session would.
            () = tokio::task::yield_now() => {
                stop.cancel();
                sse.next_event().await
            }
        };
        match next {
            Some(event) => events.push(event),
            None => return events,
        }
    }
}

/// For the fuzz targets (`crate::fuzzing`): serves one HTTP/1.1 connection
/// on `io` as the listener serves an accepted one.
pub(crate) async fn serve_io<IO>(server: &Server, http: Option<Arc<Http>>, io: IO) -> Arc<Http>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let config = &server.shared.config;
    let http = http.unwrap_or_else(|| {
        Arc::new(Http {
            server: server.clone(),
            sessions: session::Sessions::default(),
            connections: Arc::new(Semaphore::new(config.http.max_connections)),
            session_tasks: Mutex::new(JoinSet::new()),
        })
    });
    let shared = Arc::clone(&http);
    let service = service_fn(move |request| {
        let http = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(service::handle(http, request).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.http.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let _ = builder.serve_connection(TokioIo::new(io), service).await;
    http
}
