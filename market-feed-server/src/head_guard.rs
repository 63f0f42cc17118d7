//! JSON bodies for the errors hyper answers by itself.
//!
//! When a request head breaks hyper's own parse limits (a head over its read buffer, too many
//! header fields, a request target over 64 KiB), hyper answers `414` or `431` (and a head it cannot
//! parse, `400`) with an empty body before any handler runs. [`HeadGuard`] wraps a connection's socket and rewrites exactly
//! those bodiless answers into the API's JSON errors (`{"error":{"code":..,"message":..}}`),
//! so every error on the wire is JSON. Other bytes pass through untouched: the check is one
//! prefix comparison per write, done only on short writes that start like such a status line.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

use http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::ApiError;

/// A socket wrapper that turns hyper's bodiless 400/414/431 answers into JSON errors.
///
/// ```
/// use market_feed_server::head_guard::json_for;
/// let raw = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
/// let fixed = String::from_utf8(json_for(raw).unwrap()).unwrap();
/// assert!(fixed.starts_with("HTTP/1.1 431 "));
/// assert!(fixed.ends_with("}}"));
/// assert!(json_for(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
/// ```
#[derive(Debug)]
pub struct HeadGuard<S> {
    inner: S,
    /// A rewritten answer still being written: (bytes, how many are written).
    pending: Option<(Vec<u8>, usize)>,
}

impl<S> HeadGuard<S> {
    /// Wraps a socket.
    ///
    /// ```
    /// # use market_feed_server::head_guard::HeadGuard;
    /// let _guard = HeadGuard::new(tokio::io::empty());
    /// ```
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            pending: None,
        }
    }
}

/// The JSON answer replacing `bytes`, when they are one of hyper's bodiless 400/414/431 heads.
///
/// See [`HeadGuard`] for an example.
pub fn json_for(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() > 512 || !bytes.ends_with(b"\r\n\r\n") {
        return None;
    }
    let (status, code, message) = if bytes.starts_with(b"HTTP/1.1 431 ") {
        (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "the request headers are too large: send fewer or shorter headers",
        )
    } else if bytes.starts_with(b"HTTP/1.1 414 ") {
        (
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "the request target is too long: send a shorter path and query",
        )
    } else if bytes.starts_with(b"HTTP/1.1 400 ") {
        (
            StatusCode::BAD_REQUEST,
            "bad_request",
            "not an HTTP/1.1 request this server can parse",
        )
    } else {
        return None;
    };
    let head = String::from_utf8_lossy(bytes).to_ascii_lowercase();
    if !head.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    Some(ApiError::new(status, code, message).raw_response(""))
}

impl<S: AsyncWrite + Unpin> HeadGuard<S> {
    /// Writes what is left of a rewritten answer; `Ready(Ok)` when nothing is left.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, done)) = &mut self.pending {
            if *done == bytes.len() {
                self.pending = None;
                break;
            }
            match Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *done += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for HeadGuard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for HeadGuard<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_some() {
            std::task::ready!(this.poll_pending(cx))?;
        }
        if buf.first() == Some(&b'H') {
            if let Some(fixed) = json_for(buf) {
                this.pending = Some((fixed, 0));
                // Reported as written; the rewrite goes out now or on the next flush.
                let _ = this.poll_pending(cx)?;
                return Poll::Ready(Ok(buf.len()));
            }
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_some() {
            std::task::ready!(this.poll_pending(cx))?;
        }
        if let Some(first) = bufs.iter().find(|b| !b.is_empty()) {
            if first.first() == Some(&b'H') && json_for(first).is_some() {
                return Pin::new(this).poll_write(cx, first);
            }
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
