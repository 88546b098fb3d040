//! The runnable MCP server: built-in tools (or, with `--conformance`, the
//! conformance suite's fixtures) over TCP, Streamable HTTP or stdio.
//!
//! ```text
//! cargo run --release -- --tcp 127.0.0.1:7878
//! cargo run --release -- --http 127.0.0.1:8080       # http://127.0.0.1:8080/mcp
//! cargo run --release -- --tcp 127.0.0.1:7878 --http 127.0.0.1:8080
//! cargo run --release -- --stdio
//! cargo run --release -- --http 127.0.0.1:3000 --conformance
//! ```
//!
//! Logs go to stderr (`RUST_LOG` sets the filter). SIGINT and SIGTERM start a
//! graceful shutdown; the process exits 0 once it has drained.

#[cfg(not(any(loom, shuttle)))]
mod conformance;

/// The allocator of the binary (see the `mimalloc` feature).
#[cfg(all(feature = "mimalloc", not(any(loom, shuttle))))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(not(any(loom, shuttle)))]
mod app {
    use std::net::SocketAddr;
    use std::time::Duration;

    use anyhow::Context;
    use clap::{Parser, ValueEnum};
    use mcp_server_core::bus::{DEFAULT_BUS_CHANNEL, RedisBus, RedisBusConfig};
    use mcp_server_core::config::{
        DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT,
        DEFAULT_LISTEN_BACKLOG, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONCURRENT_REQUESTS,
        DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_IN_FLIGHT_PER_SESSION,
        DEFAULT_MAX_SESSIONS, DEFAULT_OUTBOX_CAPACITY, DEFAULT_SESSION_IDLE_TIMEOUT, HttpConfig, ReplicaId,
        StateKey,
    };
    use mcp_server_core::transport::{http::ENDPOINT, tcp};
    use mcp_server_core::{FullPolicy, Server, ServerConfig, ServerHandle, ShutdownReport};
    use tracing_subscriber::EnvFilter;

    /// An MCP server with the built-in tools echo, sleep and broadcast.
    ///
    /// Speaks MCP 2024-11-05 .. 2025-11-25 (initialize handshake) and
    /// 2026-07-28 (stateless, per-request _meta): one JSON-RPC message per
    /// line over TCP or stdio, and Streamable HTTP at /mcp. --tcp and --http
    /// may be given together: one server, one admission limit.
    #[derive(Debug, Parser)]
    #[command(version, about, long_about)]
    struct Args {
        /// Serve MCP over TCP on this address (the default, on 127.0.0.1:7878,
        /// when neither --http nor --stdio is given).
        #[arg(long, value_name = "ADDR", conflicts_with = "stdio")]
        tcp: Option<SocketAddr>,

        /// Serve MCP over Streamable HTTP on this address, at /mcp.
        #[arg(long, value_name = "ADDR", conflicts_with = "stdio")]
        http: Option<SocketAddr>,

