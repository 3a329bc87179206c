//! Answers of the edge: rendering and the headers the origin also sends, so a response
//! rendered here equals the origin's own.

use std::io::Write as _;

use manifest::headers::{DASH_MPD, HLS_PLAYLIST};
use manifest::policy::{self, Failure, cache_failure, cache_success};
use timeline::ChannelSnapshot;

use crate::route::Resource;

/// Names this renderer in every manifest it renders.
const RENDER: &str = concat!("wasm/", env!("CARGO_PKG_VERSION"));

/// Header list as the wasi:http `Fields` take it.
pub type HeaderList = Vec<(String, Vec<u8>)>;

/// A status, headers and body.
pub struct Answer {
    status: u16,
    headers: HeaderList,
    body: Vec<u8>,
}

impl Answer {
    /// An answer with the given parts.
    pub fn raw(status: u16, headers: HeaderList, body: Vec<u8>) -> Answer {
        Answer {
            status,
            headers,
            body,
        }
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The value of header `name` (lower case), as text.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    }

    /// The body, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Adds CORS (and, for rendered manifests, Vary and gzip) and returns the parts.
    pub fn finish(mut self, gzip: Option<bool>) -> (u16, HeaderList, Vec<u8>) {
        let mut hs = std::mem::take(&mut self.headers);
        hs.push(("access-control-allow-origin".into(), b"*".to_vec()));
        hs.push((
            "access-control-expose-headers".into(),
            b"Age, Date".to_vec(),
        ));
        hs.push(("x-weir-render".into(), RENDER.as_bytes().to_vec()));
        let mut body = self.body;
        if let Some(accepted) = gzip {
            hs.push(("vary".into(), b"Accept-Encoding".to_vec()));
            if accepted {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                if let Ok(z) = gz.write_all(&body).and_then(|_| gz.finish()) {
                    body = z;
                    hs.push(("content-encoding".into(), b"gzip".to_vec()));
                }
            }
        }
        (self.status, hs, body)
    }
}

/// A plain-text error answer with a one-line reason (not cacheable: the edge's own
/// failures, e.g. 502).
pub fn error(status: u16, reason: &str) -> Answer {
    Answer::raw(
        status,
        vec![
            (
                "content-type".into(),
                policy::FAILURE_CONTENT_TYPE.as_bytes().to_vec(),
            ),
            ("cache-control".into(), b"no-store".to_vec()),
        ],
        format!("{reason}\n").into_bytes(),
    )
}

/// The answer to a failed manifest request, as the origin gives it: the policy's
/// status, reason and failure lifetime.
fn failure(f: &Failure, cache: String) -> Answer {
    Answer::raw(
        f.status(),
        vec![
            (
                "content-type".into(),
                policy::FAILURE_CONTENT_TYPE.as_bytes().to_vec(),
            ),
            ("cache-control".into(), cache.into_bytes()),
        ],
        policy::failure_body(f).into_bytes(),
    )
}

/// Renders `resource` from `snap` as the origin would: directives, statuses and cache
/// lifetimes from `manifest::policy`, lifetimes from the target duration the snapshot's
/// playlists announce.
pub fn render(snap: &ChannelSnapshot, resource: &Resource, query: &str, time_url: &str) -> Answer {
    let res = match resource {
        Resource::Master => policy::Resource::Master,
        Resource::Media(id) => policy::Resource::Media(id),
        // The HESP manifest is held and cached as the MPD is (the origin's policy).
        Resource::Mpd | Resource::Hesp => policy::Resource::Mpd,
        // L-HLS playlists take no directives and never block: as the master (the
        // origin's policy for them).
        Resource::LhlsMaster | Resource::LhlsMedia(_) => policy::Resource::Master,
    };
    let td = snap.target_duration_secs();
    let blocking = policy::is_blocking(res, query);
    let directives = match policy::directives(res, query) {
        Ok(d) => d,
        Err(e) => return failure(&e.into(), cache_failure(td, blocking)),
    };
    // The start-over span, checked as the origin checks it for its own manifests (the
    // MPD and HESP are always dynamic: `end=` is theirs to refuse).
    let dynamic = matches!(resource, Resource::Mpd | Resource::Hesp);
    if let Err(e) = manifest::start_over::span(query, snap.now_us, !dynamic) {
        return failure(&e.into(), cache_failure(td, blocking));
    }
    let (ct, text) = match resource {
        Resource::Master => (
            HLS_PLAYLIST,
            manifest::hls::multivariant_playlist(snap).map_err(Failure::from),
        ),
        Resource::Media(id) => (HLS_PLAYLIST, render_media(snap, id, &directives)),
        Resource::LhlsMaster => (
            HLS_PLAYLIST,
            manifest::hls::lhls_multivariant_playlist(snap).map_err(Failure::from),
        ),
        Resource::LhlsMedia(id) => (
            HLS_PLAYLIST,
            manifest::hls::lhls_media_playlist(snap, id).map_err(Failure::from),
        ),
        Resource::Hesp => {
            let opts = manifest::hesp::HespOptions {
                time_url: time_url.to_string(),
            };
            (
                manifest::hesp::HESP_MANIFEST,
                manifest::hesp::hesp_manifest(snap, &opts).map_err(Failure::from),
            )
        }
        Resource::Mpd => {
            let opts = manifest::dash::MpdOptions {
                time_url: time_url.to_string(),
            };
            (
                DASH_MPD,
                manifest::dash::mpd(snap, &opts).map_err(Failure::from),
            )
        }
    };
    match text {
        Ok(body) => Answer::raw(
            200,
            vec![
                ("content-type".into(), ct.as_bytes().to_vec()),
                (
                    "cache-control".into(),
                    cache_success(td, directives.is_blocking()).into_bytes(),
                ),
            ],
            body.into_bytes(),
        ),
        Err(f) => failure(&f, cache_failure(td, blocking)),
    }
}

/// A media playlist, refusing a directive too far ahead of this snapshot as the origin
/// does ([HLS §6.2.5.2]).
fn render_media(
    snap: &ChannelSnapshot,
    id: &str,
    directives: &manifest::hls::Directives,
) -> Result<String, Failure> {
    if let Some(t) = snap.track(id) {
        directives.readiness(t, &snap.config)?;
    }
    Ok(manifest::hls::media_playlist(snap, id, directives.skip)?)
}
