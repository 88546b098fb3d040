//! The issuer's keys as the verifier keeps them: one refetch for an
//! unknown `kid` however many arrive at once, rotation, and an issuer that
//! is down, slow or answers garbage (a bounded 503 when no key is known,
//! the cached keys when one is).

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use http::StatusCode;

use super::issuer::{self, Issuer, Jwks};
use super::{Protected, assert_refused, challenge};

#[tokio::test]
async fn a_burst_of_unknown_kids_makes_one_fetch() {
    let issuer = Issuer::start(vec![issuer::key("ec", "k1")]).await;
    let server = Protected::start(&issuer, |b| b.min_refetch_interval(Duration::from_millis(500))).await;
    let good = server.token(&issuer, &issuer.key(), "mcp");
    assert_eq!(server.call_with("echo", &good).await.status, StatusCode::OK);
    assert_eq!(issuer.fetches(), 1, "the first token fetched the keys");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let forged = issuer::token(&issuer::key("ec", "k9"), &server.claims(&issuer, "mcp"));
    let burst = join_all((0..20).map(|_| server.call_with("echo", &forged))).await;
    for open in &burst {
        assert_refused(
            open,
            StatusCode::UNAUTHORIZED,
            Some("invalid_token"),
            "an unknown kid",
        );
    }
    assert_eq!(issuer.fetches(), 2, "twenty unknown kids, one refetch");
    assert_eq!(server.call_with("echo", &good).await.status, StatusCode::OK);
    assert_eq!(issuer.fetches(), 2);
    server.stop().await;
}

#[tokio::test]
async fn a_rotated_key_is_taken_and_the_dropped_one_refused_once_the_cache_expires() {
    let (k1, k2) = (issuer::key("rsa", "k1"), issuer::key("rsa", "k2"));
    let issuer = Issuer::start(vec![k1.clone()]).await;
    let server = Protected::start(&issuer, |b| {
        b.jwks_ttl(Duration::from_millis(800))
            .min_refetch_interval(Duration::from_millis(100))
    })
    .await;
    let (old, new) = (
        server.token(&issuer, &k1, "mcp"),
        server.token(&issuer, &k2, "mcp"),
    );
    assert_eq!(server.call_with("echo", &old).await.status, StatusCode::OK);
    issuer.publish(vec![k2.clone()]);
    // The cache still holds k1, and is fresh.
    assert_eq!(server.call_with("echo", &old).await.status, StatusCode::OK);
    assert_eq!(issuer.fetches(), 1);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let open = server.call_with("echo", &new).await;
    assert_eq!(
        open.status,
        StatusCode::OK,
        "the new key after one refetch: {}",
        challenge(&open)
    );
    assert_eq!(issuer.fetches(), 2);
    let open = server.call_with("echo", &old).await;
    assert_refused(
        &open,
        StatusCode::UNAUTHORIZED,
        Some("invalid_token"),
        "the dropped key",
    );
    server.stop().await;
}

#[tokio::test]
async fn a_dropped_key_is_refused_once_the_ttl_passes_however_long_the_refetch_interval() {
    let k1 = issuer::key("rsa", "k1");
    let issuer = Issuer::start(vec![k1.clone()]).await;
    // The refetch interval stays at its default (10 s), far above the TTL.
    let server = Protected::start(&issuer, |b| b.jwks_ttl(Duration::from_millis(300))).await;
    let old = server.token(&issuer, &k1, "mcp");
    assert_eq!(server.call_with("echo", &old).await.status, StatusCode::OK);
    issuer.publish(vec![issuer::key("rsa", "k2")]);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let open = server.call_with("echo", &old).await;
    assert_refused(
        &open,
        StatusCode::UNAUTHORIZED,
        Some("invalid_token"),
        "a key dropped longer than the TTL ago",
    );
    assert_eq!(issuer.fetches(), 2);
    server.stop().await;
}

#[tokio::test]
async fn an_issuer_that_cannot_give_keys_is_a_bounded_503() {
    for mode in [Jwks::Down, Jwks::Slow, Jwks::Garbage, Jwks::Oversized] {
        let issuer = Issuer::start(vec![issuer::key("ec", "k1")]).await;
        issuer.set_jwks(mode);
        let server = Protected::start(&issuer, |b| b.fetch_timeout(Duration::from_millis(500))).await;
        let token = server.token(&issuer, &issuer.key(), "mcp");
        let started = Instant::now();
        let open = server.call_with("echo", &token).await;
        assert_eq!(open.status, StatusCode::SERVICE_UNAVAILABLE, "{mode:?}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{mode:?} took {:?}",
            started.elapsed()
        );
        let body = open.json().await;
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("cannot be verified now"),
            "{body}"
        );
        // Back up: the next attempt after the interval finds the keys.
        issuer.set_jwks(Jwks::Normal);
        server.stop().await;
    }
}

#[tokio::test]
async fn keys_already_cached_keep_working_while_the_issuer_is_down() {
    let issuer = Issuer::start(vec![issuer::key("ec", "k1")]).await;
    let server = Protected::start(&issuer, |b| {
        b.jwks_ttl(Duration::from_millis(300))
            .min_refetch_interval(Duration::from_millis(50))
            .fetch_timeout(Duration::from_millis(300))
    })
    .await;
    let token = server.token(&issuer, &issuer.key(), "mcp");
    assert_eq!(server.call_with("echo", &token).await.status, StatusCode::OK);
    for mode in [Jwks::Down, Jwks::Slow, Jwks::Garbage] {
        issuer.set_jwks(mode);
        tokio::time::sleep(Duration::from_millis(350)).await;
        let open = server.call_with("echo", &token).await;
        assert_eq!(open.status, StatusCode::OK, "{mode:?}: {}", challenge(&open));
    }
    // A kid never seen, with the issuer down: cannot be told, so 503.
    let unknown = issuer::token(&issuer::key("ec", "k9"), &server.claims(&issuer, "mcp"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    issuer.set_jwks(Jwks::Down);
    assert_eq!(
        server.call_with("echo", &unknown).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    server.stop().await;
}
