//! The Redis task store against a real `redis-server`: replicas follow,
//! cancel and answer each other's tasks through it (records, and events
//! over pub/sub), a task whose replica stopped is reported failed, and a
//! Redis restart (durable) keeps every task record; under load, with Redis
//! frozen, killed and restarted, every task acknowledged is kept.

use std::net::SocketAddr;
use std::time::Duration;

use mcp_server_core::store::{RedisStore, RedisStoreConfig};
use mcp_server_core::{Server, ServerConfig, TaskSupport, Tool, ToolOutput};
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::services::Redis;
use crate::support::tasks::{rpc, until_status, work};
use crate::support::wait_until;

/// A replica over HTTP with `work`, keeping tasks in a Redis store.
async fn replica(redis: &Redis, config: ServerConfig) -> TestServer {
    replica_with(redis, config, RedisStoreConfig::default(), work()).await
}

/// A replica over HTTP with `tool`, keeping tasks in a Redis store
/// configured by `store_config` (with short timeouts).
async fn replica_with(
    redis: &Redis,
    config: ServerConfig,
    store_config: RedisStoreConfig,
    tool: Tool,
) -> TestServer {
    let store_config = store_config
        .command_timeout(Duration::from_millis(500))
        .max_backoff(Duration::from_millis(200))
        .health_interval(Duration::from_millis(200));
    let store = RedisStore::start(&redis.url(), store_config).expect("a Redis address");
    wait_until("the store to connect and subscribe", || {
        let m = store.metrics();
        m.connected && m.subscribed
    })
    .await;
    let server = Server::builder()
        .config(config)
        .tool(tool)
        .task_store(store)
        .build();
    TestServer::serve(server, true).await
}

