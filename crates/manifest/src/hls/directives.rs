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
            parts_ahead(cfg, (last_msn, last_part), (msn, p)) > advance_part_limit(cfg)
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
/// if the Part Target Duration is less than one second, or three otherwise".
pub fn advance_part_limit(cfg: &TimingConfig) -> u64 {
    if cfg.part_target_ms < 1000 {
        u64::from(3000u32.div_ceil(cfg.part_target_ms.max(1)))
    } else {
        3
    }
}

/// How many parts `want` lies beyond `last` (0 when not beyond), counting a segment as
/// `ceil(target duration / part target)` parts.
fn parts_ahead(cfg: &TimingConfig, last: (u64, u32), want: (u64, u32)) -> u64 {
    let per_segment = u64::from(cfg.target_duration_ms.div_ceil(cfg.part_target_ms.max(1)));
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
