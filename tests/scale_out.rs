//! Two replicas behind a real load balancer (nginx, round-robin, no session
//! affinity), sharing listen-stream notifications over a real Redis
//! (`RedisBus`) and the key that seals `requestState`.
//!
//! They need `redis-server` and `nginx`, so they are `#[ignore]`d in a
//! plain `cargo test`; `ci/scale-out.sh` (called by `ci/test.sh`) installs
//! both and runs them with `--include-ignored`.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use mcp_server_core::bus::{RedisBus, RedisBusConfig};
use mcp_server_core::config::{ReplicaId, StateKey};
use mcp_server_core::{Server, ServerConfig, TaskSupport, Tool, ToolOutput};
use serde_json::{Value, json};
use support::http::{Open, Session, stateless};
use support::services::{Nginx, Redis};
use support::wire::read;
use support::{TestServer, error_code, wait_until};

const KEY: &[u8] = b"a key the replicas share, 32 byt";
const TASKS: &str = "io.modelcontextprotocol/tasks";
const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// `work`: works for `ms` milliseconds; runs as a task for clients that
/// declare the extension.
fn work() -> Tool {
    Tool::new(
        "work",
        "works for ms",
        json!({"type": "object"}),
        |args, _| async move {
            let ms = args["ms"].as_u64().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(ToolOutput::text(format!("worked {ms} ms")))
        },
    )
    .task_support(TaskSupport::Optional)
}

/// A tool to add and remove, so that clients are told the list changed.
fn extra(name: &str) -> Tool {
    Tool::new(
        name,
        "added at run time",
        json!({"type": "object"}),
        |_, _| async { Ok(ToolOutput::text("extra")) },
    )
}

struct Replica {
    id: &'static str,
    server: TestServer,
    bus: Arc<RedisBus>,
}

impl Replica {
    async fn start(id: &'static str, redis: &Redis, key: &[u8]) -> Self {
        let bus = RedisBus::start(
            &redis.url(),
            RedisBusConfig::default()
                .max_backoff(Duration::from_millis(200))
                .health_interval(Duration::from_millis(500)),
        )
        .expect("a Redis address");
        let config = ServerConfig::default()
            .replica_id(ReplicaId::new(id).unwrap())
            .request_state_key(StateKey::new(key).unwrap());
        let server = Server::builder()
            .config(config)
            .builtin_tools()
            .tool(work())
            .event_bus(Arc::clone(&bus) as _)
            .build();
        Self {
            id,
            server: TestServer::serve(server, true).await,
            bus,
        }
    }

    fn upstream(&self) -> String {
        self.server.addr.to_string()
    }

    async fn connected(&self) {
        let bus = &self.bus;
        wait_until("the replica's bus is connected", || {
            let m = bus.metrics();
            m.subscribed && m.publishing
        })
        .await;
    }
}

/// Redis, two replicas (`ra`, `rb`) sharing it and the key, nginx in front.
struct Cluster {
    redis: Redis,
    a: Replica,
    b: Replica,
    lb: Nginx,
}

impl Cluster {
    async fn start() -> Self {
        let redis = Redis::start();
        let a = Replica::start("ra", &redis, KEY).await;
        let b = Replica::start("rb", &redis, KEY).await;
        a.connected().await;
        b.connected().await;
        let lb = Nginx::start(&[(a.id, a.server.addr), (b.id, b.server.addr)]);
        Self { redis, a, b, lb }
    }

    /// The replica at `upstream`, then the other one.
    fn by_upstream(&self, upstream: &str) -> (&Replica, &Replica) {
        if upstream == self.a.upstream() {
            (&self.a, &self.b)
        } else {
            assert_eq!(upstream, self.b.upstream(), "nginx errors: {}", self.lb.errors());
            (&self.b, &self.a)
        }
    }

    async fn stop(self) {
        self.a.server.stop().await;
        self.b.server.stop().await;
    }
}

