//! What to run, resolved from the command line, the environment and the configuration
//! file: command line and environment first, then the file, then the defaults. The
//! result is checked as a whole before anything starts.

use std::net::SocketAddr;
use std::path::PathBuf;

use origin::config::ChannelSettings;
use origin::{Config, ConfigError};

use crate::args::{Cli, EdgeOpts, ListenerOpts, OriginOpts, Sub};
use crate::file::{self, EdgeFile, FileConfig, OriginFile};

/// The edge node, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeArgs {
    /// The Spin manifest.
    pub spin: PathBuf,
    /// Player-facing listener.
    pub listen: SocketAddr,
    /// Environment of the component.
    pub env: Vec<(String, String)>,
    /// Extra allowed outbound hosts.
    pub allow: Vec<String>,
    /// Concurrent instances.
    pub max_instances: u32,
    /// `weir up`: the origin's playback listener.
    pub origin_listen: SocketAddr,
    /// The chunked-proxy cache's limits; `None` without a cache.
    pub cache: Option<edge_host::cache::Limits>,
    /// Serve manifests through the component's manifest-handler export.
    pub fast_manifests: bool,
    /// The player-facing listener's limits.
    pub conn: edge_host::ConnLimits,
    /// The key of signed playback URLs; `None`: playback is open.
    pub playback_key: Option<String>,
}

impl Default for EdgeArgs {
    fn default() -> Self {
        EdgeArgs {
            spin: "spin.toml".into(),
            listen: ([127, 0, 0, 1], 8080).into(),
            env: Vec::new(),
            allow: Vec::new(),
            max_instances: 1000,
            origin_listen: ([127, 0, 0, 1], 8082).into(),
            cache: Some(edge_host::cache::Limits::default()),
            fast_manifests: true,
            conn: edge_host::ConnLimits::default(),
            playback_key: None,
        }
    }
}

/// What to run (built once at start: the size difference between the variants costs
/// nothing).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// The origin alone.
    Origin(Config),
    /// The edge node alone.
    Edge(EdgeArgs),
    /// Origin + edge node (the origin's `playback` is `edge.origin_listen`).
    Up {
        /// The origin.
        config: Config,
        /// The edge node.
        edge: EdgeArgs,
    },
    /// Print a signed path.
    Sign {
        /// The signing key.
        key: String,
        /// The path.
        path: String,
        /// Until when (Unix seconds).
        expires: u64,
    },
}

