//! An authorization server made for the tests: hyper on a loopback port
//! serving RFC 8414 metadata and a JWKS, with keys made at test time
//! (openssl), and ways to misbehave (down, slow, garbage, oversized) and
//! to rotate keys. It signs tokens for the tests, well-formed or not.

use std::convert::Infallible;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A signing key and its public JWK.
#[derive(Clone)]
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pub(crate) alg: Algorithm,
    pub(crate) encoding: EncodingKey,
    pub(crate) jwk: Value,
    /// The public key as PEM (for the HS256-with-the-public-key attack).
    pub(crate) public_pem: Vec<u8>,
}

/// A new key pair: `rsa` (RS256) or `ec` (ES256).
pub(crate) fn key(kind: &str, kid: &str) -> SigningKey {
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let n = MADE.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("mcp-auth-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let private = dir.join("key.pem");
    let args: &[&str] = match kind {
        "rsa" => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        _ => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    };
    let made = Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .arg("-out")
        .arg(&private)
        .stderr(std::process::Stdio::null())
        .status();
    assert!(made.expect("openssl runs").success(), "openssl genpkey");
    let public = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .output()
        .expect("openssl pkey");
    let pem = std::fs::read(&private).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let (alg, encoding) = match kind {
        "rsa" => (Algorithm::RS256, EncodingKey::from_rsa_pem(&pem).unwrap()),
        _ => (Algorithm::ES256, EncodingKey::from_ec_pem(&pem).unwrap()),
    };
    let mut jwk = Jwk::from_encoding_key(&encoding, alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    SigningKey {
        kid: kid.to_owned(),
        alg,
        encoding,
        jwk: serde_json::to_value(jwk).unwrap(),
        public_pem: public.stdout,
    }
}

/// How the JWKS endpoint answers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Jwks {
    Normal,
    /// 500.
    Down,
    /// Never within any timeout a test uses.
    Slow,
    /// 200 with a body that is not JSON.
    Garbage,
    /// 200 with 1 MiB of JSON.
    Oversized,
}

struct State {
    keys: Vec<SigningKey>,
    jwks: Jwks,
}

/// The authorization server.
pub(crate) struct Issuer {
    pub(crate) url: String,
    pub(crate) jwks_fetches: Arc<AtomicUsize>,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Issuer {
    /// Serves the metadata and a JWKS of `keys`.
    pub(crate) async fn start(keys: Vec<SigningKey>) -> Self {
        Self::serve(keys, None).await
    }

    /// [`Issuer::start`] over TLS with `tls` (a certificate for
    /// 127.0.0.1): an `https` issuer.
    #[cfg(feature = "tls")]
    pub(crate) async fn start_tls(keys: Vec<SigningKey>, tls: tokio_rustls::TlsAcceptor) -> Self {
        Self::serve(keys, Some(tls)).await
    }

    #[cfg(not(feature = "tls"))]
    async fn serve(keys: Vec<SigningKey>, _: Option<std::convert::Infallible>) -> Self {
        Self::serve_with(keys, "http", |stream| async move { Some(stream) }).await
    }

    #[cfg(feature = "tls")]
    async fn serve(keys: Vec<SigningKey>, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        use tokio_util::either::Either;
        let scheme = if tls.is_some() { "https" } else { "http" };
        Self::serve_with(keys, scheme, move |stream| {
            let tls = tls.clone();
            async move {
                match tls {
                    Some(tls) => tls.accept(stream).await.ok().map(Either::Left),
                    None => Some(Either::Right(stream)),
                }
            }
        })
        .await
    }

    /// Serves on a loopback port, each connection through `wrap` (a
    /// connection it gives nothing for is dropped).
    async fn serve_with<S, F>(
        keys: Vec<SigningKey>,
        scheme: &str,
        wrap: impl Fn(TcpStream) -> F + Send + 'static,
    ) -> Self
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
        F: std::future::Future<Output = Option<S>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("{scheme}://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state = Arc::new(Mutex::new(State {
            keys,
            jwks: Jwks::Normal,
        }));
        let jwks_fetches = Arc::new(AtomicUsize::new(0));
        let (issuer, shared, fetches) = (url.clone(), Arc::clone(&state), Arc::clone(&jwks_fetches));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (issuer, shared, fetches) = (issuer.clone(), Arc::clone(&shared), Arc::clone(&fetches));
                let wrapped = wrap(stream);
                tokio::spawn(async move {
                    let Some(stream) = wrapped.await else {
                        return;
                    };
                    let service = service_fn(move |request: Request<Incoming>| {
                        let (issuer, shared, fetches) =
                            (issuer.clone(), Arc::clone(&shared), Arc::clone(&fetches));
                        async move {
                            Ok::<_, Infallible>(
                                answer(&issuer, &shared, &fetches, request.uri().path()).await,
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url,
            jwks_fetches,
            state,
            task,
        }
    }

    pub(crate) fn fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }

    pub(crate) fn set_jwks(&self, mode: Jwks) {
        self.state.lock().unwrap().jwks = mode;
    }

    /// Publishes `keys` instead of the current ones.
    pub(crate) fn publish(&self, keys: Vec<SigningKey>) {
        self.state.lock().unwrap().keys = keys;
    }

    /// The first published key.
    pub(crate) fn key(&self) -> SigningKey {
        self.state.lock().unwrap().keys[0].clone()
    }
}

async fn answer(
    issuer: &str,
    state: &Mutex<State>,
    fetches: &AtomicUsize,
    path: &str,
) -> Response<Full<Bytes>> {
    let json = |status: StatusCode, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response
    };
    match path {
        "/.well-known/oauth-authorization-server" => json(
            StatusCode::OK,
            json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks"), "token_endpoint": format!("{issuer}/token")})
                .to_string(),
        ),
        "/jwks" => {
            fetches.fetch_add(1, Ordering::SeqCst);
            let (mode, keys) = {
                let state = state.lock().unwrap();
                (state.jwks, state.keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>())
            };
            match mode {
                Jwks::Normal => json(StatusCode::OK, json!({"keys": keys}).to_string()),
                Jwks::Down => json(StatusCode::INTERNAL_SERVER_ERROR, "down".to_owned()),
                Jwks::Slow => {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    json(StatusCode::OK, json!({"keys": keys}).to_string())
                }
                Jwks::Garbage => json(StatusCode::OK, "<html>not a key set".to_owned()),
                Jwks::Oversized => json(
                    StatusCode::OK,
                    json!({"keys": keys, "padding": "x".repeat(1 << 20)}).to_string(),
                ),
            }
        }
        _ => json(StatusCode::NOT_FOUND, String::new()),
    }
}

pub(crate) fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWT of `header` and `claims`, signed with `key` under `alg` (the
/// header is taken as given: it may lie).
pub(crate) fn sign(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

/// A token signed by `key` with its own `kid` and algorithm.
pub(crate) fn token(key: &SigningKey, claims: &Value) -> String {
    let header = json!({"alg": format!("{:?}", key.alg), "typ": "at+jwt", "kid": key.kid});
    sign(&header, claims, &key.encoding, key.alg)
}
