//! Everything the MCP conformance suite's reference server offers (its
//! tools, resources, template, prompts and completion), served over
//! Streamable HTTP at `/mcp` on the address given as the first argument
//! (default `127.0.0.1:3000`).
//!
//! ```text
//! cargo run --release --example everything -- 127.0.0.1:3000
//! ```
//!
//! The fixtures (`fixtures/`) use the library's public API only; the
//! binary serves the same ones with `--conformance`, which is what CI runs
//! the conformance suite against.

// Model builds (`--cfg loom` / `--cfg shuttle`, see README "Model checking")
// have no tokio: the example is empty there.
#[cfg(not(any(loom, shuttle)))]
mod fixtures;

#[cfg(not(any(loom, shuttle)))]
mod example {
    use mcp_server_core::Server;
    use mcp_server_core::transport::tcp;

    use crate::fixtures;

    pub(crate) async fn main() -> Result<(), Box<dyn std::error::Error>> {
        let addr = std::env::args()
            .nth(1)
            .unwrap_or_else(|| "127.0.0.1:3000".to_owned())
            .parse()?;
        let server = fixtures::fixtures(Server::builder()).build();
        let handle = server.handle();
        tokio::spawn(fixtures::watch(handle.clone()));
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            handle.shutdown();
        });
        let listener = tcp::bind(addr, 1024).await?;
        println!("MCP at http://{}/mcp", listener.local_addr()?);
        let report = server.serve_http(listener).await;
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