/// The replica that answered, as nginx says.
fn upstream(open: &Open) -> String {
    open.headers
        .get("x-upstream")
        .expect("nginx names the replica")
        .to_str()
        .unwrap()
        .to_owned()
}

/// A 2026-07-28 request to `addr`: which replica answered, and the answer.
async fn call(
    addr: std::net::SocketAddr,
    method: &str,
    name: Option<&str>,
    params: Value,
) -> (String, Value) {
    let open = stateless(addr, method, name, params).await;
    assert_eq!(open.status, StatusCode::OK, "{method} at {addr}");
    let answered_by = open
        .headers
        .get("x-upstream")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (answered_by, read(open).await.0)
}

fn with_caps(mut params: Value, caps: Value) -> Value {
    params["_meta"] = json!({"io.modelcontextprotocol/clientCapabilities": caps});
    params
}

#[tokio::test]
#[ignore = "needs redis-server and nginx: ci/scale-out.sh runs it"]
async fn a_listen_stream_on_one_replica_hears_what_the_other_raises() {
    let c = Cluster::start().await;
    let wanted = json!({"notifications": {"toolsListChanged": true, "resourceSubscriptions": ["a://x"]}});
    let mut stream = stateless(c.lb.addr, "subscriptions/listen", None, wanted).await;
    assert_eq!(stream.status, StatusCode::OK);
    let (holder, other) = c.by_upstream(&upstream(&stream));
    let ack = stream.message().await.expect("the acknowledgement");
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");

    // Raised on the replica that does not hold the stream.
    other.server.handle.add_tool(extra("added"));
    other.server.handle.resource_updated("a://x");
    let first = stream
        .message()
        .await
        .expect("list_changed from the other replica");
    assert_eq!(first["method"], "notifications/tools/list_changed");
    assert_eq!(first["params"]["_meta"][SUBSCRIPTION_ID], 1);
    let second = stream
        .message()
        .await
        .expect("resources/updated from the other replica");
    assert_eq!(second["method"], "notifications/resources/updated");
    assert_eq!(second["params"]["uri"], "a://x");

    // Raised on the holder: delivered at once, and not a second time when
    // its own event comes back from Redis.
    let published = holder.bus.metrics().published;
    holder.server.handle.add_tool(extra("local"));
    let bus = &holder.bus;
    wait_until("the holder's event reached Redis", || {
        bus.metrics().published > published
    })
    .await;
    other.server.handle.resource_updated("a://x");
    let local = stream.message().await.unwrap();
    assert_eq!(local["method"], "notifications/tools/list_changed");
    let next = stream.message().await.unwrap();
    assert_eq!(
        next["method"], "notifications/resources/updated",
        "the holder's own event was delivered twice"
    );

    let (h, o) = (holder.bus.metrics(), other.bus.metrics());
    assert_eq!((o.published, o.publish_failed), (3, 0), "{o:?}");
    assert_eq!((h.received, h.delivered, h.invalid), (3, 3, 0), "{h:?}");
    assert_eq!(o.delivered, 0, "the other replica has no listen stream");
    drop(stream);
    c.stop().await;
}

