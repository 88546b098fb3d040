//! A session over a byte stream (TCP, or a child's stdin/stdout): one
//! JSON-RPC message per line.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::args::Args;
use crate::reply::Reply;

/// One session's connection: lines in, lines out, and the child process
/// when the transport is stdio.
pub(crate) struct LineConn {
    reader: BufReader<Box<dyn AsyncRead + Unpin + Send>>,
    writer: Box<dyn AsyncWrite + Unpin + Send>,
    _child: Option<tokio::process::Child>,
    next_id: u64,
}

impl LineConn {
    /// Connects (or starts the command), without a handshake.
    pub(crate) async fn connect(args: &Args) -> anyhow::Result<Self> {
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
            (None, None) => bail!("give --tcp, --stdio or --http"),
        };
        Ok(Self {
            reader: BufReader::new(reader),
            writer,
            _child: child,
            next_id: 0,
        })
    }

    pub(crate) async fn send(&mut self, message: &Value) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(message)?;
        line.push(b'\n');
        self.writer.write_all(&line).await?;
        self.writer.flush().await?;
        Ok(())
    }

    /// Sends a request with its params already encoded and waits for its
    /// response, skipping notifications. Responses are read into [`Reply`],
    /// which skips over the result instead of building it: the generator
    /// shares the machine with the server, so its own cost per call is kept
    /// small.
    pub(crate) async fn request_raw(&mut self, method: &str, params: &str) -> anyhow::Result<Reply> {
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

    /// Calls `tools/call` (params already encoded) with up to `depth`
    /// requests in flight, writing a new one as soon as an answer comes,
    /// while `more(calls issued so far)` says so. Returns the latency of
    /// each call answered, in microseconds, and what stopped the run early.
    pub(crate) async fn call_pipelined(
        &mut self,
        params: &str,
        depth: usize,
        more: &(dyn Fn(u64) -> bool + Send + Sync),
        answered: &(dyn Fn() + Send + Sync),
    ) -> (Vec<u64>, Option<String>) {
        let mut samples = Vec::new();
        let failure = self.pipeline(params, depth, more, answered, &mut samples).await;
        (samples, failure.err().map(|e| format!("{e:#}")))
    }

    async fn pipeline(
        &mut self,
        params: &str,
        depth: usize,
        more: &(dyn Fn(u64) -> bool + Send + Sync),
        answered: &(dyn Fn() + Send + Sync),
        samples: &mut Vec<u64>,
    ) -> anyhow::Result<()> {
        let mut sent: HashMap<u64, Instant> = HashMap::with_capacity(depth);
        let (mut issued, mut out, mut line) = (0u64, String::new(), String::new());
        loop {
            while sent.len() < depth && more(issued) {
                self.next_id += 1;
                let id = self.next_id;
                let _ = writeln!(
                    out,
                    "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/call\",\"params\":{params}}}"
                );
                sent.insert(id, Instant::now());
                issued += 1;
            }
            if !out.is_empty() {
                self.writer.write_all(out.as_bytes()).await?;
                self.writer.flush().await?;
                out.clear();
            }
            if sent.is_empty() {
                return Ok(());
            }
            // At least one line, then every whole line already buffered.
            loop {
                line.clear();
                if self.reader.read_line(&mut line).await? == 0 {
                    bail!("the server closed the connection");
                }
                let reply: Reply = serde_json::from_str(&line).context("the server sent invalid JSON")?;
                if reply.method.is_none() {
                    let id = reply.id.as_u64().context("an answer without a numeric id")?;
                    let at = sent.remove(&id).context("an answer to no request in flight")?;
                    if let Some(error) = reply.error {
                        bail!("tools/call failed: {error}");
                    }
                    if reply.result.is_some_and(|r| r.is_error) {
                        bail!("the tool reported an error");
                    }
                    samples.push(at.elapsed().as_micros() as u64);
                    answered();
                }
                if !self.reader.buffer().contains(&b'\n') {
                    break;
                }
            }
        }
    }

    /// Closes the connection; for a child (stdio), closes its stdin and
    /// waits up to `grace` for it to exit by itself before killing it.
    pub(crate) async fn close(self, grace: Duration) {
        let Self {
            reader,
            writer,
            _child: child,
            ..
        } = self;
        drop(writer);
        drop(reader);
        if let Some(mut child) = child {
            let _ = tokio::time::timeout(grace, child.wait()).await;
        }
    }

    /// Reads and discards whatever the server sends, until it closes.
    pub(crate) async fn drain(mut self) {
        let mut line = String::new();
        while matches!(self.reader.read_line(&mut line).await, Ok(n) if n > 0) {
            line.clear();
        }
    }
}
