//! The server surface beyond tools, over every way a client reaches it
//! (TCP and Streamable HTTP, each in a 2025 session and as 2026-07-28
//! stateless requests): resources and templates, prompts, completion,
//! paged lists, list changes at run time, resource subscriptions, handler
//! logging, typed tools and the capabilities advertised.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::time::Duration;

use mcp_server_core::{
    Completer, CompletionRef, Content, HandlerError, MAX_SUBSCRIBED_BYTES_PER_SESSION, Prompt,
    PromptArgument, PromptOutput, ReadRequest, Resource, ResourceContents, ResourceTemplate, Server,
    ServerConfig, Tool, ToolError, ToolOutput,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use support::wire::{Way, Wire};
use support::{TestServer, error_code};

/// Items per page in these tests: every list spans several pages.
const PAGE: usize = 2;

fn text_resource(uri: &'static str) -> Resource {
    Resource::new(
        uri,
        uri.trim_start_matches("mem://"),
        move |_: ReadRequest, _| async move {
            Ok(vec![
                ResourceContents::text(uri, format!("contents of {uri}")).mime_type("text/plain"),
            ])
        },
    )
}

/// A tool with no arguments that logs one message at each of `levels`.
fn logger() -> Tool {
    Tool::new("logger", "logs", json!({"type": "object"}), |_, ctx| async move {
        for level in ["debug", "info", "error"] {
            let _ = ctx.log(level, Some("test"), json!(format!("a {level} message")));
        }
        Ok(ToolOutput::text("logged"))
    })
}

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// The first number.
    a: i64,
    /// The second number.
    b: i64,
}

#[derive(Serialize, JsonSchema)]
struct Sum {
    sum: i64,
}

fn adder() -> Tool {
    Tool::typed("add", "adds two numbers", |args: AddArgs, _| async move {
        args.a
            .checked_add(args.b)
            .map(|sum| Sum { sum })
            .ok_or_else(|| ToolError::InvalidArguments("the sum overflows".into()))
    })
}

#[derive(Deserialize, JsonSchema)]
struct TripArgs {
    /// Where to.
    city: String,
    /// For how long.
    days: Option<String>,
}

fn trip() -> Prompt {
    Prompt::typed("trip", |args: TripArgs, _| async move {
        let days = args.days.as_deref().unwrap_or("a few");
        Ok(PromptOutput::new().user(Content::text(format!("Plan {days} days in {}.", args.city))))
    })
}

fn greet() -> Prompt {
    Prompt::new(
        "greet",
        vec![
            PromptArgument::required("name", "who to greet"),
            PromptArgument::optional("mood", "how"),
        ],
        |args, _| async move {
            let mood = args.get("mood").map_or("warmly", String::as_str);
            Ok(PromptOutput::new().user(Content::text(format!("Greet {} {mood}.", args["name"]))))
        },
    )
    .description("a greeting")
}

