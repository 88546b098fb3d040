//! A handler that closes its own request stream (SEP-1699 polling) over
//! real sockets: the POST's stream ends after its priming event, the
//! request goes on, and a GET with `Last-Event-ID` resumes the same stream
//! (what it missed, then live, then the answer). A resumed stream dropped
//! early parks again; where a stream cannot be resumed, it stays open.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::StatusCode;
use mcp_server_core::{Server, ServerConfig, Tool, ToolOutput};
use serde_json::json;
use support::TestServer;
use support::http::{self as client, Session};
use support::wire::{Way, Wire};
use tokio::sync::Semaphore;

/// What the test lets the tool do next (a permit per step), and what the
/// tool saw.
struct Steps {
    go: Semaphore,
    closed: AtomicBool,
    cancelled: AtomicBool,
}

impl Steps {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            go: Semaphore::new(0),
            closed: AtomicBool::new(false),
            cancelled: AtomicBool::new(false),
        })
    }

    fn allow(&self, steps: usize) {
        self.go.add_permits(steps);
    }
}

/// `poller`: reports progress 1, closes its stream, reports progress 2,
/// waits for the test, reports 3, waits again, then answers.
fn poller(steps: Arc<Steps>) -> Tool {
    Tool::new(
        "poller",
        "closes its stream",
        json!({"type": "object"}),
        move |_, ctx| {
            let steps = Arc::clone(&steps);
            async move {
                ctx.progress(1.0, None, None).ok();
                steps.closed.store(ctx.close_stream(), Ordering::SeqCst);
                ctx.progress(2.0, None, None).ok();
                for step in [3.0, 4.0] {
                    tokio::select! {
                        permit = steps.go.acquire() => permit.expect("never closed").forget(),
                        () = ctx.cancelled() => {
                            steps.cancelled.store(true, Ordering::SeqCst);
                            return Ok(ToolOutput::text("cancelled"));
                        }
                    }
                    ctx.progress(step, None, None).ok();
                }
                Ok(ToolOutput::text("done"))
            }
        },
    )
}

fn polling_server(steps: &Arc<Steps>) -> Server {
    Server::builder()
        .config(ServerConfig::default())
        .tool(poller(Arc::clone(steps)))
        .build()
}

fn call(id: u64) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "poller", "arguments": {}, "_meta": {"progressToken": "p"}}})
}

/// The events of a stream to its end, as (id, progress or "answer").
async fn drain(open: &mut client::Open) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    while let Some((id, data)) = open.event().await {
        let what = if data.is_empty() {
            "priming".to_owned()
        } else {
            let message: serde_json::Value = serde_json::from_str(&data).unwrap();
            match message["params"]["progress"].as_f64() {
                Some(p) => format!("progress {p}"),
                None => format!("answer {}", message["result"]["content"][0]["text"]),
            }
        };
        seen.push((id.unwrap_or_default(), what));
    }
    seen
}

