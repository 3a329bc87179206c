//! The TOML configuration file of `--config` (`weir.example.toml` shows every key).
//! Unknown keys are refused, so a typo is an error at start, with its line, not a
//! setting silently ignored.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `[origin]`.
    #[serde(default)]
    pub origin: OriginFile,
    /// `[edge]`.
    #[serde(default)]
    pub edge: EdgeFile,
    /// `[channels.NAME]`: per-channel settings.
    #[serde(default)]
    pub channels: BTreeMap<String, ChannelFile>,
}

/// `[origin]`: the keys of the origin's command-line options.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OriginFile {
    pub listen: Option<SocketAddr>,
    pub ingest: Option<SocketAddr>,
    pub target_duration_ms: Option<u32>,
    pub part_target_ms: Option<u32>,
    pub window: Option<u32>,
    pub max_keyframe_interval_ms: Option<u32>,
    pub max_box: Option<u64>,
    pub max_channels: Option<usize>,
    pub max_tracks: Option<usize>,
    pub max_samples: Option<u32>,
    pub idle_timeout: Option<u64>,
    pub ingest_idle_timeout: Option<u64>,
    pub max_connections: Option<usize>,
    pub header_timeout: Option<u64>,
    pub shutdown_grace: Option<u64>,
    pub web: Option<PathBuf>,
    pub byterange_parts: Option<Vec<String>>,
    pub public_url: Option<String>,
    pub dvr_dir: Option<PathBuf>,
    pub dvr_window: Option<u64>,
    pub ingest_secret: Option<String>,
}

/// `[edge]`: the keys of the edge node's command-line options.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EdgeFile {
    pub listen: Option<SocketAddr>,
    pub origin_listen: Option<SocketAddr>,
    pub spin: Option<PathBuf>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub allow: Vec<String>,
    pub max_instances: Option<u32>,
    pub cache_mb: Option<u64>,
    pub cache_object_mb: Option<u64>,
    pub max_connections: Option<usize>,
    pub header_timeout: Option<u64>,
    pub shutdown_grace: Option<u64>,
    pub no_cache: Option<bool>,
    pub wasi_http_only: Option<bool>,
    pub playback_key: Option<String>,
}

/// `[channels.NAME]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ChannelFile {
    /// This channel's ingest secret (instead of the global one).
    pub ingest_secret: Option<String>,
    /// Its live window in segments.
    pub window: Option<u32>,
    /// LL-HLS parts as byte ranges of their segment.
    pub byterange_parts: Option<bool>,
    /// Its DVR window in seconds.
    pub dvr_window: Option<u64>,
    /// Its segment target duration in ms.
    pub target_duration_ms: Option<u32>,
    /// Its LL-HLS part target in ms.
    pub part_target_ms: Option<u32>,
}

/// Why the file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// It could not be read.
    #[error("{0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// It is not valid TOML for weir (the message names the line and the key).
    #[error("{0}: {1}")]
    Invalid(PathBuf, String),
}

/// Reads and checks `path`.
pub fn read(path: &Path) -> Result<FileConfig, FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError::Read(path.into(), e))?;
    parse(&text).map_err(|e| FileError::Invalid(path.into(), e))
}

/// Parses the text of a configuration file.
pub fn parse(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim_end().replace('\n', " "))
}
