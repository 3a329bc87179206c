//! The bytes of one track: its init segment and the chunks of every held part.

use std::collections::VecDeque;

use bytes::Bytes;

/// Stored media of one track, parallel to its timeline's segments.
#[derive(Debug, Default)]
pub struct TrackMedia {
    /// The init segment as received (ftyp + moov).
    pub init: Option<Bytes>,
    segments: VecDeque<SegmentMedia>,
}

/// The chunks of one segment, per part. Each chunk is a moof+mdat written by weir.
#[derive(Debug)]
struct SegmentMedia {
    msn: u64,
    parts: Vec<Vec<Bytes>>,
}

impl TrackMedia {
    /// Appends the bytes of one output chunk to part `part` of segment `msn`, creating
    /// the segment or part when this is its first chunk.
    pub fn append(&mut self, msn: u64, part: u32, chunk: Vec<Bytes>) {
        if self.segments.back().is_none_or(|s| s.msn != msn) {
            self.segments.push_back(SegmentMedia {
                msn,
                parts: Vec::new(),
            });
        }
        let seg = self.segments.back_mut().expect("segment just ensured");
        let part = part as usize;
        while seg.parts.len() <= part {
            seg.parts.push(Vec::new());
        }
        seg.parts[part].extend(chunk);
    }

    /// All chunks of segment `msn`, in order.
    pub fn segment(&self, msn: u64) -> Option<Vec<Bytes>> {
        let seg = self.segments.iter().find(|s| s.msn == msn)?;
        Some(seg.parts.iter().flatten().cloned().collect())
    }

    /// The chunks of part `part` of segment `msn`.
    pub fn part(&self, msn: u64, part: u32) -> Option<Vec<Bytes>> {
        let seg = self.segments.iter().find(|s| s.msn == msn)?;
        seg.parts.get(part as usize).cloned()
    }

    /// Drops the media of the given segments.
    pub fn evict(&mut self, msns: &[u64]) {
        self.segments.retain(|s| !msns.contains(&s.msn));
    }

    /// Bytes held for this track (init included).
    pub fn held_bytes(&self) -> usize {
        let media: usize = self
            .segments
            .iter()
            .flat_map(|s| s.parts.iter().flatten())
            .map(Bytes::len)
            .sum();
        media + self.init.as_ref().map_or(0, Bytes::len)
    }
}
