//! The manifest flow shared by both entry points (the wasi:http handler and the
//! `weir:edge/manifest-handler` export): which timeline to fetch for a request, and
//! the answer made from the origin's reply.

use crate::headers::{self, HeaderList};
use crate::route::{self, Resource};

/// Default origin when `WEIR_ORIGIN` is not set.
const DEFAULT_ORIGIN: &str = "http://127.0.0.1:8082";

/// The origin's base URL (`WEIR_ORIGIN`), without a trailing slash.
pub fn origin() -> String {
    let o = std::env::var("WEIR_ORIGIN").unwrap_or_else(|_| DEFAULT_ORIGIN.to_string());
    o.trim_end_matches('/').to_string()
}

/// A manifest request, as far as the answer depends on it.
pub struct Head {
    /// The manifest.
    pub resource: Resource,
    /// Its channel.
    pub channel: String,
    /// The query (delivery directives), without `?`.
    pub query: String,
    /// The client's authority (absolute URLs of the MPD).
    pub host: String,
    /// The client accepts gzip.
    pub gzip: bool,
}

impl Head {
    /// The manifest request of `method path?query`, or `None` for anything else.
    pub fn parse(
        method: &str,
        path_query: &str,
        host: &str,
        accept_encoding: &str,
    ) -> Option<Head> {
        if method != "GET" && method != "HEAD" {
            return None;
        }
        let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
        let (channel, resource) = route::parse(path)?;
        Some(Head {
            resource,
            channel,
            query: query.to_string(),
            host: if host.is_empty() {
                "127.0.0.1".into()
            } else {
                host.to_string()
            },
            gzip: manifest::headers::accepts_gzip(accept_encoding),
        })
    }

    /// The timeline URL to fetch from `origin`, carrying the delivery directives so the
    /// origin holds blocking reloads.
    pub fn timeline_url(&self, origin: &str) -> String {
        let (channel, query) = (&self.channel, &self.query);
        match &self.resource {
            Resource::Media(id) if query.is_empty() => {
                format!("{origin}/{channel}/timeline.json?rendition={id}")
            }
            Resource::Media(id) => {
                format!("{origin}/{channel}/timeline.json?rendition={id}&{query}")
            }
            _ => format!("{origin}/{channel}/timeline.json"),
        }
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
            // with its reason and cache lifetime.
            let keep = ["content-type", "cache-control"];
            let hs = origin_headers
                .into_iter()
                .filter(|(k, _)| keep.contains(&k.as_str()))
                .collect();
            return headers::Answer::raw(status, hs, body).finish(None);
        }
        let answer = match timeline::wire::decode(&body) {
            Ok(snap) => headers::render(
                &snap,
                &self.resource,
                &self.query,
                &format!("http://{}/time", self.host),
            ),
            Err(e) => headers::error(502, &e.to_string()),
        };
        answer.finish(Some(self.gzip))
    }
}

/// The 502 answer when the origin could not be asked or its body broke off.
pub fn origin_failed(reason: &str) -> (u16, HeaderList, Vec<u8>) {
    headers::error(502, reason).finish(None)
}