        /// Host names an HTTP request's Host header may name (comma-separated;
        /// "*" allows any). DNS rebinding protection.
        #[arg(
            long,
            value_name = "HOSTS",
            value_delimiter = ',',
            default_value = "localhost,127.0.0.1,[::1]"
        )]
        allowed_hosts: Vec<String>,

        /// Origins an HTTP request's Origin header, when present, may name: a host
        /// name (any scheme and port) or scheme://host[:port]; comma-separated; "*" allows any.
        #[arg(
            long,
            value_name = "ORIGINS",
            value_delimiter = ',',
            default_value = "localhost,127.0.0.1,[::1]"
        )]
        allowed_origins: Vec<String>,

        /// Largest HTTP request body, in bytes; a larger one gets 413.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_BODY_BYTES)]
        max_body_bytes: usize,

        /// HTTP connections open at once; one more is answered 503 and closed.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS)]
        max_connections: usize,

        /// Stateless (2026-07-28) HTTP requests running at once; one more gets 503.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONCURRENT_REQUESTS)]
        max_concurrent_requests: usize,

        /// An HTTP session idle this long (no request running, no stream open) ends, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = DEFAULT_SESSION_IDLE_TIMEOUT.as_millis() as u64)]
        session_idle_timeout_ms: u64,

        /// How long an HTTP client may take to send a request's headers, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = DEFAULT_HEADER_READ_TIMEOUT.as_millis() as u64)]
        header_read_timeout_ms: u64,

        /// How long an HTTP client may take to send a request's body once its
        /// headers are in, in milliseconds; a slower one gets 408.
        #[arg(long, value_name = "MS", default_value_t = DEFAULT_BODY_READ_TIMEOUT.as_millis() as u64)]
        body_read_timeout_ms: u64,

        /// How long a TCP client may take to send initialize (or a 2026-07-28
        /// request) before it is disconnected, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = DEFAULT_HANDSHAKE_TIMEOUT.as_millis() as u64)]
        handshake_timeout_ms: u64,

        /// Serve the server's metrics (OpenMetrics text, for Prometheus) at
        /// GET /metrics on this address.
        #[arg(long, value_name = "ADDR")]
        metrics: Option<SocketAddr>,

        /// Serve the metrics at GET /metrics on the --http listener too
        /// (behind its Host and Origin checks).
        #[arg(long)]
        http_metrics: bool,

        /// Serve one client over stdin/stdout; logs go to stderr.
        #[arg(long)]
        stdio: bool,

        /// Serve the fixtures of the MCP conformance suite's reference
        /// everything-server (its tools, resources, templates, prompts and
        /// completion) instead of the built-in tools.
        #[arg(long)]
        conformance: bool,

        /// A file holding the key that seals `requestState` (2026-07-28
        /// multi-round-trip requests): at least 16 bytes, surrounding
        /// whitespace ignored. Replicas behind one load balancer need the
        /// same key. Without it, each process picks a random one.
        #[arg(long, value_name = "PATH")]
        state_key_file: Option<std::path::PathBuf>,

        /// Share listen-stream notifications (list_changed, resources/updated,
        /// task status) with the other replicas through this Redis server's
        /// pub/sub: redis://HOST:PORT/. Without it, notifications stay in
        /// this process.
        #[arg(long, value_name = "URL")]
        event_bus: Option<String>,

        /// The pub/sub channel of --event-bus; replicas on the same channel
        /// see each other's notifications.
        #[arg(long, value_name = "NAME", default_value = DEFAULT_BUS_CHANNEL, requires = "event_bus")]
        bus_channel: String,

        /// This replica's name behind a load balancer (letters, digits, - and
        /// _): it starts every HTTP session id and task id, so the balancer
        /// can route a session's or a task's requests to this replica.
        #[arg(long, value_name = "NAME", value_parser = parse_replica_id)]
        replica_id: Option<ReplicaId>,

        /// Most sessions at once; one more is told the server is at capacity and closed.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_SESSIONS)]
        max_sessions: usize,

        /// Messages queued per session before notifications are dropped (or the
        /// client disconnected, see --full-policy) and responses wait.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_OUTBOX_CAPACITY)]
        outbox_capacity: usize,

        /// What a full outbox does to a notification.
        #[arg(long, value_enum, default_value_t = Policy::Drop)]
        full_policy: Policy,

        /// Longest accepted message line, in bytes; longer lines get an error and are skipped.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_FRAME_BYTES)]
        max_frame_bytes: usize,

        /// Requests one session may run at once; at the cap the server stops reading from it.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_IN_FLIGHT_PER_SESSION)]
        max_in_flight: usize,

        /// A request running longer than this is cancelled and answered with an error, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 60_000)]
        request_timeout_ms: u64,

        /// How long shutdown waits for sessions before aborting them, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 5_000)]
        shutdown_grace_ms: u64,

        /// Threads of the tokio runtime that run sessions (default: one per
        /// CPU). Fewer threads than the machine has cores leaves cores to
        /// other processes (and, on a machine shared with the clients, cuts
        /// tail latency; see analysis/async-fixes-performance.md).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        worker_threads: Option<u16>,

        /// Listen backlog of the TCP socket (capped by net.core.somaxconn).
        #[arg(long, value_name = "N", default_value_t = DEFAULT_LISTEN_BACKLOG)]
        backlog: u32,
    }

    #[derive(Debug, Clone, Copy, ValueEnum)]
    enum Policy {
        /// Drop the notification and count it.
        Drop,
        /// Drop it, count it, and disconnect the slow client.
        Disconnect,
    }

    pub(crate) fn main() -> anyhow::Result<()> {
        let args = Args::parse();
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
            .init();
        let mut config = ServerConfig::default();
        if let Some(path) = &args.state_key_file {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let key =
                StateKey::new(bytes.trim_ascii()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            config = config.request_state_key(key);
        }
        let config = config
            .max_sessions(args.max_sessions)
            .outbox_capacity(args.outbox_capacity)
            .full_policy(match args.full_policy {
                Policy::Drop => FullPolicy::Drop,
                Policy::Disconnect => FullPolicy::Disconnect,
            })
            .max_frame_bytes(args.max_frame_bytes)
            .max_in_flight_per_session(args.max_in_flight)
            .request_timeout(Duration::from_millis(args.request_timeout_ms))
            .shutdown_grace(Duration::from_millis(args.shutdown_grace_ms))
            .listen_backlog(args.backlog)
            .http(
                HttpConfig::default()
                    .allowed_hosts(any_or(&args.allowed_hosts))
                    .allowed_origins(any_or(&args.allowed_origins))
                    .max_body_bytes(args.max_body_bytes)
                    .max_connections(args.max_connections)
                    .max_concurrent_requests(args.max_concurrent_requests)
                    .session_idle_timeout(Duration::from_millis(args.session_idle_timeout_ms))
                    .header_read_timeout(Duration::from_millis(args.header_read_timeout_ms))
                    .body_read_timeout(Duration::from_millis(args.body_read_timeout_ms))
                    .metrics_endpoint(args.http_metrics),
            )
            .handshake_timeout(Duration::from_millis(args.handshake_timeout_ms));
        let config = match &args.replica_id {
            Some(id) => config.replica_id(id.clone()),
            None => config,
        };
        let mut runtime = tokio::runtime::Builder::new_multi_thread();
        if let Some(n) = args.worker_threads {
            runtime.worker_threads(usize::from(n));
        }
        let runtime = runtime
            .enable_all()
            .build()
            .context("starting the tokio runtime")?;
        let in_runtime = runtime.enter();
        let mut builder = Server::builder().config(config);
        let bus = match &args.event_bus {
            Some(url) => {
                let bus = RedisBus::start(url, RedisBusConfig::default().channel(&args.bus_channel))?;
                tracing::info!(%url, channel = %args.bus_channel, "listen-stream notifications shared over Redis");
                // `Arc<RedisBus>` coerces to the builder's `Arc<dyn EventBus>`.
                builder = builder.event_bus(bus.clone());
                Some(bus)
            }
            None => None,
        };
        let server = if args.conformance {
            crate::conformance::fixtures(builder).build()
        } else {
            builder.builtin_tools().build()
        };
        drop(in_runtime);
        let result = runtime.block_on(serve(server, &args));
        if let Some(bus) = bus {
            tracing::info!(metrics = ?bus.metrics(), "event bus");
        }
        // stdin may be read on a blocking thread (a file or a terminal) that never returns: do not wait for it.
        runtime.shutdown_timeout(Duration::from_millis(100));
        result
    }

    fn parse_replica_id(name: &str) -> Result<ReplicaId, String> {
        ReplicaId::new(name)
    }

    /// A list that is just "*" means any (an empty list in the config).
    fn any_or(list: &[String]) -> Vec<String> {
        if list.iter().any(|item| item == "*") {
            Vec::new()
        } else {
            list.to_vec()
        }
    }

    async fn serve(server: Server, args: &Args) -> anyhow::Result<()> {
        tokio::spawn(shutdown_on_signal(server.handle()));
        if args.conformance {
            tokio::spawn(crate::conformance::watch(server.handle()));
        }
        if let Some(addr) = args.metrics {
            let listener = tcp::bind(addr, 64)
                .await
                .with_context(|| format!("binding {addr}"))?;
            let addr = listener.local_addr()?;
            tracing::info!(url = %format!("http://{addr}/metrics"), "serving metrics");
            let server = server.clone();
            tokio::spawn(async move { server.serve_metrics(listener).await });
        }
        if args.stdio {
            tracing::info!("serving MCP on stdio");
            let report = server.serve_stdio().await.context("serving stdio")?;
            log_report("stdio", &report);
            return Ok(());
        }
        let tcp_addr = match (args.tcp, args.http) {
            (None, None) => Some("127.0.0.1:7878".parse().expect("a valid address")),
            (tcp, _) => tcp,
        };
        let tcp_listener = match tcp_addr {
            Some(addr) => Some(
                tcp::bind(addr, args.backlog)
                    .await
                    .with_context(|| format!("binding {addr}"))?,
            ),
            None => None,
        };
        let http_listener = match args.http {
            Some(addr) => Some(
                tcp::bind(addr, args.backlog)
                    .await
                    .with_context(|| format!("binding {addr}"))?,
            ),
            None => None,
        };
        let over_tcp = async {
            if let Some(listener) = tcp_listener {
                tracing::info!(addr = %listener.local_addr()?, "serving MCP over TCP");
                log_report("tcp", &server.serve_tcp(listener).await);
            }
            anyhow::Ok(())
        };
        let over_http = async {
            if let Some(listener) = http_listener {
                let addr = listener.local_addr()?;
                tracing::info!(url = %format!("http://{addr}{ENDPOINT}"), "serving MCP over Streamable HTTP");
                log_report("http", &server.serve_http(listener).await);
            }
            anyhow::Ok(())
        };
        let (tcp_result, http_result) = tokio::join!(over_tcp, over_http);
        tcp_result.and(http_result)
    }

    fn log_report(transport: &str, report: &ShutdownReport) {
        tracing::info!(
            transport,
            closed = report.sessions_closed,
            aborted = report.sessions_aborted,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "server stopped"
        );
    }

    async fn shutdown_on_signal(handle: ServerHandle) {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(term) => term,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        }
        handle.shutdown();
    }
}

#[cfg(not(any(loom, shuttle)))]
fn main() -> anyhow::Result<()> {
    app::main()
}

/// Model builds (`--cfg loom` / `--cfg shuttle`) have no runtime to serve with.
#[cfg(any(loom, shuttle))]
fn main() {
    eprintln!("mcp-server-core: built for model checking; rebuild without --cfg loom/shuttle to serve");
}
