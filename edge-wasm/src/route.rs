//! Which requests the edge renders itself.

/// A manifest the edge renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `/{channel}/master.m3u8`.
    Master,
    /// `/{channel}/{rendition}/index.m3u8`.
    Media(String),
    /// `/{channel}/manifest.mpd`.
    Mpd,
}

/// `(channel, resource)` for a manifest path; None for anything passed through.
pub fn parse(path: &str) -> Option<(String, Resource)> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ok = |s: &str| {
        (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    match segs.as_slice() {
        [c, "master.m3u8"] if ok(c) => Some((c.to_string(), Resource::Master)),
        [c, "manifest.mpd"] if ok(c) => Some((c.to_string(), Resource::Mpd)),
        [c, t, "index.m3u8"] if ok(c) && ok(t) => {
            Some((c.to_string(), Resource::Media(t.to_string())))
        }
        _ => None,
    }
}
