//! The README's library example, compiled, and a check that the README
//! still shows exactly this code (between the markers below).

#![cfg(not(any(loom, shuttle)))]

// README example: begin
use mcp_server_core::{
    Content, Prompt, PromptArgument, PromptOutput, ReadRequest, Resource, ResourceContents, Server,
    ServerConfig, ShutdownReport, Tool, ToolOutput, transport::tcp,
};
use serde_json::json;

async fn run() -> std::io::Result<ShutdownReport> {
    let greet = Tool::new(
        "greet",
        "Greets someone.",
        json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
        |args, ctx| async move {
            let name = args["name"].as_str().unwrap_or("world").to_owned();
            ctx.progress(1.0, Some(1.0), None).ok(); // only sent if the client asked
            Ok(ToolOutput::text(format!("hello, {name}")))
        },
    );
    let motd = Resource::new("memo://motd", "motd", |request: ReadRequest, _ctx| async move {
        Ok(vec![
            ResourceContents::text(request.uri(), "Welcome!").mime_type("text/plain"),
        ])
    });
    let review = Prompt::new(
        "review",
        vec![PromptArgument::required("code", "the code to review")],
        |args, _ctx| async move {
            let ask = format!("Please review:\n{}", args["code"]); // required: checked before the handler runs
            Ok(PromptOutput::new().user(Content::text(ask)))
        },
    );
    let server = Server::builder()
        .config(ServerConfig::default().max_sessions(100))
        .builtin_tools()
        .tool(greet)
        .resource(motd)
        .prompt(review)
        .build();
    let handle = server.handle(); // shutdown(), broadcast(), add_tool(), resource_updated(), metrics(), ...
    let listener = tcp::bind("127.0.0.1:7878".parse().unwrap(), 1024).await?;
    tokio::spawn(async move { tokio::signal::ctrl_c().await.map(|()| handle.shutdown()) });
    Ok(server.serve_tcp(listener).await) // returns after handle.shutdown()
}
// README example: end

/// The code between the markers of this file, as the README's only `rust`
/// block must show it.
fn example_in_this_file() -> String {
    let me = include_str!("readme_example.rs");
    let begin = me.find("// README example: begin\n").expect("begin marker") + 25;
    let end = me.find("// README example: end").expect("end marker");
    me[begin..end].to_owned()
}

#[test]
fn the_readme_shows_the_compiled_example() {
    let readme = include_str!("../README.md");
    let blocks: Vec<&str> = readme
        .split("```rust\n")
        .skip(1)
        .map(|rest| &rest[..rest.find("```").expect("closed block")])
        .collect();
    assert_eq!(
        blocks.len(),
        2,
        "the README has two Rust examples (the second: tests/readme_embedding.rs)"
    );
    assert_eq!(
        blocks[0],
        example_in_this_file(),
        "README.md and tests/readme_example.rs differ"
    );
}

#[test]
fn the_example_is_a_future_that_serves() {
    // Compiling `run` is the point; calling it would bind a fixed port.
    let _future: fn() -> _ = run;
}