/// Why the settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The configuration file.
    #[error(transparent)]
    File(#[from] file::FileError),
    /// A value out of its range.
    #[error("{0}")]
    Invalid(#[from] ConfigError),
}

/// Resolves the parsed command line.
pub fn resolve(cli: Cli) -> Result<Command, SettingsError> {
    let load = |p: Option<PathBuf>| -> Result<FileConfig, SettingsError> {
        Ok(match p {
            Some(p) => file::read(&p)?,
            None => FileConfig::default(),
        })
    };
    match cli.command {
        Sub::Origin {
            listen,
            config,
            origin,
            listeners,
        } => {
            let f = load(config)?;
            let mut cfg = origin_config(&origin, &listeners, &f)?;
            cfg.playback = listen
                .or(f.origin.listen)
                .unwrap_or_else(|| Config::default().playback);
            Ok(Command::Origin(cfg))
        }
        Sub::Edge {
            listen,
            config,
            edge,
            listeners,
        } => {
            let f = load(config)?;
            let mut e = edge_args(&edge, &listeners, &f.edge)?;
            e.listen = listen.or(f.edge.listen).unwrap_or(e.listen);
            Ok(Command::Edge(e))
        }
        Sub::Up {
            listen,
            origin_listen,
            config,
            origin,
            edge,
            listeners,
        } => {
            let f = load(config)?;
            let mut cfg = origin_config(&origin, &listeners, &f)?;
            let mut e = edge_args(&edge, &listeners, &f.edge)?;
            e.listen = listen.or(f.edge.listen).unwrap_or(e.listen);
            e.origin_listen = origin_listen
                .or(f.edge.origin_listen)
                .unwrap_or(e.origin_listen);
            cfg.playback = e.origin_listen;
            // The component renders the MPD the origin would: the same time source.
            if let Some(url) = &cfg.public_url {
                e.env.push(("WEIR_PUBLIC_URL".into(), url.clone()));
            }
            Ok(Command::Up {
                config: cfg,
                edge: e,
            })
        }
        Sub::Sign { key, path, ttl } => {
            if key.is_empty() || !path.starts_with('/') {
                return Err(SettingsError::Invalid(ConfigError(
                    "weir sign needs a non-empty --key and a path starting with /".into(),
                )));
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let expires = now.checked_add(ttl).ok_or_else(|| {
                SettingsError::Invalid(ConfigError(format!("--ttl {ttl} is too large")))
            })?;
            Ok(Command::Sign { key, path, expires })
        }
    }
}

/// The origin's configuration: each option from the command line (or environment),
/// else the file, else the default; then checked.
fn origin_config(o: &OriginOpts, ls: &ListenerOpts, f: &FileConfig) -> Result<Config, ConfigError> {
    let d = Config::default();
    let fo: &OriginFile = &f.origin;
    let mut c = Config {
        ingest: o.ingest.or(fo.ingest).unwrap_or(d.ingest),
        web: o.web.clone().or_else(|| fo.web.clone()),
        public_url: o.public_url.clone().or_else(|| fo.public_url.clone()),
        max_box: o.max_box.or(fo.max_box).unwrap_or(d.max_box),
        byterange_parts: o
            .byterange_parts
            .clone()
            .or_else(|| fo.byterange_parts.clone())
            .unwrap_or_default(),
        ingest_secret: o.ingest_secret.clone().or_else(|| fo.ingest_secret.clone()),
        ..d.clone()
    };
    let t = &mut c.timing;
    t.target_duration_ms = o
        .target_duration_ms
        .or(fo.target_duration_ms)
        .unwrap_or(t.target_duration_ms);
    t.part_target_ms = o
        .part_target_ms
        .or(fo.part_target_ms)
        .unwrap_or(t.part_target_ms);
    t.window_segments = o.window.or(fo.window).unwrap_or(t.window_segments);
    t.max_keyframe_interval_ms = o
        .max_keyframe_interval_ms
        .or(fo.max_keyframe_interval_ms)
        .unwrap_or(t.max_keyframe_interval_ms);
    let l = &mut c.limits;
    l.max_channels = o.max_channels.or(fo.max_channels).unwrap_or(l.max_channels);
    l.max_tracks = o.max_tracks.or(fo.max_tracks).unwrap_or(l.max_tracks);
    l.max_samples = o.max_samples.or(fo.max_samples).unwrap_or(l.max_samples);
    l.idle_timeout_s = o
        .idle_timeout
        .or(fo.idle_timeout)
        .unwrap_or(l.idle_timeout_s);
    l.ingest_idle_timeout_s = o
        .ingest_idle_timeout
        .or(fo.ingest_idle_timeout)
        .unwrap_or(l.ingest_idle_timeout_s);
    l.max_connections = ls
        .max_connections
        .or(fo.max_connections)
        .unwrap_or(l.max_connections);
    l.header_timeout_s = ls
        .header_timeout
        .or(fo.header_timeout)
        .unwrap_or(l.header_timeout_s);
    l.shutdown_grace_s = ls
        .shutdown_grace
        .or(fo.shutdown_grace)
        .unwrap_or(l.shutdown_grace_s);
    let dvr_window = o.dvr_window.or(fo.dvr_window);
    c.dvr = match (o.dvr_dir.clone().or_else(|| fo.dvr_dir.clone()), dvr_window) {
        (Some(dir), w) => Some(origin::dvr::DvrConfig {
            dir,
            window_s: w.unwrap_or(origin::dvr::DEFAULT_WINDOW_S),
        }),
        (None, Some(_)) => {
            return Err(ConfigError("dvr-window needs dvr-dir".into()));
        }
        (None, None) => None,
    };
    if let Some(url) = &c.public_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError(format!(
                "public-url '{url}' is not an http:// or https:// URL"
            )));
        }
        c.public_url = Some(url.trim_end_matches('/').to_string());
    }
    for (name, ch) in &f.channels {
        if !manifest::policy::valid_name(name) {
            return Err(ConfigError(format!(
                "[channels.{name}]: a channel name is 1-64 characters of A-Z a-z 0-9 _ -"
            )));
        }
        c.channels.insert(
            name.clone(),
            ChannelSettings {
                ingest_secret: ch.ingest_secret.clone(),
                window_segments: ch.window,
                byterange_parts: ch.byterange_parts,
                dvr_window_s: ch.dvr_window,
                target_duration_ms: ch.target_duration_ms,
                part_target_ms: ch.part_target_ms,
            },
        );
    }
    c.validate()?;
    Ok(c)
}

