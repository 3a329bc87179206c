//! MPD rendering: one dynamic MPD that is both a regular live DASH presentation and a
//! low-latency (chunked CMAF) one.

use std::collections::BTreeMap;

use timeline::time::{format_iso8601_micros, format_secs, to_micros};
use timeline::{Cadence, ChannelSnapshot, ClockSource, MediaKind, Segment, TrackSnapshot};

use super::xml::Xml;
use crate::policy::dash_service;
use crate::{ManifestError, listed_segments};

/// Deployment-dependent inputs of the MPD (the same for every request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpdOptions {
    /// `UTCTiming@value`: weir's time endpoint, from [`crate::policy::time_url`] (never
    /// from a request header).
    pub time_url: String,
}

/// `MPD@profiles`: live, CMAF, and the DASH-IF low-latency profile.
///
/// [IOP-LL 6.1] "Profile identifier: `http://www.dashif.org/guidelines/low-latency-live-v5`
/// (SHOULD be signalled)".
const PROFILES: &str = "urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019,\
                        http://www.dashif.org/guidelines/low-latency-live-v5";

/// `UTCTiming@schemeIdUri` of weir's time endpoint (dash.js and Shaka both support it).
const UTC_SCHEME: &str = "urn:mpeg:dash:utc:http-iso:2014";

/// Renders the dynamic MPD of the channel.
///
/// Addressing: `$Number$` with `SegmentTemplate@duration` equal to the channel's
/// cadence, and `$Number$` equal to the HLS media sequence number (one stored object per
/// segment for both; the DASH URL also names its Period, see `media`). A player finds every
/// segment from the wall clock alone, without reloading the MPD: segment `n` of a
/// Period covers `Period@start + (n - startNumber) × D`, which is the grid cell the cutter
/// started it in (`timeline::cutter`: within a period, number and cell advance
/// together; real durations differ from `D` by at most a frame or, without key
/// frames, by the cutter's bound, within the 50 % IOP allows).
///
/// Low latency: every `SegmentTemplate` carries `availabilityTimeOffset = D - one
/// frame` and `availabilityTimeComplete="false"`, so a segment is requestable as soon
/// as its first chunk can exist, and the origin streams it while it grows; players that
/// know nothing of low latency ignore both and fetch complete segments.
pub fn mpd(snap: &ChannelSnapshot, opts: &MpdOptions) -> Result<String, ManifestError> {
    let epoch = snap.epoch_us.ok_or(ManifestError::NotReady)?;
    let cfg = &snap.config;
    let listed = published_tracks(snap)?;
    let grid = snap.grid();
    let d_ms = grid.millis_ceil();
    let window_ms = d_ms * u64::from(cfg.window_segments);
    let mut x = Xml::new();
    // [IOP-T] a dynamic MPD SHALL carry availabilityStartTime, publishTime and at least
    // one UTCTiming. The namespace comes first on the root so that GStreamer's
    // typefinder recognises the document.
    x.open(
        "MPD",
        &[
            ("xmlns", "urn:mpeg:dash:schema:mpd:2011".into()),
            ("profiles", PROFILES.into()),
            ("type", "dynamic".into()),
            ("availabilityStartTime", format_iso8601_micros(epoch)),
            ("publishTime", format_iso8601_micros(snap.now_us)),
            // Segments are found from the clock; the MPD changes only for a new Period,
            // which players must see within their retries of a refused segment.
            (
                "minimumUpdatePeriod",
                duration_ms(d_ms.min(dash_service::UPDATE_PERIOD_MAX_MS)),
            ),
            (
                "minBufferTime",
                duration_ms(dash_service::LATENCY_TARGET_MS),
            ),
            ("timeShiftBufferDepth", duration_ms(window_ms)),
            // For players that know nothing of low latency: three segments behind.
            ("suggestedPresentationDelay", duration_ms(d_ms * 3)),
            // ISO/IEC 23009-1 Table 3: "maximum duration of any Segment in any
            // Representation in the Media Presentation".
            (
                "maxSegmentDuration",
                duration_ms(snap.max_segment_duration_ms()),
            ),
        ],
        false,
    );
    service_description(&mut x);
    let periods = periods(&listed);
    let last = periods.keys().next_back().copied();
    for (id, members) in periods {
        let closed = Some(id) != last;
        period(&mut x, snap, (grid, epoch, closed), opts, id, &members);
    }
    utc_timing(&mut x, opts);
    x.close("MPD");
    Ok(x.finish())
}

