//! The process's stdin and stdout as async streams, driven by tokio's
//! reactor whenever it can poll them.
//!
//! tokio's `stdin()` and `stdout()` hand every read and write to a blocking
//! thread: two thread hand-offs per message. When a descriptor is a pipe or
//! a socket (how MCP clients start a local server), it is instead put in
//! non-blocking mode and registered with the reactor (tokio's
//! `net::unix::pipe` for pipes, `UnixStream` for sockets), so reads and
//! writes happen on the session's own task. A descriptor the reactor cannot
//! poll (a regular file, `/dev/null`) or should not take over (a terminal,
//! whose mode the shell shares) keeps tokio's blocking path. The choice is
//! made once, at start, per descriptor, and logged.
//!
//! Non-blocking mode belongs to the open file, which the parent process may
//! share, so the original flags are put back when the [`Restore`] guard
//! drops (after the session ends).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use rustix::fs::{FileType, OFlags, fcntl_getfl, fcntl_setfl, fstat};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;
use tokio::net::unix::pipe;

/// How one standard descriptor is driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StdioMode {
    /// A pipe, read or written on the reactor.
    Pipe,
    /// A socket, read or written on the reactor.
    Socket,
    /// tokio's blocking path (a thread per read or write): a regular file,
    /// a terminal, or a descriptor the reactor refused.
    Blocking,
}

/// stdin, as the session reads it.
#[derive(Debug)]
pub(crate) enum Input {
    Pipe(pipe::Receiver),
    Socket(UnixStream),
    Blocking(tokio::io::Stdin),
}

/// stdout, as the session writes it.
#[derive(Debug)]
pub(crate) enum Output {
    Pipe(pipe::Sender),
    Socket(UnixStream),
    Blocking(tokio::io::Stdout),
}

/// Puts the descriptors' original flags back when dropped.
#[derive(Debug, Default)]
pub(crate) struct Restore {
    saved: Vec<(OwnedFd, OFlags)>,
}

impl Drop for Restore {
    fn drop(&mut self) {
        // Last saved, first restored: when stdin and stdout are one open
        // file (a socket), stdout's saved flags already include stdin's
        // change, and stdin's are the original.
        for (fd, flags) in self.saved.drain(..).rev() {
            if let Err(e) = fcntl_setfl(&fd, flags) {
                tracing::warn!(error = %e, "could not restore a standard descriptor's flags");
            }
        }
    }
}

/// What a pollable descriptor is.
fn pollable(fd: BorrowedFd<'_>) -> Option<StdioMode> {
    let stat = fstat(fd).ok()?;
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::Fifo => Some(StdioMode::Pipe),
        FileType::Socket => Some(StdioMode::Socket),
        _ => None,
    }
}

/// A copy of `fd` in non-blocking mode, with its original flags saved in
/// `restore`; `None` (and nothing changed) when it is not a pipe or a
/// socket.
fn nonblocking(fd: BorrowedFd<'_>, restore: &mut Restore) -> io::Result<Option<(OwnedFd, StdioMode)>> {
    let Some(mode) = pollable(fd) else {
        return Ok(None);
    };
    let owned = fd.try_clone_to_owned()?;
    let flags = fcntl_getfl(&owned)?;
    restore.saved.push((owned.try_clone()?, flags));
    fcntl_setfl(&owned, flags | OFlags::NONBLOCK)?;
    Ok(Some((owned, mode)))
}

/// stdin and stdout, each on the reactor when it can be.
///
/// # Panics
///
/// Outside a tokio runtime with I/O enabled.
pub(crate) fn open() -> (Input, Output, Restore) {
    let mut restore = Restore::default();
    let input = match nonblocking(io::stdin().as_fd(), &mut restore) {
        Ok(Some((fd, StdioMode::Pipe))) => pipe::Receiver::from_owned_fd_unchecked(fd).map(Input::Pipe),
        Ok(Some((fd, _))) => UnixStream::from_std(fd.into()).map(Input::Socket),
        Ok(None) => Ok(Input::Blocking(tokio::io::stdin())),
        Err(e) => Err(e),
    }
    .unwrap_or_else(|e| {
        tracing::warn!(error = %e, "stdin cannot be polled; reading it on a blocking thread");
        Input::Blocking(tokio::io::stdin())
    });
    let output = match nonblocking(io::stdout().as_fd(), &mut restore) {
        Ok(Some((fd, StdioMode::Pipe))) => pipe::Sender::from_owned_fd_unchecked(fd).map(Output::Pipe),
        Ok(Some((fd, _))) => UnixStream::from_std(fd.into()).map(Output::Socket),
        Ok(None) => Ok(Output::Blocking(tokio::io::stdout())),
        Err(e) => Err(e),
    }
    .unwrap_or_else(|e| {
        tracing::warn!(error = %e, "stdout cannot be polled; writing it on a blocking thread");
        Output::Blocking(tokio::io::stdout())
    });
    tracing::info!(stdin = ?input.mode(), stdout = ?output.mode(), "stdio");
    (input, output, restore)
}

impl Input {
    /// How it is driven.
    pub(crate) fn mode(&self) -> StdioMode {
        match self {
            Self::Pipe(_) => StdioMode::Pipe,
            Self::Socket(_) => StdioMode::Socket,
            Self::Blocking(_) => StdioMode::Blocking,
        }
    }
}

impl Output {
    /// How it is driven.
    pub(crate) fn mode(&self) -> StdioMode {
        match self {
            Self::Pipe(_) => StdioMode::Pipe,
            Self::Socket(_) => StdioMode::Socket,
            Self::Blocking(_) => StdioMode::Blocking,
        }
    }
}

impl AsyncRead for Input {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Pipe(r) => Pin::new(r).poll_read(cx, buf),
            Self::Socket(r) => Pin::new(r).poll_read(cx, buf),
            Self::Blocking(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Output {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Pipe(w) => Pin::new(w).poll_write(cx, buf),
            Self::Socket(w) => Pin::new(w).poll_write(cx, buf),
            Self::Blocking(w) => Pin::new(w).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Pipe(w) => Pin::new(w).poll_flush(cx),
            Self::Socket(w) => Pin::new(w).poll_flush(cx),
            Self::Blocking(w) => Pin::new(w).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Pipe(w) => Pin::new(w).poll_shutdown(cx),
            Self::Socket(w) => Pin::new(w).poll_shutdown(cx),
            Self::Blocking(w) => Pin::new(w).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Pipe(w) => Pin::new(w).poll_write_vectored(cx, bufs),
            Self::Socket(w) => Pin::new(w).poll_write_vectored(cx, bufs),
            Self::Blocking(w) => Pin::new(w).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Pipe(w) => w.is_write_vectored(),
            Self::Socket(w) => w.is_write_vectored(),
            Self::Blocking(w) => w.is_write_vectored(),
        }
    }
}
