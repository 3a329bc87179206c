//! Arbitrary UTF-8 as the query string of a playlist request, through
//! `manifest::hls::Directives::parse` and, when it parses, `Directives::readiness`
//! against a few fixed live tracks and timing configurations.
//!
//! Checked for every input: nothing panics (overflow checks are on); `_HLS_part`
//! never parses without `_HLS_msn`; a parsed value re-renders to a query that
//! parses to the same value; `_HLS_skip` never changes readiness; error
//! messages are one line.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use manifest::hls::{Directives, Skip};
use timeline::{MediaKind, TimingConfig, TrackMeta, TrackSnapshot, TrackTimeline};

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let d = match Directives::parse(query) {
        Ok(d) => d,
        Err(e) => {
            assert!(!e.to_string().contains('\n'), "{e}");
            return;
        }
    };
    assert!(d.part.is_none() || d.msn.is_some(), "{query:?} gave {d:?}");
    assert_eq!(Directives::parse(&render(&d)), Ok(d), "{query:?}");
    let no_skip = Directives {
        skip: Skip::No,
        ..d
    };
    for (cfg, track) in tracks() {
        let r = d.readiness(track, cfg);
        if let Err(e) = &r {
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        assert_eq!(r, no_skip.readiness(track, cfg), "{query:?}");
    }
});

/// The canonical query string of `d`.
fn render(d: &Directives) -> String {
    let mut q = Vec::new();
    if let Some(m) = d.msn {
        q.push(format!("_HLS_msn={m}"));
    }
    if let Some(p) = d.part {
        q.push(format!("_HLS_part={p}"));
    }
    match d.skip {
        Skip::No => {}
        Skip::Yes => q.push("_HLS_skip=YES".into()),
        Skip::V2 => q.push("_HLS_skip=v2".into()),
    }
    q.join("&")
}

/// Video tracks (30 fps at 15360 Hz, a key frame every second) in a few states
/// (empty, one frame, a segment just complete, mid-segment, after eviction),
/// each under a few timing configurations. Built once.
fn tracks() -> &'static [(TimingConfig, TrackSnapshot)] {
    static TRACKS: OnceLock<Vec<(TimingConfig, TrackSnapshot)>> = OnceLock::new();
    TRACKS.get_or_init(|| {
        let configs = [
            (2000, 200),
            (1000, 333),
            (6000, 1000),
            (2000, 2000),
            (4000, 7),
        ];
        let states: [(u64, Option<usize>); 6] = [
            (0, None),
            (1, None),
            (60, None),
            (61, None),
            (72, None),
            (330, Some(3)),
        ];
        let mut out = Vec::new();
        for (target_duration_ms, part_target_ms) in configs {
            let cfg = TimingConfig {
                target_duration_ms,
                part_target_ms,
                ..TimingConfig::default()
            };
            for (frames, keep) in states {
                let mut t = TrackTimeline::new(meta());
                let mut grid = timeline::Grid {
                    cadence: None,
                    has_video: true,
                };
                for i in 0..frames {
                    t.append(&cfg, &mut grid, i * 512, 512, i % 30 == 0, 100)
                        .expect("frame appends");
                }
                if let Some(k) = keep {
                    t.evict(k);
                }
                out.push((cfg, t));
            }
        }
        out
    })
}

fn meta() -> TrackMeta {
    TrackMeta {
        id: "v1".into(),
        kind: MediaKind::Video,
        codec: "avc1.64001f".into(),
        timescale: 15360,
        width: 640,
        height: 360,
        frame_duration: 512,
        sample_rate: 0,
        channels: 0,
        language: None,
        bandwidth: 0,
        average_bandwidth: 0,
    }
}
