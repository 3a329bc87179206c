//! Media playlists, with the low-latency extensions (parts, server control, preload
//! hint, rendition reports, delta updates) on the same URL: clients that do not know
//! them ignore the tags.

use std::fmt::Write as _;

use timeline::time::{format_iso8601_micros, format_secs, ms_to_ticks};
use timeline::{ChannelSnapshot, Segment, TrackSnapshot};

use super::VERSION;
use super::attr::quoted;
use super::directives::{Skip, last_part};
use crate::{ManifestError, listed_segments};

/// Decimal places of EXTINF and part durations: 10 µs, so sums of many segments stay
/// within one frame of the real duration (Apple HLS authoring spec 8.1).
pub(super) const DURATION_DECIMALS: u32 = 5;

/// [HLS §8] EXT-X-SKIP requires version 9.
const DELTA_VERSION: u32 = 9;

/// Renders the live media playlist of rendition `track_id`; `skip` asks for a delta.
pub fn media_playlist(
    snap: &ChannelSnapshot,
    track_id: &str,
    skip: Skip,
) -> Result<String, ManifestError> {
    let track = snap
        .track(track_id)
        .ok_or_else(|| ManifestError::UnknownTrack(track_id.to_string()))?;
    let cfg = &snap.config;
    let listed = listed_segments(track, cfg);
    let first = listed.first().ok_or(ManifestError::NotReady)?;
    let ts = track.meta.timescale;
    let td = snap.target_duration_secs();
    let td_ms = td * 1000;
    let pt_ms = u64::from(cfg.part_target_ms);
    // The segment in progress is listed by its complete parts, after the last full one.
    let open = track
        .segments
        .back()
        .filter(|s| !s.complete && s.msn > first.msn && s.parts.iter().any(|p| p.complete));
    let end = open.map_or_else(
        || listed.last().map_or(0, |s| s.end()),
        |s| s.start + complete_duration(s),
    );
    // [HLS §6.2.2] parts more than three target durations from the end are dropped.
    let parts_from = end.saturating_sub(ms_to_ticks(3 * td_ms, ts));
    // [HLS §6.2.5.1] skip segments farther than the Skip Boundary (CAN-SKIP-UNTIL,
    // 6 target durations) from the end of the last parent segment.
    let skip_until_ms = 6 * td_ms;
    // A complete (catch-up) playlist is a plain one: no server control, so no delta,
    // no parts, no hint; a client that asks for a delta gets it whole.
    let live = !ended(snap);
    let skipped = match skip {
        _ if !live => 0,
        Skip::No => 0,
        Skip::Yes | Skip::V2 => {
            let last_end = listed.last().map_or(0, |s| s.end());
            let boundary = last_end.saturating_sub(ms_to_ticks(skip_until_ms, ts));
            listed.iter().take_while(|s| s.end() <= boundary).count()
        }
    };

    let mut out = String::with_capacity(1024 + listed.len() * 400);
    out.push_str("#EXTM3U\n");
    let version = if skipped > 0 { DELTA_VERSION } else { VERSION };
    let _ = writeln!(out, "#EXT-X-VERSION:{version}");
    // [HLS §4.4.3.1] "The EXT-X-TARGETDURATION tag is REQUIRED."
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{td}");
    // [HLS §4.4.3.8] CAN-SKIP-UNTIL "MUST be at least six times the Target Duration";
    // HOLD-BACK "MUST be at least three times the Target Duration"; PART-HOLD-BACK
    // "MUST be at least twice the Part Target Duration" and SHOULD (Apple: MUST) be at
    // least three times it.
    if live {
        let _ = writeln!(
            out,
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL={},HOLD-BACK={},PART-HOLD-BACK={}",
            format_secs(skip_until_ms, 1000, 3),
            format_secs(3 * td_ms, 1000, 3),
            format_secs(3 * pt_ms, 1000, 3)
        );
        let _ = writeln!(
            out,
            "#EXT-X-PART-INF:PART-TARGET={}",
            format_secs(pt_ms, 1000, 3)
        );
    }
    start_over_head(&mut out, snap);
    // [HLS §4.4.3.2] EXT-X-MEDIA-SEQUENCE "MUST appear before the first Media Segment";
    // in a delta it still names the first (skipped) segment [HLS §4.4.5.2].
    let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", first.msn);
    let _ = writeln!(
        out,
        "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
        track.discontinuity_sequence_at(first.msn)
    );
    if skipped > 0 {
        let _ = writeln!(out, "#EXT-X-SKIP:SKIPPED-SEGMENTS={skipped}");
    }
    // [HLS §4.4.4.5] "every Media Segment in a Playlist MUST have an EXT-X-MAP applied";
    // re-emitted after a skip so that a delta is self-contained, and before the first
    // segment made with another init (after its EXT-X-DISCONTINUITY).
    let mut map = None;
    for seg in listed.iter().skip(skipped) {
        segment_head(&mut out, snap, seg, ts, &mut map);
        if live && seg.end() > parts_from {
            parts(&mut out, seg, ts, snap.byterange_parts);
        }
        let _ = writeln!(
            out,
            "#EXTINF:{},",
            format_secs(seg.duration, ts, DURATION_DECIMALS)
        );
        let _ = writeln!(out, "seg-{}.m4s", seg.msn);
    }
    if ended(snap) {
        // [HLS §4.4.3.4] "EXT-X-ENDLIST ... indicates that no more Media Segments will be
        // added to the Media Playlist file": a catch-up span wholly in the past.
        out.push_str("#EXT-X-ENDLIST\n");
        return Ok(out);
    }
    if let Some(seg) = open {
        segment_head(&mut out, snap, seg, ts, &mut map);
        parts(&mut out, seg, ts, snap.byterange_parts);
    }
    preload_hint(&mut out, snap, track, snap.byterange_parts);
    rendition_reports(&mut out, snap, track);
    Ok(out)
}

