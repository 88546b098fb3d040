//! What a 2025 HTTP session refuses and how: each refusal's status and
//! body, one admission limit shared with TCP, idle expiry, and a stream
//! that keeps its session alive.

use super::*;

crate::both_runtimes! {
    async fn every_refusal_has_its_status_and_a_json_rpc_body() {
        let config = ServerConfig::default().http(HttpConfig::default().max_body_bytes(2048));
        let server = TestServer::start_http(config, vec![]).await;
        let addr = server.addr;
        let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
        let cases: Vec<Refusal> = vec![
            (
                "Accept without SSE",
                Method::POST,
                vec![
                    ("accept", "application/json"),
                    ("content-type", "application/json"),
                ],
                ping.clone(),
                StatusCode::NOT_ACCEPTABLE,
                Some(-32600),
            ),
            (
                "a body that is not JSON by type",
                Method::POST,
                vec![("accept", client::ACCEPT_BOTH), ("content-type", "text/plain")],
                ping.clone(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some(-32600),
            ),
            (
                "a body over the limit",
                Method::POST,
                vec![
                    ("accept", client::ACCEPT_BOTH),
                    ("content-type", "application/json"),
                ],
                " ".repeat(4096),
                StatusCode::PAYLOAD_TOO_LARGE,
                Some(-32600),
            ),
            (
                "invalid JSON",
                Method::POST,
                vec![
                    ("accept", client::ACCEPT_BOTH),
                    ("content-type", "application/json"),
                ],
                "{nope".into(),
                StatusCode::BAD_REQUEST,
                Some(-32700),
            ),
            (
                "JSON that is not JSON-RPC",
                Method::POST,
                vec![
                    ("accept", client::ACCEPT_BOTH),
                    ("content-type", "application/json"),
                ],
                "[1, 2]".into(),
                StatusCode::BAD_REQUEST,
                Some(-32600),
            ),
            (
                "no session id",
                Method::POST,
                vec![
                    ("accept", client::ACCEPT_BOTH),
                    ("content-type", "application/json"),
                ],
                ping.clone(),
                StatusCode::BAD_REQUEST,
                Some(-32600),
            ),
            (
                "a request without a session id, naming a 2025 version",
                Method::POST,
                vec![
                    ("accept", client::ACCEPT_BOTH),
                    ("content-type", "application/json"),
                    ("mcp-protocol-version", "2025-11-25"),
                ],
                ping.clone(),
                StatusCode::BAD_REQUEST,
                Some(-32600),
            ),
            (
                "a notification without a session id",
                Method::POST,
                vec![
                    ("accept", client::ACCEPT_BOTH),
                    ("content-type", "application/json"),
                    ("mcp-protocol-version", "2025-11-25"),
                ],
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
                StatusCode::BAD_REQUEST,
                Some(-32600),
            ),
            (
                "an unknown session id",
                Method::POST,
                vec![
                    ("accept", client::ACCEPT_BOTH),
                    ("content-type", "application/json"),
                    ("mcp-session-id", "00"),
                ],
                ping.clone(),
                StatusCode::NOT_FOUND,
                Some(-32600),
            ),
            (
                "a Host not allowed",
                Method::POST,
                vec![
                    ("accept", client::ACCEPT_BOTH),
                    ("content-type", "application/json"),
                    ("host", "evil.example.com"),
                ],
                ping.clone(),
                StatusCode::FORBIDDEN,
                Some(-32600),
            ),
            (
                "an Origin not allowed",
                Method::POST,
                vec![
                    ("accept", client::ACCEPT_BOTH),
                    ("content-type", "application/json"),
                    ("origin", "http://evil.example.com"),
                ],
                ping.clone(),
                StatusCode::FORBIDDEN,
                Some(-32600),
            ),
            (
                "GET without a session",
                Method::GET,
                vec![("accept", "text/event-stream")],
                String::new(),
                StatusCode::METHOD_NOT_ALLOWED,
                Some(-32600),
            ),
            (
                "DELETE without a session",
                Method::DELETE,
                vec![],
                String::new(),
                StatusCode::METHOD_NOT_ALLOWED,
                Some(-32600),
            ),
            (
                "GET without a session from a 2025 client",
                Method::GET,
                vec![
                    ("accept", "text/event-stream"),
                    ("mcp-protocol-version", "2025-11-25"),
                ],
                String::new(),
                StatusCode::BAD_REQUEST,
                Some(-32600),
            ),
            (
                "DELETE without a session from a 2025 client",
                Method::DELETE,
                vec![("mcp-protocol-version", "2025-06-18")],
                String::new(),
                StatusCode::BAD_REQUEST,
                Some(-32600),
            ),
            (
                "PUT",
                Method::PUT,
                vec![],
                String::new(),
                StatusCode::METHOD_NOT_ALLOWED,
                Some(-32600),
            ),
        ];
        for (what, method, headers, body, status, code) in cases {
            let response = client::send(addr, method, &headers, &body).await;
            assert_eq!(response.status, status, "{what}");
            assert_eq!(response.headers["content-type"], "application/json", "{what}");
            let body = response.json().await;
            assert_eq!(body["error"]["code"].as_i64(), code, "{what}: {body}");
        }
        // An allowed Origin passes.
        let allowed = client::post(
            addr,
            &[("origin", "http://localhost:3000")],
            &json!({"jsonrpc": "2.0",
            "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"}}}),
        )
        .await;
        assert_eq!(allowed.status, StatusCode::OK);

        // In a session: an unsupported MCP-Protocol-Version header is 400.
        let session = Session::start(addr).await;
        let wrong = client::post(
            addr,
            &[
                ("mcp-session-id", &session.id),
                ("mcp-protocol-version", "1999-01-01"),
            ],
            &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
        )
        .await;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
        server.stop().await;
    }
}

