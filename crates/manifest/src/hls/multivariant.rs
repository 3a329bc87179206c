//! The multivariant playlist.

use std::fmt::Write as _;

use timeline::{ChannelSnapshot, MediaKind, TrackSnapshot};

use super::VERSION;
use super::attr::quoted;
use crate::ManifestError;

/// GROUP-ID of the audio renditions.
const AUDIO_GROUP: &str = "audio";

/// Renders `/{channel}/master.m3u8`: one EXT-X-STREAM-INF per video rendition (each
/// referencing the audio group), one EXT-X-MEDIA per audio rendition; a channel without
/// video gets one variant per audio rendition.
pub fn multivariant_playlist(snap: &ChannelSnapshot) -> Result<String, ManifestError> {
    multivariant_of(snap, super::MEDIA_PLAYLIST)
}

/// Renders `/{channel}/lhls.m3u8`: [`multivariant_playlist`] whose variants are the
/// renditions' L-HLS media playlists (`{track}/lhls.m3u8`).
pub fn lhls_multivariant_playlist(snap: &ChannelSnapshot) -> Result<String, ManifestError> {
    multivariant_of(snap, super::LHLS_PLAYLIST)
}

/// The multivariant playlist whose media playlists are `{track}/{media}`.
fn multivariant_of(snap: &ChannelSnapshot, media: &str) -> Result<String, ManifestError> {
    // A start-over playlist's variants are the same span of each rendition.
    let media = &format!("{media}{}", crate::start_over::carried(snap));
    // A rendition that stopped while others go on is not offered (players that
    // switch to it would wait for media that does not come).
    let ready = |t: &&TrackSnapshot| t.last_complete_msn().is_some() && snap.listed(t);
    let videos: Vec<&TrackSnapshot> = snap.tracks_of(MediaKind::Video).filter(ready).collect();
    let audios: Vec<&TrackSnapshot> = snap.tracks_of(MediaKind::Audio).filter(ready).collect();
    if videos.is_empty() && audios.is_empty() {
        return Err(ManifestError::NotReady);
    }
    let mut out = String::with_capacity(512);
    out.push_str("#EXTM3U\n");
    let _ = writeln!(out, "#EXT-X-VERSION:{VERSION}");
    // [HLS §4.4.2.1] EXT-X-INDEPENDENT-SEGMENTS: "all media samples in a Media Segment
    // can be decoded without information from other segments". Segments start with a
    // key frame unless the source's key frames came too late for the cadence and the
    // cutter had to cut without one; then the tag is left out. Apple authoring spec
    // 9.11 puts it in the multivariant playlist.
    if snap
        .tracks
        .iter()
        .all(|t| t.segments.iter().all(|s| s.independent()))
    {
        out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
    }
    if videos.is_empty() {
        for a in &audios {
            stream_inf(
                &mut out,
                a.meta.bandwidth,
                a.meta.average_bandwidth,
                &a.meta.codec,
                None,
            );
            let _ = writeln!(out, "{}/{media}", a.meta.id);
        }
        return Ok(out);
    }
    for (i, a) in audios.iter().enumerate() {
        let m = &a.meta;
        let mut line = format!(
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID={},NAME={}",
            quoted(AUDIO_GROUP),
            quoted(&m.id)
        );
        if let Some(lang) = &m.language {
            let _ = write!(line, ",LANGUAGE={}", quoted(lang));
        }
        // [HLS §4.4.6.1] "If the value [of DEFAULT] is YES, then the value of AUTOSELECT
        // MUST also be YES." At most one member of a group is the default.
        let default = if i == 0 { "YES" } else { "NO" };
        let _ = write!(line, ",DEFAULT={default},AUTOSELECT=YES");
        if m.channels > 0 {
            let _ = write!(line, ",CHANNELS={}", quoted(&m.channels.to_string()));
        }
        let _ = writeln!(out, "{line},URI={}", quoted(&format!("{}/{media}", m.id)));
    }
    let audio_peak = audios.iter().map(|a| a.meta.bandwidth).max().unwrap_or(0);
    let audio_avg = audios
        .iter()
        .map(|a| a.meta.average_bandwidth)
        .max()
        .unwrap_or(0);
    let mut audio_codecs: Vec<&str> = audios.iter().map(|a| a.meta.codec.as_str()).collect();
    audio_codecs.dedup();
    for v in &videos {
        let m = &v.meta;
        // [HLS §4.4.6.2] CODECS lists every format of every rendition the variant uses,
        // and BANDWIDTH covers the video plus the largest audio rendition.
        let mut codecs = vec![m.codec.as_str()];
        codecs.extend(audio_codecs.iter());
        let audio = (!audios.is_empty()).then_some(AUDIO_GROUP);
        stream_inf(
            &mut out,
            m.bandwidth + audio_peak,
            m.average_bandwidth + audio_avg,
            &codecs.join(","),
            Some((v, audio)),
        );
        let _ = writeln!(out, "{}/{media}", m.id);
    }
    Ok(out)
}

/// Writes one EXT-X-STREAM-INF line.
fn stream_inf(
    out: &mut String,
    bandwidth: u64,
    average: u64,
    codecs: &str,
    video: Option<(&TrackSnapshot, Option<&str>)>,
) {
    let _ = write!(out, "#EXT-X-STREAM-INF:BANDWIDTH={}", bandwidth.max(1));
    if average > 0 {
        let _ = write!(out, ",AVERAGE-BANDWIDTH={average}");
    }
    let _ = write!(out, ",CODECS={}", quoted(codecs));
    if let Some((v, audio)) = video {
        let m = &v.meta;
        if m.width > 0 && m.height > 0 {
            let _ = write!(out, ",RESOLUTION={}x{}", m.width, m.height);
        }
        if m.frame_duration > 0 {
            // FRAME-RATE: decimal-floating-point with three decimals [HLS §4.4.6.2].
            let rate = timeline::time::format_secs(u64::from(m.timescale), m.frame_duration, 3);
            let _ = write!(out, ",FRAME-RATE={rate}");
        }
        if let Some(group) = audio {
            let _ = write!(out, ",AUDIO={}", quoted(group));
        }
    }
    out.push('\n');
}
