//! The seed's core suite: each test checks one of the seed's criteria against
//! a real `Server` over real TCP sockets on 127.0.0.1.
//!
//! The tests share one lock and run one at a time: they measure the process
//! (CPU time, resident memory) and load both cores, so running them side by
//! side would make each disturb the others. Timeouts here only catch hangs;
//! nothing is a benchmark.

#![cfg(not(any(loom, shuttle)))]

#[path = "async_correctness/backpressure.rs"]
mod backpressure;
mod support;
#[path = "async_correctness/timing.rs"]
mod timing;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use mcp_server_core::{FullPolicy, Notification, ServerConfig, ServerHandle};
use serde_json::{Value, json};
use support::{Client, HANG, TestServer, error_code, patient};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// One test at a time (see the module docs).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Makes sure the process may open `n` more files (each connection is two
/// descriptors here: the client's and the server's).
fn allow_open_files(n: u64) {
    let (soft, hard) = rlimit::Resource::NOFILE.get().expect("read RLIMIT_NOFILE");
    if soft < n {
        rlimit::Resource::NOFILE
            .set(n.min(hard), hard)
            .expect("raise RLIMIT_NOFILE");
    }
}

/// Connects and initializes `n` clients concurrently.
async fn connect_many(server: &TestServer, n: usize) -> Vec<Client> {
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        let addr = server.addr;
        tasks.spawn(async move {
            let mut client = Client::connect(addr).await;
            client.initialize().await;
            client
        });
    }
    let mut clients = Vec::with_capacity(n);
    while let Some(client) = tasks.join_next().await {
        clients.push(client.expect("a client failed to connect and initialize"));
    }
    clients
}

fn call(id: u64, tool: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}})
}

/// Seed criterion: **no deadlock on shutdown, under load.** 500 connected
/// sessions and 100 requests in flight (60 in a tool that waits for its
/// cancellation, 40 in the built-in `sleep`). After shutdown: `serve` returns
/// within 5 s, every client sees its connection closed, every slow handler
/// saw its cancellation, the registry is empty, every permit is back, and the
/// report adds up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_deadlock_on_shutdown_under_load() {
    let _serial = SERIAL.lock().await;
    allow_open_files(4096);
    let seen = Arc::new(AtomicUsize::new(0));
    let config = ServerConfig::default().max_sessions(1000);
    let server = TestServer::start(config, vec![patient(Arc::clone(&seen))]).await;
    let mut clients = connect_many(&server, 500).await;
    for (i, client) in clients.iter_mut().take(100).enumerate() {
        let request = if i < 60 {
            call(1, "patient", json!({}))
        } else {
            call(1, "sleep", json!({"ms": 600_000}))
        };
        client.send(&request).await;
    }
    server
        .wait_for("100 requests in flight", |h| {
            h.metrics().requests_in_flight == 100
        })
        .await;
    assert_eq!(server.handle.sessions().len(), 500);

    let handle = server.handle.clone();
    handle.shutdown();
    let report = tokio::time::timeout(Duration::from_secs(5), server.join)
        .await
        .expect("serve did not return within 5 s of shutdown")
        .expect("serve panicked");
    assert_eq!(
        report.sessions_closed + report.sessions_aborted,
        500,
        "{report:?}"
    );
    for client in &mut clients {
        client.expect_closed().await;
    }
    assert_eq!(
        seen.load(Ordering::SeqCst),
        60,
        "every patient handler saw its cancellation"
    );
    let metrics = handle.metrics();
    assert_eq!(metrics.requests_cancelled, 100);
    assert_eq!(metrics.requests_in_flight, 0);
    assert_eq!(metrics.sessions_active, 0);
    assert!(handle.sessions().is_empty(), "the registry is empty");
    assert_eq!(handle.available_permits(), 1000, "every permit is back");
}

enum Attempt {
    Admitted(TcpStream),
    Refused,
}

/// Connects, sends `initialize`, and reads the first line back.
async fn attempt(addr: std::net::SocketAddr) -> Attempt {
    let stream = TcpStream::connect(addr).await.expect("connect");
    // Close with a reset when dropped: ten rounds of a thousand clients would
    // otherwise leave thousands of local ports in TIME_WAIT. (Deprecated
    // because a non-zero linger blocks the dropping thread; zero does not.)
    #[allow(deprecated)]
    stream.set_linger(Some(Duration::ZERO)).unwrap();
    let mut stream = BufReader::new(stream);
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "storm", "version": "0"}}});
    stream
        .get_mut()
        .write_all(format!("{init}\n").as_bytes())
        .await
        .expect("send initialize");
    let mut line = String::new();
    tokio::time::timeout(HANG, stream.read_line(&mut line))
        .await
        .expect("no answer to initialize")
        .expect("read the answer");
    let answer: Value = serde_json::from_str(&line).expect("a JSON-RPC answer");
    if answer["result"]["protocolVersion"].is_string() {
        Attempt::Admitted(stream.into_inner())
    } else {
        assert_eq!(error_code(&answer), -32000, "{answer}");
        assert_eq!(answer["error"]["data"]["maxSessions"], 100);
        Attempt::Refused
    }
}

