//! The smallest useful MCP server: one tool, over stdio, as an MCP client
//! (Claude Desktop, an IDE, the SDKs' stdio clients) starts it.
//!
//! ```text
//! cargo run --release --example minimal
//! ```

// Model builds (`--cfg loom` / `--cfg shuttle`, see README "Model checking")
// have no tokio: the example is empty there.
#[cfg(not(any(loom, shuttle)))]
mod example {
    use mcp_server_core::{Server, Tool, ToolOutput};
    use serde_json::json;

    pub(crate) async fn main() -> Result<(), Box<dyn std::error::Error>> {
        let add = Tool::new(
            "add",
            "Adds two numbers.",
            json!({
                "type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                "required": ["a", "b"]
            }),
            |args, _ctx| async move {
                let (a, b) = (args["a"].as_f64(), args["b"].as_f64());
                match a.zip(b) {
                    Some((a, b)) => Ok(ToolOutput::text((a + b).to_string())),
                    None => Ok(ToolOutput::error("a and b must be numbers")),
                }
            },
        );
        let server = Server::builder().server_info("adder", "1.0.0").tool(add).build();
        // Stdout carries the protocol; nothing else may be printed there.
        server.serve_stdio().await?;
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
