//! **The handshake timeout racing clients that engage** (TCP lines): a
//! connection that sends neither `initialize` nor a 2026-07-28 request
//! within `handshake_timeout` is cut and counted (`handshake_timeouts`);
//! one that engaged either way before the deadline is served past it.
//! The deadline passes on the model clock at a step the schedule picks,
//! while the engaged clients' first requests are on their way.

use std::time::Duration;

use mcp_server_core::Server;
use serde_json::json;
use shuttle::rand::{Rng, thread_rng};

use super::{Client, assert_drained, config, serve};

const HANDSHAKE: Duration = Duration::from_secs(5);

/// The `_meta` of a 2026-07-28 request.
fn stateless_meta() -> serde_json::Value {
    json!({"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "shuttle", "version": "0"}
    }})
}

/// Reads until the answer to `id`; `None` if the server hung up first.
async fn answer_to(client: &mut Client, id: &str) -> Option<serde_json::Value> {
    loop {
        let message = client.recv().await?;
        if message["id"] == id {
            return Some(message);
        }
    }
}

/// **Only the silent connection is cut.** Three connections: one says
/// nothing, one initializes (2025), one sends a 2026-07-28 `tools/list`.
/// The engaged two have their answers before the handshake's deadline
/// passes; the clock then moves past it (after a few steps the schedule
/// picks, and again while the silent one's loop has yet to start), and:
///
/// - the silent connection is closed, and counted once;
/// - the engaged ones are answered after the deadline;
/// - after shutdown nothing is live.
pub fn handshake_cuts_only_the_silent() {
    shuttle::future::block_on(async move {
        let config = config().max_sessions(3).handshake_timeout(HANDSHAKE);
        let (dialer, handle, served) = serve(Server::builder().config(config).build());
        let mut silent = dialer.connect().await.expect("the server listens");
        let mut session = dialer.connect().await.expect("the server listens");
        let mut stateless = dialer.connect().await.expect("the server listens");
        assert!(session.initialize().await, "the session starts");
        stateless
            .request_named("list", "tools/list", stateless_meta())
            .await;
        let listed = answer_to(&mut stateless, "list").await.expect("answered");
        assert!(listed["result"]["tools"].is_array(), "{listed}");

        let operator = handle.clone();
        let clock = tokio::spawn(async move {
            for _ in 0..thread_rng().gen_range(0..4) {
                tokio::task::yield_now().await;
            }
            // A session's deadline is set when its loop starts, which the
            // schedule may put after a move of the clock: move it again
            // (a few times at most) until the silent one is cut.
            for _ in 0..8 {
                mcp_server_core::sync::advance_model_clock(HANDSHAKE.as_millis() as u64 + 1);
                tokio::task::yield_now().await;
                if operator.metrics().handshake_timeouts > 0 {
                    break;
                }
            }
        });
        // The silent connection hears nothing, then its end.
        assert!(
            silent.recv().await.is_none(),
            "the silent connection heard something"
        );
        clock.await.unwrap();
        let cut = handle.metrics().handshake_timeouts;
        assert_eq!(
            cut, 1,
            "{cut} handshake timeouts counted; only the silent connection's is one"
        );

        let after = [
            (&mut session, "p1", "ping", json!({})),
            (&mut stateless, "p2", "tools/list", stateless_meta()),
        ];
        for (client, id, method, params) in after {
            assert!(client.request_named(id, method, params).await, "{id}: cut");
            let answer = answer_to(client, id).await;
            assert!(
                answer.is_some(),
                "an engaged connection was cut at the handshake's deadline ({id})"
            );
            let answer = answer.unwrap_or_default();
            assert!(answer.get("result").is_some(), "{answer}");
        }
        session.hang_up().await;
        stateless.hang_up().await;
        handle.shutdown();
        super::pass_deadlines();
        served.await.expect("the serve loop returns");
        assert_drained(&handle, 3);
    });
}
