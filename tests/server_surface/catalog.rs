//! The catalog's methods over every way in: paged lists, resources and
//! templates, prompts and completion, the capabilities advertised, typed
//! tools.

use super::*;

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
        // The built-in `sleep` may run as a task: the tasks extension.
        (
            bare,
            json!({"tools": {"listChanged": true}, "logging": {},
                   "extensions": {"io.modelcontextprotocol/tasks": {}}}),
        ),
        (
            full,
            json!({
                "tools": {"listChanged": true},
                "resources": {"subscribe": true, "listChanged": true},
                "prompts": {"listChanged": true},
                "completions": {},
                "logging": {},
                "extensions": {"io.modelcontextprotocol/tasks": {}},
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