#[tokio::test]
#[ignore = "needs redis-server and nginx: ci/scale-out.sh runs it"]
async fn calls_land_on_both_replicas_and_an_input_round_crosses_them() {
    let c = Cluster::start().await;
    let mut seen = HashSet::new();
    for i in 0..4 {
        let text = format!("hello {i}");
        let (by, answer) = call(
            c.lb.addr,
            "tools/call",
            Some("echo"),
            json!({"name": "echo", "arguments": {"text": text}}),
        )
        .await;
        assert_eq!(answer["result"]["content"][0]["text"], text, "{answer}");
        seen.insert(by);
    }
    assert_eq!(seen.len(), 2, "round-robin reaches both replicas: {seen:?}");

    // An input-required round on one replica, answered on the other.
    let caps = json!({"elicitation": {}});
    let ask = json!({"name": "confirm", "arguments": {"question": "Ship it?"}});
    let (first_by, round1) = call(
        c.lb.addr,
        "tools/call",
        Some("confirm"),
        with_caps(ask.clone(), caps.clone()),
    )
    .await;
    let result = &round1["result"];
    assert_eq!(result["resultType"], "input_required", "{round1}");
    let key = result["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let mut retry = ask.clone();
    retry["requestState"] = result["requestState"].clone();
    retry["inputResponses"] = json!({key: {"action": "accept", "content": {"yes": true}}});
    let mut crossed = false;
    for _ in 0..4 {
        let (by, round2) = call(
            c.lb.addr,
            "tools/call",
            Some("confirm"),
            with_caps(retry.clone(), caps.clone()),
        )
        .await;
        assert_eq!(round2["result"]["content"][0]["text"], "yes", "{round2}");
        if by != first_by {
            crossed = true;
            break;
        }
    }
    assert!(crossed, "no retry reached the other replica");

    // A replica with another key refuses the same state.
    let stranger = Replica::start("rc", &c.redis, b"a different key, also 32 bytes!!").await;
    let (_, refused) = call(
        stranger.server.addr,
        "tools/call",
        Some("confirm"),
        with_caps(retry, caps),
    )
    .await;
    assert_eq!(error_code(&refused), -32602, "{refused}");
    stranger.server.stop().await;
    c.stop().await;
}

#[tokio::test]
#[ignore = "needs redis-server and nginx: ci/scale-out.sh runs it"]
async fn a_2025_session_lives_on_its_replica() {
    let c = Cluster::start().await;
    // Another replica does not know the session: 404, so the client
    // initializes again (as the 2025-11-25 transport says).
    let direct = Session::start(c.a.server.addr).await;
    assert!(direct.id.starts_with("ra."), "{}", direct.id);
    let elsewhere = Session {
        addr: c.b.server.addr,
        id: direct.id.clone(),
    };
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    assert_eq!(elsewhere.post(&ping).await.status, StatusCode::NOT_FOUND);

    // Behind the balancer, the id names the replica and every request of
    // the session reaches it.
    let session = Session::start(c.lb.addr).await;
    let owner = if session.id.starts_with("ra.") { &c.a } else { &c.b };
    assert!(
        session.id.starts_with(&format!("{}.", owner.id)),
        "{}",
        session.id
    );
    for i in 0..4 {
        let body = json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                          "params": {"name": "echo", "arguments": {"text": "in session"}}});
        let open = session.post(&body).await;
        assert_eq!(open.status, StatusCode::OK);
        assert_eq!(upstream(&open), owner.upstream());
        assert_eq!(read(open).await.0["result"]["content"][0]["text"], "in session");
    }
    c.stop().await;
}

#[tokio::test]
#[ignore = "needs redis-server and nginx: ci/scale-out.sh runs it"]
async fn a_task_is_held_by_its_replica_and_announced_on_every_replica() {
    let c = Cluster::start().await;
    let caps = json!({"extensions": {TASKS: {}}});
    let (by, created) = call(
        c.lb.addr,
        "tools/call",
        Some("work"),
        with_caps(json!({"name": "work", "arguments": {"ms": 1500}}), caps.clone()),
    )
    .await;
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let (owner, other) = c.by_upstream(&by);
    assert!(id.starts_with(&format!("{}.", owner.id)), "{id}");

    // A listen stream on the replica that does not hold the task.
    let listen = with_caps(json!({"notifications": {"taskIds": [id]}}), caps.clone());
    let mut stream = stateless(other.server.addr, "subscriptions/listen", None, listen).await;
    assert_eq!(
        stream.message().await.unwrap()["params"]["notifications"]["taskIds"],
        json!([id])
    );

    // tasks/get through the balancer always reaches the owner (Mcp-Name).
    let get = with_caps(json!({"taskId": id}), caps.clone());
    for _ in 0..4 {
        let (by, task) = call(c.lb.addr, "tasks/get", Some(&id), get.clone()).await;
        assert_eq!(by, owner.upstream());
        assert_eq!(task["result"]["taskId"], id, "{task}");
    }
    // The other replica does not hold it: "not found", as the extension says.
    let (_, missing) = call(other.server.addr, "tasks/get", Some(&id), get).await;
    assert_eq!(error_code(&missing), -32602, "{missing}");

    // Its completion reaches the stream on the other replica over Redis.
    let done = loop {
        let note = stream.message().await.expect("a task notification");
        assert_eq!(note["method"], "notifications/tasks");
        if note["params"]["status"] == "completed" {
            break note;
        }
    };
    assert_eq!(done["params"]["taskId"], id);
    assert_eq!(done["params"]["result"]["content"][0]["text"], "worked 1500 ms");
    drop(stream);
    c.stop().await;
}