/// The tracks with segments a player may address, and those segments, for a manifest
/// published once a segment is complete (as the playlists are): the cadence and every
/// Period's place on the grid are known by then.
pub(crate) fn published_tracks(
    snap: &ChannelSnapshot,
) -> Result<Vec<(&TrackSnapshot, Vec<&Segment>)>, ManifestError> {
    if snap
        .tracks
        .iter()
        .all(|t| listed_segments(t, &snap.config).is_empty())
    {
        return Err(ManifestError::NotReady);
    }
    let listed = addressable_tracks(snap);
    if listed.is_empty() {
        return Err(ManifestError::NotReady);
    }
    Ok(listed)
}

/// Every track with addressable segments, and those segments.
pub(crate) fn addressable_tracks(snap: &ChannelSnapshot) -> Vec<(&TrackSnapshot, Vec<&Segment>)> {
    // A rendition that stopped while others go on is not offered.
    snap.tracks
        .iter()
        .filter(|t| snap.listed(t))
        .map(|t| (t, addressable_segments(t, &snap.config)))
        .filter(|(_, segs)| !segs.is_empty())
        .collect()
}

/// The segments a player may address: those of the window, and the one in progress
/// (its Period must be announced before its first chunk can be requested).
fn addressable_segments<'a>(
    t: &'a TrackSnapshot,
    cfg: &timeline::TimingConfig,
) -> Vec<&'a Segment> {
    let mut segs = listed_segments(t, cfg);
    if let Some(open) = t.segments.back().filter(|s| !s.complete) {
        segs.push(open);
    }
    segs
}

/// `ServiceDescription` with the policy's latency target and playback rates.
///
/// [IOP-LL 6.1] "ServiceDescription (≥ 1 SHALL)"; `Latency@referenceId` names the
/// `ProducerReferenceTime@id` of every Adaptation Set. No `Scope`: dash.js ignores a
/// description with a Scope it does not know.
fn service_description(x: &mut Xml) {
    x.open("ServiceDescription", &[("id", "0".into())], false);
    x.open(
        "Latency",
        &[
            ("referenceId", "0".into()),
            ("target", dash_service::LATENCY_TARGET_MS.to_string()),
            ("min", dash_service::LATENCY_MIN_MS.to_string()),
            ("max", dash_service::LATENCY_MAX_MS.to_string()),
        ],
        true,
    );
    let (min, max) = dash_service::PLAYBACK_RATE;
    x.open(
        "PlaybackRate",
        &[("min", min.into()), ("max", max.into())],
        true,
    );
    x.close("ServiceDescription");
}

fn utc_timing(x: &mut Xml, opts: &MpdOptions) {
    x.open(
        "UTCTiming",
        &[
            ("schemeIdUri", UTC_SCHEME.into()),
            ("value", opts.time_url.clone()),
        ],
        true,
    );
}

/// The addressable segments of each track grouped by Period: one Period per
/// discontinuity sequence number, so a new init or a jump in the encoder's clock starts
/// a new Period whose segments are addressed against their own init and timeline.
pub(crate) fn periods<'a>(
    listed: &[(&'a TrackSnapshot, Vec<&'a Segment>)],
) -> BTreeMap<u64, Vec<(&'a TrackSnapshot, Vec<&'a Segment>)>> {
    let mut out: BTreeMap<u64, Vec<(&TrackSnapshot, Vec<&Segment>)>> = BTreeMap::new();
    for (t, segs) in listed {
        let mut d = None;
        // The first segment's period is counted once; later ones add their own tag
        // (counting again per segment would walk the window for each).
        let mut here = segs.first().map_or(0, |s| t.period_of(s));
        for (i, s) in segs.iter().enumerate() {
            if i > 0 {
                here += u64::from(s.discontinuity);
            }
            let members = out.entry(here).or_default();
            if d != Some(here) {
                members.push((t, Vec::new()));
                d = Some(here);
            }
            if let Some(m) = members.last_mut() {
                m.1.push(s);
            }
        }
    }
    out
}

