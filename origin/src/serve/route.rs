//! Playback URL parsing.

use manifest::policy::valid_name;

use crate::error::ServeError;

/// What a playback path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/`: list of channels.
    Index,
    /// `/time`: the UTCTiming time source.
    Time,
    /// `/channels.json`: the live channels and their entry points.
    Channels,
    /// `/metrics`: OpenMetrics text exposition of the origin's state.
    Metrics,
    /// `/health`: the process is up and answering.
    Health,
    /// `/ready[?channel=NAME]`: each channel, live or not and since when.
    Ready,
    /// `/hesp.js`: the HESP reference client of the player page.
    Script {
        /// File name in the web directory.
        name: &'static str,
    },
    /// `/vendor/{package}/{path}`: a file of a player package of the web directory.
    Vendor {
        /// The npm package (`hls.js` or `shaka-player`).
        package: String,
        /// Path inside the package (checked: no `..`, no empty segments).
        path: String,
    },
    /// `/{channel}/master.m3u8`.
    Master {
        /// Channel name.
        channel: String,
    },
    /// `/{channel}/timeline.json`: the snapshot the edge renders from.
    Timeline {
        /// Channel name.
        channel: String,
    },
    /// `/{channel}/lhls.m3u8`: the L-HLS multivariant playlist.
    LhlsMaster {
        /// Channel name.
        channel: String,
    },
    /// `/{channel}/{track}/lhls.m3u8`: an L-HLS media playlist.
    LhlsMedia {
        /// Channel name.
        channel: String,
        /// Track name.
        track: String,
    },
    /// `/{channel}/hesp.json`: the HESP manifest.
    Hesp {
        /// Channel name.
        channel: String,
    },
    /// `/{channel}/{track}/p{period}/hesp-{seq|now}.mp4`: a HESP initialization packet.
    HespPacket {
        /// Channel name.
        channel: String,
        /// Track name.
        track: String,
        /// The Presentation (discontinuity sequence) the request expects it in.
        period: u64,
        /// The packet's sequence number; `None` for `now` (the newest).
        seq: Option<u64>,
    },
    /// `/{channel}/manifest.mpd`.
    Mpd {
        /// Channel name.
        channel: String,
    },
    /// `/{channel}/{track}/index.m3u8`.
    Media {
        /// Channel name.
        channel: String,
        /// Track name.
        track: String,
    },
    /// `/{channel}/{track}/init-{id}.mp4` (one init version, immutable) or
    /// `/{channel}/{track}/init.mp4` (the current one).
    Init {
        /// Channel name.
        channel: String,
        /// Track name.
        track: String,
        /// The init's id (8 hex digits in the URL); `None` for the current init.
        version: Option<u32>,
    },
    /// `/{channel}/{track}/seg-{msn}.m4s` (HLS), or
    /// `/{channel}/{track}/p{period}/seg-{msn}.m4s` (DASH: the segment as a Period of
    /// the MPD addresses it), or `/{channel}/{track}/p{period}/hesp-seg-{msn}.m4s` (HESP).
    Segment {
        /// Channel name.
        channel: String,
        /// Track name.
        track: String,
        /// Media sequence number.
        msn: u64,
        /// The Period (discontinuity sequence) the request expects the segment in.
        period: Option<u64>,
        /// HESP's continuation form, `p{period}/hesp-seg-{msn}.m4s`: the segment followed
        /// by the `manifestupdate` event when it ends its Presentation.
        hesp: bool,
    },
    /// `/{channel}/{track}/part-{msn}.{part}.m4s`.
    Part {
        /// Channel name.
        channel: String,
        /// Track name.
        track: String,
        /// Media sequence number of the parent segment.
        msn: u64,
        /// Part index within the segment.
        part: u32,
    },
}

