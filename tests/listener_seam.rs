//! The listener seam with a listener of the test's own, over in-memory
//! streams: line sessions, Streamable HTTP and the metrics endpoint all
//! accept through the one accept loop, which counts and backs off from
//! accept errors, and stops on shutdown; and a Unix domain socket through
//! the library, whose file is gone once the server has stopped; and TLS
//! around a listener of the test's own that runs out of descriptors.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::io;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mcp_server_core::transport::listener::UnixListener;
use mcp_server_core::{Listener, Server};
use serde_json::{Value, json};
use support::{HANG, ask_line};
use tokio::io::{BufReader, DuplexStream};
use tokio::sync::mpsc;

/// A listener that fails its first `failures` accepts (as a process out of
/// descriptors does), then hands out the streams it is given.
struct Memory {
    failures: usize,
    incoming: mpsc::Receiver<DuplexStream>,
}

impl Listener for Memory {
    type Io = DuplexStream;
    type Addr = &'static str;

    async fn accept(&mut self) -> io::Result<(DuplexStream, &'static str)> {
        if self.failures > 0 {
            self.failures -= 1;
            return Err(io::Error::from_raw_os_error(24)); // EMFILE
        }
        match self.incoming.recv().await {
            Some(stream) => Ok((stream, "memory")),
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<&'static str> {
        Ok("memory")
    }
}

/// A listener with `failures` failing accepts, and the end to connect with.
fn memory(failures: usize) -> (Memory, mpsc::Sender<DuplexStream>) {
    let (tx, incoming) = mpsc::channel(4);
    (Memory { failures, incoming }, tx)
}

/// A new in-memory connection to `listener`'s server.
async fn connect(to: &mpsc::Sender<DuplexStream>) -> DuplexStream {
    let (client, server) = tokio::io::duplex(64 * 1024);
    to.send(server).await.expect("the listener is there");
    client
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}}})
}

/// One HTTP/1.1 request on `stream`; the status and the whole body.
async fn http_over(stream: DuplexStream, request: http::Request<Full<Bytes>>) -> (http::StatusCode, Bytes) {
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    tokio::spawn(conn);
    let response = tokio::time::timeout(HANG, sender.send_request(request))
        .await
        .expect("an answer in time")
        .unwrap();
    let status = response.status();
    (status, response.into_body().collect().await.unwrap().to_bytes())
}

#[tokio::test]
async fn line_sessions_on_a_listener_of_ones_own_survive_accept_errors() {
    let server = Server::builder().builtin_tools().build();
    let handle = server.handle();
    let (listener, to) = memory(3);
    let serving = tokio::spawn(async move { server.serve_lines(listener).await });
    let mut client = BufReader::new(connect(&to).await);
    let answer = ask_line(&mut client, &initialize()).await;
    assert_eq!(answer["result"]["protocolVersion"], "2025-11-25");
    let echo = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "in memory"}}});
    let answer = ask_line(&mut client, &echo).await;
    assert_eq!(answer["result"]["content"][0]["text"], "in memory");
    assert_eq!(handle.metrics().accept_errors, 3);
    handle.shutdown();
    let report = tokio::time::timeout(HANG, serving)
        .await
        .expect("shutdown in time")
        .unwrap();
    assert_eq!(report.sessions_closed, 1);
}

#[tokio::test]
async fn http_on_a_listener_of_ones_own_without_a_watch() {
    let server = Server::builder().builtin_tools().build();
    let handle = server.handle();
    let (listener, to) = memory(2);
    let serving = tokio::spawn(async move { server.serve_http(listener).await });
    let request = http::Request::post("/mcp")
        .header("host", "localhost")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(initialize().to_string())))
        .unwrap();
    let (status, body) = http_over(connect(&to).await, request).await;
    assert_eq!(status, http::StatusCode::OK);
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["result"]["protocolVersion"], "2025-11-25");
    assert_eq!(handle.metrics().accept_errors, 2);
    handle.shutdown();
    let report = tokio::time::timeout(HANG, serving)
        .await
        .expect("shutdown in time")
        .unwrap();
    assert_eq!(report.sessions_closed, 1);
}

#[tokio::test]
async fn the_metrics_endpoint_on_a_listener_of_ones_own() {
    let server = Server::builder().build();
    let handle = server.handle();
    let (listener, to) = memory(1);
    let serving = tokio::spawn(async move { server.serve_metrics(listener).await });
    let request = http::Request::get("/metrics")
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, body) = http_over(connect(&to).await, request).await;
    assert_eq!(status, http::StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("mcp_accept_errors_total 1"));
    handle.shutdown();
    tokio::time::timeout(HANG, serving)
        .await
        .expect("shutdown in time")
        .unwrap();
}

