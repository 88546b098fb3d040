//! An `https` issuer (feature `tls`): its metadata and keys fetched over
//! TLS, the certificate checked against the roots the verifier trusts.

use std::process::{Command, Stdio};
use std::sync::Arc;

use http::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::issuer::{self, Issuer};
use super::{Protected, challenge};

/// A self-signed certificate for 127.0.0.1 (its own trust anchor) as DER,
/// and an acceptor serving it.
fn certificate() -> (CertificateDer<'static>, tokio_rustls::TlsAcceptor) {
    let dir = std::env::temp_dir().join(format!("mcp-auth-tls-{}", std::process::id()));
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
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
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
    let der = CertificateDer::from_pem_file(&cert).unwrap();
    let private = PrivateKeyDer::from_pem_file(&key).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    // The provider the crate's own TLS uses (`transport::tls`).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], private)
        .unwrap();
    (der, tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[tokio::test]
async fn an_https_issuer_is_reached_through_the_roots_the_verifier_trusts() {
    let (der, acceptor) = certificate();
    let issuer = Issuer::start_tls(vec![issuer::key("ec", "k1")], acceptor).await;
    assert!(issuer.url.starts_with("https://127.0.0.1:"), "{}", issuer.url);

    let trusting = Protected::start(&issuer, |b| b.root_certificate(der.to_vec())).await;
    let token = trusting.token(&issuer, &issuer.key(), "mcp");
    let open = trusting.call_with("echo", &token).await;
    assert_eq!(open.status, StatusCode::OK, "{}", challenge(&open));
    assert_eq!(issuer.fetches(), 1, "the keys came over TLS");
    trusting.stop().await;

    // Without that root the issuer's certificate is refused: its keys
    // cannot be fetched, a bounded 503.
    let doubting = Protected::start(&issuer, |b| b).await;
    let token = doubting.token(&issuer, &issuer.key(), "mcp");
    let open = doubting.call_with("echo", &token).await;
    assert_eq!(
        open.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        challenge(&open)
    );
    assert_eq!(
        issuer.fetches(),
        1,
        "no keys were served to a client that refused the certificate"
    );
    doubting.stop().await;
}
