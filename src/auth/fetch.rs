//! Outbound HTTP for verifiers: one bounded request to an authorization
//! server (its metadata, its keys, its introspection endpoint), over the
//! hyper client already in the tree, with rustls for `https` (feature
//! `tls`; without it, only `http` issuers on loopback can be reached).
//!
//! Bounded: the whole exchange (connect, TLS, headers, body) within the
//! timeout, the body within the byte limit, no redirects followed. Plain
//! `http` only to a loopback host unless the verifier allows it. Nothing
//! a client sent is ever passed on.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
#[cfg(feature = "tls")]
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::net::TcpStream;

use super::config::is_loopback;
#[cfg(feature = "tls")]
use crate::sync::Arc;

/// Where and how a verifier may fetch.
#[derive(Clone)]
pub(crate) struct Fetcher {
    pub(crate) timeout: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) allow_http: bool,
    #[cfg(feature = "tls")]
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("timeout", &self.timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("allow_http", &self.allow_http)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// Checks `https` servers against the webpki roots and `extra_roots`
    /// (DER certificates).
    pub(crate) fn new(extra_roots: &[Vec<u8>]) -> Result<Self, String> {
        if !cfg!(feature = "tls") && !extra_roots.is_empty() {
            return Err("root certificates need the `tls` feature".to_owned());
        }
        Ok(Self {
            timeout: Duration::from_secs(5),
            max_body_bytes: 256 * 1024,
            allow_http: false,
            #[cfg(feature = "tls")]
            tls: Arc::new(client_tls(extra_roots)?),
        })
    }

    /// True if `url` may be fetched (`https`, or `http` on loopback or
    /// when allowed).
    pub(crate) fn check(&self, url: &str) -> Result<Uri, String> {
        let uri: Uri = url.parse().map_err(|_| format!("{url:?} is not a URI"))?;
        match (uri.scheme_str(), uri.host()) {
            (Some("https"), Some(_)) if cfg!(feature = "tls") => Ok(uri),
            (Some("https"), Some(_)) => Err(format!("{url:?} is https, which needs the `tls` feature")),
            (Some("http"), Some(host)) if self.allow_http || is_loopback(host) => Ok(uri),
            (Some("http"), Some(_)) => Err(format!("{url:?} is plain http to a host that is not loopback")),
            _ => Err(format!("{url:?} is not an absolute http(s) URI")),
        }
    }

    /// GETs `url` and parses its JSON body; any status but 200 is an
    /// error.
    pub(crate) async fn get_json(&self, url: &str) -> Result<Value, String> {
        self.json(Method::GET, url, None, None).await
    }

    /// POSTs `form` (`application/x-www-form-urlencoded`) to `url`, with
    /// `authorization` if given, and parses the JSON answer.
    pub(crate) async fn post_form(
        &self,
        url: &str,
        form: String,
        authorization: Option<&str>,
    ) -> Result<Value, String> {
        self.json(Method::POST, url, Some(form), authorization).await
    }

    async fn json(
        &self,
        method: Method,
        url: &str,
        form: Option<String>,
        auth: Option<&str>,
    ) -> Result<Value, String> {
        let uri = self.check(url)?;
        let exchange = self.exchange(method, &uri, form, auth);
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| format!("{url} did not answer within {} ms", self.timeout.as_millis()))??;
        if status != StatusCode::OK {
            return Err(format!("{url} answered {status}"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("{url} answered with a body that is not JSON: {e}"))
    }

    async fn exchange(
        &self,
        method: Method,
        uri: &Uri,
        form: Option<String>,
        auth: Option<&str>,
    ) -> Result<(StatusCode, Bytes), String> {
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let https = uri.scheme_str() == Some("https");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("connecting to {host}:{port}: {e}"))?;
        let mut request = Request::builder()
            .method(method)
            .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(header::HOST, uri.authority().map_or(host, |a| a.as_str()))
            .header(header::ACCEPT, "application/json")
            .header(
                header::USER_AGENT,
                concat!("mcp-server-core/", env!("CARGO_PKG_VERSION")),
            );
        if form.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        if let Some(auth) = auth {
            request = request.header(header::AUTHORIZATION, auth);
        }
        let request = request
            .body(Full::new(Bytes::from(form.unwrap_or_default())))
            .map_err(|e| format!("a request to {uri}: {e}"))?;
        #[cfg(feature = "tls")]
        if https {
            let name = ServerName::try_from(host.to_owned()).map_err(|e| format!("{host}: {e}"))?;
            let tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS with {host}:{port}: {e}"))?;
            return self.send(TokioIo::new(tls), request).await;
        }
        self.send(TokioIo::new(tcp), request).await
    }

    async fn send<I>(&self, io: I, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), String>
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        // Ends with this exchange, also when the timeout drops it.
        let _connection = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(connection));
        async {
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| format!("HTTP: {e}"))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), self.max_body_bytes)
                .collect()
                .await
                .map_err(|e| format!("the body (at most {} bytes): {e}", self.max_body_bytes))?;
            Ok((status, body.to_bytes()))
        }
        .await
    }
}

/// The client side of TLS: the webpki roots and `extra_roots` (DER).
#[cfg(feature = "tls")]
fn client_tls(extra_roots: &[Vec<u8>]) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for root in extra_roots {
        roots
            .add(CertificateDer::from(root.clone()))
            .map_err(|e| format!("a root certificate: {e}"))?;
    }
    // `ring`, as for the server side (transport/tls.rs says why).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