/// Seed criterion: **the connection limit is atomic.** Ten rounds of 1,000
/// concurrent connects against `max_sessions = 100`, every admitted client
/// staying connected until the round ends: exactly 100 complete the handshake
/// and 900 get the capacity error, every round; a watcher sampling the
/// server's gauges throughout never sees more than 100.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limit_is_atomic() {
    let _serial = SERIAL.lock().await;
    allow_open_files(4096);
    let server = TestServer::start(ServerConfig::default().max_sessions(100), vec![]).await;
    let peak = Arc::new(AtomicU64::new(0));
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (handle, peak, watching) = (server.handle.clone(), Arc::clone(&peak), Arc::clone(&watching));
        tokio::spawn(async move {
            while watching.load(Ordering::SeqCst) {
                let live = handle
                    .metrics()
                    .sessions_active
                    .max(handle.sessions().len() as u64);
                peak.fetch_max(live, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
        })
    };
    for round in 0..10 {
        let mut tasks = JoinSet::new();
        for _ in 0..1000 {
            tasks.spawn(attempt(server.addr));
        }
        let mut admitted = Vec::new();
        let mut refused = 0;
        while let Some(result) = tasks.join_next().await {
            match result.expect("a connect task failed") {
                Attempt::Admitted(stream) => admitted.push(stream),
                Attempt::Refused => refused += 1,
            }
        }
        assert_eq!((admitted.len(), refused), (100, 900), "round {round}");
        let metrics = server.handle.metrics();
        assert_eq!(metrics.sessions_admitted, 100 * (round + 1));
        assert_eq!(metrics.sessions_rejected, 900 * (round + 1));
        drop(admitted);
        server
            .wait_for("every session to leave", |h| {
                h.sessions().is_empty() && h.available_permits() == 100
            })
            .await;
    }
    watching.store(false, Ordering::SeqCst);
    watcher.await.unwrap();
    assert!(
        peak.load(Ordering::SeqCst) <= 100,
        "saw {} live sessions",
        peak.load(Ordering::SeqCst)
    );
    assert_eq!(peak.load(Ordering::SeqCst), 100);
    server.stop().await;
}

/// Seed criterion: **lock contention.** Eight tasks call `notify_client`,
/// `broadcast` and `sessions()` as fast as they can while four others connect
/// and disconnect sessions in a loop and ten clients stay connected. The
/// test finishes (no deadlock), and every notification handed to the server
/// is delivered or counted as dropped: at the end, messages sent plus
/// dropped equals notifications accepted or dropped plus one response per
/// request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_contention_loses_nothing() {
    let _serial = SERIAL.lock().await;
    allow_open_files(4096);
    let config = ServerConfig::default().max_sessions(200).outbox_capacity(8);
    let server = TestServer::start(config, vec![]).await;
    let stable = connect_many(&server, 10).await;
    let mut readers = JoinSet::new();
    for mut client in stable {
        readers.spawn(async move {
            let mut received = 0u64;
            while client.recv().await.is_some() {
                received += 1;
            }
            received
        });
    }
    let handed = Arc::new(AtomicU64::new(0));
    let work = async {
        let mut tasks = JoinSet::new();
        for churner in 0..4 {
            let addr = server.addr;
            tasks.spawn(async move {
                for i in 0..60 {
                    let mut client = Client::connect(addr).await;
                    if (i + churner) % 3 != 0 {
                        client.initialize().await;
                    }
                    drop(client);
                }
            });
        }
        for notifier in 0..8u64 {
            let (handle, handed) = (server.handle.clone(), Arc::clone(&handed));
            tasks.spawn(async move {
                let note = Notification::log("info", Some("contention"), json!("x"));
                for i in 0..400u64 {
                    match (i + notifier) % 3 {
                        0 => {
                            let sessions = handle.sessions();
                            if let Some(target) = sessions.get((i as usize) % sessions.len().max(1)) {
                                match handle.notify_client(target.id, &note) {
                                    Ok(()) => handed.fetch_add(1, Ordering::SeqCst),
                                    Err(e) if e.is_dropped() => handed.fetch_add(1, Ordering::SeqCst),
                                    Err(_) => 0,
                                };
                            }
                        }
                        1 => {
                            let report = handle.broadcast(&note);
                            handed.fetch_add((report.queued + report.dropped) as u64, Ordering::SeqCst);
                        }
                        _ => assert!(handle.sessions().len() <= 200),
                    }
                    if i % 16 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("a contention task panicked");
        }
    };
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .expect("contention did not finish: deadlock?");
    let handle = server.handle.clone();
    server.stop().await;
    let mut received = 0;
    while let Some(count) = readers.join_next().await {
        received += count.unwrap();
    }
    let m = handle.metrics();
    let handed = handed.load(Ordering::SeqCst);
    assert!(
        handed > 1000 && received > 0,
        "the test did little: {handed} handed, {received} received"
    );
    assert_eq!(
        m.messages_sent + m.messages_dropped,
        handed + m.requests_total,
        "lost silently: {m:?}, {handed} notifications handed"
    );
}
