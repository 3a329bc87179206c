//! # listener
//!
//! The accept loop every weir listener runs (the origin's ingest and playback, the edge
//! node's players): HTTP/1.1 and h2c on one port (hyper-util's auto builder), one task
//! per connection, within [`ConnLimits`]: a cap on open connections, a deadline for
//! each request head, and a graceful shutdown that lets responses in flight finish.
//! It knows nothing of what the requests are for.

pub mod request_id;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Default connections open at once per listener.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;
/// Default time a client has to send a request head, in seconds.
pub const DEFAULT_HEADER_TIMEOUT_S: u64 = 10;
/// Default time responses in flight get to finish at shutdown, in seconds.
pub const DEFAULT_SHUTDOWN_GRACE_S: u64 = 10;

/// Largest request head accepted on HTTP/1 (the read buffer): a larger one gets 431.
/// Player and encoder requests are well under 8 KiB, even with signed-URL tokens and
/// CDN headers.
pub const MAX_HEAD_BYTES: usize = 64 << 10;

/// Largest header list accepted on HTTP/2, as HTTP/1's head.
const MAX_H2_HEADER_LIST: u32 = 64 << 10;

/// Streams one HTTP/2 connection may have open at once: an h2c client holding
/// thousands of blocking reloads on one connection is bounded as a connection per
/// request would be by the connection cap.
pub const MAX_H2_STREAMS: u32 = 256;

/// HTTP/2 keep-alive: a PING after this long without frames, and the connection closed
/// when it is not answered within as long (a peer that vanished without a FIN).
const H2_KEEP_ALIVE: Duration = Duration::from_secs(20);

/// How long the accept loop pauses after a failed accept (out of file descriptors, for
/// instance) before it tries again, instead of spinning.
const ACCEPT_RETRY: Duration = Duration::from_millis(20);

/// Bounds on one listener's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Connections open at once; at the cap the listener stops accepting (new ones wait
    /// in the kernel's queue) until one closes.
    pub max_connections: usize,
    /// A client must send a whole request head within this time (the first, and each
    /// next one on a kept-alive connection, which therefore also closes when idle that
    /// long), or the connection is closed: a client that sends headers a byte at a time,
    /// or connects and sends nothing, cannot hold one. HTTP/1 only.
    pub header_read_timeout: Duration,
    /// On shutdown, how long responses in flight may take to finish before their
    /// connections are dropped.
    pub shutdown_grace: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_TIMEOUT_S),
            shutdown_grace: Duration::from_secs(DEFAULT_SHUTDOWN_GRACE_S),
        }
    }
}

/// Accepts connections on `listener` and answers each request with `handle`, within
/// `limits`, until `stop` completes; then stops accepting, lets every connection finish
/// the responses it is sending (up to `limits.shutdown_grace`; a kept-alive connection
/// closes after its current response) and returns.
pub async fn serve<F, Fut, B>(
    listener: TcpListener,
    handle: F,
    stop: impl Future<Output = ()>,
    limits: ConnLimits,
) where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            a = async {
                // At the cap, wait for a connection to close before accepting another.
                let permit = slots.clone().acquire_owned().await.expect("never closed");
                (listener.accept().await, permit)
            } => a,
            _ = &mut stop => break,
        };
        let (stream, permit) = match accepted {
            (Ok((stream, _)), permit) => (stream, permit),
            (Err(e), _) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handle = handle.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let svc = service_fn(move |req| {
                let h = handle.clone();
                async move { Ok::<_, Infallible>(h(req).await) }
            });
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .max_buf_size(MAX_HEAD_BYTES);
            builder
                .http2()
                .timer(TokioTimer::new())
                .max_concurrent_streams(MAX_H2_STREAMS)
                .max_header_list_size(MAX_H2_HEADER_LIST)
                .keep_alive_interval(H2_KEEP_ALIVE)
                .keep_alive_timeout(H2_KEEP_ALIVE);
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
    drop(listener);
    let open = graceful.count();
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "{open} connections still open after {} s of shutdown grace: dropped",
            limits.shutdown_grace.as_secs()
        );
    }
}
