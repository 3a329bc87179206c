//! The command line of `weir` (clap): every option has an environment variable
//! (`WEIR_…`), and `--config FILE` reads the same settings from a TOML file
//! ([`crate::file`]); the command line and the environment win over the file, the file
//! over the built-in defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// weir: a just-in-time packager for low-latency live HTTP streaming (HLS, LL-HLS,
/// L-HLS, DASH, LL-DASH, HESP) from CMAF ingest.
#[derive(Debug, Parser)]
#[command(name = "weir", version, propagate_version = true)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Sub,
    /// Log lines as text or as one JSON object per line (level: RUST_LOG, default info;
    /// RUST_LOG=debug logs every answer with its request id, status and time).
    #[arg(long, env = "WEIR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The three roles.
#[derive(Debug, Subcommand)]
pub enum Sub {
    /// The origin: CMAF ingest, the live store, the DVR, and playback of every protocol.
    Origin {
        /// Playback listener (players, edges) [default: 127.0.0.1:8080].
        #[arg(long, env = "WEIR_LISTEN")]
        listen: Option<SocketAddr>,
        /// TOML configuration file (see weir.example.toml).
        #[arg(long, env = "WEIR_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        origin: OriginOpts,
        #[command(flatten)]
        listeners: ListenerOpts,
    },
    /// The edge node: the WebAssembly component(s) of a Spin manifest and the
    /// chunked-proxy cache, in front of a running origin (`--env WEIR_ORIGIN=…`).
    Edge {
        /// Player-facing listener [default: 127.0.0.1:8080].
        #[arg(long, env = "WEIR_LISTEN")]
        listen: Option<SocketAddr>,
        /// TOML configuration file (see weir.example.toml).
        #[arg(long, env = "WEIR_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        edge: EdgeOpts,
        #[command(flatten)]
        listeners: ListenerOpts,
    },
    /// Origin and edge node in one process: the edge serves players on `--listen`, the
    /// origin's own playback listener moves to `--origin-listen`.
    Up {
        /// Player-facing listener (the edge node) [default: 127.0.0.1:8080].
        #[arg(long, env = "WEIR_LISTEN")]
        listen: Option<SocketAddr>,
        /// The origin's own playback listener [default: 127.0.0.1:8082].
        #[arg(long, env = "WEIR_ORIGIN_LISTEN")]
        origin_listen: Option<SocketAddr>,
        /// TOML configuration file (see weir.example.toml).
        #[arg(long, env = "WEIR_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        origin: OriginOpts,
        #[command(flatten)]
        edge: EdgeOpts,
        #[command(flatten)]
        listeners: ListenerOpts,
    },
    /// Prints a signed playback URL path (the edge's `--playback-key`): one token covers
    /// every URL of the channel until it expires.
    Sign {
        /// The signing key (the edge's `--playback-key`).
        #[arg(long, env = "WEIR_PLAYBACK_KEY", hide_env_values = true)]
        key: String,
        /// The path to sign, starting with the channel: `/live/master.m3u8`.
        path: String,
        /// Seconds the URL stays valid.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
}

/// The origin's options (also `weir up`'s).
#[derive(Debug, Default, Clone, Args)]
pub struct OriginOpts {
    /// Ingest listener (encoders) [default: 127.0.0.1:8081].
    #[arg(long, env = "WEIR_INGEST")]
    pub ingest: Option<SocketAddr>,
    /// Target segment duration in milliseconds (the cadence is chosen from the key
    /// frames at or above it) [default: 2000].
    #[arg(long, env = "WEIR_TARGET_DURATION_MS")]
    pub target_duration_ms: Option<u32>,
    /// LL-HLS part target in milliseconds [default: 200].
    #[arg(long, env = "WEIR_PART_TARGET_MS")]
    pub part_target_ms: Option<u32>,
    /// Complete segments listed by live playlists (≥ 3) [default: 10].
    #[arg(long, env = "WEIR_WINDOW")]
    pub window: Option<u32>,
    /// Longest key-frame interval taken as the cadence, in milliseconds [default: 10000].
    #[arg(long, env = "WEIR_MAX_KEYFRAME_INTERVAL_MS")]
    pub max_keyframe_interval_ms: Option<u32>,
    /// Largest box accepted from an encoder, in bytes [default: 16777216].
    #[arg(long, env = "WEIR_MAX_BOX")]
    pub max_box: Option<u64>,
    /// Channels at most [default: 64].
    #[arg(long, env = "WEIR_MAX_CHANNELS")]
    pub max_channels: Option<usize>,
    /// Tracks per channel at most [default: 16].
    #[arg(long, env = "WEIR_MAX_TRACKS")]
    pub max_tracks: Option<usize>,
    /// Samples per ingest fragment at most [default: 16384].
    #[arg(long, env = "WEIR_MAX_SAMPLES")]
    pub max_samples: Option<u32>,
    /// Seconds without ingest before a track or channel is removed [default: 300].
    #[arg(long, env = "WEIR_IDLE_TIMEOUT")]
    pub idle_timeout: Option<u64>,
    /// Seconds an upload may send nothing before it is cut and its segment closed
    /// [default: 10].
    #[arg(long, env = "WEIR_INGEST_IDLE_TIMEOUT")]
    pub ingest_idle_timeout: Option<u64>,
    /// Directory of the player page and its npm packages (web/ in the repository).
    #[arg(long, env = "WEIR_WEB")]
    pub web: Option<PathBuf>,
    /// Channels whose LL-HLS parts are byte ranges of their segment (`*` for all),
    /// comma-separated.
    #[arg(long, env = "WEIR_BYTERANGE_PARTS", value_delimiter = ',')]
    pub byterange_parts: Option<Vec<String>>,
    /// Public base URL of playback as players reach it, for the MPD's UTCTiming.
    #[arg(long, env = "WEIR_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The DVR's directory (complete segments on disk; none without it).
    #[arg(long, env = "WEIR_DVR_DIR")]
    pub dvr_dir: Option<PathBuf>,
    /// How long the DVR keeps a segment after its media ended, in seconds
    /// [default: 7200].
    #[arg(long, env = "WEIR_DVR_WINDOW")]
    pub dvr_window: Option<u64>,
    /// The secret every ingest request must carry (HTTP Basic password or bearer
    /// token) unless its channel has its own (configuration file).
    #[arg(long, env = "WEIR_INGEST_SECRET", hide_env_values = true)]
    pub ingest_secret: Option<String>,
}

/// Limits of every listener of the process (ingest, playback, players).
#[derive(Debug, Default, Clone, Args)]
pub struct ListenerOpts {
    /// Connections open at once per listener [default: 16384].
    #[arg(long, env = "WEIR_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds a client has to send a whole request head (also how long a kept-alive
    /// connection may sit idle) [default: 10].
    #[arg(long, env = "WEIR_HEADER_TIMEOUT")]
    pub header_timeout: Option<u64>,
    /// On SIGTERM or SIGINT, seconds responses in flight get to finish [default: 10].
    #[arg(long, env = "WEIR_SHUTDOWN_GRACE")]
    pub shutdown_grace: Option<u64>,
}

/// The edge node's options (also `weir up`'s).
#[derive(Debug, Default, Clone, Args)]
pub struct EdgeOpts {
    /// The Spin manifest of the component(s) [default: spin.toml].
    #[arg(long, env = "WEIR_SPIN")]
    pub spin: Option<PathBuf>,
    /// Environment of the component, KEY=VALUE (repeatable), e.g.
    /// `WEIR_ORIGIN=http://127.0.0.1:8082`.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = key_value)]
    pub env: Vec<(String, String)>,
    /// Extra allowed outbound hosts of the component (repeatable).
    #[arg(long)]
    pub allow: Vec<String>,
    /// Component instances at once [default: 1000].
    #[arg(long, env = "WEIR_MAX_INSTANCES")]
    pub max_instances: Option<u32>,
    /// The chunked-proxy cache's memory budget in MiB [default: 512].
    #[arg(long, env = "WEIR_CACHE_MB")]
    pub cache_mb: Option<u64>,
    /// Largest object the cache stores, in MiB; bigger ones stream through [default: 64].
    #[arg(long, env = "WEIR_CACHE_OBJECT_MB")]
    pub cache_object_mb: Option<u64>,
    /// No cache: every request goes to the origin.
    #[arg(long, env = "WEIR_NO_CACHE")]
    pub no_cache: bool,
    /// Serve manifests through the component's wasi:http handler only (not its
    /// manifest-handler export).
    #[arg(long, env = "WEIR_WASI_HTTP_ONLY")]
    pub wasi_http_only: bool,
    /// Key of signed playback URLs: every player request then needs a token
    /// (`weir sign`), checked at the edge and kept out of cache keys [default: open].
    #[arg(long, env = "WEIR_PLAYBACK_KEY", hide_env_values = true)]
    pub playback_key: Option<String>,
}

/// `KEY=VALUE`.
fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("'{s}' is not KEY=VALUE"))
}
