//! HESP (draft-theo-hesp-06, manifest version 2.0.0): the JSON manifest of a channel.
//!
//! One Presentation per discontinuity sequence (the DASH Periods of the same channel),
//! a video Switching Set with every video rendition and an audio Switching Set per
//! language. Continuation segments are the stored segments (`{track}/p{period}/
//! hesp-seg-{segmentId}.m4s`: the DASH segment's bytes, followed by HESP's in-band
//! `manifestupdate` when the segment ends its Presentation); initialization
//! packets are `{track}/p{period}/hesp-{initId}.mp4`, built by the origin from the
//! rendition's key-frame companion track or its own key frames.
//!
//! Times: Manifest time is wall-clock time in microseconds since 1970 (scale 10^6), so a
//! player reads its latency off the manifest; `mediaTimeOffset` (media − manifest time)
//! is minus the channel's anchor, and absent when the encoder's clock is already the
//! epoch's.

mod model;

use timeline::time::format_iso8601_micros;
use timeline::{Cadence, ChannelSnapshot, MediaKind, Segment, TrackSnapshot};

use crate::ManifestError;
use crate::dash::{Placement, addressable_tracks, periods, published_tracks};
use model::{
    AudioSet, AudioTrack, Manifest, Presentation, Resolution, Scaled, SegmentEntry, TimeBounds,
    TimeSource, TrackCommon, VideoSet, VideoTrack,
};

/// `Content-Type` of the manifest [HESP §3.3].
pub const HESP_MANIFEST: &str = "application/vnd.theo.hesp+json";

/// `initializationPattern` of every Switching Set: `{initId}` is a sequence number or
/// `now` [HESP §3.4].
pub const INIT_PATTERN: &str = "hesp-{initId}.mp4";
/// `continuationPattern`: the segment of the same Period, as HESP's continuation
/// (`hesp-seg-{id}.m4s`: the segment's bytes, and HESP's `manifestupdate` event after
/// them when the segment ends its Presentation).
pub const CONTINUATION_PATTERN: &str = "hesp-seg-{segmentId}.m4s";

/// Manifest time scale: microseconds.
const US: u64 = 1_000_000;

/// How the initialization packets of one track are numbered in one Presentation.
///
/// [HESP §3.1] "Sequence number for a Manifest time t = floor((t − startTime) ×
/// frameRate) + startSequenceNumber", and startTime "must equal the time of each track's
/// startSequenceNumber": packet `n` covers track ticks
/// `[start + (n − first) × frame, + frame)`. `first` is `floor(start / frame)` (packets
/// counted from media time zero, so numbers grow across Presentations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numbering {
    /// The Presentation's start in the track's ticks.
    pub start: u64,
    /// `startSequenceNumber`.
    pub first: u64,
    /// Ticks per packet: the track's frame duration.
    pub frame: u64,
}

impl Numbering {
    /// Start (ticks) of packet `n`; `None` before the Presentation's first.
    pub fn time_of(&self, n: u64) -> Option<u64> {
        let k = n.checked_sub(self.first)?;
        k.checked_mul(self.frame)?.checked_add(self.start)
    }

    /// The packet whose span holds `t` (ticks); `None` before the Presentation.
    pub fn sequence_of(&self, t: u64) -> Option<u64> {
        let k = t.checked_sub(self.start)? / self.frame;
        self.first.checked_add(k)
    }
}

/// The packet numbering of track `track` in Presentation `period`, as the manifest
/// announces it; `None` when the track has no media there or no known frame duration.
pub fn packet_numbering(snap: &ChannelSnapshot, track: &str, period: u64) -> Option<Numbering> {
    let t = snap.track(track)?;
    let listed = addressable_tracks(snap);
    let groups = periods(&listed);
    let members = groups.get(&period)?;
    members.iter().find(|(m, _)| m.meta.id == t.meta.id)?;
    let place = Placement::of(period, members, snap.grid());
    numbering(t, &place, snap.grid())
}

fn numbering(t: &TrackSnapshot, place: &Placement, grid: Cadence) -> Option<Numbering> {
    let frame = u64::from(t.meta.frame_duration);
    if frame == 0 {
        return None;
    }
    let start = u64::try_from(
        u128::from(place.start_us(grid)) * u128::from(t.meta.timescale) / u128::from(US),
    )
    .ok()?;
    Some(Numbering {
        start,
        first: start / frame,
        frame,
    })
}

/// What the manifest says beyond the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HespOptions {
    /// `timeSource.value`: weir's time endpoint ([`crate::policy::time_url`]).
    pub time_url: String,
}

