//! Command-line parsing of `weir`.

use std::net::SocketAddr;
use std::path::PathBuf;

use origin::Config;

/// Usage text, shown on any parse error.
pub const USAGE: &str = "usage:
  weir origin [--ingest ADDR] [--listen ADDR] [--target-duration-ms N] [--part-target-ms N]
              [--window SEGMENTS] [--max-box BYTES] [--web DIR] [--byterange-parts IDS]
              [--public-url URL] [--dvr-dir DIR] [--dvr-window SECONDS]
  weir edge   [--spin FILE] [--listen ADDR] [--env KEY=VALUE]... [--allow URL]... [--max-instances N]
              [--cache-mb N] [--cache-object-mb N] [--no-cache] [--wasi-http-only]
  weir up     [origin options] [edge options] [--origin-listen ADDR]";

/// Options of the edge node.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeArgs {
    /// The Spin manifest (default `spin.toml`).
    pub spin: PathBuf,
    /// Player-facing listener (default 127.0.0.1:8080).
    pub listen: SocketAddr,
    /// Environment overrides.
    pub env: Vec<(String, String)>,
    /// Extra allowed outbound hosts.
    pub allow: Vec<String>,
    /// Concurrent instances.
    pub max_instances: u32,
    /// `weir up`: the origin's playback listener (default 127.0.0.1:8082).
    pub origin_listen: SocketAddr,
    /// The chunked-proxy cache's limits (`--cache-mb`, `--cache-object-mb`); `None`
    /// with `--no-cache`.
    pub cache: Option<edge_host::cache::Limits>,
    /// Serve manifests through the component's manifest-handler export (on unless
    /// `--wasi-http-only`).
    pub fast_manifests: bool,
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
        }
    }
}

/// What to run.
#[derive(Debug)]
pub enum Command {
    /// The origin alone.
    Origin(Config),
    /// The edge node alone.
    Edge(EdgeArgs),
    /// Origin + edge node.
    Up {
        /// The origin (its `playback` is replaced by `edge.origin_listen`).
        config: Config,
        /// The edge node.
        edge: EdgeArgs,
    },
}

/// Parses the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut it = args.into_iter();
    let cmd = it.next().unwrap_or_default();
    let rest: Vec<String> = it.collect();
    let fail = |e: String| format!("{e}\n{USAGE}");
    match cmd.as_str() {
        "origin" => Config::from_args(rest)
            .map(Command::Origin)
            .map_err(|e| fail(e.to_string())),
        "edge" => {
            let (edge, others) = edge_args(rest, false).map_err(fail)?;
            match others.first() {
                Some(flag) => Err(fail(format!("unknown option {flag}"))),
                None => Ok(Command::Edge(edge)),
            }
        }
        "up" => {
            let (edge, others) = edge_args(rest, true).map_err(fail)?;
            let config = Config::from_args(others).map_err(|e| fail(e.to_string()))?;
            let mut edge = EdgeArgs {
                listen: config.playback,
                ..edge
            };
            // The component renders the MPD the origin would: the same time source.
            if let Some(url) = &config.public_url {
                edge.env.push(("WEIR_PUBLIC_URL".into(), url.clone()));
            }
            Ok(Command::Up { config, edge })
        }
        _ => Err(USAGE.to_string()),
    }
}

/// Takes the edge node's options out of `args`; returns the others in order. With
/// `share_listen`, `--listen` is also left for the origin's parser (`weir up`).
fn edge_args(args: Vec<String>, share_listen: bool) -> Result<(EdgeArgs, Vec<String>), String> {
    let mut edge = EdgeArgs::default();
    let mut others = Vec::new();
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        if flag == "--no-cache" {
            edge.cache = None;
            continue;
        }
        if flag == "--wasi-http-only" {
            edge.fast_manifests = false;
            continue;
        }
        let is_edge = matches!(
            flag.as_str(),
            "--spin"
                | "--env"
                | "--allow"
                | "--max-instances"
                | "--origin-listen"
                | "--listen"
                | "--cache-mb"
                | "--cache-object-mb"
        );
        if !is_edge {
            others.push(flag);
            if let Some(v) = it.next() {
                others.push(v);
            }
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |what: &str| format!("{flag}: invalid {what} '{value}'");
        match flag.as_str() {
            "--spin" => edge.spin = value.into(),
            "--env" => {
                let (k, v) = value.split_once('=').ok_or_else(|| bad("KEY=VALUE"))?;
                edge.env.push((k.to_string(), v.to_string()));
            }
            "--allow" => edge.allow.push(value),
            "--max-instances" => edge.max_instances = value.parse().map_err(|_| bad("number"))?,
            "--origin-listen" => edge.origin_listen = value.parse().map_err(|_| bad("address"))?,
            "--cache-mb" | "--cache-object-mb" => {
                let mb: u64 = value.parse().map_err(|_| bad("number of MiB"))?;
                let limits = edge.cache.get_or_insert_with(Default::default);
                if flag == "--cache-mb" {
                    limits.budget = mb << 20;
                } else {
                    limits.max_object = mb << 20;
                }
            }
            "--listen" => {
                edge.listen = value.parse().map_err(|_| bad("address"))?;
                if share_listen {
                    others.push(flag);
                    others.push(value);
                }
            }
            _ => unreachable!("matched above"),
        }
    }
    Ok((edge, others))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn up_splits_origin_and_edge_options() {
        let Ok(Command::Up { config, edge }) = parse(args(
            "up --listen 127.0.0.1:9000 --spin x/spin.toml --window 6 --no-cache --wasi-http-only --env A=b --origin-listen 127.0.0.1:9002",
        )) else {
            panic!("up parses")
        };
        assert_eq!(edge.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(edge.origin_listen, "127.0.0.1:9002".parse().unwrap());
        assert_eq!(edge.spin, PathBuf::from("x/spin.toml"));
        assert_eq!(edge.env, vec![("A".into(), "b".into())]);
        assert_eq!(config.timing.window_segments, 6);
        assert_eq!(edge.cache, None);
        assert!(!edge.fast_manifests);
    }

    #[test]
    fn edge_refuses_origin_options() {
        let e = parse(args("edge --window 6")).unwrap_err();
        assert!(e.contains("unknown option --window"), "{e}");
        let e = parse(args("edge --env novalue")).unwrap_err();
        assert!(e.contains("KEY=VALUE"), "{e}");
        assert!(parse(args("nonsense")).is_err());
    }

    #[test]
    fn edge_listen() {
        let Ok(Command::Edge(e)) = parse(args("edge --listen 127.0.0.1:1")) else {
            panic!("edge parses")
        };
        assert_eq!(e.listen, "127.0.0.1:1".parse().unwrap());
    }

    #[test]
    fn edge_defaults() {
        let Ok(Command::Edge(e)) = parse(args("edge")) else {
            panic!("edge parses")
        };
        assert_eq!(e, EdgeArgs::default());
    }
}
