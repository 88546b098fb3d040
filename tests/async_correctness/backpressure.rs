//! Backpressure: memory stays flat under a client that never reads, or
//! the slow client is disconnected instead, as configured.

use super::*;

/// Resident memory of this process, in KiB (from `/proc/self/status`).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// A client that reads everything, counts notifications, and answers pings.
struct GoodClient {
    writer: tokio::net::tcp::OwnedWriteHalf,
    responses: tokio::sync::mpsc::Receiver<Value>,
    notifications: Arc<AtomicU64>,
}

/// Broadcasts until both sessions have finished their handshake and receive
/// broadcasts (the `initialized` notification may still be on its way).
async fn wait_until_both_receive(handle: &ServerHandle, note: &Notification) {
    let deadline = tokio::time::Instant::now() + HANG;
    while handle.broadcast(note).queued < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "sessions never became receivers"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn good_client(server: &TestServer) -> GoodClient {
    let mut client = Client::connect(server.addr).await;
    client.initialize().await;
    let (reader, writer) = client.into_parts();
    let (tx, responses) = tokio::sync::mpsc::channel(16);
    let notifications = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&notifications);
    tokio::spawn(async move {
        let mut lines = reader.lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let message: Value = serde_json::from_str(&line).unwrap();
            if message.get("method").is_some() {
                counter.fetch_add(1, Ordering::Relaxed);
            } else if tx.send(message).await.is_err() {
                break;
            }
        }
    });
    GoodClient {
        writer,
        responses,
        notifications,
    }
}

impl GoodClient {
    /// Round trip of one ping.
    async fn ping(&mut self, id: u64) -> Duration {
        let started = tokio::time::Instant::now();
        let ping = json!({"jsonrpc": "2.0", "id": id, "method": "ping"});
        self.writer
            .write_all(format!("{ping}\n").as_bytes())
            .await
            .unwrap();
        let answer = tokio::time::timeout(HANG, self.responses.recv())
            .await
            .expect("the well-behaved client got no answer")
            .expect("the well-behaved client's connection closed");
        assert_eq!(answer["id"], id);
        started.elapsed()
    }
}

/// Seed criterion: **backpressure.** One client never reads while the server
/// broadcasts 100,000 notifications of 1 KiB: its outbox never holds more
/// than its capacity, its drops are counted, a well-behaved client on the
/// same server keeps getting answers, and resident memory stays flat (an
/// unbounded queue would hold about 100 MiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_keeps_memory_flat_under_a_client_that_never_reads() {
    let _serial = SERIAL.lock().await;
    const CAPACITY: usize = 256;
    const TOTAL: u64 = 100_000;
    let server = TestServer::start(ServerConfig::default().outbox_capacity(CAPACITY), vec![]).await;
    let mut slow = Client::connect(server.addr).await;
    slow.initialize().await; // then never reads again
    let mut good = good_client(&server).await;
    let slow_id = server.handle.sessions()[0].id;
    let note = Notification::log("info", Some("flood"), json!("x".repeat(1024)));
    wait_until_both_receive(&server.handle, &note).await;

    let (mut queued, mut dropped, mut gone) = (0u64, 0u64, 0u64);
    let mut baseline = 0;
    let mut peak = 0;
    let mut slowest_ping = Duration::ZERO;
    for i in 0..TOTAL {
        let report = server.handle.broadcast(&note);
        queued += report.queued as u64;
        dropped += report.dropped as u64;
        gone += report.gone as u64;
        if i % 1000 == 999 {
            let depth = server
                .handle
                .sessions()
                .into_iter()
                .find(|s| s.id == slow_id)
                .expect("the slow client stays connected")
                .queue_depth;
            assert!(depth <= CAPACITY, "outbox holds {depth} > {CAPACITY}");
            if i == 9_999 {
                baseline = rss_kib(); // after the queues and socket buffers filled
            }
            peak = peak.max(rss_kib());
        }
        if i % 10_000 == 5_000 {
            slowest_ping = slowest_ping.max(good.ping(i).await);
        }
        if i % 64 == 0 {
            tokio::task::yield_now().await;
        }
    }
    slowest_ping = slowest_ping.max(good.ping(TOTAL).await);
    eprintln!(
        "backpressure: queued {queued}, dropped {dropped}, baseline {baseline} KiB, peak {peak} KiB, \
         slowest ping {slowest_ping:?}, well-behaved client received {}",
        good.notifications.load(Ordering::Relaxed)
    );
    assert_eq!(
        queued + dropped + gone,
        2 * TOTAL,
        "both sessions were targeted every time"
    );
    assert_eq!(gone, 0);
    assert!(
        dropped > TOTAL / 2,
        "the slow client's overflow was dropped and counted: {dropped}"
    );
    assert!(server.handle.metrics().messages_dropped >= dropped);
    let growth = peak.saturating_sub(baseline);
    assert!(growth < 16 * 1024, "resident memory grew by {growth} KiB");
    drop(slow);
    server.stop().await;
}

/// Seed criterion: **backpressure**, with the policy that disconnects a slow
/// client: the client that never reads is cut off, the well-behaved one
/// stays and keeps getting answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_can_disconnect_the_slow_client_instead() {
    let _serial = SERIAL.lock().await;
    let config = ServerConfig::default()
        .outbox_capacity(64)
        .full_policy(FullPolicy::Disconnect);
    let server = TestServer::start(config, vec![]).await;
    let mut slow = Client::connect(server.addr).await;
    slow.initialize().await;
    let mut good = good_client(&server).await;
    let note = Notification::log("info", None, json!("y".repeat(1024)));
    wait_until_both_receive(&server.handle, &note).await;
    // Paced so that the well-behaved client keeps up: it never lags more than
    // half its outbox behind, so only the client that never reads overflows.
    let mut sent = 1u64;
    while server.handle.sessions().len() == 2 {
        while sent - good.notifications.load(Ordering::Relaxed) > 32 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        server.handle.broadcast(&note);
        sent += 1;
        assert!(sent < 1_000_000, "the slow client was never disconnected");
    }
    good.ping(1).await;
    assert_eq!(server.handle.sessions().len(), 1);
    assert!(server.handle.metrics().messages_dropped > 0);
    slow.expect_closed().await;
    server.stop().await;
}
