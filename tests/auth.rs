//! Authorization over Streamable HTTP: the server as an OAuth 2.1 resource
//! server, against an authorization server made for the tests
//! (`auth/issuer.rs`: RFC 8414 metadata and a JWKS on a loopback port,
//! keys made at test time). Every request goes through the built-in driver
//! on a real socket.

#![cfg(not(any(loom, shuttle)))]

mod support;

#[path = "auth/binary.rs"]
mod binary;
#[path = "auth/bound.rs"]
mod bound;
#[path = "auth/hostile.rs"]
mod hostile;
#[cfg(feature = "tls")]
#[path = "auth/https.rs"]
mod https;
#[path = "auth/introspection.rs"]
mod introspection;
#[path = "auth/issuer.rs"]
mod issuer;
#[path = "auth/keys.rs"]
mod keys;
#[path = "auth/listing.rs"]
mod listing;

use std::net::SocketAddr;
use std::time::Duration;

use http::{Method, StatusCode};
use mcp_server_core::auth::{Auth, AuthConfig, JwtVerifier, JwtVerifierBuilder, TokenVerifier};
use mcp_server_core::config::HttpConfig;
use mcp_server_core::transport::tcp;
use mcp_server_core::{Server, ServerConfig, ServerHandle, ShutdownReport, TaskSupport, Tool, ToolOutput};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use issuer::{Issuer, SigningKey, now};
use support::http::{Open, send_to, stateless_with};

/// A server whose HTTP endpoint is protected by tokens of `issuer`.
struct Protected {
    addr: SocketAddr,
    resource: String,
    handle: ServerHandle,
    join: JoinHandle<ShutdownReport>,
}

impl Protected {
    /// Every request needs `mcp`; `danger` needs `admin` too, which `root`
    /// implies; `whoami` answers with the caller's subject.
    async fn start(issuer: &Issuer, verifier: impl FnOnce(JwtVerifierBuilder) -> JwtVerifierBuilder) -> Self {
        Self::start_with(issuer, verifier, |http| http).await
    }

    /// [`Protected::start`], with the HTTP configuration changed by `http`.
    async fn start_with(
        issuer: &Issuer,
        verifier: impl FnOnce(JwtVerifierBuilder) -> JwtVerifierBuilder,
        http: impl FnOnce(HttpConfig) -> HttpConfig,
    ) -> Self {
        let url = issuer.url.clone();
        let jwt = |resource: &str| {
            verifier(JwtVerifier::builder(resource).issuer(url))
                .build()
                .unwrap()
        };
        Self::start_verified(&issuer.url, jwt, http).await
    }

    /// [`Protected::start`], listing only the tools a caller may call.
    async fn start_hiding(issuer: &Issuer) -> Self {
        let url = issuer.url.clone();
        let jwt = |resource: &str| JwtVerifier::builder(resource).issuer(url).build().unwrap();
        Self::launch(
            &issuer.url,
            jwt,
            |http| http,
            |auth| auth.hide_uncallable_tools(true),
        )
        .await
    }

    /// A server whose tokens `verifier` (made for the resource URI) checks,
    /// naming `authorization_server` in its metadata.
    async fn start_verified<V: TokenVerifier>(
        authorization_server: &str,
        verifier: impl FnOnce(&str) -> V,
        http: impl FnOnce(HttpConfig) -> HttpConfig,
    ) -> Self {
        Self::launch(authorization_server, verifier, http, |auth| auth).await
    }

