//! One live track: its timeline, its stored media, and the re-fragmentation of ingest
//! chunks into weir's own chunks aligned with part boundaries.

use bytes::Bytes;
use timeline::time::grid_cell;
use timeline::{MediaKind, Placement, TimelineError, TimingConfig, TrackMeta, TrackTimeline};

use super::channel::ChunkIn;
use super::media::TrackMedia;
use crate::error::IngestError;

/// A rendition being ingested.
#[derive(Debug)]
pub struct LiveTrack {
    /// Segments and parts, as listed to renderers.
    pub timeline: TrackTimeline,
    /// Stored bytes of the segments in `timeline`.
    pub media: TrackMedia,
    /// The parsed init segment (exactly one track).
    pub init: cmaf::InitSegment,
    declared_bitrate: Option<u64>,
    /// Added to every incoming decode time (non-zero after an encoder restart).
    offset: u64,
    /// Set by a new init segment: the next chunk may restart the encoder's clock.
    rebase_pending: bool,
    next_sequence: u32,
    /// Samples dropped because they repeated media already stored.
    pub duplicates_dropped: u64,
}

impl LiveTrack {
    /// A new track `id` from its init segment.
    pub fn new(id: &str, init: cmaf::InitSegment, bytes: Bytes) -> Result<Self, IngestError> {
        let info = single_track(&init)?;
        let meta = TrackMeta {
            id: id.to_string(),
            kind: match info.kind {
                cmaf::TrackKind::Video => MediaKind::Video,
                _ => MediaKind::Audio,
            },
            codec: info.codec.clone(),
            timescale: info.timescale,
            width: info.width,
            height: info.height,
            frame_duration: 0,
            sample_rate: info.sample_rate,
            channels: info.channels,
            language: info.language.clone(),
            bandwidth: 0,
            average_bandwidth: 0,
        };
        let declared_bitrate = info.max_bitrate.or(info.avg_bitrate).map(u64::from);
        let mut media = TrackMedia::default();
        media.init = Some(bytes);
        Ok(LiveTrack {
            timeline: TrackTimeline::new(meta),
            media,
            init,
            declared_bitrate,
            offset: 0,
            rebase_pending: false,
            next_sequence: 1,
            duplicates_dropped: 0,
        })
    }

    /// Takes a new init segment for an existing track (an encoder reconnecting). The
    /// timescale and media kind must not change, or stored media would be misread.
    pub fn replace_init(
        &mut self,
        init: cmaf::InitSegment,
        bytes: Bytes,
    ) -> Result<(), IngestError> {
        let info = single_track(&init)?;
        let meta = &mut self.timeline.meta;
        if info.timescale != meta.timescale {
            return Err(IngestError::Unsupported(format!(
                "track '{}' changed timescale from {} to {}; use a new track name",
                meta.id, meta.timescale, info.timescale
            )));
        }
        meta.codec = info.codec.clone();
        meta.width = info.width;
        meta.height = info.height;
        self.media.init = Some(bytes);
        self.init = init;
        self.rebase_pending = true;
        Ok(())
    }

    /// Measured (peak, average) bit rate, or the declared one before any segment completes.
    pub fn bandwidth(&self) -> (u64, u64) {
        let (peak, avg) =
            super::bandwidth::measure(self.timeline.segments.iter(), self.timeline.meta.timescale);
        match (peak, self.declared_bitrate) {
            (0, Some(d)) => (d, d),
            _ => (peak, avg),
        }
    }

