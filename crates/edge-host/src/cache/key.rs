//! Cache keys: what makes two player requests the same object.
//!
//! [HLS B.1] the CDN "should collapse multiple concurrent requests for the same Playlist
//! (with the same delivery directives)"; [edge-cache.md §1.7] `_HLS_msn`, `_HLS_part`
//! and `_HLS_skip` belong in the key, in a fixed order, and per-viewer parameters
//! (tokens, cache-busters) never do, or every viewer would be a miss of its own.

use crate::request::{header_text, is_manifest_path};

/// Which kind of object a request names, and so how it is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A playlist, MPD or HESP manifest: rendered by the component.
    Manifest,
    /// Anything else (media, init segments, the time source, pages): fetched from the
    /// origin by the node itself.
    Origin,
}

/// A request's cache key and the request a fill sends for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// How the object is filled.
    pub kind: Kind,
    /// Path and normalized query: what the fill asks for.
    pub path_and_query: String,
    /// The manifest is asked for gzip-encoded (the component's answer varies on it).
    pub gzip: bool,
}

impl Key {
    /// The key of `req`.
    pub fn of<B>(req: &http::Request<B>) -> Key {
        let path = req.uri().path();
        let query = req.uri().query().unwrap_or("");
        if is_manifest_path(path) {
            let directives = manifest::policy::directive_query(query);
            let gzip =
                manifest::headers::accepts_gzip(&header_text(req, http::header::ACCEPT_ENCODING));
            return Key {
                kind: Kind::Manifest,
                path_and_query: join(path, &directives),
                gzip,
            };
        }
        // Media names say everything (numbers are in the path): a query is a viewer's
        // own (token, cache-buster) and is neither keyed nor passed on. Other paths
        // (the timeline API, the time source) keep their query, sorted.
        let query = if is_media_path(path) {
            String::new()
        } else {
            let mut params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
            params.sort_unstable();
            params.join("&")
        };
        Key {
            kind: Kind::Origin,
            path_and_query: join(path, &query),
            gzip: false,
        }
    }

    /// True for a blocking playlist reload (`_HLS_msn` / `_HLS_part` in the key).
    pub fn blocking(&self) -> bool {
        self.path_and_query
            .split_once('?')
            .is_some_and(|(_, q)| manifest::policy::names_blocking_directive(q))
    }

    /// The key as one string (the index's key).
    pub fn text(&self) -> String {
        if self.gzip {
            format!("{} gzip", self.path_and_query)
        } else {
            self.path_and_query.clone()
        }
    }
}

fn join(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// True for the file names of CMAF media and initialization segments.
fn is_media_path(path: &str) -> bool {
    [".m4s", ".mp4", ".m4v", ".m4a", ".cmfv", ".cmfa"]
        .iter()
        .any(|e| path.ends_with(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(uri: &str, accept: Option<&str>) -> Key {
        let mut r = http::Request::get(uri);
        if let Some(a) = accept {
            r = r.header(http::header::ACCEPT_ENCODING, a);
        }
        Key::of(&r.body(()).expect("request"))
    }

    #[test]
    fn directives_are_keyed_in_one_order_and_viewer_parameters_are_not() {
        let a = key("/c/v/index.m3u8?_HLS_part=1&_HLS_msn=5&token=abc", None);
        let b = key("/c/v/index.m3u8?_HLS_msn=5&_HLS_part=1", None);
        assert_eq!(a, b);
        assert_eq!(a.path_and_query, "/c/v/index.m3u8?_HLS_msn=5&_HLS_part=1");
        assert_eq!(a.kind, Kind::Manifest);
        let skip = key("/c/v/index.m3u8?_HLS_msn=5&_HLS_part=1&_HLS_skip=YES", None);
        assert_ne!(a.text(), skip.text(), "a delta update is another object");
        let gz = key("/c/v/index.m3u8?_HLS_msn=5&_HLS_part=1", Some("br, gzip"));
        assert_ne!(a.text(), gz.text(), "gzip and identity are two objects");
    }

    #[test]
    fn media_drops_the_query_other_paths_sort_it() {
        let m = key("/c/v/part-7.2.m4s?session=42", None);
        assert_eq!(m.path_and_query, "/c/v/part-7.2.m4s");
        assert_eq!(m.kind, Kind::Origin);
        let t = key("/c/timeline.json?rendition=v&_HLS_msn=3", None);
        assert_eq!(t.path_and_query, "/c/timeline.json?_HLS_msn=3&rendition=v");
    }
}
