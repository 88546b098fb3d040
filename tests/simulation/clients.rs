//! The simulation's MCP clients, written against the wire (no SDK runs on
//! turmoil): a line client (TCP, 2025 sessions) and an HTTP client (2025
//! sessions and 2026-07-28 stateless requests, one connection per request).
//! Each keeps a [`Book`] of the requests it has open, so an answer it never
//! asked for, or a second answer to one request, is a violation.

#![allow(unreachable_pub)]

use std::collections::HashSet;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};

use super::net::{SimStream, connect};
use super::world::{HTTP, LINES, SERVER, Shared};

/// How long a client tries to connect.
const CONNECT_WITHIN: Duration = Duration::from_secs(5);

/// The requests one client has open and has had answered.
pub struct Book {
    pub who: String,
    pub ledger: Shared,
    next: u64,
    open: HashSet<String>,
    /// Given up on: one late answer may still come.
    abandoned: HashSet<String>,
    answered: HashSet<String>,
}

impl Book {
    pub fn new(who: &str, ledger: Shared) -> Self {
        Self {
            who: who.to_owned(),
            ledger,
            next: 0,
            open: HashSet::new(),
            abandoned: HashSet::new(),
            answered: HashSet::new(),
        }
    }

    /// A new request id, unique in the whole run (it names its client).
    pub fn open(&mut self) -> String {
        self.next += 1;
        let id = format!("{}-{}", self.who, self.next);
        self.open.insert(id.clone());
        id
    }

    /// Checks one answer: it must answer a request of this client that had
    /// no answer yet. Returns its id.
    pub fn answer(&mut self, answer: &Value) -> Option<String> {
        let id = answer["id"].as_str().map(str::to_owned);
        let kind = if answer.get("result").is_some() {
            "ok".to_owned()
        } else {
            format!("error {}", answer["error"]["code"])
        };
        let mut ledger = self.ledger.borrow_mut();
        match &id {
            Some(id) if self.open.remove(id) || self.abandoned.remove(id) => {
                self.answered.insert(id.clone());
                ledger.event(&self.who, format_args!("answer {id} {kind}"));
            }
            Some(id) if self.answered.contains(id) => {
                ledger.violation(&self.who, format_args!("a second answer to {id}: {answer}"));
            }
            _ => ledger.violation(&self.who, format_args!("an answer it never asked for: {answer}")),
        }
        id
    }

    /// True while `id` waits for its answer.
    pub fn is_open(&self, id: &str) -> bool {
        self.open.contains(id)
    }

    /// Gives up on `id` (its connection was lost or it was cancelled): an
    /// answer to it may still come, but only one.
    pub fn abandon(&mut self, id: &str) {
        if self.open.remove(id) {
            self.abandoned.insert(id.to_owned());
            self.ledger
                .borrow_mut()
                .event(&self.who, format_args!("abandon {id}"));
        }
    }

    pub fn note(&self, what: impl std::fmt::Display) {
        self.ledger.borrow_mut().event(&self.who, what);
    }

    pub fn violation(&self, what: impl std::fmt::Display) {
        self.ledger.borrow_mut().violation(&self.who, what);
    }
}

/// A request's JSON-RPC message.
pub fn request(id: &str, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// `initialize`'s params at 2025-11-25.
pub fn initialize_params() -> Value {
    json!({"protocolVersion": "2025-11-25", "capabilities": {},
           "clientInfo": {"name": "sim", "version": "0"}})
}

/// A line session over one simulated TCP connection.
pub struct Line {
    reader: BufReader<ReadHalf<SimStream>>,
    writer: WriteHalf<SimStream>,
}

impl Line {
    pub async fn connect() -> io::Result<Self> {
        let stream = tokio::time::timeout(CONNECT_WITHIN, connect(SERVER, LINES))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect"))??;
        let (reader, writer) = tokio::io::split(stream);
        Ok(Self {
            reader: BufReader::new(reader),
            writer,
        })
    }

    pub async fn send(&mut self, message: &Value) -> io::Result<()> {
        let mut line = message.to_string().into_bytes();
        line.push(b'\n');
        self.writer.write_all(&line).await
    }

    /// Half a line, then nothing: a client that crashes mid-write.
    pub async fn send_half(&mut self, message: &Value) -> io::Result<()> {
        let line = message.to_string().into_bytes();
        self.writer.write_all(&line[..line.len() / 2]).await
    }

    /// The next message; `None` at the end of the stream.
    pub async fn recv(&mut self) -> io::Result<Option<Value>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        serde_json::from_str(&line)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e}: {line:?}")))
    }

    /// Reads until the answer to `id` (checking every answer on the way in
    /// `book`), or gives up after `wait`.
    pub async fn answer_to(&mut self, book: &mut Book, id: &str, wait: Duration) -> io::Result<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.recv())
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("no answer to {id}")))??
                .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed"))?;
            if message.get("method").is_some() {
                continue; // a notification (progress, log, list_changed)
            }
            if book.answer(&message).as_deref() == Some(id) {
                return Ok(message);
            }
        }
    }

    /// Connects and initializes a 2025 session.
    pub async fn session(book: &mut Book, wait: Duration) -> io::Result<Self> {
        let mut line = Self::connect().await?;
        let id = book.open();
        line.send(&request(&id, "initialize", initialize_params()))
            .await?;
        if let Err(e) = line.answer_to(book, &id, wait).await {
            book.abandon(&id);
            return Err(e);
        }
        line.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        Ok(line)
    }
}

/// An HTTP answer: its status, its headers and the JSON-RPC messages of its
/// body (one JSON body, or the data of each SSE event).
pub struct Reply {
    pub status: u16,
    pub session: Option<String>,
    pub messages: Vec<Value>,
}

/// One HTTP request on a new simulated connection.
pub async fn http(method: &str, headers: &[(&str, &str)], body: Option<&Value>) -> io::Result<Reply> {
    let stream = connect(SERVER, HTTP).await?;
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
    let response = sender.send_request(request).await.map_err(io::Error::other)?;
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
