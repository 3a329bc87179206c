//! Helpers shared by weir's end-to-end and golden tests.
//!
//! The main item is [`ChannelBuilder`]: it builds [`timeline::ChannelSnapshot`] values
//! deterministically by feeding synthetic samples through the real cutter
//! ([`TrackTimeline::append`]) and evicting like the origin does, so golden manifests
//! exercise the same segment and part decisions as live ingest.

pub mod bench;
pub mod playlist_edge;
use std::collections::BTreeMap;
use std::sync::Arc;

use manifest::ManifestError;
use manifest::dash::MpdOptions;
use timeline::history::{PastSegment, Span};
use timeline::{
    ChannelSnapshot, Grid, MediaKind, Segment, TimelineError, TimingConfig, TrackMeta,
    TrackTimeline,
};

/// Wall-clock time of media time zero in every scenario: 2026-11-22T20:00:00Z, in Unix
/// microseconds.
pub const EPOCH_US: i64 = 1_795_377_600_000_000;

/// How long after the end of the fed media each snapshot is taken, in microseconds.
pub const SNAPSHOT_LAG_US: i64 = 100_000;

/// Timescale of the synthetic video tracks (15360 ticks per second).
pub const VIDEO_TIMESCALE: u32 = 15_360;
/// Duration of one synthetic video frame in ticks (30 frames per second).
pub const VIDEO_FRAME: u32 = 512;
/// Key frame interval of the synthetic video tracks, in frames (one per second).
pub const VIDEO_GOP: u64 = 30;
/// Sample rate (and timescale) of the synthetic AAC tracks.
pub const AUDIO_RATE: u32 = 48_000;
/// Duration of one AAC frame in ticks.
pub const AUDIO_FRAME: u32 = 1024;

/// `keep` argument of [`TrackTimeline::evict`] after every sample, as the origin does
/// with its default configuration (window of 10 plus 3 extra segments).
pub const KEEP_SEGMENTS: usize = 13;

/// The `MpdOptions` every golden MPD is rendered with: what the origin and the edge
/// component render without a configured public URL (the time source relative to the
/// MPD, independent of the request).
pub fn mpd_options() -> MpdOptions {
    MpdOptions {
        time_url: manifest::policy::time_url(None),
    }
}

/// Builds a channel's timeline by appending synthetic samples to each track.
#[derive(Debug, Clone)]
pub struct ChannelBuilder {
    channel: String,
    config: TimingConfig,
    keep: usize,
    grid: Grid,
    tracks: Vec<TrackTimeline>,
    media_end_us: u64,
}

impl ChannelBuilder {
    /// An empty channel named `channel` with the default [`TimingConfig`] (2 s segments,
    /// 0.2 s parts, a window of 10) and the origin's eviction policy.
    pub fn new(channel: &str) -> Self {
        ChannelBuilder {
            channel: channel.to_string(),
            config: TimingConfig::default(),
            keep: KEEP_SEGMENTS,
            grid: Grid::default(),
            tracks: Vec::new(),
            media_end_us: 0,
        }
    }

    /// Adds an H.264 video rendition at 30 fps (timescale 15360, 512-tick frames) with
    /// the given peak and average bit rates in bits/s.
    pub fn video(
        mut self,
        id: &str,
        codec: &str,
        (width, height): (u32, u32),
        (bandwidth, average_bandwidth): (u64, u64),
    ) -> Self {
        self.grid.has_video = true;
        self.push(TrackMeta {
            id: id.to_string(),
            kind: MediaKind::Video,
            codec: codec.to_string(),
            timescale: VIDEO_TIMESCALE,
            width,
            height,
            frame_duration: VIDEO_FRAME,
            sample_rate: 0,
            channels: 0,
            language: None,
            bandwidth,
            average_bandwidth,
        });
        self
    }

    /// Adds a stereo AAC rendition at 48 kHz (1024-tick frames) with the given peak and
    /// average bit rates in bits/s.
    pub fn audio(
        mut self,
        id: &str,
        codec: &str,
        (bandwidth, average_bandwidth): (u64, u64),
    ) -> Self {
        self.push(TrackMeta {
            id: id.to_string(),
            kind: MediaKind::Audio,
            codec: codec.to_string(),
            timescale: AUDIO_RATE,
            width: 0,
            height: 0,
            frame_duration: 0,
            sample_rate: AUDIO_RATE,
            channels: 2,
            language: None,
            bandwidth,
            average_bandwidth,
        });
        self
    }