fn surface() -> Server {
    let mut builder = Server::builder()
        .config(ServerConfig::default().page_size(PAGE))
        .builtin_tools()
        .tool(logger())
        .tool(adder())
        .prompt(greet())
        .prompt(Prompt::new("plain", vec![], |_, _| async {
            Ok(PromptOutput::new().assistant(Content::text("plain")))
        }))
        .prompt(Prompt::new("third", vec![], |_, _| async {
            Ok(PromptOutput::new())
        }))
        .prompt(trip())
        .resource(
            Resource::new("mem://blob", "blob", |_, _| async {
                Ok(vec![
                    ResourceContents::blob("mem://blob", "AAEC").mime_type("application/octet-stream"),
                ])
            })
            .mime_type("application/octet-stream"),
        )
        .resource_template(ResourceTemplate::new(
            "mem://users/{id}",
            "user",
            |request: ReadRequest, _| async move {
                let id = request.var("id").unwrap_or_default().to_owned();
                if id == "0" {
                    return Err(HandlerError::NotFound);
                }
                Ok(vec![ResourceContents::text(request.uri(), format!("user {id}"))])
            },
        ))
        .resource_template(ResourceTemplate::new(
            "mem://a/{x}",
            "a",
            |r: ReadRequest, _| async move { Ok(vec![ResourceContents::text(r.uri(), "a")]) },
        ))
        .resource_template(ResourceTemplate::new(
            "mem://b/{x}",
            "b",
            |r: ReadRequest, _| async move { Ok(vec![ResourceContents::text(r.uri(), "b")]) },
        ))
        .completer(Completer::new(|request, _| async move {
            let pool: Vec<String> = match (&request.reference, request.argument.as_str()) {
                (CompletionRef::Prompt(p), "name") if p == "greet" => {
                    ["ada", "alan", "grace"].map(String::from).to_vec()
                }
                (CompletionRef::Resource(t), "id") if t == "mem://users/{id}" => {
                    (0..250).map(|i| i.to_string()).collect()
                }
                _ => vec![],
            };
            Ok(pool
                .into_iter()
                .filter(|v| v.starts_with(&request.value))
                .collect())
        }));
    for uri in [
        "mem://one",
        "mem://two",
        "mem://three",
        "mem://four",
        "mem://five",
    ] {
        builder = builder.resource(text_resource(uri));
    }
    builder.build()
}

/// Every item of a list, following `nextCursor` page by page.
async fn page_through(wire: &mut Wire, method: &str, key: &str, field: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor = Value::Null;
    for id in 100.. {
        let params = if cursor.is_null() {
            json!({})
        } else {
            json!({"cursor": cursor})
        };
        let response = wire.request(id, method, params).await;
        let result = &response["result"];
        let page = result[key]
            .as_array()
            .unwrap_or_else(|| panic!("{method}: {response}"));
        assert!(page.len() <= PAGE, "{method}: a page of {}", page.len());
        names.extend(
            page.iter()
                .map(|item| item[field].as_str().expect("a name").to_owned()),
        );
        cursor = result.get("nextCursor").cloned().unwrap_or(Value::Null);
        if cursor.is_null() {
            break;
        }
        assert!(!page.is_empty(), "{method}: an empty page with a next cursor");
    }
    names
}

