//! TLS over any [`Listener`] (rustls through tokio-rustls), with the `tls`
//! feature.
//!
//! The crypto provider of [`TlsConfig::from_pem_files`] is rustls's
//! `ring`: it builds in seconds with the C compiler every Rust toolchain
//! already needs, where `aws-lc-rs` (tokio-rustls's default) is a large C
//! library that takes minutes, in every build mode CI makes. What `ring`
//! lacks is the post-quantum hybrid key exchange (X25519MLKEM768), for
//! which rustls marks its `ring` provider deprecated; a user who wants it
//! builds a rustls `ServerConfig` on `aws-lc-rs` and hands it to
//! [`TlsConfig::from_rustls`]. The provider is chosen explicitly, not by
//! whatever features other crates in a build switch on.
//!
//! A handshake runs in a task of its own, never in the accept loop: a
//! client that connects and says nothing delays nobody else, and is
//! dropped after [`DEFAULT_HANDSHAKE_TIMEOUT`]. At most
//! [`MAX_HANDSHAKES`] run at once; past that the listener stops accepting
//! and the backlog holds the rest. A failed handshake is the client's
//! problem: it is logged at debug level and the listener goes on, so it is
//! not an accept error.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::listener::{Connection, Listener};
use crate::sync::Arc;

/// How long a client has to finish its TLS handshake.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most handshakes running at once per listener.
pub const MAX_HANDSHAKES: usize = 256;

/// Why a TLS configuration could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("{path}: {why}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        why: String,
    },
    /// rustls refused the certificate chain and key (a key that does not
    /// belong to the certificate, an unsupported key type, ...).
    #[error("the certificate and key were refused: {0}")]
    Refused(#[from] rustls::Error),
}

/// A server's TLS settings: its certificate chain and private key, with
/// the `ring` provider and rustls's safe default protocol versions.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    config: Arc<ServerConfig>,
}

impl TlsConfig {
    /// Reads a PEM certificate chain (the server's certificate first) and
    /// a PEM private key (PKCS#8, PKCS#1 or SEC1).
    ///
    /// # Errors
    ///
    /// [`TlsError::Pem`] for a file that cannot be read or holds no
    /// certificate (no key); [`TlsError::Refused`] if rustls refuses them.
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self, TlsError> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let pem = |path: &Path, why: String| TlsError::Pem {
            path: path.to_path_buf(),
            why,
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| pem(cert, e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem(cert, e.to_string()))?;
        if chain.is_empty() {
            return Err(pem(cert, "no PEM certificate in it".to_owned()));
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| pem(key, format!("no usable PEM private key: {e}")))?;
        Self::new(chain, key)
    }

    /// A configuration from a certificate chain and its private key.
    ///
    /// # Errors
    ///
    /// [`TlsError::Refused`] if rustls refuses them.
    pub fn new(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<Self, TlsError> {
        // Deprecated for its lack of post-quantum key exchange (see the
        // module docs): a deliberate choice, with `from_rustls` as the way
        // out.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// A configuration of your own making (another provider, client
    /// certificates, several certificates by SNI).
    pub fn from_rustls(config: Arc<ServerConfig>) -> Self {
        Self { config }
    }

    /// The same, offering `protocols` by ALPN (for HTTP: `http/1.1`).
    pub fn alpn(&self, protocols: &[&[u8]]) -> Self {
        let mut config = (*self.config).clone();
        config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
        Self {
            config: Arc::new(config),
        }
    }
}

/// A connection of `L` after its handshake, and its peer.
type Secured<L> = (TlsStream<<L as Listener>::Io>, <L as Listener>::Addr);

/// A [`Listener`] whose connections speak TLS over `L`'s.
pub struct TlsListener<L: Listener> {
    inner: L,
    acceptor: TlsAcceptor,
    /// Handshakes under way; each yields its connection, or `None` if it
    /// failed.
    handshakes: JoinSet<Option<Secured<L>>>,
    timeout: Duration,
}

impl<L: Listener + std::fmt::Debug> std::fmt::Debug for TlsListener<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("inner", &self.inner)
            .field("handshakes", &self.handshakes.len())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<L: Listener> TlsListener<L> {
    /// TLS with `config` over every connection of `inner`.
    pub fn new(inner: L, config: &TlsConfig) -> Self {
        Self {
            inner,
            acceptor: TlsAcceptor::from(Arc::clone(&config.config)),
            handshakes: JoinSet::new(),
            timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Sets how long a client has to finish its handshake.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl<L: Listener> Listener for TlsListener<L> {
    type Io = TlsStream<L::Io>;
    type Addr = L::Addr;

    /// # Cancel safety
    ///
    /// Cancel-safe: handshakes under way stay in the listener, and the
    /// inner accept is cancel-safe.
    async fn accept(&mut self) -> io::Result<(Self::Io, L::Addr)> {
        loop {
            let room = self.handshakes.len() < MAX_HANDSHAKES;
            tokio::select! {
                biased;
                // Cancel-safe: unfinished handshakes stay in the set.
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    if let Ok(Some(accepted)) = done {
                        return Ok(accepted);
                    }
                }
                // Cancel-safe: `Listener::accept` is.
                accepted = self.inner.accept(), if room => {
                    let (io, peer) = accepted?;
                    let handshake = self.acceptor.accept(io);
                    let timeout = self.timeout;
                    self.handshakes.spawn(async move {
                        match tokio::time::timeout(timeout, handshake).await {
                            Ok(Ok(stream)) => Some((stream, peer)),
                            Ok(Err(e)) => {
                                tracing::debug!(?peer, error = %e, "TLS handshake failed");
                                None
                            }
                            Err(_) => {
                                tracing::debug!(?peer, "TLS handshake timed out");
                                None
                            }
                        }
                    });
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<L::Addr> {
        self.inner.local_addr()
    }
}

impl<C: Connection> Connection for TlsStream<C> {
    type Reader = tokio::io::ReadHalf<Self>;
    type Writer = tokio::io::WriteHalf<Self>;

    fn into_split(self) -> (Self::Reader, Self::Writer) {
        tokio::io::split(self)
    }

    // No watch: what rustls has already read of the socket is invisible to
    // a peek, and a client's close arrives as an alert (bytes) first.
}
