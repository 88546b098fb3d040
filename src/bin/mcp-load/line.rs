//! A session over a byte stream (TCP, or a child's stdin/stdout): one
//! JSON-RPC message per line.

use std::process::Stdio;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::args::Args;
use crate::conn::Reply;

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

    /// Reads and discards whatever the server sends, until it closes.
    pub(crate) async fn drain(mut self) {
        let mut line = String::new();
        while matches!(self.reader.read_line(&mut line).await, Ok(n) if n > 0) {
            line.clear();
        }
    }
}
