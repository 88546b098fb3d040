//! Shared helpers of the integration tests: a server on a real TCP socket and
//! a line-oriented JSON-RPC client.

#![allow(dead_code, unreachable_pub)]

pub mod http;
pub mod openmetrics;
pub mod replicas;
pub mod services;
pub mod tasks;
pub mod wire;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mcp_server_core::{Server, ServerConfig, ServerHandle, ShutdownReport, Tool, ToolOutput, transport::tcp};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::task::JoinHandle;

/// Declares an async test on both of tokio's runtimes: as
/// `NAME::current_thread` and as `NAME::multi_thread` (two workers), where
/// a check-then-act race with no `.await` between check and act can show.
#[macro_export]
macro_rules! both_runtimes {
    ($(#[$meta:meta])* async fn $name:ident() $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body() $body

            #[tokio::test]
            async fn current_thread() {
                body().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn multi_thread() {
                body().await;
            }
        }
    };
}

/// How long a test waits for one message before calling it a hang.
pub const HANG: Duration = Duration::from_secs(20);

/// A server serving on 127.0.0.1 on a port of its own.
pub struct TestServer {
    pub handle: ServerHandle,
    pub addr: SocketAddr,
    pub join: JoinHandle<ShutdownReport>,
}

impl TestServer {
    /// Starts a server with the built-in tools and `tools` over TCP.
    pub async fn start(config: ServerConfig, tools: Vec<Tool>) -> Self {
        let server = build(config, tools);
        let listener = tcp::bind("127.0.0.1:0".parse().unwrap(), 4096).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = server.handle();
        let join = tokio::spawn(async move { server.serve_tcp(listener).await });
        Self { handle, addr, join }
    }

    /// Starts a server with the built-in tools and `tools` over Streamable
    /// HTTP.
    pub async fn start_http(config: ServerConfig, tools: Vec<Tool>) -> Self {
        let server = build(config, tools);
        let listener = tcp::bind("127.0.0.1:0".parse().unwrap(), 4096).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = server.handle();
        let join = tokio::spawn(async move { server.serve_http(listener).await });
        Self { handle, addr, join }
    }

    /// Serves `server` over TCP, or over Streamable HTTP when `http`.
    pub async fn serve(server: Server, http: bool) -> Self {
        let listener = tcp::bind("127.0.0.1:0".parse().unwrap(), 4096).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = server.handle();
        let join = if http {
            tokio::spawn(async move { server.serve_http(listener).await })
        } else {
            tokio::spawn(async move { server.serve_tcp(listener).await })
        };
        Self { handle, addr, join }
    }

    /// Shuts down and returns the report (panics if it hangs).
    pub async fn stop(self) -> ShutdownReport {
        self.handle.shutdown();
        tokio::time::timeout(HANG, self.join)
            .await
            .expect("serve did not return after shutdown")
            .expect("serve panicked")
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// Waits until `cond` holds on the handle (panics after [`HANG`]).
    pub async fn wait_for(&self, what: &str, cond: impl Fn(&ServerHandle) -> bool) {
        let deadline = tokio::time::Instant::now() + HANG;
        while !cond(&self.handle) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// A server with the built-in tools and `tools`.
fn build(config: ServerConfig, tools: Vec<Tool>) -> Server {
    let mut builder = Server::builder().config(config).builtin_tools();
    for tool in tools {
        builder = builder.tool(tool);
    }
    builder.build()
}

/// Waits until `cond` holds (panics after [`HANG`]).
pub async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + HANG;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A JSON-RPC client over one TCP connection.
pub struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    /// Notifications received while waiting for a response.
    pub notifications: VecDeque<Value>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        let (r, w) = stream.into_split();
        Self {
            reader: BufReader::new(r),
            writer: w,
            notifications: VecDeque::new(),
        }
    }

    /// Writes `bytes` as they are (no newline added).
    pub async fn write_bytes(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("write");
    }

    pub async fn send_raw(&mut self, line: &[u8]) {
        self.writer.write_all(line).await.expect("write");
        self.writer.write_all(b"\n").await.expect("write");
    }

    pub async fn send(&mut self, message: &Value) {
        self.send_raw(message.to_string().as_bytes()).await;
    }

    /// The next message, or `None` at EOF (or when the server reset the
    /// connection). Panics after [`HANG`].
    pub async fn recv(&mut self) -> Option<Value> {
        self.recv_within(HANG)
            .await
            .expect("timed out waiting for a message")
    }

    /// The next message within `wait`: `Err(())` if none came in time.
    pub async fn recv_within(&mut self, wait: Duration) -> Result<Option<Value>, ()> {
        let mut line = String::new();
        match tokio::time::timeout(wait, self.reader.read_line(&mut line)).await {
            Err(_) => Err(()),
            Ok(Ok(0)) | Ok(Err(_)) => Ok(None),
            // A line cut off by EOF: the server closed a connection that was
            // not reading mid-message (a slow client cut off, or shutdown).
            Ok(Ok(_)) if !line.ends_with('\n') => Ok(None),
            Ok(Ok(_)) => Ok(Some(
                serde_json::from_str(&line).expect("server sent invalid JSON"),
            )),
        }
    }

    /// Waits for the response with `id`, keeping notifications aside.
    pub async fn response(&mut self, id: &Value) -> Value {
        loop {
            let message = self
                .recv()
                .await
                .expect("connection closed while waiting for a response");
            if message.get("id") == Some(id) && message.get("method").is_none() {
                return message;
            }
            if message.get("method").is_some() {
                self.notifications.push_back(message);
            } else {
                panic!("unexpected message while waiting for {id}: {message}");
            }
        }
    }

    pub async fn request(&mut self, id: impl Into<Value>, method: &str, params: Value) -> Value {
        let id = id.into();
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        self.response(&id).await
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// The `initialize` handshake at `version`; returns the initialize result.
    pub async fn initialize_at(&mut self, version: &str) -> Value {
        let response = self
            .request(
                0,
                "initialize",
                json!({
                    "protocolVersion": version,
                    "capabilities": {},
                    "clientInfo": {"name": "test", "version": "0"}
                }),
            )
            .await;
        self.notify("notifications/initialized", json!({})).await;
        response["result"].clone()
    }

    pub async fn initialize(&mut self) -> Value {
        self.initialize_at("2025-11-25").await
    }

    /// `tools/call`; returns the whole response.
    pub async fn call(&mut self, id: impl Into<Value>, tool: &str, args: Value) -> Value {
        self.request(id, "tools/call", json!({"name": tool, "arguments": args}))
            .await
    }

    /// Waits for a notification with `method` (from those kept aside first).
    pub async fn notification(&mut self, method: &str) -> Value {
        if let Some(pos) = self.notifications.iter().position(|n| n["method"] == method) {
            return self.notifications.remove(pos).unwrap();
        }
        loop {
            let message = self
                .recv()
                .await
                .expect("connection closed while waiting for a notification");
            if message["method"] == method {
                return message;
            }
            self.notifications.push_back(message);
        }
    }

    /// Reads until EOF, panicking if it does not come.
    pub async fn expect_closed(&mut self) {
        while let Some(message) = self.recv().await {
            let _ = message;
        }
    }

    /// The line reader and the writer, for tests that read on their own.
    pub fn into_parts(self) -> (BufReader<OwnedReadHalf>, OwnedWriteHalf) {
        assert!(self.notifications.is_empty(), "unread notifications");
        (self.reader, self.writer)
    }

    pub async fn close_write(&mut self) {
        let _ = self.writer.shutdown().await;
    }
}

/// The `params` of a 2026-07-28 stateless request, with `extra` merged in.
pub fn stateless(extra: Value) -> Value {
    let mut params = json!({"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "0"}
    }});
    if let (Value::Object(p), Value::Object(e)) = (&mut params, extra) {
        p.extend(e);
    }
    params
}

/// The error code of a response (panics if it is not an error).
pub fn error_code(response: &Value) -> i64 {
    response["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {response}"))
}

/// A tool `patient` that waits until its request is cancelled, then counts
/// the cancellation in `seen`.
pub fn patient(seen: Arc<AtomicUsize>) -> Tool {
    Tool::new(
        "patient",
        "waits for cancellation",
        json!({"type": "object"}),
        move |_, ctx| {
            let seen = Arc::clone(&seen);
            async move {
                ctx.cancelled().await;
                seen.fetch_add(1, Ordering::SeqCst);
                Ok(ToolOutput::text("cancelled"))
            }
        },
    )
}

/// Sends `message` as one line on `stream` (any byte stream: a Unix
/// socket, an in-memory pipe) and reads the answer's line.
pub async fn ask_line<S>(stream: &mut BufReader<S>, message: &Value) -> Value
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut line = message.to_string();
    line.push('\n');
    stream.get_mut().write_all(line.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(HANG, stream.read_line(&mut answer))
        .await
        .expect("an answer in time")
        .unwrap();
    serde_json::from_str(&answer).expect("a JSON line")
}
