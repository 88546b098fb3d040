//! The README's embedding example (MCP mounted in an axum router),
//! compiled, and a check that the README still shows exactly this code
//! (between the markers below) as its second Rust block.

#![cfg(not(any(loom, shuttle)))]

// README embedding: begin
use axum::{Router, routing::get};
use mcp_server_core::{RequestContext, Server, Tool, ToolOutput};
use serde_json::json;

/// What the application's own middleware found (a user, say).
#[derive(Clone)]
struct UserId(String);

async fn app() -> std::io::Result<()> {
    let whoami = Tool::new(
        "whoami",
        "Who is calling.",
        json!({"type": "object"}),
        |_args, ctx: RequestContext| async move {
            let request = ctx.http_request(); // None over stdio and TCP
            let user = request
                .and_then(|r| r.extensions.get::<UserId>())
                .map(|u| u.0.clone());
            Ok(ToolOutput::text(user.unwrap_or_else(|| "anonymous".to_owned())))
        },
    );
    let server = Server::builder().tool(whoami).build();
    let handle = server.handle();
    let mcp = server.http_service(); // a hyper and a tower Service
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route_service("/mcp", mcp.clone()); // and your own .layer(..)s
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            handle.shutdown(); // ends every MCP stream, so that axum can finish
        })
        .await?;
    let report = mcp.drain().await; // waits for the MCP sessions
    println!("{} sessions closed", report.sessions_closed);
    Ok(())
}
// README embedding: end

/// The code between the markers of this file.
fn example_in_this_file() -> String {
    let me = include_str!("readme_embedding.rs");
    let begin = me.find("// README embedding: begin\n").expect("begin marker") + 27;
    let end = me.find("// README embedding: end").expect("end marker");
    me[begin..end].to_owned()
}

#[test]
fn the_readme_shows_the_compiled_embedding_example() {
    let readme = include_str!("../README.md");
    let blocks: Vec<&str> = readme
        .split("```rust\n")
        .skip(1)
        .map(|rest| &rest[..rest.find("```").expect("closed block")])
        .collect();
    assert_eq!(blocks.len(), 2, "the README has two Rust examples");
    assert_eq!(
        blocks[1],
        example_in_this_file(),
        "README.md and tests/readme_embedding.rs differ"
    );
}

#[test]
fn the_example_is_a_future_that_serves() {
    // Compiling `app` is the point; calling it would bind a fixed port.
    let _future: fn() -> _ = app;
}
