//! The metrics a user can scrape: `GET /metrics` on a listener of its own
//! (`Server::serve_metrics`) and on the MCP HTTP listener
//! (`HttpConfig::metrics_endpoint`), in the OpenMetrics text format, read
//! back by a strict reader and checked against what the test did.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use http::{Method, StatusCode};
use mcp_server_core::config::HttpConfig;
use mcp_server_core::transport::tcp;
use mcp_server_core::{Server, ServerConfig};
use serde_json::json;
use support::http::{Session, send_to, stateless};
use support::openmetrics::{Scrape, parse};
use support::{Client, HANG, wait_until};
use tokio::task::JoinHandle;

struct Served {
    server: Server,
    tcp: SocketAddr,
    http: SocketAddr,
    metrics: SocketAddr,
    joins: Vec<JoinHandle<()>>,
}

async fn bind() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tcp::bind("127.0.0.1:0".parse().unwrap(), 128).await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// One server over TCP and HTTP (with `/metrics` on), and a metrics listener.
async fn serve() -> Served {
    let config = ServerConfig::default()
        .request_timeout(Duration::from_millis(300))
        .http(HttpConfig::default().metrics_endpoint(true));
    let server = Server::builder().config(config).builtin_tools().build();
    let (tcp_listener, tcp) = bind().await;
    let (http_listener, http) = bind().await;
    let (metrics_listener, metrics) = bind().await;
    let joins = vec![
        tokio::spawn({
            let s = server.clone();
            async move {
                s.serve_tcp(tcp_listener).await;
            }
        }),
        tokio::spawn({
            let s = server.clone();
            async move {
                s.serve_http(http_listener).await;
            }
        }),
        tokio::spawn({
            let s = server.clone();
            async move { s.serve_metrics(metrics_listener).await }
        }),
    ];
    Served {
        server,
        tcp,
        http,
        metrics,
        joins,
    }
}

async fn scrape_at(addr: SocketAddr, path: &str) -> (StatusCode, String, String) {
    let open = send_to(addr, path, Method::GET, &[], "").await;
    let status = open.status;
    let content_type = open
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = String::from_utf8(open.bytes().await.to_vec()).expect("UTF-8");
    (status, content_type, body)
}

async fn scrape(addr: SocketAddr) -> Scrape {
    let (status, content_type, body) = scrape_at(addr, "/metrics").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    parse(&body).unwrap_or_else(|e| panic!("not OpenMetrics: {e}\n{body}"))
}

