//! Trace context in `_meta` (SEP-414): a request's `traceparent` joins the
//! server's span for that request (its logs name the trace, the client's
//! span and the server's own), and the requests the server sends the
//! client while serving it carry the trace on, with the server's span as
//! their parent; in a 2025 session and in a 2026-07-28 request.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use mcp_server_core::{Server, Tool, ToolOutput};
use serde_json::{Value, json};
use support::TestServer;
use support::wire::{Way, Wire};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN: &str = "b7ad6b7169203331";

/// `ask`: elicits once; answers with the server's span id in the trace.
fn ask() -> Tool {
    Tool::new("ask", "asks", json!({"type": "object"}), |_, ctx| async move {
        ctx.elicit("Proceed?", json!({"type": "object"})).await?;
        let span = ctx.trace_context().map(|t| t.span_id().to_owned());
        Ok(ToolOutput::text(span.unwrap_or_else(|| "no trace".to_owned())))
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn traced_meta() -> Value {
    json!({"traceparent": format!("00-{TRACE}-{CLIENT_SPAN}-01"), "tracestate": "vendor=abc"})
}

/// The span id a server's `traceparent` names, after checking it is the
/// client's trace with a span of the server's own.
fn servers_span(traceparent: &Value) -> String {
    let text = traceparent.as_str().expect("a traceparent");
    let fields: Vec<&str> = text.split('-').collect();
    assert_eq!(fields.len(), 4, "{text}");
    assert_eq!((fields[0], fields[1], fields[3]), ("00", TRACE, "01"), "{text}");
    assert_eq!(fields[2].len(), 16, "{text}");
    assert_ne!(fields[2], CLIENT_SPAN, "the server's own span: {text}");
    fields[2].to_owned()
}

#[tokio::test]
async fn a_requests_trace_reaches_the_servers_span_and_its_requests_to_the_client() {
    // The test's runtime is this thread alone: the server's tasks log here.
    let logs = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&logs);
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || Sink(Arc::clone(&sink)))
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let server = TestServer::serve(Server::builder().tool(ask()).build(), false).await;

    // A 2025 session: the elicitation carries the trace on.
    let mut client = server.client().await;
    let init = json!({"protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
                      "clientInfo": {"name": "test", "version": "0"}});
    client.request(0, "initialize", init).await;
    client.notify("notifications/initialized", json!({})).await;
    let call = json!({"name": "ask", "arguments": {}, "_meta": traced_meta()});
    client
        .send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call}))
        .await;
    let request = loop {
        let message = client.recv().await.expect("the connection stays open");
        if message["method"] == "elicitation/create" {
            break message;
        }
    };
    let span = servers_span(&request["params"]["_meta"]["traceparent"]);
    assert_eq!(request["params"]["_meta"]["tracestate"], "vendor=abc");
    client
        .send(&json!({"jsonrpc": "2.0", "id": request["id"], "result": {"action": "accept", "content": {}}}))
        .await;
    let answer = client.response(&json!(1)).await;
    assert_eq!(
        answer["result"]["content"][0]["text"], span,
        "the handler sees the same span"
    );
    let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    for field in [TRACE, CLIENT_SPAN, span.as_str()] {
        assert!(
            logged.contains(field),
            "{field} is not in the request's logs:\n{logged}"
        );
    }

    // A 2026-07-28 request: the question of its input_required round does.
    let mut stateless = server.client().await;
    let mut params = support::stateless(json!({"name": "ask", "arguments": {}}));
    params["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json!({"elicitation": {}});
    params["_meta"]["traceparent"] = traced_meta()["traceparent"].clone();
    let round = stateless.request(2, "tools/call", params.clone()).await;
    let question = &round["result"]["inputRequests"]["input-1"];
    assert_eq!(question["method"], "elicitation/create", "{round}");
    servers_span(&question["params"]["_meta"]["traceparent"]);

    // The same over HTTP, whose stateless requests have a span of their
    // own: the trace reaches it and the question.
    let http = TestServer::serve(Server::builder().tool(ask()).build(), true).await;
    logs.lock().unwrap().clear();
    let mut wire = Wire::open(Way::Http2026, http.addr).await;
    let call = json!({"name": "ask", "arguments": {},
        "_meta": {"io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
                  "traceparent": traced_meta()["traceparent"]}});
    let round = wire.request(3, "tools/call", call).await;
    let question = &round["result"]["inputRequests"]["input-1"];
    let span = servers_span(&question["params"]["_meta"]["traceparent"]);
    let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    for field in [TRACE, CLIENT_SPAN, span.as_str()] {
        assert!(
            logged.contains(field),
            "{field} is not in the HTTP request's logs:\n{logged}"
        );
    }
    http.stop().await;

    // Without a trace, none is made up.
    let plain = json!({"name": "ask", "arguments": {}});
    client
        .send(&json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": plain}))
        .await;
    let request = loop {
        let message = client.recv().await.expect("the connection stays open");
        if message["method"] == "elicitation/create" {
            break message;
        }
    };
    assert!(request["params"].get("_meta").is_none(), "{request}");
    server.stop().await;
}
