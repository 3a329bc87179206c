//! Segments and the parts they are made of.

use serde::{Deserialize, Serialize};

/// A part of a segment: a run of whole samples, never longer than the part target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Duration in track ticks (sum of its samples' durations).
    pub duration: u64,
    /// True when the part starts with a key frame (always true for audio).
    pub independent: bool,
    /// True once no more samples will be added to the part.
    pub complete: bool,
    /// Size in bytes of the part as served (its chunks, headers included): the part is
    /// bytes `[offset, offset + bytes)` of its segment's file.
    #[serde(default)]
    pub bytes: u64,
}

/// A media segment: starts with a key frame at or after a target-duration grid point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Media sequence number (never 0; consecutive within a track).
    pub msn: u64,
    /// Decode time of the first sample, in track ticks.
    pub start: u64,
    /// Duration in track ticks (grows while the segment is in progress).
    pub duration: u64,
    /// The segment's parts, in order.
    pub parts: Vec<Part>,
    /// True once the segment's last sample is known (the next segment has begun).
    pub complete: bool,
    /// True when the media timeline is discontinuous before this segment.
    pub discontinuity: bool,
    /// Size of the segment's media in bytes (as served).
    pub bytes: u64,
    /// Id of the init segment the segment was made with: a checksum of the init's
    /// bytes, so an unchanged init keeps its id (and URL) on any origin, and a changed
    /// one gets a new URL while older segments keep theirs.
    #[serde(default)]
    pub init: u32,
}

impl Segment {
    /// End of the segment so far, in track ticks.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.duration)
    }

    /// Byte offset of part `index` within the segment's file.
    pub fn part_offset(&self, index: usize) -> u64 {
        self.parts.iter().take(index).map(|p| p.bytes).sum()
    }

    /// Bytes of the segment's file that belong to complete parts (a prefix of the file).
    pub fn complete_bytes(&self) -> u64 {
        self.parts
            .iter()
            .take_while(|p| p.complete)
            .map(|p| p.bytes)
            .sum()
    }

    /// True when the segment starts with an independent (key) frame.
    pub fn independent(&self) -> bool {
        self.parts.first().is_none_or(|p| p.independent)
    }

    /// Start of part `index` in track ticks.
    pub fn part_start(&self, index: usize) -> u64 {
        self.start
            + self
                .parts
                .iter()
                .take(index)
                .map(|p| p.duration)
                .sum::<u64>()
    }
}
