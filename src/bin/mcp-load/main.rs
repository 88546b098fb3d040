//! mcp-load: a load generator for any MCP server, over TCP, stdio or
//! Streamable HTTP.
//!
//! Opens C sessions at once (the connect storm is part of the measurement),
//! then drives `tools/call` in a closed loop on each (one request
//! outstanding per session, or `--pipeline N` over TCP and stdio) for N
//! calls or a fixed duration, and reports
//! requests/s, latency percentiles, errors and connect-to-first-response
//! latency, on the terminal and as JSON.
//!
//! ```text
//! mcp-load --tcp 127.0.0.1:7878 -c 64 -n 1000
//! mcp-load --stdio "./target/release/mcp-server-core --stdio" -c 8 --duration 5 --json out.json
//! mcp-load --stdio "./target/release/mcp-server-core --stdio" -c 1 --pipeline 64 --duration 5
//! mcp-load --http http://127.0.0.1:8080/mcp -c 64 --duration 5                       # 2025 sessions
//! mcp-load --http http://127.0.0.1:8080/mcp -c 64 --duration 5 --protocol 2026-07-28 # stateless
//! mcp-load --tcp 127.0.0.1:7878 -c 1000 --hold 10          # connect, stay idle 10 s, leave
//! mcp-load --tcp 127.0.0.1:7878 -c 16 --cycles 1000 --abandon-every 100   # churn (see soak.rs)
//! ```

#[cfg(not(any(loom, shuttle)))]
mod args;
#[cfg(not(any(loom, shuttle)))]
mod conn;
#[cfg(not(any(loom, shuttle)))]
mod http;
#[cfg(not(any(loom, shuttle)))]
mod line;
#[cfg(not(any(loom, shuttle)))]
mod reply;
#[cfg(not(any(loom, shuttle)))]
mod report;
#[cfg(not(any(loom, shuttle)))]
mod soak;

#[cfg(not(any(loom, shuttle)))]
mod run {
    //! The run: connect every session, call (or hold), report.

    use std::time::{Duration, Instant};

    use anyhow::Context;
    use clap::Parser;
    use indicatif::{ProgressBar, ProgressStyle};
    use serde_json::{Value, json};
    use tokio::task::JoinSet;

    use crate::args::Args;
    use crate::conn::{Conn, Opened, meta};
    use crate::report::{Percentiles, Report, print_report};

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
        if let Some(cycles) = args.cycles {
            return churn(args, cycles, arguments).await;
        }

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
                    params["_meta"] = meta(conn.protocol());
                }
                if args.progress {
                    params["_meta"]["progressToken"] = json!("load");
                }
                let params = serde_json::to_string(&params)?;
                let bar = bar.clone();
                let depth = usize::from(args.pipeline);
                calling.spawn(async move {
                    if depth > 1
                        && let Conn::Line(line, _) = &mut conn
                    {
                        let more =
                            move |issued: u64| deadline.map_or(issued < per_session, |d| Instant::now() < d);
                        let answered = || bar.inc(1);
                        let (samples, failure) = line.call_pipelined(&params, depth, &more, &answered).await;
                        return (samples, failure, conn);
                    }
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
                    (samples, failure, conn)
                });
            }
            while let Some(done) = calling.join_next().await {
                let (samples, failure, conn) = done?;
                conns.push(conn);
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
        // Close every session; a stdio server sees its stdin end and may
        // exit by itself (a profiler around it then writes its output).
        let mut closing = JoinSet::new();
        for conn in conns {
            closing.spawn(conn.close());
        }
        while closing.join_next().await.is_some() {}
        let report = Report {
            label: args.label.clone(),
            transport: Conn::transport(&args).to_owned(),
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
        emit(&report, &args)
    }

    /// Prints the report, and writes it as JSON where asked.
    fn emit(report: &Report, args: &Args) -> anyhow::Result<()> {
        print_report(report);
        if let Some(path) = &args.json {
            std::fs::write(path, serde_json::to_vec_pretty(report)?)
                .with_context(|| format!("write {}", path.display()))?;
        }
        Ok(())
    }

    /// `--cycles`: churn (see `soak.rs`).
    async fn churn(args: std::sync::Arc<Args>, cycles: u64, arguments: Value) -> anyhow::Result<()> {
        let bar = progress(cycles * args.concurrency as u64, "cycling");
        let tick = {
            let bar = bar.clone();
            move || bar.inc(1)
        };
        let started = Instant::now();
        let churned = crate::soak::churn(&args, cycles, arguments, tick).await?;
        bar.finish_and_clear();
        let elapsed = started.elapsed().as_secs_f64();
        let ok = churned.cycles.len() as u64;
        eprintln!(
            "cycles: {ok} completed, {} abandoned on purpose",
            churned.abandoned
        );
        let report = Report {
            label: args.label.clone(),
            transport: Conn::transport(&args).to_owned(),
            protocol: args.protocol.clone(),
            concurrency: args.concurrency,
            sessions_admitted: ok as usize,
            sessions_rejected: churned.rejected,
            sessions_failed: churned.failed as usize,
            connect: Percentiles::default(),
            requests_ok: ok,
            requests_failed: churned.failed,
            elapsed_s: elapsed,
            requests_per_s: ok as f64 / elapsed,
            latency: Percentiles::of(churned.cycles),
            first_error: churned.first_error,
        };
        emit(&report, &args)?;
        if report.requests_failed > 0 {
            anyhow::bail!("{} cycles failed", report.requests_failed);
        }
        Ok(())
    }
}

#[cfg(not(any(loom, shuttle)))]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run::run().await
}

/// Model builds (`--cfg loom` / `--cfg shuttle`) have no runtime to load with.
#[cfg(any(loom, shuttle))]
fn main() {
    eprintln!("mcp-load: built for model checking; rebuild without --cfg loom/shuttle");
}
