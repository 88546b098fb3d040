//! A session over Streamable HTTP: one keep-alive HTTP/1.1 connection, a
//! POST per message, the answer read from a JSON body or an SSE stream.
//!
//! 2025 versions: `initialize`, then every POST carries `Mcp-Session-Id`
//! and `MCP-Protocol-Version`. 2026-07-28: no session; every POST carries
//! `MCP-Protocol-Version`, `Mcp-Method` and (for `tools/call`) `Mcp-Name`.

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::reply::Reply;

/// One session's HTTP connection.
pub(crate) struct HttpConn {
    sender: SendRequest<Full<Bytes>>,
    uri: Uri,
    host: String,
    /// `Mcp-Session-Id` (2025), once `initialize` has answered.
    pub(crate) session: Option<String>,
    protocol: String,
    /// `Mcp-Name` of every `tools/call` (2026-07-28).
    tool: String,
    /// `Authorization` of every request, with `--bearer-file`.
    authorization: Option<http::HeaderValue>,
    next_id: u64,
}

impl HttpConn {
    /// Opens the connection, without a handshake.
    pub(crate) async fn connect(
        url: &str,
        protocol: &str,
        tool: &str,
        bearer: Option<&str>,
    ) -> anyhow::Result<Self> {
        let authorization = bearer
            .map(|token| http::HeaderValue::from_str(&format!("Bearer {token}")))
            .transpose()
            .context("the bearer token is not a header value")?;
        let uri: Uri = url.parse().context("--http is not a URL")?;
        let host = uri.authority().context("--http has no host")?.to_string();
        let port = uri.port_u16().unwrap_or(80);
        let address = format!("{}:{port}", uri.host().context("--http has no host")?);
        let stream = TcpStream::connect(&address).await.context("connect")?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake")?;
        tokio::spawn(connection);
        Ok(Self {
            sender,
            uri,
            host,
            session: None,
            protocol: protocol.to_owned(),
            tool: tool.to_owned(),
            authorization,
            next_id: 0,
        })
    }

    fn stateless(&self) -> bool {
        self.protocol.as_str() >= "2026-07-28"
    }

    /// POSTs one message; the HTTP status and the body, with the answer's
    /// JSON pulled out of an SSE stream when the server streams it.
    async fn post(&mut self, method: &str, body: String) -> anyhow::Result<(u16, Bytes, Option<String>)> {
        let mut request = Request::post(self.uri.clone())
            .header(header::HOST, &self.host)
            .header(header::ACCEPT, "application/json, text/event-stream")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(authorization) = &self.authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        if self.stateless() {
            request = request
                .header("mcp-protocol-version", &self.protocol)
                .header("mcp-method", method);
            if method == "tools/call" {
                request = request.header("mcp-name", &self.tool);
            }
        } else if let Some(session) = &self.session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", &self.protocol);
        }
        let request = request.body(Full::new(Bytes::from(body)))?;
        self.sender.ready().await.context("the connection closed")?;
        let response = self.sender.send_request(request).await.context("POST")?;
        let status = response.status().as_u16();
        let session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let streamed = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let body = response
            .into_body()
            .collect()
            .await
            .context("read the body")?
            .to_bytes();
        let body = if streamed { last_answer(&body) } else { body };
        Ok((status, body, session))
    }

    /// Sends a request with its params already encoded; its answer.
    pub(crate) async fn request_raw(&mut self, method: &str, params: &str) -> anyhow::Result<Reply> {
        self.next_id += 1;
        let id = self.next_id;
        let body = format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"{method}\",\"params\":{params}}}");
        let (status, body, session) = self.post(method, body).await?;
        if method == "initialize" {
            self.session = session;
        }
        if body.is_empty() {
            bail!("HTTP {status} without a body");
        }
        serde_json::from_slice(&body)
            .with_context(|| format!("HTTP {status}: the body is not a JSON-RPC answer"))
    }

    /// Ends a 2025 session with a DELETE (expects 2xx); nothing for a
    /// stateless one.
    pub(crate) async fn delete(mut self) -> anyhow::Result<()> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        let mut request = Request::delete(self.uri.clone())
            .header(header::HOST, &self.host)
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", &self.protocol);
        if let Some(authorization) = &self.authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        let request = request.body(Full::new(Bytes::new()))?;
        self.sender.ready().await.context("the connection closed")?;
        let response = self.sender.send_request(request).await.context("DELETE")?;
        let status = response.status();
        let _ = response.into_body().collect().await;
        if !status.is_success() {
            bail!("DELETE: HTTP {status}");
        }
        Ok(())
    }

    /// Sends a notification (expects 202).
    pub(crate) async fn notify(&mut self, method: &str) -> anyhow::Result<()> {
        let body = format!("{{\"jsonrpc\":\"2.0\",\"method\":\"{method}\"}}");
        let (status, _, _) = self.post(method, body).await?;
        if status != 202 {
            bail!("{method}: HTTP {status}, not 202");
        }
        Ok(())
    }
}

/// The last `data:` of an SSE body that is an answer (has an `id` and no
/// `method`); empty if there is none.
fn last_answer(body: &[u8]) -> Bytes {
    let text = String::from_utf8_lossy(body);
    text.lines()
        .rev()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(str::trim)
        .find(|data| data.contains("\"id\"") && !data.contains("\"method\""))
        .map(|data| Bytes::copy_from_slice(data.as_bytes()))
        .unwrap_or_default()
}
