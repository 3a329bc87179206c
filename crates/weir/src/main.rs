//! `weir`: the command-line entry point.
//!
//! Every option also comes from the environment (`WEIR_…`) and from the TOML file of
//! `--config` (`args`, `file`, `settings`); `weir --help` lists them.
//!
//! - `weir origin [options]`: the native origin (ingest on 127.0.0.1:8081, playback on
//!   127.0.0.1:8080 by default).
//! - `weir edge [--spin FILE] [--listen ADDR] [--env K=V]… [--allow URL]…`: the edge node
//!   hosting the Wasm component(s) of a Spin manifest, in front of a running origin.
//! - `weir up [options]`: both in one process: the origin's playback listener moves to
//!   127.0.0.1:8082 (`--origin-listen`), the edge node serves players on `--listen`
//!   (127.0.0.1:8080), and the component's requests to the origin are answered
//!   in-process.

mod args;
mod file;
mod settings;

use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser as _;
use edge_host::{EdgeNode, EdgeOptions};
use manifest::policy::edge::ORIGIN_VAR;
use origin::Origin;
use origin::serve::PlaybackService;
use settings::{Command, EdgeArgs};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = args::Cli::parse();
    // Logs: human-readable lines, or one JSON object per line (with the request span's
    // id, method and path) for log shippers; the level from RUST_LOG (default info).
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    match cli.log_format {
        args::LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).init(),
        args::LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .init(),
    }
    // A server holds a descriptor per connection: the soft open-file limit (often
    // 1,024) is raised to the hard one, as nginx's worker_rlimit_nofile does.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!("cannot raise the open-file limit: {e}");
    }
    // Invalid settings stop weir before anything starts, with the reason (and, for the
    // configuration file, its line).
    let command = match settings::resolve(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("weir: {e}");
            std::process::exit(2);
        }
    };
    // SIGTERM (service managers, `docker stop`) and SIGINT (Ctrl-C) alike: stop
    // accepting, finish what is in flight, close the segments in progress, exit 0.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        }
    };
    match command {
        Command::Sign { key, path, expires } => {
            match manifest::signed::sign_path(key.as_bytes(), &path, expires) {
                Some(signed) => println!("{signed}"),
                None => {
                    eprintln!("weir: {path} names no channel: sign /CHANNEL/...");
                    std::process::exit(2);
                }
            }
        }
        Command::Origin(config) => {
            let ingest = bind(config.ingest).await?;
            let playback = bind(config.playback).await?;
            tracing::info!(
                "weir origin: ingest on http://{}/ingest/{{channel}}/..., playback on http://{}/",
                ingest.local_addr()?,
                playback.local_addr()?
            );
            origin::run(ingest, playback, Arc::new(Origin::open(config)?), shutdown).await?;
        }
        Command::Edge(edge) => {
            let listener = bind(edge.listen).await?;
            let conn = edge.conn;
            let node = load(edge, None)?;
            tracing::info!("weir edge: players on http://{}/", listener.local_addr()?);
            edge_host::serve(listener, Arc::new(node), shutdown, conn).await;
        }
        Command::Up { mut config, edge } => {
            let ingest = bind(config.ingest).await?;
            let playback = bind(edge.origin_listen).await?;
            let players = bind(edge.listen).await?;
            let internal = playback.local_addr()?;
            config.playback = internal;
            let origin = Arc::new(Origin::open(config)?);
            let service = Arc::new(PlaybackService::new(origin.clone()));
            let local = edge_host::local_service(move |req| service.clone().respond(req));
            let conn = edge.conn;
            let node = load(edge, Some((internal.to_string(), local)))?;
            tracing::info!(
                "weir up: ingest on http://{}/ingest/{{channel}}/..., players on http://{}/ \
                 (edge component), origin playback on http://{internal}/",
                ingest.local_addr()?,
                players.local_addr()?
            );
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let edge_task = tokio::spawn(edge_host::serve(
                players,
                Arc::new(node),
                {
                    let mut rx = stop_rx.clone();
                    async move {
                        let _ = rx.wait_for(|s| *s).await;
                    }
                },
                conn,
            ));
            origin::run(ingest, playback, origin, async move {
                shutdown.await;
                let _ = stop_tx.send(true);
            })
            .await?;
            let _ = edge_task.await;
        }
    }
    Ok(())
}

/// Pending connections a listener queues before accepting: a burst of players
/// (a thousand joining one live edge) must not overflow the kernel's accept queue, whose
/// overflow costs a retransmitted handshake (a second or more) per dropped connection.
/// tokio's `TcpListener::bind` uses 128; the kernel caps this at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 4096;

async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    let socket = match addr {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .with_context(|| format!("socket for {addr}"))?;
    // As `TcpListener::bind` does, so that a restarted weir can bind at once.
    socket
        .set_reuseaddr(true)
        .with_context(|| format!("SO_REUSEADDR on {addr}"))?;
    socket
        .bind(addr)
        .with_context(|| format!("binding {addr}"))?;
    socket
        .listen(LISTEN_BACKLOG)
        .with_context(|| format!("listening on {addr}"))
}

/// Loads the edge node; with a co-hosted origin, the component is pointed at it.
fn load(
    edge: EdgeArgs,
    local: Option<(String, edge_host::LocalService)>,
) -> anyhow::Result<EdgeNode> {
    let mut options = EdgeOptions::new(&edge.spin);
    options.env = edge.env;
    options.allow = edge.allow;
    options.max_instances = edge.max_instances;
    options.cache = edge.cache;
    options.fast_manifests = edge.fast_manifests;
    options.playback_key = edge.playback_key;
    if let Some((authority, _)) = &local {
        options
            .env
            .push((ORIGIN_VAR.into(), format!("http://{authority}")));
        options.allow.push(format!("http://{authority}"));
    }
    options.local = local;
    EdgeNode::load(options).with_context(|| format!("loading {}", edge.spin.display()))
}
