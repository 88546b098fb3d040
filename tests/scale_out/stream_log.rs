//! The Redis event store against a real `redis-server`: each SSE stream a
//! capped Redis Stream, a session's streams capped, both with the session's
//! time to live; a stream written by one replica resumed on another, and
//! followed there while its request runs; and Redis frozen, stopped and
//! restarted (durable) under a replica that keeps answering, every event
//! kept or counted as dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;
use mcp_server_core::store::{EventStore, RedisStore, RedisStoreConfig, StreamKind};
use mcp_server_core::{Server, ServerConfig, Tool};
use tokio::sync::Semaphore;

use crate::session_store::{raw, store_on};
use crate::support::TestServer;
use crate::support::http::{Open, Session};
use crate::support::replicas::{at, call, echo, log_info, pause, paused_call};
use crate::support::services::Redis;
use crate::support::wait_until;

/// The stream of event id `<stream>-<n>`.
fn stream_of(id: &str) -> u64 {
    id.split('-')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("an event id")
}

/// Waits until `store` keeps `events` events of stream `stream` of `sid`
/// (a store that fails, reconnecting, is asked again).
async fn until_kept(store: &RedisStore, sid: &str, stream: u64, events: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let kept = store.stream(sid, stream).await;
        if kept
            .as_ref()
            .is_ok_and(|k| k.as_ref().is_some_and(|k| k.events.len() == events))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "stream {stream} never held {events} events"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
#[ignore = "needs redis-server: ci/scale-out.sh runs it"]
async fn the_redis_event_store_keeps_bounded_streams_for_their_time_to_live() {
    let redis = Redis::start();
    let config = RedisStoreConfig::default()
        .max_events_per_stream(5)
        .max_streams_per_session(3)
        .max_event_bytes(100);
    let store = store_on(&redis, config).await;
    let ttl = Duration::from_secs(30);
    let event = |seq: u64| Bytes::from(format!("id: 1-{seq}\ndata: {{}}\n\n"));
    for seq in 1..=8 {
        store.append("s", 1, StreamKind::Request, seq, &event(seq), ttl);
    }
    until_kept(&store, "s", 1, 5).await;
    let kept = store.stream("s", 1).await.unwrap().unwrap();
    let seqs: Vec<u64> = kept.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [4, 5, 6, 7, 8], "MAXLEN kept the last five, in order");
    assert_eq!(
        (kept.kind, &kept.events[4].event),
        (StreamKind::Request, &event(8))
    );
    let pttl: i64 = raw(&redis, &["PTTL", "mcp-server-core:session:{s}:stream:1"])[1..]
        .parse()
        .unwrap();
    assert!(
        (1..=30_000).contains(&pttl),
        "the stream has the session's TTL: {pttl}"
    );

    for stream in 2..=4 {
        store.append("s", stream, StreamKind::Standalone, 1, &event(1), ttl);
    }
    until_kept(&store, "s", 4, 1).await;
    assert!(
        store.stream("s", 1).await.unwrap().is_none(),
        "a fourth stream deleted the first"
    );
    assert_eq!(
        store.stream("s", 2).await.unwrap().unwrap().kind,
        StreamKind::Standalone
    );
    assert_eq!(
        raw(&redis, &["LLEN", "mcp-server-core:session:{s}:streams"]),
        ":3"
    );

    store.append(
        "s",
        2,
        StreamKind::Standalone,
        2,
        &Bytes::from("x".repeat(101)),
        ttl,
    );
    assert_eq!(store.metrics().appends_dropped, 1, "over the size limit: dropped");
    store.forget("s");
    wait_until("the session's streams to go", || {
        raw(&redis, &["EXISTS", "mcp-server-core:session:{s}:streams"]) == ":0"
    })
    .await;
    for stream in 2..=4 {
        assert!(store.stream("s", stream).await.unwrap().is_none());
    }
    assert_eq!(store.metrics().commands_failed, 0);
}

/// A server over HTTP with `log_info`, keeping sessions and their streams
/// in `store`.
async fn replica(store: Arc<RedisStore>) -> TestServer {
    replica_with(store, log_info()).await
}

/// A server over HTTP with `tool`, keeping sessions and their streams in
/// `store`.
async fn replica_with(store: Arc<RedisStore>, tool: Tool) -> TestServer {
    let server = Server::builder()
        .config(ServerConfig::default())
        .builtin_tools()
        .tool(tool)
        .session_store(store.clone())
        .event_store(store)
        .build();
    TestServer::serve(server, true).await
}

