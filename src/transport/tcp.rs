//! TCP transport: a listener sized for connect storms, and accepted sockets
//! tuned for small messages.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Binds a listener on `addr` with a listen backlog of `backlog`.
///
/// `TcpListener::bind` listens with a backlog of 128; under a burst of
/// connects the overflow waits a full second for a SYN retransmit. The kernel
/// caps the value at `net.core.somaxconn`.
///
/// # Errors
///
/// Any error from creating, binding or listening on the socket.
pub async fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Prepares an accepted socket: `TCP_NODELAY`, so that small responses are
/// not held back by Nagle's algorithm behind delayed acknowledgements
/// (about 40 ms each otherwise).
pub(crate) fn tune(stream: &TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
}