#[tokio::test]
async fn lists_page_through_everything_and_refuse_foreign_cursors() {
    for http in [false, true] {
        let server = TestServer::serve(surface(), http).await;
        for way in Way::ALL.into_iter().filter(|w| w.is_http() == http) {
            let mut wire = Wire::open(way, server.addr).await;
            let tools = page_through(&mut wire, "tools/list", "tools", "name").await;
            assert_eq!(
                tools,
                ["echo", "sleep", "broadcast", "confirm", "logger", "add"],
                "{way:?}"
            );
            let resources = page_through(&mut wire, "resources/list", "resources", "uri").await;
            assert_eq!(
                resources,
                [
                    "mem://blob",
                    "mem://one",
                    "mem://two",
                    "mem://three",
                    "mem://four",
                    "mem://five"
                ],
                "{way:?}"
            );
            let templates = page_through(
                &mut wire,
                "resources/templates/list",
                "resourceTemplates",
                "uriTemplate",
            )
            .await;
            assert_eq!(
                templates,
                ["mem://users/{id}", "mem://a/{x}", "mem://b/{x}"],
                "{way:?}"
            );
            let prompts = page_through(&mut wire, "prompts/list", "prompts", "name").await;
            assert_eq!(prompts, ["greet", "plain", "third", "trip"], "{way:?}");
            for cursor in [json!("not-a-cursor"), json!(7)] {
                let response = wire.request(1, "resources/list", json!({"cursor": cursor})).await;
                assert_eq!(error_code(&response), -32602, "{way:?}: {response}");
            }
            let listed = wire.request(2, "tools/list", json!({})).await;
            assert_eq!(
                listed["result"].get("ttlMs").is_some(),
                way.is_stateless(),
                "{way:?}: cache hints on stateless lists only"
            );
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn resources_read_as_text_blob_and_template_and_missing_ones_per_generation() {
    for http in [false, true] {
        let server = TestServer::serve(surface(), http).await;
        for way in Way::ALL.into_iter().filter(|w| w.is_http() == http) {
            let mut wire = Wire::open(way, server.addr).await;
            let text = wire
                .request(1, "resources/read", json!({"uri": "mem://two"}))
                .await;
            assert_eq!(
                text["result"]["contents"],
                json!([{"uri": "mem://two", "text": "contents of mem://two", "mimeType": "text/plain"}]),
                "{way:?}"
            );
            let blob = wire
                .request(2, "resources/read", json!({"uri": "mem://blob"}))
                .await;
            assert_eq!(blob["result"]["contents"][0]["blob"], "AAEC", "{way:?}");
            let user = wire
                .request(3, "resources/read", json!({"uri": "mem://users/42"}))
                .await;
            assert_eq!(user["result"]["contents"][0]["text"], "user 42", "{way:?}");
            if way.is_stateless() {
                assert_eq!(user["result"]["resultType"], "complete");
                assert_eq!(user["result"]["cacheScope"], "private");
            }
            let not_found = if way.is_stateless() { -32602 } else { -32002 };
            // Matched by no resource and no template; and one that the
            // template's handler says does not exist.
            for (id, uri) in [(4, "mem://nothing"), (5, "mem://users/0"), (6, "mem://users/1/2")] {
                let missing = wire.request(id, "resources/read", json!({"uri": uri})).await;
                assert_eq!(error_code(&missing), not_found, "{way:?} {uri}: {missing}");
                assert_eq!(missing["error"]["data"]["uri"], uri, "{way:?}");
            }
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn prompts_check_required_arguments_and_completion_asks_the_handler() {
    for http in [false, true] {
        let server = TestServer::serve(surface(), http).await;
        for way in Way::ALL.into_iter().filter(|w| w.is_http() == http) {
            let mut wire = Wire::open(way, server.addr).await;
            let got = wire
                .request(
                    1,
                    "prompts/get",
                    json!({"name": "greet", "arguments": {"name": "ada"}}),
                )
                .await;
            assert_eq!(
                got["result"]["messages"],
                json!([{"role": "user", "content": {"type": "text", "text": "Greet ada warmly."}}]),
                "{way:?}"
            );
            let missing = wire
                .request(
                    2,
                    "prompts/get",
                    json!({"name": "greet", "arguments": {"mood": "x"}}),
                )
                .await;
            assert_eq!(error_code(&missing), -32602, "{way:?}");
            assert!(
                missing["error"]["message"].as_str().unwrap().contains("name"),
                "{missing}"
            );
            // A typed prompt: its arguments come from the type.
            let planned = wire
                .request(
                    6,
                    "prompts/get",
                    json!({"name": "trip", "arguments": {"city": "Oslo", "days": "3"}}),
                )
                .await;
            assert_eq!(
                planned["result"]["messages"][0]["content"]["text"], "Plan 3 days in Oslo.",
                "{way:?}"
            );
            let no_city = wire
                .request(7, "prompts/get", json!({"name": "trip", "arguments": {}}))
                .await;
            assert_eq!(error_code(&no_city), -32602, "{way:?}");
            let unknown = wire.request(3, "prompts/get", json!({"name": "nope"})).await;
            assert_eq!(error_code(&unknown), -32602, "{way:?}");

            let names = wire
                .request(
                    4,
                    "completion/complete",
                    json!({
                        "ref": {"type": "ref/prompt", "name": "greet"},
                        "argument": {"name": "name", "value": "a"}
                    }),
                )
                .await;
            assert_eq!(
                names["result"]["completion"],
                json!({"values": ["ada", "alan"], "total": 2, "hasMore": false}),
                "{way:?}"
            );
            let ids = wire
                .request(
                    5,
                    "completion/complete",
                    json!({
                        "ref": {"type": "ref/resource", "uri": "mem://users/{id}"},
                        "argument": {"name": "id", "value": "1"}
                    }),
                )
                .await;
            let completion = &ids["result"]["completion"];
            assert_eq!(completion["values"].as_array().unwrap().len(), 100, "{way:?}");
            assert_eq!(
                (completion["total"].as_u64(), completion["hasMore"].as_bool()),
                (Some(111), Some(true))
            );
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn capabilities_are_exactly_what_is_registered() {
    let bare = Server::builder().builtin_tools().build();
    let full = surface();
    for (server, expected) in [
        (bare, json!({"tools": {"listChanged": true}, "logging": {}})),
        (
            full,
            json!({
                "tools": {"listChanged": true},
                "resources": {"subscribe": true, "listChanged": true},
                "prompts": {"listChanged": true},
                "completions": {},
                "logging": {},
            }),
        ),
    ] {
        let server = TestServer::serve(server, false).await;
        let mut client = server.client().await;
        assert_eq!(client.initialize().await["capabilities"], expected);
        let discovered = client.request(1, "server/discover", json!({})).await;
        assert_eq!(discovered["result"]["capabilities"], expected);
        server.stop().await;
    }
    // Without a completer the method does not exist.
    let server = TestServer::serve(Server::builder().builtin_tools().build(), false).await;
    let mut client = server.client().await;
    client.initialize().await;
    let response = client
        .request(
            1,
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": "a", "value": ""}}),
        )
        .await;
    assert_eq!(error_code(&response), -32601);
    server.stop().await;
}

#[tokio::test]
async fn typed_tools_derive_their_schemas_and_report_bad_arguments_to_the_model() {
    let server = TestServer::serve(surface(), false).await;
    for way in [Way::Tcp2025, Way::Tcp2026] {
        let mut wire = Wire::open(way, server.addr).await;
        let listed = wire.request(1, "tools/list", json!({"cursor": null})).await;
        let mut tools = listed["result"]["tools"].as_array().unwrap().clone();
        let mut cursor = listed["result"]["nextCursor"].clone();
        while !cursor.is_null() {
            let next = wire.request(2, "tools/list", json!({"cursor": cursor})).await;
            tools.extend(next["result"]["tools"].as_array().unwrap().iter().cloned());
            cursor = next["result"]["nextCursor"].clone();
        }
        let add = tools.iter().find(|t| t["name"] == "add").expect("add is listed");
        assert_eq!(add["inputSchema"]["type"], "object");
        assert_eq!(
            add["inputSchema"]["properties"]["a"]["description"],
            "The first number."
        );
        assert_eq!(add["inputSchema"]["required"], json!(["a", "b"]));
        assert_eq!(add["outputSchema"]["properties"]["sum"]["type"], "integer");

        let sum = wire
            .request(
                3,
                "tools/call",
                json!({"name": "add", "arguments": {"a": 2, "b": 40}}),
            )
            .await;
        assert_eq!(sum["result"]["structuredContent"], json!({"sum": 42}), "{way:?}");
        assert_eq!(sum["result"]["isError"], false);
        let bad = wire
            .request(4, "tools/call", json!({"name": "add", "arguments": {"a": "two"}}))
            .await;
        assert_eq!(bad["result"]["isError"], true, "{way:?}: {bad}");
        let message = bad["result"]["content"][0]["text"].as_str().unwrap();
        assert!(
            message.contains("invalid type"),
            "serde's message reaches the model: {message}"
        );
        let overflow = wire
            .request(
                5,
                "tools/call",
                json!({"name": "add", "arguments": {"a": i64::MAX, "b": 1}}),
            )
            .await;
        assert_eq!(overflow["result"]["isError"], true);
    }
    server.stop().await;
}

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
            } else {
                // A session logs everything until it sets a level.
                let (_, notes) = wire.request_with(1, "tools/call", call.clone()).await;
                assert_eq!(logged(&notes).len(), 3, "{way:?}: {notes:?}");
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
    // A session holds at most MAX_SUBSCRIBED_BYTES_PER_SESSION of URIs.
    let big = format!("mem://{}", "x".repeat(MAX_SUBSCRIBED_BYTES_PER_SESSION - 16));
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