    fn push(&mut self, meta: TrackMeta) {
        let mut t = TrackTimeline::new(meta);
        t.init = synthetic_init(&t.meta.id);
        self.tracks.push(t);
    }

    /// Appends, to every track, the samples whose decode time lies in
    /// `[from_ms, to_ms)` of media time, in wall-clock order across tracks (ties by track
    /// order), evicting after each sample like the origin.
    ///
    /// Video key frames fall on every [`VIDEO_GOP`]th frame counted from media time
    /// zero, so `from_ms` must be a multiple of one second when it starts a segment
    /// (after [`ChannelBuilder::close`] or on an empty track); otherwise the cutter
    /// reports [`TimelineError::NoKeyFrame`].
    pub fn feed(&mut self, from_ms: u64, to_ms: u64) -> Result<&mut Self, TimelineError> {
        let mut samples: Vec<(u64, usize, u64)> = Vec::new();
        for (idx, t) in self.tracks.iter().enumerate() {
            let ts = t.meta.timescale;
            let frame = u64::from(sample_duration(&t.meta));
            let from = timeline::time::ms_to_ticks(from_ms, ts).div_ceil(frame);
            let to = timeline::time::ms_to_ticks(to_ms, ts).div_ceil(frame);
            for i in from..to {
                let us = timeline::time::to_micros(i * frame, ts);
                samples.push((us, idx, i));
            }
        }
        samples.sort_unstable();
        let cfg = self.config;
        for (_, idx, i) in samples {
            let t = &mut self.tracks[idx];
            let frame = sample_duration(&t.meta);
            let (sync, bytes) = match t.meta.kind {
                MediaKind::Video if i % VIDEO_GOP == 0 => (true, 24_000),
                MediaKind::Video => (false, 3_000),
                MediaKind::Audio => (true, 380),
            };
            let p = t.append(
                &cfg,
                &mut self.grid,
                i * u64::from(frame),
                frame,
                sync,
                bytes,
            )?;
            // Served size: the sample plus, per new chunk, a 100-byte moof header.
            let header = if p.new_part { 100 } else { 0 };
            t.add_part_bytes(p.msn, p.part, bytes + header);
            t.evict(self.keep);
            if p.cadence_chosen {
                let grid = self.grid;
                self.tracks.iter_mut().for_each(|t| t.renumber(&grid));
            }
        }
        self.media_end_us = self.media_end_us.max(to_ms * 1000);
        Ok(self)
    }

    /// Closes every track's in-progress segment, marking the next one discontinuous
    /// when `discontinuity` is set (what the origin does on an encoder restart).
    pub fn close(&mut self, discontinuity: bool) -> &mut Self {
        for t in &mut self.tracks {
            t.close(discontinuity);
        }
        self
    }

    /// The snapshot of the channel taken [`SNAPSHOT_LAG_US`] after the end of the media
    /// fed so far, with its wall clock anchored at [`EPOCH_US`].
    pub fn snapshot(&self) -> ChannelSnapshot {
        let media_end = i64::try_from(self.media_end_us).unwrap_or(i64::MAX);
        ChannelSnapshot {
            channel: self.channel.clone(),
            config: self.config,
            now_us: EPOCH_US
                .saturating_add(media_end)
                .saturating_add(SNAPSHOT_LAG_US),
            version: 1,
            byterange_parts: false,
            epoch_us: Some(EPOCH_US),
            epoch_source: Some(timeline::ClockSource::Ingest),
            cadence: self.grid.cadence,
            tracks: self.tracks.clone(),
            start_over: None,
        }
    }
}

/// A made-up init id for synthetic track `id` (real ones are CRC-32s of the init bytes).
fn synthetic_init(id: &str) -> u32 {
    id.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Duration of one synthetic sample of a track, in its ticks.
fn sample_duration(meta: &TrackMeta) -> u32 {
    match meta.kind {
        MediaKind::Video => VIDEO_FRAME,
        MediaKind::Audio => AUDIO_FRAME,
    }
}

/// A named channel state whose manifests are kept as golden files.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Directory name under `tests/golden/`.
    pub name: &'static str,
    /// The channel state to render.
    pub snapshot: ChannelSnapshot,
}

