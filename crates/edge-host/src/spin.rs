//! The part of a Spin application manifest (`spin.toml`, manifest version 2) that the
//! edge node honours: HTTP triggers (routes), each component's `source`,
//! `allowed_outbound_hosts` and `environment`.
//!
//! Spin-only capabilities (`[variables]`, key-value stores, …) are not offered to the
//! component; weir's component reads its configuration from the environment so the same
//! file works under Spin, `wasmtime serve --env` and here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::allow::AllowList;
use crate::error::EdgeError;

#[derive(Deserialize)]
struct RawManifest {
    spin_manifest_version: u32,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Deserialize, Default)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
}

#[derive(Deserialize)]
struct RawHttpTrigger {
    route: String,
    component: String,
}

#[derive(Deserialize)]
struct RawComponent {
    source: String,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
}

/// A route of an HTTP trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/prefix/...`: the prefix and everything under it (`/...` matches every path).
    Wildcard(String),
    /// An exact path.
    Exact(String),
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Route::Wildcard(prefix) => write!(f, "{prefix}/..."),
            Route::Exact(path) => f.write_str(path),
        }
    }
}

impl Route {
    fn parse(route: &str) -> Option<Route> {
        if !route.starts_with('/') {
            return None;
        }
        Some(match route.strip_suffix("/...") {
            Some(prefix) => Route::Wildcard(prefix.to_string()),
            None => Route::Exact(route.to_string()),
        })
    }

    /// True when `path` is served by this route.
    pub fn matches(&self, path: &str) -> bool {
        match self {
            Route::Exact(p) => p == path,
            Route::Wildcard(prefix) => path
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
        }
    }
}

/// One component to host, with the route that reaches it.
#[derive(Debug, Clone)]
pub struct HostedComponent {
    /// The component's id in the manifest.
    pub id: String,
    /// The route of its HTTP trigger.
    pub route: Route,
    /// The `.wasm` file, resolved against the manifest's directory.
    pub source: PathBuf,
    /// Its outbound allow-list.
    pub allowed: AllowList,
    /// Its environment variables.
    pub environment: BTreeMap<String, String>,
}

/// Reads `spin.toml` at `path`: one [`HostedComponent`] per HTTP trigger, in file order.
pub fn load(path: &Path) -> Result<Vec<HostedComponent>, EdgeError> {
    let text = std::fs::read_to_string(path).map_err(|source| EdgeError::ReadManifest {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parses manifest `text`; `path` resolves relative sources and names errors.
pub fn parse(text: &str, path: &Path) -> Result<Vec<HostedComponent>, EdgeError> {
    let bad = |message: String| EdgeError::BadManifest {
        path: path.to_path_buf(),
        message,
    };
    let raw: RawManifest = toml::from_str(text).map_err(|e| bad(e.message().to_string()))?;
    if raw.spin_manifest_version != 2 {
        return Err(bad(format!(
            "spin_manifest_version {} (only 2 is supported)",
            raw.spin_manifest_version
        )));
    }
    if raw.trigger.http.is_empty() {
        return Err(bad("no [[trigger.http]]".into()));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    raw.trigger
        .http
        .iter()
        .map(|t| {
            let route = Route::parse(&t.route)
                .ok_or_else(|| bad(format!("route {:?} does not start with /", t.route)))?;
            let c = raw
                .component
                .get(&t.component)
                .ok_or_else(|| bad(format!("no [component.{}]", t.component)))?;
            if let Some((k, _)) = c.environment.iter().find(|(_, v)| v.contains("{{")) {
                return Err(bad(format!(
                    "environment {k}: templates ({{{{ … }}}}) need Spin variables, which \
                     the edge node does not offer; write the value"
                )));
            }
            Ok(HostedComponent {
                id: t.component.clone(),
                route,
                source: dir.join(&c.source),
                allowed: AllowList::parse(&c.allowed_outbound_hosts)?,
                environment: c.environment.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
spin_manifest_version = 2
[application]
name = "x"
[[trigger.http]]
route = "/..."
component = "edge"
[component.edge]
source = "target/edge.wasm"
allowed_outbound_hosts = ["http://127.0.0.1:8082"]
environment = { WEIR_ORIGIN = "http://127.0.0.1:8082" }
"#;

    #[test]
    fn reads_the_repository_manifest_shape() {
        let c = parse(MANIFEST, Path::new("/srv/app/spin.toml")).expect("valid");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].id, "edge");
        assert_eq!(c[0].source, Path::new("/srv/app/target/edge.wasm"));
        assert!(c[0].allowed.permits("http", "127.0.0.1", Some(8082)));
        assert_eq!(c[0].environment["WEIR_ORIGIN"], "http://127.0.0.1:8082");
        assert!(c[0].route.matches("/live/master.m3u8"));
        assert!(c[0].route.matches("/"));
        assert_eq!(c[0].route.to_string(), "/...");
    }

    #[test]
    fn the_real_spin_toml_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spin.toml");
        let c = load(&path).expect("repository spin.toml");
        assert!(
            c[0].source
                .ends_with("target/wasm32-wasip2/edge/edge_wasm.wasm")
        );
    }

    #[test]
    fn routes() {
        let r = Route::parse("/api/...").unwrap();
        assert!(r.matches("/api") && r.matches("/api/x/y"));
        assert!(!r.matches("/apix") && !r.matches("/"));
        let e = Route::parse("/time").unwrap();
        assert!(e.matches("/time") && !e.matches("/time/x"));
    }

    #[test]
    fn refusals_name_the_problem() {
        let p = Path::new("spin.toml");
        let err = |t: &str| parse(t, p).unwrap_err().to_string();
        assert!(err("spin_manifest_version = 1").contains("only 2"));
        assert!(err("spin_manifest_version = 2").contains("no [[trigger.http]]"));
        let missing = MANIFEST.replace("component = \"edge\"", "component = \"other\"");
        assert!(err(&missing).contains("no [component.other]"));
        let templ = MANIFEST.replace("\"http://127.0.0.1:8082\" }", "\"{{ origin }}\" }");
        assert!(err(&templ).contains("templates"));
        let bad_host = MANIFEST.replace("[\"http://127.0.0.1:8082\"]", "[\"127.0.0.1\"]");
        assert!(err(&bad_host).contains("allowed_outbound_hosts"));
    }
}
