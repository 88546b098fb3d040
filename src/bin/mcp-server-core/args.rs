//! What the command line says: the flags (`Args`), where `--tcp` and
//! `--http` listen (`Endpoint`), and the listeners bound from them at start
//! (`Bound`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use mcp_server_core::bus::DEFAULT_BUS_CHANNEL;
use mcp_server_core::config::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT,
    DEFAULT_LISTEN_BACKLOG, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_IN_FLIGHT_PER_SESSION, DEFAULT_MAX_SESSIONS,
    DEFAULT_OUTBOX_CAPACITY, DEFAULT_SESSION_IDLE_TIMEOUT, DEFAULT_WRITE_STALL_TIMEOUT, ReplicaId,
};
use mcp_server_core::transport::listener::UnixListener;

use crate::auth_args::AuthArgs;
use mcp_server_core::transport::tcp;

/// An MCP server with the built-in tools echo, sleep and broadcast.
///
/// Speaks MCP 2024-11-05 .. 2025-11-25 (initialize handshake) and
/// 2026-07-28 (stateless, per-request _meta): one JSON-RPC message per
/// line over TCP or stdio, and Streamable HTTP at /mcp. --tcp and --http
/// may be given together: one server, one admission limit.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
pub(crate) struct Args {
    /// Serve MCP over TCP on this address (the default, on 127.0.0.1:7878,
    /// when neither --http nor --stdio is given), or on a Unix socket
    /// with unix:PATH (the file is removed at exit).
    #[arg(long, value_name = "ADDR", conflicts_with = "stdio", value_parser = Endpoint::parse)]
    pub(crate) tcp: Option<Endpoint>,

    /// Serve MCP over Streamable HTTP on this address, at /mcp, or on a
    /// Unix socket with unix:PATH (the file is removed at exit).
    #[arg(long, value_name = "ADDR", conflicts_with = "stdio", value_parser = Endpoint::parse)]
    pub(crate) http: Option<Endpoint>,

    /// A PEM certificate chain: serve --http as HTTPS and --tcp as TLS
    /// (with --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key", conflicts_with = "stdio")]
    pub(crate) tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,