/// Where a Period sits on the channel's grid.
pub(crate) struct Placement {
    /// Grid cell of the Period's start.
    pub(crate) cell: u64,
}

impl Placement {
    /// The Period `id` of `members`: it starts at the grid point of the cell its first
    /// segment was cut in (media time zero for the first Period).
    pub(crate) fn of(
        id: u64,
        members: &[(&TrackSnapshot, Vec<&Segment>)],
        grid: Cadence,
    ) -> Placement {
        let cell = members
            .iter()
            .map(|(t, segs)| {
                let ts = t.meta.timescale;
                let start = t
                    .period_start(id)
                    .unwrap_or_else(|| segs.first().map_or(0, |s| s.start));
                grid.cell(start, ts)
            })
            .min()
            .unwrap_or(0);
        Placement { cell }
    }

    /// `startNumber` of track `t` in this Period: the number of its segment in the
    /// Period's first cell. Within a Period a track's numbers are its cells plus one
    /// constant, read off any of its segments here; the constant is per track, since
    /// one rendition may hold a segment in a cell another has none in (a restart).
    pub(crate) fn start_number(&self, t: &TrackSnapshot, segs: &[&Segment], grid: Cadence) -> u64 {
        let shift = segs.first().map_or(1, |s| {
            i128::from(s.msn) - i128::from(grid.cell(s.start, t.meta.timescale))
        });
        u64::try_from(i128::from(self.cell) + shift)
            .unwrap_or(1)
            .max(1)
    }

    /// `presentationTimeOffset` in ticks of the cadence's timescale.
    fn offset_ticks(&self, grid: Cadence) -> u64 {
        self.cell.saturating_mul(grid.ticks)
    }

    /// Start of the Period in µs of media time (= µs after availabilityStartTime).
    pub(crate) fn start_us(&self, grid: Cadence) -> u64 {
        to_micros(self.offset_ticks(grid), grid.timescale)
    }
}

/// Writes Period `id` with an AdaptationSet per media kind and language.
///
/// ISO/IEC 23009-1 §5.3.2: Period@start is the Period's start in presentation time;
/// media time maps to it through each SegmentTemplate's presentationTimeOffset. The
/// start follows from the cell of the Period's first segment, so it does not move as
/// segments leave the window (IOP: a Period keeps its id and start across updates).
fn period(
    x: &mut Xml,
    snap: &ChannelSnapshot,
    (grid, epoch_us, closed): (Cadence, i64, bool),
    opts: &MpdOptions,
    id: u64,
    members: &[(&TrackSnapshot, Vec<&Segment>)],
) {
    let place = Placement::of(id, members, grid);
    x.open(
        "Period",
        &[
            ("id", id.to_string()),
            ("start", duration_us(place.start_us(grid))),
        ],
        false,
    );
    let mut set_id = 0u32;
    for kind in [MediaKind::Video, MediaKind::Audio] {
        let mut langs: Vec<Option<&str>> = Vec::new();
        for (t, _) in members.iter().filter(|(t, _)| t.meta.kind == kind) {
            let lang = t.meta.language.as_deref();
            if !langs.contains(&lang) {
                langs.push(lang);
            }
        }
        for lang in langs {
            let set: Vec<_> = members
                .iter()
                .filter(|(t, _)| t.meta.kind == kind && t.meta.language.as_deref() == lang)
                .collect();
            let ctx = SetContext {
                snap,
                period: id,
                closed,
                grid,
                epoch_us,
                opts,
                place: &place,
            };
            adaptation_set(x, &ctx, set_id, kind, lang, &set);
            set_id += 1;
        }
    }
    x.close("Period");
}

