//! What `tools/list` shows a caller: every tool by default (a call without
//! the tool's scopes is answered 403), or with `hide_uncallable_tools` only
//! the tools its token may call, in a list marked as its own.

use http::StatusCode;
use serde_json::{Value, json};

use super::issuer::{self, Issuer};
use super::support::http::post;
use super::{Protected, assert_refused, challenge};

/// The tool names of a stateless `tools/list` by the bearer of `token`,
/// and the answer's `cacheScope`.
async fn listed(server: &Protected, token: &str) -> (Vec<String>, Value) {
    let open = server.call_params("tools/list", None, json!({}), token).await;
    assert_eq!(open.status, StatusCode::OK, "{}", challenge(&open));
    let answer = open.json().await;
    let result = &answer["result"];
    let names = result["tools"]
        .as_array()
        .expect("a tools array")
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    (names, result["cacheScope"].clone())
}

#[tokio::test]
async fn every_tool_is_listed_unless_the_configuration_hides_them() {
    let issuer = Issuer::start(vec![issuer::key("ec", "k1")]).await;
    let shown = Protected::start(&issuer, |b| b).await;
    let plain = shown.token(&issuer, &issuer.key(), "mcp");
    let (names, scope) = listed(&shown, &plain).await;
    assert!(names.contains(&"danger".to_owned()), "{names:?}");
    assert_eq!(scope, "public");
    shown.stop().await;

    let hiding = Protected::start_hiding(&issuer).await;
    let plain = hiding.token(&issuer, &issuer.key(), "mcp");
    let (names, scope) = listed(&hiding, &plain).await;
    assert!(!names.contains(&"danger".to_owned()), "{names:?}");
    assert!(names.contains(&"echo".to_owned()), "{names:?}");
    assert_eq!(scope, "private", "a list of this caller's own");
    // Hidden is not gone: the call is refused as before, naming the scope.
    assert_refused(
        &hiding.call_with("danger", &plain).await,
        StatusCode::FORBIDDEN,
        Some("insufficient_scope"),
        "a hidden tool called",
    );
    // A broader scope that implies the tool's shows it.
    let root = hiding.token(&issuer, &issuer.key(), "mcp root");
    let (names, _) = listed(&hiding, &root).await;
    assert!(names.contains(&"danger".to_owned()), "{names:?}");
    hiding.stop().await;
}

#[tokio::test]
async fn a_2025_session_lists_what_its_caller_may_call() {
    let issuer = Issuer::start(vec![issuer::key("ec", "k1")]).await;
    let server = Protected::start_hiding(&issuer).await;
    let plain = server.token(&issuer, &issuer.key(), "mcp");
    let admin = server.token(&issuer, &issuer.key(), "mcp admin");
    for (token, sees_danger) in [(&plain, false), (&admin, true)] {
        let bearer = format!("Bearer {token}");
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
        let open = post(server.addr, &[("authorization", &bearer)], &init).await;
        assert_eq!(open.status, StatusCode::OK, "{}", challenge(&open));
        let sid = open.headers["mcp-session-id"].to_str().unwrap().to_owned();
        let headers = [
            ("authorization", bearer.as_str()),
            ("mcp-session-id", sid.as_str()),
            ("mcp-protocol-version", "2025-11-25"),
        ];
        let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
        let open = post(server.addr, &headers, &list).await;
        assert_eq!(open.status, StatusCode::OK);
        let answer = open.json().await;
        let names: Vec<&str> = answer["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.contains(&"danger"), sees_danger, "{names:?}");
    }
    server.stop().await;
}
