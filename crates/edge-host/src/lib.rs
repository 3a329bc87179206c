//! # edge-host
//!
//! weir's native edge node (`weir edge`): it reads a Spin manifest (`spin.toml`), compiles
//! each component once with wasmtime, pre-instantiates it against WASI 0.2 and wasi:http,
//! and answers every player request with a fresh instance taken from wasmtime's pooling
//! allocator, the way Spin and `wasmtime serve` run `wasi:http/proxy` components.
//!
//! - Outbound HTTP of a component is deny-by-default: only its `allowed_outbound_hosts`
//!   ([`allow`]). Requests to a co-hosted origin (`weir up`) are answered in-process
//!   ([`outbound::local_service`]); others go over a pooled plain-HTTP client.
//! - Configuration reaches the component as environment variables (`environment` in
//!   spin.toml, overridable from the command line).
//! - In front of it all, the chunked-proxy [`cache`]: identical requests share one
//!   answer while it is produced and for as long as its `Cache-Control` allows. A
//!   manifest is rendered by one component call for all its viewers; everything else
//!   (media, init segments, the time source) is fetched by the node itself from the
//!   component's origin (`WEIR_ORIGIN`) under the component's outbound rules and
//!   streamed to every viewer as it arrives, so a media download never holds an
//!   instance.
//!
//! Layering: the node reads no media and renders no manifest (the component does);
//! it knows which paths are manifests, and the delivery rules it shares with the origin
//! (`manifest::policy`: directive keys, the origin's location; `manifest::range`). It
//! depends on wasmtime, which the pure crates never do.

pub mod allow;
pub mod cache;
pub mod error;
mod fast;
pub mod host;
pub mod metrics;
pub mod outbound;
pub mod render;
mod request;
pub mod retry;
pub mod server;
pub mod spin;
pub mod stats;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Semaphore;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
/// Body of every response of the node.
pub use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

pub use allow::AllowList;
pub use error::EdgeError;
pub use host::Hosted;
pub use listener::ConnLimits;
pub use outbound::{LocalService, local_service};
pub use server::serve;
pub use stats::EdgeStats;

/// How to build an edge node.
pub struct EdgeOptions {
    /// The Spin manifest.
    pub manifest: PathBuf,
    /// Environment entries that replace or add to each component's `environment`.
    pub env: Vec<(String, String)>,
    /// Entries added to each component's `allowed_outbound_hosts`.
    pub allow: Vec<String>,
    /// An in-process service and the `host:port` it stands for.
    pub local: Option<(String, LocalService)>,
    /// Instances that may be alive at once (each held request holds one); further
    /// requests get 503 until one ends.
    pub max_instances: u32,
    /// The cache in front of the component and the origin; `None` sends every request
    /// to the component (each media download then holds an instance).
    pub cache: Option<cache::Limits>,
    /// Serve manifests through the component's `weir:edge/manifest-handler` export
    /// when it has one; `false` serves every request through wasi:http.
    pub fast_manifests: bool,
    /// The key of signed playback URLs (`manifest::signed`). The node checks tokens
    /// itself, before its cache; a `WEIR_PLAYBACK_KEY` in a component's environment is
    /// taken over by the node (and removed there, since the component then sees only
    /// the unsigned paths the node passes on).
    pub playback_key: Option<String>,
}

impl EdgeOptions {
    /// Options for `manifest` with no overrides and room for 1,000 concurrent requests.
    pub fn new(manifest: impl Into<PathBuf>) -> Self {
        EdgeOptions {
            manifest: manifest.into(),
            env: Vec::new(),
            allow: Vec::new(),
            local: None,
            max_instances: 1000,
            cache: Some(cache::Limits::default()),
            fast_manifests: true,
            playback_key: None,
        }
    }
}

/// The hosted components and their routes.
pub struct EdgeNode {
    routes: Vec<(spin::Route, Hosted)>,
    /// What the node has served.
    pub stats: EdgeStats,
    cache: Option<Arc<cache::Cache>>,
    playback_key: Option<String>,
    /// Instance slots: free permits and the limit (`/metrics`: pool use).
    slots: (Arc<Semaphore>, u32),
}

