//! MPD rendering.

use std::collections::BTreeMap;

use timeline::time::{format_iso8601_micros, format_secs, ms_to_ticks, to_micros};
use timeline::{ChannelSnapshot, MediaKind, Segment, TrackSnapshot};

use super::xml::Xml;
use crate::{ManifestError, listed_segments};

/// Deployment-dependent inputs of the MPD (the same for every request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpdOptions {
    /// `UTCTiming@value`: weir's time endpoint, from [`crate::policy::time_url`] (never
    /// from a request header).
    pub time_url: String,
}

/// Renders the dynamic MPD of the channel.
///
/// Addressing: per-Representation `SegmentTemplate` with a `SegmentTimeline` and
/// `$Number$` equal to the HLS media sequence number, so DASH and HLS share segment URLs
/// (one cached object per segment at any CDN). The period starts at media time zero,
/// which `availabilityStartTime` maps to the channel's wall clock.
pub fn mpd(snap: &ChannelSnapshot, opts: &MpdOptions) -> Result<String, ManifestError> {
    let epoch = snap.epoch_us.ok_or(ManifestError::NotReady)?;
    let cfg = &snap.config;
    let listed: Vec<(&TrackSnapshot, Vec<&Segment>)> = snap
        .tracks
        .iter()
        .map(|t| (t, listed_segments(t, cfg)))
        .filter(|(_, segs)| !segs.is_empty())
        .collect();
    if listed.is_empty() {
        return Err(ManifestError::NotReady);
    }
    let td_ms = u64::from(cfg.target_duration_ms);
    let mut x = Xml::new();
    // [IOP-T] a dynamic MPD SHALL carry availabilityStartTime, publishTime and at least
    // one UTCTiming. The namespace comes first on the root so that GStreamer's
    // typefinder recognises the document.
    x.open(
        "MPD",
        &[
            ("xmlns", "urn:mpeg:dash:schema:mpd:2011".into()),
            ("profiles", "urn:mpeg:dash:profile:isoff-live:2011".into()),
            ("type", "dynamic".into()),
            ("availabilityStartTime", format_iso8601_micros(epoch)),
            ("publishTime", format_iso8601_micros(snap.now_us)),
            ("minimumUpdatePeriod", duration_ms(td_ms)),
            ("minBufferTime", duration_ms(td_ms)),
            (
                "timeShiftBufferDepth",
                duration_ms(td_ms * u64::from(cfg.window_segments)),
            ),
            ("suggestedPresentationDelay", duration_ms(td_ms * 3)),
            // ISO/IEC 23009-1 Table 3: "maximum duration of any Segment in any
            // Representation in the Media Presentation".
            (
                "maxSegmentDuration",
                duration_ms(snap.max_segment_duration_ms()),
            ),
        ],
        false,
    );
    for (id, members) in periods(&listed) {
        period(&mut x, id, &members);
    }
    x.open(
        "UTCTiming",
        &[
            ("schemeIdUri", "urn:mpeg:dash:utc:http-iso:2014".into()),
            ("value", opts.time_url.clone()),
        ],
        true,
    );
    x.close("MPD");
    Ok(x.finish())
}

/// The listed segments of each track grouped by Period: one Period per discontinuity
/// sequence number, so a new init or a jump in the encoder's clock starts a new Period
/// whose segments are addressed against their own init and timeline.
fn periods<'a>(
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

/// Writes Period `id` with an AdaptationSet per media kind and language.
///
/// ISO/IEC 23009-1 §5.3.2: Period@start is the Period's start in presentation time;
/// media time maps to it through each SegmentTemplate's presentationTimeOffset. The
/// start is recorded when the Period's first segment is cut, so it does not move as
/// segments leave the window (IOP: a Period keeps its id and start across updates).
fn period(x: &mut Xml, id: u64, members: &[(&TrackSnapshot, Vec<&Segment>)]) {
    let start_us = members
        .iter()
        .map(|(t, segs)| {
            let ticks = t
                .period_start(id)
                .unwrap_or_else(|| segs.first().map_or(0, |s| s.start));
            to_micros(ticks, t.meta.timescale)
        })
        .min()
        .unwrap_or(0);
    let start_ms = start_us / 1000;
    x.open(
        "Period",
        &[("id", id.to_string()), ("start", duration_ms(start_ms))],
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
            adaptation_set(x, set_id, kind, lang, &set, start_ms);
            set_id += 1;
        }
    }
    x.close("Period");
}

/// Writes one AdaptationSet (a switching set of one media kind and language).
fn adaptation_set(
    x: &mut Xml,
    id: u32,
    kind: MediaKind,
    lang: Option<&str>,
    members: &[&(&TrackSnapshot, Vec<&Segment>)],
    period_start_ms: u64,
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
    for (t, segs) in members {
        representation(x, t, segs, period_start_ms);
    }
    x.close("AdaptationSet");
}

/// Writes one Representation with its SegmentTemplate and SegmentTimeline.
fn representation(x: &mut Xml, t: &TrackSnapshot, segs: &[&Segment], period_start_ms: u64) {
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
    let first = segs.first().map_or(1, |s| s.msn);
    let pto = ms_to_ticks(period_start_ms, m.timescale);
    let mut template = vec![("timescale", m.timescale.to_string())];
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
        ("media", "$RepresentationID$/seg-$Number$.m4s".into()),
        ("startNumber", first.to_string()),
    ]);
    x.open("SegmentTemplate", &template, false);
    x.open("SegmentTimeline", &[], false);
    timeline_entries(x, segs);
    x.close("SegmentTimeline");
    x.close("SegmentTemplate");
    x.close("Representation");
}

/// Writes `S` elements, merging runs of equal, contiguous durations with `@r`.
///
/// [IOP-T] `$Number$` addressing with a SegmentTimeline: "S@n SHALL NOT be used"; the
/// first S carries `@t`, and a later S carries `@t` only after a gap.
fn timeline_entries(x: &mut Xml, segs: &[&Segment]) {
    let mut i = 0;
    let mut expected_start: Option<u64> = None;
    while i < segs.len() {
        let s = segs[i];
        let mut repeat = 0u64;
        while let Some(n) = segs.get(i + 1 + repeat as usize) {
            let prev = segs[i + repeat as usize];
            if n.duration == s.duration && n.start == prev.end() && n.msn == prev.msn + 1 {
                repeat += 1;
            } else {
                break;
            }
        }
        let mut attrs = Vec::new();
        if expected_start != Some(s.start) {
            attrs.push(("t", s.start.to_string()));
        }
        attrs.push(("d", s.duration.to_string()));
        if repeat > 0 {
            attrs.push(("r", repeat.to_string()));
        }
        x.open("S", &attrs, true);
        let last = segs[i + repeat as usize];
        expected_start = Some(last.end());
        i += 1 + repeat as usize;
    }
}

/// `xs:duration` of a whole number of milliseconds, e.g. `PT2S`, `PT20.5S`.
fn duration_ms(ms: u64) -> String {
    let s = format_secs(ms, 1000, 3);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("PT{s}S")
}

#[cfg(test)]
mod tests {
    #[test]
    fn xs_durations() {
        assert_eq!(super::duration_ms(2000), "PT2S");
        assert_eq!(super::duration_ms(20500), "PT20.5S");
        assert_eq!(super::duration_ms(1), "PT0.001S");
    }
}
