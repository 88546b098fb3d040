//! A small HTTP/1.1 client for the Streamable HTTP tests, on hyper's own
//! client connection: one connection per request, bodies read whole or as
//! Server-Sent Events.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;

use super::HANG;

/// What a POST sends by default.
pub const ACCEPT_BOTH: &str = "application/json, text/event-stream";

/// A response whose body is still to be read.
pub struct Open {
    pub status: StatusCode,
    pub headers: HeaderMap,
    body: Incoming,
    buffer: Vec<u8>,
}

impl Open {
    /// The whole body.
    pub async fn bytes(self) -> Bytes {
        let collected = tokio::time::timeout(HANG, self.body.collect())
            .await
            .expect("the body ended in time")
            .expect("read the body");
        collected.to_bytes()
    }

    /// The whole body as JSON.
    pub async fn json(self) -> Value {
        let bytes = self.bytes().await;
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
    }

    /// The next SSE event as (id, data), or `None` at the end of the body.
    pub async fn event(&mut self) -> Option<(Option<String>, String)> {
        loop {
            if let Some(end) = find(&self.buffer, b"\n\n") {
                let raw: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let text = String::from_utf8(raw).expect("UTF-8 event");
                let mut id = None;
                let mut data = String::new();
                for line in text.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                return Some((id, data));
            }
            let frame = tokio::time::timeout(HANG, self.body.frame())
                .await
                .expect("an event in time")?
                .expect("read a frame");
            if let Ok(data) = frame.into_data() {
                self.buffer.extend_from_slice(&data);
            }
        }
    }

    /// The next SSE event's data as JSON, skipping events with empty data
    /// (priming events).
    pub async fn message(&mut self) -> Option<Value> {
        loop {
            let (_, data) = self.event().await?;
            if !data.is_empty() {
                return Some(serde_json::from_str(&data).expect("event data is JSON"));
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Sends one request on a new connection to `addr`.
pub async fn send(addr: SocketAddr, method: Method, headers: &[(&str, &str)], body: &str) -> Open {
    send_to(addr, "/mcp", method, headers, body).await
}

/// Sends one request for `path` on a new connection to `addr`.
pub async fn send_to(
    addr: SocketAddr,
    path: &str,
    method: Method,
    headers: &[(&str, &str)],
    body: &str,
) -> Open {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    tokio::spawn(conn);
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("host")) {
        request = request.header("host", format!("127.0.0.1:{}", addr.port()));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("a valid request");
    let response = tokio::time::timeout(HANG, sender.send_request(request))
        .await
        .expect("a response in time")
        .expect("send the request");
    let (parts, body) = response.into_parts();
    Open {
        status: parts.status,
        headers: parts.headers,
        body,
        buffer: Vec::new(),
    }
}

/// A POST of `body` with the usual Accept and Content-Type, plus `headers`.
pub async fn post(addr: SocketAddr, headers: &[(&str, &str)], body: &Value) -> Open {
    let mut all = vec![("accept", ACCEPT_BOTH), ("content-type", "application/json")];
    all.extend_from_slice(headers);
    send(addr, Method::POST, &all, &body.to_string()).await
}

/// A 2025 session over HTTP.
pub struct Session {
    pub addr: SocketAddr,
    pub id: String,
}

impl Session {
    /// `initialize` at 2025-11-25, then `notifications/initialized`.
    pub async fn start(addr: SocketAddr) -> Self {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"}}});
        let response = post(addr, &[], &init).await;
        assert_eq!(response.status, StatusCode::OK);
        let id = response.headers["mcp-session-id"]
            .to_str()
            .expect("visible ASCII")
            .to_owned();
        assert_eq!(response.json().await["result"]["protocolVersion"], "2025-11-25");
        let session = Self { addr, id };
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(session.post(&note).await.status, StatusCode::ACCEPTED);
        session
    }

    /// A POST in this session.
    pub async fn post(&self, body: &Value) -> Open {
        post(
            self.addr,
            &[
                ("mcp-session-id", &self.id),
                ("mcp-protocol-version", "2025-11-25"),
            ],
            body,
        )
        .await
    }

    /// A request in this session, answered as JSON; the whole answer.
    pub async fn request(&self, id: u64, method: &str, params: Value) -> Value {
        let response = self
            .post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        assert_eq!(response.status, StatusCode::OK);
        response.json().await
    }

    /// A GET: the standalone stream.
    pub async fn listen(&self) -> Open {
        send(
            self.addr,
            Method::GET,
            &[("accept", "text/event-stream"), ("mcp-session-id", &self.id)],
            "",
        )
        .await
    }

    /// A GET resuming after `last_event_id`, retried while the previous
    /// standalone stream is still being closed (409).
    pub async fn resume(&self, last_event_id: &str) -> Open {
        let deadline = tokio::time::Instant::now() + HANG;
        loop {
            let response = send(
                self.addr,
                Method::GET,
                &[
                    ("accept", "text/event-stream"),
                    ("mcp-session-id", &self.id),
                    ("last-event-id", last_event_id),
                ],
                "",
            )
            .await;
            if response.status != StatusCode::CONFLICT {
                return response;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the standalone stream never reopened"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// A DELETE of this session; its status.
    pub async fn delete(&self) -> StatusCode {
        send(self.addr, Method::DELETE, &[("mcp-session-id", &self.id)], "")
            .await
            .status
    }
}

/// The params of a 2026-07-28 request: `extra`, with the required `_meta`
/// fields merged into its own `_meta`.
pub fn stateless_params(mut extra: Value) -> Value {
    let own_meta = extra.as_object_mut().and_then(|e| e.remove("_meta"));
    let mut params = super::stateless(extra);
    if let (Some(Value::Object(own)), Some(Value::Object(meta))) = (own_meta, params.get_mut("_meta")) {
        meta.extend(own);
    }
    params
}

/// A stateless 2026-07-28 POST of `method` with the matching headers
/// (`name` for `Mcp-Name`), plus `extra` headers.
pub async fn stateless(addr: SocketAddr, method: &str, name: Option<&str>, params: Value) -> Open {
    stateless_with(addr, method, name, params, &[]).await
}

/// [`stateless`] with `extra` headers too.
pub async fn stateless_with(
    addr: SocketAddr,
    method: &str,
    name: Option<&str>,
    params: Value,
    extra: &[(&str, &str)],
) -> Open {
    let mut headers = vec![("mcp-protocol-version", "2026-07-28"), ("mcp-method", method)];
    headers.extend_from_slice(extra);
    if let Some(name) = name {
        headers.push(("mcp-name", name));
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": stateless_params(params)});
    post(addr, &headers, &body).await
}
