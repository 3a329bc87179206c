//! Bit rates measured from stored segments.

use timeline::Segment;

/// (peak, average) bit rate in bits/s over complete segments.
///
/// [HLS §4.4.6.2] BANDWIDTH is the peak segment bit rate; AVERAGE-BANDWIDTH the
/// average. Both are measured on the segments actually held, rounded up to 1 kbit/s.
pub fn measure<'a>(segments: impl Iterator<Item = &'a Segment>, timescale: u32) -> (u64, u64) {
    let (mut peak, mut bytes, mut ticks) = (0u64, 0u64, 0u64);
    for s in segments.filter(|s| s.complete && s.duration > 0) {
        peak = peak.max(rate(s.bytes, s.duration, timescale));
        bytes += s.bytes;
        ticks += s.duration;
    }
    let avg = if ticks > 0 {
        rate(bytes, ticks, timescale)
    } else {
        0
    };
    (round_up_kbps(peak), round_up_kbps(avg))
}

fn rate(bytes: u64, ticks: u64, timescale: u32) -> u64 {
    let v = u128::from(bytes) * 8 * u128::from(timescale) / u128::from(ticks.max(1));
    u64::try_from(v).unwrap_or(u64::MAX)
}

fn round_up_kbps(bps: u64) -> u64 {
    bps.div_ceil(1000) * 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(bytes: u64, duration: u64) -> Segment {
        Segment {
            msn: 1,
            start: 0,
            duration,
            parts: vec![],
            complete: true,
            discontinuity: false,
            bytes,
        }
    }

    #[test]
    fn peak_and_average() {
        let segs = [seg(250_000, 2000), seg(125_000, 2000)];
        assert_eq!(measure(segs.iter(), 1000), (1_000_000, 750_000));
        assert_eq!(measure([].iter(), 1000), (0, 0));
    }
}
