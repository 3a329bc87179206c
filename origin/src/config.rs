//! Origin configuration (the `weir` command line and configuration file resolve into
//! it) and the rules it must follow.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use timeline::TimingConfig;

pub use listener::{DEFAULT_HEADER_TIMEOUT_S, DEFAULT_MAX_CONNECTIONS, DEFAULT_SHUTDOWN_GRACE_S};

/// Default time an upload may go without a byte before it is cut, in seconds.
pub const DEFAULT_INGEST_IDLE_TIMEOUT_S: u64 = 10;

/// Bounds on what encoders can make the origin hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Channels at most (default 64); an upload for one more is refused (429).
    pub max_channels: usize,
    /// Tracks per channel at most (default 16); one more is refused (429).
    pub max_tracks: usize,
    /// Complete segments kept downloadable beyond the listed window, for late readers.
    pub extra_segments: u32,
    /// A track without ingest for this long is removed, and a channel without tracks
    /// (or without ingest) for this long too (default 300 s).
    pub idle_timeout_s: u64,
    /// Samples per ingest fragment at most (the demuxer refuses more, 400).
    pub max_samples: u32,
    /// An upload that sends nothing for this long is cut and its segment in progress
    /// closed, as when the encoder's connection breaks (default 10 s).
    pub ingest_idle_timeout_s: u64,
    /// Connections open at once, per listener (default 16,384).
    pub max_connections: usize,
    /// Time a client has to send a whole request head (default 10 s).
    pub header_timeout_s: u64,
    /// Time responses in flight get to finish on SIGTERM / SIGINT (default 10 s).
    pub shutdown_grace_s: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_channels: 64,
            max_tracks: 16,
            extra_segments: 3,
            idle_timeout_s: 300,
            max_samples: 16_384,
            ingest_idle_timeout_s: DEFAULT_INGEST_IDLE_TIMEOUT_S,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout_s: DEFAULT_HEADER_TIMEOUT_S,
            shutdown_grace_s: DEFAULT_SHUTDOWN_GRACE_S,
        }
    }
}

/// Everything configurable about an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Ingest listener address (default 127.0.0.1:8081).
    pub ingest: SocketAddr,
    /// Playback listener address (default 127.0.0.1:8080).
    pub playback: SocketAddr,
    /// Segment/part targets and window size.
    pub timing: TimingConfig,
    /// Bounds on channels, tracks, samples and idle time.
    pub limits: Limits,
    /// Largest top-level box accepted from an encoder, in bytes.
    pub max_box: u64,
    /// Directory of the player page (`index.html`) and its npm packages
    /// (`node_modules/hls.js`, `node_modules/shaka-player`), served at `/` and `/vendor/`.
    pub web: Option<std::path::PathBuf>,
    /// Channels whose LL-HLS parts are addressed as byte ranges of their segment file
    /// (`*` for all).
    pub byterange_parts: Vec<String>,
    /// Public base URL of the playback service as players reach it (e.g.
    /// `https://cdn.example/live`), for the MPD's UTCTiming (`{public_url}/time`).
    /// Without it the MPD names the time source relatively (`../time`); it is never
    /// taken from a request's Host header.
    pub public_url: Option<String>,
    /// The DVR (`--dvr-dir`, `--dvr-window`): complete segments kept on disk.
    pub dvr: Option<crate::dvr::DvrConfig>,
    /// The secret every ingest request must carry (`--ingest-secret`), unless its
    /// channel has its own; `None`: ingest is open (bind it to a private interface).
    pub ingest_secret: Option<String>,
    /// Per-channel settings (the configuration file's `[channels.NAME]`).
    pub channels: BTreeMap<String, ChannelSettings>,
}

/// What a channel may set for itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelSettings {
    /// Its ingest secret, instead of the origin's.
    pub ingest_secret: Option<String>,
    /// Its live window in segments, instead of the origin's.
    pub window_segments: Option<u32>,
    /// LL-HLS parts as byte ranges (overrides `byterange_parts`).
    pub byterange_parts: Option<bool>,
    /// Its DVR window in seconds, instead of the origin's.
    pub dvr_window_s: Option<u64>,
    /// Its segment target duration in ms, instead of the origin's.
    pub target_duration_ms: Option<u32>,
    /// Its LL-HLS part target in ms, instead of the origin's.
    pub part_target_ms: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ingest: SocketAddr::from(([127, 0, 0, 1], 8081)),
            playback: SocketAddr::from(([127, 0, 0, 1], 8080)),
            timing: TimingConfig::default(),
            limits: Limits::default(),
            max_box: 16 << 20,
            web: None,
            byterange_parts: Vec::new(),
            public_url: None,
            dvr: None,
            ingest_secret: None,
            channels: BTreeMap::new(),
        }
    }
}

