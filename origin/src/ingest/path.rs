//! What an ingest path refers to.
//!
//! `/ingest/{channel}/{file}` where `{file}` is, by ffmpeg's DASH muxer defaults,
//! `init-{track}.m4s`, `chunk-{track}-{number}.m4s` or a manifest (`*.mpd`, `*.m3u8`,
//! accepted and ignored), or else `{track}[.mp4|.cmfv|.cmfa|.m4s|.m4v|.m4a]` for one long
//! upload of a whole fragmented-MP4 track. `{track}.kf` names the key-frame-only companion
//! of video rendition `{track}` (HESP initialization packets). The media itself is understood from its boxes.

use manifest::policy::hesp::COMPANION_SUFFIX;

use crate::error::IngestError;

/// The target of an ingest request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A manifest the encoder uploads; weir renders its own, so it is ignored.
    Manifest,
    /// Media (init and/or fragments) for one track.
    Track {
        /// Channel name.
        channel: String,
        /// Track (rendition) name.
        track: String,
        /// True for the key-frame-only companion of rendition `track`
        /// (`{track}.kf[.mp4]`), the source of its HESP initialization packets.
        companion: bool,
    },
}

/// Classifies an ingest request path.
pub fn classify(path: &str) -> Result<Target, IngestError> {
    let unknown = || IngestError::UnknownPath(path.to_string());
    let rest = path.strip_prefix("/ingest/").ok_or_else(unknown)?;
    let (channel, file) = rest.split_once('/').ok_or_else(unknown)?;
    check_name(channel)?;
    if file.is_empty() || file.contains('/') {
        return Err(unknown());
    }
    if file.ends_with(".mpd") || file.ends_with(".m3u8") || file.ends_with(".tmp") {
        return Ok(Target::Manifest);
    }
    let stem = [".mp4", ".cmfv", ".cmfa", ".m4s", ".m4v", ".m4a"]
        .iter()
        .find_map(|ext| file.strip_suffix(ext))
        .unwrap_or(file);
    let track = if let Some(t) = stem.strip_prefix("init-") {
        t
    } else if let Some((t, n)) = stem.strip_prefix("chunk-").and_then(|s| s.rsplit_once('-')) {
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IngestError::BadName(stem.to_string()));
        }
        t
    } else {
        stem
    };
    let (track, companion) = match track.strip_suffix(COMPANION_SUFFIX) {
        Some(of) => (of, true),
        None => (track, false),
    };
    check_name(track)?;
    Ok(Target::Track {
        channel: channel.to_string(),
        track: track.to_string(),
        companion,
    })
}

/// Names are used verbatim in URLs and manifests: 1-64 of `[A-Za-z0-9_-]`.
pub fn check_name(name: &str) -> Result<(), IngestError> {
    if manifest::policy::valid_name(name) {
        Ok(())
    } else {
        Err(IngestError::BadName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(c: &str, t: &str) -> Target {
        Target::Track {
            channel: c.into(),
            track: t.into(),
            companion: false,
        }
    }

    #[test]
    fn classifies_ffmpeg_dash_and_long_uploads() {
        assert_eq!(
            classify("/ingest/live/init-stream0.m4s"),
            Ok(track("live", "stream0"))
        );
        assert_eq!(
            classify("/ingest/live/chunk-stream1-00042.m4s"),
            Ok(track("live", "stream1"))
        );
        assert_eq!(classify("/ingest/live/manifest.mpd"), Ok(Target::Manifest));
        assert_eq!(classify("/ingest/live/v720.mp4"), Ok(track("live", "v720")));
        assert_eq!(classify("/ingest/live/audio"), Ok(track("live", "audio")));
        assert_eq!(
            classify("/ingest/live/v720.kf.mp4"),
            Ok(Target::Track {
                channel: "live".into(),
                track: "v720".into(),
                companion: true,
            })
        );
        assert!(classify("/ingest/live/.kf.mp4").is_err());
    }

    #[test]
    fn rejects_unknown_and_bad_paths() {
        assert!(matches!(
            classify("/upload/x/y"),
            Err(IngestError::UnknownPath(_))
        ));
        assert!(matches!(
            classify("/ingest/live"),
            Err(IngestError::UnknownPath(_))
        ));
        assert!(matches!(
            classify("/ingest/live/a/b"),
            Err(IngestError::UnknownPath(_))
        ));
        assert!(matches!(
            classify("/ingest/li ve/a"),
            Err(IngestError::BadName(_))
        ));
        assert!(matches!(
            classify("/ingest/live/chunk-s-x1.m4s"),
            Err(IngestError::BadName(_))
        ));
        assert!(matches!(
            classify("/ingest/live/..mp4"),
            Err(IngestError::BadName(_))
        ));
    }
}