impl Route {
    /// Parses a request path.
    pub fn parse(path: &str) -> Result<Route, ServeError> {
        let nf = || ServeError::NotFound(path.to_string());
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        // The names ingest accepts (the shared policy's): anything else was never stored.
        let name = |s: &str| valid_name(s).then(|| s.to_string()).ok_or_else(nf);
        Ok(match segs.as_slice() {
            [""] => Route::Index,
            ["time"] => Route::Time,
            ["channels.json"] => Route::Channels,
            ["metrics"] => Route::Metrics,
            ["health"] => Route::Health,
            ["ready"] => Route::Ready,
            ["hesp.js"] => Route::Script { name: "hesp.js" },
            // Only the three player packages: `/vendor/master.m3u8` is channel `vendor`'s
            // master, as the edge component routes it.
            ["vendor", package, rest @ ..]
                if matches!(*package, "hls.js" | "dashjs" | "shaka-player") =>
            {
                let safe = |p: &str| !p.is_empty() && p != "." && p != ".." && !p.starts_with('.');
                if rest.is_empty() || !rest.iter().all(|p| safe(p)) {
                    return Err(nf());
                }
                Route::Vendor {
                    package: package.to_string(),
                    path: rest.join("/"),
                }
            }
            [c, "master.m3u8"] => Route::Master { channel: name(c)? },
            [c, "manifest.mpd"] => Route::Mpd { channel: name(c)? },
            [c, "lhls.m3u8"] => Route::LhlsMaster { channel: name(c)? },
            [c, "hesp.json"] => Route::Hesp { channel: name(c)? },
            [c, "timeline.json"] => Route::Timeline { channel: name(c)? },
            [c, t, p, file] => {
                let period = p.strip_prefix('p').and_then(number).ok_or_else(nf)?;
                let (channel, track) = (name(c)?, name(t)?);
                let named = |prefix: &str, ext: &str| {
                    file.strip_prefix(prefix).and_then(|f| f.strip_suffix(ext))
                };
                if let Some(n) = named("hesp-seg-", ".m4s").or_else(|| named("seg-", ".m4s")) {
                    Route::Segment {
                        channel,
                        track,
                        msn: number(n).ok_or_else(nf)?,
                        period: Some(period),
                        hesp: file.starts_with("hesp-"),
                    }
                } else if let Some(id) = named("hesp-", ".mp4") {
                    Route::HespPacket {
                        channel,
                        track,
                        period,
                        seq: match id {
                            "now" => None,
                            n => Some(number(n).ok_or_else(nf)?),
                        },
                    }
                } else {
                    return Err(nf());
                }
            }
            [c, t, file] => {
                let (channel, track) = (name(c)?, name(t)?);
                match *file {
                    "index.m3u8" => Route::Media { channel, track },
                    "lhls.m3u8" => Route::LhlsMedia { channel, track },
                    "init.mp4" => Route::Init {
                        channel,
                        track,
                        version: None,
                    },
                    f => {
                        if let Some(v) = f
                            .strip_prefix("init-")
                            .and_then(|f| f.strip_suffix(".mp4"))
                            .filter(|v| v.len() == 8)
                        {
                            Route::Init {
                                channel,
                                track,
                                version: Some(u32::from_str_radix(v, 16).map_err(|_| nf())?),
                            }
                        } else if let Some(n) =
                            f.strip_prefix("seg-").and_then(|f| f.strip_suffix(".m4s"))
                        {
                            Route::Segment {
                                channel,
                                track,
                                msn: number(n).ok_or_else(nf)?,
                                period: None,
                                hesp: false,
                            }
                        } else if let Some((n, p)) = f
                            .strip_prefix("part-")
                            .and_then(|f| f.strip_suffix(".m4s"))
                            .and_then(|f| f.split_once('.'))
                        {
                            Route::Part {
                                channel,
                                track,
                                msn: number(n).ok_or_else(nf)?,
                                part: number(p)
                                    .and_then(|p| u32::try_from(p).ok())
                                    .ok_or_else(nf)?,
                            }
                        } else {
                            return Err(nf());
                        }
                    }
                }
            }
            _ => return Err(nf()),
        })
    }
}