/// A setting that could not be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The longest segment target weir takes. Requests are held up to 3 target durations
/// (of segments up to twice the target, when key frames are sparse), and an edge waits
/// 65 s for the origin's answer (`edge_host::cache::HEAD_TIMEOUT`): 10 s keeps every
/// hold inside it. Apple's authoring spec asks for 6 s.
pub const MAX_TARGET_DURATION_MS: u32 = 10_000;

impl Config {
    /// The connection limits of each listener.
    pub fn conn_limits(&self) -> crate::http::ConnLimits {
        crate::http::ConnLimits {
            max_connections: self.limits.max_connections,
            header_read_timeout: std::time::Duration::from_secs(self.limits.header_timeout_s),
            shutdown_grace: std::time::Duration::from_secs(self.limits.shutdown_grace_s),
        }
    }

    /// The timing of channel `name`: the origin's, with the channel's own window.
    pub fn timing_of(&self, name: &str) -> TimingConfig {
        let mut t = self.timing;
        if let Some(c) = self.channels.get(name) {
            t.window_segments = c.window_segments.unwrap_or(t.window_segments);
            t.target_duration_ms = c.target_duration_ms.unwrap_or(t.target_duration_ms);
            t.part_target_ms = c.part_target_ms.unwrap_or(t.part_target_ms);
        }
        t
    }

    /// The secret ingest of channel `name` needs: the channel's own, else the
    /// origin's; `None` when ingest is open.
    pub fn secret_of(&self, name: &str) -> Option<&str> {
        self.channels
            .get(name)
            .and_then(|c| c.ingest_secret.as_deref())
            .or(self.ingest_secret.as_deref())
    }

    /// True when channel `name` addresses LL-HLS parts as byte ranges.
    pub fn byterange_of(&self, name: &str) -> bool {
        match self.channels.get(name).and_then(|c| c.byterange_parts) {
            Some(b) => b,
            None => self.byterange_parts.iter().any(|c| c == name || c == "*"),
        }
    }

    /// Checks the rules the timing must follow.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let t = &self.timing;
        if !(500..=MAX_TARGET_DURATION_MS).contains(&t.target_duration_ms) {
            return Err(ConfigError(format!(
                "--target-duration-ms must be between 500 and {MAX_TARGET_DURATION_MS}"
            )));
        }
        if t.part_target_ms == 0 || t.part_target_ms > t.target_duration_ms {
            return Err(ConfigError(
                "--part-target-ms must be between 1 and the target duration".into(),
            ));
        }
        if self.limits.max_channels == 0 || self.limits.max_tracks == 0 {
            return Err(ConfigError(
                "--max-channels and --max-tracks must be at least 1".into(),
            ));
        }
        if self.limits.ingest_idle_timeout_s == 0
            || self.limits.header_timeout_s == 0
            || self.limits.max_connections == 0
        {
            return Err(ConfigError(
                "--ingest-idle-timeout, --header-timeout and --max-connections must be at least 1"
                    .into(),
            ));
        }
        if self.limits.idle_timeout_s == 0 {
            return Err(ConfigError("--idle-timeout must be at least 1 s".into()));
        }
        if self.dvr.as_ref().is_some_and(|d| d.window_s == 0) {
            return Err(ConfigError("--dvr-window must be at least 1 s".into()));
        }
        // [HLS §6.2.2] a live playlist must stay at least three target durations long.
        if t.window_segments < 3 {
            return Err(ConfigError("--window must be at least 3 segments".into()));
        }
        for (name, c) in &self.channels {
            let t = self.timing_of(name);
            if !(500..=MAX_TARGET_DURATION_MS).contains(&t.target_duration_ms)
                || t.part_target_ms == 0
                || t.part_target_ms > t.target_duration_ms
            {
                return Err(ConfigError(format!(
                    "[channels.{name}] target-duration-ms must be between 500 and \
                     {MAX_TARGET_DURATION_MS} and part-target-ms between 1 and it (here {} and {})",
                    t.target_duration_ms, t.part_target_ms
                )));
            }
            if c.window_segments.is_some_and(|w| w < 3) {
                return Err(ConfigError(format!(
                    "[channels.{name}] window must be at least 3 segments"
                )));
            }
            if c.dvr_window_s == Some(0) {
                return Err(ConfigError(format!(
                    "[channels.{name}] dvr-window must be at least 1 s"
                )));
            }
            if c.ingest_secret.as_deref().is_some_and(str::is_empty) {
                return Err(ConfigError(format!(
                    "[channels.{name}] ingest-secret is empty"
                )));
            }
        }
        if self.ingest_secret.as_deref().is_some_and(str::is_empty) {
            return Err(ConfigError("--ingest-secret is empty".into()));
        }
        Ok(())
    }
}