#[tokio::test]
#[ignore = "needs redis-server and nginx: ci/scale-out.sh runs it"]
async fn a_redis_outage_is_survived() {
    let mut c = Cluster::start().await;
    let wanted = json!({"notifications": {"toolsListChanged": true}});
    let mut stream = stateless(c.b.server.addr, "subscriptions/listen", None, wanted).await;
    stream.message().await.expect("the acknowledgement");

    c.redis.stop();
    let (a, b) = (&c.a.bus, &c.b.bus);
    wait_until("both replicas see Redis gone", || {
        !a.metrics().subscribed && !b.metrics().subscribed
    })
    .await;
    // Publishing fails at once and is counted; the servers keep answering.
    let failed = a.metrics().publish_failed;
    c.a.server.handle.add_tool(extra("during-outage"));
    wait_until("the failed publish is counted", || {
        a.metrics().publish_failed > failed
    })
    .await;
    for i in 0..2 {
        let (_, answer) = call(
            c.lb.addr,
            "tools/call",
            Some("echo"),
            json!({"name": "echo", "arguments": {"text": format!("still {i}")}}),
        )
        .await;
        assert_eq!(answer["result"]["content"][0]["text"], format!("still {i}"));
    }

    c.redis.restart();
    c.a.connected().await;
    c.b.connected().await;
    assert!(a.metrics().subscription_losses >= 1 && b.metrics().subscription_losses >= 1);
    c.a.server.handle.add_tool(extra("after-outage"));
    // The stream stayed open; the first thing it hears is the event raised
    // after Redis came back (the one raised during the outage is lost,
    // nothing is made up for it).
    let next = stream.message().await.expect("the stream is still open");
    assert_eq!(next["method"], "notifications/tools/list_changed");
    let m = b.metrics();
    assert_eq!((m.received, m.delivered), (1, 1), "{m:?}");
    drop(stream);
    c.stop().await;
}

#[tokio::test]
#[ignore = "needs redis-server and nginx: ci/scale-out.sh runs it"]
async fn a_frozen_redis_is_noticed_and_left_behind() {
    let c = Cluster::start().await;
    // Connections stay open but nothing answers: the subscription's PING
    // goes unanswered and the publish times out; both are noticed.
    c.redis.pause();
    let a = &c.a.bus;
    let failed = a.metrics().publish_failed;
    c.a.server.handle.add_tool(extra("while-frozen"));
    wait_until("the frozen subscription is noticed", || !a.metrics().subscribed).await;
    wait_until("the stuck publish is counted", || {
        a.metrics().publish_failed > failed
    })
    .await;
    let (_, answer) = call(
        c.lb.addr,
        "tools/call",
        Some("echo"),
        json!({"name": "echo", "arguments": {"text": "unaffected"}}),
    )
    .await;
    assert_eq!(answer["result"]["content"][0]["text"], "unaffected");
    c.redis.resume();
    c.a.connected().await;
    c.b.connected().await;
    c.stop().await;
}
