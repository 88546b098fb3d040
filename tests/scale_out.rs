//! Two replicas behind a real load balancer (nginx, round-robin, no session
//! affinity), sharing listen-stream notifications over a real Redis
//! (`RedisBus`) and the key that seals `requestState`.
//!
//! They need `redis-server` and `nginx`, so they are `#[ignore]`d in a
//! plain `cargo test`; `ci/scale-out.sh` (called by `ci/test.sh`) installs
//! both and runs them with `--include-ignored`.

#![cfg(not(any(loom, shuttle)))]

#[path = "scale_out/held_and_lost.rs"]
mod held_and_lost;
#[path = "scale_out/session_events.rs"]
mod session_events;
#[path = "scale_out/session_store.rs"]
mod session_store;
#[path = "scale_out/stream_log.rs"]
mod stream_log;
mod support;
#[path = "scale_out/task_store.rs"]
mod task_store;

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
