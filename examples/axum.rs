//! MCP mounted inside an axum application: `/mcp` beside an ordinary route,
//! behind a tower layer of the application's own, and a tool that reads
//! what that layer found and the request's headers.
//!
//! ```text
//! cargo run --release --example axum -- 127.0.0.1:3000
//! curl http://127.0.0.1:3000/health
//! ```
//!
//! The layer (`identify`) reads an `X-Caller` header (a stand-in for real
//! authentication) and puts a `Caller` into the request's extensions; the
//! `whoami` tool finds it there through `RequestContext::http_request`.
//! Ctrl-C (SIGINT) shuts the MCP server down first, which ends its SSE
//! streams, so that axum's graceful shutdown can finish; then the service
//! drains its sessions.

// Model builds (`--cfg loom` / `--cfg shuttle`, see README "Model checking")
// have no tokio: the example is empty there.
#[cfg(not(any(loom, shuttle)))]
pub(crate) mod example {
    use std::net::SocketAddr;

    use axum::Router;
    use axum::extract::Request;
    use axum::middleware::{self, Next};
    use axum::response::Response;
    use axum::routing::get;
    use mcp_server_core::{McpService, RequestContext, Server, Tool, ToolOutput};
    use serde_json::json;

    /// Who is calling, as the application's own layer decided.
    #[derive(Debug, Clone)]
    struct Caller(String);

    /// The application's layer: names the caller of every request.
    async fn identify(mut request: Request, next: Next) -> Response {
        let caller = request
            .headers()
            .get("x-caller")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("anonymous")
            .to_owned();
        request.extensions_mut().insert(Caller(caller));
        next.run(request).await
    }

    /// `whoami`: the caller the layer found, and the client's `User-Agent`.
    fn whoami() -> Tool {
        Tool::new(
            "whoami",
            "Says who is calling, as the HTTP layer in front of the server decided.",
            json!({"type": "object", "properties": {}}),
            |_args, ctx: RequestContext| async move {
                let Some(request) = ctx.http_request() else {
                    return Ok(ToolOutput::text("not called over HTTP"));
                };
                let caller = request
                    .extensions
                    .get::<Caller>()
                    .map_or("nobody", |c| c.0.as_str());
                let agent = request
                    .headers
                    .get(http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("unknown");
                Ok(ToolOutput::text(format!("{caller} (user agent: {agent})")))
            },
        )
    }

    /// The application: `/health`, and the server's MCP service at `/mcp`,
    /// both behind `identify`. Also the service, to drain it at the end.
    /// (`tests/embed_axum.rs` serves this same router.)
    pub(crate) fn app(server: &Server) -> (Router, McpService) {
        let mcp = server.http_service();
        let app = Router::new()
            .route("/health", get(|| async { "ok" }))
            .route_service("/mcp", mcp.clone())
            .layer(middleware::from_fn(identify));
        (app, mcp)
    }

    /// The server: the built-in tools and `whoami`.
    pub(crate) fn server() -> Server {
        Server::builder().builtin_tools().tool(whoami()).build()
    }

    pub(crate) async fn main() -> Result<(), Box<dyn std::error::Error>> {
        let addr: SocketAddr = std::env::args()
            .nth(1)
            .unwrap_or_else(|| "127.0.0.1:3000".to_owned())
            .parse()?;
        let server = server();
        let handle = server.handle();
        let (app, mcp) = app(&server);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("MCP at http://{}/mcp", listener.local_addr()?);
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = tokio::signal::ctrl_c().await;
                handle.shutdown();
            })
            .await?;
        let report = mcp.drain().await;
        println!(
            "stopped: {} sessions closed, {} aborted",
            report.sessions_closed, report.sessions_aborted
        );
        Ok(())
    }
}

#[cfg(not(any(loom, shuttle)))]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    example::main().await
}

#[cfg(any(loom, shuttle))]
fn main() {}
