//! `IntrospectionVerifier` against an RFC 7662 endpoint made for the
//! test: opaque tokens it knows, client authentication it checks, and how
//! often it was asked (the verifier caches an accepted answer).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mcp_server_core::auth::IntrospectionVerifier;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::issuer::now;
use super::{Protected, assert_refused};

/// `Basic base64("rs:s3cret")`: the only client allowed to ask.
const CLIENT: &str = "Basic cnM6czNjcmV0";

/// Serves `/introspect` for the opaque tokens in `known`.
async fn endpoint(known: Arc<Mutex<HashMap<String, Value>>>, asked: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/introspect", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (known, asked) = (Arc::clone(&known), Arc::clone(&asked));
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let (known, asked) = (Arc::clone(&known), Arc::clone(&asked));
                    async move {
                        asked.fetch_add(1, Ordering::SeqCst);
                        let authorized = request
                            .headers()
                            .get("authorization")
                            .is_some_and(|v| v == CLIENT);
                        let form = request.into_body().collect().await.unwrap().to_bytes();
                        let form = String::from_utf8_lossy(&form).into_owned();
                        let token = form
                            .split('&')
                            .find_map(|pair| pair.strip_prefix("token="))
                            .unwrap_or_default()
                            .to_owned();
                        let (status, body) = if !authorized {
                            (StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}))
                        } else {
                            let answer = known.lock().unwrap().get(&token).cloned();
                            (StatusCode::OK, answer.unwrap_or_else(|| json!({"active": false})))
                        };
                        let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
                        *response.status_mut() = status;
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

#[tokio::test]
async fn opaque_tokens_are_introspected_with_client_authentication_and_cached() {
    let known = Arc::new(Mutex::new(HashMap::new()));
    let asked = Arc::new(AtomicUsize::new(0));
    let url = endpoint(Arc::clone(&known), Arc::clone(&asked)).await;
    let as_url = url.trim_end_matches("/introspect").to_owned();
    let verifier = |secret: &'static str| {
        let url = url.clone();
        move |resource: &str| IntrospectionVerifier::new(url, "rs", secret, resource).unwrap()
    };
    let server = Protected::start_verified(&as_url, verifier("s3cret"), |h| h).await;
    let claims = |aud: &str, active: bool| {
        json!({"active": active, "sub": "alice", "client_id": "app", "scope": "mcp",
               "aud": aud, "iss": as_url, "exp": now() + 300})
    };
    {
        let mut known = known.lock().unwrap();
        known.insert("good-token".to_owned(), claims(&server.resource, true));
        known.insert("revoked-token".to_owned(), claims(&server.resource, false));
        known.insert(
            "elsewhere-token".to_owned(),
            claims("http://127.0.0.1:1/mcp", true),
        );
    }
    for _ in 0..3 {
        assert_eq!(
            server.call_with("echo", "good-token").await.status,
            StatusCode::OK
        );
    }
    assert_eq!(asked.load(Ordering::SeqCst), 1, "one answer, cached");
    for (token, what) in [
        ("revoked-token", "inactive"),
        ("elsewhere-token", "another audience"),
        ("unknown", "unknown"),
    ] {
        let open = server.call_with("echo", token).await;
        assert_refused(&open, StatusCode::UNAUTHORIZED, Some("invalid_token"), what);
    }
    server.stop().await;
    // A server that introspects with the wrong secret cannot verify: 503.
    let wrong = Protected::start_verified(&as_url, verifier("wrong"), |h| h).await;
    known
        .lock()
        .unwrap()
        .insert("good-token-2".to_owned(), claims(&wrong.resource, true));
    let open = wrong.call_with("echo", "good-token-2").await;
    assert_eq!(open.status, StatusCode::SERVICE_UNAVAILABLE);
    wrong.stop().await;
}