/// The edge node's settings: command line (or environment), else file, else default.
fn edge_args(e: &EdgeOpts, ls: &ListenerOpts, f: &EdgeFile) -> Result<EdgeArgs, ConfigError> {
    let d_conn = edge_host::ConnLimits::default();
    let secs = |v: Option<u64>, d: std::time::Duration| v.map_or(d, std::time::Duration::from_secs);
    let conn = edge_host::ConnLimits {
        max_connections: ls
            .max_connections
            .or(f.max_connections)
            .unwrap_or(d_conn.max_connections),
        header_read_timeout: secs(
            ls.header_timeout.or(f.header_timeout),
            d_conn.header_read_timeout,
        ),
        shutdown_grace: secs(
            ls.shutdown_grace.or(f.shutdown_grace),
            d_conn.shutdown_grace,
        ),
    };
    if conn.max_connections == 0 || conn.header_read_timeout.is_zero() {
        return Err(ConfigError(
            "max-connections and header-timeout must be at least 1".into(),
        ));
    }
    let d = EdgeArgs::default();
    let mut env: Vec<(String, String)> =
        f.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    // The command line's win: later entries override earlier ones in the component.
    env.extend(e.env.iter().cloned());
    let mut allow = f.allow.clone();
    allow.extend(e.allow.iter().cloned());
    let no_cache = e.no_cache || f.no_cache.unwrap_or(false);
    let cache = (!no_cache).then(|| {
        let mut l = edge_host::cache::Limits::default();
        if let Some(mb) = e.cache_mb.or(f.cache_mb) {
            l.budget = mb << 20;
        }
        if let Some(mb) = e.cache_object_mb.or(f.cache_object_mb) {
            l.max_object = mb << 20;
        }
        l
    });
    Ok(EdgeArgs {
        spin: e.spin.clone().or_else(|| f.spin.clone()).unwrap_or(d.spin),
        listen: d.listen,
        env,
        allow,
        max_instances: e
            .max_instances
            .or(f.max_instances)
            .unwrap_or(d.max_instances),
        origin_listen: d.origin_listen,
        cache,
        fast_manifests: !(e.wasi_http_only || f.wasi_http_only.unwrap_or(false)),
        conn,
        playback_key: e
            .playback_key
            .clone()
            .or_else(|| f.playback_key.clone())
            .filter(|k| !k.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn run(s: &str) -> Result<Command, SettingsError> {
        let argv = std::iter::once("weir").chain(s.split_whitespace());
        resolve(Cli::try_parse_from(argv).map_err(|e| ConfigError(e.to_string()))?)
    }

    #[test]
    fn up_splits_origin_and_edge_options() {
        let Ok(Command::Up { config, edge }) = run(
            "up --listen 127.0.0.1:9000 --spin x/spin.toml --window 6 --no-cache --wasi-http-only --env A=b --origin-listen 127.0.0.1:9002",
        ) else {
            panic!("up parses")
        };
        assert_eq!(edge.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(edge.origin_listen, "127.0.0.1:9002".parse().unwrap());
        assert_eq!(config.playback, edge.origin_listen);
        assert_eq!(edge.spin, PathBuf::from("x/spin.toml"));
        assert_eq!(edge.env, vec![("A".into(), "b".into())]);
        assert_eq!(config.timing.window_segments, 6);
        assert_eq!(edge.cache, None);
        assert!(!edge.fast_manifests);
    }

    #[test]
    fn bad_options_are_refused() {
        assert!(Cli::try_parse_from(["weir", "edge", "--window", "6"]).is_err());
        assert!(Cli::try_parse_from(["weir", "edge", "--env", "novalue"]).is_err());
        assert!(Cli::try_parse_from(["weir", "nonsense"]).is_err());
        assert!(run("origin --window 2").is_err());
        assert!(run("origin --listen nowhere").is_err());
        assert!(run("origin --dvr-window 60").is_err());
        assert!(run("origin --public-url cdn.example").is_err());
        let Ok(Command::Origin(c)) = run("origin --public-url https://cdn.example/live/") else {
            panic!("origin parses")
        };
        assert_eq!(c.public_url.as_deref(), Some("https://cdn.example/live"));
    }

    #[test]
    fn defaults() {
        let Ok(Command::Edge(e)) = run("edge") else {
            panic!("edge parses")
        };
        assert_eq!(e, EdgeArgs::default());
        let Ok(Command::Origin(c)) = run("origin") else {
            panic!("origin parses")
        };
        assert_eq!(c, Config::default());
    }

    #[test]
    fn the_file_fills_in_and_the_command_line_wins() {
        let dir = std::env::temp_dir().join(format!("weir-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("weir.toml");
        std::fs::write(
            &path,
            "[origin]\nwindow = 5\npart-target-ms = 250\ningest-secret = \"s3\"\n\
             [edge]\ncache-mb = 64\nenv = { A = \"file\" }\n\
             [channels.news]\ningest-secret = \"n\"\nwindow = 8\ndvr-window = 600\n\
             target-duration-ms = 4000\npart-target-ms = 500\n",
        )
        .unwrap();
        let p = path.display();
        let Ok(Command::Up { config, edge }) =
            run(&format!("up --config {p} --window 7 --env A=cli"))
        else {
            panic!("up with a file parses")
        };
        assert_eq!(config.timing.window_segments, 7, "the command line wins");
        assert_eq!(config.timing.part_target_ms, 250, "the file fills in");
        assert_eq!(config.ingest_secret.as_deref(), Some("s3"));
        assert_eq!(config.secret_of("news"), Some("n"));
        assert_eq!(config.secret_of("other"), Some("s3"));
        assert_eq!(config.timing_of("news").window_segments, 8);
        assert_eq!(config.timing_of("news").target_duration_ms, 4000);
        assert_eq!(config.timing_of("news").part_target_ms, 500);
        assert_eq!(config.timing_of("other").part_target_ms, 250);
        assert_eq!(config.channels["news"].dvr_window_s, Some(600));
        assert_eq!(edge.cache.map(|l| l.budget), Some(64 << 20));
        assert_eq!(edge.env.last(), Some(&("A".to_string(), "cli".to_string())));
        // A typo, and a bad value, are refused with the line.
        std::fs::write(&path, "[origin]\nwindw = 5\n").unwrap();
        let e = run(&format!("origin --config {p}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("windw"), "{e}");
        std::fs::write(&path, "[origin]\nwindow = \"five\"\n").unwrap();
        let e = run(&format!("origin --config {p}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2"), "{e}");
        std::fs::write(&path, "[channels.news]\nwindow = 2\n").unwrap();
        assert!(run(&format!("origin --config {p}")).is_err());
        // A channel's part target above its target duration is refused with both.
        std::fs::write(
            &path,
            "[channels.news]\ntarget-duration-ms = 1000\npart-target-ms = 1500\n",
        )
        .unwrap();
        let e = run(&format!("origin --config {p}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("[channels.news]") && e.contains("1500"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