/// Renders the live HESP manifest of the channel (published with the MPD: once a
/// segment is complete).
pub fn hesp_manifest(snap: &ChannelSnapshot, opts: &HespOptions) -> Result<String, ManifestError> {
    let epoch = snap.epoch_us.ok_or(ManifestError::NotReady)?;
    let cfg = &snap.config;
    let listed = published_tracks(snap)?;
    let grid = snap.grid();
    let groups = periods(&listed);
    let starts: Vec<(u64, Placement)> = groups
        .iter()
        .map(|(id, members)| (*id, Placement::of(*id, members, grid)))
        .collect();
    let manifest_us =
        |media_us: u64| epoch.saturating_add(i64::try_from(media_us).unwrap_or(i64::MAX));
    let mut presentations = Vec::new();
    for (i, (id, members)) in groups.iter().enumerate() {
        let place = &starts[i].1;
        let start = manifest_us(place.start_us(grid));
        let end = starts
            .get(i + 1)
            .map(|(_, next)| manifest_us(next.start_us(grid)));
        let ctx = Ctx {
            period: *id,
            grid,
            place,
            epoch,
        };
        let video: Vec<VideoTrack> = members
            .iter()
            .filter(|(t, _)| t.meta.kind == MediaKind::Video)
            .map(|(t, segs)| video_track(&ctx, t, segs))
            .collect();
        // One audio Switching Set per language (ISO 639-2; `und` for none or an invalid
        // one, which then share a set: ids are unique).
        let lang_of = |t: &TrackSnapshot| {
            t.meta
                .language
                .as_deref()
                .filter(|l| valid_language(l))
                .unwrap_or("und")
                .to_string()
        };
        let mut langs: Vec<String> = Vec::new();
        for (t, _) in members
            .iter()
            .filter(|(t, _)| t.meta.kind == MediaKind::Audio)
        {
            let l = lang_of(t);
            if !langs.contains(&l) {
                langs.push(l);
            }
        }
        let audio: Vec<AudioSet> = langs
            .into_iter()
            .map(|language| AudioSet {
                id: format!("audio-{language}"),
                mime_type: "audio/mp4",
                initialization_pattern: INIT_PATTERN,
                continuation_pattern: CONTINUATION_PATTERN,
                media_time_offset: media_time_offset(epoch),
                tracks: members
                    .iter()
                    .filter(|(t, _)| t.meta.kind == MediaKind::Audio && lang_of(t) == language)
                    .map(|(t, segs)| audio_track(&ctx, t, segs))
                    .collect(),
                language,
            })
            .collect();
        presentations.push(Presentation {
            id: format!("p{id}"),
            time_bounds: TimeBounds {
                start_time: Some(start),
                end_time: end,
                scale: US,
            },
            video: (!video.is_empty()).then(|| {
                vec![VideoSet {
                    id: "video".into(),
                    mime_type: "video/mp4",
                    initialization_pattern: INIT_PATTERN,
                    continuation_pattern: CONTINUATION_PATTERN,
                    media_time_offset: media_time_offset(epoch),
                    tracks: video,
                }]
            }),
            audio: (!audio.is_empty()).then_some(audio),
        });
    }
    let newest_us = snap
        .tracks
        .iter()
        .filter_map(|t| {
            t.end()
                .map(|e| timeline::time::to_micros(e, t.meta.timescale))
        })
        .max()
        .unwrap_or(0);
    let window_ms = grid.millis_ceil() * u64::from(cfg.window_segments);
    let m = Manifest {
        manifest_version: "2.0.0",
        stream_type: "live",
        creation_date: format_iso8601_micros(snap.now_us),
        availability_duration: Scaled {
            value: i64::try_from(window_ms).unwrap_or(i64::MAX),
            scale: 1000,
        },
        fallback_poll_rate: snap.target_duration_secs().max(1),
        active_presentation: presentations.last().map(|p| p.id.clone()),
        current_time: Some(Scaled {
            value: manifest_us(newest_us),
            scale: US,
        }),
        time_source: TimeSource {
            scheme: "urn:mpeg:dash:utc:http-iso:2014",
            value: opts.time_url.clone(),
        },
        presentations,
    };
    serde_json::to_string_pretty(&m).map_err(|e| ManifestError::Encode(e.to_string()))
}

/// What every track of one Presentation shares.
struct Ctx<'a> {
    period: u64,
    grid: Cadence,
    place: &'a Placement,
    epoch: i64,
}

impl Ctx<'_> {
    /// `startSequenceNumber` ([`Numbering`]).
    fn start_sequence(&self, t: &TrackSnapshot) -> u64 {
        numbering(t, self.place, self.grid).map_or(0, |n| n.first)
    }

    fn segments(&self, t: &TrackSnapshot, segs: &[&Segment]) -> Vec<SegmentEntry> {
        let ts = t.meta.timescale;
        let at = |ticks: u64| {
            self.epoch.saturating_add(
                i64::try_from(timeline::time::to_micros(ticks, ts)).unwrap_or(i64::MAX),
            )
        };
        segs.iter()
            .map(|s| SegmentEntry {
                id: s.msn,
                time_bounds: TimeBounds {
                    start_time: Some(at(s.start)),
                    end_time: s.complete.then(|| at(s.end())),
                    scale: US,
                },
            })
            .collect()
    }

    fn segment_duration(&self) -> Scaled {
        Scaled {
            value: i64::try_from(self.grid.ticks).unwrap_or(i64::MAX),
            scale: u64::from(self.grid.timescale),
        }
    }

    fn base_url(&self, t: &TrackSnapshot) -> String {
        format!("{}/p{}/", t.meta.id, self.period)
    }
}