/// Linear memory one instance may grow to.
const MAX_MEMORY: usize = 64 << 20;

/// Bytes of each pooled linear memory kept resident between instances: what a playlist
/// request touches (stack, data, heap) with room to spare. Costs up to this much RSS per
/// warm slot (`max_unused_warm_slots`, 100 by default, plus the live ones).
const KEEP_RESIDENT: usize = 2 << 20;

/// Bytes of each pooled table kept resident between instances.
const KEEP_RESIDENT_TABLE: usize = 64 << 10;

impl EdgeNode {
    /// Reads the manifest, compiles and links every component.
    pub fn load(options: EdgeOptions) -> Result<EdgeNode, EdgeError> {
        let engine = engine(options.max_instances)?;
        let extra = AllowList::parse(&options.allow)?;
        let slots = Arc::new(Semaphore::new(options.max_instances as usize));
        let cache = options.cache.map(cache::Cache::new);
        let mut routes = Vec::new();
        let mut playback_key = options.playback_key.filter(|k| !k.is_empty());
        for mut spec in spin::load(&options.manifest)? {
            spec.allowed.extend(extra.clone());
            spec.environment.extend(options.env.iter().cloned());
            if let Some(k) = spec.environment.remove(manifest::signed::KEY_VAR)
                && !k.is_empty()
            {
                playback_key.get_or_insert(k);
            }
            let outbound = outbound::Outbound::new(spec.allowed.clone(), options.local.clone())
                .with_cache(cache.clone());
            tracing::info!(
                "edge: component {} ({}) on route {}",
                spec.id,
                spec.source.display(),
                spec.route
            );
            routes.push((
                spec.route.clone(),
                Hosted::new(
                    &engine,
                    &spec,
                    outbound,
                    slots.clone(),
                    options.fast_manifests,
                )?,
            ));
        }
        Ok(EdgeNode {
            routes,
            stats: EdgeStats::default(),
            cache,
            playback_key,
            slots: (slots, options.max_instances),
        })
    }

    /// Answers `req`: `GET` and `HEAD` from the cache (filled by the component for
    /// manifests, by the origin for everything else), other methods by the component.
    /// The request gets an id ([`listener::request_id`]) for its log lines and the
    /// answer's `x-request-id` (a cached answer carries the viewer's own, never the
    /// fill's).
    pub async fn answer<B>(&self, req: http::Request<B>) -> http::Response<HyperOutgoingBody>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<outbound::BoxError>,
    {
        // Tokens never reach the logs.
        let traced = listener::request_id::Traced::begin(&req, manifest::signed::redacted);
        traced.answer(self.answer_inner(req)).await
    }

    async fn answer_inner<B>(&self, req: http::Request<B>) -> http::Response<HyperOutgoingBody>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<outbound::BoxError>,
    {
        if req.method() == http::Method::GET && req.uri().path() == metrics::PATH {
            return host::text(200, metrics::CONTENT_TYPE, metrics::text(self));
        }
        // Signed playback URLs: checked and stripped before routing and the cache, so
        // the cache keys and the origin's requests never carry a viewer's token.
        let req = match self.unsign(req) {
            Ok(r) => r,
            Err(refused) => return refused,
        };
        let Some(hosted) = self.route(req.uri().path()) else {
            return host::plain(404, "no component is routed to this path\n");
        };
        self.stats.count(req.uri().query());
        let Some(cache) = &self.cache else {
            return hosted.handle(req).await;
        };
        if !matches!(*req.method(), http::Method::GET | http::Method::HEAD) {
            return hosted.handle(req).await;
        }
        let key = cache::Key::of(&req);
        let want = cache::Want::of(&req);
        let hosted = hosted.clone();
        match key.kind {
            cache::Kind::Manifest => {
                let fill = key.clone();
                let host = req.headers().get(http::header::HOST).cloned();
                let source = cache::Source::Component {
                    blocking: key.blocking(),
                };
                cache
                    .serve((&key.text(), source), want, move || {
                        let hosted = hosted.clone();
                        let req = fill_request(&fill, host.clone());
                        Box::pin(async move { Ok(hosted.handle(req).await) })
                    })
                    .await
            }
            cache::Kind::Origin => {
                let url = hosted.origin_url(&key.path_and_query);
                cache
                    .serve((&key.text(), cache::Source::Origin), want, move || {
                        Box::pin(hosted.outbound().clone().fetch(url.clone()))
                    })
                    .await
            }
        }
    }