/// A canonical decimal number: digits only, no sign, no leading zero, so that each
/// object has exactly one URL (one CDN cache entry).
fn number(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_route() {
        assert_eq!(Route::parse("/"), Ok(Route::Index));
        assert_eq!(Route::parse("/time"), Ok(Route::Time));
        assert_eq!(
            Route::parse("/live/master.m3u8"),
            Ok(Route::Master {
                channel: "live".into()
            })
        );
        assert_eq!(
            Route::parse("/live/manifest.mpd"),
            Ok(Route::Mpd {
                channel: "live".into()
            })
        );
        assert_eq!(
            Route::parse("/live/v1/seg-12.m4s"),
            Ok(Route::Segment {
                channel: "live".into(),
                track: "v1".into(),
                msn: 12,
                period: None,
                hesp: false,
            })
        );
        assert_eq!(
            Route::parse("/live/v1/p3/seg-12.m4s"),
            Ok(Route::Segment {
                channel: "live".into(),
                track: "v1".into(),
                msn: 12,
                period: Some(3),
                hesp: false,
            })
        );
        assert_eq!(
            Route::parse("/live/v1/p3/hesp-seg-12.m4s"),
            Ok(Route::Segment {
                channel: "live".into(),
                track: "v1".into(),
                msn: 12,
                period: Some(3),
                hesp: true,
            })
        );
        assert!(Route::parse("/live/v1/q3/seg-12.m4s").is_err());
        assert_eq!(
            Route::parse("/live/hesp.json"),
            Ok(Route::Hesp {
                channel: "live".into()
            })
        );
        assert_eq!(
            Route::parse("/live/v1/p2/hesp-now.mp4"),
            Ok(Route::HespPacket {
                channel: "live".into(),
                track: "v1".into(),
                period: 2,
                seq: None,
            })
        );
        assert_eq!(
            Route::parse("/live/v1/p2/hesp-4711.mp4"),
            Ok(Route::HespPacket {
                channel: "live".into(),
                track: "v1".into(),
                period: 2,
                seq: Some(4711),
            })
        );
        for bad in [
            "/live/v1/p2/hesp-07.mp4",
            "/live/v1/p2/hesp-x.mp4",
            "/live/v1/hesp-now.mp4",
        ] {
            assert!(Route::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Route::parse("/live/lhls.m3u8"),
            Ok(Route::LhlsMaster {
                channel: "live".into()
            })
        );
        assert_eq!(
            Route::parse("/live/v1/lhls.m3u8"),
            Ok(Route::LhlsMedia {
                channel: "live".into(),
                track: "v1".into()
            })
        );
        assert!(Route::parse("/live/v1/p3/part-12.1.m4s").is_err());
        assert_eq!(
            Route::parse("/live/v1/part-12.3.m4s"),
            Ok(Route::Part {
                channel: "live".into(),
                track: "v1".into(),
                msn: 12,
                part: 3
            })
        );
        assert_eq!(
            Route::parse("/live/a1/init-00c0ffee.mp4"),
            Ok(Route::Init {
                channel: "live".into(),
                track: "a1".into(),
                version: Some(0xc0ffee),
            })
        );
        assert_eq!(
            Route::parse("/live/a1/init.mp4"),
            Ok(Route::Init {
                channel: "live".into(),
                track: "a1".into(),
                version: None,
            })
        );
    }

    #[test]
    fn vendor_is_a_channel_name_outside_the_player_packages() {
        assert_eq!(
            Route::parse("/vendor/master.m3u8"),
            Ok(Route::Master {
                channel: "vendor".into()
            })
        );
        assert!(matches!(
            Route::parse("/vendor/hls.js/dist/hls.min.js"),
            Ok(Route::Vendor { .. })
        ));
        assert!(Route::parse("/vendor/hls.js/../x").is_err());
        assert!(Route::parse("/vendor/other/x.js").is_err());
    }

    #[test]
    fn rejects_other_paths() {
        for p in [
            "/live",
            "/live/v1/seg-x.m4s",
            "/live/v1/part-1.m4s",
            "/../etc/passwd",
            "/a/b/c/d",
            "/live/v1/other",
        ] {
            assert!(Route::parse(p).is_err(), "{p}");
        }
    }
}
