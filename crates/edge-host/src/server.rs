//! The edge node's player-facing listener: the shared accept loop ([`listener::serve`]:
//! HTTP/1.1 and h2c, a connection cap, a header-read timeout, graceful shutdown), each
//! request routed to its component.

use std::future::Future;
use std::sync::Arc;

use listener::ConnLimits;
use tokio::net::TcpListener;

use crate::EdgeNode;

/// Serves players on `listener` within `limits` until `shutdown` completes, then lets
/// responses in flight finish (up to the limits' grace).
pub async fn serve(
    listener: TcpListener,
    node: Arc<EdgeNode>,
    shutdown: impl Future<Output = ()> + Send,
    limits: ConnLimits,
) {
    let handle = move |req: hyper::Request<hyper::body::Incoming>| {
        let node = node.clone();
        async move { node.answer(req).await }
    };
    listener::serve(listener, handle, shutdown, limits).await;
}