/// The fields every Track of the Presentation carries.
fn common(ctx: &Ctx<'_>, t: &TrackSnapshot, segs: &[&Segment]) -> TrackCommon {
    let m = &t.meta;
    TrackCommon {
        id: m.id.clone(),
        base_url: ctx.base_url(t),
        bandwidth: m.bandwidth.max(1),
        average_bandwidth: (m.average_bandwidth > 0).then_some(m.average_bandwidth),
        codecs: m.codec.clone(),
        segment_duration: ctx.segment_duration(),
        start_segment_id: ctx.place.start_number(t, segs, ctx.grid),
        start_sequence_number: ctx.start_sequence(t),
        segments: ctx.segments(t, segs),
    }
}

fn video_track(ctx: &Ctx<'_>, t: &TrackSnapshot, segs: &[&Segment]) -> VideoTrack {
    let m = &t.meta;
    VideoTrack {
        common: common(ctx, t, segs),
        resolution: Resolution {
            width: m.width,
            height: m.height,
        },
        frame_rate: (m.frame_duration > 0).then(|| Scaled {
            value: i64::from(m.timescale),
            scale: u64::from(m.frame_duration),
        }),
    }
}

fn audio_track(ctx: &Ctx<'_>, t: &TrackSnapshot, segs: &[&Segment]) -> AudioTrack {
    let m = &t.meta;
    AudioTrack {
        common: common(ctx, t, segs),
        sample_rate: (m.sample_rate > 0).then_some(m.sample_rate),
        channels: (m.channels > 0).then_some(m.channels),
        // [HESP §3.1, protocols.md 8.2] the packet rate of audio is
        // sampleRate / samplesPerFrame: one packet per coded frame.
        samples_per_frame: samples_per_frame(m),
    }
}

/// Audio samples per coded frame (one packet each): the frame duration in samples, when
/// it is a whole number of them.
fn samples_per_frame(m: &timeline::TrackMeta) -> Option<u32> {
    let (fd, rate, ts) = (
        u64::from(m.frame_duration),
        u64::from(m.sample_rate),
        u64::from(m.timescale),
    );
    if fd == 0 || rate == 0 || ts == 0 || !(fd * rate).is_multiple_of(ts) {
        return None;
    }
    u32::try_from(fd * rate / ts).ok()
}

/// `mediaTimeOffset` = media time − manifest time: minus the channel's anchor.
fn media_time_offset(epoch_us: i64) -> Option<Scaled> {
    (epoch_us != 0).then_some(Scaled {
        value: -epoch_us,
        scale: US,
    })
}

/// ISO 639-2: three lowercase letters.
fn valid_language(l: &str) -> bool {
    l.len() == 3 && l.bytes().all(|b| b.is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_follows_the_drafts_formula() {
        // 25 fps at 90 kHz, a Presentation starting at 1.36 s: the draft's example
        // (§3.1: start 34 at 1.360 s, 25 fps, t = 4.120 s gives 103).
        let n = Numbering {
            start: 122_400,
            first: 34,
            frame: 3_600,
        };
        assert_eq!(n.sequence_of(370_800), Some(103));
        assert_eq!(n.time_of(103), Some(370_800));
        assert_eq!(
            n.time_of(34),
            Some(122_400),
            "startTime is packet startSequenceNumber's"
        );
        assert_eq!(n.time_of(33), None);
        assert_eq!(n.sequence_of(122_399), None);
    }

    #[test]
    fn audio_packets_per_coded_frame() {
        let mut m = timeline::TrackMeta {
            id: "a".into(),
            kind: MediaKind::Audio,
            codec: "mp4a.40.2".into(),
            timescale: 48_000,
            width: 0,
            height: 0,
            frame_duration: 1024,
            sample_rate: 48_000,
            channels: 2,
            language: None,
            bandwidth: 0,
            average_bandwidth: 0,
        };
        assert_eq!(samples_per_frame(&m), Some(1024));
        m.timescale = 96_000;
        m.frame_duration = 2048;
        assert_eq!(samples_per_frame(&m), Some(1024));
        m.timescale = 1000;
        m.frame_duration = 21;
        m.sample_rate = 44_100;
        assert_eq!(samples_per_frame(&m), None, "not a whole number of samples");
    }
}