/// Calls `log_info` on `session` and reads its whole stream: the ids of
/// its log and of its result, and the result event's data.
async fn logged_call(session: &Session, id: u64) -> (String, String, String) {
    let mut answer: Open = session.post(&call(id, "log_info")).await;
    assert_eq!(answer.status, StatusCode::OK);
    let _priming = answer.event().await.expect("priming");
    let (log, _) = answer.event().await.expect("the log");
    let (result, data) = answer.event().await.expect("the result");
    (log.unwrap(), result.unwrap(), data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server: ci/scale-out.sh runs it"]
async fn a_stream_is_resumed_on_another_replica_through_redis_frozen_and_restarted() {
    let mut redis = Redis::start_durable();
    let written = store_on(&redis, RedisStoreConfig::default()).await;
    let a = replica(Arc::clone(&written)).await;
    let b = replica(store_on(&redis, RedisStoreConfig::default()).await).await;
    let session = Session::start(a.addr).await;
    assert_eq!(
        at(&session, b.addr).post(&echo(1, "b holds it")).await.status,
        StatusCode::OK
    );
    let (log, result, data) = logged_call(&session, 2).await;
    // Appends never wait: resumed once Redis has both events.
    until_kept(&written, &session.id, stream_of(&log), 2).await;
    let resume_on_b = || async {
        let mut resumed = at(&session, b.addr).resume(&log).await;
        assert_eq!(resumed.status, StatusCode::OK);
        let replayed = resumed.event().await.expect("the result, replayed");
        assert!(resumed.event().await.is_none(), "and the stream ends");
        replayed
    };
    let replayed = resume_on_b().await;
    assert_eq!(replayed.0.as_ref(), Some(&result));
    assert_eq!(replayed.1, data);

    // Frozen: A's calls are answered as fast as ever (appends never
    // wait), and a resumption B cannot read is refused at once, counted.
    redis.pause();
    let started = Instant::now();
    let (_, _, frozen) = logged_call(&session, 3).await;
    assert!(frozen.contains("sent: true"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let refused = at(&session, b.addr).resume(&log).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(refused.headers["retry-after"], "1");
    assert!(b.handle.metrics().store_failures >= 1);
    redis.resume();

    // Stopped and restarted from its append-only file: the stream is still
    // there.
    redis.stop();
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let resumed = at(&session, b.addr).resume(&log).await;
        if resumed.status == StatusCode::OK {
            let mut resumed = resumed;
            let replayed = resumed.event().await.expect("the result, replayed");
            assert_eq!(replayed, (Some(result), data), "kept through the restart");
            break;
        }
        assert_eq!(resumed.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(Instant::now() < deadline, "Redis never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Appends go on after the restart (Redis forgot the script: loaded
    // again). Those made while the store was still reconnecting were
    // dropped (and counted): calls go on until one's stream is kept.
    let deadline = Instant::now() + Duration::from_secs(20);
    for id in 4.. {
        let (log, result, _) = logged_call(&session, id).await;
        let kept = tokio::time::timeout(
            Duration::from_secs(2),
            until_kept(&written, &session.id, stream_of(&log), 2),
        )
        .await;
        if kept.is_ok() {
            assert_eq!(resume_on_b_after(&session, b.addr, &log).await, Some(result));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no stream reached Redis after the restart"
        );
    }
    a.stop().await;
    b.stop().await;
}

/// The id of the first event a resumption after `log` on `addr` replays.
async fn resume_on_b_after(session: &Session, addr: std::net::SocketAddr, log: &str) -> Option<String> {
    let mut resumed = at(session, addr).resume(log).await;
    assert_eq!(resumed.status, StatusCode::OK);
    resumed.event().await.and_then(|(id, _)| id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server: ci/scale-out.sh runs it"]
async fn a_request_running_on_one_replica_is_followed_live_on_another_through_redis() {
    let redis = Redis::start();
    let go = Arc::new(Semaphore::new(0));
    let a = replica_with(
        store_on(&redis, RedisStoreConfig::default()).await,
        pause(Arc::clone(&go)),
    )
    .await;
    let b = replica_with(
        store_on(&redis, RedisStoreConfig::default()).await,
        pause(Arc::clone(&go)),
    )
    .await;
    let session = Session::start(a.addr).await;
    let mut post = session.post(&paused_call(1)).await;
    let (priming, _) = post.event().await.expect("priming");
    let stream = priming.unwrap().split('-').next().unwrap().to_owned();
    let (first, _) = post.event().await.expect("progress 1");
    assert!(post.event().await.is_none(), "the handler closed the stream");
    wait_until("A to park the stream", || {
        a.handle.metrics().http_streams_parked == 1
    })
    .await;

    // Resumed on B: the Follow reaches A over pub/sub, A writes the rest
    // of the stream to Redis, B reads it from there as it comes.
    let mut resumed = at(&session, b.addr).resume(&first.unwrap()).await;
    assert_eq!(resumed.status, StatusCode::OK);
    wait_until("A to write the stream to Redis", || {
        a.handle.metrics().http_streams_parked == 0
    })
    .await;
    go.add_permits(1);
    let (id, data) = resumed.event().await.expect("progress 2, live");
    assert_eq!(id.unwrap(), format!("{stream}-2"));
    assert!(data.contains("\"progress\":2"), "{data}");
    go.add_permits(1);
    let (id, data) = resumed.event().await.expect("the answer, live");
    assert_eq!(id.unwrap(), format!("{stream}-3"));
    assert!(data.contains("done"), "{data}");
    assert!(resumed.event().await.is_none(), "the stream ends with the answer");
    assert_eq!(b.handle.metrics().replay_lost, 0);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server: ci/scale-out.sh runs it"]
async fn under_load_through_redis_outages_every_event_is_kept_or_counted() {
    let mut redis = Redis::start_durable();
    // Room for every stream of the run in one session.
    let config = || RedisStoreConfig::default().max_streams_per_session(100_000);
    let written = store_on(&redis, config()).await;
    let a = replica(Arc::clone(&written)).await;
    let b = replica(store_on(&redis, config()).await).await;
    let session = Session::start(a.addr).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (stop, session) = (Arc::clone(&stop), at(&session, session.addr));
        tokio::spawn(async move {
            let mut calls = Vec::new();
            let mut id = 10;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                id += 1;
                let started = Instant::now();
                let (log, result, data) = logged_call(&session, id).await;
                assert!(data.contains("sent: true"), "{data}");
                calls.push((log, result, started.elapsed()));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            calls
        })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    redis.stop(); // SIGKILL
    tokio::time::sleep(Duration::from_millis(800)).await;
    redis.restart();
    tokio::time::sleep(Duration::from_millis(800)).await;
    redis.pause(); // SIGSTOP
    tokio::time::sleep(Duration::from_millis(1500)).await;
    redis.resume();
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let calls = load.await.expect("the load ran");
    let slowest = calls.iter().map(|(_, _, took)| *took).max().unwrap();
    assert!(calls.len() >= 20, "the load ran: {} calls", calls.len());
    assert!(
        slowest < Duration::from_secs(1),
        "appends never held a call up: {slowest:?}"
    );

    // Settled: every event of every call is in Redis, or its append was
    // counted as dropped; what is kept is resumed on B.
    let mut last = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    let (missing, kept) = loop {
        let (mut missing, mut kept) = (0, Vec::new());
        for (log, result, _) in &calls {
            let logged = written
                .stream(&session.id, stream_of(log))
                .await
                .expect("Redis answers");
            let events = logged.map_or(0, |l| l.events.len());
            missing += 2 - events;
            if events == 2 {
                kept.push((log, result));
            }
        }
        if last == Some(missing) || Instant::now() > deadline {
            break (missing, kept);
        }
        last = Some(missing);
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let dropped = written.metrics().appends_dropped;
    eprintln!(
        "{} calls through the outages (slowest {slowest:?}): {missing} events not in Redis, {dropped} appends counted as dropped",
        calls.len()
    );
    assert!(dropped >= 1, "the outages were felt");
    assert!(missing as u64 <= dropped, "every event not kept was counted");
    // Outside the outages (about half the run) the streams are kept.
    assert!(
        kept.len() * 4 >= calls.len(),
        "calls' streams kept: {} of {}",
        kept.len(),
        calls.len()
    );
    for (log, result) in kept {
        assert_eq!(
            resume_on_b_after(&session, b.addr, log).await.as_ref(),
            Some(result)
        );
    }
    a.stop().await;
    b.stop().await;
}