#[tokio::test]
async fn a_scrape_reads_back_what_the_server_did() {
    let s = serve().await;
    let mut client = Client::connect(s.tcp).await;
    client.initialize().await;
    for i in 0..5 {
        let answer = client.call(10 + i, "echo", json!({"text": "hi"})).await;
        assert_eq!(answer["result"]["content"][0]["text"], "hi");
    }
    // An error answered at once, an invalid line, a timed-out call and a
    // cancelled one.
    let unknown = client.request(20, "no/such", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601);
    client.send_raw(b"{not json\n").await;
    assert_eq!(client.recv().await.expect("an answer")["error"]["code"], -32700);
    let slow = client.call(21, "sleep", json!({"ms": 5_000})).await;
    assert_eq!(slow["error"]["code"], -32001, "{slow}");
    client
        .send(&json!({"jsonrpc": "2.0", "id": 22, "method": "tools/call",
                       "params": {"name": "sleep", "arguments": {"ms": 5_000}}}))
        .await;
    wait_until("the sleep to run", || {
        s.server.handle().metrics().requests_in_flight == 1
    })
    .await;
    client
        .notify("notifications/cancelled", json!({"requestId": 22}))
        .await;
    wait_until("the cancel", || {
        s.server.handle().metrics().requests_in_flight == 0
    })
    .await;
    // A stateless call over HTTP and a 2025 HTTP session.
    let open = stateless(
        s.http,
        "tools/call",
        Some("echo"),
        json!({"name": "echo", "arguments": {"text": "x"}}),
    )
    .await;
    assert_eq!(open.status, StatusCode::OK);
    let http_session = Session::start(s.http).await;
    // A TCP client that speaks 2026-07-28 (no handshake).
    let mut stateless_client = Client::connect(s.tcp).await;
    let listed = stateless_client
        .request(1, "tools/list", support::stateless(json!({})))
        .await;
    assert!(listed["result"]["tools"].is_array(), "{listed}");

    let m = scrape(s.metrics).await;
    let calls = |outcome| {
        m.value(
            "mcp_requests_total",
            &[("method", "tools/call"), ("outcome", outcome)],
        )
    };
    assert_eq!(calls("ok"), 6.0);
    assert_eq!(calls("timed_out"), 1.0);
    assert_eq!(calls("cancelled"), 1.0);
    assert_eq!(calls("error"), 0.0);
    assert_eq!(
        m.value("mcp_requests_total", &[("method", "other"), ("outcome", "error")]),
        1.0
    );
    assert_eq!(
        m.value(
            "mcp_requests_total",
            &[("method", "initialize"), ("outcome", "ok")]
        ),
        2.0
    );
    // Every request received has ended in exactly one outcome.
    assert_eq!(
        m.sum("mcp_requests_total"),
        m.value("mcp_requests_received_total", &[])
    );
    assert_eq!(m.value("mcp_messages_invalid_total", &[]), 1.0);
    assert_eq!(m.value("mcp_requests_in_flight", &[]), 0.0);

    // The histogram: answered calls only (the cancelled one has no
    // latency), cumulative buckets ending at the count.
    let count = m.value("mcp_handler_duration_seconds_count", &[("method", "tools/call")]);
    assert_eq!(count, 7.0);
    let mut buckets: Vec<(f64, f64)> = m
        .all("mcp_handler_duration_seconds_bucket")
        .into_iter()
        .filter(|b| b.labels["method"] == "tools/call")
        .map(|b| {
            let le = match b.labels["le"].as_str() {
                "+Inf" => f64::INFINITY,
                le => le.parse().unwrap(),
            };
            (le, b.value)
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{buckets:?}");
    assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, count));
    // The timed-out call took at least its 300 ms.
    let sum = m.value("mcp_handler_duration_seconds_sum", &[("method", "tools/call")]);
    assert!(sum >= 0.3, "{sum}");
    let under_250ms = buckets.iter().find(|b| b.0 == 0.25).unwrap().1;
    assert_eq!(under_250ms, 6.0, "{buckets:?}");

    // Sessions by version: the TCP client and the HTTP session; the TCP
    // client that spoke 2026-07-28.
    assert_eq!(
        m.value("mcp_sessions", &[("protocol_version", "2025-11-25")]),
        2.0
    );
    assert_eq!(
        m.value("mcp_sessions", &[("protocol_version", "2026-07-28")]),
        1.0
    );
    assert_eq!(m.value("mcp_sessions_admitted_total", &[]), 3.0);
    assert_eq!(
        m.value("mcp_admission_permits_available", &[]),
        m.value("mcp_admission_permits", &[]) - 3.0
    );
    assert!(m.value("mcp_http_connections_total", &[]) >= 3.0);
    assert!(m.value("mcp_http_responses_total", &[("status", "200")]) >= 2.0);
    assert_eq!(m.value("mcp_outbox_queued_messages", &[]), 0.0);
    assert_eq!(m.types["mcp_handler_duration_seconds"], "histogram");
    // One process with the in-process bus has no shared bus to count
    // (catches `EventBus::metrics`'s default made `Some(Default)`).
    assert!(
        m.types.keys().all(|family| !family.starts_with("mcp_bus_")),
        "{:?}",
        m.types
            .keys()
            .filter(|f| f.starts_with("mcp_bus"))
            .collect::<Vec<_>>()
    );

    // The same text on the MCP listener.
    let on_mcp = scrape(s.http).await;
    assert_eq!(
        on_mcp.value(
            "mcp_requests_total",
            &[("method", "tools/call"), ("outcome", "ok")]
        ),
        6.0
    );
    assert_eq!(http_session.delete().await, StatusCode::OK);
    drop(client);
    drop(stateless_client);
    wait_until("sessions to end", || s.server.handle().sessions().is_empty()).await;
    let after = scrape(s.metrics).await;
    assert!(
        after.all("mcp_sessions").is_empty(),
        "{:?}",
        after.all("mcp_sessions")
    );
    assert_eq!(
        after.value("mcp_admission_permits_available", &[]),
        after.value("mcp_admission_permits", &[])
    );
    stop(s).await;
}

#[tokio::test]
async fn the_metrics_endpoints_refuse_what_they_do_not_serve() {
    let s = serve().await;
    let (status, _, _) = scrape_at(s.metrics, "/other").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let open = send_to(s.metrics, "/metrics", Method::POST, &[], "").await;
    assert_eq!(open.status, StatusCode::METHOD_NOT_ALLOWED);
    // On the MCP listener, the Host check applies (DNS rebinding).
    let open = send_to(
        s.http,
        "/metrics",
        Method::GET,
        &[("host", "evil.example.com")],
        "",
    )
    .await;
    assert_eq!(open.status, StatusCode::FORBIDDEN);
    stop(s).await;

    // Off by default on the MCP listener.
    let server = Server::builder().builtin_tools().build();
    let (listener, addr) = bind().await;
    let handle = server.handle();
    let join = tokio::spawn(async move { server.serve_http(listener).await });
    let (status, _, _) = scrape_at(addr, "/metrics").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    handle.shutdown();
    tokio::time::timeout(HANG, join).await.unwrap().unwrap();
}

async fn stop(s: Served) {
    s.server.handle().shutdown();
    for join in s.joins {
        tokio::time::timeout(HANG, join)
            .await
            .expect("every listener stops after shutdown")
            .unwrap();
    }
}

#[test]
fn the_reader_refuses_what_is_not_openmetrics() {
    let good = "# TYPE a counter\na_total 1\n# TYPE g gauge\ng{x=\"1\"} 2\n# EOF\n";
    assert_eq!(parse(good).expect("valid").value("g", &[("x", "1")]), 2.0);
    for bad in [
        "a_total 1\n# EOF\n",                              // no family
        "# TYPE a counter\na_total 1\n",                   // no EOF
        "# TYPE a counter\na_total one\n# EOF\n",          // bad value
        "# TYPE a counter\na_total 1\na_total 1\n# EOF\n", // twice
        "# TYPE a counter\na 1\n# EOF\n",                  // counter without _total
    ] {
        assert!(parse(bad).is_err(), "{bad:?} was accepted");
    }
}
