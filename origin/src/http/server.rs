//! The accept loop shared by the ingest and playback listeners: HTTP/1.1 and h2c on the
//! same port (hyper-util's auto builder), one task per connection, each request
//! answered by a [`Handler`].

use std::future::Future;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::body::Body;

/// Something that answers requests.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> impl Future<Output = Response<Body>> + Send;
}

pub use listener::ConnLimits;

/// Accepts connections on `listener` until `stop` turns true, answering with `handler`
/// within `limits`, then shuts down gracefully ([`listener::serve`]).
pub async fn accept_loop<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    mut stop: watch::Receiver<bool>,
    limits: ConnLimits,
) {
    let handle = move |req| {
        let h = handler.clone();
        async move { h.handle(req).await }
    };
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    listener::serve(listener, handle, stopped, limits).await;
}