/// The steady-state ladder: 640x360 and 320x180 H.264 plus one stereo AAC track.
fn ladder(channel: &str) -> ChannelBuilder {
    ChannelBuilder::new(channel)
        .video("v360", "avc1.64001e", (640, 360), (900_000, 800_000))
        .video("v180", "avc1.64000d", (320, 180), (350_000, 300_000))
        .audio("aac", "mp4a.40.2", (132_000, 128_000))
}

/// `steady`: two video renditions and one audio rendition, 30 s of continuous media,
/// so the window has slid past the first segments.
pub fn steady() -> Result<Scenario, TimelineError> {
    let mut b = ladder("steady");
    b.feed(0, 30_000)?;
    Ok(Scenario {
        name: "steady",
        snapshot: b.snapshot(),
    })
}

/// `byterange`: [`steady`] with LL-HLS parts addressed as byte ranges of their
/// segment's file.
pub fn byterange() -> Result<Scenario, TimelineError> {
    let mut b = ladder("byterange");
    b.feed(0, 30_000)?;
    let mut snapshot = b.snapshot();
    snapshot.byterange_parts = true;
    Ok(Scenario {
        name: "byterange",
        snapshot,
    })
}

/// `audio_only`: one stereo AAC rendition, 30 s of continuous media.
pub fn audio_only() -> Result<Scenario, TimelineError> {
    let mut b = ChannelBuilder::new("radio").audio("aac", "mp4a.40.2", (132_000, 128_000));
    b.feed(0, 30_000)?;
    Ok(Scenario {
        name: "audio_only",
        snapshot: b.snapshot(),
    })
}

/// The ladder fed for 10 s, closed with a discontinuity, then fed again from 16 s of
/// media time (an encoder restart with a 6 s gap) up to `until_ms`.
pub fn restarted(until_ms: u64) -> Result<ChannelBuilder, TimelineError> {
    let mut b = ladder("restart");
    b.feed(0, 10_000)?;
    b.close(true);
    b.feed(16_000, until_ms)?;
    Ok(b)
}

/// Every complete segment of [`restarted`] until `until_ms` per rendition, as the DVR's
/// disk index holds them (no parts): the history start-over snapshots reach back into.
fn dvr_history(until_ms: u64) -> Result<BTreeMap<String, Vec<PastSegment>>, TimelineError> {
    let mut b = ladder("restart");
    b.keep = usize::MAX;
    b.feed(0, 10_000)?;
    b.close(true);
    b.feed(16_000, until_ms)?;
    Ok(b.tracks
        .iter()
        .map(|t| {
            let past = t
                .complete_segments()
                .map(|s| PastSegment {
                    segment: Arc::new(Segment {
                        parts: Vec::new(),
                        ..s.clone()
                    }),
                    period: t.period_of(s),
                    period_start: t.period_start(t.period_of(s)).unwrap_or(s.start),
                })
                .collect();
            (t.meta.id.clone(), past)
        })
        .collect())
}

/// [`restarted`] until 50 s (its discontinuity long evicted from memory) as a start-over
/// request from `start_ms` (and to `end_ms`) sees it, the DVR holding every segment.
fn restarted_start_over(
    start_ms: i64,
    end_ms: Option<i64>,
) -> Result<ChannelSnapshot, TimelineError> {
    let history = dvr_history(50_000)?;
    let span = Span {
        start_us: EPOCH_US + start_ms * 1000,
        end_us: end_ms.map(|e| EPOCH_US + e * 1000),
    };
    Ok(restarted(50_000)?
        .snapshot()
        .start_over(span, |id| history.get(id).cloned().unwrap_or_default()))
}

/// `start_over`: from 4 s on: the DVR's segments before the memory window, the
/// discontinuity of the restart, the live segments and parts; playback from the start.
pub fn start_over() -> Result<Scenario, TimelineError> {
    Ok(Scenario {
        name: "start_over",
        snapshot: restarted_start_over(4_000, None)?,
    })
}

/// `catch_up`: from 4 s to 30 s, wholly in the past: a complete playlist.
pub fn catch_up() -> Result<Scenario, TimelineError> {
    Ok(Scenario {
        name: "catch_up",
        snapshot: restarted_start_over(4_000, Some(30_000))?,
    })
}

/// `discontinuity`: [`restarted`] until 30 s, so the window lists the segment that
/// carries EXT-X-DISCONTINUITY (DISCONTINUITY-SEQUENCE is still 0).
pub fn discontinuity() -> Result<Scenario, TimelineError> {
    Ok(Scenario {
        name: "discontinuity",
        snapshot: restarted(30_000)?.snapshot(),
    })
}

