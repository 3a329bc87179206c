//! The chunked-proxy cache of the edge node: one origin fetch per object however many
//! players ask, every player served the bytes received so far at once and the rest as
//! they arrive (read-while-write), objects kept by the origin's lifetimes in
//! least-recently-used order under a byte budget.
//!
//! [edge-cache.md §0] "Fill from a task the object owns, not from the first client":
//! a miss spawns the fill; every request, the first included, reads the object through
//! its own reader, so a player going away never cuts the others off. "Wait only until
//! the headers arrive": waiters are answered as soon as the head is in.

mod deliver;
pub mod fill;
mod index;
pub mod key;
mod object;
mod stats;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Response;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

pub use deliver::Want;
pub use index::{Index, Limits, Lookup};
pub use key::{Key, Kind};
pub use object::{Failure, Fill, Head, Object, Progress, Reader};
pub use stats::{CacheCounts, CacheStats, LAG_BUCKETS_MS, TTFB_BUCKETS_MS};

/// The origin's answer a fill is made from (or why there is none).
pub type Fetched = Result<Response<HyperOutgoingBody>, Failure>;

/// A fetch from the origin, started only when a fill needs it.
pub type Fetch = Pin<Box<dyn Future<Output = Fetched> + Send>>;

/// How long a fill waits for the origin's head before it fails (and its waiters get
/// 502). Above the longest hold of the origin: a blocking reload or a preload-hinted
/// part is held up to 3 target durations ([HLS §6.2.5.2]); the origin takes targets up
/// to 10 s, and a channel whose key frames are sparse announces up to twice that.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(65);

/// How long a fill waits for the next body bytes before it fails as cut short. Above
/// the longest gap of a live body: the origin streams a growing segment chunk by chunk
/// and ends it with an error itself after 3 target durations without media.
pub const BODY_IDLE: Duration = Duration::from_secs(65);

impl Default for Limits {
    /// 512 MiB of objects, 64 MiB per object, 2 minutes uncacheable after an object
    /// went over the cap (Varnish's `uncacheable_ttl`), 1 KiB per object beyond its
    /// body (Varnish's per-object overhead).
    fn default() -> Limits {
        Limits {
            budget: 512 << 20,
            max_object: 64 << 20,
            uncacheable_for: Duration::from_secs(120),
            entry_cost: 1 << 10,
        }
    }
}

/// Who asks for an object and who fills it, for the counters: player requests are
/// counted as hits, misses and bypasses; fills from the origin as origin fetches (a
/// manifest fill is a component call, whose own timeline fetch is the origin fetch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A player's manifest request, rendered by the component; `blocking`: a blocking
    /// reload (never answered stale, [`stale_window`]).
    Component {
        /// The request names `_HLS_msn` / `_HLS_part`.
        blocking: bool,
    },
    /// A player's request for anything else, fetched from the origin.
    Origin,
    /// The node's own timeline fetch for a render, from the origin.
    Timeline,
}

impl Source {
    fn player(self) -> bool {
        self != Source::Timeline
    }

    fn origin(self) -> bool {
        !matches!(self, Source::Component { .. })
    }
}

/// How long past its lifetime an object may be served stale while one refresh is in
/// flight: a manifest by [`manifest::policy::stale_window`]; anything else never.
pub fn stale_window(source: Source, lifetime: Duration) -> Duration {
    match source {
        Source::Component { blocking } => manifest::policy::stale_window(blocking, lifetime),
        _ => Duration::ZERO,
    }
}

/// The node's cache: its index and what it has done.
#[derive(Debug)]
pub struct Cache {
    index: Index,
    stats: Arc<CacheStats>,
}

impl Cache {
    /// An empty cache within `limits`.
    pub fn new(limits: Limits) -> Arc<Cache> {
        Arc::new(Cache {
            index: Index::new(limits),
            stats: Arc::new(CacheStats::default()),
        })
    }

    /// The counters.
    pub fn counts(&self) -> CacheCounts {
        self.stats.counts()
    }

    /// Objects held and their bytes.
    pub fn usage(&self) -> (usize, u64) {
        self.index.usage()
    }

    /// Objects evicted so far.
    pub fn evictions(&self) -> u64 {
        self.index.evictions()
    }

    /// Objects removed as expired so far.
    pub fn expired(&self) -> u64 {
        self.index.expired()
    }

    /// Requests attached to `key`'s object now (waiting for its head, or reading it).
    pub fn attached(&self, key: &str) -> usize {
        self.index.get(key).map_or(0, |o| o.readers())
    }

