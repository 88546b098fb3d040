//! Both protocol generations over a real socket: the 2024-11-05 .. 2025-11-25
//! `initialize` handshake and the 2026-07-28 stateless requests.

#![cfg(not(any(loom, shuttle)))]

mod support;

use mcp_server_core::ServerConfig;
use serde_json::json;
use support::{TestServer, error_code, stateless};

#[tokio::test]
async fn each_handshake_version_is_negotiated_and_unknown_ones_get_the_newest() {
    let server = TestServer::start(ServerConfig::default(), vec![]).await;
    for version in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let mut client = server.client().await;
        let result = client.initialize_at(version).await;
        assert_eq!(result["protocolVersion"], version);
        assert_eq!(result["serverInfo"]["name"], "mcp-server-core");
        assert!(result["capabilities"]["tools"].is_object());
        let listed = client.request(1, "tools/list", json!({})).await;
        let names: Vec<_> = listed["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["echo", "sleep", "broadcast", "confirm"]);
        assert!(listed["result"].get("resultType").is_none());
    }
    let mut client = server.client().await;
    assert_eq!(
        client.initialize_at("1999-01-01").await["protocolVersion"],
        "2025-11-25"
    );
    let again = client
        .request(9, "initialize", json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "x", "version": "0"}}))
        .await;
    assert_eq!(error_code(&again), -32600);
    server.stop().await;
}

#[tokio::test]
async fn requests_before_initialize_are_refused_but_ping_works() {
    let server = TestServer::start(ServerConfig::default(), vec![]).await;
    let mut client = server.client().await;
    let refused = client.request(1, "tools/list", json!({})).await;
    assert_eq!(error_code(&refused), -32002);
    let pong = client.request(2, "ping", json!({})).await;
    assert_eq!(pong["result"], json!({}));
    let missing_version = client.request(3, "initialize", json!({"capabilities": {}})).await;
    assert_eq!(error_code(&missing_version), -32602);
    client.initialize().await;
    assert!(client.request(4, "tools/list", json!({})).await["result"]["tools"].is_array());
    server.stop().await;
}

#[tokio::test]
async fn stateless_requests_need_no_handshake() {
    let server = TestServer::start(ServerConfig::default(), vec![]).await;
    let mut client = server.client().await;

    let discovered = client.request("d", "server/discover", stateless(json!({}))).await;
    let result = &discovered["result"];
    assert_eq!(result["resultType"], "complete");
    assert_eq!(result["supportedVersions"][0], "2026-07-28");
    assert!(
        result["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("2025-11-25"))
    );
    assert!(result["capabilities"]["tools"].is_object());
    assert!(result["ttlMs"].is_u64() && result["cacheScope"].is_string());

    let listed = client.request(1, "tools/list", stateless(json!({}))).await;
    assert_eq!(listed["result"]["resultType"], "complete");
    assert_eq!(listed["result"]["tools"].as_array().unwrap().len(), 4);

    let called = client
        .request(
            2,
            "tools/call",
            stateless(json!({"name": "echo", "arguments": {"text": "stateless"}})),
        )
        .await;
    assert_eq!(called["result"]["resultType"], "complete");
    assert_eq!(called["result"]["content"][0]["text"], "stateless");
    // Every stateless result names the server in its `_meta`.
    for result in [&discovered["result"], &listed["result"], &called["result"]] {
        let info = &result["_meta"]["io.modelcontextprotocol/serverInfo"];
        assert_eq!(info["name"], "mcp-server-core", "{result}");
        assert!(info["version"].is_string());
    }

    // A request without _meta on this connection still needs a handshake.
    assert_eq!(
        error_code(&client.request(3, "tools/list", json!({})).await),
        -32002
    );
    server.stop().await;
}

#[tokio::test]
async fn an_unsupported_stateless_version_is_named_in_the_error() {
    let server = TestServer::start(ServerConfig::default(), vec![]).await;
    let mut client = server.client().await;
    let params = json!({"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2099-01-01",
        "io.modelcontextprotocol/clientCapabilities": {}
    }});
    let refused = client.request(1, "tools/list", params).await;
    assert_eq!(error_code(&refused), -32022);
    assert_eq!(refused["error"]["data"]["requested"], "2099-01-01");
    assert_eq!(refused["error"]["data"]["supported"], json!(["2026-07-28"]));
    let no_caps = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}});
    assert_eq!(
        error_code(&client.request(2, "tools/list", no_caps).await),
        -32602
    );
    server.stop().await;
}

/// What the builder was told is what clients see: `serverInfo` and
/// `instructions` in `initialize` and `server/discover`, the server's name
/// in every 2026-07-28 result's `_meta`; and the handle says when shutdown
/// has begun. (cargo-mutants left builder setters that drop what they are
/// given, and an `is_shutting_down` that always says yes, alive before this
/// test.)
#[tokio::test]
async fn the_builder_settings_reach_clients_and_the_handle_tells_shutdown() {
    let server = mcp_server_core::Server::builder()
        .config(ServerConfig::default().max_sessions(7))
        .server_info("custom-name", "9.8.7")
        .instructions("use echo")
        .builtin_tools()
        .build();
    assert_eq!(server.config().max_sessions, 7);
    let listener = mcp_server_core::transport::tcp::bind("127.0.0.1:0".parse().unwrap(), 16)
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = server.handle();
    let serving = tokio::spawn(async move { server.serve_tcp(listener).await });
    let mut client = support::Client::connect(addr).await;
    let init = client.initialize().await;
    assert_eq!(
        init["serverInfo"],
        json!({"name": "custom-name", "version": "9.8.7"})
    );
    assert_eq!(init["instructions"], "use echo");
    let discovered = client.request(1, "server/discover", stateless(json!({}))).await;
    assert_eq!(discovered["result"]["instructions"], "use echo");
    assert_eq!(
        discovered["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "custom-name"
    );
    assert!(!handle.is_shutting_down());
    handle.shutdown();
    assert!(handle.is_shutting_down());
    tokio::time::timeout(support::HANG, serving)
        .await
        .unwrap()
        .unwrap();
}

/// `initialize` does not exist at 2026-07-28: sent as a stateless request
/// it is method-not-found, and the connection stays uninitialized.
/// (cargo-mutants left a dispatch that ran the handshake for it alive.)
#[tokio::test]
async fn initialize_is_not_a_stateless_method() {
    let server = TestServer::start(ServerConfig::default(), vec![]).await;
    let mut client = server.client().await;
    let params = stateless(json!({
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}
    }));
    let answer = client.request(1, "initialize", params).await;
    assert_eq!(error_code(&answer), -32601, "{answer}");
    assert_eq!(
        error_code(&client.request(2, "tools/list", json!({})).await),
        -32002
    );
    server.stop().await;
}
