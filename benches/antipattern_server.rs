//! The "before": the same MCP protocol code and the same tools as
//! `mcp-server-core`, wired the way the seed calls bad. It exists only to be
//! measured against (`analysis/async-fixes-performance.md`); nothing in the
//! library uses it.
//!
//! The five antipatterns, on purpose:
//!
//! 1. The accept loop hands connections over an unbounded channel that the
//!    main loop polls with `try_recv` and a 100 ms sleep.
//! 2. Shutdown is an `Arc<RwLock<bool>>` flag that every loop checks (reads
//!    time out every 100 ms so that the flag is seen).
//! 3. `broadcast` holds the session map's write lock while it sends to every
//!    client, and encodes the message once per client.
//! 4. `max_clients` is a counter that is checked, then incremented.
//! 5. Every channel is unbounded: a client that never reads grows its queue
//!    without limit.
//!
//! ```text
//! cargo run --release --example antipattern_server -- --tcp 127.0.0.1:7879 --max-sessions 1024
//! ```

#[cfg(not(any(loom, shuttle)))]
mod before {
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Arc, RwLock};
    use std::time::Duration;

    use clap::Parser;
    use mcp_server_core::protocol::jsonrpc::{self, ErrorObject, Incoming, RequestId};
    use mcp_server_core::protocol::mcp::Lifecycle;
    use serde_json::{Value, json};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

    /// The antipattern server (for benchmarks only).
    #[derive(Debug, Parser)]
    struct Args {
        /// Serve on this address.
        #[arg(long, default_value = "127.0.0.1:7879")]
        tcp: SocketAddr,
        /// The racy session limit.
        #[arg(long, default_value_t = 1024)]
        max_sessions: usize,
    }

    const POLL: Duration = Duration::from_millis(100);

    struct State {
        shutdown: Arc<RwLock<bool>>,
        sessions: tokio::sync::RwLock<HashMap<u64, UnboundedSender<String>>>,
        live: AtomicUsize,
        max: usize,
        next_id: AtomicU64,
    }

    pub(crate) async fn run() -> anyhow::Result<()> {
        let args = Args::parse();
        let state = Arc::new(State {
            shutdown: Arc::new(RwLock::new(false)),
            sessions: tokio::sync::RwLock::new(HashMap::new()),
            live: AtomicUsize::new(0),
            max: args.max_sessions,
            next_id: AtomicU64::new(1),
        });
        let flag = Arc::clone(&state.shutdown);
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            *flag.write().expect("flag lock") = true;
        });
        let listener = TcpListener::bind(args.tcp).await?;
        eprintln!("antipattern server on {}", listener.local_addr()?);
        // (1) an unbounded hand-over channel, polled.
        let (tx, mut rx) = mpsc::unbounded_channel::<TcpStream>();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = tx.send(stream);
            }
        });
        loop {
            if *state.shutdown.read().expect("flag lock") {
                break;
            }
            match rx.try_recv() {
                Ok(stream) => {
                    // (4) check, then act.
                    if state.live.load(Ordering::SeqCst) >= state.max {
                        tokio::spawn(refuse(stream, state.max));
                        continue;
                    }
                    tokio::spawn(session(Arc::clone(&state), stream));
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
        // Wait for the sessions to notice the flag, polling.
        while state.live.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(POLL).await;
        }
        eprintln!("antipattern server stopped");
        Ok(())
    }

    async fn refuse(mut stream: TcpStream, max: usize) {
        let error = ErrorObject::new(-32000, format!("server at capacity (max_sessions = {max})"));
        let mut line = jsonrpc::encode_error(None, &error).to_vec();
        line.push(b'\n');
        let _ = stream.write_all(&line).await;
    }

    async fn session(state: Arc<State>, stream: TcpStream) {
        // (4) continued: the increment comes later, in the session's task.
        state.live.fetch_add(1, Ordering::SeqCst);
        stream.set_nodelay(true).ok();
        let id = state.next_id.fetch_add(1, Ordering::SeqCst);
        let (reader, mut writer) = stream.into_split();
        // (5) an unbounded outbox.
        let (out, mut outbox): (UnboundedSender<String>, UnboundedReceiver<String>) =
            mpsc::unbounded_channel();
        let writer_task = tokio::spawn(async move {
            while let Some(line) = outbox.recv().await {
                if writer.write_all(line.as_bytes()).await.is_err() || writer.write_all(b"\n").await.is_err()
                {
                    break;
                }
            }
        });
        let mut lines = BufReader::new(reader).lines();
        let mut lifecycle = Lifecycle::default();
        loop {
            // (2) the flag, checked between reads that time out to see it.
            if *state.shutdown.read().expect("flag lock") {
                break;
            }
            let line = match tokio::time::timeout(POLL, lines.next_line()).await {
                Err(_) => continue,
                Ok(Ok(Some(line))) => line,
                Ok(_) => break,
            };
            if line.trim().is_empty() {
                continue;
            }
            match jsonrpc::parse(line.as_bytes()) {
                Err(r) => send(&out, &jsonrpc::encode_error(r.id.as_ref(), &r.error)),
                Ok(Incoming::Request {
                    id: rid,
                    method,
                    params,
                }) => handle(&state, &out, &mut lifecycle, rid, &method, params.into_value()),
                Ok(Incoming::Notification { method, .. }) if method == "notifications/initialized" => {
                    lifecycle.initialized();
                    state.sessions.write().await.insert(id, out.clone());
                }
                Ok(_) => {}
            }
        }
        state.sessions.write().await.remove(&id);
        drop(out);
        writer_task.abort();
        state.live.fetch_sub(1, Ordering::SeqCst);
    }

    fn send(out: &UnboundedSender<String>, frame: &[u8]) {
        let _ = out.send(String::from_utf8_lossy(frame).into_owned());
    }

    fn text(s: String) -> Value {
        json!({"content": [{"type": "text", "text": s}], "isError": false})
    }

    fn handle(
        state: &Arc<State>,
        out: &UnboundedSender<String>,
        lifecycle: &mut Lifecycle,
        id: RequestId,
        method: &str,
        params: Option<Value>,
    ) {
        if let Err(e) = lifecycle.classify(method, params.as_ref().and_then(|p| p.get("_meta"))) {
            return send(out, &jsonrpc::encode_error(Some(&id), &e));
        }
        let result = match method {
            "initialize" => match lifecycle.initialize(params.as_ref()) {
                Ok(v) => json!({"protocolVersion": v, "capabilities": {"tools": {}, "logging": {}},
                                "serverInfo": {"name": "antipattern", "version": "0"}}),
                Err(e) => return send(out, &jsonrpc::encode_error(Some(&id), &e)),
            },
            "ping" => json!({}),
            "tools/list" => json!({"tools": [{"name": "echo"}, {"name": "sleep"}, {"name": "broadcast"}]}),
            "tools/call" => {
                let params = params.unwrap_or_default();
                let args = params.get("arguments").cloned().unwrap_or_default();
                let name = params
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let (state, out) = (Arc::clone(state), out.clone());
                // Unbounded concurrency per session: every call is a task.
                tokio::spawn(async move {
                    let result = match name.as_str() {
                        "echo" => text(args["text"].as_str().unwrap_or_default().to_owned()),
                        "sleep" => {
                            let ms = args["ms"].as_u64().unwrap_or(0);
                            tokio::time::sleep(Duration::from_millis(ms)).await;
                            text(format!("slept {ms} ms"))
                        }
                        "broadcast" => {
                            let message = args["message"].as_str().unwrap_or_default().to_owned();
                            let delivered = broadcast(&state, &message).await;
                            json!({"content": [{"type": "text", "text": format!("{{\"delivered\":{delivered}}}")}],
                                   "structuredContent": {"delivered": delivered, "dropped": 0}, "isError": false})
                        }
                        other => {
                            let e = ErrorObject::invalid_params(format!("unknown tool: {other}"));
                            return send(&out, &jsonrpc::encode_error(Some(&id), &e));
                        }
                    };
                    send(&out, &jsonrpc::encode_result(&id, result));
                });
                return;
            }
            _ => {
                return send(
                    out,
                    &jsonrpc::encode_error(Some(&id), &ErrorObject::method_not_found(method)),
                );
            }
        };
        send(out, &jsonrpc::encode_result(&id, result));
    }

    /// (3) the write lock held while sending to every client; one encoding
    /// per client.
    async fn broadcast(state: &State, message: &str) -> usize {
        let sessions = state.sessions.write().await;
        let mut delivered = 0;
        for tx in sessions.values() {
            let frame = jsonrpc::encode_notification(
                "notifications/message",
                Some(json!({"level": "info", "logger": "broadcast", "data": message})),
            );
            if tx.send(String::from_utf8_lossy(&frame).into_owned()).is_ok() {
                delivered += 1;
            }
        }
        delivered
    }
}

#[cfg(not(any(loom, shuttle)))]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    before::run().await
}

#[cfg(any(loom, shuttle))]
fn main() {}
