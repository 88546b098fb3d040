//! Fan-out latency of the Redis event bus: two replicas (each a `Server`
//! with its own `RedisBus`, serving Streamable HTTP on loopback) in one
//! process, a listen stream on each, read over real HTTP as Server-Sent
//! Events. Replica A raises `notifications/resources/updated`; the time
//! from the raise to the event read on B's stream (through Redis) and on
//! A's own stream (delivered at once) is recorded. One process, so both
//! times are on one clock. A benchmark subject only; `analysis/scale_out.py`
//! starts Redis and runs it.
//!
//! ```text
//! cargo run --release --example scale_out_fanout -- redis://127.0.0.1:6379/ 2000 > fanout.json
//! ```
//!
//! Two patterns: `sequential` (one event at a time, each awaited on both
//! streams) and `burst` (BURST events raised back to back, then read).

#[cfg(not(any(loom, shuttle)))]
mod bench {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper::body::Incoming;
    use hyper_util::rt::TokioIo;
    use mcp_server_core::bus::{RedisBus, RedisBusConfig};
    use mcp_server_core::transport::tcp;
    use mcp_server_core::{Server, ServerConfig, ServerHandle};
    use serde_json::{Value, json};
    use tokio::sync::mpsc;

    /// Events raised back to back in the burst pattern (below the listen
    /// stream's outbox of 256, so none is dropped).
    const BURST: usize = 200;
    const URI: &str = "bench://fanout";

    struct Replica {
        handle: ServerHandle,
        bus: Arc<RedisBus>,
        addr: std::net::SocketAddr,
    }

    async fn replica(url: &str) -> Replica {
        let bus = RedisBus::start(url, RedisBusConfig::default()).expect("a Redis address");
        let server = Server::builder()
            .config(ServerConfig::default())
            .event_bus(Arc::clone(&bus) as _)
            .build();
        let listener = tcp::bind("127.0.0.1:0".parse().unwrap(), 1024)
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let handle = server.handle();
        tokio::spawn(async move { server.serve_http(listener).await });
        Replica { handle, bus, addr }
    }

    /// Opens a listen stream on `addr` for [`URI`]; every event read on it
    /// is sent on the returned channel with the instant it was read.
    async fn listen(addr: std::net::SocketAddr) -> mpsc::Receiver<Instant> {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "subscriptions/listen", "params": {
        "notifications": {"resourceSubscriptions": [URI]},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "fanout", "version": "0"}
        }}});
        let request = hyper::Request::post(format!("http://{addr}/mcp"))
            .header("host", "127.0.0.1")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "subscriptions/listen")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let response = sender.send_request(request).await.expect("listen");
        assert_eq!(response.status(), 200);
        let (tx, rx) = mpsc::channel(4 * BURST);
        tokio::spawn(read_events(response.into_body(), tx));
        rx
    }

    /// Sends the instant each `resources/updated` event is read.
    async fn read_events(mut body: Incoming, tx: mpsc::Sender<Instant>) {
        let mut buffer = Vec::new();
        while let Some(Ok(frame)) = body.frame().await {
            let Ok(data) = frame.into_data() else { continue };
            let now = Instant::now();
            buffer.extend_from_slice(&data);
            while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
                let event: Vec<u8> = buffer.drain(..end + 2).collect();
                let needle = b"notifications/resources/updated";
                if event.windows(needle.len()).any(|w| w == needle) {
                    tx.send(now).await.expect("the bench reads every event");
                }
            }
        }
    }

    fn percentiles(mut micros: Vec<f64>) -> Value {
        micros.sort_by(f64::total_cmp);
        let at = |q: f64| micros[((micros.len() as f64 - 1.0) * q).round() as usize];
        json!({"n": micros.len(), "p50_us": at(0.5), "p99_us": at(0.99), "max_us": at(1.0)})
    }

    async fn next(rx: &mut mpsc::Receiver<Instant>) -> Instant {
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an event within 10 s")
            .expect("the stream is open")
    }

    pub(crate) async fn run(url: String, events: usize) {
        let (a, b) = (replica(&url).await, replica(&url).await);
        for r in [&a, &b] {
            while !(r.bus.metrics().subscribed && r.bus.metrics().publishing) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let mut local = listen(a.addr).await;
        let mut remote = listen(b.addr).await;
        tokio::time::sleep(Duration::from_millis(100)).await;

        let (mut seq_local, mut seq_remote) = (Vec::new(), Vec::new());
        for _ in 0..events {
            let raised = Instant::now();
            a.handle.resource_updated(URI);
            seq_local.push((next(&mut local).await - raised).as_secs_f64() * 1e6);
            seq_remote.push((next(&mut remote).await - raised).as_secs_f64() * 1e6);
        }

        let (mut burst_local, mut burst_remote) = (Vec::new(), Vec::new());
        for _ in 0..(events / BURST).max(1) {
            let raised: Vec<Instant> = (0..BURST)
                .map(|_| {
                    let t = Instant::now();
                    a.handle.resource_updated(URI);
                    t
                })
                .collect();
            for t in &raised {
                burst_local.push((next(&mut local).await - *t).as_secs_f64() * 1e6);
            }
            for t in &raised {
                burst_remote.push((next(&mut remote).await - *t).as_secs_f64() * 1e6);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let report = json!({
            "sequential": {"local": percentiles(seq_local), "remote": percentiles(seq_remote)},
            "burst": {"size": BURST, "local": percentiles(burst_local), "remote": percentiles(burst_remote)},
            "bus_a": format!("{:?}", a.bus.metrics()),
            "bus_b": format!("{:?}", b.bus.metrics()),
        });
        println!("{}", serde_json::to_string_pretty(&report).unwrap());
        a.handle.shutdown();
        b.handle.shutdown();
    }
}

#[cfg(not(any(loom, shuttle)))]
fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "redis://127.0.0.1:6379/".into());
    let events = args
        .next()
        .map_or(2000, |n| n.parse().expect("a number of events"));
    tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(bench::run(url, events));
}

#[cfg(any(loom, shuttle))]
fn main() {}
