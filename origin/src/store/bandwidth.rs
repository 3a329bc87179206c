//! Bit rates measured from stored segments, kept up to date in constant time per segment
//! so that publishing a chunk costs the same whatever the window's length.

use std::collections::VecDeque;

use timeline::Segment;

/// (peak, average) bit rate over the complete segments held.
///
/// [HLS §4.4.6.2] BANDWIDTH is the peak segment bit rate; AVERAGE-BANDWIDTH the
/// average. Both are measured on the segments actually held, rounded up to 1 kbit/s.
/// The peak is a sliding-window maximum: a deque of (msn, rate) with decreasing rates.
#[derive(Debug, Default)]
pub struct Meter {
    peaks: VecDeque<(u64, u64)>,
    bytes: u64,
    ticks: u64,
    held: VecDeque<(u64, u64, u64)>,
}

impl Meter {
    /// Counts a segment that just completed.
    pub fn complete(&mut self, s: &Segment, timescale: u32) {
        if s.duration == 0 {
            return;
        }
        let r = rate(s.bytes, s.duration, timescale);
        while self.peaks.back().is_some_and(|&(_, p)| p <= r) {
            self.peaks.pop_back();
        }
        self.peaks.push_back((s.msn, r));
        self.bytes += s.bytes;
        self.ticks += s.duration;
        self.held.push_back((s.msn, s.bytes, s.duration));
    }

    /// Forgets segments up to and including `msn` (evicted).
    pub fn evict_through(&mut self, msn: u64) {
        while self.peaks.front().is_some_and(|&(m, _)| m <= msn) {
            self.peaks.pop_front();
        }
        while let Some(&(m, b, d)) = self.held.front().filter(|h| h.0 <= msn) {
            let _ = m;
            self.bytes -= b;
            self.ticks -= d;
            self.held.pop_front();
        }
    }

    /// (peak, average) in bits/s, rounded up to 1 kbit/s; (0, 0) before any segment.
    pub fn rates(&self, timescale: u32) -> (u64, u64) {
        let peak = self.peaks.front().map_or(0, |&(_, r)| r);
        let avg = if self.ticks > 0 {
            rate(self.bytes, self.ticks, timescale)
        } else {
            0
        };
        (round_up_kbps(peak), round_up_kbps(avg))
    }
}

fn rate(bytes: u64, ticks: u64, timescale: u32) -> u64 {
    let v = u128::from(bytes) * 8 * u128::from(timescale) / u128::from(ticks.max(1));
    u64::try_from(v).unwrap_or(u64::MAX)
}

fn round_up_kbps(bps: u64) -> u64 {
    bps.div_ceil(1000).saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(msn: u64, bytes: u64, duration: u64) -> Segment {
        Segment {
            msn,
            start: 0,
            duration,
            parts: vec![],
            complete: true,
            discontinuity: false,
            bytes,
            init: 0,
        }
    }

    #[test]
    fn peak_and_average_over_a_sliding_window() {
        let mut m = Meter::default();
        assert_eq!(m.rates(1000), (0, 0));
        m.complete(&seg(1, 250_000, 2000), 1000);
        m.complete(&seg(2, 125_000, 2000), 1000);
        assert_eq!(m.rates(1000), (1_000_000, 750_000));
        m.evict_through(1);
        assert_eq!(m.rates(1000), (500_000, 500_000));
        m.complete(&seg(3, 375_000, 2000), 1000);
        assert_eq!(m.rates(1000), (1_500_000, 1_000_000));
    }
}
