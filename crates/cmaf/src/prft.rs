//! Producer reference time (`prft`): the encoder's wall clock for a media time.

use crate::CmafError;
use crate::init::box_payload;
use crate::reader::Reader;

/// A decoded `prft` box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerTime {
    /// reference_track_ID.
    pub track_id: u32,
    /// ntp_timestamp: 64-bit NTP time (seconds since 1900 in the upper 32
    /// bits, binary fraction in the lower 32).
    pub ntp: u64,
    /// media_time in the track timescale: v0 unsigned 32-bit; v1 64-bit
    /// reinterpreted as signed (ffmpeg writes a negative audio priming
    /// offset such as -1024 as 2^64 - 1024).
    pub media_time: i64,
}

/// Seconds from the NTP era-0 epoch (1900-01-01) to the Unix epoch (1970-01-01).
const NTP_UNIX_OFFSET_SECS: i64 = 2_208_988_800;

impl ProducerTime {
    /// The NTP timestamp as microseconds since the Unix epoch (NTP era 0,
    /// i.e. timestamps up to 2036; fraction truncated).
    pub fn unix_micros(&self) -> i64 {
        let secs = (self.ntp >> 32) as i64 - NTP_UNIX_OFFSET_SECS;
        let micros = ((self.ntp & 0xFFFF_FFFF) * 1_000_000) >> 32;
        secs * 1_000_000 + micros as i64
    }
}

/// Decodes a complete `prft` box (header included).
///
/// ISO/IEC 14496-12 §8.16.5: `unsigned int(32) reference_track_ID;
/// unsigned int(64) ntp_timestamp; if (version==0) unsigned int(32)
/// media_time; else unsigned int(64) media_time;`
pub fn parse_prft(prft: &[u8]) -> Result<ProducerTime, CmafError> {
    let mut r = Reader::new(box_payload(prft, b"prft")?, "prft");
    let (version, _) = r.full_header()?;
    let track_id = r.u32()?;
    let ntp = r.u64()?;
    let media_time = if version == 0 {
        i64::from(r.u32()?)
    } else {
        r.u64()? as i64
    };
    Ok(ProducerTime {
        track_id,
        ntp,
        media_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{full, words};

    #[test]
    fn version0() {
        let b = full(
            b"prft",
            0,
            0,
            &words(&[2, 0xE000_0000, 0x8000_0000, 0xFFFF_FFF0]),
        );
        let p = parse_prft(&b).unwrap();
        assert_eq!(p.track_id, 2);
        assert_eq!(p.ntp, 0xE000_0000_8000_0000);
        // v0 media_time is unsigned.
        assert_eq!(p.media_time, 0xFFFF_FFF0);
        assert_eq!(
            p.unix_micros(),
            (0xE000_0000i64 - NTP_UNIX_OFFSET_SECS) * 1_000_000 + 500_000
        );
    }

    #[test]
    fn version1_ffmpeg_negative_media_time() {
        let mt = (-1024i64) as u64;
        let mut p = words(&[1]);
        // 2024-01-01T00:00:00Z = Unix 1704067200.
        p.extend_from_slice(&((1_704_067_200u64 + 2_208_988_800) << 32).to_be_bytes());
        p.extend_from_slice(&mt.to_be_bytes());
        let b = full(b"prft", 1, 0x18, &p);
        let t = parse_prft(&b).unwrap();
        assert_eq!(t.media_time, -1024);
        assert_eq!(t.unix_micros(), 1_704_067_200_000_000);
    }

    #[test]
    fn truncated_is_malformed() {
        let b = full(b"prft", 1, 0, &words(&[1, 2, 3]));
        assert!(matches!(parse_prft(&b), Err(CmafError::Malformed { .. })));
        assert!(parse_prft(&b[..5]).is_err());
    }
}