/// What every Adaptation Set of a Period shares.
struct SetContext<'a> {
    snap: &'a ChannelSnapshot,
    period: u64,
    /// A later Period follows (this one's media has ended).
    closed: bool,
    grid: Cadence,
    epoch_us: i64,
    opts: &'a MpdOptions,
    place: &'a Placement,
}

/// Writes one AdaptationSet (a switching set of one media kind and language).
fn adaptation_set(
    x: &mut Xml,
    ctx: &SetContext<'_>,
    id: u32,
    kind: MediaKind,
    lang: Option<&str>,
    members: &[&(&TrackSnapshot, Vec<&Segment>)],
) {
    let (content, mime) = match kind {
        MediaKind::Video => ("video", "video/mp4"),
        MediaKind::Audio => ("audio", "audio/mp4"),
    };
    let mut attrs = vec![("id", id.to_string())];
    if let Some(l) = lang {
        attrs.push(("lang", l.to_string()));
    }
    attrs.extend([
        ("contentType", content.to_string()),
        ("mimeType", mime.to_string()),
        ("segmentAlignment", "true".to_string()),
        ("startWithSAP", "1".to_string()),
    ]);
    x.open("AdaptationSet", &attrs, false);
    producer_reference_time(x, ctx);
    // [IOP-LL 6.1] "ATO = segment duration − chunk duration": the segment becomes
    // requestable when its first chunk can be complete. One availability window per
    // Adaptation Set: the longest first chunk (frame) of its members.
    let chunk_us = members
        .iter()
        .map(|(t, _)| to_micros(u64::from(t.meta.frame_duration), t.meta.timescale))
        .max()
        .filter(|us| *us > 0)
        .unwrap_or(u64::from(ctx.snap.config.part_target_ms) * 1000);
    let ato_us = ctx.grid.micros().saturating_sub(chunk_us);
    for (t, segs) in members {
        representation(x, ctx, t, segs, ato_us);
    }
    x.close("AdaptationSet");
}

/// `ProducerReferenceTime`: the wall-clock time of the Period's start.
///
/// [IOP-LL 6.1] "≥ 1 ProducerReferenceTime with @id, @type, a UTCTiming child identical
/// to one at MPD level, @wallClockTime (the time at @presentationTime), and
/// @presentationTime = @presentationTimeOffset". `type="encoder"` when the channel's
/// clock is the encoder's (`prft`), `"application"` when it is weir's ingest clock.
fn producer_reference_time(x: &mut Xml, ctx: &SetContext<'_>) {
    let kind = match ctx.snap.epoch_source {
        Some(ClockSource::Encoder) => "encoder",
        _ => "application",
    };
    let start_us = i64::try_from(ctx.place.start_us(ctx.grid)).unwrap_or(i64::MAX);
    x.open(
        "ProducerReferenceTime",
        &[
            ("id", "0".into()),
            ("type", kind.into()),
            (
                "wallClockTime",
                format_iso8601_micros(ctx.epoch_us.saturating_add(start_us)),
            ),
            (
                "presentationTime",
                ctx.place.offset_ticks(ctx.grid).to_string(),
            ),
        ],
        false,
    );
    utc_timing(x, ctx.opts);
    x.close("ProducerReferenceTime");
}

