//! mcp-load: a load generator for any MCP server, over TCP or stdio.
//!
//! Opens C sessions at once (the connect storm is part of the measurement),
//! then drives `tools/call` in a closed loop on each (one request
//! outstanding per session) for N calls or a fixed duration, and reports
//! requests/s, latency percentiles, errors and connect-to-first-response
//! latency, on the terminal and as JSON.
//!
//! ```text
//! mcp-load --tcp 127.0.0.1:7878 -c 64 -n 1000
//! mcp-load --stdio "./target/release/mcp-server-core --stdio" -c 8 --duration 5 --json out.json
//! mcp-load --tcp 127.0.0.1:7878 -c 1000 --hold 10          # connect, stay idle 10 s, leave
//! ```

#[cfg(not(any(loom, shuttle)))]
mod load {
    use std::net::SocketAddr;
    use std::path::PathBuf;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    use anyhow::{Context, bail};
    use clap::Parser;
    use indicatif::{ProgressBar, ProgressStyle};
    use serde::Serialize;
    use serde_json::{Value, json};
    use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;
    use tokio::task::JoinSet;

    /// Drives an MCP server with concurrent sessions and reports throughput,
    /// latency and errors.
    #[derive(Debug, Parser)]
    #[command(version, about, long_about)]
    struct Args {
        /// Connect to an MCP server over TCP (one JSON-RPC message per line).
        #[arg(
            long,
            value_name = "ADDR",
            conflicts_with = "stdio",
            required_unless_present = "stdio"
        )]
        tcp: Option<SocketAddr>,

        /// Start this command once per session and speak MCP over its
        /// stdin/stdout (split on whitespace).
        #[arg(long, value_name = "COMMAND")]
        stdio: Option<String>,

        /// Concurrent sessions.
        #[arg(short = 'c', long, default_value_t = 8)]
        concurrency: usize,

        /// Calls per session (default 1000, unless --duration is given).
        #[arg(short = 'n', long, value_name = "N", conflicts_with = "duration")]
        requests: Option<u64>,

        /// Call for this many seconds instead of a fixed count.
        #[arg(long, value_name = "SECS")]
        duration: Option<f64>,

        /// The tool to call.
        #[arg(long, default_value = "echo")]
        tool: String,

        /// The tool's arguments, as JSON.
        #[arg(long, value_name = "JSON", default_value = r#"{"text":"hello"}"#)]
        arguments: String,

        /// Protocol version: a handshake version (initialize), or 2026-07-28
        /// (stateless: no handshake, server/discover first, _meta on every call).
        #[arg(long, default_value = "2025-11-25")]
        protocol: String,

        /// Instead of calling tools: open the sessions, keep them idle this
        /// many seconds, then close them (for idle CPU, memory and admission
        /// measurements).
        #[arg(long, value_name = "SECS")]
        hold: Option<f64>,

        /// With --hold: never read from the server after the handshake (a
        /// client that never reads).
        #[arg(long, requires = "hold")]
        no_read: bool,

        /// Give up on a session whose connection or handshake takes longer, in seconds.
        #[arg(long, value_name = "SECS", default_value_t = 30.0)]
        connect_timeout: f64,

        /// Write the results as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,

        /// A label stored in the JSON results.
        #[arg(long)]
        label: Option<String>,
    }

    /// Percentiles of a set of durations, in microseconds.
    #[derive(Debug, Default, Serialize)]
    struct Percentiles {
        count: usize,
        p50_us: u64,
        p90_us: u64,
        p99_us: u64,
        max_us: u64,
        mean_us: f64,
        /// `[q, microseconds]` at q = 0.01, 0.02, .., 0.99, 0.999: the
        /// distribution, for plotting.
        quantiles: Vec<(f64, u64)>,
    }

    impl Percentiles {
        fn of(mut samples: Vec<u64>) -> Self {
            if samples.is_empty() {
                return Self::default();
            }
            samples.sort_unstable();
            let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
            Self {
                count: samples.len(),
                p50_us: at(0.50),
                p90_us: at(0.90),
                p99_us: at(0.99),
                max_us: *samples.last().expect("not empty"),
                mean_us: samples.iter().sum::<u64>() as f64 / samples.len() as f64,
                quantiles: (1..100)
                    .map(|i| f64::from(i) / 100.0)
                    .chain([0.999])
                    .map(|q| (q, at(q)))
                    .collect(),
            }
        }
    }

    /// What a run measured.
    #[derive(Debug, Serialize)]
    struct Report {
        label: Option<String>,
        transport: String,
        protocol: String,
        concurrency: usize,
        sessions_admitted: usize,
        sessions_rejected: usize,
        sessions_failed: usize,
        connect: Percentiles,
        requests_ok: u64,
        requests_failed: u64,
        elapsed_s: f64,
        requests_per_s: f64,
        latency: Percentiles,
        first_error: Option<String>,
    }

    /// What the generator reads of a message from the server.
    #[derive(serde::Deserialize)]
    struct Reply {
        #[serde(default)]
        id: Value,
        method: Option<serde::de::IgnoredAny>,
        error: Option<Value>,
        result: Option<ResultHead>,
    }

    /// Of a result, only whether the tool reported an error.
    #[derive(serde::Deserialize)]
    struct ResultHead {
        #[serde(rename = "isError", default)]
        is_error: bool,
    }

    /// One session's connection: lines in, lines out, and the child process
    /// when the transport is stdio.
    struct Conn {
        reader: BufReader<Box<dyn AsyncRead + Unpin + Send>>,
        writer: Box<dyn AsyncWrite + Unpin + Send>,
        _child: Option<tokio::process::Child>,
        next_id: u64,
        protocol: String,
    }

    enum Opened {
        Admitted(Box<Conn>, Duration),
        Rejected,
    }

    fn meta(protocol: &str) -> Value {
        json!({
            "io.modelcontextprotocol/protocolVersion": protocol,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "mcp-load", "version": env!("CARGO_PKG_VERSION")}
        })
    }

    impl Conn {
        async fn open(args: &Args) -> anyhow::Result<Opened> {
            let started = Instant::now();
            let (reader, writer, child): (
                Box<dyn AsyncRead + Unpin + Send>,
                Box<dyn AsyncWrite + Unpin + Send>,
                _,
            ) = match (&args.tcp, &args.stdio) {
                (Some(addr), _) => {
                    let stream = TcpStream::connect(addr).await.context("connect")?;
                    stream.set_nodelay(true)?;
                    let (r, w) = stream.into_split();
                    (Box::new(r), Box::new(w), None)
                }
                (None, Some(command)) => {
                    let mut words = command.split_whitespace();
                    let program = words.next().context("empty --stdio command")?;
                    let mut child = tokio::process::Command::new(program)
                        .args(words)
                        .stdin(Stdio::piped())
                        .stdout(Stdio::piped())
                        .stderr(Stdio::null())
                        .kill_on_drop(true)
                        .spawn()
                        .with_context(|| format!("start {command}"))?;
                    let stdout = child.stdout.take().expect("piped");
                    let stdin = child.stdin.take().expect("piped");
                    (Box::new(stdout), Box::new(stdin), Some(child))
                }
                (None, None) => bail!("give --tcp or --stdio"),
            };
            let mut conn = Conn {
                reader: BufReader::new(reader),
                writer,
                _child: child,
                next_id: 0,
                protocol: args.protocol.clone(),
            };
            let first = if conn.stateless() {
                conn.request("server/discover", json!({"_meta": meta(&args.protocol)}))
                    .await?
            } else {
                let params = json!({
                    "protocolVersion": args.protocol,
                    "capabilities": {},
                    "clientInfo": {"name": "mcp-load", "version": env!("CARGO_PKG_VERSION")}
                });
                conn.request("initialize", params).await?
            };
            if let Some(error) = first.error {
                if error["code"] == -32000 {
                    return Ok(Opened::Rejected);
                }
                bail!("handshake refused: {error}");
            }
            let connected = started.elapsed();
            if !conn.stateless() {
                conn.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
                    .await?;
            }
            Ok(Opened::Admitted(Box::new(conn), connected))
        }

        fn stateless(&self) -> bool {
            self.protocol.as_str() >= "2026-07-28"
        }

        async fn send(&mut self, message: &Value) -> anyhow::Result<()> {
            let mut line = serde_json::to_vec(message)?;
            line.push(b'\n');
            self.writer.write_all(&line).await?;
            self.writer.flush().await?;
            Ok(())
        }

        /// Sends a request and waits for its response, skipping notifications.
        async fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Reply> {
            let params = serde_json::to_string(&params)?;
            self.request_raw(method, &params).await
        }

        /// As [`Conn::request`], with the params already encoded. Responses
        /// are read into [`Reply`], which skips over the result instead of
        /// building it: the generator shares the machine with the server, so
        /// its own cost per call is kept small.
        async fn request_raw(&mut self, method: &str, params: &str) -> anyhow::Result<Reply> {
            self.next_id += 1;
            let id = self.next_id;
            let line =
                format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"{method}\",\"params\":{params}}}\n");
            self.writer.write_all(line.as_bytes()).await?;
            self.writer.flush().await?;
            let mut line = String::new();
            loop {
                line.clear();
                if self.reader.read_line(&mut line).await? == 0 {
                    bail!("the server closed the connection");
                }
                let reply: Reply = serde_json::from_str(&line).context("the server sent invalid JSON")?;
                if reply.method.is_some() {
                    continue; // a notification
                }
                // An answer to this request, or an error about no request in
                // particular (e.g. at capacity).
                if reply.id.as_u64() == Some(id) || reply.id.is_null() {
                    return Ok(reply);
                }
            }
        }

        async fn call(&mut self, params: &str) -> anyhow::Result<()> {
            let reply = self.request_raw("tools/call", params).await?;
            if let Some(error) = reply.error {
                bail!("tools/call failed: {error}");
            }
            if reply.result.is_some_and(|r| r.is_error) {
                bail!("the tool reported an error");
            }
            Ok(())
        }

        /// Reads and discards whatever the server sends, until it closes.
        async fn drain(mut self) {
            let mut line = String::new();
            while matches!(self.reader.read_line(&mut line).await, Ok(n) if n > 0) {
                line.clear();
            }
        }
    }

    fn progress(len: u64, what: &str) -> ProgressBar {
        let bar = ProgressBar::new(len);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec})",
            )
            .expect("a valid template"),
        );
        bar.set_message(what.to_owned());
        bar
    }

    pub(crate) async fn run() -> anyhow::Result<()> {
        let args = std::sync::Arc::new(Args::parse());
        let arguments: Value = serde_json::from_str(&args.arguments).context("--arguments is not JSON")?;
        let connect_timeout = Duration::from_secs_f64(args.connect_timeout);

        // Connect every session at once.
        let bar = progress(args.concurrency as u64, "connecting");
        let mut opening = JoinSet::new();
        for _ in 0..args.concurrency {
            let args = std::sync::Arc::clone(&args);
            opening.spawn(async move { tokio::time::timeout(connect_timeout, Conn::open(&args)).await });
        }
        let (mut conns, mut connects, mut rejected, mut failed) = (Vec::new(), Vec::new(), 0, 0);
        let mut first_error = None;
        while let Some(opened) = opening.join_next().await {
            bar.inc(1);
            match opened? {
                Ok(Ok(Opened::Admitted(conn, took))) => {
                    connects.push(took.as_micros() as u64);
                    conns.push(*conn);
                }
                Ok(Ok(Opened::Rejected)) => rejected += 1,
                Ok(Err(e)) => {
                    failed += 1;
                    first_error.get_or_insert_with(|| format!("{e:#}"));
                }
                Err(_) => {
                    failed += 1;
                    first_error.get_or_insert_with(|| "connect timed out".to_owned());
                }
            }
        }
        bar.finish_and_clear();
        let admitted = conns.len();

        let (mut latencies, mut ok, mut errors) = (Vec::new(), 0u64, 0u64);
        let started = Instant::now();
        if let Some(hold) = args.hold {
            let mut idle = JoinSet::new();
            if !args.no_read {
                for conn in conns.drain(..) {
                    idle.spawn(conn.drain());
                }
            }
            eprintln!("holding {admitted} sessions for {hold} s ({rejected} rejected, {failed} failed)");
            tokio::time::sleep(Duration::from_secs_f64(hold)).await;
            idle.abort_all();
            drop(conns);
        } else {
            let per_session = args.requests.unwrap_or(1000);
            let deadline = args.duration.map(|d| Instant::now() + Duration::from_secs_f64(d));
            let bar = match deadline {
                Some(_) => progress(0, "calling"),
                None => progress(per_session * admitted as u64, "calling"),
            };
            let mut calling = JoinSet::new();
            for mut conn in conns.drain(..) {
                let mut params = json!({"name": args.tool, "arguments": arguments});
                if conn.stateless() {
                    params["_meta"] = meta(&conn.protocol);
                }
                let params = serde_json::to_string(&params)?;
                let bar = bar.clone();
                calling.spawn(async move {
                    let mut samples = Vec::with_capacity(per_session.min(1 << 20) as usize);
                    let mut failure = None;
                    let mut n = 0u64;
                    while deadline.map_or(n < per_session, |d| Instant::now() < d) {
                        let t = Instant::now();
                        match conn.call(&params).await {
                            Ok(()) => samples.push(t.elapsed().as_micros() as u64),
                            Err(e) => {
                                failure = Some(format!("{e:#}"));
                                break;
                            }
                        }
                        n += 1;
                        bar.inc(1);
                    }
                    (samples, failure)
                });
            }
            while let Some(done) = calling.join_next().await {
                let (samples, failure) = done?;
                ok += samples.len() as u64;
                latencies.extend(samples);
                if let Some(failure) = failure {
                    errors += 1;
                    first_error.get_or_insert(failure);
                }
            }
            bar.finish_and_clear();
        }
        let elapsed = started.elapsed().as_secs_f64();
        let report = Report {
            label: args.label.clone(),
            transport: if args.tcp.is_some() { "tcp" } else { "stdio" }.to_owned(),
            protocol: args.protocol.clone(),
            concurrency: args.concurrency,
            sessions_admitted: admitted,
            sessions_rejected: rejected,
            sessions_failed: failed,
            connect: Percentiles::of(connects),
            requests_ok: ok,
            requests_failed: errors,
            elapsed_s: elapsed,
            requests_per_s: if args.hold.is_some() {
                0.0
            } else {
                ok as f64 / elapsed
            },
            latency: Percentiles::of(latencies),
            first_error,
        };
        print_report(&report);
        if let Some(path) = &args.json {
            std::fs::write(path, serde_json::to_vec_pretty(&report)?)
                .with_context(|| format!("write {}", path.display()))?;
        }
        Ok(())
    }

    impl std::fmt::Display for Percentiles {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let ms = |us: u64| us as f64 / 1000.0;
            write!(
                f,
                "p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                ms(self.p50_us),
                ms(self.p90_us),
                ms(self.p99_us),
                ms(self.max_us)
            )
        }
    }

    fn print_report(r: &Report) {
        println!(
            "sessions: {} admitted, {} rejected, {} failed (of {}, over {})",
            r.sessions_admitted, r.sessions_rejected, r.sessions_failed, r.concurrency, r.transport
        );
        println!("connect to first response: {}", r.connect);
        if r.requests_ok + r.requests_failed > 0 {
            println!(
                "calls: {} ok, {} failed in {:.2} s: {:.0} requests/s",
                r.requests_ok, r.requests_failed, r.elapsed_s, r.requests_per_s
            );
        }
        if r.latency.count > 0 {
            println!("latency: {}", r.latency);
        }
        if let Some(e) = &r.first_error {
            println!("first error: {e}");
        }
    }
}

#[cfg(not(any(loom, shuttle)))]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    load::run().await
}

/// Model builds (`--cfg loom` / `--cfg shuttle`) have no runtime to load with.
#[cfg(any(loom, shuttle))]
fn main() {
    eprintln!("mcp-load: built for model checking; rebuild without --cfg loom/shuttle");
}
