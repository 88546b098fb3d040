//! Input from the client in 2026-07-28 (multi-round-trip requests), over
//! TCP and HTTP: a handler that asks ends the call with `input_required`;
//! the client retries with the answers and the echoed `requestState`, and
//! the handler runs again. Several questions in one round, several rounds,
//! a capability not declared, and `requestState` tampered with, issued for
//! another tool, expired, or sealed by a replica with the same key.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcp_server_core::config::StateKey;
use mcp_server_core::protocol::request_state::{StateError, StatePayload, open, seal};
use mcp_server_core::{InputError, Server, ServerConfig, Tool, ToolOutput};
use serde_json::{Value, json};
use support::wire::{Way, Wire};
use support::{TestServer, error_code};

const KEY: &[u8] = b"a shared key for every replica";

fn name_schema() -> Value {
    json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]})
}

/// `wizard`: asks a name (unnamed: `input-1`), then, in a second round,
/// both a color (`color`) and the roots (`roots`) at once.
fn wizard() -> Tool {
    Tool::new(
        "wizard",
        "asks in two rounds",
        json!({"type": "object"}),
        |_, ctx| async move {
            let name = ctx.elicit("Your name?", name_schema()).await?;
            let (color, roots) = tokio::join!(
                ctx.elicit_as("color", "Favorite color?", json!({"type": "object"})),
                ctx.list_roots_as("roots"),
            );
            let (color, roots) = (color?, roots?);
            Ok(ToolOutput::text(format!(
                "{} likes {} and has {} root(s)",
                name["content"]["name"].as_str().unwrap_or("?"),
                color["content"]["color"].as_str().unwrap_or("?"),
                roots["roots"].as_array().map_or(0, Vec::len)
            )))
        },
    )
}

/// `sampler`: asks the client's model, which needs `sampling`.
fn sampler() -> Tool {
    Tool::new(
        "sampler",
        "samples",
        json!({"type": "object"}),
        |_, ctx| async move {
            match ctx.sample(json!({"messages": [], "maxTokens": 1})).await {
                Err(InputError::NotSupported(capability)) => {
                    Ok(ToolOutput::error(format!("no {capability}")))
                }
                answer => Ok(ToolOutput::structured(answer?)),
            }
        },
    )
}

fn keyed_server() -> Server {
    server_with_keys(&[KEY])
}

/// A server holding `keys`, newest first.
fn server_with_keys(keys: &[&[u8]]) -> Server {
    let keys = keys.iter().map(|k| StateKey::new(k).unwrap());
    let config = ServerConfig::default().request_state_keys(keys);
    Server::builder()
        .config(config)
        .tool(wizard())
        .tool(sampler())
        .build()
}

/// `tools/call` of `tool` with `extra` params and these client capabilities.
async fn call(wire: &mut Wire, tool: &str, extra: Value, capabilities: Value) -> Value {
    let mut params = json!({"name": tool, "arguments": {},
                            "_meta": {"io.modelcontextprotocol/clientCapabilities": capabilities}});
    params
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    wire.request(1, "tools/call", params).await
}

