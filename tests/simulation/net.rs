//! turmoil's simulated TCP plugged into the server's listener seam: the
//! server accepts from a [`SimListener`] exactly as it accepts from a real
//! socket, and the clients connect with [`connect`].

#![allow(unreachable_pub)]

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use mcp_server_core::{Connection, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A simulated listening socket.
pub struct SimListener(turmoil::net::TcpListener);

impl SimListener {
    /// Binds `port` on every address of the current simulated host.
    pub async fn bind(port: u16) -> io::Result<Self> {
        turmoil::net::TcpListener::bind(("0.0.0.0", port)).await.map(Self)
    }
}

impl Listener for SimListener {
    type Io = SimStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> io::Result<(SimStream, SocketAddr)> {
        let (stream, peer) = self.0.accept().await?;
        Ok((SimStream(stream), peer))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A simulated TCP connection (a newtype: the seam's traits and turmoil's
/// stream both live outside this test crate).
pub struct SimStream(turmoil::net::TcpStream);

/// Connects to `host:port` over the simulated network.
pub async fn connect(host: &str, port: u16) -> io::Result<SimStream> {
    turmoil::net::TcpStream::connect((host, port))
        .await
        .map(SimStream)
}

impl Connection for SimStream {
    type Reader = tokio::io::ReadHalf<SimStream>;
    type Writer = tokio::io::WriteHalf<SimStream>;

    fn into_split(self) -> (Self::Reader, Self::Writer) {
        tokio::io::split(self)
    }
}

impl AsyncRead for SimStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