    /// [`Protected::start_verified`], with the authorization configuration
    /// changed by `auth`.
    async fn launch<V: TokenVerifier>(
        authorization_server: &str,
        verifier: impl FnOnce(&str) -> V,
        http: impl FnOnce(HttpConfig) -> HttpConfig,
        auth: impl FnOnce(AuthConfig) -> AuthConfig,
    ) -> Self {
        let listener = tcp::bind("127.0.0.1:0".parse().unwrap(), 128).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let resource = format!("http://127.0.0.1:{}/mcp", addr.port());
        let config = AuthConfig::new(&resource)
            .and_then(|c| c.authorization_server(authorization_server))
            .and_then(|c| c.scopes_supported(["mcp", "admin", "root"]))
            .and_then(|c| c.required_scope("mcp"))
            .and_then(|c| c.scope_implies("root", "admin"))
            .map(auth)
            .unwrap();
        let http = http(HttpConfig::default()).auth(Auth::new(config, verifier(&resource)));
        let server = Server::builder()
            .config(ServerConfig::default().http(http))
            .builtin_tools()
            .tool(
                Tool::new("danger", "needs admin", json!({"type": "object"}), |_, _| async {
                    Ok(ToolOutput::text("done"))
                })
                .requires_scopes(["admin"]),
            )
            .tool(
                Tool::new(
                    "slow",
                    "runs until cancelled",
                    json!({"type": "object"}),
                    |_, ctx| async move {
                        ctx.cancellation_token().cancelled().await;
                        Ok(ToolOutput::text("cancelled"))
                    },
                )
                .task_support(TaskSupport::Optional),
            )
            .tool(Tool::new(
                "ask",
                "asks a name",
                json!({"type": "object"}),
                |_, ctx| async move {
                    let name = ctx.elicit("Your name?", json!({"type": "object"})).await?;
                    Ok(ToolOutput::text(
                        name["content"]["name"].as_str().unwrap_or("?").to_owned(),
                    ))
                },
            ))
            .tool(Tool::new(
                "whoami",
                "the caller",
                json!({"type": "object"}),
                |_, ctx| async move {
                    let who = ctx
                        .principal()
                        .map(|p| format!("{} via {:?}", p.subject, p.client_id));
                    Ok(ToolOutput::text(who.unwrap_or_else(|| "nobody".to_owned())))
                },
            ))
            .build();
        let handle = server.handle();
        let join = tokio::spawn(async move { server.serve_http(listener).await });
        Self {
            addr,
            resource,
            handle,
            join,
        }
    }

    /// The claims of a good token for this server, with `scope`.
    fn claims(&self, issuer: &Issuer, scope: &str) -> Value {
        json!({"iss": issuer.url, "sub": "alice", "client_id": "app", "aud": self.resource,
               "iat": now(), "exp": now() + 300, "scope": scope})
    }

    /// A good token for this server, signed by `key`.
    fn token(&self, issuer: &Issuer, key: &SigningKey, scope: &str) -> String {
        issuer::token(key, &self.claims(issuer, scope))
    }

    /// A stateless `tools/call` of `tool` with `headers`.
    async fn call(&self, tool: &str, headers: &[(&str, &str)]) -> Open {
        let params = json!({"name": tool, "arguments": {"text": "hi"}});
        stateless_with(self.addr, "tools/call", Some(tool), params, headers).await
    }

    /// A stateless `tools/call` of `tool` with `Authorization: Bearer token`.
    async fn call_with(&self, tool: &str, token: &str) -> Open {
        let bearer = format!("Bearer {token}");
        self.call(tool, &[("authorization", &bearer)]).await
    }

    /// A stateless request of `method` (named `name`) with `params`, by
    /// the bearer of `token`.
    async fn call_params(&self, method: &str, name: Option<&str>, params: Value, token: &str) -> Open {
        let bearer = format!("Bearer {token}");
        stateless_with(self.addr, method, name, params, &[("authorization", &bearer)]).await
    }

    /// A request of `method` at `path` with `headers` and no body.
    async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)]) -> Open {
        send_to(self.addr, path, method, headers, "").await
    }

    async fn stop(self) {
        self.handle.shutdown();
        tokio::time::timeout(Duration::from_secs(20), self.join)
            .await
            .unwrap()
            .unwrap();
    }
}

