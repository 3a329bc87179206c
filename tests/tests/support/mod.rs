//! Shared support for weir's end-to-end tests: an in-process origin on port-0
//! listeners, a minimal HTTP/1.1 client, and wrappers around the real tools.

#![allow(dead_code)]

pub mod http;
pub mod process;
pub mod rules;
pub mod scripted;
pub mod tools;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use origin::{Config, Origin};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running `weir edge` node (the repository's spin.toml and component) in front of
/// an origin's playback listener, reached over HTTP as a separate edge would.
pub struct TestEdge {
    /// The node, for its counters.
    pub node: Arc<edge_host::EdgeNode>,
    /// Its player-facing address.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl TestEdge {
    /// Starts the node on a port-0 listener, pointed at `origin` (allowed outbound).
    pub async fn start(origin: SocketAddr) -> TestEdge {
        Self::start_with(origin, true).await
    }

    /// [`TestEdge::start`], choosing whether manifests go through the component's
    /// `manifest-handler` export (`fast`) or through its wasi:http entry point.
    pub async fn start_with(origin: SocketAddr, fast: bool) -> TestEdge {
        Self::start_options(origin, fast, Some(edge_host::cache::Limits::default())).await
    }

    /// [`TestEdge::start_with`] with the cache's limits (`None`: no cache).
    pub async fn start_options(
        origin: SocketAddr,
        fast: bool,
        cache: Option<edge_host::cache::Limits>,
    ) -> TestEdge {
        let mut o = edge_host::EdgeOptions::new(tools::repo().join("spin.toml"));
        o.fast_manifests = fast;
        o.cache = cache;
        Self::start_built(origin, o).await
    }

    /// A node with a playback key: every player request needs a signed URL.
    pub async fn start_signed(origin: SocketAddr, key: &str) -> TestEdge {
        let mut o = edge_host::EdgeOptions::new(tools::repo().join("spin.toml"));
        o.playback_key = Some(key.to_string());
        Self::start_built(origin, o).await
    }

    async fn start_built(origin: SocketAddr, mut o: edge_host::EdgeOptions) -> TestEdge {
        o.env = vec![("WEIR_ORIGIN".into(), format!("http://{origin}"))];
        o.allow = vec![format!("http://{origin}")];
        let node = Arc::new(
            edge_host::EdgeNode::load(o).expect("the edge component loads (run `make edge`)"),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind edge");
        let addr = listener.local_addr().expect("edge address");
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(edge_host::serve(
            listener,
            node.clone(),
            async {
                let _ = rx.await;
            },
            edge_host::ConnLimits::default(),
        ));
        TestEdge {
            node,
            addr,
            stop: Some(tx),
        }
    }
}

impl Drop for TestEdge {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A running origin.
pub struct TestOrigin {
    /// The origin's state, for readiness waits.
    pub origin: Arc<Origin>,
    /// Ingest listener address.
    pub ingest: SocketAddr,
    /// Playback listener address.
    pub playback: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl TestOrigin {
    /// Starts an origin that also serves the player page from the repository's `web/`.
    pub async fn start_with_web() -> TestOrigin {
        Self::start_config(Config {
            web: Some(tools::repo().join("web")),
            ..Config::default()
        })
        .await
    }

    /// Starts an origin with the default timing on 127.0.0.1 port-0 listeners.
    pub async fn start() -> TestOrigin {
        Self::start_config(Config::default()).await
    }

    /// Starts an origin with `config` (its addresses are replaced by port-0 listeners).
    pub async fn start_config(config: Config) -> TestOrigin {
        let ingest = TcpListener::bind("127.0.0.1:0").await.expect("bind ingest");
        let playback = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind playback");
        let (ia, pa) = (ingest.local_addr().unwrap(), playback.local_addr().unwrap());
        let origin = Arc::new(
            Origin::open(Config {
                ingest: ia,
                playback: pa,
                ..config
            })
            .expect("the DVR directory opens"),
        );
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(origin::run(ingest, playback, origin.clone(), async {
            let _ = rx.await;
        }));
        TestOrigin {
            origin,
            ingest: ia,
            playback: pa,
            stop: Some(tx),
        }
    }

    /// Waits until every one of `tracks` of `channel` has at least `segments` complete
    /// segments, or fails after `limit` (a safety net, not a timing assumption).
    pub async fn wait_segments(
        &self,
        channel: &str,
        tracks: &[&str],
        segments: usize,
        limit: Duration,
    ) {
        let deadline = tokio::time::Instant::now() + limit;
        let ch = tokio::time::timeout_at(deadline, self.origin.wait_channel(channel))
            .await
            .unwrap_or_else(|_| panic!("channel {channel} never appeared"));
        let mut rx = ch.subscribe();
        let ready = rx.wait_for(|s| {
            tracks.iter().all(|t| {
                s.track(t)
                    .is_some_and(|t| t.complete_segments().count() >= segments)
            })
        });
        tokio::time::timeout_at(deadline, ready)
            .await
            .unwrap_or_else(|_| panic!("tracks {tracks:?} did not reach {segments} segments"))
            .expect("channel alive");
    }
}

impl Drop for TestOrigin {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
