//! Hostile and broken tokens, each with the answer it must get: 401 with
//! `error="invalid_token"` once a token was presented, 401 without an
//! error when none was, 400 for a request that is itself malformed. No
//! token appears in a log line, the metrics, or an answer.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use http::{Method, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use super::issuer::{self, Issuer, b64, now, sign};
use super::{Protected, assert_refused, challenge};

/// Every log line of this test binary, from the first test that asks.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    Arc::clone(LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Sink(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        buffer
    }))
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_token_is_a_challenge_without_an_error_on_every_method() {
    let issuer = Issuer::start(vec![issuer::key("ec", "k1")]).await;
    let server = Protected::start(&issuer, |b| b).await;
    let post = server.call("echo", &[]).await;
    assert_refused(&post, StatusCode::UNAUTHORIZED, None, "POST");
    assert!(challenge(&post).contains("scope=\"mcp\""), "{}", challenge(&post));
    assert_eq!(post.json().await["error"]["code"], -32600);
    let session = [("mcp-session-id", "anything"), ("accept", "text/event-stream")];
    for method in [Method::GET, Method::DELETE] {
        let open = server.send(method.clone(), "/mcp", &session).await;
        assert_refused(&open, StatusCode::UNAUTHORIZED, None, method.as_str());
    }
    let basic = server
        .call("echo", &[("authorization", "Basic YWxpY2U6c2VjcmV0")])
        .await;
    assert_refused(&basic, StatusCode::UNAUTHORIZED, None, "Basic");
    server.stop().await;
}

#[tokio::test]
async fn malformed_requests_and_tokens_are_refused() {
    let issuer = Issuer::start(vec![issuer::key("ec", "k1")]).await;
    let server = Protected::start(&issuer, |b| b).await;
    let good = server.token(&issuer, &issuer.key(), "mcp");
    for (header, what) in [
        ("Bearer", "empty bearer"),
        ("Bearer ", "blank bearer"),
        ("Bearer a b", "a space"),
    ] {
        let open = server.call("echo", &[("authorization", header)]).await;
        assert_refused(&open, StatusCode::UNAUTHORIZED, Some("invalid_token"), what);
    }
    let bearer = format!("Bearer {good}");
    let two = server
        .call("echo", &[("authorization", &bearer), ("authorization", &bearer)])
        .await;
    assert_refused(
        &two,
        StatusCode::BAD_REQUEST,
        Some("invalid_request"),
        "two headers",
    );
    let query = format!("/mcp?access_token={good}");
    let open = server
        .send(Method::POST, &query, &[("content-type", "application/json")])
        .await;
    assert_refused(
        &open,
        StatusCode::BAD_REQUEST,
        Some("invalid_request"),
        "token in the query",
    );
    // Past the token limit (16 KiB): refused unread, whether hyper's head
    // limit (431) or the bearer parser (401) sees it first.
    for kib in [20, 100] {
        let long = format!("Bearer {}", "a".repeat(kib * 1024));
        let open = server.call("echo", &[("authorization", &long)]).await;
        if open.status != StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE {
            assert_refused(
                &open,
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                "a long token",
            );
        }
    }
    server.stop().await;
}

