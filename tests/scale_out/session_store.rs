//! The Redis session store against a real `redis-server`: its records and
//! their time to live, replicas serving each other's sessions through it,
//! and Redis stopped, frozen and restarted under load (durable, so that
//! nothing acknowledged is lost).

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http::StatusCode;
use mcp_server_core::store::{RedisStore, RedisStoreConfig, SessionRecord, SessionStore};
use mcp_server_core::{Server, ServerConfig};
use serde_json::json;

use crate::support::http::{self as client, Session};
use crate::support::replicas::{at, echo};
use crate::support::services::Redis;
use crate::support::{TestServer, wait_until};

/// A store on `redis` with short waits, once connected.
pub(crate) async fn store_on(redis: &Redis, config: RedisStoreConfig) -> Arc<RedisStore> {
    let config = config
        .command_timeout(Duration::from_millis(500))
        .max_backoff(Duration::from_millis(200))
        .health_interval(Duration::from_millis(200));
    let store = RedisStore::start(&redis.url(), config).expect("a Redis address");
    wait_until("the store to connect", || store.metrics().connected).await;
    store
}

/// One command sent to `redis` as it is, on a connection of its own; the
/// first line of the answer.
pub(crate) fn raw(redis: &Redis, args: &[&str]) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", redis.port)).expect("connect to Redis");
    let mut command = format!("*{}\r\n", args.len());
    for arg in args {
        command.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(command.as_bytes()).expect("send");
    let mut answer = [0u8; 256];
    let n = stream.read(&mut answer).expect("answer");
    String::from_utf8_lossy(&answer[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
#[ignore = "needs redis-server: ci/scale-out.sh runs it"]
async fn the_redis_store_keeps_records_for_their_time_to_live() {
    let redis = Redis::start();
    let store = store_on(&redis, RedisStoreConfig::default().max_record_bytes(512)).await;
    let mut record = SessionRecord::new("2025-11-25");
    record.client_info = json!({"name": "t", "version": "1"});
    let ttl = Duration::from_millis(400);
    store.save("s1", &record, ttl).await.expect("saved");
    assert_eq!(store.load("s1").await.unwrap(), Some(record.clone()));
    let pttl: i64 = raw(&redis, &["PTTL", "mcp-server-core:session:s1"])[1..]
        .parse()
        .unwrap();
    assert!((1..=400).contains(&pttl), "the key has the record's TTL: {pttl}");

    tokio::time::sleep(Duration::from_millis(250)).await;
    store.touch("s1", ttl);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(store.load("s1").await.unwrap().is_some(), "the touch extended it");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.load("s1").await.unwrap(), None, "lapsed");
    store.touch("s1", Duration::from_secs(60));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        store.load("s1").await.unwrap(),
        None,
        "a touch brings nothing back"
    );

    store.save("s2", &record, Duration::from_secs(60)).await.unwrap();
    store.remove("s2").await.unwrap();
    assert_eq!(store.load("s2").await.unwrap(), None, "removed");

    record.client_info = json!({"name": "x".repeat(600)});
    let big = store.save("s3", &record, ttl).await.unwrap_err();
    assert!(big.0.contains("over the store's 512"), "{big}");
    assert_eq!(
        raw(&redis, &["SET", "mcp-server-core:session:bad", "{not json"]),
        "+OK"
    );
    let unreadable = store.load("bad").await.unwrap_err();
    assert!(unreadable.0.contains("unreadable"), "{unreadable}");
    assert_eq!(store.metrics().commands_failed, 0, "Redis itself failed nothing");
    assert_eq!(store.metrics().touches_dropped, 0);
}

/// A server over HTTP with the built-in tools, keeping sessions in `store`.
async fn replica(store: Arc<RedisStore>) -> TestServer {
    let server = Server::builder()
        .config(ServerConfig::default())
        .builtin_tools()
        .session_store(store)
        .build();
    TestServer::serve(server, true).await
}

#[tokio::test]
#[ignore = "needs redis-server: ci/scale-out.sh runs it"]
async fn replicas_serve_each_others_sessions_through_redis() {
    let redis = Redis::start();
    let stores = [
        store_on(&redis, RedisStoreConfig::default()).await,
        store_on(&redis, RedisStoreConfig::default()).await,
        store_on(&redis, RedisStoreConfig::default()).await,
    ];
    let a = replica(Arc::clone(&stores[0])).await;
    let b = replica(Arc::clone(&stores[1])).await;
    let c = replica(Arc::clone(&stores[2])).await;
    let session = Session::start(a.addr).await;
    let answer = at(&session, b.addr).post(&echo(1, "on b")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json().await["result"]["content"][0]["text"], "on b");
    let level = at(&session, b.addr)
        .request(2, "logging/setLevel", json!({"level": "notice"}))
        .await;
    assert_eq!(level["result"], json!({}));
    let record = stores[0].load(&session.id).await.unwrap().expect("in Redis");
    assert_eq!((record.log_level.as_str(), record.initialized), ("notice", true));
    assert_eq!(at(&session, c.addr).delete().await, StatusCode::OK);
    assert_eq!(
        stores[1].load(&session.id).await.unwrap(),
        None,
        "gone from Redis"
    );
    let d = replica(store_on(&redis, RedisStoreConfig::default()).await).await;
    assert_eq!(
        at(&session, d.addr).post(&echo(3, "x")).await.status,
        StatusCode::NOT_FOUND
    );
    for server in [a, b, c, d] {
        server.stop().await;
    }
}

/// What one `initialize`-then-use round of the load saw.
#[derive(Debug)]
enum Round {
    /// Initialized on one server and served by the other: the session id.
    Served(String),
    /// Refused with the store's 503 (at `initialize` or at the use), within
    /// this long.
    Refused(Duration),
}

/// Opens a session on `first` and sends it a request on `second`.
async fn round(first: std::net::SocketAddr, second: std::net::SocketAddr, n: u64) -> Round {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "load", "version": "0"}}});
    let started = Instant::now();
    let opened = client::post(first, &[], &init).await;
    if opened.status == StatusCode::SERVICE_UNAVAILABLE {
        return Round::Refused(started.elapsed());
    }
    assert_eq!(opened.status, StatusCode::OK, "initialize: only 200 or 503");
    let id = opened.headers["mcp-session-id"].to_str().unwrap().to_owned();
    let session = Session { addr: second, id };
    let started = Instant::now();
    let used = session.post(&echo(n, "load")).await;
    match used.status {
        StatusCode::OK => Round::Served(session.id),
        StatusCode::SERVICE_UNAVAILABLE => Round::Refused(started.elapsed()),
        other => panic!("an acknowledged session answered {other} on the other server"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server: ci/scale-out.sh runs it"]
async fn redis_stopped_frozen_and_restarted_under_load_loses_nothing_acknowledged() {
    let mut redis = Redis::start_durable();
    let a = replica(store_on(&redis, RedisStoreConfig::default()).await).await;
    let b = replica(store_on(&redis, RedisStoreConfig::default()).await).await;
    let (a_addr, b_addr) = (a.addr, b.addr);
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut rounds = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let (first, second) = if n % 2 == 0 {
                    (a_addr, b_addr)
                } else {
                    (b_addr, a_addr)
                };
                rounds.push(round(first, second, n).await);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            rounds
        })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    redis.stop(); // SIGKILL: every connection drops at once
    tokio::time::sleep(Duration::from_millis(800)).await;
    redis.restart(); // its append-only file brings back every record
    tokio::time::sleep(Duration::from_millis(800)).await;
    redis.pause(); // SIGSTOP: connections stay open, nothing answers
    tokio::time::sleep(Duration::from_millis(1500)).await;
    redis.resume();
    tokio::time::sleep(Duration::from_millis(800)).await;
    redis.shut_down(); // SIGTERM: a clean stop
    redis.restart();
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop.store(true, Ordering::SeqCst);
    let rounds = load.await.expect("the load ran");

    let served: Vec<&String> = rounds
        .iter()
        .filter_map(|r| match r {
            Round::Served(id) => Some(id),
            Round::Refused(_) => None,
        })
        .collect();
    let refused: Vec<Duration> = rounds
        .iter()
        .filter_map(|r| match r {
            Round::Refused(took) => Some(*took),
            Round::Served(_) => None,
        })
        .collect();
    eprintln!(
        "load through the outages: {} sessions served, {} rounds refused (slowest {:?})",
        served.len(),
        refused.len(),
        refused.iter().max()
    );
    assert!(
        served.len() >= 10,
        "the load ran: {} sessions served",
        served.len()
    );
    assert!(!refused.is_empty(), "the outages were felt");
    let slowest = refused.iter().max().unwrap();
    assert!(
        *slowest < Duration::from_millis(2500),
        "every refusal came fast: {slowest:?}"
    );
    assert_eq!(
        a.handle.metrics().store_failures + b.handle.metrics().store_failures,
        refused.len() as u64,
        "every refusal was counted"
    );
    // A server that never saw them serves every session acknowledged, from
    // before, during and after the outages.
    let c = replica(store_on(&redis, RedisStoreConfig::default()).await).await;
    for (n, id) in served.iter().enumerate() {
        let session = Session {
            addr: c.addr,
            id: (*id).clone(),
        };
        let answer = session.post(&echo(n as u64, "after")).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "session {n} of {} lost",
            served.len()
        );
    }
    for server in [a, b, c] {
        server.stop().await;
    }
}
