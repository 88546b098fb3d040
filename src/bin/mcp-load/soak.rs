//! Churn: `--cycles N` has each of the C workers open a fresh session N
//! times, call the tool once, and close it (TCP: the connection; HTTP: a
//! DELETE, then the connection). With `--abandon-every K`, every K-th cycle
//! leaves its session behind instead, for the server to clean up: over TCP
//! a connection that never sends `initialize` (the handshake timeout must
//! cut it), over HTTP a session that is never deleted (idle expiry must end
//! it). An abandoned TCP connection is held open, silent, until the server
//! closes it (at most [`ABANDONED_WAIT`]; one it did not close counts as a
//! failed cycle); an abandoned HTTP session's connection is held until the
//! worker ends.
//!
//! The report counts cycles as calls: `requests_ok` is the cycles that
//! completed, `latency` the duration of a whole cycle.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::args::Args;
use crate::conn::{Conn, Opened, meta};
use crate::line::LineConn;

/// How long an abandoned TCP connection waits for the server to close it.
const ABANDONED_WAIT: Duration = Duration::from_secs(30);

/// What the workers did.
#[derive(Debug, Default)]
pub(crate) struct Churned {
    /// Duration of each completed cycle, in microseconds.
    pub(crate) cycles: Vec<u64>,
    /// Cycles refused with the capacity error.
    pub(crate) rejected: usize,
    /// Cycles that failed, and the first failure.
    pub(crate) failed: u64,
    pub(crate) first_error: Option<String>,
    /// Sessions left behind on purpose.
    pub(crate) abandoned: u64,
}

/// Runs `cycles` cycles on each of `args.concurrency` workers. The cycles
/// are numbered from 1 across the workers (worker `w` runs
/// `w * cycles + 1 ..= (w + 1) * cycles`); those whose number is a multiple
/// of `--abandon-every` are abandoned.
pub(crate) async fn churn(
    args: &Args,
    cycles: u64,
    arguments: Value,
    tick: impl Fn() + Clone + Send + 'static,
) -> anyhow::Result<Churned> {
    let mut workers = JoinSet::new();
    for worker in 0..args.concurrency as u64 {
        let (args, arguments, tick) = (args.clone(), arguments.clone(), tick.clone());
        workers.spawn(async move {
            let mut done = Churned::default();
            let mut held = Vec::new();
            let mut silent = JoinSet::new();
            for i in 0..cycles {
                let n = worker * cycles + i + 1;
                let abandon = args.abandon_every > 0 && n.is_multiple_of(args.abandon_every);
                let started = Instant::now();
                match cycle(&args, &arguments, abandon).await {
                    Ok(Cycle::Done) => done.cycles.push(started.elapsed().as_micros() as u64),
                    Ok(Cycle::Abandoned(Left::Http(conn))) => {
                        done.abandoned += 1;
                        held.push(conn);
                    }
                    Ok(Cycle::Abandoned(Left::Tcp(conn))) => {
                        done.abandoned += 1;
                        silent.spawn(tokio::time::timeout(ABANDONED_WAIT, conn.drain()));
                    }
                    Ok(Cycle::Rejected) => done.rejected += 1,
                    Err(e) => {
                        done.failed += 1;
                        done.first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
                tick();
            }
            while let Some(waited) = silent.join_next().await {
                if !matches!(waited, Ok(Ok(()))) {
                    done.failed += 1;
                    done.first_error
                        .get_or_insert_with(|| "the server never closed an abandoned connection".to_owned());
                }
            }
            drop(held);
            done
        });
    }
    let mut all = Churned::default();
    while let Some(done) = workers.join_next().await {
        let done = done?;
        all.cycles.extend(done.cycles);
        all.rejected += done.rejected;
        all.failed += done.failed;
        all.abandoned += done.abandoned;
        if all.first_error.is_none() {
            all.first_error = done.first_error;
        }
    }
    Ok(all)
}

enum Cycle {
    Done,
    Abandoned(Left),
    Rejected,
}

/// A session left behind.
enum Left {
    /// A connection that never initialized.
    Tcp(Box<LineConn>),
    /// A session never deleted, with its connection.
    Http(Box<Conn>),
}

async fn cycle(args: &Args, arguments: &Value, abandon: bool) -> anyhow::Result<Cycle> {
    let wait = Duration::from_secs_f64(args.connect_timeout);
    if abandon && args.http.is_none() {
        // Connected, and never a word: the server must cut it.
        let conn = LineConn::connect(args).await?;
        return Ok(Cycle::Abandoned(Left::Tcp(Box::new(conn))));
    }
    let opened = tokio::time::timeout(wait, Conn::open(args))
        .await
        .context("the handshake timed out")??;
    let mut conn = match opened {
        Opened::Admitted(conn, _) => *conn,
        Opened::Rejected => return Ok(Cycle::Rejected),
    };
    let mut params = json!({"name": args.tool, "arguments": arguments});
    if conn.stateless() {
        params["_meta"] = meta(conn.protocol());
    }
    tokio::time::timeout(wait, conn.call(&params.to_string()))
        .await
        .context("the call timed out")??;
    if abandon {
        // An HTTP session never deleted: idle expiry must end it.
        return Ok(Cycle::Abandoned(Left::Http(Box::new(conn))));
    }
    conn.end().await?;
    Ok(Cycle::Done)
}
