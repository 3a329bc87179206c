//! HESP initialization packets: `/{channel}/{track}/p{period}/hesp-{seq|now}.mp4`.
//!
//! [HESP §4] a video Initialization Packet is the CMAF header, then a CMAF segment
//! starting with an independent sample, with an `emsg` (`urn:theo:hesp:2020`,
//! `initdata`) whose JSON `{"index","offset"}` names the continuation segment and the
//! byte where the continuation resumes: "packet samples followed by continuation samples
//! from the referenced offset must form a codec-compliant bitstream".
//!
//! Where the packet's sample comes from:
//! - the rendition's key-frame companion (`{track}.kf`), frame for frame: a packet
//!   exists wherever a continuation chunk ends on a companion frame's end (every frame
//!   with one frame per chunk), so a player starts or switches at any frame;
//! - else the continuation's own key frames: the first chunk of a segment. [HESP §6.2.1.1]
//!   "A request for any other position returns the most recent valid packet."
//!
//! The CMAF header is the rendition's own (the init its continuation segment was made
//! with), so the continuation decodes with the parameter sets the player already has;
//! the companion must therefore be encoded with the same encoder settings except the
//! key-frame interval (README, HESP). An audio packet is the header and the `emsg`
//! alone (§4: "An audio sample is allowed but discouraged"), pointing at the chunk that
//! holds the requested time.

use std::sync::Arc;

use bytes::Bytes;
use manifest::policy::hesp::{PACKET_HOLD_AHEAD_MS, SCHEME};
use timeline::{MediaKind, Segment, TimingConfig, TrackSnapshot};
use tokio::sync::watch;

use super::{channel, content_type, media_cache};
use crate::error::ServeError;
use crate::http::{Body, chunks};
use crate::serve::hold;
use crate::serve::response::ok;
use crate::store::{Channel, ChunkMark, End, Growing, KeyFrame, Origin};

/// A packet ready to send.
struct Packet {
    /// The CMAF header and the emsg.
    head: Vec<Bytes>,
    /// The packet's `moof` + `mdat` (empty for audio).
    media: Vec<Bytes>,
}

/// What a request resolves to now.
enum Resolved {
    Ready(Packet),
    /// Not there yet: wait for the track (and the companion, if any) to change.
    Later(Option<watch::Receiver<u64>>),
}

/// Where a packet's sample comes from.
enum Source {
    Companion(KeyFrame),
    /// The first chunk of a segment (it starts with its key frame).
    KeyFrame(ChunkMark),
}

/// One resolved packet position.
struct Position<'a> {
    seg: &'a Segment,
    object: Arc<Growing>,
    /// Media time of the packet's sample.
    time: u64,
    /// Where the continuation resumes: (segment id, byte offset).
    resume: (u64, u64),
    source: Source,
}

/// HESP's in-band `manifestupdate` event, sent after the last byte of a Presentation's
/// last continuation segment: [HESP §5.4] "version 0, `urn:theo:hesp:2020`, value
/// `manifestupdate`, timescale 1, delta 0, duration 0; message_data {"url"?}".
///
/// The draft wants a Presentation change announced 2 s ahead; an encoder restart or a
/// broken upload gives no notice, so the event comes when the old Presentation ends
/// (the new one is in the manifest by the time the player reloads it, or soon after).
pub fn manifest_update() -> Bytes {
    cmaf::write_emsg_v0(&cmaf::EventMessage {
        scheme_id_uri: SCHEME,
        value: "manifestupdate",
        timescale: 1,
        presentation_time_delta: 0,
        event_duration: 0,
        id: 0,
        message_data: b"{}",
    })
}