#[tokio::test]
async fn a_unix_socket_serves_line_sessions_and_is_removed_when_the_server_stops() {
    let path = std::env::temp_dir().join(format!("mcp-seam-{}.sock", std::process::id()));
    let listener = UnixListener::bind(&path).expect("bind a Unix socket");
    let server = Server::builder().builtin_tools().build();
    let handle = server.handle();
    let serving = tokio::spawn(async move { server.serve_lines(listener).await });
    let stream = tokio::net::UnixStream::connect(&path).await.expect("connect");
    let mut client = BufReader::new(stream);
    let answer = ask_line(&mut client, &initialize()).await;
    assert_eq!(answer["result"]["protocolVersion"], "2025-11-25");
    handle.shutdown();
    let report = tokio::time::timeout(HANG, serving)
        .await
        .expect("shutdown in time")
        .unwrap();
    assert_eq!(report.sessions_closed, 1);
    assert!(!path.exists(), "the socket file is removed with the listener");
}

#[tokio::test]
async fn a_stale_socket_file_is_replaced_and_any_other_file_is_left_alone() {
    let dir = std::env::temp_dir();
    let stale = dir.join(format!("mcp-stale-{}.sock", std::process::id()));
    // A socket whose listener is gone (std's listener leaves the file).
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let listener = UnixListener::bind(&stale).expect("a stale socket is replaced");
    drop(listener);
    assert!(!stale.exists());
    let plain = dir.join(format!("mcp-plain-{}.txt", std::process::id()));
    std::fs::write(&plain, "keep me").unwrap();
    assert!(
        UnixListener::bind(&plain).is_err(),
        "an ordinary file is not replaced"
    );
    assert_eq!(std::fs::read_to_string(&plain).unwrap(), "keep me");
    std::fs::remove_file(&plain).unwrap();
}

/// TLS over the seam: the inner listener's accept errors reach the accept
/// loop through `TlsListener` (counted, backed off), a line session runs
/// over a real handshake (a certificate made here with `openssl`), and
/// shutdown ends it in time.
#[cfg(feature = "tls")]
mod tls {
    use std::process::{Command, Stdio};
    use std::sync::Arc;

    use mcp_server_core::Server;
    use mcp_server_core::transport::tls::{TlsConfig, TlsListener};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use serde_json::json;
    use tokio::io::BufReader;

    use super::support::{HANG, ask_line};
    use super::{connect, initialize, memory};

    /// A self-signed certificate for `localhost` and its key, as PEM files
    /// in a fresh directory.
    fn certificate() -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("mcp-seam-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let made = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
            ])
            .args([
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost",
            ])
            // An end-entity certificate that is its own trust anchor.
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(made.success(), "openssl made the certificate");
        (cert, key)
    }

    #[tokio::test]
    async fn tls_over_a_listener_out_of_descriptors_serves_and_stops() {
        let (cert, key) = certificate();
        let config = TlsConfig::from_pem_files(&cert, &key).expect("the certificate and key load");
        let (inner, to) = memory(3);
        let server = Server::builder().builtin_tools().build();
        let handle = server.handle();
        let serving = tokio::spawn(async move { server.serve_lines(TlsListener::new(inner, &config)).await });

        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_file(&cert).unwrap()).unwrap();
        // The provider the server's own configuration uses (`transport::tls`).
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let name = ServerName::try_from("localhost").unwrap();
        let stream = tokio::time::timeout(HANG, connector.connect(name, connect(&to).await))
            .await
            .expect("a handshake in time")
            .expect("the handshake succeeds");
        let mut stream = BufReader::new(stream);
        let answer = ask_line(&mut stream, &initialize()).await;
        assert_eq!(answer["result"]["protocolVersion"], "2025-11-25");
        let echo = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "over TLS"}}});
        let answer = ask_line(&mut stream, &echo).await;
        assert_eq!(answer["result"]["content"][0]["text"], "over TLS");
        assert_eq!(
            handle.metrics().accept_errors,
            3,
            "each EMFILE counted by the accept loop"
        );

        handle.shutdown();
        let report = tokio::time::timeout(HANG, serving)
            .await
            .expect("shutdown in time")
            .unwrap();
        assert_eq!(report.sessions_closed, 1);
        let _ = std::fs::remove_dir_all(cert.parent().unwrap());
    }
}
