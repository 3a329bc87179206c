//! The wire form of a snapshot, as the origin hands it to edge renderers: JSON in a
//! versioned envelope, `{"schema":1,"snapshot":{…}}`. The edge refuses a schema it
//! does not know instead of rendering something wrong.

use serde::{Deserialize, Serialize};

use crate::ChannelSnapshot;

/// Version of the snapshot schema this crate reads and writes.
pub const SCHEMA: u32 = 1;

/// Media type of an encoded snapshot.
pub const CONTENT_TYPE: &str = "application/vnd.weir.timeline+json; schema=1";

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    schema: u32,
    snapshot: &'a ChannelSnapshot,
}

/// The envelope as read (its schema was checked by [`SchemaOnly`] first).
#[derive(Deserialize)]
struct EnvelopeIn {
    snapshot: ChannelSnapshot,
}

#[derive(Deserialize)]
struct SchemaOnly {
    schema: u32,
}

/// Why an encoded snapshot could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The bytes are not a snapshot envelope.
    #[error("not a weir timeline snapshot: {0}")]
    Malformed(String),
    /// The envelope carries a schema version this code does not read.
    #[error("timeline snapshot schema {found} is not supported (this renderer reads {SCHEMA})")]
    Schema {
        /// The schema version found.
        found: u32,
    },
}

/// Encodes `snap` for the wire.
pub fn encode(snap: &ChannelSnapshot) -> Vec<u8> {
    serde_json::to_vec(&EnvelopeOut {
        schema: SCHEMA,
        snapshot: snap,
    })
    .unwrap_or_default()
}

/// Decodes a snapshot from the wire.
pub fn decode(bytes: &[u8]) -> Result<ChannelSnapshot, WireError> {
    let head: SchemaOnly =
        serde_json::from_slice(bytes).map_err(|e| WireError::Malformed(e.to_string()))?;
    if head.schema != SCHEMA {
        return Err(WireError::Schema { found: head.schema });
    }
    let env: EnvelopeIn =
        serde_json::from_slice(bytes).map_err(|e| WireError::Malformed(e.to_string()))?;
    Ok(env.snapshot)
}

impl ChannelSnapshot {
    /// The part of the snapshot a media playlist of rendition `id` needs: that
    /// rendition's listed window (plus the segment in progress), and of every other
    /// rendition only its newest two segments (for EXT-X-RENDITION-REPORT). Target
    /// durations are kept (they come from `longest_segment`), and discontinuity
    /// sequence numbers stay right (dropped discontinuities are counted).
    pub fn for_rendition(&self, id: &str) -> ChannelSnapshot {
        let keep_window = self.config.window_segments as usize + 1;
        let mut out = self.clone();
        for t in &mut out.tracks {
            let keep = if t.meta.id == id { keep_window } else { 2 };
            while t.segments.len() > keep {
                if let Some(s) = t.segments.pop_front() {
                    t.discontinuity_sequence += u64::from(s.discontinuity);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MediaKind, TimingConfig};

    fn snapshot() -> ChannelSnapshot {
        let cfg = TimingConfig::default();
        let mut tracks = Vec::new();
        for id in ["v1", "v2"] {
            let mut t = crate::test_util::track(id, MediaKind::Video, 15360);
            for i in 0..30 * 40u64 {
                t.append(&cfg, i * 512, 512, i % 30 == 0, 10).unwrap();
            }
            t.evict(13);
            tracks.push(t);
        }
        ChannelSnapshot {
            channel: "c".into(),
            config: cfg,
            version: 7,
            byterange_parts: false,
            now_us: 1,
            epoch_us: Some(2),
            tracks,
        }
    }

    #[test]
    fn round_trips_and_checks_the_schema() {
        let s = snapshot();
        assert_eq!(decode(&encode(&s)), Ok(s));
        assert_eq!(
            decode(br#"{"schema":2,"snapshot":{}}"#),
            Err(WireError::Schema { found: 2 })
        );
        assert!(matches!(decode(b"<html>"), Err(WireError::Malformed(_))));
    }

    #[test]
    fn trims_to_what_one_rendition_needs() {
        let s = snapshot();
        let t = s.for_rendition("v1");
        assert_eq!(t.tracks[0].segments.len(), 11);
        assert_eq!(t.tracks[1].segments.len(), 2);
        assert_eq!(t.target_duration_secs(), s.target_duration_secs());
        assert_eq!(t.tracks[0].segments.back(), s.tracks[0].segments.back());
        assert!(encode(&t).len() < encode(&s).len() * 3 / 4);
    }
}