/// `discontinuity_evicted`: [`restarted`] until 50 s, so the discontinuous segment has
/// been evicted and DISCONTINUITY-SEQUENCE is 1.
pub fn discontinuity_evicted() -> Result<Scenario, TimelineError> {
    Ok(Scenario {
        name: "discontinuity_evicted",
        snapshot: restarted(50_000)?.snapshot(),
    })
}

/// `prefetch_discontinuity`: the ladder fed for 20 s, closed with a discontinuity (an
/// encoder restart with the same inits), then 0.5 s from 26 s: the segment in progress
/// starts the new discontinuity, so L-HLS announces it after
/// `EXT-X-PREFETCH-DISCONTINUITY` and DASH in a new Period.
pub fn prefetch_discontinuity() -> Result<Scenario, TimelineError> {
    let mut b = ladder("prefetch");
    b.feed(0, 20_000)?;
    b.close(true);
    b.feed(26_000, 26_500)?;
    Ok(Scenario {
        name: "prefetch_discontinuity",
        snapshot: b.snapshot(),
    })
}

/// Every scenario that has golden files, in a fixed order.
pub fn golden_scenarios() -> Result<Vec<Scenario>, TimelineError> {
    Ok(vec![
        steady()?,
        byterange()?,
        audio_only()?,
        discontinuity()?,
        discontinuity_evicted()?,
        prefetch_discontinuity()?,
        start_over()?,
        catch_up()?,
    ])
}

/// `no_media`: a channel with one video track holding 1 s of media, so no segment is
/// complete yet.
pub fn no_media() -> Result<ChannelSnapshot, TimelineError> {
    let mut b =
        ChannelBuilder::new("empty").video("v360", "avc1.64001e", (640, 360), (900_000, 800_000));
    b.feed(0, 1_000)?;
    Ok(b.snapshot())
}

/// Every manifest of a snapshot as `(file name, text)`: `master.m3u8`, one
/// `<track>.m3u8` per track (in track order), its delta update `<track>.delta.m3u8`
/// (`_HLS_skip=YES`) and `manifest.mpd`.
pub fn render_all(snap: &ChannelSnapshot) -> Result<Vec<(String, String)>, ManifestError> {
    let mut out = vec![(
        "master.m3u8".to_string(),
        manifest::hls::multivariant_playlist(snap)?,
    )];
    for t in &snap.tracks {
        out.push((
            format!("{}.m3u8", t.meta.id),
            manifest::hls::media_playlist(snap, &t.meta.id, manifest::hls::Skip::No)?,
        ));
        out.push((
            format!("{}.delta.m3u8", t.meta.id),
            manifest::hls::media_playlist(snap, &t.meta.id, manifest::hls::Skip::Yes)?,
        ));
    }
    out.push((
        "manifest.mpd".to_string(),
        manifest::dash::mpd(snap, &mpd_options())?,
    ));
    out.push((
        "hesp.json".to_string(),
        manifest::hesp::hesp_manifest(
            snap,
            &manifest::hesp::HespOptions {
                time_url: mpd_options().time_url,
            },
        )?,
    ));
    out.push((
        "lhls-master.m3u8".to_string(),
        manifest::hls::lhls_multivariant_playlist(snap)?,
    ));
    for t in &snap.tracks {
        out.push((
            format!("{}.lhls.m3u8", t.meta.id),
            manifest::hls::lhls_media_playlist(snap, &t.meta.id)?,
        ));
    }
    Ok(out)
}

/// Describes the first difference between `expected` and `actual` text (1-based line
/// number and both lines), or `None` when they are equal.
pub fn first_difference(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let mut exp = expected.split_inclusive('\n');
    let mut act = actual.split_inclusive('\n');
    let mut line = 1usize;
    loop {
        match (exp.next(), act.next()) {
            (Some(e), Some(a)) if e == a => line += 1,
            (e, a) => {
                let show = |l: Option<&str>| match l {
                    Some(l) => format!("{l:?}"),
                    None => "<end of file>".to_string(),
                };
                return Some(format!(
                    "first difference at line {line}:\n  expected: {}\n  actual:   {}",
                    show(e),
                    show(a)
                ));
            }
        }
    }
}