/// Answers an initialization packet request, holding a numbered packet a little ahead
/// of the live edge until it exists.
pub async fn hesp_packet(
    origin: &Origin,
    name: &str,
    track: &str,
    period: u64,
    seq: Option<u64>,
    cfg: &TimingConfig,
) -> Result<hyper::Response<Body>, ServeError> {
    let ch = channel(origin, name)?;
    let what = match seq {
        Some(n) => format!("initialization packet {n} of '{track}'"),
        None => format!("initialization packet 'now' of '{track}'"),
    };
    let mut track_rx = ch
        .subscribe_track(track)
        .ok_or_else(|| ServeError::NotFound(format!("track '{track}'")))?;
    let snap = ch.snapshot();
    let cache = match seq {
        // The newest packet changes with every frame.
        None => "no-cache".to_string(),
        Some(_) => media_cache(&snap),
    };
    let ct = content_type(&snap, track);
    let wait = async {
        loop {
            track_rx.borrow_and_update();
            let companion_rx = match resolve(&ch, track, period, seq, &what)? {
                Resolved::Ready(p) => {
                    let mut body = p.head;
                    body.extend(p.media);
                    return Ok(ok(ct, &cache, chunks(body)));
                }
                Resolved::Later(rx) => rx,
            };
            let companion = async {
                match companion_rx {
                    Some(mut rx) => {
                        let _ = rx.changed().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                r = track_rx.changed() => if r.is_err() {
                    return Err(ServeError::NotFound(format!("{what} (its track ended)")));
                },
                () = companion => {}
            }
        }
    };
    tokio::time::timeout(hold::limit(&ch, cfg), wait)
        .await
        .map_err(|_| ServeError::Timeout(what.clone()))?
}

/// The packet `seq` (`None`: the newest) of `track` in Presentation `period`, if it
/// can be answered now.
fn resolve(
    ch: &Channel,
    track: &str,
    period: u64,
    seq: Option<u64>,
    what: &str,
) -> Result<Resolved, ServeError> {
    let snap = ch.snapshot();
    let t = snap
        .track(track)
        .ok_or_else(|| ServeError::NotFound(format!("track '{track}'")))?;
    let segs = in_period(t, period);
    let newest_period = t.segments.back().map(|s| t.period_of(s));
    let ended = newest_period.is_some_and(|p| p > period);
    if segs.is_empty() {
        return match newest_period {
            Some(p) if p > period => Err(ServeError::NotFound(format!(
                "{what}: presentation p{period} has ended, p{p} is active (reload the manifest)"
            ))),
            Some(p) if period > p => Err(ServeError::NotFound(format!(
                "{what}: no presentation p{period} (p{p} is active)"
            ))),
            _ => Ok(Resolved::Later(None)),
        };
    }
    // The numbering the manifest announces (one rule for both).
    let Some(numbering) = manifest::hesp::packet_numbering(&snap, track, period) else {
        return Ok(Resolved::Later(None));
    };
    let end = segs.last().map_or(0, |s| s.end());
    let ahead = PACKET_HOLD_AHEAD_MS * u64::from(t.meta.timescale) / 1000;
    let target = match seq {
        // The newest packet of a Presentation that has ended is not "now".
        None if ended => {
            return Err(ServeError::NotFound(format!(
                "{what}: presentation p{period} has ended (reload the manifest)"
            )));
        }
        None => u64::MAX,
        Some(n) => {
            let at = numbering.time_of(n).ok_or_else(|| {
                ServeError::NotFound(format!(
                    "{what} (before p{period}'s first, {})",
                    numbering.first
                ))
            })?;
            let first = segs.first().map_or(0, |s| s.start);
            if at.saturating_add(numbering.frame) <= first && first > numbering.start {
                return Err(ServeError::NotFound(format!(
                    "{what} (before the oldest held media of p{period})"
                )));
            }
            if ended && at >= end {
                return Err(ServeError::NotFound(format!(
                    "{what}: presentation p{period} ended before it (reload the manifest)"
                )));
            }
            if at > end.saturating_add(ahead) {
                return Err(ServeError::NotFound(format!(
                    "{what} (too far ahead of the live edge)"
                )));
            }
            // Continuation samples and packets become available together: a packet
            // whose frame is not stored yet is waited for.
            if at >= end {
                let rx = ch.companion(track, 0).map(|(_, _, rx)| rx);
                return Ok(Resolved::Later(rx));
            }
            // The Presentation may start before its first media (on the grid): its
            // first packets are the first media's.
            at.max(first)
        }
    };
    match t.meta.kind {
        MediaKind::Video => video(ch, track, &segs, target, (seq.is_some(), ahead)),
        MediaKind::Audio => Ok(audio(ch, track, &segs, target)),
    }
}

/// The segments of `t` in Presentation (discontinuity sequence) `period`, oldest first.
fn in_period(t: &TrackSnapshot, period: u64) -> Vec<&Segment> {
    let mut out = Vec::new();
    let mut here = t.segments.front().map_or(0, |s| t.period_of(s));
    for (i, s) in t.segments.iter().enumerate() {
        if i > 0 {
            here += u64::from(s.discontinuity);
        }
        if here == period {
            out.push(s.as_ref());
        }
    }
    out
}

fn video(
    ch: &Channel,
    track: &str,
    segs: &[&Segment],
    target: u64,
    (numbered, ahead): (bool, u64),
) -> Result<Resolved, ServeError> {
    let media_end = segs.last().map_or(0, |s| s.end());
    let mut best = key_frame_position(ch, track, segs, target);
    let mut companion_rx = None;
    if let Some((frames, companion_end, rx)) = ch.companion(track, target) {
        // A live companion travels on another upload than the continuation and may
        // land a moment later: a numbered packet waits for its frame. One that stopped
        // (or fell behind by more than the hold ahead) is not waited for: the key
        // frames answer.
        let live = companion_end.is_some_and(|e| e.saturating_add(ahead) >= media_end);
        if numbered && live && companion_end.is_some_and(|e| e <= target) {
            return Ok(Resolved::Later(Some(rx)));
        }
        let floor = best.as_ref().map(|b| b.time);
        match companion_position(ch, track, (segs, &frames), floor, numbered) {
            Found::At(p) => best = Some(p),
            // The frame asked for is the newest stored and its chunk may still be the
            // last of its segment: wait for the next chunk (at most a frame).
            Found::Wait => return Ok(Resolved::Later(Some(rx))),
            Found::None => {}
        }
        companion_rx = Some(rx);
    }
    let Some(pos) = best else {
        return Ok(Resolved::Later(companion_rx));
    };
    Ok(Resolved::Ready(packet(ch, track, &pos, MediaKind::Video)?))
}

/// What the companion offers for a request.
enum Found<'a> {
    At(Position<'a>),
    /// The newest candidate frame needs one more chunk to know where to resume.
    Wait,
    None,
}

/// The newest companion frame (of `frames`, newest first, all at or before the target)
/// newer than `floor` whose end is the end of a stored continuation chunk that is not
/// the newest chunk of a segment still growing (its resume point must be known). A
/// `numbered` request waits for the frame it asked for rather than take an older one.
fn companion_position<'a>(
    ch: &Channel,
    track: &str,
    (segs, frames): (&[&'a Segment], &[KeyFrame]),
    floor: Option<u64>,
    numbered: bool,
) -> Found<'a> {
    let mut marks: Option<(u64, Arc<Growing>, Vec<ChunkMark>)> = None;
    for (k, f) in frames.iter().enumerate() {
        if floor.is_some_and(|b| f.time <= b) {
            break;
        }
        let Some(seg) = segs
            .iter()
            .rev()
            .find(|s| s.start <= f.time && (f.time < s.end() || !s.complete))
        else {
            continue;
        };
        // The marks of one segment, read once for all its frames.
        if marks.as_ref().is_none_or(|(msn, _, _)| *msn != seg.msn) {
            let Some(object) = ch.object(track, seg.msn) else {
                continue;
            };
            let m = object.marks();
            marks = Some((seg.msn, object, m));
        }
        let Some((_, object, m)) = marks.as_ref() else {
            continue;
        };
        let f_end = f.time + u64::from(f.duration);
        let tolerance = u64::from(f.duration / 2);
        // Marks are in media-time order: the first that ends at or after the frame's end
        // is the only candidate.
        let i = m.partition_point(|c| c.times.end + tolerance < f_end);
        let fits =
            |c: &&ChunkMark| c.times.start <= f.time && c.times.end.abs_diff(f_end) <= tolerance;
        if m.get(i).filter(fits).is_none() {
            continue;
        }
        match resume_after(seg, object, m, i) {
            Some(resume) => {
                return Found::At(Position {
                    seg,
                    object: object.clone(),
                    time: f.time,
                    resume,
                    source: Source::Companion(f.clone()),
                });
            }
            None if k == 0 && numbered => return Found::Wait,
            None => {}
        }
    }
    Found::None
}

/// The first chunk of the newest segment that starts at or before `target` with a key
/// frame.
fn key_frame_position<'a>(
    ch: &Channel,
    track: &str,
    segs: &[&'a Segment],
    target: u64,
) -> Option<Position<'a>> {
    for seg in segs.iter().rev().filter(|s| s.start <= target) {
        if !seg.independent() {
            continue;
        }
        let Some(object) = ch.object(track, seg.msn) else {
            continue;
        };
        let marks = object.marks();
        let Some(first) = marks.first().copied() else {
            continue;
        };
        let Some(resume) = resume_after(seg, &object, &marks, 0) else {
            continue;
        };
        return Some(Position {
            seg,
            object,
            time: first.times.start,
            resume,
            source: Source::KeyFrame(first),
        });
    }
    None
}

/// Where the continuation resumes after chunk `i` of `seg`: the next byte, or the next
/// segment's first when the chunk ended a complete segment; `None` while the chunk is
/// the newest of a segment still growing (the next chunk may open the next segment, and
/// the draft's offset must point at the sample that follows: "at the offset ... all data
/// needed to render the next sample MUST be present").
fn resume_after(
    seg: &Segment,
    object: &Growing,
    marks: &[ChunkMark],
    i: usize,
) -> Option<(u64, u64)> {
    let last = i + 1 == marks.len();
    match (last, object.end()) {
        (false, _) => Some((seg.msn, marks[i].to)),
        (true, End::Complete | End::Truncated) => Some((seg.msn + 1, 0)),
        (true, _) => None,
    }
}

fn audio(ch: &Channel, track: &str, segs: &[&Segment], target: u64) -> Resolved {
    for seg in segs.iter().rev().filter(|s| s.start <= target) {
        let Some(object) = ch.object(track, seg.msn) else {
            continue;
        };
        let marks = object.marks();
        let Some(m) = marks
            .iter()
            .rev()
            .find(|m| m.times.start <= target)
            .copied()
        else {
            continue;
        };
        let pos = Position {
            seg,
            object,
            time: m.times.start,
            resume: (seg.msn, m.from),
            source: Source::KeyFrame(m),
        };
        return match packet(ch, track, &pos, MediaKind::Audio) {
            Ok(p) => Resolved::Ready(p),
            Err(_) => Resolved::Later(None),
        };
    }
    Resolved::Later(None)
}

/// Builds the packet's bytes: header, `emsg`, and (video) the sample's `moof` + `mdat`.
fn packet(
    ch: &Channel,
    track: &str,
    pos: &Position<'_>,
    kind: MediaKind,
) -> Result<Packet, ServeError> {
    let init = ch
        .init_version(track, pos.seg.init)
        .ok_or_else(|| ServeError::NotFound(format!("init segment of '{track}'")))?;
    let track_id = init.info.tracks.first().map_or(1, |t| t.track_id);
    let timescale = init.info.tracks.first().map_or(1, |t| t.timescale);
    let (media, duration) = match (&pos.source, kind) {
        (_, MediaKind::Audio) => (Vec::new(), 0),
        (Source::Companion(f), MediaKind::Video) => {
            let sample = cmaf::SampleOut {
                duration: f.duration,
                size: u32::try_from(f.data.len()).unwrap_or(u32::MAX),
                flags: f.flags,
                cts_offset: f.cts_offset,
            };
            let header = cmaf::write_fragment_header(1, track_id, f.time, &[sample]);
            (vec![header, f.data.clone()], f.duration)
        }
        (Source::KeyFrame(m), MediaKind::Video) => {
            let bytes = pos.object.bytes(m.from, m.to).ok_or_else(|| {
                ServeError::NotFound(format!("segment {} of '{track}'", pos.seg.msn))
            })?;
            (
                bytes,
                u32::try_from(m.times.end - m.times.start).unwrap_or(u32::MAX),
            )
        }
    };
    // [HESP §4.1] message_data: {"index": continuation segment id, "offset": byte}.
    let data = format!(r#"{{"index":{},"offset":{}}}"#, pos.resume.0, pos.resume.1);
    let video = kind == MediaKind::Video;
    let emsg = cmaf::write_emsg_v0(&cmaf::EventMessage {
        scheme_id_uri: SCHEME,
        value: "initdata",
        // "timescale: the packet's timescale for video, else 1"; "event_duration: the
        // packet duration for video, else 0".
        timescale: if video { timescale } else { 1 },
        presentation_time_delta: 0,
        event_duration: duration,
        id: u32::try_from(pos.time & u64::from(u32::MAX)).unwrap_or(0),
        message_data: data.as_bytes(),
    });
    Ok(Packet {
        head: vec![init.bytes.clone(), emsg],
        media,
    })
}
