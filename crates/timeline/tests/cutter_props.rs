//! Property tests of the cutter over generated GOPs, frame rates, targets and joins:
//! parts never exceed PART-TARGET, numbers are consecutive and a function of media time,
//! a late-joining origin agrees with an early one, and renditions share cut points.

use proptest::prelude::*;
use timeline::{Grid, MediaKind, TimelineError, TimingConfig, TrackMeta, TrackTimeline};

/// (timescale, frame duration) of common frame rates.
const RATES: [(u32, u32); 4] = [(15_360, 512), (90_000, 3600), (30_000, 1001), (12_800, 512)];
const AUDIO_RATE: u32 = 48_000;
const AUDIO_FRAME: u32 = 1024;

fn track(kind: MediaKind, timescale: u32) -> TrackTimeline {
    TrackTimeline::new(TrackMeta {
        id: "t".into(),
        kind,
        codec: String::new(),
        timescale,
        width: 0,
        height: 0,
        frame_duration: 0,
        sample_rate: 0,
        channels: 0,
        language: None,
        bandwidth: 0,
        average_bandwidth: 0,
    })
}

#[derive(Debug, Clone)]
struct Case {
    rate: (u32, u32),
    gop: u64,
    cfg: TimingConfig,
    join: u64,
    frames: u64,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        0..RATES.len(),
        5u64..=150,
        prop::sample::select(vec![1000u32, 2000, 3000, 4000, 6000]),
        100u32..=1000,
        0u64..400,
        500u64..1200,
    )
        .prop_map(|(r, gop, target, part, join, frames)| Case {
            rate: RATES[r],
            gop,
            cfg: TimingConfig {
                target_duration_ms: target,
                part_target_ms: part.min(target),
                ..TimingConfig::default()
            },
            join,
            frames,
        })
}

/// Feeds video frames `from..to` (key frame every `gop`) and, interleaved in media-time
/// order, the audio frames of the same span; skips samples before the first key frame
/// like the origin.
fn feed(c: &Case, from: u64, with_audio: bool) -> (TrackTimeline, TrackTimeline, Grid) {
    let (ts, fd) = c.rate;
    let mut g = Grid {
        cadence: None,
        has_video: true,
    };
    let mut v = track(MediaKind::Video, ts);
    let mut a = track(MediaKind::Audio, AUDIO_RATE);
    let start_us = u128::from(from) * u128::from(fd) * 1_000_000 / u128::from(ts);
    let mut ai = u64::try_from(start_us * u128::from(AUDIO_RATE) / 1_000_000 / 1024).unwrap() + 1;
    for i in from..c.frames {
        let vt_us = u128::from(i) * u128::from(fd) * 1_000_000 / u128::from(ts);
        while with_audio && u128::from(ai * 1024) * 1_000_000 / u128::from(AUDIO_RATE) <= vt_us {
            let p = a
                .append(&c.cfg, &mut g, ai * 1024, AUDIO_FRAME, true, 1)
                .unwrap();
            if p.cadence_chosen {
                v.renumber(&g);
            }
            ai += 1;
        }
        match v.append(&c.cfg, &mut g, i * u64::from(fd), fd, i % c.gop == 0, 1) {
            Ok(p) if p.cadence_chosen => a.renumber(&g),
            Ok(_) | Err(TimelineError::NoKeyFrame { .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    (v, a, g)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn cuts_are_functions_of_media_time(c in cases()) {
        let (v, a, g) = feed(&c, 0, true);
        let cad = g.cadence.expect("a cadence is chosen");
        let (ts, _) = c.rate;
        let part_target = u64::from(c.cfg.part_target_ms) * u64::from(ts) / 1000;
        let max = cad.max_segment_ticks(ts);
        let msns: Vec<u64> = v.segments.iter().map(|s| s.msn).collect();
        prop_assert!(msns.windows(2).all(|w| w[1] == w[0] + 1), "{:?}", msns);
        prop_assert!(msns[0] >= 1);
        for s in v.segments.iter() {
            prop_assert_eq!(s.msn, cad.cell(s.start, ts) + 1);
            prop_assert!(s.duration <= max, "segment {} of {} > {}", s.msn, s.duration, max);
            for p in &s.parts {
                prop_assert!(p.duration <= part_target, "part {} > {}", p.duration, part_target);
            }
        }
        // Audio shares the numbers: its segment n starts at its first frame at or
        // after the start of cell n - 1. Its first segment starts at its first frame,
        // and its first cut may come late by as much as audio ran ahead of the video
        // key frame that chose the cadence (a start-up transient).
        let amsn: Vec<u64> = a.segments.iter().map(|s| s.msn).collect();
        prop_assert!(amsn.windows(2).all(|w| w[1] == w[0] + 1), "{:?}", amsn);
        for s in a.segments.iter().skip(2) {
            let b = cad.boundary(s.msn - 1, AUDIO_RATE);
            prop_assert!(s.start >= b && s.start < b + u64::from(AUDIO_FRAME),
                "audio {} starts at {} (cell starts at {})", s.msn, s.start, b);
            for p in &s.parts {
                prop_assert!(p.duration <= u64::from(c.cfg.part_target_ms) * 48);
            }
        }
        // Both renditions list the same numbers over the same span.
        let last = *msns.last().unwrap();
        prop_assert!(amsn.contains(&last) || amsn.contains(&(last - 1)));
    }

    #[test]
    fn a_late_origin_agrees(c in cases()) {
        let (early, _, ge) = feed(&c, 0, false);
        let (late, _, gl) = feed(&c, c.join, false);
        // The late origin must have seen two key frames to choose.
        prop_assume!(gl.cadence.is_some());
        prop_assert_eq!(ge.cadence, gl.cadence);
        for s in late.segments.iter().skip(1) {
            let e = early.segment(s.msn).expect("the early origin holds every number");
            prop_assert_eq!(e.start, s.start, "segment {}", s.msn);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Across holes in media time (frames that never come), numbers stay consecutive,
    /// and within each discontinuity period a segment's number is its grid cell plus
    /// one constant: what DASH `$Number$` + `@duration` addressing needs.
    #[test]
    fn numbers_follow_cells_within_each_period(
        c in cases(),
        at in 60u64..400,
        gap in 1u64..300,
    ) {
        let (ts, fd) = c.rate;
        let mut g = Grid { cadence: None, has_video: true };
        let mut v = track(MediaKind::Video, ts);
        for i in (0..c.frames).filter(|i| *i < at || *i >= at + gap) {
            match v.append(&c.cfg, &mut g, i * u64::from(fd), fd, i % c.gop == 0, 1) {
                Ok(_) | Err(TimelineError::NoKeyFrame { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
        let Some(cad) = g.cadence else { return Ok(()) };
        let msns: Vec<u64> = v.segments.iter().map(|s| s.msn).collect();
        prop_assert!(msns.windows(2).all(|w| w[1] == w[0] + 1), "{:?}", msns);
        let mut shift: std::collections::BTreeMap<u64, i128> = Default::default();
        for s in v.segments.iter() {
            let k = i128::from(s.msn) - i128::from(cad.cell(s.start, ts));
            let p = v.period_of(s);
            let first = *shift.entry(p).or_insert(k);
            prop_assert_eq!(first, k, "segment {} of period {}", s.msn, p);
        }
    }
}