    /// Host names an HTTP request's Host header may name (comma-separated;
    /// "*" allows any). DNS rebinding protection.
    #[arg(
        long,
        value_name = "HOSTS",
        value_delimiter = ',',
        default_value = "localhost,127.0.0.1,[::1]"
    )]
    pub(crate) allowed_hosts: Vec<String>,

    /// Origins an HTTP request's Origin header, when present, may name: a host
    /// name (any scheme and port) or scheme://host[:port]; comma-separated; "*" allows any.
    #[arg(
        long,
        value_name = "ORIGINS",
        value_delimiter = ',',
        default_value = "localhost,127.0.0.1,[::1]"
    )]
    pub(crate) allowed_origins: Vec<String>,

    /// Largest HTTP request body, in bytes; a larger one gets 413.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub(crate) max_body_bytes: usize,

    /// HTTP connections open at once; one more is answered 503 and closed.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub(crate) max_connections: usize,

    /// Stateless (2026-07-28) HTTP requests running at once; one more gets 503.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONCURRENT_REQUESTS)]
    pub(crate) max_concurrent_requests: usize,

    /// An HTTP session idle this long (no request running, no stream open) ends, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_SESSION_IDLE_TIMEOUT.as_millis() as u64)]
    pub(crate) session_idle_timeout_ms: u64,

    /// How long an HTTP client may take to send a request's headers, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_HEADER_READ_TIMEOUT.as_millis() as u64)]
    pub(crate) header_read_timeout_ms: u64,

    /// How long an HTTP client may take to send a request's body once its
    /// headers are in, in milliseconds; a slower one gets 408.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_BODY_READ_TIMEOUT.as_millis() as u64)]
    pub(crate) body_read_timeout_ms: u64,

    /// How long a write to a TCP or HTTP connection may make no progress
    /// (the client stopped reading) before the connection is closed, in
    /// milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_WRITE_STALL_TIMEOUT.as_millis() as u64)]
    pub(crate) write_stall_timeout_ms: u64,

    /// How long a TCP client may take to send initialize (or a 2026-07-28
    /// request) before it is disconnected, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_HANDSHAKE_TIMEOUT.as_millis() as u64)]
    pub(crate) handshake_timeout_ms: u64,

    /// Serve the server's metrics (OpenMetrics text, for Prometheus) at
    /// GET /metrics on this address.
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics: Option<SocketAddr>,

    /// Serve the metrics at GET /metrics on the --http listener too
    /// (behind its Host and Origin checks).
    #[arg(long)]
    pub(crate) http_metrics: bool,

    /// Serve one client over stdin/stdout; logs go to stderr.
    #[arg(long)]
    pub(crate) stdio: bool,

    /// Serve the fixtures of the MCP conformance suite's reference
    /// everything-server (its tools, resources, templates, prompts and
    /// completion) instead of the built-in tools.
    #[arg(long)]
    pub(crate) conformance: bool,

    /// A file holding a key of `requestState` (2026-07-28
    /// multi-round-trip requests): at least 16 bytes, surrounding
    /// whitespace ignored. Repeatable, newest first: the first seals, any
    /// opens. Replicas behind one load balancer need the same keys.
    /// Without one, each process picks a random key.
    #[arg(long, value_name = "PATH")]
    pub(crate) state_key_file: Vec<std::path::PathBuf>,

    /// Serve the skills in this folder (the skills extension, SEP-2640):
    /// every folder below it that holds a SKILL.md is a skill, at its path
    /// relative to this folder. A malformed skill stops the server at start.
    #[arg(long, value_name = "PATH")]
    pub(crate) skills_dir: Option<std::path::PathBuf>,

    /// Share listen-stream notifications (list_changed, resources/updated,
    /// task status) with the other replicas through this Redis server's
    /// pub/sub: redis://HOST:PORT/. Without it, notifications stay in
    /// this process.
    #[arg(long, value_name = "URL")]
    pub(crate) event_bus: Option<String>,

    /// The pub/sub channel of --event-bus; replicas on the same channel
    /// see each other's notifications.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_BUS_CHANNEL, requires = "event_bus")]
    pub(crate) bus_channel: String,

    /// Keep 2025 HTTP sessions, their streams' events and tasks in this
    /// Redis server (redis://HOST:PORT/DB), so that any replica that names
    /// the same one serves any session, resumes any of its streams and
    /// answers for any task, and the balancer needs no affinity. Without it, a session lives only in
    /// the replica that opened it.
    #[arg(long, value_name = "URL")]
    pub(crate) state_store: Option<String>,

    /// This replica's name behind a load balancer (letters, digits, - and
    /// _): it starts every HTTP session id and task id, so the balancer
    /// can route a session's or a task's requests to this replica.
    #[arg(long, value_name = "NAME", value_parser = parse_replica_id)]
    pub(crate) replica_id: Option<ReplicaId>,

    /// Most sessions at once; one more is told the server is at capacity and closed.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_SESSIONS)]
    pub(crate) max_sessions: usize,

    /// Messages queued per session before notifications are dropped (or the
    /// client disconnected, see --full-policy) and responses wait.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_OUTBOX_CAPACITY)]
    pub(crate) outbox_capacity: usize,

    /// What a full outbox does to a notification.
    #[arg(long, value_enum, default_value_t = Policy::Drop)]
    pub(crate) full_policy: Policy,

    /// Longest accepted message line, in bytes; longer lines get an error and are skipped.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_FRAME_BYTES)]
    pub(crate) max_frame_bytes: usize,

    /// Requests one session may run at once; at the cap the server stops reading from it.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_IN_FLIGHT_PER_SESSION)]
    pub(crate) max_in_flight: usize,

    /// A request running longer than this is cancelled and answered with an error, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 60_000)]
    pub(crate) request_timeout_ms: u64,

    /// How long shutdown waits for sessions before aborting them, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5_000)]
    pub(crate) shutdown_grace_ms: u64,

    /// Threads of the tokio runtime that run sessions (default: one per
    /// CPU). Fewer threads than the machine has cores leaves cores to
    /// other processes (and, on a machine shared with the clients, cuts
    /// tail latency; see analysis/async-fixes-performance.md).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) worker_threads: Option<u16>,

    /// Listen backlog of the TCP socket (capped by net.core.somaxconn).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_LISTEN_BACKLOG)]
    pub(crate) backlog: u32,

    #[command(flatten)]
    pub(crate) auth: AuthArgs,
}

/// Where --tcp or --http listens.
#[derive(Debug, Clone)]
pub(crate) enum Endpoint {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl Endpoint {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        match text.strip_prefix("unix:") {
            Some("") => Err("unix: needs a path, as in unix:/run/mcp.sock".to_owned()),
            Some(path) => Ok(Self::Unix(PathBuf::from(path))),
            None => text
                .parse()
                .map(Self::Tcp)
                .map_err(|e| format!("{e}: expected HOST:PORT (an IP address and a port) or unix:PATH")),
        }
    }
}

/// A listener bound at start, before anything is served.
pub(crate) enum Bound {
    Tcp(tokio::net::TcpListener),
    Unix(UnixListener),
}

impl Bound {
    pub(crate) async fn bind(endpoint: &Endpoint, backlog: u32) -> anyhow::Result<Self> {
        match endpoint {
            Endpoint::Tcp(addr) => tcp::bind(*addr, backlog)
                .await
                .map(Self::Tcp)
                .with_context(|| format!("binding {addr}")),
            Endpoint::Unix(path) => UnixListener::bind(path)
                .map(Self::Unix)
                .with_context(|| format!("binding the Unix socket {}", path.display())),
        }
    }

    /// Where it listens, for the log: `127.0.0.1:8080` or `unix:/path`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Tcp(listener) => listener
                .local_addr()
                .map_or_else(|e| e.to_string(), |a| a.to_string()),
            Self::Unix(listener) => format!("unix:{}", listener.path().display()),
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Policy {
    /// Drop the notification and count it.
    Drop,
    /// Drop it, count it, and disconnect the slow client.
    Disconnect,
}

fn parse_replica_id(name: &str) -> Result<ReplicaId, String> {
    ReplicaId::new(name)
}
