//! Bad input over a real socket: every JSON-RPC error the spec names, and an
//! oversized line; after each the session goes on.

#![cfg(not(any(loom, shuttle)))]

mod support;

use mcp_server_core::ServerConfig;
use serde_json::{Value, json};
use support::{TestServer, error_code};

/// Sends a raw line and returns the reply, then checks the session still answers.
async fn reply_to(client: &mut support::Client, line: &[u8]) -> Value {
    client.send_raw(line).await;
    let reply = client.recv().await.expect("connection closed after bad input");
    let pong = client.request("alive", "ping", json!({})).await;
    assert_eq!(pong["result"], json!({}), "session did not go on after {reply}");
    reply
}

#[tokio::test]
async fn each_json_rpc_error_code() {
    let server = TestServer::start(ServerConfig::default(), vec![]).await;
    let mut client = server.client().await;
    client.initialize().await;

    let parse = reply_to(&mut client, b"{\"jsonrpc\": \"2.0\", oops").await;
    assert_eq!(error_code(&parse), -32700);
    assert_eq!(parse["id"], Value::Null);

    let not_utf8 = reply_to(&mut client, b"\xff\xfe{}").await;
    assert_eq!(error_code(&not_utf8), -32700);

    for (line, id) in [
        (r#"{"jsonrpc":"1.0","id":5,"method":"ping"}"#, json!(5)),
        (r#"{"jsonrpc":"2.0","id":6}"#, json!(6)),
        (r#"{"jsonrpc":"2.0","id":7,"method":42}"#, json!(7)),
        (r#"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#, Value::Null),
        (r#"[{"jsonrpc":"2.0","id":8,"method":"ping"}]"#, Value::Null),
        (r#""just a string""#, Value::Null),
    ] {
        let invalid = reply_to(&mut client, line.as_bytes()).await;
        assert_eq!(error_code(&invalid), -32600, "for {line}");
        assert_eq!(invalid["id"], id, "for {line}");
    }

    let unknown = client.request(10, "no/such/method", json!({})).await;
    assert_eq!(error_code(&unknown), -32601);

    let no_tool = client.call(11, "no-such-tool", json!({})).await;
    assert_eq!(error_code(&no_tool), -32602);
    let no_name = client.request(12, "tools/call", json!({"arguments": {}})).await;
    assert_eq!(error_code(&no_name), -32602);
    let bad_args = client
        .request(13, "tools/call", json!({"name": "echo", "arguments": [1]}))
        .await;
    assert_eq!(error_code(&bad_args), -32602);
    let bad_level = client
        .request(14, "logging/setLevel", json!({"level": "loud"}))
        .await;
    assert_eq!(error_code(&bad_level), -32602);

    // Arguments that do not fit the tool's schema are a tool error the model can see.
    let missing_text = client.call(15, "echo", json!({})).await;
    assert_eq!(missing_text["result"]["isError"], true);

    assert_eq!(server.handle.sessions().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn an_oversized_line_is_refused_and_the_session_goes_on() {
    let config = ServerConfig::default().max_frame_bytes(1024);
    let server = TestServer::start(config, vec![]).await;
    let mut client = server.client().await;
    client.initialize().await;

    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{}"}}}}}}"#,
        "x".repeat(1 << 20)
    );
    client.send_raw(big.as_bytes()).await;
    let refused = client.recv().await.unwrap();
    assert_eq!(error_code(&refused), -32600);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exceeds the limit of 1024 bytes")
    );

    let echoed = client.call(2, "echo", json!({"text": "still here"})).await;
    assert_eq!(echoed["result"]["content"][0]["text"], "still here");
    server.stop().await;
}
