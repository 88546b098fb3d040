//! The listener seam: what every accept loop of the server (line sessions,
//! Streamable HTTP, the metrics endpoint) accepts connections from.
//!
//! A [`Listener`] yields [`Connection`]s; the server runs one accept loop
//! over it (`accept.rs`). Built in: TCP ([`tokio::net::TcpListener`], whose
//! connections get `TCP_NODELAY`), Unix domain sockets ([`UnixListener`],
//! which removes its socket file when dropped) and, with the `tls` feature,
//! TLS over any of them (`transport::tls`). A test can implement both traits
//! over an in-memory or simulated network: nothing here needs a raw file
//! descriptor. The one thing that does, noticing that an HTTP client went
//! away while hyper is not reading ([`Connection::watch`]), is optional and
//! simply absent where a connection cannot offer it.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncWrite};

pub use super::peer::{PeerWatch, TcpConnection};

/// Something connections are accepted from.
///
/// The accept loop calls [`Listener::accept`] until shutdown; an error is
/// counted (`accept_errors`), logged, and followed by a short pause before
/// the next try (a process out of descriptors recovers once some close).
pub trait Listener: Send + 'static {
    /// An accepted connection.
    type Io: Connection;
    /// The peer's address, for logs.
    type Addr: fmt::Debug + Send + 'static;

    /// Accepts the next connection.
    ///
    /// # Errors
    ///
    /// Whatever accepting failed with; the loop backs off and tries again.
    ///
    /// # Cancel safety
    ///
    /// Must be cancel-safe: the loop drops it when shutdown begins.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, Self::Addr)>> + Send;

    /// The address this listener is bound to.
    ///
    /// # Errors
    ///
    /// As the underlying socket's.
    fn local_addr(&self) -> io::Result<Self::Addr>;
}

/// An accepted connection: a byte stream, which a line session reads and
/// writes from two halves, and HTTP serves whole.
pub trait Connection: AsyncRead + AsyncWrite + Unpin + Send + Sized + 'static {
    /// The reading half.
    type Reader: AsyncRead + Unpin + Send + 'static;
    /// The writing half.
    type Writer: AsyncWrite + Unpin + Send + 'static;

    /// Splits the connection into halves that can be used at once
    /// ([`tokio::io::split`] does it for any stream).
    fn into_split(self) -> (Self::Reader, Self::Writer);

    /// A watch on the peer's end of the connection, if this kind of
    /// connection can peek at its socket without reading from it. Over
    /// HTTP, it lets the server notice a client that went away while its
    /// answer was being made (see `transport::http`); without one, such a
    /// request runs until it ends or times out. The default is none.
    fn watch(&self) -> Option<PeerWatch> {
        None
    }
}

impl Connection for TcpConnection {
    type Reader = TcpConnection;
    type Writer = TcpConnection;

    /// Two handles on the same socket: reads and writes of a TCP socket
    /// are independent, so they need no lock between them.
    fn into_split(self) -> (Self, Self) {
        (self.clone(), self)
    }

    fn watch(&self) -> Option<PeerWatch> {
        Some(PeerWatch::on(self))
    }
}

impl Listener for tokio::net::TcpListener {
    type Io = TcpConnection;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> io::Result<(TcpConnection, std::net::SocketAddr)> {
        let (stream, peer) = tokio::net::TcpListener::accept(self).await?;
        Ok((TcpConnection::new(stream), peer))
    }

    fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        tokio::net::TcpListener::local_addr(self)
    }
}

/// A Unix domain socket listener that removes its socket file when dropped.
#[derive(Debug)]
pub struct UnixListener {
    inner: tokio::net::UnixListener,
    path: PathBuf,
}

impl UnixListener {
    /// Binds a Unix socket at `path`. A socket file left there by a process
    /// that ended is removed first; any other file is left alone and the
    /// bind fails.
    ///
    /// # Errors
    ///
    /// Any error from binding, or from removing a stale socket file.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        if is_stale_socket(&path) {
            std::fs::remove_file(&path)?;
        }
        let inner = tokio::net::UnixListener::bind(&path)?;
        Ok(Self { inner, path })
    }

    /// The path of the socket file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// True if `path` is a socket nobody listens on.
fn is_stale_socket(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
    is_socket && std::os::unix::net::UnixStream::connect(path).is_err()
}

impl Drop for UnixListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Listener for UnixListener {
    type Io = tokio::net::UnixStream;
    type Addr = tokio::net::unix::SocketAddr;

    async fn accept(&mut self) -> io::Result<(tokio::net::UnixStream, Self::Addr)> {
        self.inner.accept().await
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl Connection for tokio::net::UnixStream {
    type Reader = tokio::net::unix::OwnedReadHalf;
    type Writer = tokio::net::unix::OwnedWriteHalf;

    fn into_split(self) -> (Self::Reader, Self::Writer) {
        tokio::net::UnixStream::into_split(self)
    }
}

impl Connection for tokio::io::DuplexStream {
    type Reader = tokio::io::ReadHalf<Self>;
    type Writer = tokio::io::WriteHalf<Self>;

    fn into_split(self) -> (Self::Reader, Self::Writer) {
        tokio::io::split(self)
    }
}
