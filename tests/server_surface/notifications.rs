//! What reaches a client unasked: a handler's log messages, resource
//! subscriptions (2025) and listen streams (2026-07-28), and changes to
//! the catalog at run time.

use super::*;

/// The log messages among `notes`, as their data.
fn logged(notes: &[Value]) -> Vec<String> {
    notes
        .iter()
        .filter(|n| n["method"] == "notifications/message")
        .map(|n| n["params"]["data"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_handlers_log_messages_reach_its_own_request_at_or_above_the_level() {
    for http in [false, true] {
        let server = TestServer::serve(surface(), http).await;
        for way in Way::ALL.into_iter().filter(|w| w.is_http() == http) {
            let mut wire = Wire::open(way, server.addr).await;
            let call = json!({"name": "logger"});
            if way.is_stateless() {
                // No level in `_meta`: no log messages at all.
                let (_, notes) = wire.request_with(1, "tools/call", call.clone()).await;
                assert!(logged(&notes).is_empty(), "{way:?}: {notes:?}");
                let with_level =
                    json!({"name": "logger", "_meta": {"io.modelcontextprotocol/logLevel": "info"}});
                let (response, notes) = wire.request_with(2, "tools/call", with_level).await;
                assert_eq!(response["result"]["content"][0]["text"], "logged");
                assert_eq!(logged(&notes), ["a info message", "a error message"], "{way:?}");
                // A level that is not one: -32602, and the tool never runs.
                let bad = json!({"name": "logger", "_meta": {"io.modelcontextprotocol/logLevel": "loud"}});
                let (response, notes) = wire.request_with(3, "tools/call", bad).await;
                assert_eq!(error_code(&response), -32602, "{way:?}: {response}");
                assert!(logged(&notes).is_empty(), "{way:?}: {notes:?}");
            } else {
                // A session logs everything until it sets a level.
                let (_, notes) = wire.request_with(1, "tools/call", call.clone()).await;
                assert_eq!(logged(&notes).len(), 4, "{way:?}: {notes:?}");
                let set = wire
                    .request(2, "logging/setLevel", json!({"level": "error"}))
                    .await;
                assert_eq!(set["result"], json!({}));
                let (_, notes) = wire.request_with(3, "tools/call", call).await;
                assert_eq!(logged(&notes), ["a error message"], "{way:?}");
            }
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn a_2025_session_subscribes_and_hears_of_updates_until_it_unsubscribes() {
    // TCP: on the connection.
    let server = TestServer::serve(surface(), false).await;
    let mut client = server.client().await;
    client.initialize().await;
    let ok = client
        .request(1, "resources/subscribe", json!({"uri": "mem://one"}))
        .await;
    assert_eq!(ok["result"], json!({}));
    let report = server.handle.resource_updated("mem://one");
    assert_eq!(report.queued, 1);
    let note = client.notification("notifications/resources/updated").await;
    assert_eq!(note["params"], json!({"uri": "mem://one"}));
    assert_eq!(
        server.handle.resource_updated("mem://two").queued,
        0,
        "only the subscribed URI"
    );
    client
        .request(2, "resources/unsubscribe", json!({"uri": "mem://one"}))
        .await;
    assert_eq!(server.handle.resource_updated("mem://one").queued, 0);
    // A session holds at most 64 KiB of URIs, as the README says (written
    // out here, not read from the constant, so that a smaller limit fails).
    assert_eq!(MAX_SUBSCRIBED_BYTES_PER_SESSION, 64 * 1024);
    let big = format!("mem://{}", "x".repeat(64 * 1024 - 16));
    let ok = client
        .request(10, "resources/subscribe", json!({"uri": big}))
        .await;
    assert_eq!(ok["result"], json!({}));
    let again = client
        .request(11, "resources/subscribe", json!({"uri": big}))
        .await;
    assert_eq!(again["result"], json!({}), "subscribing twice takes no more room");
    let past = client
        .request(12, "resources/subscribe", json!({"uri": "mem://one-too-many"}))
        .await;
    assert_eq!(error_code(&past), -32602, "{past}");
    client
        .request(13, "resources/unsubscribe", json!({"uri": big}))
        .await;
    let room = client
        .request(14, "resources/subscribe", json!({"uri": "mem://one-too-many"}))
        .await;
    assert_eq!(room["result"], json!({}), "unsubscribing frees the room");
    // Subscriptions end with their session.
    client
        .request(3, "resources/subscribe", json!({"uri": "mem://one"}))
        .await;
    drop(client);
    server
        .wait_for("the session to end", |h| h.sessions().is_empty())
        .await;
    assert_eq!(server.handle.resource_updated("mem://one").queued, 0);
    server.stop().await;

    // HTTP: on the session's standalone GET stream.
    let server = TestServer::serve(surface(), true).await;
    let session = support::http::Session::start(server.addr).await;
    let subscribed = session
        .request(1, "resources/subscribe", json!({"uri": "mem://three"}))
        .await;
    assert_eq!(subscribed["result"], json!({}));
    let mut stream = session.listen().await;
    server
        .wait_for("the update to be queued", |h| {
            h.resource_updated("mem://three").queued == 1
        })
        .await;
    let note = stream.message().await.expect("an update on the GET stream");
    assert_eq!(note["method"], "notifications/resources/updated");
    assert_eq!(note["params"]["uri"], "mem://three");
    server.stop().await;
}

#[tokio::test]
async fn stateless_requests_cannot_subscribe_but_listen_streams_hear_of_updates() {
    let server = TestServer::serve(surface(), false).await;
    let mut wire = Wire::open(Way::Tcp2026, server.addr).await;
    let refused = wire
        .request(1, "resources/subscribe", json!({"uri": "mem://one"}))
        .await;
    assert_eq!(error_code(&refused), -32601);

    let mut client = server.client().await;
    let listen = support::stateless(json!({"notifications": {"resourceSubscriptions": ["mem://one"]}}));
    client
        .send(&json!({"jsonrpc": "2.0", "id": "sub", "method": "subscriptions/listen", "params": listen}))
        .await;
    client
        .notification("notifications/subscriptions/acknowledged")
        .await;
    server.handle.resource_updated("mem://two");
    server.handle.resource_updated("mem://one");
    let note = client.notification("notifications/resources/updated").await;
    assert_eq!(note["params"]["uri"], "mem://one");
    assert_eq!(
        note["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        "sub"
    );
    server.stop().await;
}

#[tokio::test]
async fn changes_at_run_time_are_listed_and_announced() {
    for http in [false, true] {
        let server = TestServer::serve(surface(), http).await;
        // A 2025 session hears of it on its connection (TCP) or GET stream
        // (HTTP); a 2026 listen stream that asked for it hears of it too.
        let mut tcp_client = None;
        let mut get_stream = None;
        let session = if http {
            let session = support::http::Session::start(server.addr).await;
            // A request answered after `notifications/initialized` means
            // the session has taken it in.
            session.request(99, "ping", json!({})).await;
            get_stream = Some(session.listen().await);
            Some(session)
        } else {
            let mut client = server.client().await;
            client.initialize().await;
            client.request(99, "ping", json!({})).await;
            tcp_client = Some(client);
            None
        };
        let mut listen = if http {
            let params = json!({"notifications": {"toolsListChanged": true, "promptsListChanged": true}});
            let mut open = support::http::stateless(server.addr, "subscriptions/listen", None, params).await;
            let ack = open.message().await.unwrap();
            assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
            Some(open)
        } else {
            None
        };
        server
            .wait_for("the streams to be open", |h| !http || h.sessions().len() >= 2)
            .await;

        let report = server.handle.add_tool(Tool::new(
            "late",
            "added later",
            json!({"type": "object"}),
            |_, _| async { Ok(ToolOutput::text("late")) },
        ));
        assert!(report.queued >= 1, "someone was told: {report:?}");
        let mut wire = Wire::open(if http { Way::Http2026 } else { Way::Tcp2026 }, server.addr).await;
        let called = wire.request(1, "tools/call", json!({"name": "late"})).await;
        assert_eq!(called["result"]["content"][0]["text"], "late");
        let listed = page_through(&mut wire, "tools/list", "tools", "name").await;
        assert_eq!(listed.last().map(String::as_str), Some("late"));
        server.handle.remove_tool("late");
        let gone = wire.request(2, "tools/call", json!({"name": "late"})).await;
        assert_eq!(error_code(&gone), -32602);
        server
            .handle
            .add_prompt(Prompt::new("later", vec![], |_, _| async {
                Ok(PromptOutput::new())
            }));
        assert_eq!(
            server.handle.remove_prompt("nothing-by-this-name").queued,
            0,
            "removing nothing announces nothing"
        );

        let expected = [
            "notifications/tools/list_changed",
            "notifications/tools/list_changed",
            "notifications/prompts/list_changed",
        ];
        if let Some(client) = tcp_client.as_mut() {
            for method in expected {
                client.notification(method).await;
            }
        }
        for stream in [get_stream.as_mut(), listen.as_mut()].into_iter().flatten() {
            for method in expected {
                let note = stream.message().await.expect("a notification");
                assert_eq!(note["method"], method);
            }
        }
        if let Some(mut stream) = listen {
            // Listen-stream notifications carry the subscription id.
            server
                .handle
                .add_tool(Tool::new("again", "", json!({"type": "object"}), |_, _| async {
                    Ok(ToolOutput::text(""))
                }));
            let note = tokio::time::timeout(Duration::from_secs(20), stream.message())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                note["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
                1
            );
        }
        drop(session);
        server.stop().await;
    }
}
