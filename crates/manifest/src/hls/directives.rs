//! Delivery directives (`_HLS_msn`, `_HLS_part`, `_HLS_skip`) and the decisions they
//! imply: is the requested state there yet, must the request wait, or is it a client
//! error. Pure, so the origin and the edge apply the same rules.

use timeline::{TimingConfig, TrackSnapshot};

/// `_HLS_skip`: whether the client asks for a Playlist Delta Update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Skip {
    /// No delta requested.
    #[default]
    No,
    /// `_HLS_skip=YES`: skip old segments.
    Yes,
    /// `_HLS_skip=v2`: skip old segments and old date ranges.
    V2,
}

/// The delivery directives of a playlist request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Directives {
    /// `_HLS_msn`: block until this media sequence number exists.
    pub msn: Option<u64>,
    /// `_HLS_part`: block until this part of `msn` exists.
    pub part: Option<u32>,
    /// `_HLS_skip`.
    pub skip: Skip,
}

/// A directive the server must refuse with 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectiveError {
    /// [HLS §6.2.5.2] "If the _HLS_part directive is present without an _HLS_msn
    /// directive, the server MUST return Bad Request".
    #[error("_HLS_part requires _HLS_msn")]
    PartWithoutMsn,
    /// A directive value that is not a decimal integer (or YES/v2 for `_HLS_skip`).
    #[error("invalid value for {0}")]
    BadValue(&'static str),
    /// [HLS §6.2.5.2] a request "more than two Media Segments beyond the last" or past
    /// the Advance Part Limit "SHOULD" get 400 at once.
    #[error(
        "_HLS_msn={msn} _HLS_part={part} is too far ahead of the live edge ({last_msn}.{last_part})"
    )]
    TooFarAhead {
        /// Requested MSN.
        msn: u64,
        /// Requested part (0 when absent).
        part: u32,
        /// MSN of the newest part or segment.
        last_msn: u64,
        /// Index of the newest complete part of `last_msn`.
        last_part: u32,
    },
}

/// What to do with a blocking request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// The playlist already contains what was asked for: answer.
    Ready,
    /// Hold the request until the playlist changes, then ask again.
    Wait,
}

impl Directives {
    /// Parses the query string of a playlist request. Other parameters, including
    /// unknown `_HLS_` ones, are ignored.
    pub fn parse(query: &str) -> Result<Directives, DirectiveError> {
        let mut d = Directives::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "_HLS_msn" => d.msn = Some(decimal(v).ok_or(DirectiveError::BadValue("_HLS_msn"))?),
                "_HLS_part" => {
                    let p = decimal(v).and_then(|p| u32::try_from(p).ok());
                    d.part = Some(p.ok_or(DirectiveError::BadValue("_HLS_part"))?);
                }
                "_HLS_skip" => {
                    d.skip = match v {
                        "YES" => Skip::Yes,
                        "v2" => Skip::V2,
                        _ => return Err(DirectiveError::BadValue("_HLS_skip")),
                    }
                }
                _ => {}
            }
        }
        if d.part.is_some() && d.msn.is_none() {
            return Err(DirectiveError::PartWithoutMsn);
        }
        Ok(d)
    }

    /// True when the request blocks (carries `_HLS_msn`).
    pub fn is_blocking(&self) -> bool {
        self.msn.is_some()
    }

    /// Decides whether the playlist of `track` satisfies the directives.
    ///
    /// [HLS §6.2.5.2] with `_HLS_msn=M` the server holds the response "until the
    /// Playlist contains a Media Segment with Media Sequence Number of M or later";
    /// with `_HLS_part=N` until it contains Partial Segment N of M or later, where a
    /// part index past the last part of a completed M means part 0 of M+1. A directive
    /// for something already gone is satisfied by the current playlist.
    pub fn readiness(
        &self,
        track: &TrackSnapshot,
        cfg: &TimingConfig,
    ) -> Result<Readiness, DirectiveError> {
        let Some(msn) = self.msn else {
            return Ok(Readiness::Ready);
        };
        let Some((last_msn, last_part)) = last_part(track) else {
            return Ok(Readiness::Wait);
        };
        let part = self.part.unwrap_or(0);
        let too_far = DirectiveError::TooFarAhead {
            msn,
            part,
            last_msn,
            last_part,
        };
        let newest_msn = track.segments.back().map_or(last_msn, |s| s.msn);
        if msn > newest_msn + 2 {
            return Err(too_far);
        }
        if self.part.is_some_and(|p| {
            parts_ahead(cfg, track, (last_msn, last_part), (msn, p)) > advance_part_limit(cfg)
        }) {
            return Err(too_far);
        }
        let ready = match self.part {
            None => track.last_complete_msn().is_some_and(|m| m >= msn),
            Some(p) => {
                let (m, p) = normalize(track, msn, p);
                (last_msn, last_part) >= (m, p)
            }
        };
        Ok(if ready {
            Readiness::Ready
        } else {
            Readiness::Wait
        })
    }
}

