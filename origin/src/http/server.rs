//! The accept loop shared by the ingest and playback listeners: HTTP/1.1 and h2c on the
//! same port (hyper-util's auto builder), one task per connection, each request
//! answered by a [`Handler`].

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
use tokio::sync::{Semaphore, watch};

use super::body::Body;

/// Something that answers requests.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> impl Future<Output = Response<Body>> + Send;
}

/// Bounds on one listener's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Connections open at once; at the cap the listener stops accepting (new ones wait
    /// in the kernel's queue) until one closes.
    pub max_connections: usize,
    /// A client must send a whole request head within this time (the first, and each
    /// next one on a kept-alive connection), or the connection is closed: a client that
    /// sends headers a byte at a time, or connects and sends nothing, cannot hold one.
    pub header_read_timeout: Duration,
    /// On shutdown, how long responses in flight may take to finish before their
    /// connections are dropped.
    pub shutdown_grace: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_connections: crate::config::DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: Duration::from_secs(crate::config::DEFAULT_HEADER_TIMEOUT_S),
            shutdown_grace: Duration::from_secs(crate::config::DEFAULT_SHUTDOWN_GRACE_S),
        }
    }
}

/// How long the accept loop pauses after a failed accept (out of file descriptors, for
/// instance) before it tries again, instead of spinning.
const ACCEPT_RETRY: Duration = Duration::from_millis(20);

/// Accepts connections on `listener` until `stop` turns true, within `limits`; then
/// stops accepting, lets every connection finish the responses it is sending (up to
/// `limits.shutdown_grace`; a kept-alive connection closes after its current response)
/// and returns.
pub async fn accept_loop<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    mut stop: watch::Receiver<bool>,
    limits: ConnLimits,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            a = async {
                // At the cap, wait for a connection to close before accepting another.
                let permit = slots.clone().acquire_owned().await.expect("never closed");
                (listener.accept().await, permit)
            } => a,
            _ = stop.wait_for(|s| *s) => break,
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
        let handler = handler.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let svc = service_fn(move |req| {
                let h = handler.clone();
                async move { Ok::<_, Infallible>(h.handle(req).await) }
            });
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
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