crate::both_runtimes! {
    async fn a_handler_asks_over_two_rounds_and_is_answered() {
        for http in [false, true] {
            let server = TestServer::serve(keyed_server(), http).await;
            let way = if http { Way::Http2026 } else { Way::Tcp2026 };
            let mut wire = Wire::open(way, server.addr).await;
            let caps = json!({"elicitation": {}, "roots": {}});

            let round1 = call(&mut wire, "wizard", json!({}), caps.clone()).await;
            let result = &round1["result"];
            assert_eq!(result["resultType"], "input_required", "{way:?}: {round1}");
            let requests = result["inputRequests"].as_object().unwrap();
            assert_eq!(requests.keys().collect::<Vec<_>>(), ["input-1"]);
            assert_eq!(requests["input-1"]["method"], "elicitation/create");
            assert_eq!(requests["input-1"]["params"]["message"], "Your name?");
            assert!(result["requestState"].is_string());

            let round2 = call(
                &mut wire,
                "wizard",
                json!({"requestState": result["requestState"],
                       "inputResponses": {"input-1": {"action": "accept", "content": {"name": "Ada"}}}}),
                caps.clone(),
            )
            .await;
            let result = &round2["result"];
            assert_eq!(result["resultType"], "input_required", "{way:?}: {round2}");
            let mut keys: Vec<_> = result["inputRequests"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            keys.sort();
            assert_eq!(keys, ["color", "roots"], "two questions in one round");

            // Only this round's answers are sent: the name comes from the state.
            let round3 = call(
                &mut wire,
                "wizard",
                json!({"requestState": result["requestState"],
                       "inputResponses": {
                           "color": {"action": "accept", "content": {"color": "green"}},
                           "roots": {"roots": [{"uri": "file:///a"}, {"uri": "file:///b"}]},
                           "unexpected": {"ignored": true}}}),
                caps.clone(),
            )
            .await;
            assert_eq!(round3["result"]["resultType"], "complete", "{way:?}: {round3}");
            assert_eq!(
                round3["result"]["content"][0]["text"],
                "Ada likes green and has 2 root(s)"
            );
            server.stop().await;
        }
    }
}

crate::both_runtimes! {
    async fn a_question_the_client_cannot_answer_is_never_asked() {
        let server = TestServer::serve(keyed_server(), true).await;
        let mut wire = Wire::open(Way::Http2026, server.addr).await;
        let response = call(&mut wire, "sampler", json!({}), json!({"elicitation": {}})).await;
        assert_eq!(response["result"]["resultType"], "complete");
        assert_eq!(response["result"]["isError"], true);
        assert_eq!(response["result"]["content"][0]["text"], "no sampling");
        let asked = call(&mut wire, "sampler", json!({}), json!({"sampling": {}})).await;
        assert_eq!(
            asked["result"]["inputRequests"]["input-1"]["method"],
            "sampling/createMessage"
        );
        server.stop().await;
    }
}

crate::both_runtimes! {
    async fn a_request_state_is_refused_unless_sealed_here_for_this_call_and_fresh() {
        let server = TestServer::serve(keyed_server(), false).await;
        let mut wire = Wire::open(Way::Tcp2026, server.addr).await;
        let caps = json!({"elicitation": {}});
        let round1 = call(&mut wire, "wizard", json!({}), caps.clone()).await;
        let state = round1["result"]["requestState"].as_str().unwrap().to_owned();
        let answer = json!({"input-1": {"action": "accept", "content": {"name": "Ada"}}});

        let sealed = |name: &str, expires: u64, key: &[u8]| {
            seal(
                key,
                &StatePayload {
                    method: "tools/call".into(),
                    name: name.into(),
                    expires,
                    answers: BTreeMap::new(),
                    caller: None,
                },
            )
        };
        let far = u64::MAX / 2;
        for (why, bad) in [
            ("tampered", format!("{state}-TAMPERED")),
            ("another tool's", sealed("sampler", far, KEY)),
            ("expired", sealed("wizard", 1, KEY)),
            (
                "sealed with another key",
                sealed("wizard", far, b"not the key of this server"),
            ),
            ("not a state at all", "hello".to_owned()),
        ] {
            let response = call(
                &mut wire,
                "wizard",
                json!({"requestState": bad, "inputResponses": answer}),
                caps.clone(),
            )
            .await;
            assert_eq!(error_code(&response), -32602, "{why}: {response}");
        }
        // A replica with the same key accepts what this one sealed.
        let replica = TestServer::serve(keyed_server(), true).await;
        let mut other = Wire::open(Way::Http2026, replica.addr).await;
        let round2 = call(
            &mut other,
            "wizard",
            json!({"requestState": sealed("wizard", far, KEY), "inputResponses": answer}),
            caps,
        )
        .await;
        assert_eq!(round2["result"]["resultType"], "input_required", "{round2}");
        replica.stop().await;
        server.stop().await;
    }
}

crate::both_runtimes! {
    /// What a server sealed opens on a server that holds its key among others
    /// (the new key first, while it is rolled out), and on none that no longer
    /// holds it; what the rotated server seals opens under the new key alone.
    async fn a_state_key_rotates_without_refusing_a_client_mid_round() {
        const NEW: &[u8] = b"the next key for every replica";
        let caps = json!({"elicitation": {}, "roots": {}});
        let answer = json!({"input-1": {"action": "accept", "content": {"name": "Ada"}}});
        let old = TestServer::serve(server_with_keys(&[KEY]), true).await;
        let mut wire = Wire::open(Way::Http2026, old.addr).await;
        let round1 = call(&mut wire, "wizard", json!({}), caps.clone()).await;
        let by_old = round1["result"]["requestState"].clone();
        old.stop().await;

        let rotating = TestServer::serve(server_with_keys(&[NEW, KEY]), true).await;
        let mut wire = Wire::open(Way::Http2026, rotating.addr).await;
        let round2 = call(
            &mut wire,
            "wizard",
            json!({"requestState": by_old, "inputResponses": answer}),
            caps.clone(),
        )
        .await;
        assert_eq!(round2["result"]["resultType"], "input_required", "{round2}");
        let by_new = round2["result"]["requestState"].clone();
        rotating.stop().await;

        let retired = TestServer::serve(server_with_keys(&[NEW]), false).await;
        let mut wire = Wire::open(Way::Tcp2026, retired.addr).await;
        let refused = call(
            &mut wire,
            "wizard",
            json!({"requestState": by_old, "inputResponses": answer}),
            caps.clone(),
        )
        .await;
        assert_eq!(error_code(&refused), -32602, "sealed by a retired key: {refused}");
        let round3 = call(
            &mut wire,
            "wizard",
            json!({"requestState": by_new, "inputResponses": {
                "color": {"action": "accept", "content": {"color": "green"}},
                "roots": {"roots": []}}}),
            caps,
        )
        .await;
        assert_eq!(
            round3["result"]["content"][0]["text"], "Ada likes green and has 0 root(s)",
            "{round3}"
        );
        retired.stop().await;
    }
}

/// Seconds since the Unix epoch, by the test's own clock.
fn epoch_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

crate::both_runtimes! {
    /// A state is sealed to expire its time to live from now, by the wall
    /// clock, and one is opened against the wall clock. Catches a clock in
    /// other units than seconds (`now`'s `/ 1000` made `* 1000` or
    /// `% 1000`: what the server seals expires centuries late, or what
    /// expired a minute ago still opens) and an expiry of `now * ttl`,
    /// which the other checks here, all on one server's clock, let by.
    async fn a_state_expires_its_time_to_live_from_now_by_the_wall_clock() {
        let ttl = Duration::from_secs(600);
        let keys = [StateKey::new(KEY).unwrap()];
        let config = ServerConfig::default().request_state_keys(keys).request_state_ttl(ttl);
        let server = TestServer::serve(Server::builder().config(config).tool(wizard()).build(), false).await;
        let mut wire = Wire::open(Way::Tcp2026, server.addr).await;
        let caps = json!({"elicitation": {}});
        let before = epoch_secs();
        let round1 = call(&mut wire, "wizard", json!({}), caps.clone()).await;
        let after = epoch_secs();
        let state = round1["result"]["requestState"].as_str().unwrap().to_owned();
        let request = ("tools/call", "wizard");
        let payload = open(KEY, &state, request, None, after).expect("the state opens now");
        assert!(
            (before + 600..=after + 600).contains(&payload.expires),
            "sealed to expire at {}, not {before}..={after} + 600",
            payload.expires
        );
        assert!(
            matches!(open(KEY, &state, request, None, after + 601), Err(StateError::Expired)),
            "the state is past its time to live"
        );

        // The server opens what it is given against the wall clock.
        let answer = json!({"input-1": {"action": "accept", "content": {"name": "Ada"}}});
        for (expires, opens) in [(epoch_secs() + 60, true), (epoch_secs() - 60, false)] {
            let payload = StatePayload {
                method: "tools/call".into(),
                name: "wizard".into(),
                expires,
                answers: BTreeMap::new(),
                caller: None,
            };
            let response = call(
                &mut wire,
                "wizard",
                json!({"requestState": seal(KEY, &payload), "inputResponses": answer}),
                caps.clone(),
            )
            .await;
            if opens {
                assert_eq!(response["result"]["resultType"], "input_required", "expires in a minute: {response}");
            } else {
                assert_eq!(error_code(&response), -32602, "expired a minute ago: {response}");
            }
        }
        server.stop().await;
    }
}
