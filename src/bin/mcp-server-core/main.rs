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

/// The conformance suite's fixtures, shared with `examples/everything`.
#[cfg(not(any(loom, shuttle)))]
#[path = "../../../examples/everything/fixtures/mod.rs"]
mod conformance;

/// The allocator of the binary (see the `mimalloc` feature).
#[cfg(all(feature = "mimalloc", not(any(loom, shuttle))))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(not(any(loom, shuttle)))]
mod args;
#[cfg(not(any(loom, shuttle)))]
mod auth_args;

#[cfg(not(any(loom, shuttle)))]
mod app {
    use std::time::Duration;

    use anyhow::Context;
    use clap::Parser;
    use mcp_server_core::bus::{RedisBus, RedisBusConfig};
    use mcp_server_core::config::{HttpConfig, StateKey};
    use mcp_server_core::store::{RedisStore, RedisStoreConfig};
    use mcp_server_core::transport::http::ENDPOINT;
    use mcp_server_core::transport::tcp;
    use mcp_server_core::transport::tls::{TlsConfig, TlsListener};
    use mcp_server_core::{
        FullPolicy, Server, ServerBuilder, ServerConfig, ServerHandle, ShutdownReport, Skill,
    };
    use tracing_subscriber::EnvFilter;

    use crate::args::{Args, Bound, Endpoint, Policy};

    pub(crate) fn main() -> anyhow::Result<()> {
        let args = Args::parse();
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
            .init();
        let mut config = ServerConfig::default();
        let mut keys = Vec::new();
        for path in &args.state_key_file {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let key =
                StateKey::new(bytes.trim_ascii()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            keys.push(key);
        }
        if !keys.is_empty() {
            config = config.request_state_keys(keys);
        }
        let mut http = HttpConfig::default()
            .allowed_hosts(any_or(&args.allowed_hosts))
            .allowed_origins(any_or(&args.allowed_origins))
            .max_body_bytes(args.max_body_bytes)
            .max_connections(args.max_connections)
            .max_concurrent_requests(args.max_concurrent_requests)
            .session_idle_timeout(Duration::from_millis(args.session_idle_timeout_ms))
            .header_read_timeout(Duration::from_millis(args.header_read_timeout_ms))
            .body_read_timeout(Duration::from_millis(args.body_read_timeout_ms))
            .metrics_endpoint(args.http_metrics);
        if let Some(auth) = args.auth.auth()? {
            tracing::info!(resource = %auth.config().resource, issuers = ?auth.config().authorization_servers,
                "HTTP requests need a bearer token");
            http = http.auth(auth);
        }
        if let Some(n) = args.auth.max_sessions_per_principal {
            http = http.max_sessions_per_principal(usize::try_from(n).unwrap_or(usize::MAX));
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
            .http(http)
            .handshake_timeout(Duration::from_millis(args.handshake_timeout_ms))
            .write_stall_timeout(Duration::from_millis(args.write_stall_timeout_ms));
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
        if let Some(dir) = &args.skills_dir {
            let skills = Skill::all_in(dir)?;
            tracing::info!(dir = %dir.display(), count = skills.len(), "serving skills");
            builder = skills.into_iter().fold(builder, ServerBuilder::skill);
        }
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
        let store = match &args.state_store {
            Some(url) => {
                let store = RedisStore::start(url, RedisStoreConfig::default())?;
                tracing::info!(%url, "2025 sessions, their streams' events and tasks kept in Redis");
                builder = builder
                    .session_store(store.clone())
                    .event_store(store.clone())
                    .task_store(store.clone());
                Some(store)
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
        if let Some(store) = store {
            tracing::info!(metrics = ?store.metrics(), "session store");
        }
        // stdin may be read on a blocking thread (a file or a terminal) that never returns: do not wait for it.
        runtime.shutdown_timeout(Duration::from_millis(100));
        result
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
        let tcp_endpoint = match (&args.tcp, &args.http) {
            (None, None) => Some(Endpoint::Tcp("127.0.0.1:7878".parse().expect("a valid address"))),
            (tcp, _) => tcp.clone(),
        };
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => {
                Some(TlsConfig::from_pem_files(cert, key).context("loading the TLS certificate and key")?)
            }
            _ => None,
        };
        let tcp_listener = match &tcp_endpoint {
            Some(endpoint) => Some(Bound::bind(endpoint, args.backlog).await?),
            None => None,
        };
        let http_listener = match &args.http {
            Some(endpoint) => Some(Bound::bind(endpoint, args.backlog).await?),
            None => None,
        };
        if let Some(Endpoint::Tcp(addr)) = &tcp_endpoint
            && !addr.ip().is_loopback()
        {
            tracing::warn!(%addr, "the TCP listener is not on loopback: MCP over TCP has no authorization \
                (--auth-* covers HTTP only), so serve it on trusted networks only");
        }
        let over_tcp = async {
            if let Some(listener) = tcp_listener {
                let secure = if tls.is_some() { " with TLS" } else { "" };
                tracing::info!(addr = %listener.describe(), "serving MCP over TCP{secure}");
                let report = match (listener, &tls) {
                    (Bound::Tcp(listener), None) => server.serve_tcp(listener).await,
                    (Bound::Unix(listener), None) => server.serve_lines(listener).await,
                    (Bound::Tcp(listener), Some(tls)) => {
                        server.serve_lines(TlsListener::new(listener, tls)).await
                    }
                    (Bound::Unix(listener), Some(tls)) => {
                        server.serve_lines(TlsListener::new(listener, tls)).await
                    }
                };
                log_report("tcp", &report);
            }
        };
        let over_http = async {
            if let Some(listener) = http_listener {
                let scheme = if tls.is_some() { "https" } else { "http" };
                let url = match &listener {
                    Bound::Tcp(_) => format!("{scheme}://{}{ENDPOINT}", listener.describe()),
                    Bound::Unix(_) => format!("{} ({scheme}, path {ENDPOINT})", listener.describe()),
                };
                tracing::info!(%url, "serving MCP over Streamable HTTP");
                let tls = tls.as_ref().map(|tls| tls.alpn(&[b"http/1.1"]));
                let report = match (listener, &tls) {
                    (Bound::Tcp(listener), None) => server.serve_http(listener).await,
                    (Bound::Unix(listener), None) => server.serve_http(listener).await,
                    (Bound::Tcp(listener), Some(tls)) => {
                        server.serve_http(TlsListener::new(listener, tls)).await
                    }
                    (Bound::Unix(listener), Some(tls)) => {
                        server.serve_http(TlsListener::new(listener, tls)).await
                    }
                };
                log_report("http", &report);
            }
        };
        tokio::join!(over_tcp, over_http);
        Ok(())
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

/// Exit code 2 for anything that stops the server from starting (as clap
/// uses for a bad argument): an address or socket that cannot be bound, a
/// key or certificate that cannot be read.
#[cfg(not(any(loom, shuttle)))]
fn main() -> std::process::ExitCode {
    match app::main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mcp-server-core: error: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Model builds (`--cfg loom` / `--cfg shuttle`) have no runtime to serve with.
#[cfg(any(loom, shuttle))]
fn main() {
    eprintln!("mcp-server-core: built for model checking; rebuild without --cfg loom/shuttle to serve");
}