/// [HLS §6.2.5.2] "the Advance Part Limit is three divided by the Part Target Duration
/// if the Part Target Duration is less than one second, or three otherwise". A request
/// is refused when it is *more* than that many parts ahead, so the whole-part limit is
/// the floor (3 / 0.333 s = 9.009 → 9).
pub fn advance_part_limit(cfg: &TimingConfig) -> u64 {
    if cfg.part_target_ms < 1000 {
        u64::from(3000 / cfg.part_target_ms.max(1))
    } else {
        3
    }
}

/// How many parts `want` lies beyond `last` (0 when not beyond), counting a segment as
/// `ceil(target / part target)` parts, or as many as the newest complete segment has.
fn parts_ahead(
    cfg: &TimingConfig,
    track: &TrackSnapshot,
    last: (u64, u32),
    want: (u64, u32),
) -> u64 {
    // Segments are as long as the channel's cadence, which may exceed the target: the
    // newest complete segment's part count tells.
    let per_segment = u64::from(cfg.target_duration_ms.div_ceil(cfg.part_target_ms.max(1))).max(
        track
            .complete_segments()
            .next_back()
            .map_or(0, |s| s.parts.len() as u64),
    );
    let (lm, lp) = (last.0, u64::from(last.1));
    let (m, p) = (want.0, u64::from(want.1));
    if m < lm {
        0
    } else if m == lm {
        p.saturating_sub(lp)
    } else {
        per_segment.saturating_sub(lp + 1) + (m - lm - 1) * per_segment + p + 1
    }
}

/// (MSN, index) of the newest complete part of the track.
pub fn last_part(track: &TrackSnapshot) -> Option<(u64, u32)> {
    track.segments.iter().rev().find_map(|s| {
        let i = s.parts.iter().rposition(|p| p.complete)?;
        Some((s.msn, u32::try_from(i).ok()?))
    })
}

/// A part index past the last part of a completed segment means part 0 of the next.
fn normalize(track: &TrackSnapshot, msn: u64, part: u32) -> (u64, u32) {
    match track.segment(msn) {
        Some(s) if s.complete && part as usize >= s.parts.len() => (msn + 1, 0),
        _ => (msn, part),
    }
}