    /// Maps an incoming decode time onto the track's timeline.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Places the samples of one ingest chunk on the timeline and stores them as one
    /// or more weir chunks (one per part the samples fall into). Validates the whole
    /// chunk before changing anything. Returns the number of samples stored.
    pub fn apply_chunk(
        &mut self,
        cfg: &TimingConfig,
        chunk: &ChunkIn,
    ) -> Result<usize, IngestError> {
        let source_id = self.init.tracks[0].track_id;
        let traf = chunk
            .fragment
            .tracks
            .iter()
            .find(|t| t.track_id == source_id)
            .ok_or(IngestError::Media(cmaf::CmafError::UnknownTrack(
                chunk.fragment.tracks.first().map_or(0, |t| t.track_id),
            )))?;
        if let Some(s) = traf.samples.iter().find(|s| s.duration == 0) {
            return Err(TimelineError::ZeroDuration { dts: s.dts }.into());
        }
        let Some(first) = traf.samples.first() else {
            return Ok(0);
        };
        if std::mem::take(&mut self.rebase_pending) {
            self.rebase(cfg, first.dts);
        }
        let end = self.timeline.end().unwrap_or(0);
        let mut runs: Vec<Run> = Vec::new();
        for s in &traf.samples {
            let dts = s.dts + self.offset;
            if self.timeline.end().is_some() && dts < end {
                self.duplicates_dropped += 1;
                continue;
            }
            let p = match self
                .timeline
                .append(cfg, dts, s.duration, s.is_sync, u64::from(s.size))
            {
                Ok(p) => p,
                // Waiting for the first key frame (e.g. joined mid-GOP): skip the sample.
                Err(TimelineError::NoKeyFrame { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            if self.timeline.meta.kind == MediaKind::Video && self.timeline.meta.frame_duration == 0
            {
                self.timeline.meta.frame_duration = s.duration;
            }
            // The demuxer checked that every sample lies inside the mdat payload.
            let start = usize::try_from(s.offset - chunk.mdat_offset).unwrap_or(usize::MAX);
            let range = (start, start + s.size as usize);
            let out = cmaf::SampleOut {
                duration: s.duration,
                size: s.size,
                flags: s.flags,
                cts_offset: s.cts_offset,
            };
            match runs.last_mut() {
                Some(r) if r.placement.msn == p.msn && r.placement.part == p.part => {
                    r.push(out, range)
                }
                _ => runs.push(Run::new(p, dts, out, range)),
            }
        }
        let stored = runs.iter().map(|r| r.samples.len()).sum();
        for run in runs {
            let header =
                cmaf::write_fragment_header(self.next_sequence, source_id, run.base, &run.samples);
            self.next_sequence = self.next_sequence.wrapping_add(1);
            let mut bytes = Vec::with_capacity(1 + run.ranges.len());
            bytes.push(header);
            bytes.extend(run.ranges.iter().map(|&(a, b)| chunk.mdat.slice(a..b)));
            let served: usize = bytes.iter().map(Bytes::len).sum();
            self.timeline
                .add_part_bytes(run.placement.msn, run.placement.part, served as u64);
            self.media
                .append(run.placement.msn, run.placement.part, bytes);
        }
        Ok(stored)
    }

    /// After an encoder restart whose clock went back, continue the timeline at the next
    /// segment grid point, with a discontinuity.
    fn rebase(&mut self, cfg: &TimingConfig, first_dts: u64) {
        let Some(end) = self.timeline.end() else {
            return;
        };
        if first_dts + self.offset >= end {
            return;
        }
        let ts = self.timeline.meta.timescale;
        let cell = grid_cell(end.saturating_sub(1), ts, cfg.target_duration_ms) + 1;
        let grid = u128::from(cell) * u128::from(cfg.target_duration_ms) * u128::from(ts);
        let next = u64::try_from(grid.div_ceil(1000))
            .unwrap_or(u64::MAX)
            .max(end);
        self.offset = next - first_dts;
        self.timeline.close(true);
    }
}

/// Consecutive samples that landed in the same part.
struct Run {
    placement: Placement,
    base: u64,
    samples: Vec<cmaf::SampleOut>,
    /// Byte ranges of the samples in the ingest mdat payload; adjacent ranges merged, so
    /// the usual case is one zero-copy slice per run.
    ranges: Vec<(usize, usize)>,
}

impl Run {
    fn new(placement: Placement, base: u64, s: cmaf::SampleOut, range: (usize, usize)) -> Self {
        Run {
            placement,
            base,
            samples: vec![s],
            ranges: vec![range],
        }
    }

    fn push(&mut self, s: cmaf::SampleOut, range: (usize, usize)) {
        self.samples.push(s);
        match self.ranges.last_mut() {
            Some(last) if last.1 == range.0 => last.1 = range.1,
            _ => self.ranges.push(range),
        }
    }
}

/// The one track of an init segment, if it is audio or video.
fn single_track(init: &cmaf::InitSegment) -> Result<&cmaf::TrackInfo, IngestError> {
    match init.tracks.as_slice() {
        [t] if matches!(t.kind, cmaf::TrackKind::Video | cmaf::TrackKind::Audio) => Ok(t),
        [_] => Err(IngestError::Unsupported(
            "init segment track is neither audio nor video".into(),
        )),
        ts => Err(IngestError::Unsupported(format!(
            "init segment has {} tracks; push one track per ingest path",
            ts.len()
        ))),
    }
}
