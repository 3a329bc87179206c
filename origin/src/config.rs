//! Origin configuration and its command-line form.

use std::net::SocketAddr;

use timeline::TimingConfig;

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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_channels: 64,
            max_tracks: 16,
            extra_segments: 3,
            idle_timeout_s: 300,
            max_samples: 16_384,
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
        }
    }
}

/// A command-line argument that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Parses `--name value` options (after the subcommand).
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Self, ConfigError> {
        let mut cfg = Config::default();
        let mut dvr_window: Option<u64> = None;
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            let value = it
                .next()
                .ok_or_else(|| ConfigError(format!("{flag} needs a value")))?;
            let bad = |what: &str| ConfigError(format!("{flag}: invalid {what} '{value}'"));
            match flag.as_str() {
                "--ingest" => cfg.ingest = value.parse().map_err(|_| bad("address"))?,
                "--listen" => cfg.playback = value.parse().map_err(|_| bad("address"))?,
                "--target-duration-ms" => {
                    cfg.timing.target_duration_ms = value.parse().map_err(|_| bad("number"))?
                }
                "--part-target-ms" => {
                    cfg.timing.part_target_ms = value.parse().map_err(|_| bad("number"))?
                }
                "--window" => {
                    cfg.timing.window_segments = value.parse().map_err(|_| bad("number"))?
                }
                "--max-box" => cfg.max_box = value.parse().map_err(|_| bad("number"))?,
                "--max-channels" => {
                    cfg.limits.max_channels = value.parse().map_err(|_| bad("number"))?
                }
                "--max-tracks" => {
                    cfg.limits.max_tracks = value.parse().map_err(|_| bad("number"))?
                }
                "--idle-timeout" => {
                    cfg.limits.idle_timeout_s = value.parse().map_err(|_| bad("number"))?
                }
                "--max-samples" => {
                    cfg.limits.max_samples = value.parse().map_err(|_| bad("number"))?
                }
                "--max-keyframe-interval-ms" => {
                    cfg.timing.max_keyframe_interval_ms =
                        value.parse().map_err(|_| bad("number"))?
                }
                "--web" => cfg.web = Some(value.into()),
                "--byterange-parts" => {
                    cfg.byterange_parts = value.split(',').map(String::from).collect()
                }
                "--public-url" => {
                    if !(value.starts_with("https://") || value.starts_with("http://")) {
                        return Err(bad("URL (http:// or https://)"));
                    }
                    cfg.public_url = Some(value.trim_end_matches('/').to_string())
                }
                "--dvr-dir" => {
                    let window_s = cfg
                        .dvr
                        .as_ref()
                        .map_or(crate::dvr::DEFAULT_WINDOW_S, |d| d.window_s);
                    cfg.dvr = Some(crate::dvr::DvrConfig {
                        dir: value.into(),
                        window_s,
                    })
                }
                "--dvr-window" => {
                    dvr_window = Some(value.parse().map_err(|_| bad("number of seconds"))?)
                }
                _ => return Err(ConfigError(format!("unknown option {flag}"))),
            }
        }
        match (&mut cfg.dvr, dvr_window) {
            (Some(d), Some(w)) => d.window_s = w,
            (None, Some(_)) => return Err(ConfigError("--dvr-window needs --dvr-dir".into())),
            _ => {}
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the rules the timing must follow.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let t = &self.timing;
        if t.target_duration_ms < 500 {
            return Err(ConfigError(
                "--target-duration-ms must be at least 500".into(),
            ));
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_options_and_rejects_bad_ones() {
        let c = Config::from_args(args("--listen 127.0.0.1:0 --part-target-ms 250")).unwrap();
        assert_eq!(c.playback.port(), 0);
        assert_eq!(c.timing.part_target_ms, 250);
        assert!(Config::from_args(args("--window 2")).is_err());
        assert!(Config::from_args(args("--listen nowhere")).is_err());
        assert!(Config::from_args(args("--bogus 1")).is_err());
        assert!(Config::from_args(args("--window")).is_err());
        let c = Config::from_args(args("--public-url https://cdn.example/live/")).unwrap();
        assert_eq!(c.public_url.as_deref(), Some("https://cdn.example/live"));
        assert!(Config::from_args(args("--public-url cdn.example")).is_err());
    }
}