/// A canonical decimal integer (no sign, no leading zeros).
fn decimal(s: &str) -> Option<u64> {
    let ok =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    ok.then(|| s.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use timeline::{MediaKind, TrackMeta, TrackTimeline};

    /// An empty 30 fps video track at 15360 Hz.
    fn empty_track() -> TrackTimeline {
        TrackTimeline::new(TrackMeta {
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
        })
    }

    /// A track fed `frames` frames of 512 ticks from time zero, key frame every 30
    /// (every second): 2 s segments of 10 parts of 6 frames. After 72 frames segment 1
    /// is complete and segment 2 has parts 2.0 and 2.1 complete.
    fn fed(frames: u64) -> TrackSnapshot {
        let cfg = TimingConfig::default();
        let mut t = empty_track();
        let mut grid = timeline::Grid {
            cadence: None,
            has_video: true,
        };
        for i in 0..frames {
            t.append(&cfg, &mut grid, i * 512, 512, i % 30 == 0, 100)
                .expect("frame appends");
        }
        t
    }

    fn d(msn: Option<u64>, part: Option<u32>, skip: Skip) -> Directives {
        Directives { msn, part, skip }
    }

    #[test]
    fn fixtures_have_the_documented_shape() {
        let t = fed(72);
        assert_eq!(t.segments.len(), 2);
        assert!(t.segments[0].complete && t.segments[0].parts.len() == 10);
        assert!(!t.segments[1].complete);
        assert_eq!(last_part(&t), Some((2, 1)));
        let t = fed(61);
        assert!(t.segments[0].complete);
        assert_eq!(last_part(&t), Some((1, 9)));
        let t = fed(60);
        assert!(
            !t.segments[0].complete,
            "the cut needs the key frame at 2 s"
        );
        assert!(t.segments[0].parts.iter().all(|p| p.complete));
        assert_eq!(last_part(&fed(0)), None);
    }

    #[test]
    fn parse_accepts_the_defined_directives() {
        let cases: &[(&str, Directives)] = &[
            ("", Directives::default()),
            ("&&", Directives::default()),
            ("_HLS_msn=5", d(Some(5), None, Skip::No)),
            ("_HLS_msn=0", d(Some(0), None, Skip::No)),
            ("_HLS_msn=5&_HLS_part=2", d(Some(5), Some(2), Skip::No)),
            ("_HLS_msn=5&_HLS_part=0", d(Some(5), Some(0), Skip::No)),
            // Order is the client's business; the server accepts any.
            ("_HLS_part=2&_HLS_msn=5", d(Some(5), Some(2), Skip::No)),
            ("_HLS_skip=YES", d(None, None, Skip::Yes)),
            ("_HLS_skip=v2", d(None, None, Skip::V2)),
            (
                "_HLS_msn=107&_HLS_part=2&_HLS_skip=YES",
                d(Some(107), Some(2), Skip::Yes),
            ),
            (
                "_HLS_msn=18446744073709551615",
                d(Some(u64::MAX), None, Skip::No),
            ),
            (
                "_HLS_msn=1&_HLS_part=4294967295",
                d(Some(1), Some(u32::MAX), Skip::No),
            ),
            // Unknown `_HLS_` parameters and other parameters are ignored.
            ("_HLS_foo=1", Directives::default()),
            ("_HLS_foo=bar&_HLS_msn=3", d(Some(3), None, Skip::No)),
            ("token=abc&_HLS_msn=3&x", d(Some(3), None, Skip::No)),
            ("_hls_msn=x&_HLS_MSN=x", Directives::default()),
            ("cb=1&_HLS_throughput=123456", Directives::default()),
        ];
        for (query, want) in cases {
            assert_eq!(Directives::parse(query), Ok(*want), "query {query:?}");
        }
    }

    #[test]
    fn parse_refuses_bad_values() {
        use DirectiveError::{BadValue, PartWithoutMsn};
        let cases: &[(&str, DirectiveError)] = &[
            ("_HLS_msn=-1", BadValue("_HLS_msn")),
            ("_HLS_msn=+1", BadValue("_HLS_msn")),
            ("_HLS_msn=01", BadValue("_HLS_msn")),
            ("_HLS_msn=00", BadValue("_HLS_msn")),
            ("_HLS_msn=x", BadValue("_HLS_msn")),
            ("_HLS_msn=", BadValue("_HLS_msn")),
            ("_HLS_msn", BadValue("_HLS_msn")),
            ("_HLS_msn=1.0", BadValue("_HLS_msn")),
            ("_HLS_msn= 1", BadValue("_HLS_msn")),
            ("_HLS_msn=18446744073709551616", BadValue("_HLS_msn")),
            ("_HLS_msn=1&_HLS_part=-1", BadValue("_HLS_part")),
            ("_HLS_msn=1&_HLS_part=+1", BadValue("_HLS_part")),
            ("_HLS_msn=1&_HLS_part=01", BadValue("_HLS_part")),
            ("_HLS_msn=1&_HLS_part=x", BadValue("_HLS_part")),
            ("_HLS_msn=1&_HLS_part=", BadValue("_HLS_part")),
            ("_HLS_msn=1&_HLS_part=4294967296", BadValue("_HLS_part")),
            ("_HLS_skip=yes", BadValue("_HLS_skip")),
            ("_HLS_skip=NO", BadValue("_HLS_skip")),
            ("_HLS_skip=V2", BadValue("_HLS_skip")),
            ("_HLS_skip=", BadValue("_HLS_skip")),
            ("_HLS_part=1", PartWithoutMsn),
            ("_HLS_part=0&_HLS_skip=YES", PartWithoutMsn),
            ("_HLS_part=3&_HLS_foo=1", PartWithoutMsn),
        ];
        for (query, want) in cases {
            assert_eq!(
                Directives::parse(query).as_ref(),
                Err(want),
                "query {query:?}"
            );
        }
        // The messages are one line and name the parameter.
        assert_eq!(
            BadValue("_HLS_part").to_string(),
            "invalid value for _HLS_part"
        );
        assert_eq!(PartWithoutMsn.to_string(), "_HLS_part requires _HLS_msn");
    }

    #[test]
    fn blocking_is_having_an_msn() {
        assert!(!Directives::default().is_blocking());
        assert!(!d(None, None, Skip::Yes).is_blocking());
        assert!(d(Some(1), None, Skip::No).is_blocking());
        assert!(d(Some(1), Some(0), Skip::V2).is_blocking());
    }

    /// What a readiness case expects.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Want {
        Ready,
        Wait,
        TooFarAhead,
    }

    #[test]
    fn readiness_table() {
        use Want::{Ready, TooFarAhead, Wait};
        // (description, frames fed, segments kept by eviction, msn, part, expected)
        #[allow(clippy::type_complexity)]
        let cases: &[(&str, u64, Option<usize>, Option<u64>, Option<u32>, Want)] = &[
            ("no _HLS_msn: not blocking", 72, None, None, None, Ready),
            ("no _HLS_msn on an empty track", 0, None, None, None, Ready),
            // Last part is 2.1.
            ("the newest part", 72, None, Some(2), Some(1), Ready),
            (
                "an earlier part of the open segment",
                72,
                None,
                Some(2),
                Some(0),
                Ready,
            ),
            (
                "a part of a complete segment",
                72,
                None,
                Some(1),
                Some(3),
                Ready,
            ),
            (
                "the last part of a complete segment",
                72,
                None,
                Some(1),
                Some(9),
                Ready,
            ),
            ("the next part", 72, None, Some(2), Some(2), Wait),
            ("two parts ahead", 72, None, Some(2), Some(3), Wait),
            // [HLS §6.2.5.2] N past the last part of a complete M means part 0 of M+1.
            (
                "past the parts of complete 1 = 2.0, which exists",
                72,
                None,
                Some(1),
                Some(10),
                Ready,
            ),
            (
                "far past the parts of complete 1 = 2.0",
                72,
                None,
                Some(1),
                Some(12),
                Ready,
            ),
            (
                "past the parts of complete 1 = 2.0, not there yet",
                61,
                None,
                Some(1),
                Some(10),
                Wait,
            ),
            // An open segment may still grow parts: no such mapping.
            (
                "past the parts of open segment 1",
                60,
                None,
                Some(1),
                Some(10),
                Wait,
            ),
            (
                "the last part of open segment 1",
                60,
                None,
                Some(1),
                Some(9),
                Ready,
            ),
            // A directive for something already gone is satisfied by the current playlist.
            (
                "stale msn that slid out",
                330,
                Some(3),
                Some(1),
                None,
                Ready,
            ),
            (
                "stale msn and part that slid out",
                330,
                Some(3),
                Some(1),
                Some(0),
                Ready,
            ),
            (
                "stale msn, part past its end",
                330,
                Some(3),
                Some(2),
                Some(40),
                Ready,
            ),
            // Newest MSN is 2 (open, listed by its parts).
            ("msn = last + 1", 72, None, Some(3), None, Wait),
            ("msn = last + 2", 72, None, Some(4), None, Wait),
            ("msn = last + 3", 72, None, Some(5), None, TooFarAhead),
            ("msn far ahead", 72, None, Some(1000), None, TooFarAhead),
            (
                "msn = u64::MAX",
                72,
                None,
                Some(u64::MAX),
                None,
                TooFarAhead,
            ),
            (
                "msn = last + 3 with a part",
                72,
                None,
                Some(5),
                Some(0),
                TooFarAhead,
            ),
            // Advance Part Limit: 3 / 0.2 s = 15 parts beyond 2.1.
            (
                "2.16: 15 parts ahead (at the limit)",
                72,
                None,
                Some(2),
                Some(16),
                Wait,
            ),
            (
                "2.17: 16 parts ahead",
                72,
                None,
                Some(2),
                Some(17),
                TooFarAhead,
            ),
            ("3.0: 9 parts ahead", 72, None, Some(3), Some(0), Wait),
            (
                "3.6: 15 parts ahead (at the limit)",
                72,
                None,
                Some(3),
                Some(6),
                Wait,
            ),
            (
                "3.7: 16 parts ahead",
                72,
                None,
                Some(3),
                Some(7),
                TooFarAhead,
            ),
            (
                "4.0: 19 parts ahead, msn within last + 2",
                72,
                None,
                Some(4),
                Some(0),
                TooFarAhead,
            ),
            (
                "part = u32::MAX",
                72,
                None,
                Some(2),
                Some(u32::MAX),
                TooFarAhead,
            ),
            // _HLS_msn alone asks for a whole segment.
            (
                "msn of the open segment, parts exist",
                72,
                None,
                Some(2),
                None,
                Wait,
            ),
            (
                "msn of the open segment, all parts complete",
                60,
                None,
                Some(1),
                None,
                Wait,
            ),
            ("msn of a complete segment", 72, None, Some(1), None, Ready),
            (
                "msn of a just-completed segment",
                121,
                None,
                Some(2),
                None,
                Ready,
            ),
            (
                "msn of the segment that just opened",
                121,
                None,
                Some(3),
                None,
                Wait,
            ),
            // Nothing yet: everything waits (nothing to measure "too far" against).
            ("empty track, msn", 0, None, Some(1), None, Wait),
            ("empty track, msn and part", 0, None, Some(1), Some(0), Wait),
            (
                "empty track, msn far ahead",
                0,
                None,
                Some(50),
                Some(3),
                Wait,
            ),
            (
                "first frame only (no complete part)",
                1,
                None,
                Some(1),
                Some(0),
                Wait,
            ),
        ];
        let cfg = TimingConfig::default();
        for &(what, frames, keep, msn, part, want) in cases {
            let mut t = fed(frames);
            if let Some(k) = keep {
                t.evict(k);
            }
            let dir = d(msn, part, Skip::No);
            let got = match dir.readiness(&t, &cfg) {
                Ok(Readiness::Ready) => Ready,
                Ok(Readiness::Wait) => Wait,
                Err(DirectiveError::TooFarAhead { .. }) => TooFarAhead,
                Err(e) => panic!("{what}: unexpected error {e}"),
            };
            assert_eq!(got, want, "{what} (frames {frames}, {msn:?}.{part:?})");
            // Skip never changes readiness.
            let skipped = Directives {
                skip: Skip::Yes,
                ..dir
            };
            assert_eq!(
                skipped.readiness(&t, &cfg),
                dir.readiness(&t, &cfg),
                "{what}"
            );
        }
    }

    #[test]
    fn stale_fixture_slid_out() {
        let mut t = fed(330);
        assert_eq!(t.evict(3), vec![1, 2]);
        assert!(t.segment(1).is_none());
    }

    #[test]
    fn too_far_ahead_reports_the_live_edge() {
        let cfg = TimingConfig::default();
        let t = fed(72);
        let e = d(Some(2), Some(17), Skip::No)
            .readiness(&t, &cfg)
            .unwrap_err();
        assert_eq!(
            e,
            DirectiveError::TooFarAhead {
                msn: 2,
                part: 17,
                last_msn: 2,
                last_part: 1
            }
        );
        let msg = e.to_string();
        assert!(!msg.contains('\n'), "{msg}");
        assert!(
            msg.contains("2.1") && msg.contains("too far ahead"),
            "{msg}"
        );
        let e = d(Some(5), None, Skip::No).readiness(&t, &cfg).unwrap_err();
        assert_eq!(
            e,
            DirectiveError::TooFarAhead {
                msn: 5,
                part: 0,
                last_msn: 2,
                last_part: 1
            }
        );
    }

    #[test]
    fn advance_part_limit_per_part_target() {
        let limit = |part_target_ms| {
            advance_part_limit(&TimingConfig {
                part_target_ms,
                ..TimingConfig::default()
            })
        };
        // [HLS §6.2.5.2] 3 / PART-TARGET below one second, else 3.
        assert_eq!(limit(200), 15);
        assert_eq!(limit(500), 6, "the protocol reference's example");
        assert_eq!(limit(1000), 3);
        assert_eq!(limit(2000), 3);
    }

    /// 3 / 0.333 s = 9.009 parts. A request 10 parts past the last one is "more than the
    /// Advance Part Limit" ahead and SHOULD get 400, so the integer limit compared with
    /// `>` must be floor(9.009) = 9; `advance_part_limit` rounds up to 10.
    #[test]
    fn advance_part_limit_for_a_third_of_a_second() {
        let cfg = TimingConfig {
            part_target_ms: 333,
            ..TimingConfig::default()
        };
        assert_eq!(advance_part_limit(&cfg), 9);
    }
}
