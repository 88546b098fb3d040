//! The session engine and the line transport under shuttle: the real
//! `Server` (`serve_lines`), its sessions, dispatch, calls, held answers,
//! client requests, catalog and subscriptions, compiled against
//! shuttle-tokio (`--cfg shuttle` makes the name `tokio` mean it), with
//! in-memory connections in place of sockets.
//!
//! What shuttle cannot see: the bytes inside `tokio::io::duplex` (plain
//! tokio; its wake-ups are real wakers, which shuttle honours, but no
//! schedule point falls inside it). Time does not pass by itself: the
//! engine's timers and wall clock are the shim's model clock
//! (`mcp_server_core::sync::advance_model_clock`), which a scenario moves
//! at the step it chooses; `serve` puts it back at its start.

#![allow(dead_code, unreachable_pub)]

pub mod client_requests;
pub mod handshake;
pub mod listen;
pub mod order;
pub mod scenarios;
pub mod tasks;

use std::io;
use std::sync::atomic::Ordering::SeqCst;

use mcp_server_core::{Listener, Server, ServerConfig, ServerHandle, ShutdownReport};
use serde_json::{Value, json};
use shuttle::sync::Arc;
use shuttle::sync::atomic::AtomicUsize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, ReadHalf, WriteHalf};
use tokio::sync::mpsc;

/// Connections handed to the server: each `connect` sends one end of a
/// fresh duplex pipe.
pub struct MemListener(mpsc::Receiver<DuplexStream>);

impl Listener for MemListener {
    type Io = DuplexStream;
    type Addr = u32;

    async fn accept(&mut self) -> io::Result<(DuplexStream, u32)> {
        match self.0.recv().await {
            Some(io) => Ok((io, 0)),
            // No more clients: wait, as a real listener does, for shutdown.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<u32> {
        Ok(0)
    }
}

/// Where clients connect.
#[derive(Clone)]
pub struct Dialer(mpsc::Sender<DuplexStream>);

/// A listener and its dialer.
pub fn listener() -> (MemListener, Dialer) {
    let (tx, rx) = mpsc::channel(16);
    (MemListener(rx), Dialer(tx))
}

impl Dialer {
    /// A new connection to the server; `None` once it no longer listens
    /// (its serve loop has returned).
    pub async fn connect(&self) -> Option<Client> {
        let (mine, theirs) = tokio::io::duplex(64 * 1024);
        self.0.send(theirs).await.ok()?;
        let (reader, writer) = tokio::io::split(mine);
        Some(Client {
            lines: BufReader::new(reader).lines(),
            writer,
        })
    }
}

/// One client speaking MCP 2025-11-25 over lines.
pub struct Client {
    lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
    writer: WriteHalf<DuplexStream>,
}

impl Client {
    /// Sends one message; false once the server has hung up.
    pub async fn send(&mut self, message: Value) -> bool {
        let mut line = message.to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).await.is_ok()
    }

    /// The next message from the server; `None` once it has hung up.
    pub async fn recv(&mut self) -> Option<Value> {
        let line = self.lines.next_line().await.ok()??;
        Some(serde_json::from_str(&line).expect("the server writes JSON lines"))
    }

    /// `initialize` (declaring elicitation) and `notifications/initialized`;
    /// false if the server ended the session first.
    pub async fn initialize(&mut self) -> bool {
        let init = json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "shuttle", "version": "0"}}});
        if !self.send(init).await {
            return false;
        }
        match self.recv().await {
            Some(answer) if answer["id"] == "init" && answer.get("result").is_some() => {}
            _ => return false,
        }
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await
    }

    /// Sends `tools/call` of `name` with `arguments`, as request `id`.
    pub async fn call(&mut self, id: u64, name: &str, arguments: Value) -> bool {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}}))
            .await
    }

    /// Sends a request of `method` named by the string `id`.
    pub async fn request_named(&mut self, id: &str, method: &str, params: Value) -> bool {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await
    }

    /// Sends a request of `method` as `id`.
    pub async fn request(&mut self, id: u64, method: &str, params: Value) -> bool {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await
    }

    /// Cancels request `id`.
    pub async fn cancel(&mut self, id: u64) -> bool {
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": id}}))
            .await
    }

    /// Sends `messages` in one write, so the server reads them together.
    pub async fn send_all(&mut self, messages: &[Value]) -> bool {
        let mut lines = String::new();
        for message in messages {
            lines.push_str(&message.to_string());
            lines.push('\n');
        }
        self.writer.write_all(lines.as_bytes()).await.is_ok()
    }

    /// Sends `text` as it is.
    pub async fn send_raw(&mut self, text: &str) -> bool {
        self.writer.write_all(text.as_bytes()).await.is_ok()
    }

    /// Ends the input the server reads, and goes on reading.
    pub async fn end_input(&mut self) {
        let _ = self.writer.shutdown().await;
    }

    /// Hangs up: the server sees the end of its input.
    pub async fn hang_up(mut self) {
        self.end_input().await;
    }
}

