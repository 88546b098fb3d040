//! The peer: the official Rust MCP SDK (`rmcp`) serving the same `echo` tool,
//! over stdio, over TCP through its generic async-read/write transport (one
//! JSON-RPC message per line, like ours), and over its own Streamable HTTP
//! server (`StreamableHttpService` with its default configuration, on hyper,
//! at `/mcp`, with `TCP_NODELAY`). A benchmark subject only.
//!
//! ```text
//! cargo run --release --example rmcp_echo_server -- --stdio
//! cargo run --release --example rmcp_echo_server -- --tcp 127.0.0.1:7880
//! cargo run --release --example rmcp_echo_server -- --http 127.0.0.1:7881
//! ```

#[cfg(not(any(loom, shuttle)))]
mod peer {
    use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
    use rmcp::model::{ServerCapabilities, ServerConfig};
    use rmcp::{ServerHandler, ServiceExt, tool, tool_handler, tool_router};

    #[derive(Debug, Clone)]
    pub(crate) struct Echo {
        #[allow(dead_code)]
        tool_router: ToolRouter<Self>,
    }

    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    pub(crate) struct EchoArgs {
        /// The text to return.
        text: String,
    }

    #[tool_router]
    impl Echo {
        pub(crate) fn new() -> Self {
            Self {
                tool_router: Self::tool_router(),
            }
        }

        #[tool(description = "Returns the given text unchanged.")]
        async fn echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> String {
            text
        }
    }

    #[tool_handler]
    impl ServerHandler for Echo {
        fn get_info(&self) -> ServerConfig {
            ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
        }
    }

    pub(crate) async fn run() -> anyhow::Result<()> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["--stdio"] => {
                let running = Echo::new().serve(rmcp::transport::stdio()).await?;
                running.waiting().await?;
            }
            ["--tcp", addr] => {
                let listener = tokio::net::TcpListener::bind(addr).await?;
                eprintln!("rmcp echo server on {}", listener.local_addr()?);
                loop {
                    let (stream, _) = listener.accept().await?;
                    stream.set_nodelay(true)?;
                    tokio::spawn(async move {
                        if let Ok(running) = Echo::new().serve(stream).await {
                            let _ = running.waiting().await;
                        }
                    });
                }
            }
            ["--http", addr] => {
                use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
                use rmcp::transport::streamable_http_server::{
                    StreamableHttpServerConfig, StreamableHttpService,
                };
                let service = StreamableHttpService::new(
                    || Ok(Echo::new()),
                    LocalSessionManager::default().into(),
                    StreamableHttpServerConfig::default(),
                );
                let listener = tokio::net::TcpListener::bind(addr).await?;
                eprintln!("rmcp echo server on http://{}/mcp", listener.local_addr()?);
                loop {
                    let (stream, _) = listener.accept().await?;
                    stream.set_nodelay(true)?;
                    let service = hyper_util::service::TowerToHyperService::new(service.clone());
                    tokio::spawn(async move {
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await;
                    });
                }
            }
            _ => anyhow::bail!("usage: rmcp_echo_server --stdio | --tcp ADDR | --http ADDR"),
        }
        Ok(())
    }
}

#[cfg(not(any(loom, shuttle)))]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    peer::run().await
}

#[cfg(any(loom, shuttle))]
fn main() {}