crate::both_runtimes! {
    /// One server serving TCP and HTTP at once has one core and one admission
    /// limit: with `max_sessions = 1` taken by a TCP session, an HTTP
    /// `initialize` is refused (503), and admitted once the TCP session leaves.
    async fn tcp_and_http_share_one_admission_limit() {
        let server = mcp_server_core::Server::builder()
            .config(ServerConfig::default().max_sessions(1))
            .builtin_tools()
            .build();
        let tcp_listener = mcp_server_core::transport::tcp::bind("127.0.0.1:0".parse().unwrap(), 64)
            .await
            .unwrap();
        let http_listener = mcp_server_core::transport::tcp::bind("127.0.0.1:0".parse().unwrap(), 64)
            .await
            .unwrap();
        let (tcp_addr, http_addr) = (
            tcp_listener.local_addr().unwrap(),
            http_listener.local_addr().unwrap(),
        );
        let handle = server.handle();
        let (a, b) = (server.clone(), server.clone());
        let tcp = tokio::spawn(async move { a.serve_tcp(tcp_listener).await });
        let http = tokio::spawn(async move { b.serve_http(http_listener).await });

        let mut over_tcp = support::Client::connect(tcp_addr).await;
        over_tcp.initialize().await;
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
        let refused = client::post(http_addr, &[], &init).await;
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        drop(over_tcp);
        wait_until("the TCP session to leave", || handle.sessions().is_empty()).await;
        let admitted = Session::start(http_addr).await;
        assert_eq!(handle.sessions().len(), 1);
        drop(admitted);
        handle.shutdown();
        tokio::time::timeout(HANG, tcp).await.unwrap().unwrap();
        tokio::time::timeout(HANG, http).await.unwrap().unwrap();
    }
}

crate::both_runtimes! {
    /// A session with no request and no stream for `session_idle_timeout` ends,
    /// and so does one that never finished `initialize`.
    async fn idle_sessions_expire() {
        let idle = Duration::from_millis(200);
        let config = ServerConfig::default().http(HttpConfig::default().session_idle_timeout(idle));
        let server = TestServer::start_http(config, vec![]).await;
        let session = Session::start(server.addr).await;
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
        let half = client::post(server.addr, &[], &init).await; // never sends notifications/initialized
        assert_eq!(half.status, StatusCode::OK);
        assert_eq!(server.handle.sessions().len(), 2);
        wait_until("both sessions to expire", || server.handle.sessions().is_empty()).await;
        let after = session
            .post(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
            .await;
        assert_eq!(after.status, StatusCode::NOT_FOUND);
        assert_eq!(server.handle.available_permits(), 1024, "both permits are back");
        server.stop().await;
    }
}

crate::both_runtimes! {
    /// A session whose standalone stream is open does not expire.
    async fn an_open_stream_keeps_a_session_alive() {
        let idle = Duration::from_millis(100);
        let config = ServerConfig::default().http(HttpConfig::default().session_idle_timeout(idle));
        let server = TestServer::start_http(config, vec![]).await;
        let session = Session::start(server.addr).await;
        let stream = session.listen().await;
        tokio::time::sleep(idle * 5).await;
        assert_eq!(
            server.handle.sessions().len(),
            1,
            "alive while its stream is open"
        );
        drop(stream);
        wait_until("the session to expire", || server.handle.sessions().is_empty()).await;
        server.stop().await;
    }
}
