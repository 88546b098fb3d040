//! The simulation's line client (TCP, 2025 sessions), written against the
//! wire (no SDK runs on turmoil; the HTTP client is `http_client.rs`), and
//! the [`Book`] every client keeps of the requests it has open, so an
//! answer it never asked for, or a second answer to one request, is a
//! violation.

#![allow(unreachable_pub)]

use std::collections::HashSet;
use std::io;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};

use super::net::{SimStream, connect};
use super::world::{LINES, SERVER, Shared};

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
            let message = masked(&answer["error"]["message"].to_string());
            format!("error {} {message}", answer["error"]["code"])
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

/// `text` with every run of 16 or more hex digits (the server's random
/// ids: tasks, sessions) as `<id>`, so that a trace replays.
fn masked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() >= 16 { "<id>" } else { &run });
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// A request's JSON-RPC message.
pub fn request(id: &str, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// `initialize`'s params at 2025-11-25: a client that can be asked for
/// input (elicitation) and for a completion (sampling).
pub fn initialize_params() -> Value {
    json!({"protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}, "sampling": {}},
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
