//! Writing the `moof` + `mdat` header of an output chunk.

use bytes::{BufMut, Bytes, BytesMut};

/// One sample of an output chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleOut {
    /// Duration in the track timescale.
    pub duration: u32,
    /// Size in bytes.
    pub size: u32,
    /// sample_flags (see [`crate::sample_flags`]).
    pub flags: u32,
    /// Composition time offset (pts - dts).
    pub cts_offset: i32,
}

/// tfhd flags: default-base-is-moof only.
const TFHD_FLAGS: u32 = 0x02_0000;
/// trun flags: data-offset | duration | size | flags | composition-time-offset.
const TRUN_FLAGS: u32 = 0x00_0F01;

/// Writes a `moof` for one track followed by the header of the `mdat` that
/// will carry the `samples` (sum of their sizes).
///
/// The `moof` holds `mfhd(sequence)` and one `traf` made of `tfhd`
/// (default-base-is-moof, track_ID only), `tfdt` v1 (`base_decode_time`) and
/// `trun` v1 with every per-sample field. The `mdat` header is 8 bytes, or 16
/// with a 64-bit largesize when the payload needs it. `trun.data_offset` is
/// the moof size plus the mdat header size, so the first sample starts right
/// after the returned bytes: the caller appends the sample payload.
///
/// A `trun` cannot describe more than about 2^27 samples (its size and
/// data_offset are 32-bit); beyond that the sizes saturate and the output is
/// invalid. Live chunks hold a few dozen samples.
pub fn write_fragment_header(
    sequence: u32,
    track_id: u32,
    base_decode_time: u64,
    samples: &[SampleOut],
) -> Bytes {
    let n = samples.len();
    let trun_size = 20usize.saturating_add(n.saturating_mul(16));
    let traf_size = 8 + 16 + 20 + trun_size;
    let moof_size = 8 + 16 + traf_size;
    let payload: u64 = samples.iter().map(|s| u64::from(s.size)).sum();
    let mdat_header = if payload + 8 > u64::from(u32::MAX) {
        16
    } else {
        8
    };

    let mut b = BytesMut::with_capacity(moof_size + mdat_header);
    let sat = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    b.put_u32(sat(moof_size));
    b.put_slice(b"moof");
    // mfhd: FullBox(0, 0), sequence_number.
    b.put_u32(16);
    b.put_slice(b"mfhd");
    b.put_u32(0);
    b.put_u32(sequence);
    b.put_u32(sat(traf_size));
    b.put_slice(b"traf");
    // tfhd: FullBox(0, default-base-is-moof), track_ID.
    b.put_u32(16);
    b.put_slice(b"tfhd");
    b.put_u32(TFHD_FLAGS);
    b.put_u32(track_id);
    // tfdt: FullBox(1, 0), baseMediaDecodeTime(64).
    b.put_u32(20);
    b.put_slice(b"tfdt");
    b.put_u32(1 << 24);
    b.put_u64(base_decode_time);
    // trun: FullBox(1, flags), sample_count, data_offset, entries.
    b.put_u32(sat(trun_size));
    b.put_slice(b"trun");
    b.put_u32((1 << 24) | TRUN_FLAGS);
    b.put_u32(sat(n));
    b.put_i32(i32::try_from(moof_size + mdat_header).unwrap_or(i32::MAX));
    for s in samples {
        b.put_u32(s.duration);
        b.put_u32(s.size);
        b.put_u32(s.flags);
        b.put_i32(s.cts_offset);
    }
    if mdat_header == 16 {
        b.put_u32(1);
        b.put_slice(b"mdat");
        b.put_u64(payload + 16);
    } else {
        b.put_u32((payload + 8) as u32);
        b.put_slice(b"mdat");
    }
    b.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_flags::{NON_SYNC, SYNC};
    use crate::testutil::{moov, trak, trex, video_entry};
    use crate::{Scan, parse_init, parse_moof, scan_header};

    #[test]
    fn round_trips_through_parse_moof() {
        let init = parse_init(&moov(
            &[trak(5, b"vide", 90000, &video_entry(b"avc1"))],
            &[trex(5, 1, 1, 0)],
        ))
        .unwrap();
        let samples = [
            SampleOut {
                duration: 3000,
                size: 1200,
                flags: SYNC,
                cts_offset: 3000,
            },
            SampleOut {
                duration: 3000,
                size: 300,
                flags: NON_SYNC,
                cts_offset: -3000,
            },
            SampleOut {
                duration: 2999,
                size: 0,
                flags: NON_SYNC,
                cts_offset: 0,
            },
        ];
        let out = write_fragment_header(42, 5, 1 << 40, &samples);
        let Scan::Header(h) = scan_header(&out, u64::MAX).unwrap() else {
            panic!()
        };
        assert_eq!(&h.kind, b"moof");
        let moof_len = h.size as usize;
        assert_eq!(out.len(), moof_len + 8);
        let Scan::Header(m) = scan_header(&out[moof_len..], u64::MAX).unwrap() else {
            panic!()
        };
        assert_eq!((&m.kind, m.size), (b"mdat", 8 + 1500));

        let f = parse_moof(&out[..moof_len], &init).unwrap();
        assert_eq!(f.sequence, 42);
        assert_eq!(f.tracks.len(), 1);
        let t = &f.tracks[0];
        assert_eq!((t.track_id, t.base_decode_time), (5, 1 << 40));
        let back: Vec<SampleOut> = t
            .samples
            .iter()
            .map(|s| SampleOut {
                duration: s.duration,
                size: s.size,
                flags: s.flags,
                cts_offset: s.cts_offset,
            })
            .collect();
        assert_eq!(back, samples);
        assert_eq!(t.samples[0].offset, out.len() as u64);
        assert_eq!(t.samples[1].offset, out.len() as u64 + 1200);
        assert_eq!(t.samples[1].dts, (1 << 40) + 3000);
        assert!(t.samples[0].is_sync && !t.samples[1].is_sync);
    }

    #[test]
    fn largesize_mdat_header() {
        let big = SampleOut {
            duration: 1,
            size: u32::MAX,
            flags: 0,
            cts_offset: 0,
        };
        let out = write_fragment_header(1, 1, 0, &[big, big]);
        let moof_len = 88 + 32;
        assert_eq!(out.len(), moof_len + 16);
        let Scan::Header(m) = scan_header(&out[moof_len..], u64::MAX).unwrap() else {
            panic!()
        };
        assert_eq!((m.header_len, m.size), (16, 16 + 2 * u64::from(u32::MAX)));
    }

    #[test]
    fn empty_chunk() {
        let out = write_fragment_header(1, 1, 0, &[]);
        assert_eq!(out.len(), 88 + 8);
    }
}
