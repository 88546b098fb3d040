//! What the fuzz targets (`crate::fuzzing`) reach of the HTTP transport:
//! a request's SSE stream on its own, and one connection served on any
//! byte stream. Built only with `--cfg fuzzing`.

use super::{McpService, cancel, sse};
use crate::server::Server;
use crate::sync::{Arc, CancellationToken, Semaphore};

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
    let mut sse = sse::Sse::new(rx, stream, stop.clone())
        .priming(priming)
        .for_request(None, cancel::CancelOnDrop(stop.clone()));
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
/// on `io` as the built-in driver serves an accepted one, with `service`
/// (a new one if `None`), which it returns for the next connection.
pub(crate) async fn serve_io(
    server: &Server,
    service: Option<McpService>,
    io: tokio::io::DuplexStream,
) -> McpService {
    let service = service.unwrap_or_else(|| server.http_service());
    let connections = Arc::new(Semaphore::new(1));
    let shutdown = server.shared.core.shutdown_token();
    super::driver::connection(service.clone(), io, connections, shutdown).await;
    service
}