/// The challenge of a refused answer.
fn challenge(open: &Open) -> String {
    open.headers
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Asserts `open` is `status` with a Bearer challenge naming the metadata
/// and carrying `error` (`None`: no error attribute at all).
fn assert_refused(open: &Open, status: StatusCode, error: Option<&str>, what: &str) {
    assert_eq!(open.status, status, "{what}: {}", challenge(open));
    let challenge = challenge(open);
    assert!(
        challenge.starts_with("Bearer resource_metadata=\"http://127.0.0.1:"),
        "{what}: {challenge}"
    );
    assert!(
        challenge.contains("/.well-known/oauth-protected-resource/mcp\""),
        "{what}: {challenge}"
    );
    match error {
        Some(error) => assert!(
            challenge.contains(&format!("error=\"{error}\"")),
            "{what}: {challenge}"
        ),
        None => assert!(!challenge.contains("error="), "{what}: {challenge}"),
    }
}

#[tokio::test]
async fn a_good_token_calls_and_the_handler_sees_its_caller() {
    let issuer = Issuer::start(vec![issuer::key("rsa", "k1")]).await;
    let server = Protected::start(&issuer, |b| b).await;
    let token = server.token(&issuer, &issuer.key(), "mcp");
    let open = server.call_with("whoami", &token).await;
    assert_eq!(open.status, StatusCode::OK);
    let (answer, _) = support::wire::read(open).await;
    assert_eq!(
        answer["result"]["content"][0]["text"], "alice via Some(\"app\")",
        "{answer}"
    );
    // An EC key works the same way.
    let ec = issuer::key("ec", "k2");
    issuer.publish(vec![issuer.key(), ec.clone()]);
    let server2 = Protected::start(&issuer, |b| b).await;
    let open = server2
        .call_with("echo", &server2.token(&issuer, &ec, "mcp"))
        .await;
    assert_eq!(open.status, StatusCode::OK, "{}", challenge(&open));
    server.stop().await;
    server2.stop().await;
}

#[tokio::test]
async fn the_metadata_is_public_and_names_the_authorization_server() {
    let issuer = Issuer::start(vec![issuer::key("ec", "k1")]).await;
    let server = Protected::start(&issuer, |b| b).await;
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let open = server
            .send(Method::GET, path, &[("origin", "https://elsewhere.example")])
            .await;
        assert_eq!(open.status, StatusCode::OK, "{path}");
        assert_eq!(open.headers["access-control-allow-origin"], "*");
        let doc = open.json().await;
        assert_eq!(doc["resource"], server.resource.as_str());
        assert_eq!(doc["authorization_servers"], json!([issuer.url]));
        assert_eq!(doc["scopes_supported"], json!(["mcp", "admin", "root"]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }
    let path = "/.well-known/oauth-protected-resource/mcp";
    assert_eq!(server.send(Method::HEAD, path, &[]).await.status, StatusCode::OK);
    let preflight = server.send(Method::OPTIONS, path, &[]).await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert!(preflight.headers.contains_key("access-control-allow-methods"));
    let post = server.send(Method::POST, path, &[]).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers["allow"], "GET, HEAD, OPTIONS");
    // Anything else still needs the endpoint.
    let other = server.send(Method::GET, "/.well-known/other", &[]).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn a_missing_scope_is_named_and_a_broader_one_is_enough() {
    let issuer = Issuer::start(vec![issuer::key("ec", "k1")]).await;
    let server = Protected::start(&issuer, |b| b).await;
    let key = issuer.key();
    let narrow = server
        .call_with("danger", &server.token(&issuer, &key, "mcp"))
        .await;
    assert_refused(
        &narrow,
        StatusCode::FORBIDDEN,
        Some("insufficient_scope"),
        "without admin",
    );
    assert!(
        challenge(&narrow).contains("scope=\"mcp admin\""),
        "{}",
        challenge(&narrow)
    );
    // Decided from the headers, before the body was read.
    let body = narrow.json().await;
    assert_eq!(
        (&body["error"]["code"], &body["id"]),
        (&json!(-32600), &Value::Null),
        "{body}"
    );
    for scope in ["mcp admin", "mcp root"] {
        let open = server
            .call_with("danger", &server.token(&issuer, &key, scope))
            .await;
        assert_eq!(open.status, StatusCode::OK, "{scope}: {}", challenge(&open));
    }
    // Without `mcp`, nothing at all.
    let none = server
        .call_with("echo", &server.token(&issuer, &key, "admin"))
        .await;
    assert_refused(
        &none,
        StatusCode::FORBIDDEN,
        Some("insufficient_scope"),
        "without mcp",
    );
    assert!(challenge(&none).contains("scope=\"mcp\""), "{}", challenge(&none));
    server.stop().await;
}