/// Starts `work` for `ms` on `addr`: the task's id.
async fn start(addr: SocketAddr, ms: u64) -> Value {
    let created = rpc(
        addr,
        "tools/call",
        json!({"name": "work", "arguments": {"ms": ms}}),
    )
    .await;
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    created["result"]["taskId"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server: ci/scale-out.sh runs it"]
async fn replicas_follow_cancel_and_outlive_each_others_tasks_through_redis() {
    let mut redis = Redis::start_durable();
    let lease = ServerConfig::default().task_lease(Duration::from_millis(600));
    let a = replica(&redis, lease.clone()).await;
    let b = replica(&redis, ServerConfig::default()).await;

    let quick = start(a.addr, 200).await;
    assert_eq!(
        rpc(b.addr, "tasks/get", json!({"taskId": quick})).await["result"]["status"],
        "working"
    );
    let done = until_status(b.addr, &quick, "completed").await;
    assert_eq!(done["result"]["content"][0]["text"], "worked 200 ms");

    let cancelled = start(a.addr, 60_000).await;
    let ack = rpc(b.addr, "tasks/cancel", json!({"taskId": cancelled})).await;
    assert_eq!(ack["result"]["resultType"], "complete", "{ack}");
    until_status(b.addr, &cancelled, "cancelled").await;

    // Redis killed and restarted from its append-only file: every record
    // is still there, and the running task's lease is renewed again.
    let running = start(a.addr, 60_000).await;
    redis.stop();
    redis.restart();
    until_status(b.addr, &quick, "completed").await;
    until_status(b.addr, &cancelled, "cancelled").await;
    until_status(b.addr, &running, "working").await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    let renewed = rpc(b.addr, "tasks/get", json!({"taskId": running})).await;
    assert_eq!(
        renewed["result"]["status"], "working",
        "its lease is renewed: {renewed}"
    );

    // The replica that runs it stops: its task is reported failed.
    a.stop().await;
    let failed = until_status(b.addr, &running, "failed").await;
    let message = failed["error"]["message"].as_str().unwrap();
    assert!(message.contains("the server running it stopped"), "{message}");
    b.stop().await;
}

/// `big`: after a moment (so that it runs as a task), answers 4 KiB of
/// text.
fn big() -> Tool {
    Tool::new("big", "answers 4 KiB", json!({"type": "object"}), |_, _| async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(ToolOutput::text("x".repeat(4096)))
    })
    .task_support(TaskSupport::Optional)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server: ci/scale-out.sh runs it"]
async fn an_outcome_too_large_for_the_store_is_reported_as_such_elsewhere() {
    let redis = Redis::start();
    let small = || RedisStoreConfig::default().max_record_bytes(2048);
    let a = replica_with(&redis, ServerConfig::default(), small(), big()).await;
    let b = replica_with(&redis, ServerConfig::default(), small(), big()).await;
    let created = rpc(a.addr, "tools/call", json!({"name": "big", "arguments": {}})).await;
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    let id = created["result"]["taskId"].clone();
    let here = until_status(a.addr, &id, "completed").await;
    assert_eq!(
        here["result"]["content"][0]["text"].as_str().map(str::len),
        Some(4096)
    );
    // Not "the server running it stopped" once its lease lapses: why.
    let elsewhere = until_status(b.addr, &id, "failed").await;
    let message = elsewhere["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("its outcome was not kept") && message.contains("2048"),
        "{message}"
    );
    a.stop().await;
    b.stop().await;
}

/// What one round of the load saw: a task acknowledged (its id), or a
/// refusal (the store's retryable error) and how long it took.
#[derive(Debug)]
enum Round {
    Started(Value),
    Refused(Duration),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server: ci/scale-out.sh runs it"]
async fn redis_stopped_frozen_and_restarted_under_load_loses_no_acknowledged_task() {
    let mut redis = Redis::start_durable();
    let a = replica(&redis, ServerConfig::default()).await;
    let b = replica(&redis, ServerConfig::default()).await;
    let addr = a.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let stop = std::sync::Arc::clone(&stop);
        tokio::spawn(async move {
            let mut rounds = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let started = std::time::Instant::now();
                let created = rpc(
                    addr,
                    "tools/call",
                    json!({"name": "work", "arguments": {"ms": 50}}),
                )
                .await;
                rounds.push(match created["result"]["taskId"].clone() {
                    Value::String(id) => Round::Started(Value::String(id)),
                    _ => {
                        assert_eq!(
                            created["error"]["code"], -32603,
                            "only a task or the store's error: {created}"
                        );
                        Round::Refused(started.elapsed())
                    }
                });
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            rounds
        })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    redis.pause(); // SIGSTOP: connections stay open, nothing answers
    tokio::time::sleep(Duration::from_millis(1500)).await;
    redis.resume();
    tokio::time::sleep(Duration::from_millis(800)).await;
    redis.stop(); // SIGKILL
    tokio::time::sleep(Duration::from_millis(800)).await;
    redis.restart();
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let rounds = load.await.expect("the load ran");

    let started: Vec<&Value> = rounds
        .iter()
        .filter_map(|r| match r {
            Round::Started(id) => Some(id),
            Round::Refused(_) => None,
        })
        .collect();
    let slowest = rounds
        .iter()
        .filter_map(|r| match r {
            Round::Refused(took) => Some(*took),
            Round::Started(_) => None,
        })
        .max();
    eprintln!(
        "tasks through the outages: {} acknowledged, {} refused (slowest {slowest:?})",
        started.len(),
        rounds.len() - started.len()
    );
    assert!(started.len() >= 10, "the load ran: {} tasks", started.len());
    let slowest = slowest.expect("the outages were felt");
    assert!(
        slowest < Duration::from_millis(2500),
        "every refusal came fast: {slowest:?}"
    );
    // Every task acknowledged, from before, during and after the outages,
    // is known to the other replica, and ends completed.
    for id in started {
        let done = until_status(b.addr, id, "completed").await;
        assert_eq!(done["result"]["content"][0]["text"], "worked 50 ms");
    }
    a.stop().await;
    b.stop().await;
}
