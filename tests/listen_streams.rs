//! `subscriptions/listen` (2026-07-28) over real sockets: on HTTP a
//! long-lived SSE stream, on TCP multiplexed on the connection. Each gets
//! its acknowledgement first, then only what it asked for, stamped with its
//! subscription id; it ends when the client closes it (HTTP) or cancels it
//! (TCP), and at shutdown with the listen request's answer.

#![cfg(not(any(loom, shuttle)))]

mod support;

use http::StatusCode;
use mcp_server_core::{Notification, ServerConfig};
use serde_json::{Value, json};
use support::http::stateless;
use support::{TestServer, wait_until};

const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

fn wanted() -> Value {
    json!({"notifications": {"toolsListChanged": true, "resourceSubscriptions": ["a://x"]}})
}

/// Publishes what the stream did not ask for, then what it did.
fn publish_mixed(server: &TestServer) {
    let handle = &server.handle;
    handle.broadcast(&Notification::new("notifications/resources/list_changed", None));
    handle.broadcast(&Notification::log("info", None, json!("not for listen streams")));
    handle.broadcast(&Notification::new(
        "notifications/resources/updated",
        Some(json!({"uri": "a://other"})),
    ));
    handle.broadcast(&Notification::new("notifications/tools/list_changed", None));
    handle.broadcast(&Notification::new(
        "notifications/resources/updated",
        Some(json!({"uri": "a://x"})),
    ));
}

crate::both_runtimes! {
    async fn an_http_listen_stream_gets_what_it_asked_for_and_ends_at_shutdown() {
        let server = TestServer::start_http(ServerConfig::default(), vec![]).await;
        let mut stream = stateless(server.addr, "subscriptions/listen", None, wanted()).await;
        assert_eq!(stream.status, StatusCode::OK);
        assert_eq!(stream.headers["content-type"], "text/event-stream");
        let ack = stream.message().await.expect("the acknowledgement");
        assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
        assert_eq!(ack["params"]["notifications"], wanted()["notifications"]);
        assert_eq!(ack["params"]["_meta"][SUBSCRIPTION_ID], 1);
        assert_eq!(
            server.handle.sessions().len(),
            1,
            "a listen stream is a core session"
        );
        assert_eq!(server.handle.listeners().len(), 1);

        publish_mixed(&server);
        let first = stream.message().await.expect("a notification");
        assert_eq!(first["method"], "notifications/tools/list_changed");
        assert_eq!(first["params"]["_meta"][SUBSCRIPTION_ID], 1);
        let second = stream.message().await.expect("a notification");
        assert_eq!(second["method"], "notifications/resources/updated");
        assert_eq!(second["params"]["uri"], "a://x");

        // notify_client to the stream's session: stamped, and only what it asked for.
        let id = server.handle.sessions()[0].id;
        server
            .handle
            .notify_client(id, &Notification::new("notifications/prompts/list_changed", None))
            .unwrap();
        server
            .handle
            .notify_client(id, &Notification::new("notifications/tools/list_changed", None))
            .unwrap();
        let third = stream
            .message()
            .await
            .expect("the notification sent to this stream");
        assert_eq!(third["method"], "notifications/tools/list_changed");
        assert_eq!(third["params"]["_meta"][SUBSCRIPTION_ID], 1);

        let report = server.stop().await;
        assert_eq!(report.sessions_aborted, 0);
        let last = stream.message().await.expect("the listen request's answer");
        assert_eq!(last["id"], 1);
        assert_eq!(last["result"]["_meta"][SUBSCRIPTION_ID], 1);
        assert!(stream.event().await.is_none(), "then the stream ends");
    }
}

crate::both_runtimes! {
    async fn closing_an_http_listen_stream_ends_its_session() {
        let server = TestServer::start_http(ServerConfig::default(), vec![]).await;
        let mut stream = stateless(server.addr, "subscriptions/listen", None, wanted()).await;
        stream.message().await.expect("the acknowledgement");
        assert_eq!(server.handle.listeners().len(), 1);
        drop(stream);
        wait_until("the stream's session to end", || {
            server.handle.sessions().is_empty() && server.handle.listeners().is_empty()
        })
        .await;
        assert_eq!(server.handle.available_permits(), 1024);
        let bad = stateless(server.addr, "subscriptions/listen", None, json!({})).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad.json().await["error"]["code"], -32602);
        // The stream that opened counts as answered, the refusal as an error.
        let text = server.handle.metrics_text();
        for outcome in ["ok", "error"] {
            let line = format!("mcp_requests_total{{method=\"subscriptions/listen\",outcome=\"{outcome}\"}} 1\n");
            assert!(text.contains(&line), "no {line:?} in:\n{text}");
        }
        server.stop().await;
    }
}

crate::both_runtimes! {
    async fn a_tcp_listen_stream_shares_the_connection_and_ends_when_cancelled() {
        let server = TestServer::start(ServerConfig::default(), vec![]).await;
        let mut client = server.client().await;
        client
            .send(
                &json!({"jsonrpc": "2.0", "id": "L", "method": "subscriptions/listen",
                          "params": support::http::stateless_params(wanted())}),
            )
            .await;
        let ack = client
            .notification("notifications/subscriptions/acknowledged")
            .await;
        assert_eq!(ack["params"]["_meta"][SUBSCRIPTION_ID], "L");
        wait_until("the listen stream", || server.handle.listeners().len() == 1).await;

        publish_mixed(&server);
        let first = client.recv().await.expect("a notification");
        assert_eq!(first["method"], "notifications/tools/list_changed");
        assert_eq!(first["params"]["_meta"][SUBSCRIPTION_ID], "L");
        let second = client.recv().await.expect("a notification");
        assert_eq!(second["params"]["uri"], "a://x");

        // The same id cannot be reused while the stream is open.
        let reused = client
            .request("L", "tools/list", support::stateless(json!({})))
            .await;
        assert_eq!(reused["error"]["code"], -32600);

        client
            .notify("notifications/cancelled", json!({"requestId": "L"}))
            .await;
        wait_until("the listen stream to end", || {
            server.handle.listeners().is_empty()
        })
        .await;
        server
            .handle
            .broadcast(&Notification::new("notifications/tools/list_changed", None));
        let pong = client
            .request(9, "server/discover", support::stateless(json!({})))
            .await;
        assert_eq!(pong["id"], 9, "nothing came before the answer: {pong}");
        assert!(client.notifications.is_empty(), "{:?}", client.notifications);
        server.stop().await;
    }
}
