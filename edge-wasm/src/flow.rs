//! The manifest flow shared by both entry points (the wasi:http handler and the
//! `weir:edge/manifest-handler` export): which timeline to fetch for a request, and
//! the answer made from the origin's reply. What the answer is (statuses, lifetimes,
//! start-up hold) is decided by `manifest::policy`, as in the origin.

use manifest::policy::{self, STARTUP_HOLD};

use crate::headers::{self, HeaderList};
use crate::route::{self, Resource};

/// The origin's base URL (`WEIR_ORIGIN`), without a trailing slash.
pub fn origin() -> String {
    policy::edge::origin(std::env::var(policy::edge::ORIGIN_VAR).ok().as_deref())
}

/// The MPD's UTCTiming URL: `WEIR_PUBLIC_URL` (the origin's `--public-url`) or the
/// relative default, exactly as the origin renders it ([`policy::time_url`]).
pub fn time_url() -> String {
    policy::time_url(std::env::var("WEIR_PUBLIC_URL").ok().as_deref())
}

/// `path_query` without its playback token when `WEIR_PLAYBACK_KEY` is set (the shared
/// rule, `manifest::signed`); the 403 answer when the token is missing or wrong.
pub fn unsigned(path_query: &str) -> Result<String, (u16, HeaderList, Vec<u8>)> {
    let key = std::env::var(manifest::signed::KEY_VAR).unwrap_or_default();
    if key.is_empty() {
        return Ok(path_query.to_string());
    }
    let (path, query) = match path_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_query, None),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match manifest::signed::check(key.as_bytes(), path, now) {
        Ok(p) => Ok(match query {
            Some(q) => format!("{p}?{q}"),
            None => p.to_string(),
        }),
        Err(e) => Err(headers::error(403, &e.to_string()).finish(None)),
    }
}

/// A manifest request, as far as the answer depends on it.
pub struct Head {
    /// The manifest.
    pub resource: Resource,
    /// Its channel.
    pub channel: String,
    /// The query (delivery directives), without `?`.
    pub query: String,
    /// The client accepts gzip.
    pub gzip: bool,
}

impl Head {
    /// The manifest request of `method path?query`, or `None` for anything else. The
    /// answer never depends on the client's Host.
    pub fn parse(method: &str, path_query: &str, accept_encoding: &str) -> Option<Head> {
        if method != "GET" && method != "HEAD" {
            return None;
        }
        let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
        let (channel, resource) = route::parse(path)?;
        Some(Head {
            resource,
            channel,
            query: query.to_string(),
            gzip: manifest::headers::accepts_gzip(accept_encoding),
        })
    }

    /// The timeline URL to fetch from `origin`. A media playlist carries its delivery
    /// directives (only those), so the origin holds blocking reloads and refuses bad
    /// directives as for its own playlist; the multivariant playlist and the MPD ask for
    /// the start-up hold ([`STARTUP_HOLD`]), so the origin waits for every rendition
    /// exactly as before answering its own master.
    pub fn timeline_url(&self, origin: &str) -> String {
        let channel = &self.channel;
        match &self.resource {
            Resource::Media(id) => {
                let directives = policy::directive_query(&self.query);
                let sep = if directives.is_empty() { "" } else { "&" };
                format!("{origin}/{channel}/timeline.json?rendition={id}{sep}{directives}")
            }
            // L-HLS takes no directives: the rendition's timeline, held until it has
            // a segment, as the origin holds its own L-HLS playlist.
            Resource::LhlsMedia(id) => format!(
                "{origin}/{channel}/timeline.json?rendition={id}{}",
                self.span_query()
            ),
            Resource::Master | Resource::Mpd | Resource::Hesp | Resource::LhlsMaster => {
                format!(
                    "{origin}/{channel}/timeline.json?{STARTUP_HOLD}{}",
                    self.span_query()
                )
            }
        }
    }

    /// `&start=…[&end=…]` of a start-over request (empty for a live one): the origin
    /// answers the timeline request with the start-over snapshot.
    fn span_query(&self) -> String {
        policy::directive_query(&self.query)
            .split('&')
            .filter(|p| p.starts_with("start=") || p.starts_with("end="))
            .map(|p| format!("&{p}"))
            .collect()
    }

    /// The answer (status, headers, body) from the origin's reply to the timeline
    /// request: rendered when it is a timeline, the origin's own answer otherwise.
    pub fn answer(
        &self,
        status: u16,
        origin_headers: HeaderList,
        body: Vec<u8>,
    ) -> (u16, HeaderList, Vec<u8>) {
        if status != 200 {
            // The origin's answer (400 bad directive, 404 unknown, 503 timeout) stands,
            // with its reason and cache lifetime: the origin applied the same policy to
            // the timeline request as to the playlist it stands for.
            let keep = ["content-type", "cache-control"];
            let hs = origin_headers
                .into_iter()
                .filter(|(k, _)| keep.contains(&k.as_str()))
                .collect();
            return headers::Answer::raw(status, hs, body).finish(None);
        }
        let answer = match timeline::wire::decode(&body) {
            Ok(snap) => headers::render(&snap, &self.resource, &self.query, &time_url()),
            Err(e) => headers::error(502, &e.to_string()),
        };
        // Failures are plain text, never compressed and without Vary, as the origin's.
        let gzip = (answer.status() == 200).then_some(self.gzip);
        answer.finish(gzip)
    }
}

/// The 502 answer when the origin could not be asked or its body broke off.
pub fn origin_failed(reason: &str) -> (u16, HeaderList, Vec<u8>) {
    headers::error(502, reason).finish(None)
}
