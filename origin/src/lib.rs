//! # origin
//!
//! weir's native origin: CMAF ingest over HTTP, the live store, and HTTP serving of
//! init segments, segments, parts, manifests and a time source.
//!
//! Layering: this crate does all the I/O. It feeds request bodies to the [`cmaf`]
//! demuxer, places samples on the [`timeline`] model, keeps one stored copy of every
//! chunk as [`bytes::Bytes`], and renders manifests only through the [`manifest`] crate.
//!
//! Entry point for embedding and tests: [`run`] with two already-bound listeners, so
//! tests bind port 0 and know the ports before the server starts.
//!
//! ## Layout
//!
//! One room per concern; imports only point down this list:
//!
//! - [`config`], [`clock`], [`error`]: the bottom: settings and limits, the wall clock,
//!   and the plain error values (no HTTP in them). They import nothing of the crate.
//! - [`store`]: the live store: channels, tracks and the growing objects segments
//!   are read from while they are written. Uses `config`, `clock` and `error`; knows
//!   nothing of HTTP.
//! - [`http`]: generic HTTP server plumbing: the accept loop, the `Handler` a listener
//!   answers with, and response bodies. Knows nothing of ingest, serving or the store.
//! - [`ingest`]: the ingest listener (encoders upload here); writes into the store.
//! - [`serve`]: the playback listener (players read here); reads from the store.
//!   Inside: `route` (URLs), `media/` (init segments, segments, parts, byte ranges),
//!   `manifests/` (HLS, DASH, the timeline API, the render cache), `hold` (waiting for
//!   what is not there yet, shared by both), `web` and `metrics`.
//! - this file: wires them together ([`run`]) and re-exports [`Config`], [`Limits`]
//!   and [`Origin`] for embedders.
//!
//! ```text
//! config, clock, error  <-  store  <-  { ingest, serve }  <-  lib (run)
//!                           http   <-  { ingest, serve }
//! ```
//!
//! `ingest` and `serve` never import each other.

pub mod clock;
pub mod config;
pub mod dvr;
pub mod error;
pub mod http;
pub mod ingest;
pub mod serve;
pub mod store;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use config::{Config, ConfigError, Limits};
pub use store::Origin;

/// Runs the origin until `shutdown` completes: the ingest listener accepts encoder
/// uploads, the playback listener serves players. Then it shuts down gracefully: both
/// listeners stop accepting, responses in flight finish (up to the shutdown grace), the
/// segments in progress are closed where they are and the DVR writes them.
pub async fn run(
    ingest: TcpListener,
    playback: TcpListener,
    origin: Arc<Origin>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let limits = origin.config().conn_limits();
    let ingest_task = tokio::spawn(crate::http::accept_loop(
        ingest,
        Arc::new(ingest::IngestService::new(origin.clone())),
        stop_rx.clone(),
        limits,
    ));
    let reaper = tokio::spawn(reap_idle(origin.clone()));
    let playback_task = tokio::spawn(crate::http::accept_loop(
        playback,
        Arc::new(serve::PlaybackService::new(origin.clone())),
        stop_rx,
        limits,
    ));
    shutdown.await;
    reaper.abort();
    let _ = stop_tx.send(true);
    let _ = ingest_task.await;
    let _ = playback_task.await;
    let closed = origin.close_all();
    if let Some(dvr) = origin.dvr() {
        let _ = tokio::time::timeout(limits.shutdown_grace, dvr.flush()).await;
    }
    tracing::info!("stopped: {closed} segments in progress closed");
    Ok(())
}

/// Removes idle tracks and channels, checking a few times per idle timeout.
async fn reap_idle(origin: Arc<Origin>) {
    let idle = origin.config().limits.idle_timeout_s;
    let every = std::time::Duration::from_secs((idle / 4).clamp(1, 60));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tick.tick().await;
        origin.reap(clock::now_us());
    }
}
