//! Serving HTTP/1.1 connections with the limits a server on a hall network needs.
//!
//! `axum::serve` reads a request head and a request body for as long as the client likes and
//! accepts every connection offered, so a few hundred slow or silent clients (a broken kiosk in
//! a retry loop, a port scanner, slowloris on purpose) could hold the server. Here every
//! connection has a deadline for its request head (which also ends idle keep-alive connections),
//! every request body a deadline from the moment its head arrived, every TLS handshake a
//! deadline, and the number of connections a cap: beyond it new connections wait in the
//! kernel's queue until one ends, and the accept loop itself never waits on a client.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tower_service::Service;

use crate::tls;

/// How long and how many clients may hold the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The request line and headers must have arrived this long after the connection opened
    /// or the previous response was sent; otherwise the connection is closed. This is also how
    /// long an idle keep-alive connection is kept.
    pub header_read_timeout: Duration,
    /// A request body must have arrived this long after its head; otherwise the request is
    /// answered 408 and the connection closed. 60 s lets the largest accepted body (16 MiB)
    /// through at 280 KB/s, far below what a hall's wired network carries.
    pub body_read_timeout: Duration,
    /// Connections served at once, TLS handshakes included; more wait until one ends.
    pub max_connections: usize,
    /// A TLS handshake must be done in this time.
    pub tls_handshake_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(60),
            // A hall has a few dozen kiosks and reviewers; 512 leaves room for bursts after an
            // outage while keeping file descriptors and memory bounded.
            max_connections: 512,
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves `router` on `listener` (over TLS when `tls` is given) within `limits`, until
/// `shutdown` completes; then stops accepting, lets requests in progress finish and returns
/// once every connection has closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<ServerConfig>>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    // acquire_many below counts in u32.
    let capacity = limits.max_connections.clamp(1, u32::MAX as usize);
    let slots = Arc::new(Semaphore::new(capacity));
    let (stop_sender, stop) = watch::channel(false);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = Connection {
            http: http.clone(),
            router: router.clone(),
            body_read_timeout: limits.body_read_timeout,
            peer,
            stop: stop.clone(),
        };
        let acceptor = acceptor.clone();
        let stop_handshake = stop.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match acceptor {
                None => connection.serve(stream).await,
                Some(acceptor) => {
                    let handshake =
                        tls::handshake(&acceptor, stream, peer, limits.tls_handshake_timeout);
                    let stream = tokio::select! {
                        stream = handshake => stream,
                        () = stopped(stop_handshake) => None,
                    };
                    if let Some(stream) = stream {
                        connection.serve(stream).await;
                    }
                }
            }
        });
    }
    // Closed at once, so clients that connect during the drain are refused instead of queued.
    drop(listener);
    let _ = stop_sender.send(true);
    let _ = slots.acquire_many(capacity as u32).await;
    Ok(())
}

/// Completes once `stop` says so (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// As axum does: errors of one connection are skipped; anything else (too many open files) is
/// logged and waited out instead of spinning.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

struct Connection {
    http: http1::Builder,
    router: Router,
    body_read_timeout: Duration,
    peer: SocketAddr,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn serve<Io>(self, io: Io)
    where
        Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            http,
            router,
            body_read_timeout,
            peer,
            stop,
        } = self;
        let service = hyper::service::service_fn(move |request| {
            respond(router.clone(), request, body_read_timeout)
        });
        let connection = http.serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = stopped(stop) => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        match result {
            Ok(()) => {}
            // Routine on any network: logged for debugging only, so a flood cannot fill the log.
            Err(e) if e.is_timeout() => tracing::debug!(%peer, "request head timed out"),
            Err(e) => tracing::debug!(%peer, error = %e, "connection ended with an error"),
        }
    }
}

/// Hands one request to the router with a deadline on its body.
async fn respond(
    mut router: Router,
    request: Request<Incoming>,
    body_read_timeout: Duration,
) -> Result<Response<Body>, Infallible> {
    let expired = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + body_read_timeout;
    let request = request.map(|body| {
        Body::new(DeadlineBody {
            inner: body,
            deadline,
            timer: None,
            expired: expired.clone(),
            timeout: body_read_timeout,
        })
    });
    // Router is ready at all times; asked anyway, as the Service contract wants.
    std::future::poll_fn(|cx| <Router as Service<Request<Body>>>::poll_ready(&mut router, cx))
        .await?;
    let response = <Router as Service<Request<Body>>>::call(&mut router, request).await?;
    if expired.load(Ordering::Acquire) {
        // Whatever the handler made of a body it could not read, the client was too slow; and
        // the rest of that body must not be taken for the next request.
        return Ok(body_timed_out());
    }
    Ok(response)
}

fn body_timed_out() -> Response<Body> {
    let body = serde_json::json!({
        "error": "request_timeout",
        "message": "请求数据接收超时，请检查网络后重试",
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Why a request body could not be read.
#[derive(Debug, Error)]
pub enum BodyError {
    #[error("the request body did not arrive within {0:?}")]
    TimedOut(Duration),
    #[error(transparent)]
    Connection(#[from] hyper::Error),
}

/// A request body that fails once its deadline has passed with data still missing.
struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    /// Made at the first wait, so requests whose body is already there cost no timer.
    timer: Option<Pin<Box<Sleep>>>,
    expired: Arc<AtomicBool>,
    timeout: Duration,
}

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        if this.expired.load(Ordering::Acquire) {
            return Poll::Ready(Some(Err(BodyError::TimedOut(this.timeout))));
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(BodyError::from)));
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(BodyError::TimedOut(this.timeout))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
