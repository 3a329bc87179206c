//! The response policy of every manifest answer, decided once for both runtimes.
//!
//! The native origin (`origin/src/serve`) and the WebAssembly edge component
//! (`edge-wasm`) answer the same manifest requests. Everything about those answers that
//! is not the rendered text lives here, so the two cannot drift apart:
//!
//! - which query parameters a resource takes as delivery directives, and in which order
//!   a request is checked ([`directives`], [`is_blocking`], [`Failure`]);
//! - the status of every failure ([`Failure::status`]);
//! - cache lifetimes of successes and failures ([`cache_success`], [`cache_failure`]),
//!   always from the target duration the playlist announces;
//! - the start-up hold: when a channel is "ready to render" ([`ready_to_render`]) and
//!   how the edge asks the origin to apply it ([`STARTUP_HOLD`]);
//! - the UTCTiming time source of the MPD ([`time_url`]) and its low-latency service
//!   description ([`dash_service`]).
//!
//! Pure: no I/O, no clock. Builds natively and for wasm32-wasip2.

use timeline::ChannelSnapshot;

use crate::ManifestError;
use crate::hls::{DirectiveError, Directives, Readiness};

/// A manifest a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// `/{channel}/master.m3u8`.
    Master,
    /// `/{channel}/{rendition}/index.m3u8`.
    Media(&'a str),
    /// `/{channel}/manifest.mpd`.
    Mpd,
}

/// True for a valid channel or rendition name: 1 to 64 characters of `A-Z a-z 0-9 _ -`
/// (what ingest accepts, so every name that can exist has exactly one URL). The origin
/// and the edge route manifest paths by this one rule.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The delivery directives `resource` takes from `query`.
///
/// [HLS §6.2.5] delivery directives are defined for Media Playlists; a multivariant
/// playlist and the MPD ignore every query parameter (so a stray `_HLS_msn` on them is
/// neither refused nor blocking).
pub fn directives(resource: Resource<'_>, query: &str) -> Result<Directives, DirectiveError> {
    match resource {
        Resource::Media(_) => Directives::parse(query),
        Resource::Master | Resource::Mpd => Ok(Directives::default()),
    }
}

/// True when a request for `resource` with `query` is a blocking playlist request, for
/// its cache lifetime. A Media Playlist request naming `_HLS_msn` or `_HLS_part` is
/// blocking even when a value is malformed (its 400 is a blocking failure): the client
/// asked to block.
pub fn is_blocking(resource: Resource<'_>, query: &str) -> bool {
    matches!(resource, Resource::Media(_)) && names_blocking_directive(query)
}

/// True when `query` names `_HLS_msn` or `_HLS_part`, whatever their values.
pub fn names_blocking_directive(query: &str) -> bool {
    query
        .split('&')
        .any(|p| matches!(p.split('=').next(), Some("_HLS_msn" | "_HLS_part")))
}

/// The query parameters of a playlist request that change its answer: the `_HLS_`
/// ones and the start-over span (`start`, `end`: [`crate::start_over`]), sorted.
/// Everything else (cache-busters, tokens) is dropped, so identical requests reach the
/// origin's timeline API, and the edge's cache, under one URL.
///
/// [HLS §6.2.5] "Clients MUST ... [place delivery directives] in UTF-8 order";
/// [edge-cache.md §1.7] the edge should sort them anyway (`_HLS_part=1&_HLS_msn=5` is
/// `_HLS_msn=5&_HLS_part=1`), and byte order is UTF-8 order.
pub fn directive_query(query: &str) -> String {
    let mut kept: Vec<&str> = query
        .split('&')
        .filter(|p| p.starts_with("_HLS_") || p.starts_with("start=") || p.starts_with("end="))
        .collect();
    kept.sort_unstable();
    kept.join("&")
}

