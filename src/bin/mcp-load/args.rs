//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Drives an MCP server with concurrent sessions and reports throughput,
/// latency and errors.
#[derive(Debug, Clone, Parser)]
#[command(version, about, long_about)]
pub(crate) struct Args {
    /// Connect to an MCP server over TCP (one JSON-RPC message per line).
    #[arg(long, value_name = "ADDR", required_unless_present_any = ["stdio", "http"])]
    pub(crate) tcp: Option<SocketAddr>,

    /// Connect to an MCP server over Streamable HTTP at this URL (one
    /// keep-alive connection per session).
    #[arg(long, value_name = "URL", conflicts_with_all = ["tcp", "stdio"])]
    pub(crate) http: Option<String>,

    /// A file holding a bearer token sent with every HTTP request
    /// (`Authorization: Bearer ...`), for a server with authorization on.
    #[arg(long, value_name = "PATH", requires = "http")]
    pub(crate) bearer_file: Option<std::path::PathBuf>,

    /// Start this command once per session and speak MCP over its
    /// stdin/stdout (split on whitespace).
    #[arg(long, value_name = "COMMAND", conflicts_with = "tcp")]
    pub(crate) stdio: Option<String>,

    /// Concurrent sessions.
    #[arg(short = 'c', long, default_value_t = 8)]
    pub(crate) concurrency: usize,

    /// Calls per session (default 1000, unless --duration is given).
    #[arg(short = 'n', long, value_name = "N", conflicts_with = "duration")]
    pub(crate) requests: Option<u64>,

    /// Call for this many seconds instead of a fixed count.
    #[arg(long, value_name = "SECS")]
    pub(crate) duration: Option<f64>,

    /// Requests kept in flight per session (TCP and stdio): a new call is
    /// written as soon as an answer arrives. 1: one call at a time.
    #[arg(long, value_name = "N", default_value_t = 1, conflicts_with = "http", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) pipeline: u16,

    /// The tool to call.
    #[arg(long, default_value = "echo")]
    pub(crate) tool: String,

    /// The tool's arguments, as JSON.
    #[arg(long, value_name = "JSON", default_value = r#"{"text":"hello"}"#)]
    pub(crate) arguments: String,

    /// Ask for progress (`_meta.progressToken` on every call): a tool that
    /// reports progress then answers over an SSE stream (HTTP).
    #[arg(long)]
    pub(crate) progress: bool,

    /// Protocol version: a handshake version (initialize), or 2026-07-28
    /// (stateless: no handshake, server/discover first, _meta on every call).
    #[arg(long, default_value = "2025-11-25")]
    pub(crate) protocol: String,

    /// Instead of calling tools: open the sessions, keep them idle this
    /// many seconds, then close them (for idle CPU, memory and admission
    /// measurements).
    #[arg(long, value_name = "SECS")]
    pub(crate) hold: Option<f64>,

    /// With --hold: never read from the server after the handshake (a
    /// client that never reads).
    #[arg(long, requires = "hold")]
    pub(crate) no_read: bool,

    /// Churn instead of a steady load: each of the C workers opens a fresh
    /// session this many times, calls the tool once and closes it (over
    /// HTTP with a DELETE).
    #[arg(long, value_name = "N", conflicts_with_all = ["hold", "duration", "requests", "stdio"])]
    pub(crate) cycles: Option<u64>,

    /// With --cycles: every K-th cycle leaves its session behind instead of
    /// closing it (TCP: a connection that never initializes; HTTP: a
    /// session never deleted), for the server's timeouts to clean up.
    #[arg(long, value_name = "K", default_value_t = 0, requires = "cycles")]
    pub(crate) abandon_every: u64,

    /// Give up on a session whose connection or handshake takes longer, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub(crate) connect_timeout: f64,

    /// Write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,

    /// A label stored in the JSON results.
    #[arg(long)]
    pub(crate) label: Option<String>,
}
