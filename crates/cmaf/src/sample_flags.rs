//! The 32-bit sample_flags word and keyframe detection.
//!
//! ISO/IEC 14496-12 §8.8.3.1 lays the flags out as:
//!
//! ```text
//! bit(4)  reserved = 0;
//! unsigned int(2) is_leading;               // bits 27..26
//! unsigned int(2) sample_depends_on;        // bits 25..24
//! unsigned int(2) sample_is_depended_on;    // bits 23..22
//! unsigned int(2) sample_has_redundancy;    // bits 21..20
//! bit(3)  sample_padding_value;             // bits 19..17
//! bit(1)  sample_is_non_sync_sample;        // bit 16
//! unsigned int(16) sample_degradation_priority;
//! ```
//!
//! with sample_depends_on "1: this sample does depend on others (not an I
//! picture); 2: this sample does not depend on others (I picture)".

use crate::TrackKind;

/// Flags of a sync sample as ffmpeg writes them: depends_on = 2, sync.
pub const SYNC: u32 = 0x0200_0000;
/// Flags of a non-sync sample as ffmpeg writes them: depends_on = 1, non-sync bit set.
pub const NON_SYNC: u32 = 0x0101_0000;

/// The sample_is_non_sync_sample bit.
pub const NON_SYNC_BIT: u32 = 0x0001_0000;

/// sample_depends_on (0 unknown, 1 depends on others, 2 independent, 3 reserved).
pub fn depends_on(flags: u32) -> u8 {
    ((flags >> 24) & 0x3) as u8
}

/// Whether the sample is a sync sample (a point where decoding can start).
///
/// Audio samples are always sync. Otherwise a sample is sync if
/// sample_depends_on is 2 (I picture), or if sample_depends_on is 0
/// (unknown) and sample_is_non_sync_sample is 0.
pub fn is_sync(flags: u32, kind: TrackKind) -> bool {
    if kind == TrackKind::Audio {
        return true;
    }
    match depends_on(flags) {
        2 => true,
        0 => flags & NON_SYNC_BIT == 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyframe_logic() {
        assert!(is_sync(SYNC, TrackKind::Video));
        assert!(!is_sync(NON_SYNC, TrackKind::Video));
        // depends_on 2 wins even without looking at the non-sync bit.
        assert!(is_sync(0x0201_0000, TrackKind::Video));
        // Unknown dependency: the non-sync bit decides.
        assert!(is_sync(0, TrackKind::Video));
        assert!(!is_sync(NON_SYNC_BIT, TrackKind::Video));
        // depends_on 1 is never sync, even with the non-sync bit clear.
        assert!(!is_sync(0x0100_0000, TrackKind::Video));
        assert!(!is_sync(0x0300_0000, TrackKind::Other));
        // Audio is always sync.
        assert!(is_sync(NON_SYNC, TrackKind::Audio));
        assert_eq!(depends_on(0x0A00_0000), 2);
    }
}
