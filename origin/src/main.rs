//! `weir`: the command-line entry point.
//!
//! `weir origin [options]` runs the native origin (ingest on 127.0.0.1:8081, playback
//! on 127.0.0.1:8080 by default). `weir up` is the single-machine mode; until the Wasm
//! edge node lands it runs the origin serving players directly.

use std::sync::Arc;

use anyhow::Context as _;
use origin::{Config, Origin};

const USAGE: &str = "usage: weir <origin|up> [--ingest ADDR] [--listen ADDR] \
[--target-duration-ms N] [--part-target-ms N] [--window SEGMENTS] [--max-box BYTES] [--web DIR]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let cmd = args.next().unwrap_or_default();
    if !matches!(cmd.as_str(), "origin" | "up") {
        anyhow::bail!("{USAGE}");
    }
    let config = Config::from_args(args).context(USAGE)?;
    let ingest = tokio::net::TcpListener::bind(config.ingest)
        .await
        .with_context(|| format!("binding ingest listener {}", config.ingest))?;
    let playback = tokio::net::TcpListener::bind(config.playback)
        .await
        .with_context(|| format!("binding playback listener {}", config.playback))?;
    tracing::info!(
        "weir {cmd}: ingest on http://{}/ingest/{{channel}}/..., playback on http://{}/",
        ingest.local_addr()?,
        playback.local_addr()?
    );
    let origin = Arc::new(Origin::new(config));
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    origin::run(ingest, playback, origin, shutdown).await?;
    Ok(())
}