/// Why a manifest request failed, in the order a request is checked: its directives
/// (syntax, without looking at the channel), the channel, the rendition, the live edge
/// (too far ahead), then the wait.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// A directive the server must refuse.
    #[error("{0}")]
    Directive(#[from] DirectiveError),
    /// No such channel.
    #[error("not found: channel '{0}'")]
    UnknownChannel(String),
    /// The renderer refused (unknown rendition, nothing to list yet).
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    /// A blocked request whose state did not appear within the hold.
    #[error("{0} did not become available in time")]
    Timeout(String),
    /// A start-over query that cannot be served.
    #[error("{0}")]
    StartOver(#[from] crate::start_over::StartOverError),
}

impl Failure {
    /// The HTTP status of the failure.
    pub fn status(&self) -> u16 {
        match self {
            // [HLS §6.2.5.2] "If the _HLS_part directive is present without an _HLS_msn
            // directive, the server MUST return Bad Request"; a request too far ahead
            // "SHOULD" get 400 immediately; a malformed value is a bad request too.
            Failure::Directive(_) | Failure::StartOver(_) => 400,
            Failure::UnknownChannel(_) | Failure::Manifest(ManifestError::UnknownTrack(_)) => 404,
            // [HLS §6.2.5.2] "If the server cannot produce the requested Playlist ... after
            // blocking for more than three times the Target Duration, it SHOULD return
            // Service Unavailable (503)"; nothing to list yet is the same situation.
            Failure::Timeout(_) | Failure::Manifest(ManifestError::NotReady) => 503,
            Failure::Manifest(ManifestError::Encode(_)) => 500,
        }
    }
}

/// The media type of every failure body (a one-line reason).
pub const FAILURE_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// The body of a failure: its reason on one line.
pub fn failure_body(f: &Failure) -> String {
    format!("{f}\n")
}

/// `Cache-Control` of a successful playlist (or MPD, or timeline) response.
///
/// [HLS B.1] recommended cache lifetimes: "Blocking Playlist requests, success: 6 ×
/// Target Duration"; "Non-blocking Playlist requests, success: ½ Target Duration".
/// `target_duration_secs` is the EXT-X-TARGETDURATION the playlist announces
/// ([`ChannelSnapshot::target_duration_secs`]); ½ TD is at least one second.
pub fn cache_success(target_duration_secs: u64, blocking: bool) -> String {
    let td = target_duration_secs.max(1);
    let age = if blocking { 6 * td } else { (td / 2).max(1) };
    format!("public, max-age={age}")
}

/// `Cache-Control` of a failed playlist (or MPD, or timeline) response.
///
/// [HLS B.1] "Blocking Playlist requests, failure (404, etc.): 4 × Target Duration";
/// "Non-blocking Playlist requests, failure: 1 × Target Duration".
pub fn cache_failure(target_duration_secs: u64, blocking: bool) -> String {
    let td = target_duration_secs.max(1);
    format!("public, max-age={}", if blocking { 4 * td } else { td })
}

/// How long past its lifetime a cache may serve a manifest answer stale while one
/// refresh is in flight (stale-while-revalidate, as Varnish's grace): for a playlist,
/// MPD or HESP manifest without delivery directives, one more lifetime (a player polling
/// it gets an answer at once instead of waiting on the render, at most one lifetime
/// older: ½ target duration for HLS [HLS B.1]); for a blocking reload none, as it names
/// the version it wants.
pub fn stale_window(blocking: bool, lifetime: std::time::Duration) -> std::time::Duration {
    if blocking {
        std::time::Duration::ZERO
    } else {
        lifetime
    }
}

/// Query parameter of the origin's timeline API (`/{channel}/timeline.json`) that
/// applies the start-up hold of the multivariant playlist and the MPD
/// ([`ready_to_render`] for [`Resource::Master`]): the origin holds the request,
/// bounded by the blocking limit, exactly as it holds its own master playlist, so an
/// edge rendering from the answer lists the same renditions the origin would.
pub const STARTUP_HOLD: &str = "hold=startup";

/// True when `query` asks the timeline API for the start-up hold.
pub fn wants_startup_hold(query: &str) -> bool {
    query.split('&').any(|p| p == STARTUP_HOLD)
}

/// The start-up hold rule: is `snap` ready to render `resource`, or should the
/// request wait (bounded by 3 × TD, after which whatever exists is rendered, or 503)?
///
/// - Multivariant playlist and MPD: every rendition the channel has has a complete
///   segment. A master listing only the renditions that happen to be ready would
///   advertise a variant without its audio group (and an MPD without its audio
///   AdaptationSet) to every player that starts in the first segment of a channel.
/// - Media playlist: its rendition has a complete segment ([HLS §6.2.1] a playlist
///   needs at least one segment to be usable), and the delivery directives are met
///   ([HLS §6.2.5.2], see [`Directives::readiness`]). A directive that is an error is
///   "ready" here: the wait ends and the error is reported.
///
/// An unknown rendition is never ready; the caller reports it before waiting.
pub fn ready_to_render(
    snap: &ChannelSnapshot,
    resource: Resource<'_>,
    directives: &Directives,
) -> bool {
    match resource {
        Resource::Master | Resource::Mpd => {
            !snap.tracks.is_empty() && snap.tracks.iter().all(|t| t.last_complete_msn().is_some())
        }
        Resource::Media(id) => snap.track(id).is_some_and(|t| {
            t.last_complete_msn().is_some()
                && !matches!(directives.readiness(t, &snap.config), Ok(Readiness::Wait))
        }),
    }
}

/// The `UTCTiming@value` of the MPD: `{public_url}/time` when the operator configured
/// the public base URL of the service (origin `--public-url`, edge component
/// `WEIR_PUBLIC_URL`), otherwise the relative reference `../time`.
///
/// Never taken from the request (`Host`): the MPD is a cacheable document, so a value
/// from a request header would be served to every later client (header injection), and
/// `http://{Host}` is mixed content behind HTTPS.
///
/// Why a relative reference works: the MPD is served at `/{channel}/manifest.mpd` and
/// carries no `BaseURL`, so its base is its own URL and `../time` names `/time` at the
/// same scheme, host and path prefix the player used (HTTPS, CDN, any prefix). Both
/// browser players resolve a relative UTCTiming URL against the MPD: dash.js
/// `TimeSyncController` ("if (urlUtils.isRelative(url)) { // passing no path to
/// resolve will return just MPD BaseURL/baseUri ... url = urlUtils.resolve(url,
/// baseUrl.url)") and Shaka `DashParser.requestForTiming_` (`resolveUris(getBaseUris(),
/// [uri])`). Should a player fail to fetch it, dash.js falls back to the MPD's `Date`
/// header (`useManifestDateHeaderTimeSource`, exposed through CORS).
pub fn time_url(public_url: Option<&str>) -> String {
    match public_url.map(|u| u.trim_end_matches('/')) {
        Some(base) if !base.is_empty() => format!("{base}/time"),
        _ => "../time".to_string(),
    }
}

/// The LL-DASH `ServiceDescription` of every MPD: the live latency players should hold
/// and the playback rates they may use to hold it.
///
/// [IOP-LL 6.1] "`Latency@target` SHALL be present": the preferred presentation
/// latency in milliseconds relative to the producer reference time. dash.js takes
/// `target/1000` as its live delay and `(max - target + 500)/1000` as the drift past
/// which it seeks back to the live edge; `PlaybackRate` bounds its catch-up.
pub mod dash_service {
    /// `Latency@target` (ms): what weir's chunked delivery holds on a loaded 2-core
    /// machine (BENCHMARKS.md, dash.js latency).
    pub const LATENCY_TARGET_MS: u64 = 500;
    /// `Latency@min` (ms).
    pub const LATENCY_MIN_MS: u64 = 250;
    /// `Latency@max` (ms): past it dash.js seeks back to the target instead of
    /// catching up by playback rate.
    pub const LATENCY_MAX_MS: u64 = 2_000;
    /// `PlaybackRate@min` and `@max`: the catch-up range.
    pub const PLAYBACK_RATE: (&str, &str) = ("0.9", "1.1");
    /// Longest `MPD@minimumUpdatePeriod` (ms). After an encoder restart a player still
    /// on the old MPD asks for a segment of the new Period under the old one and is
    /// refused (404); it must reload the MPD within its retries (dash.js in low-latency
    /// mode: 15 tries 100 ms apart), so the MPD is reloaded at least this often.
    pub const UPDATE_PERIOD_MAX_MS: u64 = 1_000;
}

/// Where an edge (the Wasm component, and `weir edge`'s cache for media) finds the
/// origin.
pub mod edge {
    /// Environment variable naming the origin's base URL.
    pub const ORIGIN_VAR: &str = "WEIR_ORIGIN";
    /// The origin when [`ORIGIN_VAR`] is not set (`weir origin`'s default playback
    /// listener).
    pub const DEFAULT_ORIGIN: &str = "http://127.0.0.1:8082";

    /// The origin's base URL from the value of [`ORIGIN_VAR`], without a trailing slash.
    pub fn origin(var: Option<&str>) -> String {
        var.unwrap_or(DEFAULT_ORIGIN)
            .trim_end_matches('/')
            .to_string()
    }
}

/// HESP (draft-theo-hesp) numbers of every channel.
pub mod hesp {
    /// Suffix of a key-frame-only companion track's ingest name: `{rendition}.kf` pairs
    /// with video rendition `{rendition}` and supplies its initialization packets.
    pub const COMPANION_SUFFIX: &str = ".kf";
    /// How much of a companion track is kept (ms of media behind its newest frame):
    /// packets are asked for at the live edge (`now`) or, for a rendition switch, at
    /// the player's buffered end, never further back than its buffer.
    pub const COMPANION_KEEP_MS: u64 = 4_000;
    /// Most frames one companion track keeps, whatever their durations claim.
    pub const COMPANION_MAX_FRAMES: usize = 512;
    /// How far ahead of the newest stored media (ms) a numbered initialization packet
    /// is held until it exists; further is refused at once.
    pub const PACKET_HOLD_AHEAD_MS: u64 = 1_000;
    /// `emsg@scheme_id_uri` of HESP's in-band messages [HESP §4.1].
    pub const SCHEME: &str = "urn:theo:hesp:2020";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hls::Skip;

    #[test]
    fn names() {
        for ok in ["a", "live_1", "v-360", &"x".repeat(64)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "a.b", "a/b", "..", "é", &"x".repeat(65), "time json"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn lifetimes_follow_the_profile_table() {
        // [HLS B.1] with TD 6 s: 36 / 3 / 24 / 6.
        assert_eq!(cache_success(6, true), "public, max-age=36");
        assert_eq!(cache_success(6, false), "public, max-age=3");
        assert_eq!(cache_failure(6, true), "public, max-age=24");
        assert_eq!(cache_failure(6, false), "public, max-age=6");
        // ½ TD never rounds to 0.
        assert_eq!(cache_success(1, false), "public, max-age=1");
        assert_eq!(cache_success(0, false), "public, max-age=1");
        // A larger announced target (a long GOP) lengthens every lifetime.
        assert_eq!(cache_success(4, true), "public, max-age=24");
        assert_eq!(cache_failure(4, true), "public, max-age=16");
        let life = std::time::Duration::from_secs(1);
        assert_eq!(stale_window(false, life), life);
        assert_eq!(stale_window(true, life), std::time::Duration::ZERO);
    }

    #[test]
    fn only_media_playlists_take_directives() {
        let media = Resource::Media("v1");
        for q in [
            "_HLS_msn=1",
            "_HLS_part=1",
            "_HLS_msn=x&_HLS_part=2",
            "_HLS_part",
        ] {
            assert!(is_blocking(media, q), "{q}");
            assert!(!is_blocking(Resource::Master, q), "{q}");
            assert!(!is_blocking(Resource::Mpd, q), "{q}");
        }
        for q in [
            "",
            "_HLS_skip=YES",
            "_HLS_skip=maybe",
            "x=_HLS_msn",
            "_HLS_msnx=1",
        ] {
            assert!(!is_blocking(media, q), "{q}");
        }
        assert!(directives(media, "_HLS_part=1").is_err());
        assert_eq!(
            directives(Resource::Master, "_HLS_part=1"),
            Ok(Directives::default())
        );
        assert_eq!(
            directives(media, "_HLS_skip=v2").map(|d| d.skip),
            Ok(Skip::V2)
        );
    }

    #[test]
    fn directive_query_keeps_only_directives() {
        assert_eq!(
            directive_query("cb=1&_HLS_msn=5&rendition=x&_HLS_part=2&hold=startup"),
            "_HLS_msn=5&_HLS_part=2"
        );
        assert_eq!(
            directive_query("_HLS_skip=YES&_HLS_part=1&_HLS_msn=5"),
            "_HLS_msn=5&_HLS_part=1&_HLS_skip=YES",
            "sorted, whatever the client's order"
        );
        assert_eq!(directive_query(""), "");
        assert_eq!(
            directive_query("token=9&start=1795383000&_HLS_msn=5&end=1795386600"),
            "_HLS_msn=5&end=1795386600&start=1795383000",
            "a start-over span changes the answer"
        );
    }

    #[test]
    fn statuses() {
        use DirectiveError::PartWithoutMsn;
        assert_eq!(Failure::from(PartWithoutMsn).status(), 400);
        assert_eq!(Failure::UnknownChannel("x".into()).status(), 404);
        assert_eq!(
            Failure::from(ManifestError::UnknownTrack("x".into())).status(),
            404
        );
        assert_eq!(Failure::from(ManifestError::NotReady).status(), 503);
        assert_eq!(Failure::Timeout("x".into()).status(), 503);
        assert_eq!(
            failure_body(&Failure::UnknownChannel("c".into())),
            "not found: channel 'c'\n"
        );
        assert_eq!(
            failure_body(&PartWithoutMsn.into()),
            "_HLS_part requires _HLS_msn\n"
        );
    }

    #[test]
    fn startup_hold_flag() {
        assert!(wants_startup_hold("hold=startup"));
        assert!(wants_startup_hold("a=1&hold=startup"));
        assert!(!wants_startup_hold("hold=startupx"));
        assert!(!wants_startup_hold(""));
    }

    /// A channel of `tracks`, each fed `frames` 30 fps frames (2 s segments: one
    /// segment is complete after 61 frames).
    fn channel(tracks: &[(&str, u64)]) -> ChannelSnapshot {
        use timeline::{MediaKind, TimingConfig, TrackMeta, TrackTimeline};
        let config = TimingConfig::default();
        let tracks = tracks
            .iter()
            .map(|&(id, frames)| {
                let mut t = TrackTimeline::new(TrackMeta {
                    id: id.into(),
                    kind: MediaKind::Video,
                    codec: "avc1.64001f".into(),
                    timescale: 15360,
                    width: 640,
                    height: 360,
                    frame_duration: 512,
                    sample_rate: 0,
                    channels: 0,
                    language: None,
                    bandwidth: 1,
                    average_bandwidth: 1,
                });
                let mut grid = timeline::Grid {
                    cadence: None,
                    has_video: true,
                };
                for i in 0..frames {
                    t.append(&config, &mut grid, i * 512, 512, i % 30 == 0, 10)
                        .expect("frame appends");
                }
                t
            })
            .collect();
        ChannelSnapshot {
            channel: "c".into(),
            config,
            version: 1,
            byterange_parts: false,
            now_us: 0,
            epoch_us: Some(0),
            epoch_source: None,
            cadence: Some(timeline::Cadence::from_millis(config.target_duration_ms)),
            tracks,
            start_over: None,
        }
    }

    #[test]
    fn startup_hold_waits_for_every_rendition() {
        let none = Directives::default();
        let both = channel(&[("v1", 61), ("a1", 61)]);
        let one = channel(&[("v1", 61), ("a1", 30)]);
        let empty = channel(&[]);
        for r in [Resource::Master, Resource::Mpd] {
            assert!(ready_to_render(&both, r, &none));
            assert!(!ready_to_render(&one, r, &none), "{r:?}: a1 has no segment");
            assert!(
                !ready_to_render(&empty, r, &none),
                "{r:?}: no rendition yet"
            );
        }
        // A media playlist waits only for its own rendition.
        assert!(ready_to_render(&one, Resource::Media("v1"), &none));
        assert!(!ready_to_render(&one, Resource::Media("a1"), &none));
        assert!(!ready_to_render(&one, Resource::Media("nope"), &none));
        // ... and for its directives: 1 is complete, 2 is not.
        let want = |msn| Directives {
            msn: Some(msn),
            ..Directives::default()
        };
        assert!(ready_to_render(&both, Resource::Media("v1"), &want(1)));
        assert!(!ready_to_render(&both, Resource::Media("v1"), &want(2)));
        // An error ends the wait (to be reported).
        assert!(ready_to_render(&both, Resource::Media("v1"), &want(99)));
    }

    #[test]
    fn time_url_never_needs_the_host() {
        assert_eq!(time_url(None), "../time");
        assert_eq!(time_url(Some("")), "../time");
        assert_eq!(
            time_url(Some("https://cdn.example/live/")),
            "https://cdn.example/live/time"
        );
        assert_eq!(
            time_url(Some("https://cdn.example")),
            "https://cdn.example/time"
        );
    }
}
