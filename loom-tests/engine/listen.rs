//! **Listen streams racing their cancellation, the operator's changes and
//! shutdown** (2026-07-28 `subscriptions/listen` multiplexed on line
//! sessions): the streams' registrations (`Listeners`, the core's
//! `Subscribers`), each stream's guard in its session, and their release
//! when the stream is cancelled, the session ends or the server drains.
//! This is the production path the model `listen_races_shutdown` copies
//! by hand.

use mcp_server_core::{Notification, Server, Tool, ToolOutput};
use serde_json::{Value, json};
use shuttle::rand::{Rng, thread_rng};

use super::{Client, assert_drained, config, serve};

const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// The params of a 2026-07-28 `subscriptions/listen` for tool-list changes.
fn listen_params() -> Value {
    json!({
        "notifications": {"toolsListChanged": true},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "shuttle", "version": "0"}
        }
    })
}

/// One listening client: opens stream "L", perhaps cancels it after its
/// first notification, and reads until the server hangs up. Every message
/// it gets is one it asked for.
async fn listener(mut client: Client, cancels: bool) {
    if !client
        .request_named("L", "subscriptions/listen", listen_params())
        .await
    {
        return;
    }
    let mut acknowledged = false;
    let mut cancelled = false;
    let mut heard = Vec::new();
    while let Some(message) = client.recv().await {
        heard.push(message.to_string());
        let method = message["method"].as_str().unwrap_or_default();
        match method {
            "notifications/subscriptions/acknowledged" => {
                assert!(!acknowledged, "acknowledged twice: {message}");
                acknowledged = true;
            }
            "notifications/tools/list_changed" => {
                assert!(
                    acknowledged,
                    "a notification before the acknowledgement: {heard:?}"
                );
                assert_eq!(message["params"]["_meta"][SUBSCRIPTION_ID], "L", "{message}");
                if cancels && !cancelled {
                    cancelled = true;
                    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                        "params": {"requestId": "L"}});
                    if !client.send(cancel).await {
                        return;
                    }
                }
            }
            // The stream's end: the listen request's answer (shutdown).
            "" if message["id"] == "L" => {}
            // Refused at the door: the server was shutting down.
            "" if message["id"].is_null() && message.get("error").is_some() => return,
            _ => panic!("heard what it did not ask for: {message}"),
        }
    }
}

/// **Listen streams end with their cancellation, their session or the
/// drain, while the operator changes the catalog.** Two clients each open
/// a listen stream for tool-list changes; one cancels its stream after the
/// first change it hears. Once a stream is open, the operator adds two
/// tools and broadcasts a log message (not for listen streams), and shuts
/// down within a few steps the schedule picks.
///
/// - A stream hears only what it asked for, after its acknowledgement, with
///   its own subscription id. (Caught: a write that shutdown came before
///   was dropped while what followed it was flushed, so a stream could hear
///   a change without its acknowledgement; `cancelled_batch_dropped`.)
/// - Once the drain ends, no stream is registered (`listeners()` is empty),
///   and nothing is live, held or running.
pub fn listen_races_cancel_and_shutdown() {
    shuttle::future::block_on(async move {
        let server = Server::builder().config(config()).build();
        let (dialer, handle, served) = serve(server);
        let clients: Vec<_> = [false, true]
            .into_iter()
            .map(|cancels| {
                let dialer = dialer.clone();
                tokio::spawn(async move {
                    if let Some(client) = dialer.connect().await {
                        listener(client, cancels).await;
                    }
                })
            })
            .collect();
        // The operator acts once a stream is open (its acknowledgement
        // queued), so that changes and shutdown meet the stream's first
        // writes.
        for _ in 0..50 {
            if !handle.listeners().is_empty() {
                break;
            }
            tokio::task::yield_now().await;
        }
        let operator = handle.clone();
        let changes = tokio::spawn(async move {
            for name in ["a", "b"] {
                operator.add_tool(Tool::new(
                    name,
                    "added",
                    json!({"type": "object"}),
                    |_, _| async { Ok(ToolOutput::text("added")) },
                ));
                operator.broadcast(&Notification::log("info", None, json!("not for listen streams")));
                tokio::task::yield_now().await;
            }
        });
        let steps = thread_rng().gen_range(0..4);
        for _ in 0..steps {
            tokio::task::yield_now().await;
        }
        handle.shutdown();
        super::pass_deadlines();
        served.await.expect("the serve loop returns");
        changes.await.unwrap();
        for client in clients {
            client.await.unwrap();
        }
        assert!(
            handle.listeners().is_empty(),
            "a listen stream stayed registered after the drain"
        );
        assert_drained(&handle, config().max_sessions);
    });
}