/// Writes one Representation with its SegmentTemplate.
fn representation(
    x: &mut Xml,
    ctx: &SetContext<'_>,
    t: &TrackSnapshot,
    segs: &[&Segment],
    ato_us: u64,
) {
    let m = &t.meta;
    let mut attrs = vec![
        ("id", m.id.clone()),
        (
            "bandwidth",
            m.bandwidth.clamp(1, u64::from(u32::MAX)).to_string(),
        ),
        ("codecs", m.codec.clone()),
    ];
    match m.kind {
        MediaKind::Video => {
            if m.width > 0 && m.height > 0 {
                attrs.push(("width", m.width.to_string()));
                attrs.push(("height", m.height.to_string()));
            }
            if m.frame_duration > 0 {
                attrs.push(("frameRate", format!("{}/{}", m.timescale, m.frame_duration)));
            }
        }
        MediaKind::Audio => {
            if m.sample_rate > 0 {
                attrs.push(("audioSamplingRate", m.sample_rate.to_string()));
            }
        }
    }
    x.open("Representation", &attrs, false);
    if m.kind == MediaKind::Audio && m.channels > 0 {
        x.open(
            "AudioChannelConfiguration",
            &[
                (
                    "schemeIdUri",
                    "urn:mpeg:dash:23003:3:audio_channel_configuration:2011".into(),
                ),
                ("value", m.channels.to_string()),
            ],
            true,
        );
    }
    // Times are in the cadence's own timescale, where `D` is a whole number of ticks
    // for any key-frame interval (e.g. 45 frames at 30000/1001).
    let mut template = vec![
        ("timescale", ctx.grid.timescale.to_string()),
        ("duration", ctx.grid.ticks.to_string()),
    ];
    let pto = ctx.place.offset_ticks(ctx.grid);
    if pto > 0 {
        template.push(("presentationTimeOffset", pto.to_string()));
    }
    // Segments of one Period share an init: a new init always opens a new Period.
    template.extend([
        (
            "initialization",
            format!(
                "$RepresentationID$/{}",
                crate::init_uri(segs.last().map_or(t.init, |s| s.init))
            ),
        ),
        // The Period in the path: a client still on an older MPD gets a 404 for a
        // segment of a Period it has not seen, instead of media for another init.
        (
            "media",
            format!("$RepresentationID$/p{}/seg-$Number$.m4s", ctx.period),
        ),
        (
            "startNumber",
            ctx.place.start_number(t, segs, ctx.grid).to_string(),
        ),
        // [IOP-LL 6.1] chunked availability signalling on the SegmentTemplate, where
        // dash.js reads it (its low-latency mode turns on iff ATC is false).
        ("availabilityTimeOffset", secs_us(ato_us)),
        ("availabilityTimeComplete", "false".into()),
    ]);
    // `SegmentTemplate@endNumber` (ISO/IEC 23009-1 5th ed.; `MultipleSegmentBaseType`
    // in the MPD schema): the number of the Representation's last segment in the
    // Period, which dash.js honours (no segment past it). A Period followed by another
    // one has ended; its renditions may end before the next Period's start (a restart
    // continues at one grid point for all renditions, or at the clock after an
    // outage), and without it a player asks the ended Period for the segment of that
    // gap and waits (dash.js did, on a 404, for the 20 s and more we watched).
    if let Some(last) = segs.last().filter(|_| ctx.closed) {
        template.push(("endNumber", last.msn.to_string()));
    }
    x.open("SegmentTemplate", &template, true);
    x.close("Representation");
}

/// Seconds (`xs:double`) of a whole number of microseconds, e.g. `1.966667`, `2`.
fn secs_us(us: u64) -> String {
    let s = format_secs(us, 1_000_000, 6);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `xs:duration` of a whole number of milliseconds, e.g. `PT2S`, `PT20.5S`.
fn duration_ms(ms: u64) -> String {
    duration_us(ms.saturating_mul(1000))
}

/// `xs:duration` of a whole number of microseconds, e.g. `PT1.5015S`.
fn duration_us(us: u64) -> String {
    format!("PT{}S", secs_us(us))
}

#[cfg(test)]
mod tests {
    #[test]
    fn xs_durations() {
        assert_eq!(super::duration_ms(2000), "PT2S");
        assert_eq!(super::duration_ms(20500), "PT20.5S");
        assert_eq!(super::duration_ms(1), "PT0.001S");
        assert_eq!(super::duration_us(1_501_500), "PT1.5015S");
        assert_eq!(super::duration_us(0), "PT0S");
        assert_eq!(super::secs_us(1_966_667), "1.966667");
    }
}
