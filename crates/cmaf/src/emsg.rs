//! Writing `emsg` (event message) boxes, ISO/IEC 23009-1 §5.10.3.3.

use bytes::{BufMut, Bytes, BytesMut};

/// One version-0 event message: its time is relative to the segment it precedes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMessage<'a> {
    /// `scheme_id_uri`.
    pub scheme_id_uri: &'a str,
    /// `value`.
    pub value: &'a str,
    /// Ticks per second of `presentation_time_delta` and `event_duration`.
    pub timescale: u32,
    /// `presentation_time_delta`: from the start of the segment, in `timescale`.
    pub presentation_time_delta: u32,
    /// `event_duration` in `timescale` (0xFFFF_FFFF: unknown).
    pub event_duration: u32,
    /// `id`.
    pub id: u32,
    /// `message_data`.
    pub message_data: &'a [u8],
}

/// Writes `msg` as a version-0 `emsg` box:
///
/// ```text
/// aligned(8) class DASHEventMessageBox extends FullBox('emsg', version = 0, flags = 0) {
///   string scheme_id_uri; string value; unsigned int(32) timescale;
///   unsigned int(32) presentation_time_delta; unsigned int(32) event_duration;
///   unsigned int(32) id; unsigned int(8) message_data[];
/// }
/// ```
pub fn write_emsg_v0(msg: &EventMessage<'_>) -> Bytes {
    let size =
        8 + 4 + msg.scheme_id_uri.len() + 1 + msg.value.len() + 1 + 16 + msg.message_data.len();
    let mut b = BytesMut::with_capacity(size);
    b.put_u32(u32::try_from(size).unwrap_or(u32::MAX));
    b.put_slice(b"emsg");
    b.put_u32(0); // version 0, flags 0
    b.put_slice(msg.scheme_id_uri.as_bytes());
    b.put_u8(0);
    b.put_slice(msg.value.as_bytes());
    b.put_u8(0);
    b.put_u32(msg.timescale);
    b.put_u32(msg.presentation_time_delta);
    b.put_u32(msg.event_duration);
    b.put_u32(msg.id);
    b.put_slice(msg.message_data);
    b.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_version_0_emsg() {
        let b = write_emsg_v0(&EventMessage {
            scheme_id_uri: "urn:x",
            value: "v",
            timescale: 90_000,
            presentation_time_delta: 0,
            event_duration: 3000,
            id: 7,
            message_data: b"{}",
        });
        assert_eq!(b.len(), 8 + 4 + 6 + 2 + 16 + 2);
        assert_eq!(&b[..4], &(b.len() as u32).to_be_bytes());
        assert_eq!(&b[4..8], b"emsg");
        assert_eq!(&b[12..18], b"urn:x\0");
        assert_eq!(&b[18..20], b"v\0");
        assert_eq!(&b[20..24], &90_000u32.to_be_bytes());
        assert_eq!(&b[28..32], &3000u32.to_be_bytes());
        assert_eq!(&b[32..36], &7u32.to_be_bytes());
        assert_eq!(&b[36..], b"{}");
    }
}
