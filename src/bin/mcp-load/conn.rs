//! One session of the generator, whatever carries it: its handshake (or,
//! at 2026-07-28, `server/discover`), its calls, and what it reads of the
//! server's answers.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::args::Args;
use crate::http::HttpConn;
use crate::line::LineConn;
use crate::reply::Reply;

/// How long a stdio server may take to exit once its stdin is closed
/// (under a profiler it writes its output then) before it is killed.
const CHILD_EXIT_GRACE: Duration = Duration::from_secs(120);

/// The `_meta` of a 2026-07-28 request.
pub(crate) fn meta(protocol: &str) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": protocol,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "mcp-load", "version": env!("CARGO_PKG_VERSION")}
    })
}

/// A session, on a line transport or on HTTP.
pub(crate) enum Conn {
    Line(LineConn, String),
    Http(HttpConn, String),
}

/// How opening a session went.
pub(crate) enum Opened {
    Admitted(Box<Conn>, Duration),
    Rejected,
}

impl Conn {
    /// Connects and completes the handshake (or discovery).
    pub(crate) async fn open(args: &Args) -> anyhow::Result<Opened> {
        let started = Instant::now();
        let protocol = args.protocol.clone();
        let mut conn = match &args.http {
            Some(url) => {
                let bearer = match &args.bearer_file {
                    Some(path) => Some(
                        std::fs::read_to_string(path)
                            .with_context(|| format!("reading {}", path.display()))?
                            .trim()
                            .to_owned(),
                    ),
                    None => None,
                };
                let conn = HttpConn::connect(url, &protocol, &args.tool, bearer.as_deref()).await?;
                Conn::Http(conn, protocol.clone())
            }
            None => Conn::Line(LineConn::connect(args).await?, protocol.clone()),
        };
        let first = if conn.stateless() {
            let params = json!({"_meta": meta(&protocol)}).to_string();
            conn.request_raw("server/discover", &params).await?
        } else {
            let params = json!({
                "protocolVersion": protocol,
                "capabilities": {},
                "clientInfo": {"name": "mcp-load", "version": env!("CARGO_PKG_VERSION")}
            })
            .to_string();
            conn.request_raw("initialize", &params).await?
        };
        if let Some(error) = first.error {
            if error["code"] == -32000 {
                return Ok(Opened::Rejected);
            }
            bail!("handshake refused: {error}");
        }
        let connected = started.elapsed();
        if !conn.stateless() {
            match &mut conn {
                Conn::Line(line, _) => {
                    line.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
                        .await?;
                }
                Conn::Http(http, _) => http.notify("notifications/initialized").await?,
            }
        }
        Ok(Opened::Admitted(Box::new(conn), connected))
    }

    /// The protocol version the session speaks.
    pub(crate) fn protocol(&self) -> &str {
        match self {
            Conn::Line(_, protocol) | Conn::Http(_, protocol) => protocol,
        }
    }

    /// True at 2026-07-28 and later: no handshake, `_meta` on every call.
    pub(crate) fn stateless(&self) -> bool {
        self.protocol() >= "2026-07-28"
    }

    async fn request_raw(&mut self, method: &str, params: &str) -> anyhow::Result<Reply> {
        match self {
            Conn::Line(line, _) => line.request_raw(method, params).await,
            Conn::Http(http, _) => http.request_raw(method, params).await,
        }
    }

    /// One `tools/call` with its params already encoded.
    pub(crate) async fn call(&mut self, params: &str) -> anyhow::Result<()> {
        let reply = self.request_raw("tools/call", params).await?;
        if let Some(error) = reply.error {
            bail!("tools/call failed: {error}");
        }
        if reply.result.is_some_and(|r| r.is_error) {
            bail!("the tool reported an error");
        }
        Ok(())
    }

    /// Ends the session (see [`LineConn::close`]; a 2025 HTTP session is
    /// deleted), ignoring a failure.
    pub(crate) async fn close(self) {
        let _ = self.end().await;
    }

    /// Ends the session; an error if a 2025 HTTP session's DELETE failed.
    pub(crate) async fn end(self) -> anyhow::Result<()> {
        match self {
            Conn::Line(line, _) => {
                line.close(CHILD_EXIT_GRACE).await;
                Ok(())
            }
            Conn::Http(http, _) => http.delete().await,
        }
    }

    /// Keeps the session open, reading and discarding whatever a line
    /// transport's server sends, until it closes (an HTTP session just
    /// stays open).
    pub(crate) async fn drain(self) {
        match self {
            Conn::Line(line, _) => line.drain().await,
            Conn::Http(http, _) => {
                std::future::pending::<()>().await;
                drop(http);
            }
        }
    }

    /// The transport's name, for the report.
    pub(crate) fn transport(args: &Args) -> &'static str {
        match (&args.tcp, &args.http) {
            (Some(_), _) => "tcp",
            (None, Some(_)) => "http",
            (None, None) => "stdio",
        }
    }
}