/// True for a start-over snapshot whose span has ended: its playlist is complete.
pub(super) fn ended(snap: &ChannelSnapshot) -> bool {
    snap.start_over.as_ref().is_some_and(|s| s.ended)
}

/// [HLS §4.4.2.2] a start-over playlist begins playback at its first segment:
/// "EXT-X-START ... TIME-OFFSET ... A positive number indicates a time offset from the
/// beginning of the Playlist", and PRECISE=YES starts at that exact point rather than
/// the segment holding it. Players would otherwise join a live playlist near its end.
pub(super) fn start_over_head(out: &mut String, snap: &ChannelSnapshot) {
    if snap.start_over.is_some() {
        out.push_str("#EXT-X-START:TIME-OFFSET=0,PRECISE=YES\n");
    }
}

/// Tags that apply to a parent segment and so to its first part: [HLS §4.4.4.9] they
/// "MUST appear before the first EXT-X-PART tag of the Parent Segment".
pub(super) fn segment_head(
    out: &mut String,
    snap: &ChannelSnapshot,
    seg: &Segment,
    ts: u32,
    map: &mut Option<u32>,
) {
    if seg.discontinuity {
        out.push_str("#EXT-X-DISCONTINUITY\n");
    }
    init_map(out, map, seg);
    // Every segment carries PDT: [HLS B.1] PDT in every Media Playlist, one per
    // segment keeps deltas and part-only segments self-describing.
    if let Some(pdt) = snap.wallclock_us(seg.start, ts) {
        let _ = writeln!(
            out,
            "#EXT-X-PROGRAM-DATE-TIME:{}",
            format_iso8601_micros(pdt)
        );
    }
}

/// `EXT-X-MAP` naming the init of `seg`, when it differs from the one in effect.
fn init_map(out: &mut String, current: &mut Option<u32>, seg: &Segment) {
    if *current != Some(seg.init) {
        let _ = writeln!(out, "#EXT-X-MAP:URI={}", quoted(&crate::init_uri(seg.init)));
        *current = Some(seg.init);
    }
}

/// EXT-X-PART lines of the complete parts of `seg`.
///
/// [HLS §4.4.4.9] INDEPENDENT=YES "SHOULD" mark every part that begins with an
/// independent frame; hls.js starts playback only at such a part.
fn parts(out: &mut String, seg: &Segment, ts: u32, byterange: bool) {
    for (i, p) in seg.parts.iter().enumerate().filter(|(_, p)| p.complete) {
        let _ = write!(
            out,
            "#EXT-X-PART:DURATION={}",
            format_secs(p.duration, ts, DURATION_DECIMALS)
        );
        if byterange {
            // [HLS §4.4.4.9] BYTERANGE is a quoted-string "<n>[@<o>]"; the parts of a
            // segment are consecutive ranges of the segment's file.
            let _ = write!(
                out,
                ",URI={},BYTERANGE={}",
                quoted(&format!("seg-{}.m4s", seg.msn)),
                quoted(&format!("{}@{}", p.bytes, seg.part_offset(i)))
            );
        } else {
            let _ = write!(out, ",URI={}", quoted(&format!("part-{}.{i}.m4s", seg.msn)));
        }
        out.push_str(if p.independent {
            ",INDEPENDENT=YES\n"
        } else {
            "\n"
        });
    }
}

/// Duration of the complete parts of a segment.
fn complete_duration(seg: &Segment) -> u64 {
    seg.parts
        .iter()
        .filter(|p| p.complete)
        .map(|p| p.duration)
        .sum()
}

/// [HLS B.1] a live playlist with parts carries a TYPE=PART hint for the next part.
/// When the segment in progress has reached its grid point, the next part is expected
/// to open the next segment (the key frame of a regular GOP lands there).
fn preload_hint(out: &mut String, snap: &ChannelSnapshot, track: &TrackSnapshot, byterange: bool) {
    let Some(last) = track.segments.back() else {
        return;
    };
    let grid = snap.grid();
    let cell = |t| grid.cell(t, track.meta.timescale);
    let all_complete = last.parts.iter().all(|p| p.complete);
    let (msn, part) = if last.complete || (all_complete && cell(last.end()) > cell(last.start)) {
        (last.msn + 1, 0)
    } else {
        (last.msn, last.parts.iter().filter(|p| p.complete).count())
    };
    if byterange {
        // [HLS §4.4.5.3] a part that is a sub-range of a resource whose length is not yet
        // known: BYTERANGE-START is its offset, BYTERANGE-LENGTH is omitted.
        let start = if msn == last.msn {
            last.part_offset(part)
        } else {
            0
        };
        let _ = writeln!(
            out,
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI={},BYTERANGE-START={start}",
            quoted(&format!("seg-{msn}.m4s"))
        );
    } else {
        let _ = writeln!(
            out,
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI={}",
            quoted(&format!("part-{msn}.{part}.m4s"))
        );
    }
}

/// [HLS B.1] one EXT-X-RENDITION-REPORT per other media playlist, with a URI relative
/// to this playlist and no query string.
fn rendition_reports(out: &mut String, snap: &ChannelSnapshot, track: &TrackSnapshot) {
    // A stopped rendition gets no report: a player must not switch to it.
    for other in snap
        .tracks
        .iter()
        .filter(|t| t.meta.id != track.meta.id && snap.listed(t))
    {
        if let Some((msn, part)) = last_part(other) {
            let _ = writeln!(
                out,
                "#EXT-X-RENDITION-REPORT:URI={},LAST-MSN={msn},LAST-PART={part}",
                quoted(&format!("../{}/index.m3u8", other.meta.id))
            );
        }
    }
}