    /// Answers `want` for the object `key`: from the cache when it holds the object or
    /// is filling it; else `fetch` starts the one fill every later request joins.
    ///
    /// [edge-cache.md §5 #7] a fill that got no head at all (origin unreachable, reset
    /// before headers, or no head within [`HEAD_TIMEOUT`]) is tried once more, by one
    /// new fill that every request that waited on the failed one joins.
    pub async fn serve(
        self: &Arc<Self>,
        (key, source): (&str, Source),
        want: Want,
        fetch: impl Fn() -> Fetch,
    ) -> Response<HyperOutgoingBody> {
        let mut retried = false;
        loop {
            // A retry is the same player request: counted once.
            let player = source.player() && !retried;
            let object = match self.index.lookup(key, Instant::now()) {
                Lookup::Hit(o) => {
                    let in_flight = matches!(o.progress(), Progress::Pending | Progress::Streaming);
                    if player {
                        self.stats.hit(in_flight);
                    }
                    o
                }
                Lookup::Miss(fill) => {
                    if player {
                        self.stats.miss();
                    }
                    let o = fill.object().clone();
                    self.spawn_fill((Some(key.to_string()), source), fill, fetch());
                    o
                }
                Lookup::Stale(stale, fill) => {
                    if player {
                        self.stats.hit(false);
                    }
                    self.spawn_fill((Some(key.to_string()), source), fill, fetch());
                    stale
                }
                Lookup::Bypass => {
                    if player {
                        self.stats.bypass();
                    }
                    return self.pass_through(source, fetch()).await;
                }
            };
            match object.wait_head().await {
                Ok(head) => {
                    return deliver::answer(&object, &head, want, self.stats.clone()).await;
                }
                Err(Failure::NoResponse) if !retried => retried = true,
                Err(f) => return failed(f),
            }
        }
    }

    /// The origin's answer streamed to this one request, nothing stored (the key is
    /// uncacheable for now: its object was over the cap). Its body errors pass through
    /// as errors, so a break stays a break.
    async fn pass_through(&self, source: Source, fetch: Fetch) -> Response<HyperOutgoingBody> {
        if source.origin() {
            self.stats.fetch();
        }
        match tokio::time::timeout(HEAD_TIMEOUT, fetch).await {
            Ok(Ok(mut resp)) => {
                fill::strip_hop_by_hop(resp.headers_mut());
                resp
            }
            Ok(Err(f)) => {
                if source.origin() {
                    self.stats.fetch_failed();
                }
                failed(f)
            }
            Err(_) => {
                if source.origin() {
                    self.stats.fetch_failed();
                }
                failed(Failure::NoResponse)
            }
        }
    }

    /// Runs one fill on its own task: the origin's answer into the object, then the
    /// index told how it ended (kept for its lifetime, or dropped).
    fn spawn_fill(
        self: &Arc<Self>,
        (key, source): (Option<String>, Source),
        fill: Fill,
        fetch: Fetch,
    ) {
        let cache = self.clone();
        let origin = source.origin();
        tokio::spawn(async move {
            let object = fill.object().clone();
            let started = Instant::now();
            if origin {
                cache.stats.fetch();
            }
            let fetched = match tokio::time::timeout(HEAD_TIMEOUT, fetch).await {
                Ok(r) => r,
                Err(_) => Err(Failure::NoResponse),
            };
            if origin && fetched.is_ok() {
                cache.stats.ttfb(started.elapsed());
            }
            let bytes = fill::run(fill, fetched, BODY_IDLE).await;
            if origin {
                cache.stats.origin_bytes(bytes);
                if matches!(object.progress(), Progress::Failed(_)) {
                    cache.stats.fetch_failed();
                }
            }
            let Some(key) = key else { return };
            let now = Instant::now();
            if object.progress() == Progress::Complete {
                // [edge-cache.md §0] freshness from the origin's Cache-Control; an
                // answer without a lifetime served its waiters and is not kept.
                let lifetime = object
                    .head()
                    .and_then(|h| Some((h.received, fill::lifetime(&h.headers)?)));
                match lifetime {
                    Some((received, life)) => {
                        // RFC 9111 §4.2.3: what the object had aged upstream counts.
                        let upstream = object.head().map_or(Duration::ZERO, |h| h.upstream_age);
                        let until = received + life.saturating_sub(upstream);
                        let stale = until + stale_window(source, life);
                        cache.index.set_expiry(&key, &object, (until, stale));
                    }
                    None => cache.index.forget(&key, &object),
                }
            }
            cache.index.settled(&key, &object, now);
        });
    }
}

/// The answer to a request whose fill failed before its head.
fn failed(f: Failure) -> Response<HyperOutgoingBody> {
    use http_body_util::BodyExt;
    let text = format!("edge cache: {f}\n");
    let mut r = Response::new(
        http_body_util::Full::new(bytes::Bytes::from(text))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *r.status_mut() = http::StatusCode::BAD_GATEWAY;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    r
}

#[cfg(test)]
mod tests;
