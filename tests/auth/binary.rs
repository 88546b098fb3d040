//! The binary's `--auth-*` flags: the same resource server, configured
//! from the command line, against the tests' authorization server.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use http::StatusCode;
use serde_json::json;
use tokio::process::{Child, Command};

use super::issuer::{self, Issuer};
use super::support::http::stateless_with;
use super::support::services::free_port;
use super::{assert_refused, challenge};

const BIN: &str = env!("CARGO_BIN_EXE_mcp-server-core");

async fn start(args: &[&str]) -> (Child, SocketAddr) {
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let resource = format!("http://{addr}/mcp");
    let child = Command::new(BIN)
        .args(["--http", &addr.to_string(), "--auth-resource", &resource])
        .args(args)
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return (child, addr);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the binary never listened on {addr}");
}

#[tokio::test]
async fn the_flags_make_the_same_resource_server() {
    let issuer = Issuer::start(vec![issuer::key("rsa", "k1")]).await;
    let (mut child, addr) = start(&[
        "--auth-issuer",
        &issuer.url,
        "--auth-scopes-supported",
        "mcp,slow",
        "--auth-required-scope",
        "mcp",
        "--auth-tool-scope",
        "sleep=slow",
        "--auth-scope-implies",
        "all=slow",
        "--auth-algorithms",
        "RS256",
        "--auth-jwks-ttl-secs",
        "30",
        "--auth-hide-uncallable-tools",
    ])
    .await;
    let claims = |scope: &str| {
        json!({"iss": issuer.url, "sub": "alice", "aud": format!("http://{addr}/mcp"),
               "exp": issuer::now() + 300, "scope": scope})
    };
    let call = |tool: &'static str, scope: Option<&str>| {
        let bearer = scope.map(|s| format!("Bearer {}", issuer::token(&issuer.key(), &claims(s))));
        async move {
            let headers: Vec<(&str, &str)> = bearer.iter().map(|b| ("authorization", b.as_str())).collect();
            let params = json!({"name": tool, "arguments": {"text": "hi", "ms": 1}});
            stateless_with(addr, "tools/call", Some(tool), params, &headers).await
        }
    };
    let open = call("echo", None).await;
    assert_refused(&open, StatusCode::UNAUTHORIZED, None, "no token");
    assert!(challenge(&open).contains(&format!("http://{addr}/.well-known/oauth-protected-resource/mcp")));
    assert_eq!(call("echo", Some("mcp")).await.status, StatusCode::OK);
    let open = call("sleep", Some("mcp")).await;
    assert_refused(
        &open,
        StatusCode::FORBIDDEN,
        Some("insufficient_scope"),
        "sleep without slow",
    );
    assert!(
        challenge(&open).contains("scope=\"mcp slow\""),
        "{}",
        challenge(&open)
    );
    assert_eq!(call("sleep", Some("mcp all")).await.status, StatusCode::OK);
    // tools/list shows only what the token may call.
    for (scope, sees_sleep) in [("mcp", false), ("mcp all", true)] {
        let bearer = format!("Bearer {}", issuer::token(&issuer.key(), &claims(scope)));
        let open = stateless_with(addr, "tools/list", None, json!({}), &[("authorization", &bearer)]).await;
        let tools = open.json().await["result"]["tools"].clone();
        let listed = tools.as_array().unwrap().iter().any(|t| t["name"] == "sleep");
        assert_eq!(listed, sees_sleep, "{scope}: {tools}");
    }
    child.kill().await.ok();
}

#[tokio::test]
async fn authorization_without_a_resource_or_an_issuer_does_not_start() {
    for args in [
        vec!["--http", "127.0.0.1:0", "--auth-issuer", "http://127.0.0.1:9"],
        vec![
            "--http",
            "127.0.0.1:0",
            "--auth-resource",
            "http://127.0.0.1:9/mcp",
        ],
        vec![
            "--http",
            "127.0.0.1:0",
            "--auth-resource",
            "http://mcp.example/mcp",
            "--auth-issuer",
            "http://127.0.0.1:9",
        ],
    ] {
        let out = Command::new(BIN).args(&args).output().await.unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("error:"), "{args:?}: {stderr}");
    }
}
