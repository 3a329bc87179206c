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
    /// `/{channel}/hesp.json`: the HESP manifest.
    Hesp,
    /// `/{channel}/lhls.m3u8`: the L-HLS multivariant playlist.
    LhlsMaster,
    /// `/{channel}/{rendition}/lhls.m3u8`: an L-HLS media playlist.
    LhlsMedia(String),
}

/// `(channel, resource)` for a manifest path; None for anything passed through,
/// including the origin's player packages under `/vendor/hls.js/` and
/// `/vendor/shaka-player/` (the origin serves those as files, whatever their names).
pub fn parse(path: &str) -> Option<(String, Resource)> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // The origin's rule (`manifest::policy::valid_name`): a path it would refuse is
    // passed through to it, so it answers exactly as for its own players.
    let ok = manifest::policy::valid_name;
    match segs.as_slice() {
        ["vendor", "hls.js" | "dashjs" | "shaka-player", ..] => None,
        [c, "master.m3u8"] if ok(c) => Some((c.to_string(), Resource::Master)),
        [c, "manifest.mpd"] if ok(c) => Some((c.to_string(), Resource::Mpd)),
        [c, "lhls.m3u8"] if ok(c) => Some((c.to_string(), Resource::LhlsMaster)),
        [c, "hesp.json"] if ok(c) => Some((c.to_string(), Resource::Hesp)),
        [c, t, "lhls.m3u8"] if ok(c) && ok(t) => {
            Some((c.to_string(), Resource::LhlsMedia(t.to_string())))
        }
        [c, t, "index.m3u8"] if ok(c) && ok(t) => {
            Some((c.to_string(), Resource::Media(t.to_string())))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_as_the_origin_does() {
        assert_eq!(
            parse("/live/v1/index.m3u8"),
            Some(("live".into(), Resource::Media("v1".into())))
        );
        assert_eq!(
            parse("/vendor/master.m3u8"),
            Some(("vendor".into(), Resource::Master))
        );
        for through in [
            "/vendor/shaka-player/index.m3u8",
            "/vendor/hls.js/master.m3u8",
            "/bad.name/master.m3u8",
            "/live/v1/init.mp4",
        ] {
            assert_eq!(parse(through), None, "{through}");
        }
    }
}