/// Answers seen by one client, checked as they come: an answer names a
/// request the client sent, and no request is answered twice.
#[derive(Debug, Default)]
pub struct Answers {
    sent: Vec<u64>,
    answered: Vec<u64>,
}

impl Answers {
    pub fn sent(&mut self, id: u64) {
        self.sent.push(id);
    }

    /// Records `message` if it is an answer (a message with an `id` and a
    /// `result` or an `error`); panics on a stranger's or a second one.
    pub fn record(&mut self, message: &Value) -> Option<u64> {
        if message.get("result").is_none() && message.get("error").is_none() {
            return None;
        }
        let id = message["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("an answer with no request: {message}"));
        assert!(
            self.sent.contains(&id),
            "an answer to a request never sent: {message}"
        );
        assert!(
            !self.answered.contains(&id),
            "request {id} answered twice: {message}"
        );
        self.answered.push(id);
        Some(id)
    }

    pub fn is_answered(&self, id: u64) -> bool {
        self.answered.contains(&id)
    }

    pub fn answered(&self) -> usize {
        self.answered.len()
    }
}

/// Runs `server` over a fresh listener: spawns the serve loop and returns
/// the dialer, the handle and the loop's join handle.
pub fn serve(server: Server) -> (Dialer, ServerHandle, tokio::task::JoinHandle<ShutdownReport>) {
    mcp_server_core::sync::reset_model_clock();
    let (listener, dialer) = listener();
    let handle = server.handle();
    let served = tokio::spawn(async move { server.serve_lines(listener).await });
    (dialer, handle, served)
}

/// Moves the model clock past every deadline set so far (the longest a
/// scenario configures is a minute; a task's time to live, an hour, is not
/// among them unless a scenario says so).
pub fn pass_deadlines() {
    mcp_server_core::sync::advance_model_clock(10 * 60 * 1000);
}

/// The small configuration of the scenarios.
pub fn config() -> ServerConfig {
    ServerConfig::default()
        .max_sessions(2)
        .max_in_flight_per_session(2)
        .outbox_capacity(8)
}

/// After the serve loop returned: nothing is left live or held.
pub fn assert_drained(handle: &ServerHandle, max_sessions: usize) {
    let m = handle.metrics();
    assert_eq!(m.sessions_active, 0, "a session is still live: {m:?}");
    assert_eq!(m.requests_in_flight, 0, "a request is still in flight: {m:?}");
    assert_eq!(
        handle.available_permits(),
        max_sessions,
        "an admission permit was leaked"
    );
    assert!(handle.sessions().is_empty(), "a session is still registered");
}

/// Counts handlers running at once and asserts a ceiling; counts handlers
/// started and ended (a dropped handler ends too).
#[derive(Clone)]
pub struct Running {
    now: Arc<AtomicUsize>,
    started: Arc<AtomicUsize>,
    ended: Arc<AtomicUsize>,
    ceiling: usize,
}

pub struct Slot(Running);

impl Running {
    pub fn new(ceiling: usize) -> Self {
        Self {
            now: Arc::new(AtomicUsize::new(0)),
            started: Arc::new(AtomicUsize::new(0)),
            ended: Arc::new(AtomicUsize::new(0)),
            ceiling,
        }
    }

    pub fn enter(&self) -> Slot {
        self.started.fetch_add(1, SeqCst);
        let now = self.now.fetch_add(1, SeqCst) + 1;
        assert!(
            now <= self.ceiling,
            "{now} handlers at once, with a cap of {}",
            self.ceiling
        );
        Slot(self.clone())
    }

    /// Every handler that started has ended.
    pub fn assert_all_ended(&self) {
        let (started, ended) = (self.started.load(SeqCst), self.ended.load(SeqCst));
        assert_eq!(started, ended, "{started} handlers started, {ended} ended");
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, SeqCst);
        self.0.ended.fetch_add(1, SeqCst);
    }
}
