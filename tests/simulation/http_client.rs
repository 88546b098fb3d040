//! The simulation's HTTP client: one request per new simulated connection
//! (2025 sessions and 2026-07-28 stateless requests), read whole
//! ([`http`]) or event by event ([`open_events`], for listen streams).

#![allow(unreachable_pub)]

use std::io;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use super::net::connect;
use super::world::{HTTP, SERVER};

/// Sends one request to the server on a new simulated connection; the
/// response, its body still to read.
async fn send(
    method: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> io::Result<http::Response<Incoming>> {
    send_to(SERVER, method, headers, body).await
}

/// As [`send`], to the server host named `host`.
async fn send_to(
    host: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> io::Result<http::Response<Incoming>> {
    let stream = connect(host, HTTP).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    tokio::spawn(conn);
    let mut request = http::Request::builder()
        .method(method)
        .uri("/mcp")
        .header("host", "127.0.0.1")
        .header("accept", "application/json, text/event-stream");
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let bytes = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
    let request = request.body(Full::new(bytes)).map_err(io::Error::other)?;
    sender.send_request(request).await.map_err(io::Error::other)
}

/// An HTTP answer: its status, its headers and the JSON-RPC messages of its
/// body (one JSON body, or the data of each SSE event).
pub struct Reply {
    pub status: u16,
    pub session: Option<String>,
    pub messages: Vec<Value>,
}

/// One HTTP request on a new simulated connection, its body read whole.
pub async fn http(method: &str, headers: &[(&str, &str)], body: Option<&Value>) -> io::Result<Reply> {
    http_at(SERVER, method, headers, body).await
}

/// As [`http`], to the server host named `host`.
pub async fn http_at(
    host: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> io::Result<Reply> {
    let response = send_to(host, method, headers, body).await?;
    let status = response.status().as_u16();
    let session = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let sse = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(io::Error::other)?
        .to_bytes();
    let messages = if sse {
        String::from_utf8_lossy(&body)
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str(d.trim()).ok())
            .collect()
    } else {
        serde_json::from_slice(&body).into_iter().collect()
    };
    Ok(Reply {
        status,
        session,
        messages,
    })
}

/// The `params` of a 2026-07-28 request, `extra` merged in.
pub fn stateless_params(mut extra: Value) -> Value {
    let own_meta = extra.as_object_mut().and_then(|e| e.remove("_meta"));
    let mut params = json!({"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "sim", "version": "0"}
    }});
    if let (Value::Object(p), Value::Object(e)) = (&mut params, extra) {
        p.extend(e);
    }
    if let (Some(Value::Object(own)), Some(Value::Object(meta))) = (own_meta, params.get_mut("_meta")) {
        meta.extend(own);
    }
    params
}

/// What a 2026-07-28 request with `params` names in `Mcp-Name`: a tool's
/// name, or a task's id for `tasks/*`.
pub fn mcp_name(params: &Value) -> Option<String> {
    params["name"]
        .as_str()
        .or(params["taskId"].as_str())
        .map(str::to_owned)
}

/// The headers of a 2026-07-28 request of `method` (`name` for `Mcp-Name`).
pub fn stateless_headers<'a>(method: &'a str, name: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![("mcp-protocol-version", "2026-07-28"), ("mcp-method", method)];
    if let Some(name) = name {
        headers.push(("mcp-name", name));
    }
    headers
}

/// An SSE response read event by event.
pub struct Events {
    pub status: u16,
    body: Incoming,
    buffer: Vec<u8>,
    /// The id of the last event read (a priming event's included).
    pub last_id: Option<String>,
}

impl Events {
    fn of(response: http::Response<Incoming>) -> Self {
        Self {
            status: response.status().as_u16(),
            body: response.into_body(),
            buffer: Vec::new(),
            last_id: None,
        }
    }
}

/// A request whose answer is read as a stream of events.
pub async fn open_events(headers: &[(&str, &str)], body: &Value) -> io::Result<Events> {
    Ok(Events::of(send("POST", headers, Some(body)).await?))
}

/// As [`open_events`], to the server host named `host`.
pub async fn open_events_at(host: &str, headers: &[(&str, &str)], body: &Value) -> io::Result<Events> {
    Ok(Events::of(send_to(host, "POST", headers, Some(body)).await?))
}

/// A GET (a 2025 session's standalone stream), read as a stream of events.
pub async fn open_get(headers: &[(&str, &str)]) -> io::Result<Events> {
    open_get_at(SERVER, headers).await
}

/// As [`open_get`], to the server host named `host`.
pub async fn open_get_at(host: &str, headers: &[(&str, &str)]) -> io::Result<Events> {
    Ok(Events::of(send_to(host, "GET", headers, None).await?))
}

impl Events {
    /// The next JSON-RPC message; `None` once the stream has ended.
    pub async fn next(&mut self) -> io::Result<Option<Value>> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let event: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let text = String::from_utf8_lossy(&event);
                if let Some(id) = text.lines().find_map(|l| l.strip_prefix("id:")) {
                    self.last_id = Some(id.trim().to_owned());
                }
                let data: String = text.lines().filter_map(|l| l.strip_prefix("data:")).collect();
                if data.trim().is_empty() {
                    continue; // a priming event or a comment
                }
                return serde_json::from_str(data.trim())
                    .map(Some)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e));
            }
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(io::Error::other(e)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}