    /// `req` with its playback token checked and removed from the path, or the 403
    /// answer; `req` unchanged when the node has no playback key.
    #[allow(clippy::result_large_err)]
    fn unsign<B>(
        &self,
        mut req: http::Request<B>,
    ) -> Result<http::Request<B>, http::Response<HyperOutgoingBody>> {
        let Some(key) = &self.playback_key else {
            return Ok(req);
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let path = req.uri().path();
        match manifest::signed::check(key.as_bytes(), path, now) {
            Ok(p) if p.len() == path.len() => Ok(req),
            Ok(p) => {
                let pq = match req.uri().query() {
                    Some(q) => format!("{p}?{q}"),
                    None => p.to_string(),
                };
                let mut parts = req.uri().clone().into_parts();
                parts.path_and_query = pq.parse().ok();
                match http::Uri::from_parts(parts) {
                    Ok(u) => {
                        *req.uri_mut() = u;
                        Ok(req)
                    }
                    Err(_) => Err(host::plain(400, "malformed request path\n")),
                }
            }
            Err(e) => {
                self.stats.refused_token();
                Err(host::text(
                    403,
                    manifest::policy::FAILURE_CONTENT_TYPE,
                    format!("{e}\n"),
                ))
            }
        }
    }

    /// Component instances alive now (each held request holds one) and the limit.
    pub fn instances(&self) -> (u32, u32) {
        let (slots, max) = &self.slots;
        let free = u32::try_from(slots.available_permits()).unwrap_or(*max);
        (max.saturating_sub(free), *max)
    }

    /// The cache, unless the node was built without one.
    pub fn cache(&self) -> Option<&Arc<cache::Cache>> {
        self.cache.as_ref()
    }

    /// The component serving `path` (the first matching trigger, as in Spin).
    pub fn route(&self, path: &str) -> Option<&Hosted> {
        self.routes
            .iter()
            .find(|(r, _)| r.matches(path))
            .map(|(_, h)| h)
    }
}

/// The request a manifest fill sends to the component: the key's path and directives,
/// gzip asked for when the key says so; nothing else of any one viewer but the `Host`
/// (wasi:http requires an authority; no answer of weir's component depends on it).
fn fill_request(
    key: &cache::Key,
    host: Option<http::HeaderValue>,
) -> http::Request<http_body_util::Empty<bytes::Bytes>> {
    let mut r = http::Request::get(key.path_and_query.as_str()).header(
        http::header::HOST,
        host.unwrap_or_else(|| http::HeaderValue::from_static("localhost")),
    );
    if key.gzip {
        r = r.header(http::header::ACCEPT_ENCODING, "gzip");
    }
    r.body(http_body_util::Empty::new())
        .unwrap_or_else(|_| http::Request::new(http_body_util::Empty::new()))
}

/// One engine for every component: Cranelift, async host calls, and the pooling
/// allocator sized for `max_instances` live instances.
fn engine(max_instances: u32) -> Result<Engine, EdgeError> {
    let mut pool = PoolingAllocationConfig::default();
    // A Rust wasip2 component is a handful of core instances around one memory.
    pool.total_component_instances(max_instances)
        .total_core_instances(max_instances.saturating_mul(8))
        .total_memories(max_instances.saturating_mul(2))
        .total_tables(max_instances.saturating_mul(2))
        .max_memory_size(MAX_MEMORY)
        // A fresh instance per request must not pay a page fault for every page it
        // touches: slots keep the pages a request dirtied resident and reset them with
        // memset (only the dirty ones, found with Linux's PAGEMAP_SCAN where the kernel
        // has it, ≥ 6.7) instead of madvise. Measured in BENCHMARKS.md (bench-edge).
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT_TABLE)
        .pagemap_scan(Enabled::Auto);
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(|e| EdgeError::Engine(format!("{e:#}")))
}