#[tokio::test]
async fn a_closed_stream_is_resumed_by_last_event_id_until_the_answer() {
    let steps = Steps::new();
    let server = TestServer::serve(polling_server(&steps), true).await;
    let session = Session::start(server.addr).await;
    let mut post = session.post(&call(1)).await;
    assert_eq!(post.status, StatusCode::OK);
    let first = drain(&mut post).await;
    assert!(
        steps.closed.load(Ordering::SeqCst),
        "close_stream said it could be resumed"
    );
    let stream = first[0].0.split('-').next().unwrap().to_owned();
    let kinds: Vec<&str> = first.iter().map(|(_, what)| what.as_str()).collect();
    assert_eq!(kinds[0], "priming");
    assert!(
        !kinds.iter().any(|k| k.starts_with("answer")),
        "the POST's stream ended before the answer: {first:?}"
    );
    // What was queued when the handler closed the stream still went out.
    assert_eq!(kinds, ["priming", "progress 1", "progress 2"], "{first:?}");

    // Resumed from progress 1, as if the client had missed progress 2: it
    // is replayed, then the stream goes on live.
    let mut resumed = session.resume(&first[1].0).await;
    assert_eq!(resumed.status, StatusCode::OK);
    let (id, data) = resumed.event().await.expect("a missed event");
    assert_eq!(id.unwrap(), first[2].0, "the same stream, the same event");
    assert!(data.contains("\"progress\":2"), "{data}");
    steps.allow(1);
    let (id3, data) = resumed.event().await.expect("a live event");
    let id3 = id3.unwrap();
    assert!(id3.starts_with(&format!("{stream}-")), "{id3}");
    assert!(data.contains("\"progress\":3"), "{data}");
    // A resumed stream dropped before the answer waits to be resumed again:
    // the client polls until it has the answer.
    drop(resumed);
    steps.allow(1);
    let mut rest: Vec<(String, String)> = Vec::new();
    let mut last = id3;
    while !rest.iter().any(|(_, what)| what.starts_with("answer")) {
        let mut again = session.resume(&last).await;
        for (id, what) in drain(&mut again).await {
            if what != "priming" && !rest.iter().any(|(seen, _)| *seen == id) {
                last = id.clone();
                rest.push((id, what));
            }
        }
    }
    let kinds: Vec<&str> = rest.iter().map(|(_, what)| what.as_str()).collect();
    assert_eq!(kinds, ["progress 4", "answer \"done\""], "{rest:?}");
    assert!(
        !steps.cancelled.load(Ordering::SeqCst),
        "closing the stream did not cancel the request"
    );
    let ids: Vec<u64> = first
        .iter()
        .chain(rest.iter())
        .map(|(id, _)| id.split('-').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "event ids only grow: {ids:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn where_a_stream_cannot_be_resumed_it_stays_open() {
    // A client before 2025-11-25 gets no priming event, hence no id to
    // resume from; TCP and stateless requests have no stream to resume.
    let steps = Steps::new();
    let server = TestServer::serve(polling_server(&steps), true).await;
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "old", "version": "0"}}});
    let response = client::post(server.addr, &[], &init).await;
    let sid = response.headers["mcp-session-id"].to_str().unwrap().to_owned();
    let headers = [
        ("mcp-session-id", sid.as_str()),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    client::post(server.addr, &headers, &note).await;
    let mut post = client::post(server.addr, &headers, &call(1)).await;
    post.event().await.expect("progress 1");
    post.event().await.expect("progress 2");
    steps.allow(2);
    let rest = drain(&mut post).await;
    assert_eq!(rest.last().unwrap().1, "answer \"done\"", "{rest:?}");
    assert!(!steps.closed.load(Ordering::SeqCst));
    server.stop().await;

    for way in [Way::Tcp2025, Way::Http2026] {
        let steps = Steps::new();
        let server = TestServer::serve(polling_server(&steps), way.is_http()).await;
        let mut wire = Wire::open(way, server.addr).await;
        steps.allow(2);
        let (response, notes) = wire
            .request_with(
                1,
                "tools/call",
                json!({"name": "poller", "_meta": {"progressToken": "p"}}),
            )
            .await;
        assert_eq!(response["result"]["content"][0]["text"], "done", "{way:?}");
        assert_eq!(notes.len(), 4, "{way:?}: every progress on the one stream");
        assert!(!steps.closed.load(Ordering::SeqCst), "{way:?}");
        server.stop().await;
    }
}

/// `closer`: closes its stream before it sends anything, waits for the
/// test, then answers.
fn closer(steps: Arc<Steps>) -> Tool {
    Tool::new(
        "closer",
        "closes its stream at once",
        json!({"type": "object"}),
        move |_, ctx| {
            let steps = Arc::clone(&steps);
            async move {
                steps.closed.store(ctx.close_stream(), Ordering::SeqCst);
                steps.go.acquire().await.expect("never closed").forget();
                Ok(ToolOutput::text("done"))
            }
        },
    )
}

/// **A stream closed before anything was sent on it ends after its priming
/// event**, while the handler still runs, and the answer comes on the
/// resumed stream. Known-bad variant this catches (by hand, from the
/// cargo-mutants run in `analysis/model-checking.md`): `Sse::next` closing
/// a parked stream only after a real event (`self.seq > 0 && self.primed`),
/// which keeps this stream open until the answer.
#[tokio::test]
async fn a_stream_closed_before_anything_was_sent_ends_after_its_priming_event() {
    let steps = Steps::new();
    let server = TestServer::serve(Server::builder().tool(closer(Arc::clone(&steps))).build(), true).await;
    let session = Session::start(server.addr).await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "closer", "arguments": {}}});
    let mut post = session.post(&call).await;
    assert_eq!(post.status, StatusCode::OK);
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), drain(&mut post))
        .await
        .expect("the POST's stream ended while the handler waits");
    assert!(
        steps.closed.load(Ordering::SeqCst),
        "close_stream said it could be resumed"
    );
    let kinds: Vec<&str> = first.iter().map(|(_, what)| what.as_str()).collect();
    assert_eq!(kinds, ["priming"], "{first:?}");
    steps.allow(1);
    let mut resumed = session.resume(&first[0].0).await;
    assert_eq!(resumed.status, StatusCode::OK);
    let rest = drain(&mut resumed).await;
    assert_eq!(
        rest.iter().map(|(_, what)| what.as_str()).collect::<Vec<_>>(),
        ["answer \"done\""],
        "{rest:?}"
    );
    server.stop().await;
}