/// Tokens that are not JWTs, or JWTs that lie about themselves.
#[tokio::test]
async fn forged_and_broken_tokens_are_invalid() {
    let key = issuer::key("rsa", "k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let server = Protected::start(&issuer, |b| b.algorithms([Algorithm::RS256, Algorithm::ES256])).await;
    let claims = server.claims(&issuer, "mcp");
    let body = b64(claims.to_string().as_bytes());
    let stranger = issuer::key("rsa", "k1");
    let hs_with_public = EncodingKey::from_secret(&key.public_pem).unwrap();
    let cases: Vec<(String, &str)> = vec![
        ("garbage".to_owned(), "garbage"),
        ("a.b".to_owned(), "two segments"),
        (format!("!!!.{body}.sig"), "bad base64url"),
        (
            format!("{}.{body}.sig", b64(b"not json")),
            "a header that is not JSON",
        ),
        (format!("{}.{body}.", b64(br#"{"alg":"none"}"#)), "alg none"),
        (
            sign(
                &json!({"alg": "HS256", "kid": "k1"}),
                &claims,
                &hs_with_public,
                Algorithm::HS256,
            ),
            "HS256 with the RSA public key as secret",
        ),
        (
            sign(
                &json!({"alg": "RS512", "kid": "k1"}),
                &claims,
                &key.encoding,
                Algorithm::RS512,
            ),
            "an algorithm outside the allow-list",
        ),
        (
            issuer::token(&stranger, &claims),
            "a known kid signed by another key",
        ),
        (
            sign(
                &json!({"alg": "RS256", "kid": "k1", "crit": ["exp-ext"], "exp-ext": 1}),
                &claims,
                &key.encoding,
                Algorithm::RS256,
            ),
            "an unknown crit header",
        ),
        (
            format!("{}x", issuer::token(&key, &claims)),
            "a tampered signature",
        ),
    ];
    for (token, what) in &cases {
        let open = server.call_with("echo", token).await;
        assert_refused(&open, StatusCode::UNAUTHORIZED, Some("invalid_token"), what);
    }
    server.stop().await;
}

/// Well-signed tokens whose claims are wrong.
#[tokio::test]
async fn claims_are_checked_issuer_audience_and_time() {
    let key = issuer::key("ec", "k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let server = Protected::start(&issuer, |b| b.leeway(std::time::Duration::from_secs(30))).await;
    let good = server.claims(&issuer, "mcp");
    let with = |change: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut claims = good.as_object().unwrap().clone();
        change(&mut claims);
        issuer::token(&key, &Value::Object(claims))
    };
    let other = format!("{}/", issuer.url);
    let resource = server.resource.clone();
    let refused: Vec<(String, &str)> = vec![
        (
            with(&|c| {
                c.insert("iss".into(), json!("http://127.0.0.1:1"));
            }),
            "another issuer",
        ),
        (
            with(&|c| {
                c.remove("iss");
            }),
            "no iss",
        ),
        (
            with(&|c| {
                c.insert("iss".into(), json!(other));
            }),
            "iss with a trailing slash",
        ),
        (
            with(&|c| {
                c.insert("aud".into(), json!("http://127.0.0.1:1/mcp"));
            }),
            "aud for another server",
        ),
        (
            with(&|c| {
                c.remove("aud");
            }),
            "no aud",
        ),
        (
            with(&|c| {
                c.insert("aud".into(), json!("app"));
            }),
            "aud the client id",
        ),
        (
            with(&|c| {
                c.insert("aud".into(), json!(["a", "b"]));
            }),
            "aud a list without us",
        ),
        (
            with(&|c| {
                c.insert("exp".into(), json!(now() - 31));
            }),
            "exp past the leeway",
        ),
        (
            with(&|c| {
                c.remove("exp");
            }),
            "no exp",
        ),
        (
            with(&|c| {
                c.insert("exp".into(), json!("tomorrow"));
            }),
            "exp not a number",
        ),
        (
            with(&|c| {
                c.insert("nbf".into(), json!(now() + 120));
            }),
            "nbf in the future",
        ),
        (
            with(&|c| {
                c.remove("sub");
                c.remove("client_id");
            }),
            "nobody",
        ),
    ];
    for (token, what) in &refused {
        let open = server.call_with("echo", token).await;
        assert_refused(&open, StatusCode::UNAUTHORIZED, Some("invalid_token"), what);
    }
    let accepted = [
        (
            with(&|c| {
                c.insert("aud".into(), json!(["x", resource.clone()]));
            }),
            "aud a list with us",
        ),
        (
            with(&|c| {
                c.insert("exp".into(), json!(now() - 5));
            }),
            "exp just past, within the leeway",
        ),
        (
            with(&|c| {
                c.insert("nbf".into(), json!(now() - 5));
            }),
            "nbf passed",
        ),
    ];
    for (token, what) in &accepted {
        let open = server.call_with("echo", token).await;
        assert_eq!(open.status, StatusCode::OK, "{what}: {}", challenge(&open));
    }
    server.stop().await;
}

#[tokio::test]
async fn no_token_is_ever_logged_counted_or_echoed() {
    let logs = logs();
    let key = issuer::key("ec", "k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let server = Protected::start(&issuer, |b| b).await;
    let good = server.token(&issuer, &key, "mcp");
    let mut expired = server.claims(&issuer, "mcp");
    expired["exp"] = json!(now() - 3600);
    let expired = issuer::token(&key, &expired);
    let narrow = server.token(&issuer, &key, "mcp");
    let unknown_kid = issuer::token(&issuer::key("ec", "k9"), &server.claims(&issuer, "mcp"));
    let mut answers = String::new();
    for (tool, token) in [
        ("echo", &good),
        ("echo", &expired),
        ("danger", &narrow),
        ("echo", &unknown_kid),
    ] {
        let open = server.call_with(tool, token).await;
        answers += &challenge(&open);
        answers += &String::from_utf8_lossy(&open.bytes().await);
    }
    let metrics = server.handle.metrics_text();
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        logged.contains("bearer token refused"),
        "the refusals were logged: {logged}"
    );
    for token in [&good, &expired, &narrow, &unknown_kid] {
        // The signature is what makes a token usable; no part of it shows.
        let signature = token.rsplit('.').next().unwrap();
        for (place, text) in [
            ("a log line", &logged),
            ("the metrics", &metrics),
            ("an answer", &answers),
        ] {
            assert!(!text.contains(signature), "a token in {place}");
        }
    }
    server.stop().await;
}
