//! What one replica holds (a 2025 session, a task) and what the others
//! see of it, and Redis lost: an outage survived, a frozen server noticed
//! and left behind.

use super::*;

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
